//! Structured fact documents for the shipped policy (`rules/schema.handover`): enum values,
//! bools, texts and dates chosen by `arbitrary`, dates as day offsets over a wide range that
//! includes the ends of chrono's calendar and the decision diagram's exactness bound.
//!
//! The document is written as one JSON Lines line, read with `handover::facts::parse`, and
//! every valid entry is decided twice, by `Policy::evaluate` (decision diagram) and
//! `Policy::evaluate_interpreted` (rule by rule), which must agree (`common::compare_eval`).
//! The same entries are then decided again with date facts and `as_of` replaced by days a
//! fact file cannot write (years outside 0000-9999), and once more from raw slot vectors of
//! any shape (wrong types, wrong lengths), where only "no panic" is required. The line also
//! goes through `common::check_facts` and the CLI's batch reader.

#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::{builtin, compare_eval, edge_days};
use handover::facts::{self, Format};
use handover::language::schema::{Scope, Type};
use handover::{Date, Value};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value as Json, json};

/// A day: near the evaluation date, anywhere in `i32`, or one of the edge days.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Day {
    Near(i16),
    Far(i32),
    Edge(u8),
}

impl Day {
    fn days(self) -> i64 {
        const BASE: i64 = 738_960; // 2024-03-15
        match self {
            Day::Near(o) => BASE + i64::from(o),
            Day::Far(d) => i64::from(d),
            Day::Edge(k) => {
                let edges = edge_days();
                edges.get(usize::from(k) % edges.len()).copied().unwrap_or(BASE)
            }
        }
    }

    fn date(self) -> Option<Date> {
        Date::from_days(self.days())
    }

    /// As a fact file writes it: `YYYY-MM-DD`, or what chrono prints outside four-digit years
    /// (which the reader must reject), or a day number when chrono has no such day.
    fn text(self) -> String {
        match self.date() {
            Some(d) => d.to_string(),
            None => self.days().to_string(),
        }
    }
}

/// An enum value by index into the schema's enum (one past the end: an unknown name).
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Pick(u8);

#[derive(Arbitrary, Debug)]
struct Sub {
    id: Option<String>,
    offer: Option<String>,
    service: Option<Pick>,
    channel: Option<Pick>,
    term_end: Option<Day>,
    cancelled: Option<bool>,
}

/// A value for the raw slot vectors.
#[derive(Arbitrary, Debug)]
enum RawValue {
    Absent,
    Bool(bool),
    Int(i64),
    Date(Day),
    Enum(u16),
    Text(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    as_of: Option<Day>,
    role: Option<Pick>,
    partner_type: Option<Pick>,
    name: Option<String>,
    cloud: Option<Pick>,
    is_csp_partner: Option<bool>,
    csp_transaction_tenant: Option<bool>,
    subscriptions: Vec<Sub>,
    /// Replacements for date facts after reading: (which date slot, day).
    extreme: Vec<(u8, Day)>,
    /// `as_of` for the second round of decisions.
    eval_as_of: Day,
    raw_document: Vec<RawValue>,
    raw_item: Vec<RawValue>,
}

/// The name of value `pick` of the enum of fact `path`.
fn enum_name(path: &str, pick: Pick) -> Json {
    let schema = builtin().schema();
    let values = schema.field_by_path(path).and_then(|f| schema.fields.get(f)).and_then(|f| match f.ty {
        Type::Enum(e) => schema.enums.get(e),
        _ => None,
    });
    match values {
        Some(def) if !def.values.is_empty() => {
            let i = usize::from(pick.0) % (def.values.len() + 1);
            def.values.get(i).map_or_else(|| json!("no_such_value"), |v| json!(v))
        }
        _ => json!("no_such_value"),
    }
}

fn put(map: &mut Map<String, Json>, key: &str, value: Option<Json>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v);
    }
}

fn document(input: &Input) -> String {
    let mut partner = Map::new();
    put(&mut partner, "role", input.role.map(|p| enum_name("partner.role", p)));
    put(&mut partner, "type", input.partner_type.map(|p| enum_name("partner.type", p)));
    let mut customer = Map::new();
    put(&mut customer, "name", input.name.clone().map(Json::from));
    put(&mut customer, "cloud", input.cloud.map(|p| enum_name("customer.cloud", p)));
    put(&mut customer, "is_csp_partner", input.is_csp_partner.map(Json::from));
    put(&mut customer, "csp_transaction_tenant", input.csp_transaction_tenant.map(Json::from));
    let subs: Vec<Json> = input
        .subscriptions
        .iter()
        .take(16)
        .enumerate()
        .map(|(i, s)| {
            let mut m = Map::new();
            put(&mut m, "id", Some(s.id.clone().map_or_else(|| json!(format!("sub-{i}")), Json::from)));
            put(&mut m, "offer", s.offer.clone().map(Json::from));
            put(&mut m, "service", s.service.map(|p| enum_name("subscription.service", p)));
            put(&mut m, "channel", s.channel.map(|p| enum_name("subscription.channel", p)));
            put(&mut m, "term_end", s.term_end.map(|d| json!(d.text())));
            put(&mut m, "cancelled", s.cancelled.map(Json::from));
            Json::Object(m)
        })
        .collect();
    let mut top = Map::new();
    put(&mut top, "as_of", input.as_of.map(|d| json!(d.text())));
    top.insert("partner".into(), Json::Object(partner));
    top.insert("customer".into(), Json::Object(customer));
    top.insert("subscriptions".into(), Json::Array(subs));
    Json::Object(top).to_string()
}

fn raw(values: &[RawValue]) -> Vec<Value> {
    values
        .iter()
        .take(32)
        .map(|v| match v {
            RawValue::Absent => Value::Absent,
            RawValue::Bool(b) => Value::Bool(*b),
            RawValue::Int(n) => Value::Int(*n),
            RawValue::Date(d) => d.date().map_or(Value::Absent, Value::Date),
            RawValue::Enum(e) => Value::Enum(*e),
            RawValue::Text(t) => Value::Text(t.as_str().into()),
        })
        .collect()
}

fuzz_target!(|input: Input| {
    let policy = builtin();
    let schema = policy.schema();
    let line = document(&input);

    // The whole pipeline on the line, as the library and the CLI read it.
    let records = common::check_facts(policy, &line, Format::JsonLines);
    common::check_batch(policy, line.as_bytes(), Format::JsonLines, Some(&records));

    // The date facts, by slot.
    let date_slots: Vec<_> = schema.fields.iter().filter(|f| f.ty == Type::Date).map(|f| f.slot).collect();
    let today = common::today();
    for doc in facts::parse(schema, &line, Format::JsonLines, "f") {
        let Ok(shared) = &doc.shared else { continue };
        let as_of = doc.as_of.unwrap_or(today);
        for e in &doc.entries {
            let Ok(item) = &e.values else { continue };
            let _ = compare_eval(policy, shared, item, as_of);

            // Days no fact file can write.
            let (mut shared, mut item) = (shared.clone(), item.clone());
            for (which, day) in input.extreme.iter().take(8) {
                let Some(slot) = date_slots.get(usize::from(*which) % date_slots.len().max(1)) else { break };
                let Some(d) = day.date() else { continue };
                let target = match slot.scope {
                    Scope::Document => shared.get_mut(slot.index),
                    Scope::Item => item.get_mut(slot.index),
                };
                if let Some(t) = target {
                    *t = Value::Date(d);
                }
            }
            let as_of = input.eval_as_of.date().unwrap_or(as_of);
            let _ = compare_eval(policy, &shared, &item, as_of);
        }
    }

    // Slot vectors of any shape: only "no panic".
    let (doc, item) = (raw(&input.raw_document), raw(&input.raw_item));
    let as_of = input.eval_as_of.date().unwrap_or(today);
    for r in [policy.evaluate(&doc, &item, as_of), policy.evaluate_interpreted(&doc, &item, as_of)] {
        match r {
            Ok(v) => {
                let _ = handover::Decision::from_verdict(&v);
            }
            Err(e) => {
                let _ = policy.describe_error(&e);
            }
        }
    }
});
