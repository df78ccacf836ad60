//! The hand-written pipeline `handover eval --format jsonl` is measured against from outside:
//! serde_json into typed structs, the benchmarks' hand-written `match`, serde_json out, on all
//! cores, streamed as the batch evaluator streams (blocks of about a megabyte of lines, each
//! decided on the pool while this thread writes the one before and reads the one after):
//!
//!     cargo run --release --example gen_inventory -- 1000000 jsonl 10 > /tmp/inventory.jsonl
//!     cargo build --release --example serde_pipeline
//!     time target/release/examples/serde_pipeline /tmp/inventory.jsonl | cat > /dev/null
//!
//! It reads only the generator's documents (a malformed one is a panic).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, BufRead, BufReader, Write};

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/serde_pipeline/mod.rs"]
mod serde_pipeline;

/// Reads whole lines until about `BLOCK` bytes; empty at the end.
fn read_block(reader: &mut dyn BufRead) -> io::Result<Vec<u8>> {
    const BLOCK: usize = 1 << 20;
    let mut buf = Vec::with_capacity(BLOCK + (64 << 10));
    while buf.len() < BLOCK {
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
    }
    Ok(buf)
}

fn main() -> io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: serde_pipeline FILE");
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut next = read_block(&mut reader)?;
    let mut pending: Option<Vec<u8>> = None;
    let mut total = 0;
    while !next.is_empty() {
        let block = next;
        let (mut decided, mut read, mut written) = ((0, Vec::new()), Ok(Vec::new()), Ok(()));
        rayon::in_place_scope(|s| {
            s.spawn(|_| {
                let mut o = Vec::new();
                let n = serde_pipeline::parallel(std::str::from_utf8(&block).expect("UTF-8"), &mut o);
                decided = (n, o);
            });
            if let Some(p) = pending.take() {
                written = out.write_all(&p);
            }
            read = read_block(&mut reader);
        });
        written?;
        total += decided.0;
        pending = Some(decided.1);
        next = read?;
    }
    if let Some(p) = pending {
        out.write_all(&p)?;
    }
    out.flush()?;
    eprintln!("{total} subscriptions");
    Ok(())
}
