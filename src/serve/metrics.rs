//! A small Prometheus registry: counters and histograms keyed by label values, written in the
//! text exposition format (version 0.0.4). Small enough not to need a metrics crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Observations at or under each bound of [`BUCKETS`] (not cumulative; summed when written).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    /// (route, method, status) → requests.
    requests: BTreeMap<(String, String, u16), Histogram>,
    /// route → requests being answered.
    in_flight: BTreeMap<String, i64>,
    /// (action, rule) → verdicts.
    verdicts: BTreeMap<(String, String), u64>,
    entry_errors: u64,
    reloads_ok: u64,
    reloads_failed: u64,
    policy: String,
}

/// The service's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Inner)) {
        match self.inner.lock() {
            Ok(mut i) => f(&mut i),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// A request has begun; it counts as in flight until the guard is dropped (answered, or
    /// given up when the client went away).
    pub fn begin<'a>(&'a self, route: &'a str) -> InFlight<'a> {
        self.with(|i| *i.in_flight.entry(route.to_string()).or_default() += 1);
        InFlight { metrics: self, route }
    }

    /// A request has been answered (its head; a streamed body may still be on its way).
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        self.with(|i| {
            let h = i.requests.entry((route.to_string(), method.to_string(), status)).or_default();
            if let Some(slot) = BUCKETS.iter().position(|b| secs <= *b).and_then(|at| h.counts.get_mut(at)) {
                *slot += 1;
            }
            h.count += 1;
            h.sum += secs;
        });
    }

    /// Counts a run's verdicts by (action, rule), and its entries in error.
    pub fn verdicts<'a>(&self, decided: impl IntoIterator<Item = (&'a str, &'a str)>, errors: u64) {
        self.with(|i| {
            for (action, rule) in decided {
                *i.verdicts.entry((action.to_string(), rule.to_string())).or_default() += 1;
            }
            i.entry_errors += errors;
        });
    }

    pub fn reloaded(&self, ok: bool) {
        self.with(|i| if ok { i.reloads_ok += 1 } else { i.reloads_failed += 1 });
    }

    pub fn set_policy(&self, identity: &str) {
        self.with(|i| i.policy = identity.to_string());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.with(|i| {
            let _ = render_into(i, &mut out);
        });
        out
    }
}

/// A request in flight (see [`Metrics::begin`]).
pub struct InFlight<'a> {
    metrics: &'a Metrics,
    route: &'a str,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.metrics.with(|i| *i.in_flight.entry(self.route.to_string()).or_default() -= 1);
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn render_into(i: &Inner, out: &mut String) -> std::fmt::Result {
    writeln!(out, "# HELP handover_http_requests_total HTTP requests answered, by route, method and status.")?;
    writeln!(out, "# TYPE handover_http_requests_total counter")?;
    for ((route, method, status), h) in &i.requests {
        let (route, method) = (label(route), label(method));
        writeln!(
            out,
            "handover_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
            h.count
        )?;
    }
    writeln!(out, "# HELP handover_http_request_duration_seconds Time to answer, by route, method and status.")?;
    writeln!(out, "# TYPE handover_http_request_duration_seconds histogram")?;
    for ((route, method, status), h) in &i.requests {
        let labels = format!("route=\"{}\",method=\"{}\",status=\"{status}\"", label(route), label(method));
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(h.counts) {
            cumulative += n;
            writeln!(out, "handover_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}")?;
        }
        writeln!(out, "handover_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count)?;
        writeln!(out, "handover_http_request_duration_seconds_sum{{{labels}}} {}", h.sum)?;
        writeln!(out, "handover_http_request_duration_seconds_count{{{labels}}} {}", h.count)?;
    }
    writeln!(out, "# HELP handover_http_requests_in_flight Requests being answered, by route.")?;
    writeln!(out, "# TYPE handover_http_requests_in_flight gauge")?;
    for (route, n) in &i.in_flight {
        writeln!(out, "handover_http_requests_in_flight{{route=\"{}\"}} {n}", label(route))?;
    }
    writeln!(out, "# HELP handover_verdicts_total Entries decided, by action and deciding rule.")?;
    writeln!(out, "# TYPE handover_verdicts_total counter")?;
    for ((action, rule), n) in &i.verdicts {
        writeln!(out, "handover_verdicts_total{{action=\"{}\",rule=\"{}\"}} {n}", label(action), label(rule))?;
    }
    writeln!(out, "# HELP handover_entry_errors_total Entries that could not be decided (bad facts, gaps).")?;
    writeln!(out, "# TYPE handover_entry_errors_total counter")?;
    writeln!(out, "handover_entry_errors_total {}", i.entry_errors)?;
    writeln!(
        out,
        "# HELP handover_policy_reloads_total Policy reloads, by result (a failed one keeps the running policy)."
    )?;
    writeln!(out, "# TYPE handover_policy_reloads_total counter")?;
    writeln!(out, "handover_policy_reloads_total{{result=\"ok\"}} {}", i.reloads_ok)?;
    writeln!(out, "handover_policy_reloads_total{{result=\"error\"}} {}", i.reloads_failed)?;
    writeln!(out, "# HELP handover_policy_info The policy in service (always 1), by identity.")?;
    writeln!(out, "# TYPE handover_policy_info gauge")?;
    writeln!(out, "handover_policy_info{{identity=\"{}\"}} 1", label(&i.policy))?;
    Ok(())
}
