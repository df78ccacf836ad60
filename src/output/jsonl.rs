//! Fast JSON Lines output for batch runs: each result is written straight into a byte buffer
//! from JSON fragments prepared once per policy (escaped rule ids, actions, reasons, parameter
//! names), instead of building an owned [`Record`](crate::eval::verdict::Record) and serialising it.
//! The bytes are exactly those of serialising the record.

use std::io::Write as _;

use crate::eval::verdict::ParamValue;
use crate::facts::Document;
use crate::policy::Policy;
use crate::value::Date;

/// Escaped pieces of every result line.
#[derive(Clone, Debug)]
struct Fragments {
    /// `,"customer":`
    label_key: String,
    /// `,"subscription":`
    key_name: String,
    rules: Vec<RuleFragments>,
}

#[derive(Clone, Debug)]
struct RuleFragments {
    /// `,"action":"…","params":{`
    head: String,
    /// `"name":` per parameter, in order.
    params: Vec<String>,
    /// `},"rule":"…","reason":"…"`
    tail: String,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl Fragments {
    fn new(policy: &Policy) -> Fragments {
        let (label_key, key_name) = policy.output_keys();
        let schema = policy.schema();
        let rules = policy
            .rules()
            .iter()
            .map(|r| {
                // A rule whose action is not in the schema never makes a verdict (see
                // `Verdict::new`), so its fragment is never written.
                let action = schema.actions.get(r.action);
                RuleFragments {
                    head: format!(",\"action\":{},\"params\":{{", json_str(action.map_or("", |a| a.name.as_str()))),
                    params: action
                        .map(|a| a.params.iter().map(|(n, _)| format!("{}:", json_str(n))).collect())
                        .unwrap_or_default(),
                    tail: format!("}},\"rule\":{},\"reason\":{}", json_str(&r.id), json_str(&r.reason)),
                }
            })
            .collect();
        Fragments {
            label_key: format!(",{}:", json_str(label_key)),
            key_name: format!(",{}:", json_str(key_name)),
            rules,
        }
    }
}

/// A JSON Lines writer for one policy: the escaped pieces of every line are prepared once, in
/// [`JsonLines::new`], then each document's lines are written straight from its verdicts.
/// `Send + Sync`: one writer serves every thread of a batch.
#[derive(Clone, Debug)]
pub struct JsonLines<'p> {
    policy: &'p Policy,
    fragments: Fragments,
}

impl<'p> JsonLines<'p> {
    pub fn new(policy: &'p Policy) -> JsonLines<'p> {
        JsonLines { policy, fragments: Fragments::new(policy) }
    }

    /// Decides every entry of `doc` and appends one JSON line per entry to `out`. With
    /// `show_as_of`, each line ends with the date it was decided at, as the CLI's JSON Lines
    /// records always do. Returns (lines, errors).
    ///
    /// Each line is byte for byte `serde_json::to_string` of the entry's
    /// [`Dated`](crate::eval::verdict::Dated) record (tested in `tests/output_contract.rs`).
    pub fn write(&self, doc: &Document, as_of: Date, show_as_of: bool, out: &mut Vec<u8>) -> (usize, usize) {
        let f = &self.fragments;
        out.reserve(512);
        let source = json_str(&doc.source);
        let label = doc.label.as_deref().map_or_else(|| "null".to_string(), json_str);
        // The end of every line: `}` or `,"as_of":"YYYY-MM-DD"}`, then the line feed.
        let mut end = Vec::with_capacity(24);
        if show_as_of {
            end.extend_from_slice(b",\"as_of\":\"");
            push_date(&mut end, as_of);
            end.push(b'"');
        }
        end.extend_from_slice(b"}\n");
        let (mut lines, mut errors) = (0, 0);
        for (key, outcome) in self.policy.outcomes(doc, as_of) {
            lines += 1;
            out.extend_from_slice(b"{\"source\":");
            out.extend_from_slice(source.as_bytes());
            out.extend_from_slice(f.label_key.as_bytes());
            out.extend_from_slice(label.as_bytes());
            out.extend_from_slice(f.key_name.as_bytes());
            match key {
                Some(k) => write_str(out, k),
                None => out.extend_from_slice(b"null"),
            }
            match outcome {
                Ok(v) => {
                    #[expect(
                        clippy::expect_used,
                        reason = "one fragment per rule of the same policy, and a verdict's rule index is checked \
                                  against those rules when the verdict is made"
                    )]
                    let rf = f.rules.get(v.rule_index()).expect("a fragment for every rule");
                    out.extend_from_slice(rf.head.as_bytes());
                    for (i, ((_, value), name)) in v.params().zip(&rf.params).enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(name.as_bytes());
                        match value {
                            ParamValue::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
                            ParamValue::Int(n) => {
                                let _ = write!(out, "{n}");
                            }
                            ParamValue::Date(d) => {
                                out.push(b'"');
                                push_date(out, Date::from_naive(d));
                                out.push(b'"');
                            }
                            ParamValue::Enum(s) | ParamValue::Text(s) => write_str(out, s),
                        }
                    }
                    out.extend_from_slice(rf.tail.as_bytes());
                }
                Err(e) => {
                    errors += 1;
                    out.extend_from_slice(b",\"error\":");
                    write_str(out, &e.to_string());
                }
            }
            out.extend_from_slice(&end);
        }
        (lines, errors)
    }
}

/// Writes a date as its `Display` text; four-digit years (every date a fact file can write)
/// without going through the formatter, as this runs once per document in a batch.
fn push_date(out: &mut Vec<u8>, date: Date) {
    use chrono::Datelike as _;
    let d = date.to_naive();
    let Ok(year) = u32::try_from(d.year()) else {
        let _ = write!(out, "{date}");
        return;
    };
    if year > 9999 {
        let _ = write!(out, "{date}");
        return;
    }
    let digit = |n: u32| b'0' + (n % 10) as u8;
    out.extend_from_slice(&[
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(d.month() / 10),
        digit(d.month()),
        b'-',
        digit(d.day() / 10),
        digit(d.day()),
    ]);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
