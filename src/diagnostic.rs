//! Diagnostics about a policy: one shape for every stage (parse, check), each with a stable
//! code, a message, labelled spans, and help. They render through miette with the source snippet.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

use crate::ast::Span;
use crate::source::Sources;

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
        let source = file.and_then(|f| sources.named(f));
        let labels = self
            .labels
            .iter()
            .filter(|(s, _)| Some(s.file) == file)
            .map(|(s, l)| LabeledSpan::new_with_span(Some(l.clone()), SourceSpan::from((s.start, s.len()))))
            .collect();
        RenderedDiagnostic { diagnostic: self.clone(), source, labels }
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
    source: Option<NamedSource<Arc<str>>>,
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
pub fn render(diagnostics: &[PolicyDiagnostic], sources: &Sources, color: bool) -> String {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100).with_wrap_lines(false);
    let mut out = String::new();
    for d in diagnostics {
        let rendered = d.attach(sources);
        // Writing into a String cannot fail; a formatting error here would only come from
        // miette itself, and then the plain message is still worth showing.
        if handler.render_report(&mut out, &rendered).is_err() {
            out.push_str(&format!("{}: {}\n", d.code, d.message));
        }
        out.push('\n');
    }
    out
}

/// Suggests the closest candidate to a misspelled name, if any is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
