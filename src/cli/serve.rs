//! `handover serve`: its arguments and help; the service itself is `crate::serve`.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{EXIT_FAILURE, EXIT_OK};

pub(super) const SERVE_HELP: &str = "\
Routes:
  POST /v1/evaluate    a fact document (Content-Type application/json or application/yaml) →
                       the JSON `handover eval --format json` prints; ?as_of=YYYY-MM-DD overrides
                       the document's date. application/x-ndjson: one document per line, answered
                       as a stream of JSON Lines (as `eval --format jsonl`).
  POST /v1/explain     the rules tried and the facts they read (?id= for one entry)
  GET  /v1/policy      identity (sha256 of the files), rule ids, actions, fact JSON Schema, reloads
  GET  /healthz        alive;   GET /readyz  ready (503 while shutting down)
  GET  /metrics        Prometheus text;   GET /v1/openapi.json  the OpenAPI document

Answers: 200 with every entry's verdict or error (header x-handover-exit-status: 0 all
decided, 1 some entries errored, as eval's exit status; x-handover-policy: the policy that
decided); 400 a body that is not a fact document (malformed JSON or YAML, bad shared facts,
not UTF-8); 408 over --timeout; 413 over --max-body; 415 another Content-Type; 503 over
--max-concurrency (retry; Retry-After: 1).

Reload: on SIGHUP, or when the files of --rules change (looked at every 500 ms), the rules are
loaded and checked again; only a policy without errors replaces the running one, and requests
already started finish with the policy they started with. A failed reload keeps the running
policy, logs every diagnostic, and shows in /v1/policy (reload.last_error) and /metrics. To
change several files at once, point --rules at a symbolic link and swap the link.

SIGTERM or ctrl-c: /readyz turns 503, no new connections, requests in flight are answered.
Logs (tracing) go to standard error; RUST_LOG sets the level (default info).

Example:
  handover serve --rules rules/ --addr 127.0.0.1:8080
  curl -s -H 'content-type: application/yaml' --data-binary @examples/contoso.yaml \\
       http://127.0.0.1:8080/v1/evaluate";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Policy file or folder of `.handover` files [default: the built-in multi-channel policy].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// Address and port to listen on; port 0 picks a free one (the address is printed on start).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Largest request body, in bytes; a larger one is answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body: usize,

    /// Longest a decision request may take, body upload included, in seconds; then 408.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,

    /// Decision requests handled at once; more are answered 503 at once rather than queued.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_concurrency: usize,
}

pub(super) fn serve(args: ServeArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let config = crate::serve::Config {
        rules: args.rules,
        addr: args.addr,
        max_body: args.max_body,
        timeout: Duration::from_secs(args.timeout.max(1)),
        max_concurrency: args.max_concurrency.max(1),
        poll: Duration::from_millis(500),
    };
    match crate::serve::run(config, out) {
        Ok(()) => Ok(EXIT_OK),
        Err(message) => {
            let message = if message.starts_with("error") { message } else { format!("error: {message}\n") };
            err.write_all(message.as_bytes())?;
            Ok(EXIT_FAILURE)
        }
    }
}
