//! `check`'s analysis: completeness with witnesses, dead rules with the rules that shadow them,
//! overlaps, and pruning of contradictory date comparisons.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use handover::facts::Format;
use handover::source::Sources;
use handover::{Date, Policy};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn shipped_files() -> Vec<(String, String)> {
    ["actions.handover", "multichannel.handover", "schema.handover", "since-2024.handover"]
        .iter()
        .map(|n| (n.to_string(), std::fs::read_to_string(format!("{ROOT}/rules/{n}")).unwrap()))
        .collect()
}

fn load(files: &[(String, String)]) -> Policy {
    let mut sources = Sources::new();
    for (n, t) in files {
        sources.add(n.clone(), t.clone());
    }
    Policy::from_sources(sources).map_err(|e| e.render(false)).unwrap()
}

/// The shipped policy with `edit` applied to its rules file.
fn shipped_with(edit: impl Fn(&str) -> String) -> (Policy, Vec<(String, String)>) {
    let mut files = shipped_files();
    for (n, t) in &mut files {
        if n == "multichannel.handover" {
            *t = edit(t);
        }
    }
    (load(&files), files)
}

/// The text of `rule ID { ... }`, from its line's indentation through its closing brace (at the
/// same indentation: the rule may be written in an `in force` block) and newline.
fn rule_text<'a>(text: &'a str, id: &str) -> &'a str {
    let at = text.find(&format!("rule {id} {{")).expect("rule exists");
    let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let close = format!("\n{}}}\n", &text[start..at]);
    let end = at + text[at..].find(&close).unwrap() + close.len();
    &text[start..end]
}

/// Runs the `handover` binary without colour.
fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_handover")).args(args).env("NO_COLOR", "1").output().unwrap()
}

fn ids(p: &Policy) -> Vec<String> {
    p.rule_ids().map(str::to_string).collect()
}

#[test]
fn shipped_policy_is_complete_without_dead_rules() {
    let policy = Policy::builtin().unwrap();
    let a = policy.analyze(5);
    assert!(a.exhaustive);
    assert_eq!(a.gap_count, 0, "{:?}", a.gaps);
    assert!(a.dead.is_empty(), "{:?}", a.dead);
    assert!(a.regions_per_rule.iter().all(|n| *n > 0));
    // The only absent reads are the intended ones: a running license term needs its end date
    // (in the 2020 rules, and in those since 2024-09-01).
    assert_eq!(a.absent_reads.len(), 2);
    for (read, rule) in
        a.absent_reads.iter().zip(["license_elsewhere_term_running", "license_elsewhere_term_running_since_2024"])
    {
        assert_eq!(ids(&policy)[read.rule], rule);
        assert_eq!(policy.schema().fields[read.field].path, "subscription.term_end");
    }
    // The guards come first on purpose: every overlap is decided by one of them (since
    // 2024-09-01 also by the transfers, which come before the rules that wait for a term).
    let guards = [
        "role_not_allowed",
        "csp_customer_transaction_tenant",
        "role_not_allowed_since_2024",
        "csp_customer_transaction_tenant_since_2024",
        "transfer_needs_admin_agent",
        "license_partner_transfer",
        "azure_partner_transfer",
        "azure_billing_ownership_transfer",
    ];
    assert!(!a.overlaps.is_empty());
    assert!(a.overlaps.iter().all(|o| guards.contains(&ids(&policy)[o.first].as_str())));
}

#[test]
fn deleting_any_routing_rule_leaves_a_real_gap() {
    let routing = [
        "unknown_channel",
        "syndication",
        "license_from_microsoft_channels",
        "license_elsewhere_term_running",
        "license_elsewhere_term_over",
        "azure_from_other_channels",
        "azure_from_csp_partner",
    ];
    let today = Date::parse("2024-03-15").unwrap();
    for id in routing {
        let (policy, _) = shipped_with(|t| t.replace(rule_text(t, id), ""));
        assert!(!ids(&policy).contains(&id.to_string()));
        let a = policy.analyze(5);
        assert!(a.gap_count > 0, "deleting `{id}` must leave a gap");
        for gap in &a.gaps {
            let doc = gap.witness.to_document(policy.schema());
            let records = policy.evaluate_text(&doc, Format::Yaml, "witness", None, today);
            assert_eq!(records.len(), 1, "{doc}");
            let err = records[0].1.outcome.as_ref().expect_err(&doc);
            assert!(is_gap(err), "without `{id}`, the witness\n{doc}\ngave: {err}");
        }
    }
}

#[test]
fn a_copy_below_its_twin_is_dead_and_names_the_twin() {
    for id in ["syndication", "license_elsewhere_term_running", "azure_from_csp_partner"] {
        let (policy, _) = shipped_with(|t| {
            let original = rule_text(t, id);
            let copy = original.replacen(&format!("rule {id} {{"), &format!("rule {id}_copy {{"), 1);
            t.replacen(original, &format!("{original}\n{copy}"), 1)
        });
        let a = policy.analyze(5);
        assert_eq!(a.gap_count, 0);
        assert_eq!(a.dead.len(), 1, "{:?}", a.dead);
        let names = ids(&policy);
        assert_eq!(names[a.dead[0].rule], format!("{id}_copy"));
        let shadows: Vec<&str> = a.dead[0].shadowed_by.iter().map(|r| names[*r].as_str()).collect();
        assert_eq!(shadows, vec![id]);
    }
}

const DATES_SCHEMA: &str = r#"
enum Kind { a, b }
facts doc { kind: Kind }
each item in items { id: text @key, start: date, end: date? }
action yes(days: int) "yes"
action no "no"
"#;

fn policy_of(rules: &str) -> Policy {
    Policy::from_text("test.handover", &format!("{DATES_SCHEMA}\n{rules}")).map_err(|e| e.render(false)).unwrap()
}

#[test]
fn complementary_date_comparisons_are_complete() {
    let p = policy_of(
        r#"
        rule before { when as_of < item.start then yes(days: item.start - as_of) reason "r" }
        rule after  { when as_of >= item.start then no reason "r" }
        "#,
    );
    let a = p.analyze(5);
    assert_eq!(a.gap_count, 0);
    assert!(a.dead.is_empty());
}

#[test]
fn contradictory_date_comparisons_make_a_rule_dead() {
    let p = policy_of(
        r#"
        rule impossible { when present(item.end) and item.end < item.start and item.start < item.end then no reason "r" }
        rule window     { when present(item.end) and item.start <= as_of and as_of <= item.end - 30 then no reason "r" }
        rule rest       { then yes(days: 0) reason "r" }
        "#,
    );
    let a = p.analyze(5);
    assert_eq!(a.gap_count, 0);
    assert_eq!(a.dead.len(), 1);
    assert_eq!(a.dead[0].rule, 0);
    assert!(a.dead[0].shadowed_by.is_empty(), "its own condition is impossible");
    // The window rule is live: start <= as_of <= end - 30 is satisfiable.
    assert!(a.regions_per_rule[1] > 0);
}

#[test]
fn gap_witness_respects_date_arithmetic() {
    let p = policy_of(
        r#"
        rule soon { when as_of + 10 <= item.start then no reason "r" }
        rule late { when as_of > item.start then no reason "r" }
        "#,
    );
    let a = p.analyze(5);
    assert_eq!(a.gap_count, 1, "start in (as_of, as_of + 10) is not covered");
    let doc = a.gaps[0].witness.to_document(p.schema());
    let records = p.evaluate_text(&doc, Format::Yaml, "w", None, Date::parse("2024-01-01").unwrap());
    assert!(is_gap(records[0].1.outcome.as_ref().unwrap_err()), "{doc}");
}

#[test]
fn check_cli_reports_gap_and_dead_rule() {
    let dir = std::env::temp_dir().join(format!("handover-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (n, t) in shipped_files() {
        let t = if n == "multichannel.handover" {
            let original = rule_text(&t, "syndication").to_string();
            let copy = original.replacen("rule syndication {", "rule syndication_again {", 1);
            t.replacen(&original, &format!("{original}\n{copy}"), 1)
                .replace(rule_text(&t, "azure_from_csp_partner"), "")
        } else {
            t
        };
        std::fs::write(dir.join(n), t).unwrap();
    }
    let rules = dir.to_str().unwrap();
    let out = run(&["check", "--rules", rules]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("check::gap"), "{err}");
    assert!(err.contains("check::dead-rule"), "{err}");
    assert!(err.contains("rule `syndication_again` can never decide: `syndication` before it catches every case"));
    assert_eq!(run(&["check", "--deny", "warnings", "--rules", rules]).status.code(), Some(1));

    let json = run(&["check", "--format", "json", "--rules", rules]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(v["dead_rules"], serde_json::json!(["syndication_again"]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every witness of `a` as a fact document, each checked to read back without error.
fn witness_documents(p: &Policy, a: &handover::analysis::Analysis) -> Vec<String> {
    let witnesses = a.gaps.iter().map(|g| &g.witness).chain(a.overlaps.iter().map(|o| &o.witness));
    witnesses
        .chain(a.absent_reads.iter().map(|r| &r.witness))
        .map(|w| {
            let doc = w.to_document(p.schema());
            let docs = handover::facts::parse(p.schema(), &doc, Format::Yaml, "witness");
            assert!(docs.iter().all(|d| d.shared.is_ok() && d.entries.iter().all(|e| e.values.is_ok())), "{doc}");
            doc
        })
        .collect()
}

#[test]
fn integer_constants_near_the_ends_of_i64_are_exact() {
    // Once taken for "unbounded": a rule testing such a constant was called dead.
    let p = Policy::from_text(
        "big.handover",
        r#"
        facts account { seats: int }
        action big "big"
        action never "never"
        action small "small"
        rule big   { when account.seats > 3000000000000000000 then big reason "r" }
        rule never { when account.seats > 9223372036854775807 or account.seats < -9223372036854775808 then never reason "r" }
        rule small { when account.seats <= 3000000000000000000 then small reason "r" }
        "#,
    )
    .map_err(|e| e.render(false))
    .unwrap();
    let a = p.analyze(5);
    assert!(a.exhaustive);
    assert_eq!(a.gap_count, 0, "{:?}", a.gaps);
    assert!(a.regions_per_rule[0] > 0 && a.regions_per_rule[2] > 0, "{:?}", a.regions_per_rule);
    // No `i64` is beyond the ends of `i64`.
    assert_eq!(a.dead.len(), 1, "{:?}", a.dead);
    assert_eq!(a.dead[0].rule, 1);
    assert!(a.dead[0].shadowed_by.is_empty());
    let today = Date::parse("2024-03-15").unwrap();
    let doc = "account: { seats: 3000000000000000001 }\n";
    let verdict = p.evaluate_text(doc, Format::Yaml, "f", None, today);
    assert_eq!(verdict[0].1.outcome.as_ref().unwrap().rule, "big");
}

#[test]
fn witnesses_stay_within_the_dates_a_fact_file_can_write() {
    // Reaching this rule needs `placed` about 24 years after `since`, with `since` as late as
    // 9995-01-01 allowed: a witness once put `placed` in the year 10019.
    let p = policy_of(
        r#"
        rule far   { when item.start <= 9995-01-01 and as_of - item.start >= 9000 then no reason "r" }
        rule late  { when item.start > 9999-12-30 then no reason "r" }
        rule never { when as_of > 9999-12-31 or item.start < 0000-01-01 then no reason "r" }
        "#,
    );
    let a = p.analyze(5);
    assert!(a.regions_per_rule[0] > 0 && a.regions_per_rule[1] > 0, "{:?}", a.regions_per_rule);
    assert_eq!(a.dead.iter().map(|d| d.rule).collect::<Vec<_>>(), vec![2], "no fact file can match `never`");
    assert!(a.gap_count > 0);
    for doc in witness_documents(&p, &a) {
        let records = p.evaluate_text(&doc, Format::Yaml, "w", None, Date::parse("2024-01-01").unwrap());
        assert_eq!(records.len(), 1, "{doc}");
    }
    let gap = a.gaps[0].witness.to_document(p.schema());
    let records = p.evaluate_text(&gap, Format::Yaml, "w", None, Date::parse("2024-01-01").unwrap());
    assert!(is_gap(records[0].1.outcome.as_ref().unwrap_err()), "{gap}");

    // A gap that only dates past 9999-12-31 could reach is no gap.
    let p = policy_of(
        r#"
        rule early { when as_of <= 9999-12-31 then no reason "r" }
        "#,
    );
    assert_eq!(p.analyze(5).gap_count, 0);
}

#[test]
fn a_small_region_budget_gives_partial_results_and_never_false_dead_rules() {
    let out = run(&["check", "--max-regions", "3"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "21 rules: completeness unknown (analysis budget exhausted), dead rules not known, 1 warning(s)\n"
    );
    assert!(stderr.contains("the analysis stopped after 3 regions; its results are partial"), "{stderr}");
    assert!(stderr.contains("--max-regions N"), "{stderr}");
    assert!(!stderr.contains("check::dead-rule"), "{stderr}");
    assert_eq!(run(&["check", "--max-regions", "3", "--deny", "warnings"]).status.code(), Some(1));

    let json = run(&["check", "--format", "json", "--max-regions", "3"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (&v["complete"], &v["exhaustive"], &v["dead_rules"]),
        (&false.into(), &false.into(), &serde_json::json!([]))
    );

    let zero = run(&["check", "--max-regions", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("invalid value '0' for '--max-regions <N>'"));
    // The default budget is enough for the shipped policy.
    let full = run(&["check"]);
    assert!(
        String::from_utf8_lossy(&full.stdout)
            .starts_with("21 rules: complete (every fact combination is decided), no dead rules")
    );
}

/// The entry fell into a gap of the policy: valid facts that no rule matches.
fn is_gap(error: &handover::EntryError) -> bool {
    matches!(error, handover::EntryError::Decide { kind: handover::EvalErrorKind::NoRuleMatched, rule: None, .. })
}
