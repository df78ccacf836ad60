//! Errors are typed: a fact error, an evaluation error and a policy error can each be matched
//! on by kind (never by message), and every code the crate can produce is in the README's list.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::Path;

use handover::facts::Format;
use handover::{Date, EntryError, EvalErrorKind, FactErrorKind, LoadError, Policy};

fn today() -> Date {
    Date::parse("2024-03-15").unwrap()
}

fn outcome_errors(policy: &Policy, yaml: &str) -> Vec<EntryError> {
    policy
        .evaluate_text(yaml, Format::Yaml, "case", None, today())
        .into_iter()
        .filter_map(|(_, r)| r.outcome.err())
        .collect()
}

#[test]
fn fact_errors_are_matched_by_kind_and_path() {
    let policy = Policy::builtin().unwrap();
    let yaml = "partner: { role: sales_agent }\n\
        subscriptions:\n\
        - { id: a, service: license_based, channel: fifty }\n\
        - { id: b, service: license_based }\n\
        - { id: c, service: 7, channel: advisor }\n\
        - { id: d, service: license_based, channel: advisor, colour: red }\n\
        - { id: e, service: license_based, channel: advisor, term_end: 2024-02-30 }\n";
    let errors = outcome_errors(&policy, yaml);
    let kinds: Vec<(FactErrorKind, String)> = errors
        .iter()
        .map(|e| match e {
            EntryError::Facts(f) => (f[0].kind, f[0].path.clone()),
            other => panic!("expected a fact error, got {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (FactErrorKind::BadValue, "subscriptions[0].channel".to_string()),
            (FactErrorKind::Missing, "subscriptions[1].channel".to_string()),
            (FactErrorKind::WrongType, "subscriptions[2].service".to_string()),
            (FactErrorKind::UnknownKey, "subscriptions[3].colour".to_string()),
            (FactErrorKind::BadValue, "subscriptions[4].term_end".to_string()),
        ]
    );
    // The kind carries the code; the message stays the same text the CLI prints.
    assert_eq!(errors[0].code(), "facts::bad-value");
    assert!(errors[0].to_string().starts_with("subscriptions[0].channel: unknown value `fifty`"), "{}", errors[0]);
    let dup = outcome_errors(
        &policy,
        "partner: { role: sales_agent, role: sales_agent }\nsubscriptions: [{ id: a, service: usage_based, channel: advisor }]\n",
    );
    assert!(matches!(&dup[0], EntryError::Facts(f) if f[0].kind == FactErrorKind::DuplicateKey), "{dup:?}");
    let broken = outcome_errors(&policy, "partner: [\n");
    assert!(matches!(&broken[0], EntryError::Facts(f) if f[0].kind == FactErrorKind::Unreadable), "{broken:?}");
}

#[test]
fn evaluation_errors_are_matched_by_kind_and_rule() {
    // A gap, and a rule that reads an optional fact without `present()`.
    let policy = Policy::from_text(
        "p.handover",
        r#"
        each item in items { id: text @key, n: int, limit: int? }
        action ok "ok"
        rule big { when item.n > 10 and item.limit > 3 then ok reason "big" }
        "#,
    )
    .map_err(|e| e.render(false))
    .unwrap();
    let yaml = "items: [{ id: small, n: 1 }, { id: unbounded, n: 20 }]\n";
    let errors = outcome_errors(&policy, yaml);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        matches!(&errors[0], EntryError::Decide { kind: EvalErrorKind::NoRuleMatched, rule: None, .. }),
        "{:?}",
        errors[0]
    );
    match &errors[1] {
        EntryError::Decide { kind: EvalErrorKind::AbsentFact { .. }, rule: Some(rule), message } => {
            assert_eq!(rule, "big");
            assert!(message.contains("item.limit"), "{message}");
        }
        other => panic!("expected an absent fact in rule `big`, got {other:?}"),
    }
    assert_eq!(errors[1].code(), "eval::absent-fact");
}

#[test]
fn policy_errors_are_matched_by_kind_and_code() {
    let missing = Policy::from_path("no/such/policy.handover").unwrap_err();
    assert!(matches!(missing, LoadError::Io { .. }));
    assert_eq!(missing.code(), "policy::unreadable");

    let empty = std::env::temp_dir().join(format!("handover-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let none = Policy::from_path(&empty).unwrap_err();
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(matches!(none, LoadError::NoFiles { .. }));
    assert_eq!(none.code(), "policy::no-files");

    let invalid = Policy::from_text(
        "p.handover",
        "each item in items { id: text @key, n: int }\naction ok \"ok\"\nrule r { when item.m > 1 then ok reason \"r\" }\n",
    )
    .unwrap_err();
    assert!(matches!(invalid, LoadError::Invalid { .. }));
    let codes: Vec<&str> = invalid.diagnostics().iter().map(|d| d.code).collect();
    assert_eq!(codes, ["check::unknown-fact"]);
    assert_eq!(invalid.code(), codes[0]);
}

/// Every `"stage::name"` code written in the source, and every code in the README's list,
/// are the same set.
#[test]
fn the_readme_lists_every_error_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut in_code = BTreeSet::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                in_code.extend(codes_in(&text, '"'));
            }
        }
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme.split("## Error codes").nth(1).expect("an Error codes section");
    let section = section.split("\n## ").next().unwrap();
    let listed: BTreeSet<String> = codes_in(section, '`');
    let unlisted: Vec<_> = in_code.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&in_code).collect();
    assert!(unlisted.is_empty(), "codes missing from the README's Error codes list: {unlisted:?}");
    assert!(stale.is_empty(), "the README lists codes the source never produces: {stale:?}");
}

/// `stage::name` codes written between two `quote` characters.
fn codes_in(text: &str, quote: char) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for stage in ["policy", "parse", "check", "compile", "facts", "eval"] {
        let open = format!("{quote}{stage}::");
        for (at, _) in text.match_indices(&open) {
            let rest = &text[at + open.len()..];
            let Some(end) = rest.find(quote) else { continue };
            let name = &rest[..end];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                out.insert(format!("{stage}::{name}"));
            }
        }
    }
    out
}

/// Slot vectors built by hand are unchecked, but a value of the wrong type in one is an
/// evaluation error of its own kind, never a verdict computed from a misread value.
#[test]
fn a_wrong_value_in_an_unchecked_slot_is_a_type_mismatch() {
    use handover::Value;
    let policy = Policy::builtin().unwrap();
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contoso.yaml")).unwrap();
    let doc = handover::facts::parse(policy.schema(), &text, Format::Yaml, "contoso.yaml").remove(0);
    let shared = doc.shared.clone().unwrap();
    let item = doc.entries[0].values.clone().unwrap();
    let as_of = doc.as_of.unwrap();
    let verdict = policy.evaluate(&shared, &item, as_of).unwrap();
    assert_eq!(verdict.rule_id(), "license_elsewhere_term_running");

    let schema = policy.schema();
    let term_end = schema.field_by_path("subscription.term_end").unwrap();
    let slot = schema.fields[term_end].slot.index;
    let mut bad = item.clone();
    bad[slot] = Value::Text("fifty".into());
    let err = policy.evaluate(&shared, &bad, as_of).unwrap_err();
    assert_eq!(err.kind, EvalErrorKind::TypeMismatch, "{err:?}");
    assert_eq!(err.kind.code(), "eval::type-mismatch");
    // The interpreter, the reference, says the same.
    assert_eq!(policy.evaluate_interpreted(&shared, &bad, as_of).unwrap_err().kind, EvalErrorKind::TypeMismatch);
}
