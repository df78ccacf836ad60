#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The code generator (`handover::codegen`, `handover compile --emit rust`): the generated code
//! decides exactly as the interpreter does — the same verdict, parameters, rule and reason, or
//! the same error code, rule and message — on random facts for the shipped policy and for a
//! policy that uses every part of the language; the committed generated files are current; a
//! dependent crate's `build.rs` generates and uses it; policy errors are build errors.

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use handover::codegen::{Builder, Error, Options, generate};
use handover::{Date, Decision, Policy};
use proptest::prelude::*;

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/common/generated.rs"]
mod generated;
mod util;

#[allow(dead_code, clippy::all)]
mod shipped {
    include!("codegen/shipped.rs");
}

#[allow(dead_code, clippy::all)]
mod features {
    include!("codegen/features.rs");
}

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn features_policy() -> Policy {
    Policy::from_path(format!("{ROOT}/tests/codegen/features.handover")).unwrap()
}

/// One entry's outcome in a form both sides can give: the verdict as JSON (`action`, the
/// parameters, `rule`) with the reason, or the error's code, rule and message.
#[derive(Debug, PartialEq)]
enum Outcome {
    Verdict(serde_json::Value, String),
    Error { code: String, rule: Option<String>, message: String },
}

/// What the interpreter decides for every entry of `doc` (a value of a generated `Document`).
fn interpreted(policy: &Policy, doc: &impl serde::Serialize, as_of: NaiveDate) -> Vec<Outcome> {
    let facts = handover::facts::from_value(policy.schema(), doc, "generated");
    let shared = facts.shared.unwrap_or_else(|e| panic!("the generated document is valid: {e:?}"));
    facts
        .entries
        .iter()
        .map(|entry| {
            let item = entry.values.as_ref().unwrap_or_else(|e| panic!("valid entry: {e:?}"));
            match policy.evaluate(&shared, item, Date::from_naive(as_of)) {
                Ok(v) => {
                    let d = Decision::from_verdict(&v);
                    let mut json = serde_json::Map::new();
                    json.insert("action".into(), d.action.into());
                    json.extend(d.params);
                    json.insert("rule".into(), d.rule.into());
                    Outcome::Verdict(json.into(), d.reason)
                }
                Err(e) => Outcome::Error {
                    code: e.kind.code().to_string(),
                    rule: e.rule.map(|r| policy.rule_ids().nth(r).unwrap().to_string()),
                    message: policy.describe_error(&e),
                },
            }
        })
        .collect()
}

macro_rules! generated_outcomes {
    ($module:ident, $doc:expr, $as_of:expr) => {
        $doc.decide($as_of)
            .map(|(_, r)| match r {
                Ok(v) => Outcome::Verdict(serde_json::to_value(&v).unwrap(), v.reason().to_string()),
                Err(e) => Outcome::Error {
                    code: e.kind.code().to_string(),
                    rule: e.rule.map(|r| r.id().to_string()),
                    message: e.to_string(),
                },
            })
            .collect::<Vec<_>>()
    };
}

fn date(days_from_2024: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(days_from_2024)
}

fn shipped_document() -> impl Strategy<Value = shipped::Document> {
    use shipped::*;
    let partner = (0..Role::ALL.len(), 0..PartnerType::ALL.len(), any::<bool>()).prop_map(|(r, t, b)| Partner {
        role: Role::ALL[r],
        r#type: PartnerType::ALL[t],
        azure_billing_transfer: b,
    });
    let customer = (proptest::option::of("[a-z]{1,8}"), 0..Cloud::ALL.len(), any::<bool>(), any::<bool>()).prop_map(
        |(name, c, csp, tenant)| Customer {
            name,
            cloud: Cloud::ALL[c],
            is_csp_partner: csp,
            csp_transaction_tenant: tenant,
        },
    );
    let subscription = (
        0..Service::ALL.len(),
        0..Channel::ALL.len(),
        proptest::option::of(-400i64..1200),
        any::<bool>(),
        0..Commerce::ALL.len(),
        any::<bool>(),
    )
        .prop_map(|(s, c, term, cancelled, commerce, ea)| Subscription {
            id: String::new(),
            offer: None,
            service: Service::ALL[s],
            channel: Channel::ALL[c],
            term_end: term.map(date),
            cancelled,
            commerce: Commerce::ALL[commerce],
            ea_direct: ea,
        });
    (partner, customer, proptest::collection::vec(subscription, 1..6)).prop_map(|(partner, customer, mut subs)| {
        for (i, s) in subs.iter_mut().enumerate() {
            s.id = format!("s{i}");
        }
        Document { as_of: None, partner, customer, subscriptions: subs }
    })
}

fn features_document() -> impl Strategy<Value = features::Document> {
    use features::*;
    let int = prop_oneof![-5i64..5, 990i64..1010, Just(i64::MAX), Just(i64::MIN), any::<i64>()];
    let text = prop_oneof![Just("acme".to_string()), Just("ok".to_string()), Just("basic".to_string()), "[a-z]{0,4}"];
    let region = prop_oneof![Just(Region::North), Just(Region::South)];
    let tier = (0..Tier::ALL.len()).prop_map(|t| Tier::ALL[t]);
    let account = (
        (proptest::option::of(text.clone()), tier, proptest::option::of(region.clone())),
        (int.clone(), proptest::option::of(int.clone()), any::<bool>(), proptest::option::of(any::<bool>())),
        (text.clone(), -400i64..800),
    )
        .prop_map(|((name, tier, region), (seats, limit, trusted, flagged), (kind, opened))| Account {
            name,
            tier,
            region,
            seats,
            limit,
            trusted,
            flagged,
            r#type: kind,
            opened: date(opened),
        });
    let order = (
        (
            int.clone(),
            proptest::option::of(prop_oneof![
                (-400i64..800).prop_map(date),
                Just(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()),
                Just(NaiveDate::from_ymd_opt(1, 1, 1).unwrap())
            ]),
        ),
        (proptest::option::of(text), any::<bool>(), region, int),
    )
        .prop_map(|((amount, due), (note, express, region, grace))| Order {
            id: String::new(),
            amount,
            due,
            note,
            express,
            region,
            grace,
        });
    (account, proptest::collection::vec(order, 1..5)).prop_map(|(account, mut orders)| {
        for (i, o) in orders.iter_mut().enumerate() {
            o.id = format!("o{i}");
        }
        Document { as_of: None, account, orders }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The shipped policy, on both sides of its 2024-09-01 change.
    #[test]
    fn generated_code_decides_the_shipped_policy_as_the_interpreter(doc in shipped_document(), day in -300i64..900) {
        let policy = Policy::builtin().unwrap();
        let as_of = date(day);
        let expected = interpreted(&policy, &doc, as_of);
        prop_assert_eq!(generated_outcomes!(shipped, doc, as_of), expected);
    }

    /// Every kind of expression, absent facts, overflow and dates off the calendar.
    #[test]
    fn generated_code_decides_every_construct_as_the_interpreter(doc in features_document(), day in -400i64..900) {
        let policy = features_policy();
        let as_of = date(day);
        let expected = interpreted(&policy, &doc, as_of);
        prop_assert_eq!(generated_outcomes!(features, doc, as_of), expected);
    }
}

/// The cross-check above is only worth something if the random facts reach every rule and
/// every error: count what the features policy's generated code gave on a fixed sample.
#[test]
fn the_random_facts_reach_every_rule_and_every_error_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (features_document(), -400i64..900);
    let mut rules = std::collections::BTreeSet::new();
    let mut codes = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let (doc, day) = strategy.new_tree(&mut runner).unwrap().current();
        for (_, r) in doc.decide(date(day)) {
            match r {
                Ok(v) => rules.insert(v.rule().id()),
                Err(e) => codes.insert(e.kind.code()),
            };
        }
    }
    let all: std::collections::BTreeSet<_> = features::Rule::ALL.iter().map(|r| r.id()).collect();
    assert_eq!(rules, all, "rules never deciding in the sample");
    let errors: std::collections::BTreeSet<_> =
        ["eval::absent-fact", "eval::overflow", "eval::date-out-of-range"].into_iter().collect();
    assert_eq!(codes, errors);
}

/// The typed API: constructors with the policy's defaults, enums from their names, the
/// verdict's typed parameters, the rule's reason, citation and period.
#[test]
fn the_generated_api_reads_like_the_policy() {
    use shipped::*;
    let partner = Partner::new(Role::SalesAgent);
    assert_eq!(partner.r#type, PartnerType::DirectBill, "the policy's default");
    let customer = Customer::new();
    let mut sub = Subscription::new("s1".into(), Service::LicenseBased, "csp_partner".parse().unwrap());
    sub.term_end = NaiveDate::from_ymd_opt(2024, 6, 30);
    let v = decide(&partner, &customer, &sub, NaiveDate::from_ymd_opt(2024, 3, 15).unwrap()).unwrap();
    let Verdict::WaitForTermEndOrCancel { until, days_left, disable_auto_renew, rule } = v else { panic!("{v:?}") };
    assert_eq!((until, days_left, disable_auto_renew), (NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(), 107, true));
    assert_eq!(rule, Rule::LicenseElsewhereTermRunning);
    assert_eq!(rule.in_force(), (None, NaiveDate::from_ymd_opt(2024, 8, 31)));
    assert!(rule.source().unwrap().contains("Multi-channel"));
    assert_eq!(v.action(), "wait_for_term_end_or_cancel");
    assert_eq!("nope".parse::<Channel>().unwrap_err().to_string(), "`nope` is not a value of `Channel`");
    // An absent fact the rule reads is the interpreter's error, with its message.
    sub.term_end = None;
    let e = decide(&partner, &customer, &sub, NaiveDate::from_ymd_opt(2024, 3, 15).unwrap()).unwrap_err();
    assert_eq!(e.kind.code(), "eval::absent-fact");
    assert_eq!(
        e.to_string(),
        "rule `license_elsewhere_term_running` needs `subscription.term_end`, which has no value; give `subscription.term_end` or have the rule test `present(subscription.term_end)` first"
    );
    // A fact file reads straight into the generated types (serde), defaults filled in.
    let doc: Document = serde_json::from_str(
        r#"{"partner": {"role": "global_admin"}, "customer": {}, "subscriptions": [{"id": "a", "service": "usage_based", "channel": "open"}]}"#,
    )
    .unwrap();
    assert_eq!(doc.subscriptions[0].commerce, Commerce::NewCommerce);
    // A group whose facts all have defaults may be left out, as in a fact file.
    let doc: Document = serde_json::from_str(
        r#"{"partner": {"role": "global_admin"}, "subscriptions": [{"id": "a", "service": "usage_based", "channel": "open"}]}"#,
    )
    .unwrap();
    assert_eq!(doc.customer, Customer::new());
    assert!(serde_json::from_str::<Partner>(r#"{"role": "global_admin", "typo": 1}"#).is_err());
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap()
}

#[test]
fn the_committed_generated_files_are_current() {
    let shipped = generate(&Policy::builtin().unwrap(), Options { serde: true }).unwrap();
    assert_eq!(
        committed("tests/codegen/shipped.rs"),
        shipped,
        "tests/codegen/shipped.rs is stale: run `handover compile --emit rust --serde -o tests/codegen/shipped.rs`"
    );
    let features = generate(&features_policy(), Options { serde: true }).unwrap();
    assert_eq!(
        committed("tests/codegen/features.rs"),
        features,
        "tests/codegen/features.rs is stale: run `handover compile --emit rust --serde --rules tests/codegen/features.handover -o tests/codegen/features.rs`"
    );
    for code in [&shipped, &features] {
        assert!(!code.contains("unsafe"), "no unsafe code");
        // Formatted: the formatter gives the same text back.
        let body = code.split_once("\n\n").unwrap().1;
        assert_eq!(prettyplease::unparse(&syn::parse_file(body).unwrap()), body);
    }
}

#[test]
fn the_command_prints_what_the_library_generates() {
    let scratch = util::Scratch::new("codegen-compile", &[]);
    let dir = scratch.path();
    let out = util::run_in(dir, &["compile", "--emit", "rust"], b"", std::time::Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", util::report(&out));
    let library = generate(&Policy::builtin().unwrap(), Options::default()).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), library);
    assert!(!library.contains("serde"), "no serde without --serde");

    let out = util::run_in(dir, &["compile", "--serde", "-o", "policy.rs"], b"", std::time::Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", util::report(&out));
    assert_eq!(std::fs::read_to_string(dir.join("policy.rs")).unwrap(), committed("tests/codegen/shipped.rs"));
}

/// A policy with errors gives no code: the same diagnostics as `handover check`, exit 2; from a
/// build script, the error prints them.
#[test]
fn a_policy_with_errors_is_a_build_error_with_its_diagnostics() {
    let scratch = util::Scratch::new("codegen-broken", &[]);
    let dir = scratch.path();
    let text = committed("tests/codegen/features.handover").replace("then review", "then reveiw");
    std::fs::write(dir.join("broken.handover"), &text).unwrap();
    let limit = std::time::Duration::from_secs(60);
    let compile = util::run_in(dir, &["compile", "--rules", "broken.handover"], b"", limit);
    let check = util::run_in(dir, &["check", "--rules", "broken.handover"], b"", limit);
    assert_eq!(compile.status.code(), Some(2));
    assert!(compile.stdout.is_empty());
    let compile_err = String::from_utf8(compile.stderr).unwrap();
    assert!(compile_err.contains("reveiw") && compile_err.contains("review"), "{compile_err}");
    assert_eq!(compile_err, String::from_utf8(check.stderr).unwrap(), "the same diagnostics as check");

    let e = Builder::new(dir.join("broken.handover")).generate().unwrap_err();
    assert!(matches!(e, Error::Load(_)));
    let shown = format!("{e:?}");
    assert!(shown.contains("broken.handover:") && shown.contains("did you mean `review`"), "{shown}");
}

#[test]
fn names_that_would_clash_in_rust_are_refused_by_name() {
    let text = committed("tests/codegen/features.handover")
        .replace("enum Region { north, south }", "enum Region { north, south, North }");
    let policy = Policy::from_text("clash.handover", &text).unwrap();
    let e = generate(&policy, Options::default()).unwrap_err();
    assert_eq!(e.code(), "codegen::name-clash");
    assert_eq!(
        e.to_string(),
        "error[codegen::name-clash]: `Region` value `North` and `Region` value `north` both become `North` among the generated variants; rename one of them"
    );
    let text = committed("tests/codegen/features.handover")
        .replace("enum Region", "enum Verdict")
        .replace(": Region", ": Verdict");
    let e = generate(&Policy::from_text("clash.handover", &text).unwrap(), Options::default()).unwrap_err();
    assert!(e.to_string().contains("enum `Verdict` and `Verdict` (generated by handover)"), "{e}");
}

/// examples/typed is a crate of its own whose build.rs generates the shipped policy's code with
/// `handover::codegen::Builder`; its doctest and tests decide typed structs with it. Built here
/// with the toolchain running this test, in a target folder of its own.
#[test]
fn a_dependent_crate_generates_the_code_in_its_build_script_and_uses_it() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = format!("{ROOT}/examples/typed/Cargo.toml");
    let target = format!("{ROOT}/target/typed-example");
    let out = Command::new(cargo)
        .args(["test", "--quiet", "--manifest-path", &manifest])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Its unit test and its doctest ran and passed.
    assert!(stdout.matches("test result: ok").count() >= 2, "{stdout}");
    assert!(!stdout.contains(" 0 passed"), "{stdout}");
    assert!(Path::new(&target).exists());
}

/// A large policy (the load benchmark's 1,000 generated rules) generates: one condition and one
/// verdict function per rule, in valid Rust (the generator parses what it emits).
#[test]
fn a_thousand_rule_policy_generates() {
    let mut sources = handover::source::Sources::new();
    for f in ["schema.handover", "actions.handover"] {
        sources.add(f, committed(&format!("rules/{f}")));
    }
    sources.add("generated.handover", generated::generated_rules(1000));
    let policy = Policy::from_sources(sources).map_err(|e| e.render(false)).unwrap();
    let code = generate(&policy, Options::default()).unwrap();
    assert_eq!(code.matches("\nfn when_r").count(), 999);
    assert_eq!(code.matches("\nfn then_").count(), 1000);
    assert!(code.contains("then_fallback(&facts).map_err(at(Rule::Fallback))\n}"));
}
