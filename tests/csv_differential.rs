#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

//! handover frames CSV records itself (to cap a record's size, name an unclosed quote and count
//! lines), so this property holds that framing to the `csv` crate's: on any text over an alphabet
//! rich in quotes, commas and line breaks, every record handover reads as facts has exactly the
//! cells the `csv` crate reads, record for record; a record handover refuses is one the `csv`
//! crate reads with the wrong number of cells, or the last one (a quote left open at the end).

use handover::facts::{Format, parse};
use handover::{Policy, Value};
use proptest::prelude::*;

const POLICY: &str = r#"
each r in rs {
    a: text?
    b: text?
    c: text?
}
action go "Go."
rule any {
    then go
    reason "Always."
}
"#;

/// The `csv` crate's records of `text` after the header, each as its cells (trimmed: handover
/// reads a cell's value without the spaces around it).
fn reference(text: &str) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(text.as_bytes());
    rdr.records().map(|r| r.expect("text input").iter().map(|c| c.trim().to_string()).collect()).collect()
}

/// handover's reading of the same text: per record, the cells (an absent fact as an empty
/// cell), or `None` for a record refused with an error.
fn ours(policy: &Policy, text: &str) -> Vec<Option<Vec<String>>> {
    let mut out = Vec::new();
    for doc in parse(policy.schema(), text, Format::Csv, "f.csv") {
        if doc.shared.is_err() {
            out.push(None);
            continue;
        }
        for entry in doc.entries {
            out.push(entry.values.ok().map(|values| {
                values
                    .iter()
                    .map(|v| match v {
                        Value::Absent => String::new(),
                        Value::Text(t) => t.to_string(),
                        other => panic!("a text column read as {other:?}"),
                    })
                    .collect()
            }));
        }
    }
    out
}

/// Pieces that make up the body: plain text, separators, line breaks of every kind, quotes in
/// and out of place, and a character of several bytes.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b c", ",", ",", "\n", "\r\n", "\r", "\"", "\"\"", "\"x\"", "é", " "])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn handover_reads_the_cells_the_csv_crate_reads(body in prop::collection::vec(piece(), 0..40)) {
        let policy = Policy::from_text("p.handover", POLICY).unwrap();
        let text = format!("r.a,r.b,r.c\n{}", body.concat());
        let theirs = reference(&text);
        let mine = ours(&policy, &text);
        if theirs.is_empty() {
            // No record at all: handover reports the empty input as one error.
            prop_assert!(mine.iter().all(Option::is_none), "{text:?}: {mine:?}");
            return Ok(());
        }
        prop_assert_eq!(mine.len(), theirs.len(), "{:?}: ours {:?}, csv {:?}", text, mine, theirs);
        let last = theirs.len() - 1;
        for (i, (m, t)) in mine.iter().zip(&theirs).enumerate() {
            match m {
                Some(cells) => prop_assert_eq!(cells, t, "record {} of {:?}", i, text),
                None => prop_assert!(t.len() != 3 || i == last, "record {} of {:?} refused; csv read {:?}", i, text, t),
            }
        }
    }
}
