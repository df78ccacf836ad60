//! The whole decision table of the shipped policy, snapshotted: every service × channel, each
//! role, CSP-partner customers, both clouds, every partner type, and the date boundaries.
//! Each line is one case: the facts that differ from the baseline, then the verdict.
//!
//! Baseline: a sales agent of a direct-bill partner, a commercial-cloud customer that is not a
//! CSP partner, evaluated as of 2024-03-15.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use handover::facts::Format;
use handover::{Date, Policy};

struct Case {
    partner: &'static str,
    customer: &'static str,
    subscription: String,
    as_of: &'static str,
}

fn case(subscription: &str) -> Case {
    Case { partner: "", customer: "", subscription: subscription.to_string(), as_of: "2024-03-15" }
}

/// Evaluates each case and renders `facts => verdict` lines.
fn table(cases: &[Case]) -> String {
    let policy = Policy::builtin().expect("shipped policy loads");
    let mut out = String::new();
    for c in cases {
        let partner = if c.partner.contains("role:") {
            c.partner.to_string()
        } else {
            format!("role: sales_agent, {}", c.partner)
        };
        let doc = format!(
            "partner: {{ {partner} }}\ncustomer: {{ name: Contoso, {} }}\nsubscriptions:\n  - {{ id: s, {} }}\n",
            c.customer, c.subscription
        );
        let as_of = Date::parse(c.as_of).unwrap();
        let records = policy.evaluate_text(&doc, Format::Yaml, "case", Some(as_of), as_of);
        assert_eq!(records.len(), 1, "one verdict per case: {doc}");
        let (_, r) = &records[0];
        let facts: Vec<&str> = [c.partner, c.customer, c.subscription.as_str()]
            .into_iter()
            .flat_map(|s| s.split(", "))
            .filter(|s| !s.is_empty())
            .collect();
        let date = if c.as_of == "2024-03-15" { String::new() } else { format!(" @ {}", c.as_of) };
        let verdict = match &r.outcome {
            Ok(d) => {
                let params: Vec<String> = d
                    .params
                    .iter()
                    .filter(|(_, v)| **v != serde_json::Value::Bool(false))
                    .map(|(k, v)| if *v == serde_json::Value::Bool(true) { k.clone() } else { format!("{k}={v}") })
                    .collect();
                format!("{} {} [{}]", d.action, params.join(" "), d.rule)
            }
            Err(e) => format!("ERROR {e}"),
        };
        out.push_str(&format!("{}{date}\n    => {}\n", facts.join(", "), verdict.replace("  ", " ")));
    }
    out
}

#[path = "../benches/common/mod.rs"]
mod common;

const SERVICES: [&str; 2] = ["license_based", "usage_based"];
use common::CHANNELS;

#[test]
fn every_service_and_channel() {
    let mut cases = Vec::new();
    for service in SERVICES {
        for channel in CHANNELS {
            // A running term, so third-party license subscriptions show the waiting verdict.
            cases.push(case(&format!("service: {service}, channel: {channel}, term_end: 2024-09-30")));
            cases.push(case(&format!("service: {service}, channel: {channel}, cancelled: true")));
        }
    }
    insta::assert_snapshot!(table(&cases));
}

#[test]
fn each_role() {
    let cases: Vec<Case> = [
        "global_admin",
        "user_management_admin",
        "sales_agent",
        "admin_agent",
        "helpdesk_agent",
        "billing_admin",
        "other",
    ]
    .into_iter()
    .map(|role| Case {
        partner: Box::leak(format!("role: {role}").into_boxed_str()),
        ..case("service: license_based, channel: open")
    })
    .collect();
    let t = table(&cases);
    // Only the three roles the page names may proceed.
    assert_eq!(t.matches("insufficient_role").count(), 4);
    insta::assert_snapshot!(t);
}

#[test]
fn csp_partner_customers() {
    let mut cases = Vec::new();
    for customer in
        ["is_csp_partner: true", "is_csp_partner: true, csp_transaction_tenant: false", "csp_transaction_tenant: false"]
    {
        for sub in ["service: usage_based, channel: advisor", "service: license_based, channel: open"] {
            cases.push(Case { customer, ..case(sub) });
        }
    }
    insta::assert_snapshot!(table(&cases));
}

#[test]
fn clouds_and_partner_types() {
    let subs = [
        "service: license_based, channel: advisor",
        "service: license_based, channel: csp_partner, term_end: 2024-06-30",
        "service: license_based, channel: csp_partner, term_end: 2024-01-31",
        "service: usage_based, channel: enterprise_agreement",
        "service: usage_based, channel: csp_partner",
    ];
    let mut cases = Vec::new();
    for customer in ["cloud: commercial", "cloud: us_government"] {
        for partner in ["type: direct_bill", "type: indirect_provider", "type: indirect_reseller"] {
            for sub in subs {
                cases.push(Case { partner, customer, ..case(sub) });
            }
        }
    }
    insta::assert_snapshot!(table(&cases));
}

#[test]
fn date_boundaries() {
    let third_party = |term: &str| format!("service: license_based, channel: non_csp_third_party, term_end: {term}");
    let cases = vec![
        // The term-end day itself still belongs to the term.
        case(&third_party("2024-03-15")),
        case(&third_party("2024-03-14")),
        case(&third_party("2024-03-16")),
        // Leap day: the day before, on it, and after it.
        Case { as_of: "2024-02-28", ..case(&third_party("2024-02-29")) },
        Case { as_of: "2024-02-29", ..case(&third_party("2024-02-29")) },
        Case { as_of: "2024-03-01", ..case(&third_party("2024-02-29")) },
        Case { as_of: "2024-02-29", ..case(&third_party("2025-02-28")) },
        // Cancelled: the term no longer matters, even when it is absent.
        case("service: license_based, channel: csp_partner, cancelled: true, term_end: 2024-12-31"),
        case("service: license_based, channel: csp_partner, cancelled: true"),
        // Not cancelled and no term end: the policy cannot decide, and says which fact is missing.
        case("service: license_based, channel: csp_partner"),
        case("service: license_based, channel: non_csp_third_party, cancelled: false"),
        // Azure from a CSP partner ignores the term.
        case("service: usage_based, channel: csp_partner, term_end: 2020-01-01"),
    ];
    let t = table(&cases);
    assert!(t.contains("days_left=0"), "the last day counts as running:\n{t}");
    assert_eq!(t.matches("needs `subscription.term_end`").count(), 2);
    insta::assert_snapshot!(t);
}

#[test]
fn policy_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
}
