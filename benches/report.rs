#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Report rendering at scale: the same 10,000 decided subscriptions (generated, deterministic)
//! written as the HTML report, the Markdown report, CSV, and the JSON document, in the same run.
//! The JSON document is the baseline: the figure to report is each report's time over it.
//! Deciding is not measured (the records are decided once, before timing).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use handover::output::{Format, ResultWriter};
use handover::{Date, Policy};

mod common;

const N: usize = 10_000;

fn records(policy: &Policy) -> Vec<(Date, handover::Record)> {
    let text: String =
        common::generate(N, 42).iter().enumerate().map(|(i, s)| common::json_line(i, s) + "\n").collect();
    let today = Date::parse("2024-03-15").unwrap();
    policy.evaluate_text(&text, handover::facts::Format::JsonLines, "inventory.jsonl", None, today)
}

fn render(policy: &Policy, format: Format, records: Vec<(Date, handover::Record)>) -> Vec<u8> {
    let today = Date::parse("2024-03-15").unwrap();
    let mut out = Vec::with_capacity(8 << 20);
    let mut w = ResultWriter::new(format, None, today, false).with_policy(policy);
    for (d, r) in records {
        w.push(d, r, &mut out).unwrap();
    }
    w.finish(&mut out).unwrap();
    out
}

fn bench(c: &mut Criterion) {
    let policy = Policy::builtin().unwrap();
    let records = records(&policy);
    assert_eq!(records.len(), N);
    for (name, format) in
        [("json", Format::Json), ("html", Format::Html), ("markdown", Format::Markdown), ("csv", Format::Csv)]
    {
        let bytes = render(&policy, format, records.clone()).len();
        eprintln!("{name}: {bytes} bytes for {N} subscriptions");
    }
    let mut g = c.benchmark_group("report_10k");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    for (name, format) in
        [("json", Format::Json), ("html", Format::Html), ("markdown", Format::Markdown), ("csv", Format::Csv)]
    {
        g.bench_function(name, |b| {
            b.iter_batched(|| records.clone(), |r| render(&policy, format, r), BatchSize::LargeInput)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
