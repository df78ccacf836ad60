//! Arbitrary text as a whole policy: loading (parse → check → compile → decision diagram)
//! never panics or hangs, and every load error renders. A policy that loads is then
//!
//! - analysed (`Policy::analyze`), its warnings and analysis diagnostics rendered;
//! - used on a small fixed YAML fact document (`common::check_facts`: records, fast JSON Lines
//!   output, diagram against interpreter);
//! - used on every witness the analysis found: each witness's fact document (`to_document`)
//!   must read back to the witness's own values, and a gap or absent-read witness that makes no
//!   assumption must really be an error when evaluated;
//! - evaluated on a few dozen fact assignments drawn from the schema (seeded by the input, so
//!   replays are exact), comparing the decision diagram with the interpreter, and checking that
//!   no rule the analysis calls dead ever decides.

#![no_main]

mod common;

use common::{Rng, compare_eval, edge_days, known, slots};
use handover::analysis::{Analysis, Witness};
use handover::diagnostic::render;
use handover::facts::{self, Format};
use handover::language::schema::{Schema, Type};
use handover::{Date, Policy, Value};
use libfuzzer_sys::fuzz_target;

const FIXED: &str = "as_of: 2024-03-15
partner: { role: sales_agent }
customer: { name: Fuzz }
subscriptions:
  - { id: s1, service: license_based, channel: csp_partner, term_end: 2024-06-30 }
  - { id: s2, service: usage_based, channel: open }
";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Policy::from_text("fuzz", text) {
        Err(e) => {
            let _ = e.render(false);
            let _ = e.to_string();
        }
        Ok(policy) => check_policy(&policy, text, data),
    }
});

/// The integer literals of the policy text (digit runs that fit in `i64`, also negated), at
/// most 8, and the ends of `i64`.
fn int_literals(text: &str) -> Vec<i64> {
    let mut out = vec![i64::MIN, i64::MAX];
    for run in text.split(|c: char| !c.is_ascii_digit()).filter(|r| !r.is_empty()) {
        if let Ok(k) = run.parse::<i64>() {
            if !out.contains(&k) {
                out.push(k);
                out.push(-k);
            }
        }
        if out.len() >= 10 {
            break;
        }
    }
    out
}

fn check_policy(policy: &Policy, text: &str, data: &[u8]) {
    let schema = policy.schema();
    let _ = render(policy.warnings(), policy.sources(), false);
    let a = policy.analyze(3);
    let _ = render(&policy.analysis_diagnostics(&a), policy.sources(), false);

    common::check_facts(policy, FIXED, Format::Yaml);

    let mut witnesses: Vec<&Witness> = Vec::new();
    for g in &a.gaps {
        check_witness(policy, &g.witness, Expect::Error("gap_witness"));
        witnesses.push(&g.witness);
    }
    for r in &a.absent_reads {
        check_witness(policy, &r.witness, Expect::Error("absent_witness"));
        witnesses.push(&r.witness);
    }
    for o in &a.overlaps {
        check_witness(policy, &o.witness, Expect::Anything);
        witnesses.push(&o.witness);
    }

    // Fact assignments: every int fact just around each integer literal of the policy...
    let ints = int_literals(text);
    let int_fields: Vec<usize> = (0..schema.fields.len()).filter(|f| schema.fields[*f].ty == Type::Int).collect();
    if !int_fields.is_empty() {
        // One int fact at a time, then all of them together.
        let targets: Vec<Vec<usize>> =
            int_fields.iter().map(|f| vec![*f]).chain((int_fields.len() > 1).then(|| int_fields.clone())).collect();
        let mut plan = Vec::new();
        for k in &ints {
            for delta in [-1, 0, 1] {
                for t in &targets {
                    plan.push((*k, delta, t));
                }
            }
        }
        for (k, delta, fields) in plan {
            {
                let mut values =
                    witnesses.first().map_or_else(|| vec![None; schema.fields.len()], |w| w.values.clone());
                values.resize(schema.fields.len(), None);
                for f in fields {
                    values[*f] = Some(Value::Int(k.saturating_add(delta)));
                }
                for (f, v) in values.iter_mut().enumerate() {
                    let required = schema.fields.get(f).is_some_and(|d| !d.optional && d.default.is_none());
                    if required && v.is_none() {
                        *v = placeholder(schema, f);
                    }
                }
                let as_of = witnesses.first().map_or_else(common::today, |w| w.as_of);
                let (doc, item) = slots(schema, &values);
                if let Ok((rule, _)) = compare_eval(policy, &doc, &item, as_of) {
                    check_not_dead(&a, rule, &values, as_of);
                }
            }
        }
    }

    // ... random ones, and each witness with one fact changed.
    let mut rng = Rng::new(data);
    let strings = literals(text);
    for round in 0..24 {
        let (mut values, mut as_of) = match witnesses.get(round % witnesses.len().max(1)) {
            Some(w) if round % 2 == 0 => (w.values.clone(), w.as_of),
            _ => (vec![None; schema.fields.len()], random_date(&mut rng)),
        };
        values.resize(schema.fields.len(), None);
        let changes = if round % 2 == 0 { 1 } else { schema.fields.len() };
        for _ in 0..changes {
            let f = rng.below(schema.fields.len() + 1);
            match values.get_mut(f) {
                Some(v) => *v = random_value(&mut rng, schema, f, &strings),
                None => as_of = random_date(&mut rng),
            }
        }
        // Facts read from a file always have their required values: so must these.
        for (f, v) in values.iter_mut().enumerate() {
            let required = schema.fields.get(f).is_some_and(|d| !d.optional && d.default.is_none());
            while required && v.is_none() {
                *v = random_value(&mut rng, schema, f, &strings);
            }
        }
        let (doc, item) = slots(schema, &values);
        let decided = compare_eval(policy, &doc, &item, as_of);
        if let Ok((rule, _)) = decided {
            check_not_dead(&a, rule, &values, as_of);
        }
    }
}

enum Expect {
    /// Evaluating the witness must fail (when it makes no assumption); the name is the
    /// `known` switch for this check.
    Error(&'static str),
    Anything,
}

fn check_witness(policy: &Policy, w: &Witness, expect: Expect) {
    let schema = policy.schema();
    let (doc, item) = slots(schema, &w.values);
    let decided = compare_eval(policy, &doc, &item, w.as_of);
    if let Expect::Error(name) = expect {
        if w.assumptions.is_empty() && !known(name) {
            assert!(decided.is_err(), "a {name} that assumes nothing is decided: {decided:?}\n  witness: {w:?}");
        }
    }

    // The witness as a fact document: it must read back to the same values.
    let text = w.to_document(schema);
    common::check_facts(policy, &text, Format::Yaml);
    if known("witness_document") {
        return;
    }
    // Witnesses hold only what a fact file can write (fixed: dates past 9999-12-31 once).
    assert!(writable(&w.values, w.as_of), "a witness a fact file cannot write: {w:?}");
    let docs = facts::parse(schema, &text, Format::Yaml, "witness");
    let [d] = docs.as_slice() else { panic!("a witness document holds {} documents:\n{text}", docs.len()) };
    assert_eq!(d.as_of, Some(w.as_of), "the witness document has another as_of:\n{text}");
    match &d.shared {
        Ok(shared) => assert_eq!(*shared, doc, "the witness document reads back other shared facts:\n{text}"),
        Err(e) => panic!("the witness document does not read back: {e:?}\n{text}"),
    }
    if schema.item_group.is_some() {
        let [e] = d.entries.as_slice() else {
            panic!("the witness document holds {} entries:\n{text}", d.entries.len())
        };
        match &e.values {
            Ok(values) => assert_eq!(*values, item, "the witness document reads back other entry facts:\n{text}"),
            Err(e) => panic!("the witness document's entry does not read back: {e:?}\n{text}"),
        }
    }
}

/// Whether a fact file can write these values: the analysis considers only those, so a rule it
/// calls dead may still decide a date past 9999-12-31 that a library caller built.
fn writable(values: &[Option<Value>], as_of: Date) -> bool {
    let ok = |d: &Date| (Date::FIRST_WRITABLE..=Date::LAST_WRITABLE).contains(d);
    ok(&as_of) && values.iter().flatten().all(|v| !matches!(v, Value::Date(d) if !ok(d)))
}

fn check_not_dead(a: &Analysis, rule: usize, values: &[Option<Value>], as_of: Date) {
    if a.exhaustive && writable(values, as_of) && !known("dead_rule") {
        assert!(
            !a.dead.iter().any(|d| d.rule == rule),
            "rule {rule} decided, but the analysis calls it dead: {:?}",
            a.dead
        );
    }
}

/// The string literals of the policy text (candidates for text facts).
fn literals(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text.split('"').skip(1).step_by(2).take(16).map(str::to_string).collect();
    out.push(String::new());
    out.push("x-1".into());
    out
}

/// A fixed value of a field's type (for required facts a witness left open).
fn placeholder(schema: &Schema, f: usize) -> Option<Value> {
    Some(match schema.fields.get(f)?.ty {
        Type::Bool => Value::Bool(false),
        Type::Int => Value::Int(1),
        Type::Date => Value::Date(common::today()),
        Type::Enum(_) => Value::Enum(0),
        Type::Text => Value::Text("x-1".into()),
    })
}

fn random_date(rng: &mut Rng) -> Date {
    let edges = edge_days();
    let base = 738_960; // 2024-03-15
    let days = match rng.below(4) {
        0 => edges.get(rng.below(edges.len())).copied().unwrap_or(base),
        1 => base + rng.below(4000) as i64 - 2000,
        _ => base + rng.below(60) as i64 - 30,
    };
    Date::from_days(days).or_else(|| Date::from_days(base)).unwrap_or_else(|| panic!("no date"))
}

fn random_value(rng: &mut Rng, schema: &Schema, f: usize, strings: &[String]) -> Option<Value> {
    let def = schema.fields.get(f)?;
    if (def.optional || def.default.is_some()) && rng.below(5) == 0 {
        return None;
    }
    Some(match def.ty {
        Type::Bool => Value::Bool(rng.below(2) == 1),
        Type::Int => {
            const INTS: [i64; 12] =
                [0, 1, -1, 2, 10, 100, i64::MAX, i64::MIN, 70_000_000, 70_000_001, -70_000_001, 3_652_059];
            Value::Int(match rng.below(3) {
                0 => INTS.get(rng.below(INTS.len())).copied().unwrap_or(0),
                _ => rng.below(200) as i64 - 100,
            })
        }
        Type::Date => Value::Date(random_date(rng)),
        Type::Enum(e) => {
            let n = schema.enums.get(e).map_or(0, |d| d.values.len());
            Value::Enum(u16::try_from(rng.below(n)).unwrap_or(0))
        }
        Type::Text => Value::Text(strings.get(rng.below(strings.len())).cloned().unwrap_or_default().into()),
    })
}
