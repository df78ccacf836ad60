#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `handover diff` of two generated 1,000-rule policies over the shipped schema that differ in a
//! few rules (two actions changed, one condition narrowed, two rules swapped), with `check`'s
//! analysis of one of them as the baseline in the same run. The target: under 2 s.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::Policy;
use handover::source::Sources;

mod common;
#[path = "common/generated.rs"]
mod generated;
use generated::generated_rules;

fn sources(rules: &str) -> Sources {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut s = Sources::new();
    for f in ["schema.handover", "actions.handover"] {
        s.add(f, std::fs::read_to_string(format!("{root}/rules/{f}")).unwrap());
    }
    s.add("generated.handover", rules.to_string());
    s
}

/// The generated rules with a few edits of rules that decide some facts (`live`, in order): two
/// actions changed, one enum set widened, one rule swapped with the next.
fn edited(rules: &str, live: &[usize]) -> String {
    let mut blocks: Vec<String> = rules.split_inclusive("}\n\n").map(str::to_string).collect();
    let pick = |k: usize| live[k * live.len() / 5];
    for i in [pick(1), pick(3)] {
        let b = &mut blocks[i];
        *b = if b.contains("then manual_review") {
            b.replace("then manual_review", "then not_applicable")
        } else {
            ["not_applicable", "insufficient_role", "csp_resale_not_allowed"]
                .iter()
                .fold(b.clone(), |b, a| b.replace(&format!("then {a}"), "then manual_review"))
        };
    }
    let i = pick(2);
    blocks[i] = blocks[i].replacen("subscription.channel in [", "subscription.channel in [unknown, ", 1);
    let i = pick(4);
    blocks.swap(i, i + 1);
    blocks.concat()
}

fn bench(c: &mut Criterion) {
    let rules = generated_rules(1000);
    let old = Policy::from_sources(sources(&rules)).map_err(|e| e.render(false)).unwrap();
    let live: Vec<usize> = old
        .analyze(0)
        .regions_per_rule
        .iter()
        .enumerate()
        .filter(|(i, n)| **n > 0 && *i + 1 < 999)
        .map(|(i, _)| i)
        .collect();
    let other = edited(&rules, &live);
    assert_ne!(rules, other);
    let new = Policy::from_sources(sources(&other)).map_err(|e| e.render(false)).unwrap();
    let budget = handover::analysis::DEFAULT_BUDGET;
    let d = old.diff(&new, budget);
    assert!(d.exhaustive, "the diff ran out of budget");
    assert!(!d.changes.is_empty());
    eprintln!(
        "diff of two generated 1,000-rule policies ({} rules decide some facts): {} change group(s), {} regions \
         compared, {} unconfirmed",
        live.len(),
        d.changes.len(),
        d.regions,
        d.unconfirmed
    );

    let mut g = c.benchmark_group("diff");
    g.sample_size(10);
    g.bench_function("check_generated_1000_rules", |b| b.iter(|| old.analyze(5)));
    g.bench_function("diff_generated_1000_rules", |b| b.iter(|| old.diff(&new, budget)));
    // One policy at two dates: every rule that compares `as_of` moves.
    let (a, b) = (handover::Date::parse("2024-03-01").unwrap(), handover::Date::parse("2024-09-01").unwrap());
    let dated = old.diff_as_of(a, b, budget);
    assert!(dated.exhaustive);
    eprintln!("the same at two dates: {} change group(s), {} regions", dated.changes.len(), dated.regions);
    g.bench_function("diff_generated_1000_rules_two_dates", |bch| bch.iter(|| old.diff_as_of(a, b, budget)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
