//! Diagnostics about a policy: one shape for every stage (parse, check), each with a stable
//! code, a message, labelled spans, and help. They render through miette with the source snippet.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, SourceSpan};

use crate::source::Sources;
use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Information worth knowing that is not a problem (an intended overlap, say).
    Advice,
}

/// One problem found in a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyDiagnostic {
    pub severity: Severity,
    /// Stable identifier, such as `check::unknown-fact`.
    pub code: &'static str,
    pub message: String,
    /// The primary span first; then any secondary ones.
    pub labels: Vec<(Span, String)>,
    pub help: Option<String>,
}

impl PolicyDiagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        PolicyDiagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: vec![(span, label.into())],
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, span: Span, label: impl Into<String>) -> Self {
        self.labels.push((span, label.into()));
        self
    }

    /// Where the primary label points, if anywhere.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|(s, _)| *s)
    }

    /// Attaches the source text so miette can render the snippet.
    pub fn attach(&self, sources: &Sources) -> RenderedDiagnostic {
        let file = self.span().map(|s| s.file);
        let index = file.and_then(|f| sources.get(f)).map(|f| LineIndex::of(&f.text));
        self.attach_indexed(sources, |_| index.clone())
    }

    /// [`Self::attach`] with the line starts of each file computed once by the caller, so that
    /// rendering many diagnostics costs time in proportion to their snippets, not to the files.
    fn attach_indexed(&self, sources: &Sources, index: impl Fn(usize) -> Option<LineIndex>) -> RenderedDiagnostic {
        let file = self.span().map(|s| s.file);
        let window = file.and_then(|f| {
            let src = sources.get(f)?;
            Some(Window { name: src.name.clone(), text: src.text.clone(), lines: index(f)? })
        });
        let labels = self
            .labels
            .iter()
            .filter(|(s, _)| Some(s.file) == file)
            .map(|(s, l)| {
                let (start, mut len, mut label) = (s.start, s.len(), l.clone());
                if let Some(w) = &window {
                    // A label over many lines (a whole enum of thousands of values, say) shows its
                    // first lines and says how many more there are.
                    let (first, last) = (w.lines.line_of(start), w.lines.line_of(s.end.saturating_sub(1).max(start)));
                    if last - first >= MAX_SPAN_LINES {
                        let cut = w.lines.start(first + MAX_SPAN_LINES).unwrap_or(s.end).min(s.end);
                        // Up to the last line shown, without its line break.
                        let text = w.text.get(start..cut).unwrap_or_default();
                        len = text.trim_end_matches(['\n', '\r']).len();
                        let more = last - first + 1 - MAX_SPAN_LINES;
                        label = format!("{label} (and {more} more line{} not shown)", if more == 1 { "" } else { "s" });
                    }
                }
                LabeledSpan::new_with_span(Some(label), SourceSpan::from((start, len)))
            })
            .collect();
        RenderedDiagnostic { diagnostic: self.clone(), source: window, labels }
    }
}

/// The longest label span shown in full, in lines; a longer one shows this many lines.
pub const MAX_SPAN_LINES: usize = 8;

/// Where each line of a text starts (line breaks as miette counts them: `\n`, `\r\n`, a lone `\r`).
#[derive(Clone, Debug)]
pub struct LineIndex(Arc<[usize]>);

impl LineIndex {
    pub fn of(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, b) in bytes.iter().enumerate() {
            let brk = *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if brk {
                starts.push(i + 1);
            }
        }
        LineIndex(starts.into())
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|s| *s <= offset).saturating_sub(1)
    }

    /// Where 0-based line `line` starts, if the text has it.
    pub fn start(&self, line: usize) -> Option<usize> {
        self.0.get(line).copied()
    }

    /// 1-based line and column (in characters) of byte `offset` of `text`.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.start(line).unwrap_or(0);
        let col = text.get(start..offset).map_or(0, |l| l.chars().count()) + 1;
        (line + 1, col)
    }
}

/// A policy file as miette source code. miette finds a span's lines by scanning the text from its
/// start; this hands it only the lines around the span, found with the line index, so each
/// snippet costs its own size.
#[derive(Debug)]
struct Window {
    name: String,
    text: Arc<str>,
    lines: LineIndex,
}

impl miette::SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let first_line = self.lines.line_of(span.offset()).saturating_sub(before + 1);
        let last_line = self.lines.line_of(span.offset() + span.len()).saturating_add(after + 2);
        let start = self.lines.start(first_line).unwrap_or(0);
        let end = self.lines.start(last_line).unwrap_or(self.text.len());
        let slice = self.text.as_bytes().get(start..end).ok_or(miette::MietteError::OutOfBounds)?;
        let local = SourceSpan::new(span.offset().saturating_sub(start).into(), span.len());
        let inner = slice.read_span(&local, before, after)?;
        // miette counts `line` and `line_count` from the start of the text it was given.
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new((inner.span().offset() + start).into(), inner.span().len()),
            inner.line() + first_line,
            inner.column(),
            inner.line_count() + first_line,
        )))
    }
}

impl fmt::Display for PolicyDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A [`PolicyDiagnostic`] together with its source text: a full miette diagnostic.
#[derive(Debug)]
pub struct RenderedDiagnostic {
    diagnostic: PolicyDiagnostic,
    source: Option<Window>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for RenderedDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for RenderedDiagnostic {}

impl miette::Diagnostic for RenderedDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
    }
}

/// Renders diagnostics as text with source snippets. `color` chooses ANSI colours.
///
/// With the `fancy` feature (part of `cli`) each one is drawn as miette's graphical report;
/// without it, as miette's plain narrated report (no colours): the code, the message, each label
/// with its `file:line:col` and the source lines around it, and the help.
pub fn render(diagnostics: &[PolicyDiagnostic], sources: &Sources, color: bool) -> String {
    #[cfg(feature = "fancy")]
    let handler = {
        let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
        miette::GraphicalReportHandler::new_themed(theme).with_width(100).with_wrap_lines(false)
    };
    #[cfg(not(feature = "fancy"))]
    let handler = {
        // Plain text has no colours to choose.
        let _ = color;
        miette::NarratableReportHandler::new()
    };
    let mut out = String::new();
    let index: Vec<LineIndex> = sources.files().iter().map(|f| LineIndex::of(&f.text)).collect();
    for d in diagnostics {
        let rendered = d.attach_indexed(sources, |f| index.get(f).cloned());
        // Writing into a String cannot fail; a formatting error here would only come from
        // miette itself, and then the plain message is still worth showing.
        if handler.render_report(&mut out, &rendered).is_err() {
            out.push_str(&format!("{}: {}\n", d.code, d.message));
        }
        out.push('\n');
    }
    out
}

/// The most candidates [`did_you_mean`] compares a name with: past it no suggestion is made, so
/// reporting many unknown names against a very large set of names stays linear.
pub const MAX_SUGGESTION_CANDIDATES: usize = 1_000;

/// Suggests the closest candidate to a misspelled name, if any is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().take(MAX_SUGGESTION_CANDIDATES + 1).collect();
    if candidates.len() > MAX_SUGGESTION_CANDIDATES {
        return None;
    }
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// With `fancy` (graphical) or without it (plain narration), a rendered diagnostic names its
    /// code, message, file, label and help, and shows the offending source line.
    #[test]
    fn render_shows_code_message_place_snippet_and_help() {
        let mut sources = Sources::new();
        sources.add("p.handover", "# first\nrule r {\n    then nowhere\n}\n");
        let start = "# first\nrule r {\n    then ".len();
        let d = PolicyDiagnostic::error(
            "check::unknown-action",
            "unknown action `nowhere`",
            Span::new(0, start, start + "nowhere".len()),
            "not declared",
        )
        .with_help("declare it with `action nowhere \"...\"`");
        let text = render(&[d], &sources, false);
        for part in [
            "check::unknown-action",
            "unknown action `nowhere`",
            "p.handover",
            "then nowhere",
            "not declared",
            "declare it with `action nowhere",
        ] {
            assert!(text.contains(part), "`{part}` missing from:\n{text}");
        }
        // Line 3, column 10 of the file, whichever renderer.
        assert!(text.contains("p.handover:3:10") || text.contains("line 3, columns 10"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour was asked for:\n{text}");
    }
}
