//! Peer benchmark: the shipped multi-channel policy evaluated by handover, by regorus (the policy
//! in Rego, `policy/multichannel.rego`) and by zen-engine (the policy as a JDM decision table,
//! `policy/multichannel.json`) over the same generated subscriptions.
//!
//! Every engine gets its facts pre-built in its own native input form before any timing:
//! - handover: slot vectors from `handover::facts::parse` (JSON Lines), evaluated with
//!   `Policy::evaluate`;
//! - regorus: one `regorus::Value` per subscription (cloned per call: a reference-count bump);
//! - zen: one `zen_engine::Variable` per subscription, built from a `serde_json::Value`
//!   (cloned per call, as zen-engine's own benchmarks do).
//!
//! A first pass over every subscription cross-checks each peer's verdict (action, rule, params)
//! against handover's and doubles as the warm-up; then each engine evaluates the whole batch R
//! times (`--repeats`, default 3) and the best time counts. A last pass cross-checks again, so an
//! engine that changed its inputs while being timed would show up as mismatches.
//!
//! `cargo run --release -- [N] [--zen-n M] [--repeats R] [--show K] [--rego FILE] [--jdm FILE]`
//! (`--show K` prints the first K verdicts of every engine; `--rego`/`--jdm` replace the built-in
//! peer policies, e.g. to see that a deliberately wrong one is caught by the cross-check).

#[path = "../../benches/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

use handover::facts::{Format, parse};
use handover::{Date, ParamValue, Policy, Value as Slot};

const REGO: &str = include_str!("../policy/multichannel.rego");
const REGO_RULE: &str = "data.handover.multichannel.verdict";
#[cfg(feature = "zen")]
const JDM: &str = include_str!("../policy/multichannel.json");

type Res<T> = Result<T, String>;

/// A verdict in a form all three engines can be compared in.
#[derive(Clone, Debug, PartialEq)]
struct Canon {
    action: String,
    rule: String,
    params: BTreeMap<String, Param>,
}

#[derive(Clone, Debug, PartialEq)]
enum Param {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl fmt::Display for Canon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.action, self.rule)?;
        for (k, v) in &self.params {
            match v {
                Param::Bool(b) => write!(f, " {k}={b}")?,
                Param::Int(n) => write!(f, " {k}={n}")?,
                Param::Text(t) => write!(f, " {k}={t}")?,
            }
        }
        Ok(())
    }
}

/// `Err` is "no verdict" (an evaluation error, or no rule decided); two errors agree.
type Outcome = Result<Canon, String>;

fn show(o: &Outcome) -> String {
    match o {
        Ok(c) => c.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

fn canon_handover<E: fmt::Debug>(r: Result<handover::Verdict<'_>, E>) -> Outcome {
    let v = r.map_err(|e| format!("{e:?}"))?;
    let params = v
        .params()
        .map(|(name, p)| {
            let p = match p {
                ParamValue::Bool(b) => Param::Bool(b),
                ParamValue::Int(n) => Param::Int(n),
                other => Param::Text(other.to_string()),
            };
            (name.to_string(), p)
        })
        .collect();
    Ok(Canon { action: v.action().to_string(), rule: v.rule_id().to_string(), params })
}

/// A peer's `{action, rule, params}` object; anything else (null, undefined) is no verdict.
fn canon_json(v: &serde_json::Value) -> Outcome {
    let obj = v.as_object().ok_or_else(|| format!("no verdict ({v})"))?;
    let text = |k: &str| obj.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let action = text("action").ok_or_else(|| format!("no action in {v}"))?;
    let rule = text("rule").ok_or_else(|| format!("no rule in {v}"))?;
    let mut params = BTreeMap::new();
    if let Some(ps) = obj.get("params").and_then(|p| p.as_object()) {
        for (k, p) in ps {
            let p = match p {
                serde_json::Value::Bool(b) => Param::Bool(*b),
                serde_json::Value::String(s) => Param::Text(s.clone()),
                serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => Param::Int(i),
                    (None, Some(f)) if f.fract() == 0.0 => Param::Int(f as i64),
                    _ => Param::Text(n.to_string()),
                },
                other => Param::Text(other.to_string()),
            };
            params.insert(k.clone(), p);
        }
    }
    Ok(Canon { action, rule, params })
}

/// One subscription with its document's facts, as the peers read it. Dates come as text (for
/// `until`) and as day numbers (for comparisons and `days_left`), which is how handover holds
/// them once its facts are loaded.
fn peer_input(i: usize, s: &common::Sub) -> serde_json::Value {
    let mut sub = serde_json::json!({
        "id": format!("sub-{i}"),
        "service": s.service,
        "channel": s.channel,
        "cancelled": s.cancelled,
    });
    if let Some(o) = s.term_offset {
        sub["term_end"] = common::date_text(o).into();
        sub["term_end_days"] = (common::AS_OF_DAYS_FROM_CE + o).into();
    }
    serde_json::json!({
        "as_of": "2024-03-15",
        "as_of_days": common::AS_OF_DAYS_FROM_CE,
        "partner": { "role": s.role, "type": s.ptype },
        "customer": {
            "name": format!("Customer {}", i / 4),
            "cloud": s.cloud,
            "is_csp_partner": s.is_csp,
            "csp_transaction_tenant": s.tenant,
        },
        "subscription": sub,
    })
}

/// An engine under test: evaluates one subscription (by index) and says how it went.
trait Engine {
    fn name(&self) -> &'static str;
    fn len(&self) -> usize;
    /// The verdict, for the cross-check (not timed).
    fn verdict(&mut self, i: usize) -> Outcome;
    /// The whole batch as fast as the engine allows; returns a checksum so nothing is elided.
    fn run(&mut self) -> u64;
}

struct Handover {
    policy: Policy,
    facts: Vec<(Vec<Slot>, Vec<Slot>)>,
    as_of: Date,
}

impl Engine for Handover {
    fn name(&self) -> &'static str {
        "handover"
    }
    fn len(&self) -> usize {
        self.facts.len()
    }
    fn verdict(&mut self, i: usize) -> Outcome {
        let (shared, item) = &self.facts[i];
        canon_handover(self.policy.evaluate(shared, item, self.as_of))
    }
    fn run(&mut self) -> u64 {
        let mut acc = 0u64;
        for (shared, item) in &self.facts {
            if let Ok(v) = self.policy.evaluate(black_box(shared), black_box(item), self.as_of) {
                acc += v.rule_index() as u64 + 1;
            }
        }
        acc
    }
}

/// regorus' tree-walking interpreter: `Engine::set_input` + `Engine::eval_rule`.
struct Regorus {
    engine: regorus::Engine,
    inputs: Vec<regorus::Value>,
}

impl Engine for Regorus {
    fn name(&self) -> &'static str {
        "regorus (interpreter)"
    }
    fn len(&self) -> usize {
        self.inputs.len()
    }
    fn verdict(&mut self, i: usize) -> Outcome {
        self.engine.set_input(self.inputs[i].clone());
        let v = self.engine.eval_rule(REGO_RULE.to_string()).map_err(|e| e.to_string())?;
        regorus_canon(&v)
    }
    fn run(&mut self) -> u64 {
        let mut acc = 0u64;
        for input in &self.inputs {
            self.engine.set_input(black_box(input.clone()));
            if let Ok(regorus::Value::Object(o)) = self.engine.eval_rule(REGO_RULE.to_string()) {
                acc += o.len() as u64;
            }
        }
        acc
    }
}

/// regorus' register VM (RVM): the Rego compiled to a program once, `set_input` + `execute`.
struct RegorusVm {
    vm: regorus::rvm::RegoVM,
    inputs: Vec<regorus::Value>,
}

impl Engine for RegorusVm {
    fn name(&self) -> &'static str {
        "regorus (RVM)"
    }
    fn len(&self) -> usize {
        self.inputs.len()
    }
    fn verdict(&mut self, i: usize) -> Outcome {
        self.vm.set_input(self.inputs[i].clone());
        let v = self.vm.execute().map_err(|e| e.to_string())?;
        regorus_canon(&v)
    }
    fn run(&mut self) -> u64 {
        let mut acc = 0u64;
        for input in &self.inputs {
            self.vm.set_input(black_box(input.clone()));
            if let Ok(regorus::Value::Object(o)) = self.vm.execute() {
                acc += o.len() as u64;
            }
        }
        acc
    }
}

fn regorus_canon(v: &regorus::Value) -> Outcome {
    if matches!(v, regorus::Value::Undefined) {
        return Err("undefined".into());
    }
    canon_json(&serde_json::to_value(v).map_err(|e| e.to_string())?)
}

fn regorus_engine(rego: &str) -> Res<regorus::Engine> {
    let mut engine = regorus::Engine::new();
    engine.add_policy("multichannel.rego".to_string(), rego.to_string()).map_err(|e| format!("Rego policy: {e}"))?;
    Ok(engine)
}

fn regorus_vm(rego: &str) -> Res<regorus::rvm::RegoVM> {
    let mut engine = regorus_engine(rego)?;
    let compiled = engine.compile_with_entrypoint(&REGO_RULE.into()).map_err(|e| format!("Rego compile: {e}"))?;
    let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(&compiled, &[REGO_RULE])
        .map_err(|e| format!("RVM compile: {e}"))?;
    let mut vm = regorus::rvm::RegoVM::new();
    vm.load_program(program);
    Ok(vm)
}

#[cfg(feature = "zen")]
struct Zen {
    decision: zen_engine::Decision,
    inputs: Vec<zen_engine::Variable>,
}

#[cfg(feature = "zen")]
impl Engine for Zen {
    fn name(&self) -> &'static str {
        "zen-engine (JDM)"
    }
    fn len(&self) -> usize {
        self.inputs.len()
    }
    fn verdict(&mut self, i: usize) -> Outcome {
        let r = futures::executor::block_on(self.decision.evaluate(self.inputs[i].clone()));
        let r = r.map_err(|e| e.to_string())?;
        canon_json(&serde_json::Value::from(r.result))
    }
    fn run(&mut self) -> u64 {
        let decision = &self.decision;
        let inputs = &self.inputs;
        futures::executor::block_on(async move {
            let mut acc = 0u64;
            for input in inputs {
                if let Ok(r) = decision.evaluate(black_box(input.clone())).await {
                    acc += matches!(r.result, zen_engine::Variable::Object(_)) as u64;
                }
            }
            acc
        })
    }
}

#[cfg(feature = "zen")]
fn zen_decision(jdm: &str) -> Res<zen_engine::Decision> {
    use zen_engine::model::DecisionContent;
    let content: DecisionContent = serde_json::from_str(jdm).map_err(|e| format!("JDM: {e}"))?;
    let engine = zen_engine::DecisionEngine::default();
    let mut decision = engine.create_decision(std::sync::Arc::new(content)).map_err(|e| format!("JDM: {e}"))?;
    decision.validate().map_err(|e| format!("JDM: {e}"))?;
    // Pre-compile the expressions and build the decision-table index, as zen's own
    // "precompiled" benchmark does.
    decision.compile();
    Ok(decision)
}

struct Timing {
    name: &'static str,
    n: usize,
    best: Duration,
    mismatches: usize,
    agreed_errors: usize,
}

impl Timing {
    fn per_second(&self) -> f64 {
        self.n as f64 / self.best.as_secs_f64()
    }
}

/// Cross-checks every verdict of `engine` against handover's (`reference`), printing the first
/// few mismatches that are not in `seen` yet. Returns the indices that differ and the number of
/// agreed errors (both sides give no verdict).
fn cross_check(
    engine: &mut dyn Engine,
    reference: &[Outcome],
    subs: &[common::Sub],
    seen: &BTreeSet<usize>,
) -> (BTreeSet<usize>, usize) {
    let (mut mismatches, mut agreed_errors) = (BTreeSet::new(), 0);
    for (i, expected) in reference.iter().enumerate().take(engine.len()) {
        let got = engine.verdict(i);
        match (expected, &got) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(_), Err(_)) => agreed_errors += 1,
            _ => {
                if !seen.contains(&i) && mismatches.len() < 10 {
                    eprintln!(
                        "MISMATCH {} #{i} {:?}\n  handover: {}\n  {}: {}",
                        engine.name(),
                        subs[i],
                        show(expected),
                        engine.name(),
                        show(&got)
                    );
                }
                mismatches.insert(i);
            }
        }
    }
    (mismatches, agreed_errors)
}

fn measure(
    engine: &mut dyn Engine,
    reference: &[Outcome],
    subs: &[common::Sub],
    repeats: usize,
    show_n: usize,
) -> Timing {
    for i in 0..show_n.min(engine.len()) {
        println!("  {:<24} #{i:<5} {}", engine.name(), show(&engine.verdict(i)));
    }
    // The cross-check is also the warm-up pass.
    let (mut mismatches, agreed_errors) = cross_check(engine, reference, subs, &BTreeSet::new());
    let mut best = Duration::MAX;
    let mut sums = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        let acc = engine.run();
        let e = t.elapsed();
        black_box(acc);
        sums.push(acc);
        best = best.min(e);
        eprintln!("  {:<24} {:>9} evals in {:>8.3} s", engine.name(), engine.len(), e.as_secs_f64());
    }
    let mut extra = 0;
    if sums.windows(2).any(|w| w[0] != w[1]) {
        eprintln!("  {}: checksums differ between repeats: {sums:?}", engine.name());
        extra += 1;
    }
    // Again after timing: an engine that changed its (shared) inputs would now disagree.
    let (after, _) = cross_check(engine, reference, subs, &mismatches);
    mismatches.extend(after);
    Timing { name: engine.name(), n: engine.len(), best, mismatches: mismatches.len() + extra, agreed_errors }
}

/// Every combination that matters to the policy, including the boundaries of the term (the day
/// before, on and after `as_of`) and the one case no rule decides (license-based from
/// csp_partner / non_csp_third_party, not cancelled, no term_end): handover reports an error, the
/// peers give no verdict, and that counts as agreement. Cross-checked, not timed.
fn edge_subs() -> Vec<common::Sub> {
    let mut out = Vec::new();
    for role in ["sales_agent", "admin_agent"] {
        for ptype in ["direct_bill", "indirect_reseller"] {
            for cloud in ["commercial", "us_government"] {
                for (is_csp, tenant) in [(false, true), (true, true), (true, false)] {
                    for service in ["license_based", "usage_based"] {
                        for channel in common::CHANNELS {
                            for cancelled in [false, true] {
                                for term_offset in [None, Some(-1), Some(0), Some(1)] {
                                    out.push(common::Sub {
                                        role,
                                        ptype,
                                        cloud,
                                        is_csp,
                                        tenant,
                                        service,
                                        channel,
                                        term_offset,
                                        cancelled,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn handover_engine(subs: &[common::Sub]) -> Res<Handover> {
    let policy = Policy::builtin().map_err(|e| format!("shipped policy: {e:?}"))?;
    let as_of = Date::parse("2024-03-15").ok_or("as_of")?;
    if as_of.days() != common::AS_OF_DAYS_FROM_CE {
        return Err("handover's day numbers differ from the generator's".into());
    }
    let text: String = subs.iter().enumerate().map(|(i, s)| common::json_line(i, s) + "\n").collect();
    let mut facts = Vec::with_capacity(subs.len());
    for d in parse(policy.schema(), &text, Format::JsonLines, "generated") {
        let shared = d.shared.map_err(|e| format!("{}: {e:?}", d.source))?;
        let entry = d.entries.into_iter().next().ok_or("no entry")?;
        let item = entry.values.map_err(|e| format!("{e:?}"))?;
        facts.push((shared, item));
    }
    Ok(Handover { policy, facts, as_of })
}

#[derive(Clone, Copy)]
enum Peer {
    Regorus,
    RegorusVm,
    #[cfg(feature = "zen")]
    Zen,
}

const PEERS: &[Peer] = &[
    Peer::Regorus,
    Peer::RegorusVm,
    #[cfg(feature = "zen")]
    Peer::Zen,
];

/// Builds one peer with its inputs already in its native form.
fn peer_engine(peer: Peer, subs: &[common::Sub], rego: &str, _jdm: &str) -> Res<Box<dyn Engine>> {
    let json = subs.iter().enumerate().map(|(i, s)| peer_input(i, s));
    Ok(match peer {
        Peer::Regorus => {
            Box::new(Regorus { engine: regorus_engine(rego)?, inputs: json.map(regorus::Value::from).collect() })
        }
        Peer::RegorusVm => {
            Box::new(RegorusVm { vm: regorus_vm(rego)?, inputs: json.map(regorus::Value::from).collect() })
        }
        #[cfg(feature = "zen")]
        Peer::Zen => Box::new(Zen {
            decision: zen_decision(_jdm)?,
            inputs: json.map(|j| zen_engine::Variable::from(&j)).collect(),
        }),
    })
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn run() -> Res<()> {
    let mut n = 100_000usize;
    let mut zen_n: Option<usize> = None;
    let mut repeats = 3usize;
    let mut show_n = 0usize;
    let mut rego = REGO.to_string();
    #[cfg(feature = "zen")]
    let mut jdm = JDM.to_string();
    #[cfg(not(feature = "zen"))]
    let mut jdm = String::new();
    let read = |v: Option<String>| -> Res<String> {
        let path = v.ok_or("missing path")?;
        std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let num = |v: Option<String>| -> Res<usize> {
            v.ok_or("missing number")?.replace('_', "").parse().map_err(|e| format!("bad number: {e}"))
        };
        match a.as_str() {
            "--zen-n" => zen_n = Some(num(args.next())?),
            "--repeats" => repeats = num(args.next())?.max(1),
            "--show" => show_n = num(args.next())?,
            "--rego" => rego = read(args.next())?,
            "--jdm" => jdm = read(args.next())?,
            "-h" | "--help" => {
                println!(
                    "usage: handover-peer [N] [--zen-n M] [--repeats R] [--show K] [--rego FILE] [--jdm FILE]\n  \
                     (default N 100000, M = N, R 3, K 0; the peer policies default to policy/*)"
                );
                return Ok(());
            }
            _ => n = num(Some(a))?,
        }
    }
    let zen_n = zen_n.unwrap_or(n).min(n);

    // 1. Edge cases: every engine against handover on every combination that matters.
    let edges = edge_subs();
    let mut edge_handover = handover_engine(&edges)?;
    let edge_reference: Vec<Outcome> = (0..edges.len()).map(|i| edge_handover.verdict(i)).collect();
    let edge_errors = edge_reference.iter().filter(|r| r.is_err()).count();
    let mut edge_mismatches = 0;
    let mut edge_report = Vec::new();
    for &peer in PEERS {
        let mut engine = peer_engine(peer, &edges, &rego, &jdm)?;
        let (bad, agreed) = cross_check(engine.as_mut(), &edge_reference, &edges, &BTreeSet::new());
        edge_mismatches += bad.len();
        edge_report.push(format!("{} {} mismatches / {agreed} agreed errors", engine.name(), bad.len()));
    }
    println!("edge cases: {} subscriptions, {edge_errors} handover errors; {}", edges.len(), edge_report.join(", "));

    // 2. The benchmark: generated facts, turned into each engine's native input before timing.
    let subs = common::generate(n, 42);
    let mut handover = handover_engine(&subs)?;
    let reference: Vec<Outcome> = (0..n).map(|i| handover.verdict(i)).collect();
    let errors = reference.iter().filter(|r| r.is_err()).count();
    let as_of = common::AS_OF_DAYS_FROM_CE;
    let hand_mismatches = subs
        .iter()
        .zip(&reference)
        .filter(|(s, r)| match (common::decide(&common::typed(s), as_of), r) {
            (Ok(a), Ok(b)) => a.action() != b.action,
            (Err(_), Err(_)) => false,
            _ => true,
        })
        .count();
    if hand_mismatches > 0 {
        return Err(format!("handover disagrees with the hand-written policy on {hand_mismatches} subscriptions"));
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "benchmark: {n} generated subscriptions (zen: {zen_n}), seed 42, as_of 2024-03-15, best of {repeats}; \
         {errors} handover errors; loadavg {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );

    let mut timings = vec![measure(&mut handover, &reference, &subs, repeats, show_n)];
    for &peer in PEERS {
        #[cfg(feature = "zen")]
        let count = if matches!(peer, Peer::Zen) { zen_n } else { n };
        #[cfg(not(feature = "zen"))]
        let count = n;
        let mut engine = peer_engine(peer, &subs[..count], &rego, &jdm)?;
        timings.push(measure(engine.as_mut(), &reference, &subs, repeats, show_n));
    }
    #[cfg(not(feature = "zen"))]
    eprintln!("zen-engine: not built (the `zen` feature is off)");

    let base = timings[0].per_second();
    println!();
    println!(
        "{:<24} {:>11} {:>10} {:>14} {:>16} {:>11} {:>13}",
        "engine", "evaluations", "seconds", "evals/s", "handover/engine", "mismatches", "agreed errors"
    );
    for t in &timings {
        println!(
            "{:<24} {:>11} {:>10.4} {:>14.0} {:>15.1}x {:>11} {:>13}",
            t.name,
            t.n,
            t.best.as_secs_f64(),
            t.per_second(),
            base / t.per_second(),
            t.mismatches,
            t.agreed_errors
        );
    }
    let total: usize = timings.iter().map(|t| t.mismatches).sum::<usize>() + edge_mismatches;
    println!("\nmismatches: {total} (edge cases {edge_mismatches})");
    if total > 0 {
        return Err(format!("{total} verdicts differ from handover's"));
    }
    Ok(())
}
