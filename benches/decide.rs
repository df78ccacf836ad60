#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Per-decision cost: the shipped policy over 100,000 generated subscriptions already loaded,
//! side by side with a hand-written Rust `match` of the same policy on the same facts. Every
//! verdict is cross-checked before timing. The ratio of the two is the figure to report.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use handover::facts::{Format, parse};
use handover::{Date, Policy, Value};

mod common;

/// The loaded facts, stored the way a batch caller would: one contiguous arena of values, each
/// subscription a (document, entry) pair of ranges into it.
struct Loaded {
    arena: Vec<Value>,
    ranges: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Loaded {
    fn iter(&self) -> impl Iterator<Item = (&[Value], &[Value])> {
        self.ranges.iter().map(|(d, i)| (&self.arena[d.clone()], &self.arena[i.clone()]))
    }
}

fn load(policy: &Policy, subs: &[common::Sub]) -> Loaded {
    let text: String = subs.iter().enumerate().map(|(i, s)| common::json_line(i, s) + "\n").collect();
    let mut arena = Vec::new();
    let mut ranges = Vec::new();
    for d in parse(policy.schema(), &text, Format::JsonLines, "generated") {
        let shared = d.shared.expect("generated facts are valid");
        let item = d.entries.into_iter().next().expect("one entry").values.expect("valid");
        let a = arena.len();
        arena.extend(shared);
        let b = arena.len();
        arena.extend(item);
        ranges.push((a..b, b..arena.len()));
    }
    Loaded { arena, ranges }
}

fn bench(c: &mut Criterion) {
    let policy = Policy::builtin().expect("shipped policy loads");
    // DECIDE_N changes the count (a small one keeps the facts in cache).
    let n: usize = std::env::var("DECIDE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let subs = common::generate(n, 42);
    let loaded = load(&policy, &subs);
    let typed: Vec<common::Typed> = subs.iter().map(common::typed).collect();
    let as_of = Date::parse("2024-03-15").expect("date");
    assert_eq!(as_of.days(), common::AS_OF_DAYS_FROM_CE);

    // Cross-check: the engine and the hand-written policy agree on every subscription.
    for ((shared, item), t) in loaded.iter().zip(&typed) {
        let engine = policy.evaluate(shared, item, as_of).map(|v| v.action());
        let interpreted = policy.evaluate_interpreted(shared, item, as_of).map(|v| v.action());
        assert_eq!(engine.as_ref().ok(), interpreted.as_ref().ok());
        let hand = common::decide(t, as_of.days()).map(|v| v.action());
        match (engine, hand) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("verdicts differ: {a:?} vs {b:?}"),
        }
    }

    // The baseline for dated rules: the 2020 rules alone without their period (as before the
    // rules since 2024 were written), on the same schema, so the same loaded facts serve.
    let undated = undated_2020_rules();
    for (shared, item) in loaded.iter() {
        let dated = policy.evaluate(shared, item, as_of).map(|v| v.action());
        let old = undated.evaluate(shared, item, as_of).map(|v| v.action());
        assert_eq!(dated.ok(), old.ok(), "the dated policy decides as the 2020 rules did");
    }

    let mut g = c.benchmark_group("decide_100k");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("hand_written_match", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for t in &typed {
                if let Ok(v) = common::decide(black_box(t), as_of.days()) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("handover", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for (shared, item) in loaded.iter() {
                if let Ok(v) = policy.evaluate(black_box(shared), black_box(item), as_of) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("handover_2020_rules_undated", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for (shared, item) in loaded.iter() {
                if let Ok(v) = undated.evaluate(black_box(shared), black_box(item), as_of) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("handover_deciding_rule_only", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for (shared, item) in loaded.iter() {
                if let Ok(r) = policy.deciding_rule(black_box(shared), black_box(item), as_of) {
                    acc += r.len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("handover_rule_by_rule", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for (shared, item) in loaded.iter() {
                if let Ok(v) = policy.evaluate_interpreted(black_box(shared), black_box(item), as_of) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.finish();
}

/// The shipped schema and actions with `multichannel.handover` out of its `in force` block.
fn undated_2020_rules() -> Policy {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/");
    let read = |name: &str| std::fs::read_to_string(format!("{dir}{name}")).expect("shipped file");
    let rules = read("multichannel.handover");
    let open = "in force until 2024-08-31 {";
    let start = rules.find(open).expect("the 2020 rules are dated");
    let end = rules.rfind('}').expect("the block closes");
    let rules = format!("{}{}", &rules[..start], &rules[start + open.len()..end]);
    let mut sources = handover::source::Sources::new();
    sources.add("actions.handover", read("actions.handover"));
    sources.add("schema.handover", read("schema.handover"));
    sources.add("multichannel.handover", rules);
    Policy::from_sources(sources).expect("the undated 2020 rules load")
}

criterion_group!(benches, bench);
criterion_main!(benches);
