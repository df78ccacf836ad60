//! The human form of a run's results: a heading per customer (file, label, date), one line per
//! entry with its action and parameters, the reason and deciding rule wrapped below it, and a
//! summary line.

use std::io::{self, Write};

use crate::eval::verdict::Record;
use crate::value::Date;

// ANSI styles (SGR parameters) of the coloured human form.
const BOLD: &str = "1";
const DIM: &str = "2";
const GREEN: &str = "32";
const GREEN_BOLD: &str = "1;32";
const RED: &str = "31";
const RED_BOLD: &str = "1;31";

/// `text` in an ANSI style, reset after it.
fn paint(text: &str, style: &str) -> String {
    format!("\x1b[{style}m{text}\x1b[0m")
}

/// The human form, one result at a time: a heading per customer (file, label, date), a line per
/// entry, and a summary line from counters at the end.
#[derive(Default)]
pub(crate) struct HumanWriter {
    pub(crate) key_width: usize,
    /// The group (source, label, date) of the last row written.
    last_group: Option<(String, Option<String>, Date)>,
    /// What an entry is called (`subscription`), from the first row.
    noun: Option<String>,
    ok: usize,
    bad: usize,
}

impl HumanWriter {
    pub(crate) fn row(&mut self, date: Date, r: &Record, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let width = 100;
        let key_width = self.key_width;
        let same_group = self
            .last_group
            .as_ref()
            .is_some_and(|(source, label, d)| *source == r.source && *label == r.label && *d == date);
        if !same_group {
            if self.last_group.is_some() {
                writeln!(out)?;
            }
            let name = r.label.clone().unwrap_or_else(|| format!("({} unnamed)", r.label_key));
            let head = format!("{name}  ({}, as of {date})", r.source);
            if color {
                writeln!(out, "{}", paint(&head, BOLD))?;
            } else {
                writeln!(out, "{head}")?;
            }
            self.last_group = Some((r.source.clone(), r.label.clone(), date));
        }
        if self.noun.is_none() {
            self.noun = Some(r.key_name.clone());
        }
        let key = r.key.as_deref().unwrap_or("-");
        let indent = " ".repeat(4 + key_width + 2);
        match &r.outcome {
            Ok(d) => {
                self.ok += 1;
                let params: Vec<String> = d
                    .params
                    .iter()
                    .filter_map(|(k, v)| match v {
                        serde_json::Value::Bool(true) => Some(k.clone()),
                        serde_json::Value::Bool(false) => None,
                        serde_json::Value::String(s) => Some(format!("{k} {s}")),
                        other => Some(format!("{k} {other}")),
                    })
                    .collect();
                let action = if color { paint(&d.action, GREEN_BOLD) } else { d.action.clone() };
                let params = if params.is_empty() { String::new() } else { format!("  {}", params.join(", ")) };
                writeln!(
                    out,
                    "  {} {key:<key_width$}  {action}{params}",
                    if color { paint("✓", GREEN) } else { "✓".into() }
                )?;
                let reason = format!("{} [{}]", d.reason, d.rule);
                // Where the rule comes from, and when it holds (dated rules only).
                let source = match (&d.citation, &d.period) {
                    (Some(c), Some(p)) => Some(format!("source: {c}; in force {p}")),
                    (Some(c), None) => Some(format!("source: {c}")),
                    (None, Some(p)) => Some(format!("in force {p}")),
                    (None, None) => None,
                };
                let options = textwrap::Options::new(width).initial_indent(&indent).subsequent_indent(&indent);
                // Dates in the source line stay whole (no break after a hyphen).
                let unbroken = options.clone().word_splitter(textwrap::WordSplitter::NoHyphenation);
                let texts = std::iter::once((reason, &options)).chain(source.map(|s| (s, &unbroken)));
                for (text, options) in texts {
                    for line in textwrap::wrap(&text, options) {
                        if color {
                            writeln!(out, "{}", paint(&line, DIM))?;
                        } else {
                            writeln!(out, "{line}")?;
                        }
                    }
                }
            }
            Err(e) => {
                self.bad += 1;
                let mark = if color { paint("✗", RED) } else { "✗".into() };
                let label = if color { paint("error", RED_BOLD) } else { "error".into() };
                writeln!(out, "  {mark} {key:<key_width$}  {label}")?;
                for line in textwrap::wrap(
                    &e.to_string(),
                    textwrap::Options::new(width).initial_indent(&indent).subsequent_indent(&indent),
                ) {
                    writeln!(out, "{line}")?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn end(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(noun) = &self.noun {
            writeln!(out)?;
            writeln!(out, "{} {noun}(s): {} decided, {} with errors", self.ok + self.bad, self.ok, self.bad)?;
        }
        Ok(())
    }
}
