#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

//! Load figures for `handover serve`, on loopback only, bounded in requests and time: the real
//! binary is started on 127.0.0.1 with an ephemeral port and driven by keep-alive HTTP/1.1
//! clients (one thread and one connection each) at concurrency 1, 16 and 64, for a
//! one-subscription document and a 100-subscription one. Beside them, in the same run, the
//! library's own rate for the same documents (`Policy::evaluate_text` plus `output::render`, one
//! thread): the HTTP figures are read as a ratio against it.
//!
//! `cargo bench --bench serve` (not part of the test command). Client and server share the
//! machine's cores, so the figures are a floor for a server on a machine of its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use handover::facts::Format as FactFormat;
use handover::output::{Format, render};
use handover::{Date, Policy};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

/// Requests per level are bounded by count, and each level by time.
const LEVEL_TIME: Duration = Duration::from_secs(8);

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").expect("the server printed its address").to_string();
    Server(child, addr)
}

/// One keep-alive connection sending the same request again and again.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    request: Vec<u8>,
}

impl Client {
    fn new(addr: &str, path: &str, body: &[u8]) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut request = if body.is_empty() {
            format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes()
        } else {
            format!(
                "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes()
        };
        request.extend_from_slice(body);
        Client { reader: BufReader::new(s.try_clone().unwrap()), writer: s, request }
    }

    /// Sends the request and reads the answer; its status.
    fn call(&mut self) -> std::io::Result<u16> {
        self.writer.write_all(&self.request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(status)
    }
}

struct Figures {
    requests: usize,
    errors: usize,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// `total` requests (at most) from `concurrency` clients, for at most [`LEVEL_TIME`].
fn load(addr: &str, path: &str, body: &[u8], concurrency: usize, total: usize) -> Figures {
    let start = Instant::now();
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let (addr, path, body) = (addr.to_string(), path.to_string(), body.to_vec());
            let share = total / concurrency;
            std::thread::spawn(move || {
                let mut client = Client::new(&addr, &path, &body);
                let mut took = Vec::with_capacity(share);
                let mut errors = 0;
                let begun = Instant::now();
                for _ in 0..share {
                    if begun.elapsed() > LEVEL_TIME {
                        break;
                    }
                    let t = Instant::now();
                    match client.call() {
                        Ok(200) => took.push(t.elapsed()),
                        _ => {
                            errors += 1;
                            client = Client::new(&addr, &path, &body);
                        }
                    }
                }
                (took, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (took, e) = t.join().unwrap();
        all.extend(took);
        errors += e;
    }
    let wall = start.elapsed();
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    Figures {
        requests: all.len(),
        errors,
        per_sec: all.len() as f64 / wall.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// The library's own rate for one document: decided and rendered as the server does, one thread.
fn library_rate(policy: &Policy, body: &str) -> f64 {
    let today = Date::parse("2026-01-01").unwrap();
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..100 {
            let records = policy.evaluate_text(body, FactFormat::Json, "request", None, today);
            std::hint::black_box(render(Format::Json, records, None, today).unwrap());
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn document(n: usize) -> String {
    let subs = common::generate(n, 7);
    let items: Vec<String> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let term = s.term_offset.map(|o| format!(r#","term_end":"{}""#, common::date_text(o))).unwrap_or_default();
            format!(
                r#"{{"id":"sub-{i}","service":"{}","channel":"{}","cancelled":{}{term}}}"#,
                s.service, s.channel, s.cancelled
            )
        })
        .collect();
    format!(
        r#"{{"as_of":"2024-03-15","partner":{{"role":"sales_agent","type":"direct_bill"}},"customer":{{"name":"Contoso","cloud":"commercial","is_csp_partner":false}},"subscriptions":[{}]}}"#,
        items.join(",")
    )
}

fn main() {
    // `cargo test --benches` runs benches with `--bench` absent: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let policy = Policy::builtin().unwrap();
    let server = start();
    let docs = [("1 subscription", document(1), 20_000usize), ("100 subscriptions", document(100), 4_000)];
    println!("handover serve on {} (2 cores shared by server and clients)", server.1);
    for (name, body, total) in &docs {
        // Every entry decided: the documents are valid.
        let records = policy.evaluate_text(body, FactFormat::Json, "request", None, Date::parse("2026-01-01").unwrap());
        assert!(records.iter().all(|(_, r)| r.outcome.is_ok()), "{name}: the document has errors");
        let lib = library_rate(&policy, body);
        println!("\n{name} ({} bytes): library evaluate_text + render, 1 thread: {lib:.0} documents/s", body.len());
        println!("  concurrency  requests  errors  requests/s  ratio to library  p50 µs  p99 µs");
        for c in [1, 16, 64] {
            let f = load(&server.1, "/v1/evaluate", body.as_bytes(), c, *total);
            println!(
                "  {c:>11}  {:>8}  {:>6}  {:>10.0}  {:>16.2}  {:>6}  {:>6}",
                f.requests,
                f.errors,
                f.per_sec,
                f.per_sec / lib,
                f.p50.as_micros(),
                f.p99.as_micros()
            );
            assert_eq!(f.errors, 0, "{name}, concurrency {c}: requests failed");
        }
    }
    let f = load(&server.1, "/healthz", b"", 16, 20_000);
    println!(
        "\nGET /healthz at concurrency 16 (HTTP alone): {:.0} requests/s, p50 {} µs, p99 {} µs",
        f.per_sec,
        f.p50.as_micros(),
        f.p99.as_micros()
    );
    drop(server);
}
