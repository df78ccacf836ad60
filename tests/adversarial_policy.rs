//! Policies built to hurt the engine: thousands of rules (one recursion level per rule used to
//! overflow the stack), conditions whose decision diagram grows exponentially, and policies whose
//! `check` analysis used to take minutes. Each goes through the real binary with a kill timeout
//! as a guard: the sizes are chosen so that the old code crashed or took minutes, while the new
//! code answers in about a second (a release build; tens of seconds at most in a debug one).
//! Plus properties: the decision diagram agrees with the rule-by-rule interpreter on these
//! policies, and the shipped policy and a generated 1,000-rule one stay on the diagram and are
//! analysed exhaustively with the default budgets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use handover::analysis::NoDiagram;
use handover::facts::{Format, parse};
use handover::{Date, Policy};
use proptest::prelude::*;

mod util;

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/common/generated.rs"]
mod generated;

// ---- generators ---------------------------------------------------------------------------

/// The declarations every generated policy shares: a label, the entry's id and `fields`, and
/// two actions.
fn head(fields: &[String]) -> String {
    let mut s = String::from(
        "facts customer {\n    name: text? @label\n}\n\neach subscription in subscriptions {\n    id: text @key\n",
    );
    for f in fields {
        s.push_str(&format!("    {f}\n"));
    }
    s.push_str("}\n\naction a \"A.\"\naction b \"B.\"\n\n");
    s
}

fn rule(name: &str, when: Option<&str>, action: &str) -> String {
    let when = when.map(|w| format!("    when {w}\n")).unwrap_or_default();
    format!("rule {name} {{\n{when}    then {action}\n    reason \"generated\"\n}}\n\n")
}

/// `n` per-subscription overrides (`subscription.id == "sub-N"`, action `a`), then a catch-all
/// `rest` (action `b`).
fn overrides(n: usize) -> String {
    let mut s = head(&[]);
    for i in 0..n {
        s.push_str(&rule(&format!("r{i}"), Some(&format!("subscription.id == \"sub-{i}\"")), "a"));
    }
    s + &rule("rest", None, "b")
}

/// An enum of `n` values and one rule per value, actions alternating (`b` for even values):
/// complete without a catch-all.
fn enum_rules(n: usize) -> String {
    let values: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let mut s = format!("enum Kind {{ {} }}\n\n", values.join(", ")) + &head(&["kind: Kind".into()]);
    for i in 0..n {
        let action = if i % 2 == 1 { "a" } else { "b" };
        s.push_str(&rule(&format!("r{i}"), Some(&format!("subscription.kind == k{i}")), action));
    }
    s
}

/// `(b0 or b1) and (b2 or b3) and ...` with `k` clauses (action `a`), then a catch-all (`b`):
/// small, but exploring it for a diagram takes about 4^k steps.
fn clauses(k: usize) -> String {
    let fields: Vec<String> = (0..2 * k).map(|i| format!("b{i}: bool")).collect();
    let cond: Vec<String> =
        (0..k).map(|i| format!("(subscription.b{} or subscription.b{})", 2 * i, 2 * i + 1)).collect();
    head(&fields) + &rule("clauses", Some(&cond.join(" and ")), "a") + &rule("rest", None, "b")
}

/// `n` rules `subscription.d{i} < subscription.d{i+1}` over `n + 1` date facts, actions
/// alternating, then a catch-all: every pair of rules with other actions overlaps, and each
/// overlap's witness is a closure over all `n + 3` numeric variables.
fn dates_between(n: usize) -> String {
    let fields: Vec<String> = (0..=n).map(|i| format!("d{i}: date")).collect();
    let mut s = head(&fields);
    for i in 0..n {
        let action = if i % 2 == 1 { "a" } else { "b" };
        s.push_str(&rule(&format!("r{i}"), Some(&format!("subscription.d{i} < subscription.d{}", i + 1)), action));
    }
    s + &rule("rest", None, "b")
}

/// `k` rules `b{2i} and b{2i+1}` (2^k regions), a catch-all, then `dead` more catch-alls that
/// can never decide: finding the rules that catch each of them explores the whole space again.
fn dead_rules(dead: usize, k: usize) -> String {
    let fields: Vec<String> = (0..2 * k).map(|i| format!("b{i}: bool")).collect();
    let mut s = head(&fields);
    for i in 0..k {
        s.push_str(&rule(
            &format!("r{i}"),
            Some(&format!("subscription.b{} and subscription.b{}", 2 * i, 2 * i + 1)),
            "a",
        ));
    }
    s.push_str(&rule("rest", None, "b"));
    for i in 0..dead {
        s.push_str(&rule(&format!("dead{i}"), None, "a"));
    }
    s
}

// ---- running the binary ------------------------------------------------------------------

/// A scratch folder holding text files, removed when dropped.
fn scratch(name: &str, files: &[(&str, &str)]) -> util::Scratch {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
    util::Scratch::new(&format!("adversarial-{name}"), &files)
}

/// Runs the binary in `dir`, killing it after `limit`: a guard, far above the time the command
/// takes (the old code took minutes or crashed on these inputs).
fn run(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let out = util::run_in(dir, args, b"", limit);
    assert!(out.status.code().is_some(), "`handover {}` took more than {limit:?} (or crashed)", args.join(" "));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("overflow"), "{stderr}");
    out
}

const GUARD: Duration = Duration::from_secs(120);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

// ---- 4. thousands of rules -----------------------------------------------------------------

/// eval, check, test and explain on a policy of many rules: exit 0 and the right rule.
fn every_command_answers(name: &str, policy: &str, rules: usize, facts: &str, cases: &str, expect: &[&str]) {
    let dir = scratch(name, &[("p.handover", policy), ("facts.yaml", facts), ("cases.yaml", cases)]);
    let d = dir.path();

    let out =
        run(d, &["eval", "--rules", "p.handover", "--as-of", "2024-01-01", "--format", "json", "facts.yaml"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    let got: Vec<&str> = v["results"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(got, expect);

    let out = run(d, &["check", "--rules", "p.handover", "--format", "json"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!((&v["rules"], &v["complete"], &v["gaps"]), (&rules.into(), &true.into(), &0.into()), "{v}");
    assert_eq!(v["dead_rules"], serde_json::json!([]));

    let out = run(d, &["test", "--rules", "p.handover", "cases.yaml"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("{} passed, 0 failed", expect.len())));
    // The rules no case exercised are named up to 50, then counted.
    let coverage = text(&out.stdout).lines().find(|l| l.starts_with("coverage:")).unwrap_or_default().to_string();
    let unexercised = rules - expect.len();
    if unexercised > 50 {
        assert!(
            coverage.ends_with(&format!("and {} more (`--coverage json` lists them all)", unexercised - 50)),
            "{coverage}"
        );
    }

    let out = run(d, &["explain", "--rules", "p.handover", "--as-of", "2024-01-01", "facts.yaml"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for rule in expect {
        assert!(shown.contains(&format!(" {rule}  matched")), "{rule} in {shown}");
    }
}

fn override_facts() -> (String, String) {
    let facts = "customer: { name: X }\nsubscriptions:\n  - { id: sub-5 }\n  - { id: elsewhere }\n".to_string();
    let cases = "cases:\n  - name: an override\n    subscription: { id: sub-5 }\n    expect: { action: a, rule: r5 }\n  - name: the rest\n    subscription: { id: elsewhere }\n    expect: { action: b, rule: rest }\n".to_string();
    (facts, cases)
}

#[test]
fn six_thousand_overrides_answer_in_every_command() {
    let (facts, cases) = override_facts();
    every_command_answers("overrides-6000", &overrides(6000), 6001, &facts, &cases, &["r5", "rest"]);
}

#[test]
fn fifty_thousand_overrides_answer_in_every_command() {
    let (facts, cases) = override_facts();
    every_command_answers("overrides-50000", &overrides(50_000), 50_001, &facts, &cases, &["r5", "rest"]);
}

#[test]
fn an_enum_of_six_thousand_values_with_a_rule_each_answers_in_every_command() {
    let facts = "customer: { name: X }\nsubscriptions:\n  - { id: s1, kind: k5 }\n  - { id: s2, kind: k5998 }\n";
    let cases = "cases:\n  - name: odd\n    subscription: { id: s, kind: k5 }\n    expect: { action: a, rule: r5 }\n  - name: even\n    subscription: { id: s, kind: k5998 }\n    expect: { action: b, rule: r5998 }\n";
    every_command_answers("enum-6000", &enum_rules(6000), 6000, facts, cases, &["r5", "r5998"]);
}

/// One rule whose condition is an `or` of `n` text comparisons, its twin with another action,
/// and a rule for the rest: every region on the way tries `n` unmodelled comparisons.
fn wide_or(n: usize) -> String {
    let ors: Vec<String> = (0..n).map(|i| format!("subscription.kind == \"v{i}\"")).collect();
    let ands: Vec<String> = (0..n).map(|i| format!("subscription.kind != \"v{i}\"")).collect();
    head(&["kind: text".into()])
        + &rule("wide", Some(&ors.join(" or ")), "a")
        + &rule("twin", Some(&ors.join(" or ")), "b")
        + &rule("other", Some(&ands.join(" and ")), "b")
}

#[test]
fn a_condition_of_six_thousand_alternatives_answers() {
    // Old code: a stack overflow after 43 s (eval) and 53 s (check).
    let facts = "customer: { name: X }\nsubscriptions:\n  - { id: s1, kind: v77 }\n  - { id: s2, kind: zz }\n";
    let dir = scratch("wide-or", &[("p.handover", &wide_or(6000)), ("facts.yaml", facts)]);
    let out = run(
        dir.path(),
        &["eval", "--rules", "p.handover", "--as-of", "2024-01-01", "--format", "json", "facts.yaml"],
        GUARD,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    let got: Vec<&str> = v["results"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(got, ["wide", "other"]);
    let out = run(dir.path(), &["check", "--rules", "p.handover", "--format", "json"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["rules"], 3);
}

#[test]
fn many_rules_stay_on_the_diagram_or_say_why_not() {
    // 6,000 overrides make a diagram of about 12,000 nodes; 50,000 would pass its node limit.
    let p = Policy::from_text("p", &overrides(6000)).map_err(|e| e.render(false)).unwrap();
    assert!(p.diagram_size().is_some_and(|n| n > 12_000), "{:?}", p.diagram_size());
    let p = Policy::from_text("p", &overrides(50_000)).map_err(|e| e.render(false)).unwrap();
    assert_eq!((p.diagram_size(), p.no_diagram()), (None, Some(NoDiagram::TooLarge)));
    let note = p.warnings().iter().find(|d| d.code == "compile::no-diagram").expect("a note");
    assert!(note.message.contains("it would have more than 100000 nodes"), "{}", note.message);
}

// ---- 5. the diagram's budget ---------------------------------------------------------------

/// The verdict the clause policy must give: `a` when every clause holds.
fn clause_oracle(bits: &[bool]) -> &'static str {
    if bits.chunks(2).all(|c| c.iter().any(|b| *b)) { "a" } else { "b" }
}

fn clause_document(bits: &[bool]) -> String {
    let fields: Vec<String> = bits.iter().enumerate().map(|(i, b)| format!("\"b{i}\":{b}")).collect();
    format!(r#"{{"customer":{{"name":"X"}},"subscriptions":[{{"id":"s",{}}}]}}"#, fields.join(","))
}

#[test]
fn a_diagram_past_its_budget_falls_back_to_the_interpreter_and_says_so() {
    let k = 30;
    let policy = clauses(k);
    let p = Policy::from_text("clauses.handover", &policy).map_err(|e| e.render(false)).unwrap();
    assert_eq!((p.diagram_size(), p.no_diagram()), (None, Some(NoDiagram::Budget)));
    // Small ones still get a diagram.
    let small = Policy::from_text("c", &clauses(6)).unwrap();
    assert!(small.diagram_size().is_some());

    let dir = scratch("clauses-30", &[("p.handover", &policy)]);
    let d = dir.path();
    let out = run(d, &["check", "--rules", "p.handover"], GUARD);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("compile::no-diagram"), "{stderr}");
    assert!(
        stderr.contains(
            "the rules are decided one by one, not through a decision diagram: building it took more than \
             1000000 steps; verdicts are the same, each decision is slower"
        ),
        "{stderr}"
    );
    let out = run(d, &["check", "--rules", "p.handover", "--format", "json"], GUARD);
    let v = json(&out);
    let codes: Vec<&str> = v["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"compile::no-diagram"), "{codes:?}");
    assert_eq!(
        v["diagnostics"].as_array().unwrap().iter().find(|d| d["code"] == "compile::no-diagram").unwrap()["severity"],
        "advice"
    );

    // Evaluating through the binary: the verdicts the clauses give.
    let rows: Vec<Vec<bool>> = vec![
        vec![true; 2 * k],
        vec![false; 2 * k],
        (0..2 * k).map(|i| i % 2 == 1).collect(),
        (0..2 * k).map(|i| i % 4 == 0).collect(),
    ];
    let lines: String = rows.iter().map(|r| clause_document(r) + "\n").collect();
    std::fs::write(d.join("facts.jsonl"), &lines).unwrap();
    let out =
        run(d, &["eval", "--rules", "p.handover", "--as-of", "2024-01-01", "--format", "jsonl", "facts.jsonl"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let actions: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<&str> = rows.iter().map(|r| clause_oracle(r)).collect();
    assert_eq!(actions, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// The k=30 clause policy, decided rule by rule, gives the verdict the clauses say.
    #[test]
    fn the_fallen_back_clause_policy_decides_like_its_clauses(bits in proptest::collection::vec(any::<bool>(), 60)) {
        let p = clause_policy_30();
        let as_of = Date::parse("2024-01-01").unwrap();
        let records = p.evaluate_text(&clause_document(&bits), Format::JsonLines, "p", None, as_of);
        let got = records.first().and_then(|(_, r)| r.outcome.as_ref().ok()).map(|d| d.action.clone());
        prop_assert_eq!(got.as_deref(), Some(clause_oracle(&bits)));
    }
}

fn clause_policy_30() -> &'static Policy {
    static P: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    P.get_or_init(|| Policy::from_text("c", &clauses(30)).unwrap())
}

// ---- 6. one budget for the whole analysis --------------------------------------------------

#[test]
fn check_of_many_comparisons_between_dates_is_bounded() {
    // Old code: 205 s with `--max-regions 1000` (11,000 overlaps, each witness a closure over
    // 153 variables). Now: the space is explored (complete, no dead rules), the overlaps are
    // cut by the budget and the result says so.
    let dir = scratch("dates-150", &[("p.handover", &dates_between(150))]);
    let out = run(dir.path(), &["check", "--rules", "p.handover", "--format", "json"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!((&v["complete"], &v["exhaustive"], &v["gaps"]), (&true.into(), &false.into(), &0.into()), "{v}");
    let codes: Vec<&str> = v["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"check::incomplete"), "{codes:?}");
    // The same with the old `--max-regions 1000`: partial at once.
    let out = run(dir.path(), &["check", "--rules", "p.handover", "--max-regions", "1000"], GUARD);
    assert_eq!(
        text(&out.stdout),
        "151 rules: completeness unknown (analysis budget exhausted), dead rules not known, 1 warning(s)\n"
    );
}

#[test]
fn check_of_two_hundred_dead_rules_is_bounded() {
    // Old code: 188 s (each dead rule explored the 2^19 regions again, on a fresh budget).
    // Now: the space is explored once; all 200 dead rules are claimed (they are dead: no region
    // reaches them), and looking for the rules that catch them stops at the budget.
    let dir = scratch("dead-200", &[("p.handover", &dead_rules(200, 19))]);
    let out = run(dir.path(), &["check", "--rules", "p.handover", "--format", "json"], GUARD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!((&v["complete"], &v["exhaustive"]), (&true.into(), &false.into()), "{}", v["diagnostics"]);
    let dead = v["dead_rules"].as_array().unwrap();
    assert_eq!(dead.len(), 200);
    assert_eq!(dead.first().unwrap(), "dead0");
    let messages: Vec<&str> =
        v["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["message"].as_str()).collect();
    assert!(
        messages.contains(&"rule `dead0` can never decide: no fact combination reaches it; earlier rules that catch its cases include `rest`"),
        "{:?}",
        &messages[..3]
    );
    assert!(
        messages.contains(&"rule `dead199` can never decide: no fact combination reaches it"),
        "{:?}",
        &messages[messages.len() - 3..]
    );

    let out = run(dir.path(), &["check", "--rules", "p.handover"], GUARD);
    assert_eq!(
        text(&out.stdout),
        "220 rules: complete (every fact combination is decided), 200 dead rule(s), 201 warning(s)\n"
    );
}

#[test]
fn the_shipped_and_a_generated_thousand_rule_policy_stay_exhaustive_and_on_the_diagram() {
    let shipped = Policy::builtin().unwrap();
    assert!(shipped.diagram_size().is_some());
    let a = shipped.analyze(5);
    assert!(a.exhaustive && a.space_explored);

    let mut sources = handover::source::Sources::new();
    for f in ["schema.handover", "actions.handover"] {
        sources.add(f, std::fs::read_to_string(format!("{}/rules/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap());
    }
    sources.add("generated.handover", generated::generated_rules(1000));
    let big = Policy::from_sources(sources).map_err(|e| e.render(false)).unwrap();
    assert!(big.diagram_size().is_some(), "{:?}", big.no_diagram());
    // A fifth of the default budget is enough: the default leaves room for larger policies.
    let a = big.analyze_with_budget(5, handover::analysis::DEFAULT_BUDGET / 5);
    assert!(a.exhaustive, "{} dead, {} overlaps", a.dead.len(), a.overlaps.len());
    assert_eq!((a.gap_count, a.dead.len(), a.overlaps.len()), (0, 914, 729));
}

#[test]
fn partial_results_claim_only_what_holds() {
    // A gap found before the budget ran out is real; dead rules are not claimed.
    let mut policy = clauses(12);
    policy = policy.replace("rule rest {\n    then b", "rule rest {\n    when subscription.b0\n    then b");
    let p = Policy::from_text("p", &policy).unwrap();
    let full = p.analyze_with_budget(5, usize::MAX);
    assert!(full.exhaustive && full.gap_count > 0);
    let part = p.analyze_with_budget(5, 2_000);
    assert!(!part.exhaustive && !part.space_explored);
    assert!(part.gap_count > 0 && part.dead.is_empty());
    let as_of = Date::parse("2024-01-01").unwrap();
    for g in &part.gaps {
        let doc = g.witness.to_document(p.schema());
        let records = p.evaluate_text(&doc, Format::Yaml, "w", None, as_of);
        assert_eq!(records[0].1.outcome.as_ref().unwrap_err().code(), "eval::no-rule-matched", "{doc}");
    }
}

// ---- the diagram agrees with the interpreter -----------------------------------------------

/// Adversarial policies small enough to get a diagram, with a generator of one JSON Lines
/// document per random input.
fn agreeing_policies() -> &'static [(Policy, usize)] {
    static P: std::sync::OnceLock<Vec<(Policy, usize)>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        [(clauses(7), 0), (overrides(300), 1), (enum_rules(300), 2), (dates_between(12), 3), (dead_rules(20, 6), 4)]
            .into_iter()
            .map(|(text, kind)| {
                let p = Policy::from_text("p", &text).map_err(|e| e.render(false)).unwrap();
                assert!(p.diagram_size().is_some(), "kind {kind}: {:?}", p.no_diagram());
                (p, kind)
            })
            .collect()
    })
}

fn adversarial_document(kind: usize, seed: &[u16]) -> String {
    let s = |i: usize| seed.get(i).copied().unwrap_or(0);
    let fields: Vec<String> = match kind {
        0 => (0..14).map(|i| format!("\"b{i}\":{}", s(i) % 2 == 1)).collect(),
        1 => vec![],
        2 => vec![format!("\"kind\":\"k{}\"", s(0) % 300)],
        3 => (0..=12)
            .map(|i| {
                format!(
                    "\"d{i}\":\"{}\"",
                    Date::from_days(Date::parse("2024-01-01").unwrap().days() + i64::from(s(i) % 5)).unwrap()
                )
            })
            .collect(),
        _ => (0..12).map(|i| format!("\"b{i}\":{}", s(i) % 3 != 0)).collect(),
    };
    let id = if kind == 1 { format!("sub-{}", s(0) % 320) } else { "s".into() };
    let mut all = vec![format!("\"id\":\"{id}\"")];
    all.extend(fields);
    format!(r#"{{"customer":{{"name":"X"}},"subscriptions":[{{{}}}]}}"#, all.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// On every adversarial policy the diagram gives the interpreter's verdict.
    #[test]
    fn the_diagram_agrees_with_the_interpreter_on_adversarial_policies(
        which in 0usize..5,
        seed in proptest::collection::vec(any::<u16>(), 16),
    ) {
        let (p, kind) = &agreeing_policies()[which];
        let text = adversarial_document(*kind, &seed);
        let as_of = Date::parse("2024-01-01").unwrap();
        let docs = parse(p.schema(), &text, Format::JsonLines, "p");
        let doc = docs.first().unwrap();
        let shared = doc.shared.as_ref().unwrap();
        let item = doc.entries.first().unwrap().values.as_ref().map_err(|e| format!("{e:?} in {text}")).unwrap();
        let fast = p.evaluate(shared, item, as_of);
        let slow = p.evaluate_interpreted(shared, item, as_of);
        match (fast, slow) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a.rule_id(), b.rule_id()),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "diagram {:?} but interpreter {:?}", a.map(|v| v.rule_id()), b.map(|v| v.rule_id())),
        }
    }
}
