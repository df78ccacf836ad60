//! `handover serve` driven over real HTTP: the binary is started on 127.0.0.1 with an ephemeral
//! port (it prints the address it bound) and a real client (ureq, and raw sockets for what a
//! client library will not send) calls every route, every error status, hostile bodies, and a
//! reload under load. Every server is killed by a guard; every loop is bounded in count and time.

#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use util::Scratch;

const CONTOSO: &str = include_str!("../examples/contoso.yaml");

/// A running `handover serve`, killed when dropped.
struct Server {
    child: Child,
    /// `127.0.0.1:PORT`
    addr: String,
    log: PathBuf,
    _dir: Scratch,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let dir = Scratch::new("serve", &[]);
        let log = dir.path().join("server.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_handover"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // A guard against a server that never starts, not a measure of how fast it starts.
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Some(addr) = line.trim().strip_prefix("listening on http://").map(str::to_string) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start: {line:?}\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        Server { child, addr, log, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build()
}

/// An answer: status, the headers that matter here, body.
#[derive(Debug)]
struct Answer {
    status: u16,
    policy: Option<String>,
    exit: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> Answer {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("no answer: {e}"),
    };
    let status = resp.status();
    let policy = resp.header("x-handover-policy").map(str::to_string);
    let exit = resp.header("x-handover-exit-status").map(str::to_string);
    let content_type = resp.header("content-type").map(str::to_string);
    let mut body = String::new();
    resp.into_reader().read_to_string(&mut body).unwrap();
    Answer { status, policy, exit, content_type, body }
}

fn post(server: &Server, path: &str, content_type: &str, body: &[u8]) -> Answer {
    answer(agent().post(&server.url(path)).set("content-type", content_type).send_bytes(body))
}

fn get(server: &Server, path: &str) -> Answer {
    answer(agent().get(&server.url(path)).call())
}

/// `handover ARGS` with `stdin`: (stdout, exit code).
fn cli(args: &[&str], stdin: &[u8]) -> (String, i32) {
    let dir = Scratch::new("serve-cli", &[]);
    let out = util::run_in(dir.path(), args, stdin, Duration::from_secs(120));
    (String::from_utf8(out.stdout).unwrap(), out.status.code().unwrap_or(-1))
}

/// A raw HTTP/1.1 exchange: writes `head` and `body` (the body in pieces of `piece` bytes with
/// `pause` between them) while reading the answer, and stops writing once the server has
/// answered and closed. Returns the status and the text.
fn raw(addr: &str, head: &str, body: &[u8], piece: usize, pause: Duration) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut reader = s.try_clone().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let read = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = reader.read_to_end(&mut text);
        flag.store(true, Ordering::Relaxed);
        String::from_utf8_lossy(&text).to_string()
    });
    let _ = s.write_all(head.as_bytes());
    for chunk in body.chunks(piece.max(1)) {
        if done.load(Ordering::Relaxed) || s.write_all(chunk).is_err() {
            // The server answered and closed early (a refused body).
            break;
        }
        std::thread::sleep(pause);
    }
    let text = read.join().unwrap();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

// ---------------------------------------------------------------------------------------------
// Routes

#[test]
fn evaluate_answers_exactly_what_eval_prints() {
    let server = Server::start(&[]);
    let a = post(&server, "/v1/evaluate?as_of=2024-03-15&source=%3Cstdin%3E", "application/yaml", CONTOSO.as_bytes());
    assert_eq!(a.status, 200, "{}", a.body);
    let (expected, code) = cli(&["eval", "--format", "json", "--as-of", "2024-03-15", "-"], CONTOSO.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(a.body, expected, "the body is the CLI's document, byte for byte");
    assert_eq!(a.exit.as_deref(), Some("0"));
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    assert!(a.policy.as_deref().is_some_and(|p| p.starts_with("sha256:")), "{:?}", a.policy);

    // The same document as JSON; the document's own date without `as_of`.
    let value: serde_yaml::Value = serde_yaml::from_str(CONTOSO).unwrap();
    let json = serde_json::to_vec(&value).unwrap();
    let b = post(&server, "/v1/evaluate", "application/json; charset=utf-8", &json);
    assert_eq!(b.status, 200, "{}", b.body);
    let (doc_a, doc_b) = (a.json(), b.json());
    assert_eq!(doc_b["as_of"], "2024-03-15");
    for (x, y) in doc_a["results"].as_array().unwrap().iter().zip(doc_b["results"].as_array().unwrap()) {
        assert_eq!((&x["subscription"], &x["action"], &x["params"]), (&y["subscription"], &y["action"], &y["params"]));
        assert_eq!(y["source"], "request");
    }

    // `as_of` overrides the document's date.
    let c = post(&server, "/v1/evaluate?as_of=2030-01-01", "application/yaml", CONTOSO.as_bytes());
    assert_eq!(c.json()["as_of"], "2030-01-01");
    assert_ne!(c.json()["results"], a.json()["results"], "another date, other verdicts");
}

const PARTLY_BAD: &str = "\
as_of: 2024-03-15
partner: { role: admin_agent }
subscriptions:
  - { id: good, service: license_based, channel: open }
  - { id: bad, service: license_based, channel: fifty }
";

#[test]
fn a_partly_bad_document_is_200_with_the_errors_inside_and_exit_status_1() {
    let server = Server::start(&[]);
    let a = post(&server, "/v1/evaluate?source=%3Cstdin%3E", "application/yaml", PARTLY_BAD.as_bytes());
    let (expected, code) = cli(&["eval", "--format", "json", "-"], PARTLY_BAD.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, expected);
    assert_eq!(a.exit.as_deref(), Some("1"), "the CLI's exit status");
    let results = a.json()["results"].as_array().unwrap().clone();
    assert!(results[0]["action"].is_string());
    assert!(results[1]["error"].as_str().unwrap().contains("unknown value `fifty`"));
}

#[test]
fn a_body_that_is_not_a_fact_document_is_400_with_the_clis_error_text() {
    let server = Server::start(&[]);
    let cases: [(&str, &str, &str); 4] = [
        ("application/json", "{\"partner\": ", "json"),
        ("application/yaml", "partner: [unclosed\n", "yaml"),
        ("application/yaml", "as_of: 2024-03-15\npartner: { role: emperor }\nsubscriptions: []\n", "yaml"),
        ("application/json", "[1, 2, 3]", "json"),
    ];
    for (content_type, body, input) in cases {
        let a = post(&server, "/v1/evaluate?source=%3Cstdin%3E", content_type, body.as_bytes());
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        let (out, code) = cli(&["eval", "--format", "json", "--input", input, "-"], body.as_bytes());
        assert_eq!(code, 1, "{out}");
        let cli_doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let cli_error = cli_doc["results"][0]["error"].as_str().unwrap().to_string();
        let err = a.json();
        assert_eq!(err["details"][0]["error"].as_str(), Some(cli_error.as_str()), "{body}");
        assert_eq!(err["details"][0]["source"], "<stdin>");
        assert!(err["details"][0]["code"].as_str().unwrap().starts_with("facts::"), "{err}");
        assert!(err["error"].as_str().unwrap().ends_with(&cli_error));
    }
}

#[test]
fn ndjson_streams_one_line_per_entry_as_eval_jsonl_does() {
    let server = Server::start(&[]);
    let value: serde_yaml::Value = serde_yaml::from_str(CONTOSO).unwrap();
    let line = serde_json::to_string(&value).unwrap();
    let body = format!("{line}\nnot json\n\n{line}\n");
    let a = post(&server, "/v1/evaluate?source=%3Cstdin%3E", "application/x-ndjson", body.as_bytes());
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type.as_deref(), Some("application/x-ndjson"));
    let (expected, code) = cli(&["eval", "--format", "jsonl", "--input", "jsonl", "-"], body.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(a.body, expected, "the CLI's JSON Lines, line for line");
    assert_eq!(a.body.lines().count(), 2 * 8 + 1, "8 entries twice and the bad line");

    // Larger than one chunk: the stream holds every line, in order.
    let many: String = (0..400).map(|_| format!("{line}\n")).collect();
    let b = post(&server, "/v1/evaluate", "application/x-ndjson", many.as_bytes());
    assert_eq!(b.status, 200);
    let lines: Vec<&str> = b.body.lines().collect();
    assert_eq!(lines.len(), 400 * 8);
    assert!(lines.last().unwrap().contains("\"source\":\"request:400\""));
}

#[test]
fn explain_answers_what_explain_prints() {
    let server = Server::start(&[]);
    let a = post(&server, "/v1/explain?id=contoso-m365&source=%3Cstdin%3E", "application/yaml", CONTOSO.as_bytes());
    assert_eq!(a.status, 200, "{}", a.body);
    let (expected, code) = cli(&["explain", "--format", "json", "--id", "contoso-m365", "-"], CONTOSO.as_bytes());
    assert_eq!(code, 0);
    let (got, want): (serde_json::Value, serde_json::Value) = (a.json(), serde_json::from_str(&expected).unwrap());
    assert_eq!(got, want);
    assert_eq!(a.exit.as_deref(), Some("0"));
    assert_eq!(got[0]["explanation"]["rule"], "license_elsewhere_term_running");

    let all = post(&server, "/v1/explain", "application/yaml", CONTOSO.as_bytes());
    assert_eq!(all.json().as_array().unwrap().len(), 8);
    let missing = post(&server, "/v1/explain?id=nobody", "application/yaml", CONTOSO.as_bytes());
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].as_str().unwrap().contains("`nobody`"));
    let stream = post(&server, "/v1/explain", "application/x-ndjson", b"{}\n");
    assert_eq!(stream.status, 415);
}

#[test]
fn policy_health_readiness_metrics_and_openapi() {
    let server = Server::start(&[]);
    let p = get(&server, "/v1/policy");
    assert_eq!(p.status, 200);
    let info = p.json();
    assert!(info["identity"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(p.policy.as_deref(), info["identity"].as_str());
    assert_eq!(info["rules"], "built-in");
    let rule_ids: Vec<&str> = info["rule_ids"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(rule_ids.contains(&"license_elsewhere_term_running"), "{rule_ids:?}");
    let actions = info["actions"].as_array().unwrap();
    let wait = actions.iter().find(|a| a["name"] == "wait_for_term_end_or_cancel").unwrap();
    assert_eq!(wait["params"][0], serde_json::json!({"name": "until", "type": "date"}));
    let (schema, code) = cli(&["schema"], b"");
    assert_eq!(code, 0);
    assert_eq!(info["fact_schema"], serde_json::from_str::<serde_json::Value>(&schema).unwrap());
    assert_eq!(info["reload"]["failures"], 0);

    let h = get(&server, "/healthz");
    assert_eq!((h.status, h.json()["status"].as_str()), (200, Some("ok")));
    let r = get(&server, "/readyz");
    assert_eq!((r.status, r.json()["status"].as_str()), (200, Some("ready")));
    assert_eq!(r.json()["policy"], info["identity"]);

    post(&server, "/v1/evaluate", "application/yaml", CONTOSO.as_bytes());
    post(&server, "/v1/evaluate", "application/yaml", PARTLY_BAD.as_bytes());
    post(&server, "/v1/evaluate", "text/plain", b"x");
    let m = get(&server, "/metrics");
    assert_eq!(m.status, 200);
    assert!(m.content_type.as_deref().unwrap().starts_with("text/plain; version=0.0.4"));
    for line in [
        "handover_http_requests_total{route=\"/v1/evaluate\",method=\"POST\",status=\"200\"} 2",
        "handover_http_requests_total{route=\"/v1/evaluate\",method=\"POST\",status=\"415\"} 1",
        "handover_http_request_duration_seconds_count{route=\"/v1/evaluate\",method=\"POST\",status=\"200\"} 2",
        "handover_verdicts_total{action=\"wait_for_term_end_or_cancel\",rule=\"license_elsewhere_term_running\"} 2",
        "handover_entry_errors_total 1",
        "handover_policy_reloads_total{result=\"error\"} 0",
    ] {
        assert!(m.body.lines().any(|l| l == line), "no `{line}` in\n{}", m.body);
    }
    assert!(m.body.contains("handover_http_request_duration_seconds_bucket{route=\"/v1/evaluate\",method=\"POST\",status=\"200\",le=\"+Inf\"} 2"));

    let o = get(&server, "/v1/openapi.json");
    assert_eq!(o.status, 200);
    let doc = o.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/v1/evaluate", "/v1/explain", "/v1/policy", "/healthz", "/readyz", "/metrics", "/v1/openapi.json"] {
        assert!(doc["paths"][path].is_object(), "{path} is not in the OpenAPI document");
    }
    let statuses = doc["paths"]["/v1/evaluate"]["post"]["responses"].as_object().unwrap();
    for s in ["200", "400", "408", "413", "415", "503"] {
        assert!(statuses.contains_key(s), "{s}");
    }
    assert!(doc["components"]["schemas"]["PolicyInfo"].is_object());
}

// ---------------------------------------------------------------------------------------------
// Errors and limits

#[test]
fn every_client_error_has_its_status_and_a_message() {
    let server = Server::start(&["--max-body", "4096"]);
    let cases: Vec<(Answer, u16, &str)> = vec![
        (post(&server, "/v1/evaluate", "text/plain", b"x"), 415, "not a fact format"),
        (answer(agent().post(&server.url("/v1/evaluate")).send_bytes(b"{}")), 415, "no Content-Type"),
        (post(&server, "/v1/evaluate?as_of=tomorrow", "application/json", b"{}"), 400, "`tomorrow` is not a date"),
        (post(&server, "/v1/evaluate?asof=2024-01-01", "application/json", b"{}"), 400, "unknown field `asof`"),
        (post(&server, "/v1/evaluate", "application/json", &[b'{', 0xff, 0xfe, b'}']), 400, "not UTF-8"),
        (post(&server, "/v1/evaluate", "application/json", &vec![b' '; 5000]), 413, "limit of 4096 bytes"),
        (get(&server, "/v1/nothing"), 404, "no route `GET /v1/nothing`"),
        (get(&server, "/v1/evaluate"), 405, ""),
    ];
    for (a, status, text) in cases {
        assert_eq!(a.status, status, "{}", a.body);
        assert!(a.body.contains(text), "`{text}` not in {}", a.body);
        if status != 405 {
            assert!(a.json()["error"].is_string());
        }
    }
    // A body over the limit that announces no length (chunked) is refused too.
    let chunked = "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let mut body = Vec::new();
    for _ in 0..10 {
        body.extend_from_slice(b"400\r\n");
        body.extend_from_slice(&[b' '; 0x400]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let (status, text) = raw(&server.addr, chunked, &body, body.len(), Duration::ZERO);
    assert_eq!(status, 413, "{text}");
    assert_eq!(get(&server, "/healthz").status, 200);
}

#[test]
fn hostile_bodies_get_4xx_and_the_server_stays_up() {
    let server = Server::start(&[]);
    let deep_json = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let deep_yaml = format!("{}1\n", "- ".repeat(100_000));
    let flow_yaml = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                  g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    let huge_id = format!(
        "{{\"as_of\":\"2024-03-15\",\"partner\":{{\"role\":\"admin_agent\"}},\"subscriptions\":[{{\"id\":\"{}\",\
         \"service\":\"license_based\",\"channel\":\"open\"}}]}}",
        "x".repeat(8 * 1024 * 1024)
    );
    let huge_key = format!("{{\"{}\":1}}", "k".repeat(4 * 1024 * 1024));
    let many_entries = format!(
        "{{\"as_of\":\"2024-03-15\",\"partner\":{{\"role\":\"admin_agent\"}},\"subscriptions\":[{}]}}",
        vec!["{\"id\":\"s\",\"service\":\"license_based\",\"channel\":\"open\"}"; 20_000].join(",")
    );
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("deep JSON arrays", "application/json", deep_json.into_bytes()),
        ("deep JSON objects", "application/json", deep_object.into_bytes()),
        ("deep YAML", "application/yaml", deep_yaml.into_bytes()),
        ("deep YAML flow", "application/yaml", flow_yaml.into_bytes()),
        ("YAML aliases", "application/yaml", laughs.as_bytes().to_vec()),
        ("a NUL byte", "application/json", b"{\"a\":\"\0\"}".to_vec()),
        ("invalid UTF-8 in a string", "application/yaml", b"partner: { role: \"\xc3\x28\" }\n".to_vec()),
        ("a huge key", "application/json", huge_key.into_bytes()),
        ("deep NDJSON line", "application/x-ndjson", format!("{}\n", "[".repeat(100_000)).into_bytes()),
    ];
    for (what, content_type, body) in cases {
        let a = post(&server, "/v1/evaluate", content_type, &body);
        // A JSON Lines line is an entry of a batch: its error is a line of a 200 answer.
        let expected = if content_type == "application/x-ndjson" { 200..201 } else { 400..401 };
        assert!(expected.contains(&a.status), "{what}: {} {}", a.status, a.body.chars().take(300).collect::<String>());
        assert!(a.body.contains("error"), "{what}: {}", a.body.chars().take(300).collect::<String>());
        assert_eq!(get(&server, "/healthz").status, 200, "{what}: the server went down");
    }
    // Large but valid: decided, not refused.
    let a = post(&server, "/v1/evaluate", "application/json", huge_id.as_bytes());
    assert_eq!(a.status, 200, "{}", a.body.chars().take(300).collect::<String>());
    let b = post(&server, "/v1/evaluate", "application/json", many_entries.as_bytes());
    assert_eq!(b.status, 200);
    assert_eq!(b.json()["results"].as_array().unwrap().len(), 20_000);
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

/// A body that trickles in is cut off by the timeout (408); the server keeps answering others
/// meanwhile.
#[test]
fn a_slow_body_is_cut_off_by_the_timeout() {
    let server = Server::start(&["--timeout", "1"]);
    let body = CONTOSO.as_bytes();
    let head = format!(
        "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let addr = server.addr.clone();
    // 1 byte every 100 ms: the whole body would take minutes; the guard is its read timeout.
    let slow = std::thread::spawn(move || raw(&addr, &head, body, 1, Duration::from_millis(100)));
    // Meanwhile the server answers.
    assert_eq!(get(&server, "/healthz").status, 200);
    assert_eq!(post(&server, "/v1/evaluate", "application/yaml", CONTOSO.as_bytes()).status, 200);
    let (status, text) = slow.join().unwrap();
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("--timeout"), "{text}");
}

/// Past `--max-concurrency` decisions in flight, a request is answered 503 at once, not queued.
#[test]
fn over_the_concurrency_limit_is_503() {
    let server = Server::start(&["--max-concurrency", "1", "--timeout", "30"]);
    // Holds the only slot: its body never completes until the test ends.
    let mut holder = TcpStream::connect(&server.addr).unwrap();
    holder
        .write_all(
            b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .unwrap();
    // Bounded wait until the held request is in flight.
    let in_flight = "handover_http_requests_in_flight{route=\"/v1/evaluate\"} 1";
    let deadline = Instant::now() + Duration::from_secs(60);
    while !get(&server, "/metrics").body.contains(in_flight) {
        assert!(Instant::now() < deadline, "the held request never arrived: {}", get(&server, "/metrics").body);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut refused = None;
    // Until the held request has taken the slot (bounded).
    for _ in 0..500 {
        let a = post(&server, "/v1/evaluate", "application/yaml", CONTOSO.as_bytes());
        if a.status == 503 {
            refused = Some(a);
            break;
        }
        assert_eq!(a.status, 200, "{}", a.body);
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = refused.unwrap_or_else(|| {
        panic!("no request over the limit was answered 503:\n{}\n{}", get(&server, "/metrics").body, server.log())
    });
    assert!(refused.json()["error"].as_str().unwrap().contains("--max-concurrency"));
    // Routes outside the decision limit still answer.
    assert_eq!(get(&server, "/healthz").status, 200);
    assert_eq!(get(&server, "/metrics").status, 200);
    assert!(get(&server, "/metrics").body.contains("status=\"503\""));
    drop(holder);
    // The slot comes back once the held request is gone (bounded).
    let mut ok = false;
    for _ in 0..200 {
        if post(&server, "/v1/evaluate", "application/yaml", CONTOSO.as_bytes()).status == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ok, "the slot was never given back");
}

/// SIGTERM: readiness turns 503, the request in flight is answered, then the process exits 0.
#[test]
fn sigterm_drains_the_request_in_flight() {
    let mut server = Server::start(&[]);
    let body = CONTOSO.as_bytes();
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST /v1/evaluate?as_of=2024-03-15 HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let (first, rest) = body.split_at(100);
    s.write_all(first).unwrap();
    // Bounded wait until the request is in flight (the server counts it) before the signal.
    let in_flight = "handover_http_requests_in_flight{route=\"/v1/evaluate\"} 1";
    for _ in 0..500 {
        if get(&server, "/metrics").body.contains(in_flight) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(get(&server, "/metrics").body.contains(in_flight));
    server.signal("TERM");
    // Bounded: until the server says it is draining.
    for _ in 0..200 {
        if server.log().contains("shutting down") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.log().contains("shutting down"), "{}", server.log());
    s.write_all(rest).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("contoso-m365"));
    // Bounded wait for the exit.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "the server did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(server.log().contains("every request in flight was answered"));
}

#[test]
fn a_policy_that_does_not_check_stops_the_start_with_exit_2() {
    let dir = Scratch::new("serve-bad", &[("p.handover", b"rule {")]);
    let out = util::run_in(
        dir.path(),
        &["serve", "--addr", "127.0.0.1:0", "--rules", "p.handover"],
        b"",
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("p.handover"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn serve_help_teaches_the_routes_statuses_and_reload() {
    let (help, code) = cli(&["serve", "--help"], b"");
    assert_eq!(code, 0);
    for text in ["POST /v1/evaluate", "x-handover-exit-status", "413", "503", "SIGHUP", "--max-concurrency", "curl"] {
        assert!(help.contains(text), "`{text}` not in\n{help}");
    }
    for zero in ["--timeout", "--max-body", "--max-concurrency"] {
        let dir = Scratch::new("serve-args", &[]);
        let out = util::run_in(dir.path(), &["serve", zero, "0"], b"", Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(2), "{zero} 0");
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("invalid value '0' for '{zero}")));
    }
}

// ---------------------------------------------------------------------------------------------
// Reload

/// Generation `n` of a two-file policy: each file names `n` in its reasons, so an answer that
/// mixed two generations would show two numbers. `broken` gives a policy that does not check.
fn generation(n: usize, broken: Option<&str>) -> [(String, String); 2] {
    let a = format!(
        "each subscription in subscriptions {{\n    id: text @key\n    flag: bool\n}}\n\n\
         action first \"First.\"\naction second \"Second.\"\n\n\
         rule first {{\n    when subscription.flag\n    then first\n    reason \"gen {n} first\"\n}}\n"
    );
    let b = format!("rule rest {{\n    then second\n    reason \"gen {n} rest\"\n}}\n");
    match broken {
        Some("syntax") => [("a.handover".into(), a), ("b.handover".into(), "rule rest {\n    then\n".into())],
        Some(_) => [("a.handover".into(), a), ("b.handover".into(), b.replace("then second", "then third"))],
        None => [("a.handover".into(), a), ("b.handover".into(), b)],
    }
}

/// Writes generation `n` to its own folder and points the link `rules` at it (an atomic rename).
fn publish(root: &Path, n: usize, broken: Option<&str>) {
    let dir = root.join(format!("gen-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in generation(n, broken) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let tmp = root.join("rules.next");
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&dir, &tmp).unwrap();
    std::fs::rename(&tmp, root.join("rules")).unwrap();
}

const TWO: &str = r#"{"subscriptions":[{"id":"x","flag":true},{"id":"y","flag":false}]}"#;

/// The generation an answer came from; panics if its two verdicts come from two generations.
fn generation_of(a: &Answer) -> usize {
    let doc = a.json();
    let reasons: Vec<&str> = doc["results"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    let gens: BTreeSet<usize> =
        reasons.iter().map(|r| r.split(' ').nth(1).unwrap().parse::<usize>().unwrap()).collect();
    assert_eq!(gens.len(), 1, "one answer from two policies: {reasons:?}");
    assert!(reasons[0].ends_with("first") && reasons[1].ends_with("rest"), "{reasons:?}");
    *gens.iter().next().unwrap()
}

#[cfg(unix)]
#[test]
fn reload_under_load_is_all_or_nothing() {
    let root = Scratch::new("serve-reload", &[]);
    publish(root.path(), 0, None);
    let rules = root.path().join("rules");
    let server = Arc::new(Server::start(&["--rules", rules.to_str().unwrap()]));
    let first = post(&server, "/v1/evaluate", "application/json", TWO.as_bytes());
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(generation_of(&first), 0);

    // Clients send requests all along, each checking its answer; (identity, generation) pairs seen.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<BTreeMap<String, BTreeSet<usize>>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (server, stop, seen, sent) =
                (Arc::clone(&server), Arc::clone(&stop), Arc::clone(&seen), Arc::clone(&sent));
            std::thread::spawn(move || {
                // Bounded in count too.
                for _ in 0..200_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let a = post(&server, "/v1/evaluate", "application/json", TWO.as_bytes());
                    assert_eq!(a.status, 200, "{}", a.body);
                    assert_eq!(a.exit.as_deref(), Some("0"));
                    let g = generation_of(&a);
                    seen.lock().unwrap().entry(a.policy.clone().unwrap()).or_default().insert(g);
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let mut good = 1;
    let mut failures = 0;
    for n in 1..=20 {
        let broken = match n % 5 {
            2 => Some("syntax"),
            4 => Some("check"),
            _ => None,
        };
        publish(root.path(), n, broken);
        // Bounded wait until the server has taken the change in (put in service or refused).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let info = get(&server, "/v1/policy").json();
            let done = match broken {
                None => info["reload"]["reloads"] == good,
                Some(_) => info["reload"]["failures"] == failures + 1,
            };
            if done {
                match broken {
                    None => assert!(info["reload"]["last_error"].is_null()),
                    Some(_) => {
                        let err = info["reload"]["last_error"].as_str().unwrap();
                        assert!(err.contains("b.handover"), "the diagnostics name the file: {err}");
                    }
                }
                break;
            }
            assert!(Instant::now() < deadline, "generation {n} was never taken in: {info}\n{}", server.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        match broken {
            None => good += 1,
            Some(_) => failures += 1,
        }
        // Answers keep coming from the last good generation.
        let a = post(&server, "/v1/evaluate", "application/json", TWO.as_bytes());
        let last_good = if broken.is_some() { n - 1 } else { n };
        assert_eq!(generation_of(&a), last_good);
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    // Each identity answered for exactly one generation, and no two generations share one.
    let mut gens = BTreeSet::new();
    for (identity, g) in seen.iter() {
        assert_eq!(g.len(), 1, "{identity} answered for generations {g:?}");
        assert!(gens.insert(*g.iter().next().unwrap()), "two identities for one generation");
    }
    let sent = sent.load(Ordering::Relaxed);
    eprintln!("{sent} requests answered during 20 replacements, by {} policies", seen.len());
    assert!(sent >= 20, "the clients sent too little to test anything");
    assert!(gens.iter().all(|g| g % 5 != 2 && g % 5 != 4), "a broken generation answered: {gens:?}");
    assert_eq!((good, failures), (13, 8));
    let m = get(&server, "/metrics").body;
    assert!(m.contains("handover_policy_reloads_total{result=\"ok\"} 12"), "{m}");
    assert!(m.contains("handover_policy_reloads_total{result=\"error\"} 8"), "{m}");
    let log = server.log();
    assert!(log.contains("policy reload failed: the running policy stays in service"), "{log}");
    assert!(log.contains("error: the policy has"), "every diagnostic is logged: {log}");
}

/// SIGHUP reloads at once; a rules folder changed in place is taken in too.
#[cfg(unix)]
#[test]
fn sighup_reloads_the_rules() {
    let root = Scratch::new("serve-hup", &[]);
    let dir = root.path().join("rules");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in generation(1, None) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let server = Server::start(&["--rules", dir.to_str().unwrap()]);
    assert_eq!(generation_of(&post(&server, "/v1/evaluate", "application/json", TWO.as_bytes())), 1);
    for (name, text) in generation(2, None) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = post(&server, "/v1/evaluate", "application/json", TWO.as_bytes());
        if generation_of(&a) == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "never reloaded: {}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.log().contains("policy reloaded"), "{}", server.log());
}

// ---------------------------------------------------------------------------------------------
// Packaging

/// The server stack is optional and only the `serve` feature (part of `default`, for the binary)
/// turns it on: the library built with `default-features = false` stays free of it.
#[test]
fn the_server_stack_is_only_in_the_serve_feature() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let (deps, rest) = manifest.split_once("[dependencies]").unwrap().1.split_once("[dev-dependencies]").unwrap();
    let _ = rest;
    let features = manifest.split_once("[features]").unwrap().1.split_once("[dependencies]").unwrap().0;
    for name in ["tokio", "axum", "tower", "tower-http", "tracing", "tracing-subscriber", "utoipa", "arc-swap"] {
        let line = deps.lines().find(|l| l.starts_with(&format!("{name} ="))).unwrap_or_else(|| panic!("no {name}"));
        assert!(line.contains("optional = true"), "{name} is not optional: {line}");
        let enabling: Vec<&str> = features
            .split("\n\n")
            .flat_map(|block| block.lines())
            .filter(|l| l.contains(&format!("\"dep:{name}\"")))
            .collect();
        assert_eq!(enabling.len(), 1, "{name} is enabled by {enabling:?}");
    }
    let serve_feature = features.split("serve = [").nth(1).unwrap().split(']').next().unwrap();
    assert!(serve_feature.contains("\"dep:tokio\""));
    for other in ["cli = [", "fancy = [", "parallel = ["] {
        let block = features.split(other).nth(1).unwrap().split(']').next().unwrap();
        assert!(!block.contains("\"serve\""), "`{other}` turns on serve");
    }
}
