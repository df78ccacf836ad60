//! Writes a generated inventory for the shipped policy to standard output, for trying the batch
//! path at scale:
//!
//!     cargo run --release --example gen_inventory -- 1000000 jsonl > /tmp/inventory.jsonl
//!     cargo run --release --example gen_inventory -- 1000000 csv > /tmp/inventory.csv
//!     cargo run --release --example gen_inventory -- 1000000 jsonl 10 > /tmp/inventory-10.jsonl
//!
//! The subscriptions are the benchmarks' (deterministic, seed 42); the third argument groups
//! that many subscriptions to a JSON Lines document (one customer's, 1 by default).

use std::io::{BufWriter, Write};

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/shapes/mod.rs"]
mod shapes;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let format = args.next().unwrap_or_else(|| "jsonl".into());
    let per_line: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    if format == "csv" {
        writeln!(out, "{}", common::CSV_HEADER)?;
    }
    // Generate in blocks so memory stays small for any n (a whole number of lines each).
    let block = (100_000 / per_line).max(1) * per_line;
    let mut done = 0;
    let mut seed = 42;
    while done < n {
        let m = block.min(n - done);
        let subs = common::generate(m, seed);
        if format == "csv" {
            for (j, s) in subs.iter().enumerate() {
                writeln!(out, "{}", common::csv_row(done + j, s))?;
            }
        } else if per_line == 1 {
            for (j, s) in subs.iter().enumerate() {
                writeln!(out, "{}", common::json_line(done + j, s))?;
            }
        } else {
            out.write_all(shapes::json_lines(&subs, done, per_line).as_bytes())?;
        }
        done += m;
        seed += 1;
    }
    out.flush()
}
