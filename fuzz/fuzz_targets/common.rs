//! Checks shared by the fuzz targets (each target includes this file with `mod common;`).
//!
//! Every check is an assertion: a failed one is a panic, which libFuzzer reports as a crash and
//! saves the input for. Known, already reported findings can be switched off for a long run
//! with `HANDOVER_FUZZ_KNOWN=name,name` (see `known`); by default every check is on, so a saved
//! regression input replays its failure.

#![allow(dead_code)]

use std::sync::OnceLock;

use handover::batch::Run;
use handover::eval::EvalError;
use handover::facts::{self, Document, Format};
use handover::language::schema::{Schema, Scope};
use handover::eval::verdict::Dated;
use handover::{Date, Decision, Policy, Record, Value};

/// The shipped policy, loaded once per fuzzing process.
pub fn builtin() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| match Policy::builtin() {
        Ok(p) => p,
        Err(e) => panic!("the shipped policy does not load: {}", e.render(false)),
    })
}

/// The `today` every target evaluates with (documents without `as_of`).
pub fn today() -> Date {
    static TODAY: OnceLock<Date> = OnceLock::new();
    *TODAY.get_or_init(|| Date::parse("2024-03-15").unwrap_or_else(|| panic!("bad fixed date")))
}

/// True when the finding `name` is listed in `HANDOVER_FUZZ_KNOWN` (comma-separated): its check
/// is then skipped, so that a long run is not stopped again by something already reported.
/// Every finding so far is fixed; the switches left are the cross-checks themselves:
/// `eval_error_detail` (diagram and interpreter both fail, with different errors),
/// `witness_document`, `gap_witness`, `absent_witness`, `dead_rule` (analysis cross-checks).
/// A new finding that must wait for a fix gets a switch of its own, documented in the README.
pub fn known(name: &str) -> bool {
    static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            std::env::var("HANDOVER_FUZZ_KNOWN")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|k| k == name)
}

/// The result of one decision in a comparable, printable form.
pub fn decision(r: &Result<handover::Verdict<'_>, EvalError>) -> Result<(usize, Decision), EvalError> {
    match r {
        Ok(v) => Ok((v.rule_index(), Decision::from_verdict(v))),
        Err(e) => Err(e.clone()),
    }
}

/// `Policy::evaluate` (decision diagram) against `Policy::evaluate_interpreted` (rule by rule):
/// the same action, rule and parameters, or both errors (the same error unless
/// `eval_error_detail` is known). Returns the interpreter's answer.
pub fn compare_eval(
    policy: &Policy,
    doc: &[Value],
    item: &[Value],
    as_of: Date,
) -> Result<(usize, Decision), EvalError> {
    let fast = decision(&policy.evaluate(doc, item, as_of));
    let slow = decision(&policy.evaluate_interpreted(doc, item, as_of));
    match (&fast, &slow) {
        (Ok(a), Ok(b)) => assert_eq!(
            a, b,
            "diagram and interpreter decide differently\n  document: {doc:?}\n  item: {item:?}\n  as_of: {as_of}"
        ),
        (Err(a), Err(b)) => {
            // The messages must render whatever the error.
            let _ = policy.describe_error(a);
            let _ = policy.describe_error(b);
            if !known("eval_error_detail") {
                assert_eq!(
                    a, b,
                    "diagram and interpreter fail differently\n  document: {doc:?}\n  item: {item:?}\n  as_of: {as_of}"
                );
            }
        }
        _ => panic!(
            "diagram and interpreter disagree\n  diagram: {fast:?}\n  interpreter: {slow:?}\n  document: {doc:?}\n  item: {item:?}\n  as_of: {as_of}"
        ),
    }
    slow
}

/// How many records `Policy::records` must give for a document: one per entry, or one error
/// record for a document that failed as a whole and has no entries.
fn expected_records(doc: &Document) -> usize {
    match &doc.shared {
        Err(_) if doc.entries.is_empty() => 1,
        _ => doc.entries.len(),
    }
}

/// Everything the library and the CLI do with one fact text in one format, with the checks:
///
/// - `evaluate_text` gives one record per entry (one error record for a document without
///   entries that failed), in document and entry order, with the entries' keys;
/// - non-empty input gives at least one record (a document whose list is empty or null is an
///   error record, not nothing);
/// - a record is a verdict only when its document's shared facts and its entry were valid;
/// - the fast JSON Lines writer (`output::jsonl::JsonLines`) writes exactly the serialised
///   records, with and without the trailing `as_of`;
/// - diagram and interpreter agree on every valid entry.
///
/// Returns the records of `evaluate_text`.
pub fn check_facts(policy: &Policy, text: &str, format: Format) -> Vec<(Date, Record)> {
    let today = today();
    let records = policy.evaluate_text(text, format, "f", None, today);
    for (_, r) in &records {
        // Always true: the record carries either a verdict or an error.
        assert!(matches!(r.outcome, Ok(_) | Err(_)));
    }

    let docs = facts::parse(policy.schema(), text, format, "f");
    assert!(!docs.is_empty(), "facts::parse returned no document at all");
    let expected: usize = docs.iter().map(expected_records).sum();
    assert_eq!(records.len(), expected, "evaluate_text lost or invented records");
    if !text.is_empty() {
        assert!(!records.is_empty(), "non-empty input gave no record and no error");
    }

    let mut at = 0;
    for doc in &docs {
        let date = doc.as_of.unwrap_or(today);
        let n = expected_records(doc);
        let mine = records.get(at..at + n).unwrap_or_else(|| panic!("records out of step with documents"));
        at += n;
        for (i, (d, r)) in mine.iter().enumerate() {
            assert_eq!(*d, date, "record dated differently from its document");
            assert_eq!(r.source, doc.source, "record names another source than its document");
            if let Some(e) = doc.entries.get(i) {
                assert_eq!(r.key, e.key, "record {i} of `{}` carries another key than its entry", doc.source);
                let valid = doc.shared.is_ok() && e.values.is_ok();
                if !valid {
                    assert!(r.outcome.is_err(), "an invalid entry was decided: {r:?}");
                }
                if let (Ok(shared), Ok(item)) = (&doc.shared, &e.values) {
                    let slow = compare_eval(policy, shared, item, date);
                    assert_eq!(
                        slow.is_ok(),
                        r.outcome.is_ok(),
                        "evaluate_text and evaluate disagree on entry {i} of `{}`",
                        doc.source
                    );
                    if let (Ok((_, a)), Ok(b)) = (&slow, &r.outcome) {
                        assert_eq!(a, b, "evaluate_text and evaluate decide differently");
                    }
                }
            } else {
                assert!(r.outcome.is_err(), "a document without entries gave a verdict");
            }
        }
        check_json_lines(policy, doc, date);
    }
    assert_eq!(at, records.len());
    records
}

/// `output::jsonl::JsonLines` must write, byte for byte, the serialised records.
pub fn check_json_lines(policy: &Policy, doc: &Document, date: Date) {
    let records = policy.records(doc, date);
    for show_as_of in [false, true] {
        let mut fast = Vec::new();
        let (lines, errors) = handover::output::jsonl::JsonLines::new(policy).write(doc, date, show_as_of, &mut fast);
        let mut slow = String::new();
        for r in &records {
            let dated = Dated { record: r, as_of: show_as_of.then_some(date) };
            match serde_json::to_string(&dated) {
                Ok(s) => slow.push_str(&s),
                Err(e) => panic!("a record does not serialise: {e}: {r:?}"),
            }
            slow.push('\n');
        }
        assert_eq!(lines, records.len(), "write_json_lines counted other lines than records");
        assert_eq!(errors, records.iter().filter(|r| r.outcome.is_err()).count(), "write_json_lines miscounted errors");
        let fast = String::from_utf8(fast).unwrap_or_else(|e| panic!("write_json_lines wrote invalid UTF-8: {e}"));
        assert_eq!(fast, slow, "write_json_lines differs from the serialised records (show_as_of: {show_as_of})");
        for line in fast.lines() {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
                panic!("write_json_lines wrote invalid JSON ({e}): {line}");
            }
        }
    }
}

/// The CLI's streaming path for JSON Lines and CSV (`batch::Run`, parallel chunks) must give the
/// same records as `evaluate_text`. `bytes` need not be UTF-8 (the CLI reads raw files); then
/// only its own invariants are checked.
pub fn check_batch(policy: &Policy, bytes: &[u8], format: Format, expected: Option<&[(Date, Record)]>) {
    let decide = |doc: &Document, date: Date| -> Vec<(Date, Record)> {
        policy.records(doc, date).into_iter().map(|r| (date, r)).collect()
    };
    let run = Run {
        policy,
        source: "f",
        as_of: None,
        today: today(),
        decide: &decide,
        max_line_bytes: handover::batch::DEFAULT_MAX_LINE_BYTES,
    };
    let mut got: Vec<(Date, Record)> = Vec::new();
    let mut bytes_seen = Vec::new();
    let mut emit = |chunk: Vec<Vec<(Date, Record)>>, n: u64| {
        got.extend(chunk.into_iter().flatten());
        bytes_seen.push(n);
        Ok(())
    };
    let mut input = bytes;
    let stats = match format {
        Format::JsonLines => run.json_lines(&mut input, &mut emit),
        Format::Csv => run.csv(&mut input, &mut emit),
        other => panic!("no batch reader for {other:?}"),
    };
    let stats = stats.unwrap_or_else(|e| panic!("batch run failed on an in-memory input: {e}"));
    assert!(bytes_seen.windows(2).all(|w| w[0] <= w[1]), "progress went backwards: {bytes_seen:?}");
    assert!(stats.bytes <= bytes.len() as u64, "read more bytes than the input has");
    match expected {
        Some(expected) => {
            if got != expected {
                let first = got.iter().zip(expected).position(|(a, b)| a != b);
                panic!(
                    "the batch reader and evaluate_text differ: {} vs {} records; first difference at {first:?}\n  batch: {:?}\n  evaluate_text: {:?}",
                    got.len(),
                    expected.len(),
                    first.and_then(|i| got.get(i)),
                    first.and_then(|i| expected.get(i)),
                );
            }
        }
        None => assert!(!bytes.is_empty() || !got.is_empty(), "empty input gave no record"),
    }
}

/// The fact-file targets: UTF-8 text goes through every path; other bytes only through the
/// batch readers that the CLI uses for JSON Lines and CSV files.
pub fn fuzz_facts(data: &[u8], format: Format) {
    let policy = builtin();
    match std::str::from_utf8(data) {
        Ok(text) => {
            let records = check_facts(policy, text, format);
            if matches!(format, Format::JsonLines | Format::Csv) {
                check_batch(policy, data, format, Some(&records));
            }
        }
        Err(_) => {
            if matches!(format, Format::JsonLines | Format::Csv) {
                check_batch(policy, data, format, None);
            }
        }
    }
}

/// The slot vectors (document, item) for one value per schema field (`None`: absent, or its
/// default when it has one).
pub fn slots(schema: &Schema, values: &[Option<Value>]) -> (Vec<Value>, Vec<Value>) {
    let mut doc = vec![Value::Absent; schema.document_slots];
    let mut item = vec![Value::Absent; schema.item_slots];
    for (f, def) in schema.fields.iter().enumerate() {
        let v = values.get(f).cloned().flatten().or_else(|| def.default.clone()).unwrap_or(Value::Absent);
        let target = match def.slot.scope {
            Scope::Document => doc.get_mut(def.slot.index),
            Scope::Item => item.get_mut(def.slot.index),
        };
        if let Some(t) = target {
            *t = v;
        }
    }
    (doc, item)
}

/// A small deterministic generator (splitmix64), seeded from the fuzz input.
pub struct Rng(u64);

impl Rng {
    pub fn new(data: &[u8]) -> Rng {
        // FNV-1a.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in data {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Day numbers worth trying: the ends of chrono's calendar, the ends of the four-digit years
/// fact files can write, the diagram's exactness bound and a few ordinary days.
pub fn edge_days() -> Vec<i64> {
    use chrono::Datelike;
    let min = i64::from(chrono::NaiveDate::MIN.num_days_from_ce());
    let max = i64::from(chrono::NaiveDate::MAX.num_days_from_ce());
    let first = chrono::NaiveDate::from_ymd_opt(0, 1, 1).map_or(0, |d| i64::from(d.num_days_from_ce()));
    let last = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).map_or(0, |d| i64::from(d.num_days_from_ce()));
    vec![min, min + 1, max, max - 1, first, last, 0, 1, -1, 70_000_000, 70_000_001, -70_000_000, -70_000_001, 738_960]
}
