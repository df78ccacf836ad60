//! Dated rules: `in force from DATE until DATE` on a rule or a block of rules is exactly a
//! condition on `as_of`, seen as such by evaluation, the decision diagram, `check` and witnesses,
//! while `explain` and the library name the period in words. Also: the shipped policy's two
//! periods, through the library and the binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../benches/common/mod.rs"]
mod common;
mod util;

use std::time::Duration;

use handover::facts::Format;
use handover::language::period::Period;
use handover::{Date, LoadError, Policy};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const GUARD: Duration = Duration::from_secs(120);

fn day(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn load(text: &str) -> Policy {
    Policy::from_text("dated.handover", text).map_err(|e| e.render(false)).unwrap()
}

/// The codes of the diagnostics a policy that does not load gets.
fn load_errors(text: &str) -> Vec<(String, String)> {
    match Policy::from_text("dated.handover", text) {
        Ok(_) => panic!("the policy loaded"),
        Err(LoadError::Invalid { diagnostics, .. }) => {
            diagnostics.iter().map(|d| (d.code.to_string(), d.message.clone())).collect()
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// Decides one entry of `facts` (YAML) on `as_of`: (action, rule), or the error; the decision
/// diagram and the rule-by-rule interpreter must agree.
fn decide(policy: &Policy, facts: &str, as_of: &str) -> Result<(String, String), String> {
    let docs = handover::facts::parse(policy.schema(), facts, Format::Yaml, "facts.yaml");
    let doc = docs.first().unwrap();
    let shared = doc.shared.as_ref().unwrap();
    let item = doc.entries.first().unwrap().values.as_ref().unwrap();
    let a = policy.evaluate(shared, item, day(as_of));
    let b = policy.evaluate_interpreted(shared, item, day(as_of));
    let show = |r: Result<handover::Verdict<'_>, handover::eval::EvalError>| {
        r.map(|v| (v.action().to_string(), v.rule_id().to_string())).map_err(|e| policy.describe_error(&e))
    };
    let (a, b) = (show(a), show(b));
    assert_eq!(a, b, "diagram and interpreter disagree on {as_of}");
    a
}

/// A policy of two periods: `old` until 2024-08-31, `new` from 2024-09-01, one block each.
const TWO_PERIODS: &str = r#"
enum Kind { a, b }
facts f { kind: Kind }
each item in items { id: text @key, due: date? }
action go(days: int) "Go."
action stop "Stop."

in force until 2024-08-31 {
    rule old_a { when f.kind == a then go(days: 1) reason "old a" source "the old page" }
    rule old_rest { then stop reason "old rest" }
}

in force from 2024-09-01 {
    rule new_a {
        when f.kind == a
        then go(days: as_of - 2024-09-01)
        reason "new a"
        source "the new page"
    }
    rule new_rest { then stop reason "new rest" }
}
"#;

const KIND_A: &str = "f: { kind: a }\nitems: [{ id: x }]\n";

#[test]
fn a_period_decides_by_as_of_with_both_days_included() {
    let p = load(TWO_PERIODS);
    assert_eq!(decide(&p, KIND_A, "2000-01-01").unwrap().1, "old_a");
    assert_eq!(decide(&p, KIND_A, "2024-08-31").unwrap().1, "old_a");
    assert_eq!(decide(&p, KIND_A, "2024-09-01").unwrap().1, "new_a");
    assert_eq!(decide(&p, KIND_A, "9999-12-31").unwrap().1, "new_a");
    let kind_b = "f: { kind: b }\nitems: [{ id: x }]\n";
    assert_eq!(decide(&p, kind_b, "2024-08-31").unwrap().1, "old_rest");
    assert_eq!(decide(&p, kind_b, "2024-09-01").unwrap().1, "new_rest");
}

#[test]
fn the_period_stays_on_the_rule_for_tools() {
    let p = load(TWO_PERIODS);
    assert_eq!(p.rule_period("old_a"), Some(Period { from: None, until: Some(day("2024-08-31")) }));
    assert_eq!(p.rule_period("new_rest"), Some(Period { from: Some(day("2024-09-01")), until: None }));
    assert_eq!(p.rule_period("nope"), None);
    let undated = load("action stop \"Stop.\"\nrule r { then stop reason \"x\" }\n");
    assert_eq!(undated.rule_period("r"), Some(Period::ALWAYS));

    let docs = handover::facts::parse(p.schema(), KIND_A, Format::Yaml, "facts.yaml");
    let doc = docs.first().unwrap();
    let (shared, item) = (doc.shared.as_ref().unwrap(), doc.entries[0].values.as_ref().unwrap());
    let v = p.evaluate(shared, item, day("2024-09-03")).unwrap();
    assert_eq!(v.period().to_string(), "from 2024-09-01");
    assert_eq!(v.citation(), Some("the new page"));
    // A parameter reading `as_of` still sees the evaluation date.
    assert_eq!(v.param("days").map(|d| d.to_string()).as_deref(), Some("2"));
}

#[test]
fn a_rule_narrows_the_period_of_its_block() {
    let p = load(
        r#"
        action go "Go."
        action stop "Stop."
        in force from 2024-01-01 until 2024-12-31 {
            rule summer { in force from 2024-06-01 until 2025-06-30 then go reason "summer" }
            rule year { then stop reason "year" }
        }
        rule other { then stop reason "any other day" }
        "#,
    );
    assert_eq!(p.rule_period("summer"), Some(Period { from: Some(day("2024-06-01")), until: Some(day("2024-12-31")) }));
    let facts = "{}";
    let empty_entry = |as_of: &str| {
        let docs = handover::facts::parse(p.schema(), facts, Format::Yaml, "f");
        let doc = docs.first().unwrap();
        let v = p.evaluate(doc.shared.as_ref().unwrap(), &[], day(as_of)).unwrap();
        v.rule_id().to_string()
    };
    assert_eq!(empty_entry("2024-05-31"), "year");
    assert_eq!(empty_entry("2024-06-01"), "summer");
    assert_eq!(empty_entry("2024-12-31"), "summer");
    assert_eq!(empty_entry("2025-01-01"), "other");
    assert_eq!(empty_entry("2023-12-31"), "other");
}

#[test]
fn a_period_that_ends_before_it_starts_is_an_error_with_its_code() {
    let errors = load_errors(
        "action stop \"Stop.\"\nrule r { in force from 2024-09-01 until 2024-08-31 then stop reason \"x\" }\n",
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "check::empty-period");
    assert!(errors[0].1.contains("rule `r` is never in force"), "{}", errors[0].1);
    assert!(errors[0].1.contains("from 2024-09-01 until 2024-08-31"), "{}", errors[0].1);

    // A rule whose own period lies outside its block's holds on no day either.
    let errors = load_errors(
        "action stop \"Stop.\"\nin force until 2024-08-31 {\n  rule r { in force from 2024-09-01 then stop reason \"x\" }\n}\n\
         rule s { then stop reason \"y\" }\n",
    );
    assert_eq!(errors.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["check::empty-period"]);

    // One day is a period.
    let p = load(
        "action stop \"Stop.\"\nrule r { in force from 2024-09-01 until 2024-09-01 then stop reason \"x\" }\nrule s { then stop reason \"y\" }\n",
    );
    assert_eq!(p.rule_period("r").map(|r| r.to_string()).as_deref(), Some("from 2024-09-01 until 2024-09-01"));
}

#[test]
fn the_period_keywords_stay_usable_as_names() {
    let p = load(
        r#"
        facts g { from: date, force: bool }
        action wait(until: date) "Wait."
        rule r { in force until 2030-01-01 when g.force then wait(until: g.from) reason "x" }
        rule s { then wait(until: as_of) reason "y" }
        "#,
    );
    assert_eq!(p.rule_ids().collect::<Vec<_>>(), ["r", "s"]);
}

#[test]
fn a_gap_in_one_period_has_a_witness_dated_in_that_period() {
    // The new period forgets kind `b`.
    let p = load(&TWO_PERIODS.replace("    rule new_rest { then stop reason \"new rest\" }\n", ""));
    let a = p.analyze(5);
    assert!(a.exhaustive);
    assert_eq!(a.gap_count, 1, "{:?}", a.gaps);
    let w = &a.gaps[0].witness;
    assert!(w.as_of >= day("2024-09-01"), "witness dated {} is not in the new period", w.as_of);
    // The witness really is a gap.
    let doc = w.to_document(p.schema());
    assert!(doc.contains("kind: b"), "{doc}");
    let err = decide(&p, "f: { kind: b }\nitems: [{ id: x }]\n", &w.as_of.to_string()).unwrap_err();
    assert!(err.contains("no rule matched"), "{err}");
    // The old period has no gap: the day before the change is decided.
    assert!(decide(&p, "f: { kind: b }\nitems: [{ id: x }]\n", "2024-08-31").is_ok());
}

#[test]
fn a_rule_shadowed_within_its_period_is_dead_and_disjoint_periods_do_not_overlap() {
    let p = load(&TWO_PERIODS.replace(
        "    rule new_rest { then stop reason \"new rest\" }\n",
        "    rule new_rest { then stop reason \"new rest\" }\n    rule never { in force from 2025-01-01 then go(days: 0) reason \"late\" }\n",
    ));
    let a = p.analyze(5);
    let ids: Vec<&str> = p.rule_ids().collect();
    let dead: Vec<&str> = a.dead.iter().map(|d| ids[d.rule]).collect();
    assert_eq!(dead, ["never"]);
    let shadow: Vec<&str> = a.dead[0].shadowed_by.iter().map(|r| ids[*r]).collect();
    assert_eq!(shadow, ["new_rest"]);
    // `old_rest` and `new_rest` both catch everything, in different periods: no overlap reported.
    for o in &a.overlaps {
        let pair = (ids[o.first], ids[o.second]);
        assert!(pair != ("old_rest", "new_rest") && pair != ("old_a", "new_a"), "{pair:?} overlap");
        assert!(p.rule_period(pair.0).unwrap().contains(o.witness.as_of));
        assert!(p.rule_period(pair.1).unwrap().contains(o.witness.as_of));
    }
}

#[test]
fn explain_says_a_rule_is_not_in_force_in_words() {
    let p = load(TWO_PERIODS);
    let docs = handover::facts::parse(p.schema(), KIND_A, Format::Yaml, "facts.yaml");
    let doc = docs.first().unwrap();
    let (shared, item) = (doc.shared.as_ref().unwrap(), doc.entries[0].values.as_ref().unwrap());
    let x = p.explain(shared, item, day("2024-09-01"));
    assert_eq!(x.rule.as_deref(), Some("new_a"));
    let old_a = &x.rules[0];
    assert_eq!(old_a.rule, "old_a");
    assert_eq!(old_a.matched, Some(false));
    assert_eq!(old_a.conditions[0].text, "not in force on 2024-09-01 (holds until 2024-08-31)");
    assert_eq!(old_a.conditions[0].value, Some(false));
    // The rule's own condition is not tried on a day it is not in force.
    assert_eq!(old_a.conditions[1].text, "f.kind == a");
    assert_eq!(old_a.conditions[1].value, None);
    let new_a = x.rules.iter().find(|r| r.rule == "new_a").unwrap();
    assert_eq!(new_a.conditions[0].text, "in force on 2024-09-01 (holds from 2024-09-01)");
    assert_eq!(new_a.period, p.rule_period("new_a"));
    // A rule without a condition of its own still shows its period.
    let x = p.explain(shared, item, day("2024-08-31"));
    assert_eq!(x.rules.len(), 1);
    assert_eq!(x.rules[0].conditions[0].text, "in force on 2024-08-31 (holds until 2024-08-31)");
}

#[test]
fn fmt_round_trips_periods_blocks_and_their_comments() {
    let text = "action stop \"Stop.\"\n# the old rules\nin force   until 2024-08-31{ # old\n# first\nrule a { in force from 2024-01-01 then stop reason \"a\" }\nrule b {then stop reason \"b\"}\n}\nrule c { in force\n from 2024-09-01 until 2025-01-01 then stop reason \"c\" }\n";
    let once = handover::language::fmt::format_text(text).unwrap();
    assert_eq!(
        once,
        "action stop\n    \"Stop.\"\n\n# the old rules\nin force until 2024-08-31 {  # old\n    # first\n    rule a {\n        in force from 2024-01-01\n        then stop\n        reason \"a\"\n    }\n\n    rule b {\n        then stop\n        reason \"b\"\n    }\n}\n\nrule c {\n    in force from 2024-09-01 until 2025-01-01\n    then stop\n    reason \"c\"\n}\n"
    );
    assert_eq!(handover::language::fmt::format_text(&once).unwrap(), once, "formatting is idempotent");
    let (before, after) = (
        handover::language::parser::parse_file(0, text).unwrap(),
        handover::language::parser::parse_file(0, &once).unwrap(),
    );
    assert_eq!(before, after, "formatting keeps the syntax tree");
    assert_eq!(after.blocks.len(), 1);
    assert_eq!(after.rules.iter().filter(|r| r.block.is_some()).count(), 2);
}

#[test]
fn the_shipped_rules_are_formatted() {
    for name in ["multichannel.handover", "since-2024.handover"] {
        let text = std::fs::read_to_string(format!("{ROOT}/rules/{name}")).unwrap();
        assert_eq!(handover::language::fmt::format_text(&text).unwrap(), text, "{name} is not in the canonical layout");
    }
}

// ---- the shipped policy's two periods ---------------------------------------------------------

/// Every combination of the facts a 2020 fact file can give, as one YAML document each.
fn fact_files_of_2020() -> Vec<String> {
    let roles = ["global_admin", "user_management_admin", "sales_agent", "admin_agent", "helpdesk_agent"];
    let types = ["direct_bill", "indirect_provider", "indirect_reseller"];
    let clouds = ["commercial", "us_government"];
    let customers =
        ["is_csp_partner: false", "is_csp_partner: true", "is_csp_partner: true, csp_transaction_tenant: false"];
    let channels = common::CHANNELS;
    let subs = ["", ", cancelled: true", ", term_end: 2024-08-30", ", term_end: 2024-08-31", ", term_end: 2025-06-30"];
    let mut out = Vec::new();
    for role in roles {
        for ty in types {
            for cloud in clouds {
                for customer in customers {
                    for service in ["license_based", "usage_based"] {
                        for channel in channels {
                            for sub in subs {
                                out.push(format!(
                                    "partner: {{ role: {role}, type: {ty} }}\ncustomer: {{ cloud: {cloud}, {customer} }}\n\
                                     subscriptions: [{{ id: s, service: {service}, channel: {channel}{sub} }}]\n"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// The 2020 rules alone, as they were before the new ones: the shipped schema and actions, and
/// `multichannel.handover` with its period opened to every day.
fn rules_of_2020_undated() -> Policy {
    let mut sources = handover::source::Sources::new();
    for name in ["actions.handover", "schema.handover", "multichannel.handover"] {
        let text = std::fs::read_to_string(format!("{ROOT}/rules/{name}")).unwrap();
        let text = text.replace("in force until 2024-08-31 {", "in force until 9999-12-31 {");
        sources.add(name, text);
    }
    Policy::from_sources(sources).map_err(|e| e.render(false)).unwrap()
}

#[test]
fn before_2024_09_01_every_2020_fact_file_is_decided_as_before() {
    let shipped = Policy::builtin().unwrap();
    let old = rules_of_2020_undated();
    let files = fact_files_of_2020();
    assert_eq!(files.len(), 7200);
    for as_of in ["2020-06-17", "2024-03-15", "2024-08-30", "2024-08-31"] {
        for facts in &files {
            let now = shipped.evaluate_text(facts, Format::Yaml, "f", Some(day(as_of)), day(as_of));
            let then = old.evaluate_text(facts, Format::Yaml, "f", Some(day(as_of)), day(as_of));
            let show = |r: &Vec<(Date, handover::Record)>| {
                serde_json::to_string(&r.iter().map(|(_, r)| r).collect::<Vec<_>>()).unwrap()
            };
            assert_eq!(show(&now), show(&then), "as of {as_of}:\n{facts}");
        }
    }
}

#[test]
fn from_2024_09_01_the_new_rules_decide() {
    let shipped = Policy::builtin().unwrap();
    let new_rules: Vec<&str> =
        shipped.rule_ids().filter(|id| shipped.rule_period(id).unwrap().from.is_some()).collect();
    assert_eq!(new_rules.len(), 12);
    for facts in fact_files_of_2020().iter().step_by(7) {
        for as_of in ["2024-09-01", "2026-11-30"] {
            for (_, record) in shipped.evaluate_text(facts, Format::Yaml, "f", Some(day(as_of)), day(as_of)) {
                if let Ok(d) = &record.outcome {
                    assert!(new_rules.contains(&d.rule.as_str()), "{} decided on {as_of}:\n{facts}", d.rule);
                }
            }
        }
    }
    for id in shipped.rule_ids() {
        let period = shipped.rule_period(id).unwrap();
        assert!(!period.is_always(), "shipped rule `{id}` has no period");
        assert!(period.contains(day("2024-08-31")) != period.contains(day("2024-09-01")), "`{id}` spans the change");
    }
}

#[test]
fn the_shipped_policy_is_complete_in_both_periods_with_every_rule_cited() {
    let out =
        util::run_in(std::path::Path::new(ROOT), &["check", "--rules", "rules", "--deny", "warnings"], b"", GUARD);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", util::report(&out));
    assert!(stdout.contains("complete (every fact combination is decided), no dead rules"), "{stdout}");
    let shipped = Policy::builtin().unwrap();
    let a = shipped.analyze(5);
    assert!(a.exhaustive && a.gap_count == 0 && a.dead.is_empty());
    // Every rule decides some region, and has its citation.
    assert!(a.regions_per_rule.iter().all(|n| *n > 0), "{:?}", a.regions_per_rule);
    for text in ["multichannel.handover", "since-2024.handover"] {
        let text = std::fs::read_to_string(format!("{ROOT}/rules/{text}")).unwrap();
        let ast = handover::language::parser::parse_file(0, &text).unwrap();
        for r in &ast.rules {
            assert!(r.source.as_ref().is_some_and(|s| !s.is_empty()), "rule `{}` has no `source`", r.id.node);
        }
    }
}

#[test]
fn the_binary_decides_both_sides_of_the_change() {
    let facts = "partner: { role: admin_agent }\nsubscriptions:\n  - { id: m365, service: license_based, channel: csp_partner, term_end: 2025-06-30 }\n  - { id: azure, service: usage_based, channel: csp_partner }\n";
    let dir = util::Scratch::new("dated", &[("f.yaml", facts.as_bytes())]);
    let eval = |as_of: &str| {
        let out = util::run_in(dir.path(), &["eval", "f.yaml", "--as-of", as_of, "--format", "json"], b"", GUARD);
        assert_eq!(out.status.code(), Some(0), "{}", util::report(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let before = eval("2024-08-31");
    assert!(
        before.contains("\"action\":\"insufficient_role\"") || before.contains("\"action\": \"insufficient_role\""),
        "{before}"
    );
    assert!(!before.contains("request_partner_transfer"), "{before}");
    let after = eval("2025-03-01");
    assert_eq!(after.matches("request_partner_transfer").count(), 2, "{after}");
    assert!(after.contains("license_partner_transfer") && after.contains("azure_partner_transfer"), "{after}");

    let out = util::run_in(dir.path(), &["explain", "f.yaml", "--as-of", "2025-03-01", "--id", "m365"], b"", GUARD);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", util::report(&out));
    // The nine 2020 rules are not read on that date: one line names them.
    assert!(text.contains("1–9. 9 rules not in force on 2025-03-01 (they hold until 2024-08-31):"), "{text}");
    assert!(text.contains("role_not_allowed, csp_customer_transaction_tenant,"), "{text}");
    assert!(text.contains("in force on 2025-03-01 (holds from 2024-09-01)"), "{text}");
}

#[test]
fn the_binary_reports_an_empty_period_and_a_dated_gap() {
    let dir = util::Scratch::new(
        "dated-check",
        &[
            (
                "empty.handover",
                b"action stop \"Stop.\"\nrule r { in force from 2025-01-01 until 2024-01-01 then stop reason \"x\" }\n",
            ),
            ("gap.handover", b"action stop \"Stop.\"\nrule r { in force until 2024-08-31 then stop reason \"x\" }\n"),
        ],
    );
    let out = util::run_in(dir.path(), &["check", "--rules", "empty.handover"], b"", GUARD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", util::report(&out));
    assert!(err.contains("check::empty-period") && err.contains("rule `r` is never in force"), "{err}");

    let out = util::run_in(dir.path(), &["check", "--rules", "gap.handover"], b"", GUARD);
    let all = util::report(&out);
    assert!(all.contains("check::gap"), "{all}");
    assert!(all.contains("as_of: 2024-09-01"), "the witness is the first day without a rule: {all}");
}

#[test]
fn the_dated_shipped_policy_is_still_decided_through_the_decision_diagram() {
    let shipped = Policy::builtin().unwrap();
    let old = rules_of_2020_undated();
    let (new_size, old_size) = (shipped.diagram_size(), old.diagram_size());
    eprintln!("decision diagram nodes: both periods {new_size:?}, the 2020 rules alone {old_size:?}");
    let (Some(new_size), Some(old_size)) = (new_size, old_size) else {
        panic!("no diagram: {:?} / {:?}", shipped.no_diagram(), old.no_diagram())
    };
    // Two periods of about the same rules: the period is one more split on `as_of`, not a blow-up.
    assert!(new_size <= 4 * old_size, "{new_size} nodes for both periods, {old_size} for the 2020 rules");
}

#[test]
fn a_misplaced_period_or_block_content_is_a_syntax_error_saying_where_it_goes() {
    let help_of = |text: &str| match Policy::from_text("dated.handover", text) {
        Err(LoadError::Invalid { diagnostics, .. }) => {
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            assert_eq!(diagnostics[0].code, "parse::syntax");
            (diagnostics[0].message.clone(), diagnostics[0].help.clone().unwrap_or_default())
        }
        other => panic!("expected a syntax error, got {:?}", other.map(|_| ())),
    };
    let (message, help) =
        help_of("action stop \"S.\"\nrule r { when true in force from 2024-01-01 then stop reason \"x\" }\n");
    assert!(message.contains("found `force`"), "{message}");
    assert!(help.contains("comes first in its body"), "{help}");
    let (message, help) = help_of("action stop \"S.\"\nin force from 2024-01-01 { action go \"G.\" }\n");
    assert!(message.contains("found `action`"), "{message}");
    assert!(help.contains("holds rules only"), "{help}");
    let (_, help) = help_of("action stop \"S.\"\nin force from 2024-01-01 { in force until 2025-01-01 { } }\n");
    assert!(help.contains("do not nest blocks"), "{help}");
    let (message, _) = help_of("action stop \"S.\"\nrule r { in force then stop reason \"x\" }\n");
    assert!(message.contains("expected `from` or `until`, found `then`"), "{message}");
    let (message, _) =
        help_of("action stop \"S.\"\nrule r { in force from 2024-01-01 until then stop reason \"x\" }\n");
    assert!(message.contains("expected a date (YYYY-MM-DD), found `then`"), "{message}");
}

#[test]
fn the_decision_diagram_agrees_with_the_interpreter_on_every_day_around_the_change() {
    let shipped = Policy::builtin().unwrap();
    assert!(shipped.diagram_size().is_some());
    let days = ["2020-01-01", "2024-08-30", "2024-08-31", "2024-09-01", "2024-09-02", "2025-06-30", "2025-07-01"];
    for facts in fact_files_of_2020().iter().step_by(3) {
        let docs = handover::facts::parse(shipped.schema(), facts, Format::Yaml, "f");
        let doc = docs.first().unwrap();
        let shared = doc.shared.as_ref().unwrap();
        for entry in &doc.entries {
            let item = entry.values.as_ref().unwrap();
            for as_of in days {
                let show = |r: Result<handover::Verdict<'_>, handover::eval::EvalError>| {
                    r.map(|v| handover::Decision::from_verdict(&v)).map_err(|e| shipped.describe_error(&e))
                };
                let diagram = show(shipped.evaluate(shared, item, day(as_of)));
                let interpreted = show(shipped.evaluate_interpreted(shared, item, day(as_of)));
                assert_eq!(diagram, interpreted, "as of {as_of}:\n{facts}");
            }
        }
    }
}
