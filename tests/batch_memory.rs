//! Peak memory of `handover eval --format jsonl` on large inventories, measured on the binary
//! itself, without timing: the inputs are read in chunks bounded by bytes, so the memory a run
//! holds grows neither with the input's size nor with its documents' (one subscription a line
//! or a hundred).
//!
//! Each run is given the inventories and then standard input, kept open: once every output line
//! of the inventories has arrived, the process waits for more input, still alive, and its peak
//! resident size (`VmHWM` in `/proc/PID/status`) covers the whole of their evaluation.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/shapes/mod.rs"]
mod shapes;
mod util;

/// Peak resident size, in bytes, of a live process.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/PID/status");
    let kb: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().unwrap();
    kb * 1024
}

/// Runs `handover eval --format jsonl FILES... -` in `dir` until `expected` lines of output have
/// come, and returns its peak resident size then and the bytes of those lines; then ends it.
fn peak_of(dir: &Path, files: &[&str], expected: usize) -> (u64, usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(["eval", "--format", "jsonl", "--input", "jsonl"])
        .args(files)
        .arg("-")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(600)).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (mut lines, mut bytes, mut decided) = (0usize, 0usize, 0usize);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while lines < expected {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines += 1;
        bytes += line.len();
        decided += usize::from(line.contains("\"action\":"));
    }
    // Every inventory evaluated, the process waits on standard input.
    let peak = (lines == expected).then(|| peak_rss(pid));
    drop(child.stdin.take());
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let _ = done.send(());
    guard.join().unwrap();
    let errors = errors.join().unwrap();
    assert!(!errors.contains("panicked"), "{errors}");
    assert_eq!(lines, expected, "exit {status:?}: {errors}");
    assert_eq!(decided, expected, "every subscription is decided");
    (peak.unwrap(), bytes)
}

#[test]
fn eval_jsonl_memory_is_bounded_whatever_the_documents_shape() {
    // 300,000 subscriptions a hundred a line (33 MB), then 50,000 one a line (16 MB).
    let hundred = shapes::json_lines(&common::generate(300_000, 1), 0, 100);
    let one = shapes::json_lines(&common::generate(50_000, 2), 300_000, 1);
    let small = shapes::json_lines(&common::generate(100, 3), 0, 10);
    let input_bytes = hundred.len() + one.len();
    let dir = util::Scratch::new(
        "batch-memory",
        &[("hundred.jsonl", hundred.as_bytes()), ("one.jsonl", one.as_bytes()), ("small.jsonl", small.as_bytes())],
    );
    drop((hundred, one, small));

    // What the binary holds to decide anything at all (the policy, its code, the threads).
    let (idle, _) = peak_of(dir.path(), &["small.jsonl"], 100);
    let (peak, output_bytes) = peak_of(dir.path(), &["hundred.jsonl", "one.jsonl"], 350_000);
    // Holding the input, or the outputs of one input, would take more than the bound.
    assert!(input_bytes > 45 << 20 && output_bytes > 128 << 20, "input {input_bytes} B, output {output_bytes} B");
    let held = peak.saturating_sub(idle);
    eprintln!("idle {idle} B, peak {peak} B");
    assert!(held < 48 << 20, "{} MB held past the {} MB of a small run", held >> 20, idle >> 20);
}
