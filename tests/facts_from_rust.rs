//! Facts from Rust values (`Policy::evaluate_value`, `facts::from_value`) are checked exactly like
//! fact files: the same document as a `#[derive(Serialize)]` struct, as a `serde_json::Value`
//! and as YAML text gives the same records, errors included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;

use handover::facts::{self, Format};
use handover::{Date, Policy, Record};
use serde::Serialize;

fn today() -> Date {
    Date::parse("2024-03-15").unwrap()
}

fn from_text(policy: &Policy, text: &str, format: Format, source: &str) -> Vec<(Date, Record)> {
    policy.evaluate_text(text, format, source, None, today())
}

fn from_value(policy: &Policy, value: &(impl Serialize + ?Sized), source: &str) -> Vec<(Date, Record)> {
    policy.evaluate_value(value, source, None, today())
}

#[derive(Serialize)]
struct Facts {
    as_of: Option<Date>,
    partner: Partner,
    customer: Customer,
    subscriptions: Vec<Subscription>,
}

#[derive(Serialize)]
struct Partner {
    role: Role,
    #[serde(rename = "type")]
    kind: PartnerType,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Role {
    SalesAgent,
    /// Not a value of the policy's `Role`.
    Janitor,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum PartnerType {
    DirectBill,
}

#[derive(Serialize)]
struct Customer {
    name: String,
    cloud: &'static str,
    is_csp_partner: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Service {
    LicenseBased,
    UsageBased,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Channel {
    CspPartner,
    EnterpriseAgreement,
    Open,
    NonCspThirdParty,
    Syndication,
    Unknown,
}

#[derive(Serialize)]
struct Subscription {
    id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    offer: Option<&'static str>,
    service: Service,
    channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    term_end: Option<Date>,
}

fn sub(
    id: &'static str,
    offer: Option<&'static str>,
    service: Service,
    channel: Channel,
    term_end: Option<&str>,
) -> Subscription {
    Subscription { id, offer, service, channel, term_end: term_end.map(|d| Date::parse(d).unwrap()) }
}

/// `examples/contoso.yaml` as Rust values.
fn contoso() -> Facts {
    use Channel::*;
    use Service::*;
    Facts {
        as_of: Date::parse("2024-03-15"),
        partner: Partner { role: Role::SalesAgent, kind: PartnerType::DirectBill },
        customer: Customer { name: "Contoso".into(), cloud: "commercial", is_csp_partner: false },
        subscriptions: vec![
            sub("contoso-m365", Some("Microsoft 365 E3"), LicenseBased, CspPartner, Some("2024-06-30")),
            sub("contoso-azure", None, UsageBased, EnterpriseAgreement, None),
            sub("contoso-dynamics", Some("Dynamics 365 Sales"), LicenseBased, Open, None),
            sub("contoso-ems", Some("EMS E5"), LicenseBased, NonCspThirdParty, Some("2024-01-31")),
            sub("contoso-azure-dev", Some("Azure plan"), UsageBased, CspPartner, None),
            sub("contoso-visio", Some("Visio Plan 2"), LicenseBased, NonCspThirdParty, Some("2024-09-30")),
            sub("contoso-project", Some("Project Plan 3"), LicenseBased, Syndication, None),
            sub("contoso-legacy", None, LicenseBased, Unknown, None),
        ],
    }
}

#[test]
fn a_struct_a_json_value_and_yaml_text_give_the_same_records() {
    let policy = Policy::builtin().unwrap();
    let text = std::fs::read_to_string("examples/contoso.yaml").unwrap();
    let expected = from_text(&policy, &text, Format::Yaml, "contoso");
    assert_eq!(expected.len(), 8);
    assert!(expected.iter().all(|(_, r)| r.outcome.is_ok()), "{expected:#?}");

    let from_struct = from_value(&policy, &contoso(), "contoso");
    assert_eq!(from_struct, expected);

    let json: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(from_value(&policy, &json, "contoso"), expected);

    // A map of maps, built by hand, is one more `Serialize` value.
    let mut map: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    for (k, v) in json.as_object().unwrap() {
        map.insert(k, v.clone());
    }
    assert_eq!(from_value(&policy, &map, "contoso"), expected);

    // The validated document is the one the text gives.
    let doc = policy.document_from_value(&contoso(), "contoso");
    let parsed = facts::parse(policy.schema(), &text, Format::Yaml, "contoso");
    assert_eq!(parsed.len(), 1);
    assert_eq!(doc.shared, parsed[0].shared);
    assert_eq!(doc.as_of, parsed[0].as_of);
    assert_eq!(doc.label, parsed[0].label);
    let values = |d: &facts::Document| d.entries.iter().map(|e| (e.key.clone(), e.values.clone())).collect::<Vec<_>>();
    assert_eq!(values(&doc), values(&parsed[0]));
}

#[test]
fn defaults_apply_as_in_a_file() {
    #[derive(Serialize)]
    struct Minimal {
        partner: BTreeMap<&'static str, Role>,
        subscriptions: Vec<BTreeMap<&'static str, &'static str>>,
    }
    let policy = Policy::builtin().unwrap();
    let value = Minimal {
        partner: BTreeMap::from([("role", Role::SalesAgent)]),
        subscriptions: vec![BTreeMap::from([("id", "a"), ("service", "usage_based"), ("channel", "csp_partner")])],
    };
    let yaml =
        "partner: { role: sales_agent }\nsubscriptions:\n  - { id: a, service: usage_based, channel: csp_partner }\n";
    let expected = from_text(&policy, yaml, Format::Yaml, "minimal");
    assert!(expected[0].1.outcome.is_ok(), "{expected:?}");
    assert_eq!(from_value(&policy, &value, "minimal"), expected);
    // `customer.cloud`, `partner.type` and the others took their defaults.
    let doc = policy.document_from_value(&value, "minimal");
    let shared = doc.shared.as_ref().unwrap();
    let schema = policy.schema();
    for (path, default) in
        [("customer.cloud", handover::Value::Enum(0)), ("customer.is_csp_partner", handover::Value::Bool(false))]
    {
        let field = &schema.fields[schema.field_by_path(path).unwrap()];
        assert_eq!(shared[field.slot.index], default, "{path}");
    }
    assert_eq!(doc.shared, facts::parse(policy.schema(), yaml, Format::Yaml, "minimal")[0].shared);
}

/// The error records of a value and of the YAML text it stands for: the same, and errors.
fn same_errors(policy: &Policy, value: &(impl Serialize + ?Sized), yaml: &str) -> Vec<String> {
    let expected = from_text(policy, yaml, Format::Yaml, "case");
    let got = from_value(policy, value, "case");
    assert_eq!(got, expected, "the value and the YAML text give other records");
    let errors: Vec<String> =
        got.iter().filter_map(|(_, r)| r.outcome.as_ref().err().map(ToString::to_string)).collect();
    assert!(!errors.is_empty(), "no error: {got:?}");
    errors
}

#[test]
fn an_unknown_enum_value_is_the_same_error_as_in_a_file() {
    let policy = Policy::builtin().unwrap();
    let mut value = contoso();
    value.partner.role = Role::Janitor;
    let mut yaml = std::fs::read_to_string("examples/contoso.yaml").unwrap();
    yaml = yaml.replace("role: sales_agent", "role: janitor");
    let errors = same_errors(&policy, &value, &yaml);
    assert_eq!(errors.len(), 8, "a bad shared fact fails every entry");
    assert!(
        errors[0].starts_with("partner.role: unknown value `janitor`; expected one of `global_admin`"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_misspelt_value_gets_the_same_suggestion() {
    let policy = Policy::builtin().unwrap();
    let value = serde_json::json!({
        "partner": {"role": "sales_agnet"},
        "subscriptions": [{"id": "a", "service": "usage_based", "channel": "csp_partner"}],
    });
    let yaml =
        "partner: { role: sales_agnet }\nsubscriptions: [{ id: a, service: usage_based, channel: csp_partner }]\n";
    let errors = same_errors(&policy, &value, yaml);
    assert!(errors[0].contains("did you mean `sales_agent`?"), "{}", errors[0]);
}

#[test]
fn a_wrong_type_is_the_same_error_as_in_a_file() {
    let policy = Policy::builtin().unwrap();
    // `Text("fifty")`-like mistakes: a string for a bool, a number for text, a list for a date.
    let value = serde_json::json!({
        "partner": {"role": "sales_agent"},
        "customer": {"is_csp_partner": "yes", "name": 50},
        "subscriptions": [{"id": "a", "service": "usage_based", "channel": "csp_partner", "term_end": [2024]}],
    });
    let yaml = "partner: { role: sales_agent }\ncustomer: { is_csp_partner: \"yes\", name: 50 }\n\
                subscriptions: [{ id: a, service: usage_based, channel: csp_partner, term_end: [2024] }]\n";
    let errors = same_errors(&policy, &value, yaml);
    assert!(errors[0].contains("customer.is_csp_partner: expected `true` or `false`, found a string"), "{}", errors[0]);
    assert!(errors[0].contains("customer.name: expected text, found a number; quote it"), "{}", errors[0]);

    // A typed struct with a number where the policy wants an enum.
    #[derive(Serialize)]
    struct Numbered {
        partner: BTreeMap<&'static str, i64>,
        subscriptions: Vec<BTreeMap<&'static str, &'static str>>,
    }
    let value = Numbered {
        partner: BTreeMap::from([("role", 3)]),
        subscriptions: vec![BTreeMap::from([("id", "a"), ("service", "usage_based"), ("channel", "open")])],
    };
    let errors = same_errors(
        &policy,
        &value,
        "partner: { role: 3 }\nsubscriptions: [{ id: a, service: usage_based, channel: open }]\n",
    );
    assert!(errors[0].starts_with("partner.role: expected one of `global_admin`"), "{}", errors[0]);
    assert!(errors[0].ends_with("found a number"), "{}", errors[0]);
}

#[test]
fn a_missing_required_fact_is_the_same_error_as_in_a_file() {
    #[derive(Serialize)]
    struct NoChannel {
        id: &'static str,
        service: Service,
    }
    #[derive(Serialize)]
    struct Facts {
        partner: Partner,
        subscriptions: Vec<NoChannel>,
    }
    let policy = Policy::builtin().unwrap();
    let value = Facts {
        partner: Partner { role: Role::SalesAgent, kind: PartnerType::DirectBill },
        subscriptions: vec![NoChannel { id: "a", service: Service::LicenseBased }],
    };
    let yaml =
        "partner: { role: sales_agent, type: direct_bill }\nsubscriptions: [{ id: a, service: license_based }]\n";
    let errors = same_errors(&policy, &value, yaml);
    assert!(
        errors[0].starts_with("subscriptions[0].channel: missing: `subscription.channel` is required"),
        "{}",
        errors[0]
    );

    // `None` for a required fact is null, as in a file.
    let value = serde_json::json!({"partner": {"role": null}, "subscriptions": [{"id": "a", "service": "usage_based", "channel": "open"}]});
    let yaml = "partner: { role: null }\nsubscriptions: [{ id: a, service: usage_based, channel: open }]\n";
    let errors = same_errors(&policy, &value, yaml);
    assert!(errors[0].contains("`partner.role` is required and cannot be null"), "{}", errors[0]);
}

#[test]
fn unknown_keys_and_shapes_are_the_same_errors_as_in_a_file() {
    let policy = Policy::builtin().unwrap();
    let value = serde_json::json!({"partner": {"role": "sales_agent"}, "subscription": []});
    let errors = same_errors(&policy, &value, "partner: { role: sales_agent }\nsubscription: []\n");
    assert!(errors[0].contains("did you mean `subscriptions`?"), "{}", errors[0]);

    // Not a mapping at all.
    let errors = same_errors(&policy, &vec![1, 2], "[1, 2]\n");
    assert!(errors[0].starts_with("expected a mapping with `as_of`"), "{}", errors[0]);

    // A Rust enum with data is a one-key mapping, as serde_json writes it.
    #[derive(Serialize)]
    enum Wrapped {
        Role(&'static str),
    }
    let value = serde_json::json!({"partner": {"role": {"Role": "sales_agent"}}, "subscriptions": [{"id": "a", "service": "usage_based", "channel": "open"}]});
    let mut typed = BTreeMap::new();
    typed.insert("partner", serde_json::to_value(BTreeMap::from([("role", Wrapped::Role("sales_agent"))])).unwrap());
    typed.insert("subscriptions", value["subscriptions"].clone());
    let errors = same_errors(
        &policy,
        &typed,
        "partner: { role: { Role: sales_agent } }\nsubscriptions: [{ id: a, service: usage_based, channel: open }]\n",
    );
    assert!(errors[0].ends_with("found a mapping"), "{}", errors[0]);
    assert_eq!(from_value(&policy, &value, "case"), from_value(&policy, &typed, "case"));
}

/// A `Serialize` implementation that fails gives an error record, not a panic.
#[test]
fn a_failing_serialize_is_an_error_record() {
    struct Broken;
    impl Serialize for Broken {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("the database went away"))
        }
    }
    let policy = Policy::builtin().unwrap();
    let records = from_value(&policy, &Broken, "db");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1.source, "db");
    let error = records[0].1.outcome.as_ref().unwrap_err();
    assert_eq!(error.to_string(), "the value cannot be read as facts: the database went away");
    assert_eq!(error.code(), "facts::unreadable");
}

/// Every single-document case of `tests/cases/facts/` (the catalogue of bad fact input) read
/// as YAML into a `serde_json::Value` gives the same records as the file.
#[test]
fn every_fact_error_case_gives_the_same_records_as_a_value() {
    let policy = Policy::builtin().unwrap();
    let mut compared = 0;
    for entry in std::fs::read_dir("tests/cases/facts").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(format @ (Format::Yaml | Format::Json)) = Format::from_path(&name) else { continue };
        let text = std::fs::read_to_string(&path).unwrap();
        // Cases that serde_json's tree cannot hold (syntax errors, duplicate keys, tags,
        // several documents) are about reading text, not values.
        let value = match format {
            Format::Json => serde_json::from_str::<serde_json::Value>(&text).ok(),
            _ => serde_yaml::from_str::<serde_json::Value>(&text).ok(),
        };
        let Some(value) = value else { continue };
        if name.contains("duplicate") || name.contains("several") {
            continue;
        }
        let expected = from_text(&policy, &text, format, &name);
        let got = from_value(&policy, &value, &name);
        assert_eq!(got, expected, "{}", Path::new(&name).display());
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} cases compared");
}
