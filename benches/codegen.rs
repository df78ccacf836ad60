#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Per-decision cost of the generated code (`handover compile --emit rust`, the committed
//! tests/codegen/shipped.rs) against the hand-written `match` of benches/common and the
//! interpreter, on the same 100,000 generated subscriptions. Every verdict is cross-checked
//! before timing. The figure to report: generated / hand-written, measured in the same run.

use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use handover::facts::{Format, parse};
use handover::{Date, Policy, Value};

mod common;

#[allow(dead_code, clippy::all)]
mod shipped {
    include!("../tests/codegen/shipped.rs");
}

/// One subscription as the generated types hold it.
struct Typed {
    partner: shipped::Partner,
    customer: shipped::Customer,
    subscription: shipped::Subscription,
}

fn typed(i: usize, s: &common::Sub) -> Typed {
    let as_of = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
    let mut partner = shipped::Partner::new(s.role.parse().unwrap());
    partner.r#type = s.ptype.parse().unwrap();
    let customer = shipped::Customer {
        name: Some(format!("Customer {}", i / 4)),
        cloud: s.cloud.parse().unwrap(),
        is_csp_partner: s.is_csp,
        csp_transaction_tenant: s.tenant,
    };
    let mut subscription =
        shipped::Subscription::new(format!("sub-{i}"), s.service.parse().unwrap(), s.channel.parse().unwrap());
    subscription.term_end = s.term_offset.map(|o| as_of + chrono::Duration::days(o));
    subscription.cancelled = s.cancelled;
    Typed { partner, customer, subscription }
}

/// Kept out of line, as the hand-written `common::decide` is, so both are one call per decision.
#[inline(never)]
fn generated(t: &Typed, as_of: NaiveDate) -> Result<shipped::Verdict, shipped::DecideError> {
    shipped::decide(&t.partner, &t.customer, &t.subscription, as_of)
}

fn bench(c: &mut Criterion) {
    let policy = Policy::builtin().expect("shipped policy loads");
    let n: usize = std::env::var("DECIDE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let subs = common::generate(n, 42);
    let as_of = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
    let day = Date::from_naive(as_of);
    let hand: Vec<common::Typed> = subs.iter().map(common::typed).collect();
    let gen_facts: Vec<Typed> = subs.iter().enumerate().map(|(i, s)| typed(i, s)).collect();
    let text: String = subs.iter().enumerate().map(|(i, s)| common::json_line(i, s) + "\n").collect();
    // The interpreter's facts in one arena, as benches/decide.rs holds them.
    let mut arena: Vec<Value> = Vec::new();
    let mut ranges = Vec::with_capacity(n);
    for d in parse(policy.schema(), &text, Format::JsonLines, "generated") {
        let item = d.entries.into_iter().next().unwrap().values.unwrap();
        let a = arena.len();
        arena.extend(d.shared.unwrap());
        let b = arena.len();
        arena.extend(item);
        ranges.push((a..b, b..arena.len()));
    }
    let slots: Vec<(&[Value], &[Value])> = ranges.iter().map(|(d, i)| (&arena[d.clone()], &arena[i.clone()])).collect();

    // Cross-check: the three agree on every subscription.
    for ((t, h), &(shared, item)) in gen_facts.iter().zip(&hand).zip(&slots) {
        let g = generated(t, as_of);
        let i = policy.evaluate(shared, item, day);
        let h = common::decide(h, day.days());
        match (&g, &i, &h) {
            (Ok(g), Ok(i), Ok(h)) => {
                assert_eq!(g.action(), i.action());
                assert_eq!(g.action(), h.action());
                assert_eq!(g.rule().id(), i.rule_id());
            }
            (Err(_), Err(_), Err(_)) => {}
            other => panic!("verdicts differ: {other:?}"),
        }
    }

    let mut g = c.benchmark_group("codegen_100k");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("hand_written_match", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for t in &hand {
                if let Ok(v) = common::decide(black_box(t), day.days()) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("generated", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for t in &gen_facts {
                if let Ok(v) = generated(black_box(t), as_of) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("interpreter", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for &(shared, item) in &slots {
                if let Ok(v) = policy.evaluate(black_box(shared), black_box(item), day) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
