#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Policy load (parse + check + compile, decision diagram included) for the shipped policy and
//! for a generated 1,000-rule policy over the shipped schema, and `check`'s analysis (gaps,
//! dead rules, overlaps) of that generated policy.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::Policy;
use handover::source::Sources;

mod common;
#[path = "common/generated.rs"]
mod generated;
use generated::generated_rules;

/// `k` clauses of two bools each, then a catch-all: exploring it for a diagram takes about 4^k
/// steps.
fn clause_policy(k: usize) -> String {
    let mut out = String::from("each subscription in subscriptions {\n    id: text @key\n");
    for i in 0..2 * k {
        out.push_str(&format!("    b{i}: bool\n"));
    }
    out.push_str("}\n\naction a \"A.\"\naction b \"B.\"\n\nrule clauses {\n    when ");
    let clauses: Vec<String> =
        (0..k).map(|i| format!("(subscription.b{} or subscription.b{})", 2 * i, 2 * i + 1)).collect();
    out.push_str(&clauses.join(" and "));
    out.push_str("\n    then a\n    reason \"r\"\n}\n\nrule rest {\n    then b\n    reason \"r\"\n}\n");
    out
}

fn sources(rules: &str) -> Sources {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut s = Sources::new();
    for f in ["schema.handover", "actions.handover"] {
        s.add(f, std::fs::read_to_string(format!("{root}/rules/{f}")).unwrap());
    }
    s.add("generated.handover", rules.to_string());
    s
}

fn bench(c: &mut Criterion) {
    let generated = generated_rules(1000);
    let big = Policy::from_sources(sources(&generated)).map_err(|e| e.render(false)).unwrap();
    assert_eq!(big.rule_ids().count(), 1000);
    assert!(big.diagram_size().is_some(), "{:?}", big.no_diagram());
    let a = big.analyze(5);
    assert!(a.exhaustive);
    eprintln!(
        "generated policy: {} gaps, {} dead rules, {} overlaps, diagram {:?} nodes",
        a.gap_count,
        a.dead.len(),
        a.overlaps.len(),
        big.diagram_size()
    );

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("shipped_policy", |b| b.iter(|| Policy::builtin().unwrap()));
    g.bench_function("generated_1000_rules", |b| b.iter(|| Policy::from_sources(sources(&generated)).unwrap()));
    // 30 clauses `(b0 or b1) and ...`: the diagram's budget runs out and the policy falls back
    // to rule-by-rule evaluation; this is what a load costs at that limit.
    let clauses = clause_policy(30);
    assert!(Policy::from_text("clauses.handover", &clauses).unwrap().diagram_size().is_none());
    g.bench_function("clauses_30_past_the_diagram_budget", |b| {
        b.iter(|| Policy::from_text("clauses.handover", &clauses).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("check");
    g.sample_size(10);
    let shipped = Policy::builtin().unwrap();
    g.bench_function("shipped_policy", |b| b.iter(|| shipped.analyze(5)));
    g.bench_function("generated_1000_rules", |b| b.iter(|| big.analyze(5)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
