#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! End to end batch throughput: JSON Lines in, JSON Lines out, for 100,000 generated
//! subscriptions held in memory (so the disk is not measured), one a line (the generator's
//! inventory) and ten a line (a customer's subscriptions in one document), side by side with a
//! hand-written pipeline on the same bytes: serde_json into typed structs, the hand-written
//! `match`, serde_json out (`serde_pipeline`). The hand-written one runs on one thread and on
//! all cores (rayon, blocks of lines in input order); handover's batch evaluator on all cores,
//! as the CLI runs it.

use std::io::Cursor;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use handover::{Date, Policy};

mod common;
#[path = "serde_pipeline/mod.rs"]
mod serde_pipeline;
#[path = "shapes/mod.rs"]
mod shapes;

fn bench(c: &mut Criterion) {
    let policy = Policy::builtin().expect("shipped policy");
    let n = 100_000;
    let subs = common::generate(n, 7);
    let today = Date::parse("2024-03-15").unwrap();
    let json_lines = handover::output::jsonl::JsonLines::new(&policy);

    let mut g = c.benchmark_group("pipeline_jsonl_100k");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    for per_line in [1, 10] {
        let input = shapes::json_lines(&subs, 0, per_line);
        let handover_run = |out: &mut Vec<u8>| {
            // As the CLI writes JSON Lines: each block of documents into one buffer, the
            // buffers written in order and handed back for later blocks.
            let batch = handover::output::jsonl::Batch::new(&json_lines, false);
            let run = handover::batch::Run {
                policy: &policy,
                source: "generated",
                as_of: None,
                today,
                decide: &batch,
                max_line_bytes: handover::batch::DEFAULT_MAX_LINE_BYTES,
            };
            let mut reader = Cursor::new(input.as_bytes());
            run.json_lines(&mut reader, &mut |blocks, _| {
                for block in blocks {
                    out.extend_from_slice(&block.bytes);
                    batch.recycle(block);
                }
                Ok(())
            })
            .unwrap()
        };
        // All three produce one line per subscription.
        let (mut a, mut b, mut h) = (Vec::new(), Vec::new(), Vec::new());
        assert_eq!(serde_pipeline::serial(&input, &mut a), n);
        assert_eq!(serde_pipeline::parallel(&input, &mut b), n);
        assert_eq!(a, b);
        handover_run(&mut h);
        assert_eq!(h.iter().filter(|c| **c == b'\n').count(), n);

        let shape = format!("{per_line}_per_line");
        g.bench_function(BenchmarkId::new("hand_written_serde_match_1_thread", &shape), |bch| {
            bch.iter(|| {
                let mut out = Vec::with_capacity(64 << 20);
                serde_pipeline::serial(&input, &mut out)
            })
        });
        g.bench_function(BenchmarkId::new("hand_written_serde_match_all_cores", &shape), |bch| {
            bch.iter(|| {
                let mut out = Vec::with_capacity(64 << 20);
                serde_pipeline::parallel(&input, &mut out)
            })
        });
        g.bench_function(BenchmarkId::new("handover_batch_all_cores", &shape), |bch| {
            bch.iter(|| {
                let mut out = Vec::with_capacity(64 << 20);
                handover_run(&mut out)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
