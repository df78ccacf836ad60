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
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::suggestion;

    #[test]
    fn suggestions_are_read_from_the_help() {
        assert_eq!(suggestion("did you mean `partner.role`?", "partner.rol").as_deref(), Some("partner.role"));
        assert_eq!(suggestion("facts are named with their group: did you mean `a.b`?", "b").as_deref(), Some("a.b"));
        assert_eq!(suggestion("did you mean `@label`?", "labl").as_deref(), Some("label"));
        assert_eq!(suggestion("the types are `int` and `date`", "x"), None);
    }
}
