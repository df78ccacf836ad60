#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Per-decision cost of the generated code (`handover compile --emit rust`, the committed
//! tests/codegen/shipped.rs) against the hand-written `match` of benches/common and the
//! interpreter, on the same 100,000 generated subscriptions, half decided as of 2024-03-15 (the
//! 2020 rules) and half as of 2025-03-15 (the rules since 2024), as benches/decide.rs does
//! (`DECIDE_LATER_PERCENT` changes the mix). Every verdict is cross-checked before timing. The
//! figure to report: generated / hand-written, measured in the same run.

use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use handover::facts::{Format, parse};
use handover::{Date, Policy, Value};

mod common;

#[allow(dead_code, clippy::all)]
mod shipped {
    include!("../tests/codegen/shipped.rs");
}

/// One subscription as the generated types hold it, with the day it is decided on.
struct Typed {
    partner: shipped::Partner,
    customer: shipped::Customer,
    subscription: shipped::Subscription,
    as_of: NaiveDate,
}

fn typed(i: usize, s: &common::Sub, x: &common::Extra) -> Typed {
    let base = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
    let mut partner = shipped::Partner::new(s.role.parse().unwrap());
    partner.r#type = s.ptype.parse().unwrap();
    partner.azure_billing_transfer = x.azure_billing_transfer;
    let customer = shipped::Customer {
        name: Some(format!("Customer {}", i / 4)),
        cloud: s.cloud.parse().unwrap(),
        is_csp_partner: s.is_csp,
        csp_transaction_tenant: s.tenant,
    };
    let mut subscription =
        shipped::Subscription::new(format!("sub-{i}"), s.service.parse().unwrap(), s.channel.parse().unwrap());
    subscription.term_end = s.term_offset.map(|o| base + chrono::Duration::days(o));
    subscription.cancelled = s.cancelled;
    subscription.commerce = x.commerce.parse().unwrap();
    subscription.ea_direct = x.ea_direct;
    Typed { partner, customer, subscription, as_of: base + chrono::Duration::days(x.as_of_offset) }
}

/// Kept out of line, as the hand-written `common::decide` is, so both are one call per decision.
#[inline(never)]
fn generated(t: &Typed) -> Result<shipped::Verdict, shipped::DecideError> {
    shipped::decide(&t.partner, &t.customer, &t.subscription, t.as_of)
}

fn bench(c: &mut Criterion) {
    let policy = Policy::builtin().expect("shipped policy loads");
    let n: usize = std::env::var("DECIDE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let later: u64 = std::env::var("DECIDE_LATER_PERCENT").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let subs = common::generate_dated(n, 42, later);
    let hand: Vec<(common::Typed, i64)> =
        subs.iter().map(|(s, x)| (common::typed_dated(s, x), common::AS_OF_DAYS_FROM_CE + x.as_of_offset)).collect();
    let gen_facts: Vec<Typed> = subs.iter().enumerate().map(|(i, (s, x))| typed(i, s, x)).collect();
    let text: String = subs.iter().enumerate().map(|(i, (s, x))| common::json_line_dated(i, s, x) + "\n").collect();
    // The interpreter's facts in one arena, as benches/decide.rs holds them, with each one's date.
    let mut arena: Vec<Value> = Vec::new();
    let mut ranges = Vec::with_capacity(n);
    for d in parse(policy.schema(), &text, Format::JsonLines, "generated") {
        let item = d.entries.into_iter().next().unwrap().values.unwrap();
        let a = arena.len();
        arena.extend(d.shared.unwrap());
        let b = arena.len();
        arena.extend(item);
        ranges.push((a..b, b..arena.len(), d.as_of.unwrap()));
    }
    let slots: Vec<(&[Value], &[Value], Date)> =
        ranges.iter().map(|(d, i, day)| (&arena[d.clone()], &arena[i.clone()], *day)).collect();

    // Cross-check: the three agree on every subscription (action, parameters, rule).
    for ((t, (h, day)), &(shared, item, date)) in gen_facts.iter().zip(&hand).zip(&slots) {
        assert_eq!(Date::from_naive(t.as_of), date);
        assert_eq!(date.days(), *day);
        let g = generated(t);
        let i = policy.evaluate(shared, item, date);
        let h = common::decide(h, *day);
        match (&g, &i, &h) {
            (Ok(g), Ok(i), Ok(h)) => {
                assert_eq!(g.action(), i.action());
                assert_eq!(g.action(), h.action());
                assert_eq!(g.rule().id(), i.rule_id());
                let d = handover::Decision::from_verdict(i);
                let json = serde_json::to_value(g).unwrap();
                for (name, value) in &d.params {
                    assert_eq!(&json[name], value, "{name} of {}", g.action());
                }
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
            for (t, day) in &hand {
                if let Ok(v) = common::decide(black_box(t), *day) {
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
                if let Ok(v) = generated(black_box(t)) {
                    acc += v.action().len() as u64;
                }
            }
            acc
        })
    });
    g.bench_function(BenchmarkId::new("interpreter", n), |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for &(shared, item, day) in &slots {
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
