//! The output contract: record keys cannot collide with group names (`check` refuses the
//! name), JSON Lines records carry `as_of`, and the fast JSON Lines writer writes exactly the
//! serde serialisation of each record (a property test over generated documents and a policy
//! with every parameter type and reasons that need escaping).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::process::Command;

use handover::eval::verdict::Dated;
use handover::facts::Document;
use handover::{Date, LoadError, Policy};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

fn codes(err: &LoadError) -> Vec<&'static str> {
    match err {
        LoadError::Invalid { diagnostics, .. } => diagnostics.iter().map(|d| d.code).collect(),
        other => panic!("not a policy error: {other}"),
    }
}

/// A policy whose `@label` group and `each` group are named as given.
fn policy_named(label_group: &str, each_group: &str) -> String {
    format!(
        "facts {label_group} {{\n    name: text? @label\n}}\n\
         each {each_group} in things {{\n    id: text @key\n}}\n\
         action go \"Go.\"\n\
         rule always {{\n    then go\n    reason \"Always.\"\n}}\n"
    )
}

#[test]
fn a_group_named_like_a_fixed_record_key_is_refused() {
    // `source`, `action`, `rule` and `reason` are keywords of the language: no group can take them.
    for keyword in ["source", "action", "rule", "reason"] {
        let err = Policy::from_text("p.handover", &policy_named(keyword, "thing")).unwrap_err();
        assert_eq!(codes(&err), ["parse::syntax"], "{keyword}");
    }
    for fixed in ["params", "error"] {
        for (label, each) in [(fixed, "entry_group"), ("owner", fixed)] {
            let err = Policy::from_text("p.handover", &policy_named(label, each)).unwrap_err();
            assert_eq!(codes(&err), ["check::output-key-taken"], "{label}/{each}");
            let text = err.render(false);
            assert!(text.contains(&format!("fact group `{fixed}` names a key of every output record")), "{text}");
            assert!(text.contains(&format!("`{fixed}` is already a fixed key of every record")), "{text}");
        }
    }
    // `as_of` was already refused for any group.
    let err = Policy::from_text("p.handover", &policy_named("as_of", "thing")).unwrap_err();
    assert_eq!(codes(&err), ["check::reserved-name"]);
}

#[test]
fn a_group_that_names_no_output_key_may_use_those_names() {
    // `error` here is neither the `@label` group nor the `each` group: no record key is named after it.
    let text = "facts error {\n    code: int = 0\n}\n".to_string() + &policy_named("owner", "thing");
    let policy = Policy::from_text("p.handover", &text).unwrap();
    assert_eq!(policy.output_keys(), ("owner", "thing"));
    // The shipped policy keeps its keys.
    assert_eq!(Policy::builtin().unwrap().output_keys(), ("customer", "subscription"));
}

#[test]
fn a_group_named_like_the_other_keys_fallback_is_refused() {
    // Without `@label`, the label is written under `label`; an `each` group named `label` would
    // write a second `label` key.
    let text = "each label in things {\n    id: text @key\n}\naction go \"Go.\"\nrule r {\n    then go\n    reason \"R.\"\n}\n";
    let err = Policy::from_text("p.handover", text).unwrap_err();
    assert_eq!(codes(&err), ["check::output-key-taken"]);
    assert!(err.render(false).contains("the key the label is written under"), "{}", err.render(false));
    // Without `each`, an entry is written under `entry`.
    let text =
        "facts entry {\n    name: text? @label\n}\naction go \"Go.\"\nrule r {\n    then go\n    reason \"R.\"\n}\n";
    let err = Policy::from_text("p.handover", text).unwrap_err();
    assert_eq!(codes(&err), ["check::output-key-taken"]);
    assert!(err.render(false).contains("the key an entry is written under"), "{}", err.render(false));
}

fn handover(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_json_lines_record_carries_its_as_of() {
    // The file's own date.
    let out = handover(&["eval", "--format", "jsonl", "examples/contoso.yaml"]);
    assert_eq!(out.lines().count(), 8);
    for line in out.lines() {
        let record: Json = serde_json::from_str(line).unwrap();
        assert_eq!(record["as_of"], "2024-03-15", "{line}");
        assert!(line.ends_with(",\"as_of\":\"2024-03-15\"}"), "as_of is the last key: {line}");
    }
    // `--as-of` overrides it, and the records say so.
    let out = handover(&["eval", "--format", "jsonl", "--as-of", "2024-07-01", "examples/contoso.yaml"]);
    assert!(out.lines().all(|l| serde_json::from_str::<Json>(l).unwrap()["as_of"] == "2024-07-01"), "{out}");
    // The JSON document keeps its rule: `as_of` once at the top, on a record only when it differs.
    let doc: Json = serde_json::from_str(&handover(&["eval", "--format", "json", "examples/contoso.yaml"])).unwrap();
    assert_eq!(doc["as_of"], "2024-03-15");
    assert!(doc["results"].as_array().unwrap().iter().all(|r| r.get("as_of").is_none()), "{doc}");
}

/// Every parameter type, enum values, text facts that need escaping, reasons with quotes,
/// backslashes, tabs, line breaks and non-ASCII text, an evaluation error (an absent fact read
/// without `present`) and a gap (no rule for `gamma`).
const POLICY: &str = r#"
enum Kind { alpha, beta_2, gamma }

facts who {
    name: text? @label
    tier: int = 0
}

each item in items {
    id: text @key
    kind: Kind
    note: text?
    due: date?
    n: int = 1
    flag: bool = false
}

action all_types(b: bool, n: int, d: date, e: Kind, t: text) "Every parameter type."
action days(left: int, until: date) "Some parameters."
action none "No parameters."

rule every_type {
    when item.kind == alpha and present(item.note) and present(item.due)
    then all_types(b: item.flag, n: item.n, d: item.due, e: item.kind, t: item.note)
    reason "Quotes \" and backslashes \\, a tab\there, a line\nbreak, é, 𝄞 and a raw line separator   and a DEL ."
}

rule reads_absent {
    when item.kind == beta_2 and item.due < as_of
    then days(left: item.due - as_of, until: item.due)
    reason "Tier \"two\"."
}

rule alpha_without_note {
    when item.kind == alpha
    then none
    reason "No note\\nothing."
}
"#;

fn policy() -> &'static Policy {
    static POLICY_CELL: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    POLICY_CELL.get_or_init(|| match Policy::from_text("contract.handover", POLICY) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render(false)),
    })
}

/// Each line `JsonLines::write` writes for `doc` is the serde serialisation of its record.
fn check_lines(policy: &Policy, doc: &Document, date: Date) {
    let records = policy.records(doc, date);
    for show_as_of in [true, false] {
        let mut fast = Vec::new();
        let (lines, errors) = handover::output::jsonl::JsonLines::new(policy).write(doc, date, show_as_of, &mut fast);
        let fast = String::from_utf8(fast).expect("JSON Lines output is UTF-8");
        assert!(fast.ends_with('\n') || fast.is_empty());
        assert_eq!(lines, records.len());
        assert_eq!(lines, fast.lines().count(), "one line per record:\n{fast}");
        assert_eq!(errors, records.iter().filter(|r| r.outcome.is_err()).count());
        for (line, record) in fast.lines().zip(&records) {
            let slow = serde_json::to_string(&Dated { record, as_of: show_as_of.then_some(date) }).unwrap();
            assert_eq!(line, slow, "the fast line differs from the serialised record");
            serde_json::from_str::<Json>(line).expect("each line is JSON");
        }
    }
}

/// Text that needs escaping in JSON: quotes, backslashes, control characters, line and
/// paragraph separators, non-ASCII and astral characters, and any other character.
fn odd_text() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => any::<char>(),
        1 => prop::sample::select(vec!['"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1f}', '\u{7f}', '\u{2028}', '\u{2029}', 'é', '𝄞', '/', '<']),
        2 => prop::char::range('a', 'z'),
    ];
    prop::collection::vec(c, 0..10).prop_map(String::from_iter)
}

fn date_text() -> impl Strategy<Value = Json> {
    prop_oneof![
        (0i64..3_000_000).prop_map(|d| json!(Date::from_days(d + 300_000).unwrap().to_string())),
        Just(json!("2024-02-30")),
        Just(json!(20240101)),
        Just(json!("9999-12-31")),
        Just(json!("0000-01-01")),
    ]
}

fn entry() -> impl Strategy<Value = Json> {
    let id = prop_oneof![4 => odd_text().prop_map(Json::from), 1 => Just(json!(7)), 1 => Just(Json::Null)];
    let kind = prop::sample::select(vec!["alpha", "alpha", "beta_2", "gamma", "gama", "Alpha"]);
    let note = prop::option::of(odd_text());
    let due = prop::option::of(date_text());
    let n = prop_oneof![any::<i64>().prop_map(Json::from), Just(json!("five")), Just(json!(1.5))];
    let flag = prop_oneof![any::<bool>().prop_map(Json::from), Just(json!("yes"))];
    (id, kind, note, due, prop::option::of(n), prop::option::of(flag)).prop_map(|(id, kind, note, due, n, flag)| {
        let mut m = serde_json::Map::new();
        if !id.is_null() {
            m.insert("id".into(), id);
        }
        m.insert("kind".into(), json!(kind));
        if let Some(note) = note {
            m.insert("note".into(), json!(note));
        }
        if let Some(due) = due {
            m.insert("due".into(), due);
        }
        if let Some(n) = n {
            m.insert("n".into(), n);
        }
        if let Some(flag) = flag {
            m.insert("flag".into(), flag);
        }
        Json::Object(m)
    })
}

fn document() -> impl Strategy<Value = Json> {
    let name = prop_oneof![4 => odd_text().prop_map(Json::from), 1 => Just(json!(12)), 1 => Just(Json::Null)];
    let items = prop_oneof![
        8 => prop::collection::vec(entry(), 0..5).prop_map(Json::Array),
        1 => Just(json!("not a list")),
    ];
    let as_of = prop::option::of(date_text());
    let extra = prop::option::of(odd_text());
    (name, prop::option::of(any::<i64>()), items, as_of, extra).prop_map(|(name, tier, items, as_of, extra)| {
        let mut doc = serde_json::Map::new();
        if let Some(as_of) = as_of {
            doc.insert("as_of".into(), as_of);
        }
        let mut who = serde_json::Map::new();
        who.insert("name".into(), name);
        if let Some(tier) = tier {
            who.insert("tier".into(), json!(tier));
        }
        doc.insert("who".into(), Json::Object(who));
        doc.insert("items".into(), items);
        if let Some(key) = extra {
            doc.insert(key, json!(1));
        }
        Json::Object(doc)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The fast JSON Lines writer against the document serializer, over generated documents:
    /// decided entries with every parameter type, fact errors, evaluation errors, gaps and
    /// document-level errors, with odd text in sources, labels, keys and parameters.
    #[test]
    fn json_lines_equal_the_serialised_records(doc in document(), source in odd_text(), today in 0i64..3_000_000) {
        let policy = policy();
        let doc = policy.document_from_value(&doc, &source);
        let today = Date::from_days(today + 300_000).unwrap();
        check_lines(policy, &doc, doc.as_of.unwrap_or(today));
    }
}

/// The generator reaches every kind of line: each parameter type decided, fact errors,
/// evaluation errors and gaps (so the property above is not passing on errors alone).
#[test]
fn the_generated_documents_reach_every_kind_of_record() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let policy = policy();
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..512 {
        let doc = document().new_tree(&mut runner).unwrap().current();
        let doc = policy.document_from_value(&doc, "gen");
        let date = doc.as_of.unwrap_or(Date::parse("2024-03-15").unwrap());
        for r in policy.records(&doc, date) {
            let kind = match &r.outcome {
                Ok(d) => d.rule.clone(),
                Err(handover::EntryError::Decide { kind: handover::EvalErrorKind::NoRuleMatched, .. }) => "gap".into(),
                Err(handover::EntryError::Decide { kind: handover::EvalErrorKind::AbsentFact { .. }, .. }) => {
                    "absent".into()
                }
                Err(handover::EntryError::Decide { .. }) => "arithmetic".into(),
                Err(handover::EntryError::Facts(_)) => "fact error".into(),
            };
            seen.insert(kind);
        }
        check_lines(policy, &doc, date);
    }
    for kind in ["every_type", "reads_absent", "alpha_without_note", "gap", "absent", "fact error"] {
        assert!(seen.contains(kind), "no `{kind}` record generated; saw {seen:?}");
    }
}

/// The shipped policy's example, through both writers.
#[test]
fn the_example_through_both_writers() {
    let policy = Policy::builtin().unwrap();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/contoso.yaml")).unwrap();
    let docs = handover::facts::parse(policy.schema(), &text, handover::facts::Format::Yaml, "contoso \"ü\".yaml");
    for doc in &docs {
        check_lines(&policy, doc, doc.as_of.unwrap());
        // Dates a library caller can pass that no fact file can write: years past 9999 and before 0.
        for days in [3_700_000, -1_000, 1, -365, 3_652_059] {
            check_lines(&policy, doc, Date::from_days(days).unwrap());
        }
    }
}
