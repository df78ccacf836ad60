//! Every kind of bad fact input, one file per case in `tests/cases/facts/`, evaluated with the
//! shipped policy. The records (verdicts and errors alike) are snapshotted as YAML; the source is
//! the bare file name so the snapshots do not depend on where the checkout lives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use chrono::NaiveDate;
use handover::facts::Format;
use handover::{Date, Policy, Record};

fn as_of() -> Date {
    Date::from_naive(NaiveDate::from_ymd_opt(2024, 3, 15).unwrap())
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).expect("case file names are UTF-8")
}

fn records(policy: &Policy, path: &Path) -> Vec<Record> {
    let name = file_name(path);
    let format = Format::from_path(name).expect("a case file is named .yaml, .json or .jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    policy.evaluate_text(&text, format, name, Some(as_of()), as_of()).into_iter().map(|(_, r)| r).collect()
}

#[test]
fn fact_errors() {
    let policy = Policy::builtin().unwrap();
    insta::glob!("cases/facts/*.{yaml,json,jsonl}", |path| {
        let records = records(&policy, path);
        assert!(records.iter().any(|r| r.outcome.is_err()), "{}: no error record", path.display());
        insta::assert_yaml_snapshot!(records);
    });
}

/// In a JSON Lines file one bad line fails alone: the lines around it are still decided.
#[test]
fn jsonl_bad_line_keeps_the_others() {
    let policy = Policy::builtin().unwrap();
    let records = records(&policy, Path::new("tests/cases/facts/jsonl_bad_line.jsonl"));
    let summary: Vec<(&str, Option<&str>)> =
        records.iter().map(|r| (r.source.as_str(), r.outcome.as_ref().ok().map(|d| d.action.as_str()))).collect();
    assert_eq!(
        summary,
        [
            ("jsonl_bad_line.jsonl:1", Some("request_reseller_relationship")),
            ("jsonl_bad_line.jsonl:2", None),
            ("jsonl_bad_line.jsonl:3", Some("switch_partner")),
        ]
    );
}

/// A YAML syntax error is one error record naming the line.
#[test]
fn yaml_syntax_error_is_one_error_record() {
    let policy = Policy::builtin().unwrap();
    let records = records(&policy, Path::new("tests/cases/facts/yaml_syntax_error.yaml"));
    assert_eq!(records.len(), 1);
    let error = records[0].outcome.as_ref().expect_err("a syntax error is an error record");
    assert_eq!(error.code(), "facts::unreadable");
    let error = error.to_string();
    assert!(error.starts_with("not valid YAML: ") && error.contains("line "), "{error}");
}
