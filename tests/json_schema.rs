//! `handover schema`: the JSON Schema of fact files. The committed schema of the built-in policy
//! is current; a standard validator (the `jsonschema` crate) accepts the example customer and
//! rejects every class of bad fact file that handover itself rejects for its shape, as the
//! cases under `tests/cases/facts/` show one by one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use handover::Policy;
use handover::facts::{Format, parse};

fn schema_text() -> String {
    let out =
        Command::new(env!("CARGO_BIN_EXE_handover")).args(["schema", "--format", "json-schema"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&schema_text()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// The fact documents of a YAML or JSON text, as JSON values (`None` when it does not parse).
fn documents(text: &str, json: bool) -> Option<Vec<serde_json::Value>> {
    if json {
        return serde_json::from_str(text).ok().map(|v| vec![v]);
    }
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text).map(serde_json::Value::deserialize).collect::<Result<Vec<_>, _>>().ok()
}

#[test]
fn the_committed_schema_of_the_built_in_policy_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/facts.schema.json")).unwrap();
    let library = serde_json::to_string_pretty(&Policy::builtin().unwrap().schema().json_schema()).unwrap() + "\n";
    assert_eq!(schema_text(), library, "the command prints the library's schema");
    assert_eq!(committed, library, "rules/facts.schema.json is stale: run `handover schema > rules/facts.schema.json`");
}

#[test]
fn the_example_customer_is_valid() {
    let v = validator();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/contoso.yaml")).unwrap();
    for doc in documents(&text, false).unwrap() {
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

/// Every case file: where handover reads the document and finds nothing wrong with its facts, the
/// schema accepts it; where handover reports a fact error, the schema rejects it, except for the
/// two things a JSON Schema cannot say: a date of the right shape that is not in the calendar
/// (`2024-13-01`), and a duplicate key (the readers used here keep the last value).
#[test]
fn the_schema_accepts_and_rejects_what_handover_does() {
    let v = validator();
    let policy = Policy::builtin().unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/facts");
    let mut checked = 0;
    let mut table = String::new();
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (format, json) = match path.extension().and_then(|e| e.to_str()) {
            Some("yaml") => (Format::Yaml, false),
            Some("json") => (Format::Json, true),
            _ => continue,
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(docs) = documents(&text, json) else {
            table.push_str(&format!("{name}: not parsed as YAML/JSON here\n"));
            continue;
        };
        let ours = parse(policy.schema(), &text, format, &name);
        if ours.len() != docs.len() {
            table.push_str(&format!("{name}: {} documents for handover, {} here\n", ours.len(), docs.len()));
            continue;
        }
        for (doc, value) in ours.iter().zip(&docs) {
            let fact_error = doc.shared.is_err() || doc.entries.iter().any(|e| e.values.is_err());
            let valid = v.is_valid(value);
            let calendar = ["impossible_date.yaml", "bad_as_of.yaml"].contains(&name.as_str());
            let duplicate = name.contains("duplicate");
            let verdict = match (fact_error, valid) {
                (false, true) | (true, false) => "agree",
                (true, true) if calendar => "accepted: a calendar date only handover can tell",
                (true, true) if duplicate => "accepted: a duplicate key only handover can tell",
                (true, true) => "SCHEMA ACCEPTS A DOCUMENT HANDOVER REFUSES",
                (false, false) => "SCHEMA REFUSES A DOCUMENT HANDOVER READS",
            };
            table.push_str(&format!("{name}: {verdict}\n"));
            checked += 1;
        }
    }
    assert!(checked >= 20, "{table}");
    assert!(!table.contains("SCHEMA"), "{table}");
    insta::assert_snapshot!(table);
}

/// Typical mistakes in a fact file, each refused by the schema with the place it is at.
#[test]
fn typical_mistakes_are_refused_with_their_place() {
    let v = validator();
    let good = "as_of: 2024-03-15\npartner: { role: sales_agent }\nsubscriptions:\n  - { id: a, service: usage_based, channel: open }\n";
    assert!(v.is_valid(&documents(good, false).unwrap()[0]));
    let mut out = String::new();
    for (what, text) in [
        ("misspelt enum value", good.replace("channel: open", "channel: opne")),
        ("unknown key", good.replace("channel: open", "channel: open, chanel: open")),
        ("wrong type", good.replace("{ id: a,", "{ id: a, cancelled: \"yes\",")),
        ("missing required fact", good.replace("service: usage_based, ", "")),
        ("date in another shape", good.replace("as_of: 2024-03-15", "as_of: 15/03/2024")),
        ("empty list", good.replace("\n  - { id: a, service: usage_based, channel: open }", " []")),
        ("no partner", good.replace("partner: { role: sales_agent }\n", "")),
    ] {
        let doc = &documents(&text, false).unwrap()[0];
        let errors: Vec<String> =
            v.iter_errors(doc).map(|e| format!("{} at `{}`", e.kind().keyword(), e.instance_path())).collect();
        assert!(!errors.is_empty(), "{what}: accepted");
        out.push_str(&format!("{what}: {}\n", errors.join("; ")));
    }
    insta::assert_snapshot!(out);
}
