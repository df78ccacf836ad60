#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Per-decision cost: the shipped policy over 100,000 generated subscriptions already loaded,
//! side by side with a hand-written Rust `match` of the same policy on the same facts. About half
//! the subscriptions are decided as of 2024-03-15 (the 2020 rules) and half as of 2025-03-15 (the
//! rules since 2024). Every verdict (action and parameters) is cross-checked before timing, on
//! each subscription's own date and on both sides of the 2024-09-01 change. The ratio of the two
//! is the figure to report. (Knobs: DECIDE_N, DECIDE_LATER_PERCENT, DECIDE_MIN and DECIDE_PROFILE, below.)

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use handover::facts::{Format, parse};
use handover::{Date, Policy, Value};

mod common;

/// The loaded facts, stored the way a batch caller would: one contiguous arena of values, each
/// subscription a (document, entry) pair of ranges into it and the date it is decided at.
struct Loaded {
    arena: Vec<Value>,
    ranges: Vec<(std::ops::Range<usize>, std::ops::Range<usize>, Date)>,
}

impl Loaded {
    fn iter(&self) -> impl Iterator<Item = (&[Value], &[Value], Date)> {
        self.ranges.iter().map(|(d, i, as_of)| (&self.arena[d.clone()], &self.arena[i.clone()], *as_of))
    }
}

fn load(policy: &Policy, subs: &[(common::Sub, common::Extra)]) -> Loaded {
    let text: String = subs.iter().enumerate().map(|(i, (s, x))| common::json_line_dated(i, s, x) + "\n").collect();
    let mut arena = Vec::new();
    let mut ranges = Vec::new();
    for d in parse(policy.schema(), &text, Format::JsonLines, "generated") {
        let as_of = d.as_of.expect("generated lines give as_of");
        let shared = d.shared.expect("generated facts are valid");
        let item = d.entries.into_iter().next().expect("one entry").values.expect("valid");
        let a = arena.len();
        arena.extend(shared);
        let b = arena.len();
        arena.extend(item);
        ranges.push((a..b, b..arena.len(), as_of));
    }
    Loaded { arena, ranges }
}

/// A verdict as action and `name=value` parameters, to compare the engine with the hand-written
/// policy.
fn engine_verdict(v: Result<handover::Verdict<'_>, handover::EvalError>) -> Option<(String, Vec<String>)> {
    v.ok().map(|v| (v.action().to_string(), v.params().map(|(n, p)| format!("{n}={p}")).collect()))
}

fn hand_verdict(v: Result<common::Verdict, &'static str>) -> Option<(String, Vec<String>)> {
    v.ok().map(|v| (v.action().to_string(), v.params()))
}

fn bench(c: &mut Criterion) {
    let policy = Policy::builtin().expect("shipped policy loads");
    // DECIDE_N changes the count (a small one keeps the facts in cache).
    let n: usize = std::env::var("DECIDE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    // DECIDE_LATER_PERCENT: the share decided under the rules since 2024 (50 unless set; 0 or
    // 100 time one period alone).
    let later_percent: u64 =
        std::env::var("DECIDE_LATER_PERCENT").ok().and_then(|v| v.parse().ok()).unwrap_or(50).min(100);
    let subs = common::generate_dated(n, 42, later_percent);
    let loaded = load(&policy, &subs);
    let typed: Vec<(common::Typed, i64)> =
        subs.iter().map(|(s, x)| (common::typed_dated(s, x), common::AS_OF_DAYS_FROM_CE + x.as_of_offset)).collect();
    let date = |t: &str| Date::parse(t).expect("date");
    assert_eq!(date("2024-03-15").days(), common::AS_OF_DAYS_FROM_CE);
    assert_eq!(date("2024-09-01").days(), common::SINCE_2024_DAYS_FROM_CE);
    let later = typed.iter().filter(|(_, d)| *d >= common::SINCE_2024_DAYS_FROM_CE).count();
    assert!(
        later_percent != 50 || later > n / 3 && n - later > n / 3,
        "both periods are well represented: {later} of {n} later"
    );

    // Cross-check: the engine (diagram and rule by rule) and the hand-written policy give the same
    // verdict on every subscription, on its own date and on days either side of the change.
    let days = ["2024-03-15", "2024-08-31", "2024-09-01", "2025-03-15"].map(date);
    let mut errors = 0;
    for ((shared, item, own), (t, own_days)) in loaded.iter().zip(&typed) {
        assert_eq!(own.days(), *own_days);
        for as_of in std::iter::once(own).chain(days) {
            let engine = engine_verdict(policy.evaluate(shared, item, as_of));
            let interpreted = engine_verdict(policy.evaluate_interpreted(shared, item, as_of));
            assert_eq!(engine, interpreted);
            let hand = hand_verdict(common::decide(t, as_of.days()));
            assert_eq!(engine, hand, "facts {t:?} as of {as_of}");
            errors += usize::from(engine.is_none());
        }
    }
    assert!(errors < n, "most subscriptions are decided ({errors} errors in {} decisions)", 5 * n);

    // The baseline for dated rules: the 2020 rules alone without their period (as before the
    // rules since 2024 were written), on the same schema, so the same loaded facts serve.
    let undated = undated_2020_rules();
    for (shared, item, as_of) in loaded.iter() {
        if as_of.days() < common::SINCE_2024_DAYS_FROM_CE {
            let dated = policy.evaluate(shared, item, as_of).map(|v| v.action());
            let old = undated.evaluate(shared, item, as_of).map(|v| v.action());
            assert_eq!(dated.ok(), old.ok(), "the dated policy decides as the 2020 rules did");
        }
    }

    // DECIDE_PROFILE=engine|rule|hand: only that loop, over and over for about five seconds, for
    // `perf record` or `valgrind --tool=cachegrind` (no timing, no criterion).
    if let Ok(which) = std::env::var("DECIDE_PROFILE") {
        let start = std::time::Instant::now();
        let (mut acc, mut loops) = (0u64, 0usize);
        while start.elapsed().as_secs() < 5 {
            loops += 10;
            for _ in 0..10 {
                match which.as_str() {
                    "hand" => {
                        for (t, as_of) in &typed {
                            if let Ok(v) = common::decide(black_box(t), *as_of) {
                                acc += v.action().len() as u64;
                            }
                        }
                    }
                    "rule" => {
                        for (shared, item, as_of) in loaded.iter() {
                            if let Ok(r) = policy.deciding_rule(black_box(shared), black_box(item), as_of) {
                                acc += r.len() as u64;
                            }
                        }
                    }
                    _ => {
                        for (shared, item, as_of) in loaded.iter() {
                            if let Ok(v) = policy.evaluate(black_box(shared), black_box(item), as_of) {
                                acc += v.action().len() as u64;
                            }
                        }
                    }
                }
            }
        }
        println!("{which}: {} decisions ({acc})", loops * n);
        std::process::exit(0);
    }

    // DECIDE_MIN=1: instead of criterion, the fastest of 200 runs of each loop, three times, with
    // the ratio: steadier than a mean when other processes share the cores.
    if std::env::var("DECIDE_MIN").is_ok() {
        let min = |f: &dyn Fn() -> u64| {
            (0..200)
                .map(|_| {
                    let t = std::time::Instant::now();
                    black_box(f());
                    t.elapsed()
                })
                .min()
                .unwrap()
        };
        for _ in 0..3 {
            let hand = min(&|| {
                let mut acc = 0u64;
                for (t, as_of) in &typed {
                    if let Ok(v) = common::decide(black_box(t), *as_of) {
                        acc += v.action().len() as u64;
                    }
                }
                acc
            });
            let engine = min(&|| {
                let mut acc = 0u64;
                for (shared, item, as_of) in loaded.iter() {
                    if let Ok(v) = policy.evaluate(black_box(shared), black_box(item), as_of) {
                        acc += v.action().len() as u64;
                    }
                }
                acc
            });
            let rule = min(&|| {
                let mut acc = 0u64;
                for (shared, item, as_of) in loaded.iter() {
                    if let Ok(r) = policy.deciding_rule(black_box(shared), black_box(item), as_of) {
                        acc += r.len() as u64;
                    }
                }
                acc
            });
            println!(
                "min: hand {hand:?} handover {engine:?} rule-only {rule:?} ratio {:.2}",
                engine.as_secs_f64() / hand.as_secs_f64()
            );
        }
        std::process::exit(0);
    }

    let mut g = c.benchmark_group("decide_100k");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("hand_written_match", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for (t, as_of) in &typed {
                if let Ok(v) = common::decide(black_box(t), *as_of) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("handover", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for (shared, item, as_of) in loaded.iter() {
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
            for (shared, item, as_of) in loaded.iter() {
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
            for (shared, item, as_of) in loaded.iter() {
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
            for (shared, item, as_of) in loaded.iter() {
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
