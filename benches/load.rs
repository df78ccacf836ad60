#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Policy load (parse + check + compile, decision diagram included) for the shipped policy and
//! for a generated 1,000-rule policy over the shipped schema, and `check`'s analysis (gaps,
//! dead rules, overlaps) of that generated policy.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::Policy;
use handover::source::Sources;

mod common;

/// 999 generated rules over the shipped schema plus a catch-all: enum sets, bools, optional
/// dates compared with `as_of` (with day offsets), in varied combinations.
pub fn generated_rules(n: usize) -> String {
    let mut r = common::Rng::new(7);
    let mut out = String::new();
    for i in 0..n.saturating_sub(1) {
        let mut conds = Vec::new();
        let roles: Vec<&str> = (0..1 + r.next() % 4).map(|_| r.pick(&common::ROLES)).collect();
        conds.push(format!("partner.role in [{}]", roles.join(", ")));
        let chans: Vec<&str> = (0..1 + r.next() % 3).map(|_| r.pick(&common::CHANNELS)).collect();
        conds.push(format!("subscription.channel in [{}]", chans.join(", ")));
        if r.chance(50) {
            conds.push(format!("subscription.service == {}", r.pick(&["license_based", "usage_based"])));
        }
        if r.chance(30) {
            conds.push("not subscription.cancelled".into());
        }
        if r.chance(30) {
            conds.push(format!(
                "present(subscription.term_end) and as_of <= subscription.term_end - {}",
                r.next() % 400
            ));
        }
        if r.chance(20) {
            conds.push("customer.cloud == us_government".into());
        }
        let action = r.pick(&["manual_review", "not_applicable", "insufficient_role", "csp_resale_not_allowed"]);
        out.push_str(&format!(
            "rule r{i} {{\n    when {}\n    then {action}\n    reason \"generated\"\n}}\n\n",
            conds.join("\n     and ")
        ));
    }
    out.push_str("rule fallback {\n    then not_applicable\n    reason \"fallback\"\n}\n");
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
    let a = handover::analysis::analyze(&big, 5);
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
    g.finish();

    let mut g = c.benchmark_group("check");
    g.sample_size(10);
    let shipped = Policy::builtin().unwrap();
    g.bench_function("shipped_policy", |b| b.iter(|| handover::analysis::analyze(&shipped, 5)));
    g.bench_function("generated_1000_rules", |b| b.iter(|| handover::analysis::analyze(&big, 5)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
