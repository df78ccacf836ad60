//! A policy's diagnostics as LSP diagnostics, file by file: ranges in UTF-16 columns, the stable
//! code, the help after the message, secondary labels (and, for a dead rule, the rules that catch
//! its cases) as related locations, and the replacement a did-you-mean suggests, for the quick fix.

use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range, Uri,
};

use super::workspace::Snapshot;
use crate::analysis::Analysis;
use crate::diagnostic::{PolicyDiagnostic, Severity};
use crate::source::Span;

/// The diagnostics to publish for one file.
#[derive(Clone, Debug)]
pub struct FileDiagnostics {
    pub uri: Uri,
    pub version: Option<i32>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The key under `Diagnostic.data` holding the text a did-you-mean suggests for the range.
pub const REPLACEMENT: &str = "replacement";

/// The diagnostics of every file of a snapshot (an empty list for a file without any, so that
/// the editor clears old ones): the errors that refuse the policy, or its warnings and, when
/// given, those of the analysis (gaps, dead rules, overlaps, absent reads).
pub fn of_snapshot(snapshot: &Snapshot, analysis: Option<&Analysis>) -> Vec<FileDiagnostics> {
    let mut out: Vec<FileDiagnostics> = snapshot
        .files
        .iter()
        .map(|f| FileDiagnostics { uri: f.uri.clone(), version: f.version, diagnostics: Vec::new() })
        .collect();
    let mut add = |d: &PolicyDiagnostic, fallback: Option<Span>, related: Vec<(Span, String)>| {
        let span = d.span().or(fallback).unwrap_or_default();
        if let (Some(lsp), Some(slot)) = (convert(snapshot, d, span, related), out.get_mut(span.file)) {
            slot.diagnostics.push(lsp);
        }
    };
    match &snapshot.policy {
        Err(errors) => {
            for d in errors {
                add(d, None, Vec::new());
            }
        }
        Ok(policy) => {
            for d in policy.warnings() {
                add(d, None, Vec::new());
            }
            if let Some(a) = analysis {
                let rules = policy.rules();
                // A finding about no rule in particular (a gap) is shown at the last rule, where
                // a rule for it would go.
                let last = rules.last().map(|r| r.id_span);
                for d in policy.analysis_diagnostics(a) {
                    let related = match (d.code, d.span()) {
                        ("check::dead-rule", Some(at)) => catching_rules(policy, a, at),
                        _ => Vec::new(),
                    };
                    add(&d, last, related);
                }
            }
        }
    }
    out
}

/// For the dead rule whose id is at `at`: the earlier rules that catch its cases.
fn catching_rules(policy: &crate::Policy, a: &Analysis, at: Span) -> Vec<(Span, String)> {
    let rules = policy.rules();
    let same = |s: Span| (s.file, s.start, s.end) == (at.file, at.start, at.end);
    let Some(dead) = a.dead.iter().find(|d| rules.get(d.rule).is_some_and(|r| same(r.id_span))) else {
        return Vec::new();
    };
    dead.shadowed_by
        .iter()
        .filter_map(|r| rules.get(*r))
        .map(|r| (r.id_span, format!("rule `{}` catches its cases first", r.id)))
        .collect()
}

fn convert(snapshot: &Snapshot, d: &PolicyDiagnostic, span: Span, related: Vec<(Span, String)>) -> Option<Diagnostic> {
    let file = snapshot.files.get(span.file)?;
    let range = if d.span().is_some() || span.end > 0 {
        file.text.range(span)
    } else {
        Range::new(Position::new(0, 0), Position::new(0, 0))
    };
    let location = |s: Span| {
        let f = snapshot.files.get(s.file)?;
        Some(Location::new(f.uri.clone(), f.text.range(s)))
    };
    let mut related_information: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .skip(1)
        .chain(related.iter())
        .filter_map(|(s, label)| Some(DiagnosticRelatedInformation { location: location(*s)?, message: label.clone() }))
        .collect();
    related_information.dedup_by(|a, b| a.location == b.location && a.message == b.message);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let written = file.text.as_str().get(span.start..span.end).unwrap_or_default();
    let replacement = d.help.as_deref().and_then(|h| suggestion(h, written));
    Some(Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Advice => DiagnosticSeverity::HINT,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: None,
        source: Some("handover".to_string()),
        message,
        related_information: (!related_information.is_empty()).then_some(related_information),
        tags: None,
        data: replacement.map(|r| serde_json::json!({ REPLACEMENT: r })),
    })
}

/// The name a help's "did you mean `NAME`?" suggests in place of `written`; an annotation's
/// span holds its name without the `@`, so the suggestion drops it too.
fn suggestion(help: &str, written: &str) -> Option<String> {
    let (_, after) = help.split_once("did you mean `")?;
    let (name, _) = after.split_once("`?")?;
    let name = if written.starts_with('@') { name } else { name.strip_prefix('@').unwrap_or(name) };
    (!name.is_empty() && name != written).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use std::str::FromStr;

    use super::{REPLACEMENT, of_snapshot, suggestion};
    use crate::lsp::Workspace;

    #[test]
    fn suggestions_are_read_from_the_help() {
        assert_eq!(suggestion("did you mean `partner.role`?", "partner.rol").as_deref(), Some("partner.role"));
        assert_eq!(suggestion("facts are named with their group: did you mean `a.b`?", "b").as_deref(), Some("a.b"));
        assert_eq!(suggestion("did you mean `@label`?", "labl").as_deref(), Some("label"));
        assert_eq!(suggestion("the types are `int` and `date`", "x"), None);
    }

    /// Every kind of did-you-mean (type, annotation, fact, fact without its group, enum value,
    /// action, parameter) carries its replacement; writing them all gives a policy that loads.
    #[test]
    fn every_did_you_mean_has_a_replacement_that_fixes_it() {
        let text = "enum Color { red \"Red\", green }\n\
                    facts thing {\n    color: Color\n    size: intt\n    name: text @lable\n}\n\
                    action paint(color: Color) \"Paint.\"\naction stop \"Stop.\"\n\
                    rule a { when thing.colr == red then paint(color: red) reason \"a\" }\n\
                    rule b { when color == green then paint(color: red) reason \"b\" }\n\
                    rule c { when thing.color == gren then paint(colour: red) reason \"c\" }\n\
                    rule d { then stpo reason \"d\" }\n";
        let uri = lsp_types::Uri::from_str("untitled:fixes").unwrap();
        let mut ws = Workspace::new();
        let root = ws.open(uri.clone(), text.to_string(), 1);
        let snapshot = ws.snapshot(&root);
        let files = of_snapshot(&snapshot, None);
        // The arguments whose parameter is unknown are reported too, without a suggestion.
        let diags: Vec<&lsp_types::Diagnostic> =
            files[0].diagnostics.iter().filter(|d| d.message.contains("did you mean")).collect();
        let mut codes: Vec<&str> = diags
            .iter()
            .filter_map(|d| match &d.code {
                Some(lsp_types::NumberOrString::String(c)) => Some(c.as_str()),
                _ => None,
            })
            .collect();
        codes.sort_unstable();
        assert_eq!(
            codes,
            [
                "check::unknown-action",
                "check::unknown-annotation",
                "check::unknown-enum-value",
                "check::unknown-fact",
                "check::unknown-name",
                "check::unknown-parameter",
                "check::unknown-type"
            ],
            "{diags:#?}"
        );
        let file = &snapshot.files[0].text;
        let mut edits: Vec<(usize, usize, String)> = diags
            .iter()
            .map(|d| {
                let name = d.data.as_ref().and_then(|v| v.get(REPLACEMENT)).and_then(|v| v.as_str());
                let name = name.unwrap_or_else(|| panic!("no replacement in {d:?}"));
                (file.offset(d.range.start), file.offset(d.range.end), name.to_string())
            })
            .collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut fixed = text.to_string();
        for (start, end, name) in edits {
            fixed.replace_range(start..end, &name);
        }
        assert!(fixed.contains("size: int") && fixed.contains("@label") && fixed.contains("then stop reason"));
        crate::Policy::from_text("fixed", &fixed).unwrap();
    }
}
