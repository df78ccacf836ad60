//! Writes a generated inventory for the shipped policy to standard output, for trying the batch
//! path at scale:
//!
//!     cargo run --release --example gen_inventory -- 1000000 jsonl > /tmp/inventory.jsonl
//!     cargo run --release --example gen_inventory -- 1000000 csv > /tmp/inventory.csv
//!
//! The subscriptions are the benchmarks' (deterministic, seed 42).

use std::io::{BufWriter, Write};

#[path = "../benches/common/mod.rs"]
mod common;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let format = args.next().unwrap_or_else(|| "jsonl".into());
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    if format == "csv" {
        writeln!(out, "{}", common::CSV_HEADER)?;
    }
    // Generate in blocks so memory stays small for any n.
    let block = 100_000;
    let mut done = 0;
    let mut seed = 42;
    while done < n {
        let m = block.min(n - done);
        for (j, s) in common::generate(m, seed).iter().enumerate() {
            let i = done + j;
            if format == "csv" {
                writeln!(out, "{}", common::csv_row(i, s))?;
            } else {
                writeln!(out, "{}", common::json_line(i, s))?;
            }
        }
        done += m;
        seed += 1;
    }
    out.flush()
}
