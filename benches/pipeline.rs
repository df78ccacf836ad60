#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! End to end batch throughput: JSON Lines in, JSON Lines out, for 100,000 generated
//! subscriptions held in memory (so the disk is not measured), side by side with a
//! hand-written pipeline on the same bytes: serde_json into typed structs, the hand-written
//! `match`, serde_json out. The baseline runs on one thread, handover's batch evaluator on all
//! cores (rayon), as the CLI does.

use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use handover::{Date, Policy};
use serde::{Deserialize, Serialize};

mod common;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc<'a> {
    #[serde(borrow)]
    as_of: &'a str,
    #[serde(borrow)]
    partner: Partner<'a>,
    #[serde(borrow)]
    customer: Customer<'a>,
    #[serde(borrow)]
    subscriptions: Vec<Sub<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Partner<'a> {
    role: &'a str,
    #[serde(rename = "type")]
    ptype: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Customer<'a> {
    name: &'a str,
    cloud: &'a str,
    is_csp_partner: bool,
    csp_transaction_tenant: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sub<'a> {
    id: &'a str,
    service: &'a str,
    channel: &'a str,
    cancelled: bool,
    term_end: Option<&'a str>,
}

#[derive(Serialize)]
struct Out<'a> {
    source: &'a str,
    customer: &'a str,
    subscription: &'a str,
    action: &'static str,
    rule: &'static str,
    reason: &'static str,
}

/// The hand-written pipeline: parse, decide, write, line by line.
fn baseline(input: &str, out: &mut Vec<u8>) -> usize {
    let mut n = 0;
    for line in input.lines() {
        let doc: Doc<'_> = serde_json::from_str(line).expect("valid generated line");
        let date = |s: &str| Date::parse(s).expect("valid date").days();
        let as_of = date(doc.as_of);
        for s in &doc.subscriptions {
            let sub = common::Sub {
                role: common::ROLES.iter().find(|r| **r == doc.partner.role).copied().unwrap_or("other"),
                ptype: common::TYPES.iter().find(|r| **r == doc.partner.ptype).copied().unwrap_or("direct_bill"),
                cloud: if doc.customer.cloud == "us_government" { "us_government" } else { "commercial" },
                is_csp: doc.customer.is_csp_partner,
                tenant: doc.customer.csp_transaction_tenant,
                service: if s.service == "license_based" { "license_based" } else { "usage_based" },
                channel: common::CHANNELS.iter().find(|c| **c == s.channel).copied().unwrap_or("unknown"),
                term_offset: s.term_end.map(|t| date(t) - as_of),
                cancelled: s.cancelled,
            };
            let verdict = common::decide(&common::typed(&sub), as_of);
            let action = verdict.map_or("error", |v| v.action());
            let o = Out {
                source: "generated",
                customer: doc.customer.name,
                subscription: s.id,
                action,
                rule: action,
                reason: "A reason of the length the shipped policy gives, so that both pipelines write \
                         about as many bytes per line: the customer waits for the term to end or \
                         cancels, and makes sure the subscription does not auto-renew meanwhile.",
            };
            serde_json::to_writer(&mut *out, &o).expect("write to memory");
            out.push(b'\n');
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let policy = Policy::builtin().expect("shipped policy");
    let n = 100_000;
    let input: String =
        common::generate(n, 7).iter().enumerate().map(|(i, s)| common::json_line(i, s) + "\n").collect();
    let today = Date::parse("2024-03-15").unwrap();

    let json_lines = handover::output::jsonl::JsonLines::new(&policy);
    let handover_run = |out: &mut Vec<u8>| {
        let decide = |doc: &handover::facts::Document, date: Date| {
            let mut buf = Vec::new();
            json_lines.write(doc, date, false, &mut buf);
            buf
        };
        let run = handover::batch::Run {
            policy: &policy,
            source: "generated",
            as_of: None,
            today,
            decide: &decide,
            max_line_bytes: handover::batch::DEFAULT_MAX_LINE_BYTES,
        };
        let mut reader = Cursor::new(input.as_bytes());
        run.json_lines(&mut reader, &mut |chunk, _| {
            for b in chunk {
                out.extend_from_slice(&b);
            }
            Ok(())
        })
        .unwrap()
    };
    // Both produce one line per subscription.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    assert_eq!(baseline(&input, &mut a), n);
    handover_run(&mut b);
    assert_eq!(b.iter().filter(|c| **c == b'\n').count(), n);

    let mut g = c.benchmark_group("pipeline_jsonl_100k");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function("hand_written_serde_match_1_thread", |bch| {
        bch.iter(|| {
            let mut out = Vec::with_capacity(64 << 20);
            baseline(&input, &mut out)
        })
    });
    g.bench_function("handover_batch_all_cores", |bch| {
        bch.iter(|| {
            let mut out = Vec::with_capacity(64 << 20);
            handover_run(&mut out)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
