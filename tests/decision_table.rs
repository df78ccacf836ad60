//! The decision table (facts merged into classes of values, verdicts made in advance when a
//! rule's parameters follow from its enum and bool facts) against the rule-by-rule reference,
//! `Policy::evaluate_interpreted`, on slot vectors built by hand: well-typed facts, absent
//! optional facts, and the shapes [`Policy::evaluate`] does not check (a value of another type,
//! an absent value for a fact that always has one, an enum index past the enum's end, slot
//! vectors too short). Every verdict, parameter and error must be the same, on days of both
//! periods of a dated policy.
//!
//! Except for an enum index past the enum's end in a fact the rules test: the decision diagram
//! reasons that a value which is not one of the tested ones is one of the others, so such a
//! value may get another verdict or error than trying the rules one by one gives (as
//! `Policy::evaluate` documents, and as it did before the table); those inputs are only decided,
//! to see that neither path panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use handover::language::schema::{Scope, Type};
use handover::{Date, Policy, Value};
use proptest::prelude::*;

/// A dated policy whose parameters copy enum and bool facts (required and optional), test
/// enums, compute days and take text, so that some verdicts are made by the table, some by the
/// rule's plan, and some are errors (an absent optional fact read by a condition or a
/// parameter).
const PARAMS: &str = r#"
enum Tier { gold, silver, bronze, tin }
enum Region { eu, us, apac }
facts account {
    name: text? @label
    tier: Tier
    region: Region?
    vip: bool = false
    flagged: bool?
    since: date?
}
each order in orders {
    id: text @key
    kind: Tier = silver
    rush: bool?
    due: date?
}
action ship(tier: Tier, rush: bool, vip: bool, eu: bool) "Ship."
action hold(region: Region, days: int) "Hold."
action review(note: text, tier: Tier) "Review."
action refuse "Refuse."

in force until 2024-08-31 {
    rule a_refuse { when account.flagged and account.tier == tin then refuse reason "a refuse" }
    rule a_ship {
        when order.kind in [gold, silver] and account.tier != bronze
        then ship(tier: account.tier, rush: order.rush, vip: account.vip, eu: account.region == eu)
        reason "a ship"
    }
    rule a_hold {
        when account.tier == bronze and present(order.due)
        then hold(region: account.region, days: order.due - as_of)
        reason "a hold"
    }
    rule a_review { then review(note: "look", tier: order.kind) reason "a review" }
}

in force from 2024-09-01 {
    rule b_ship {
        when not order.rush
        then ship(tier: order.kind, rush: false, vip: account.vip or account.flagged, eu: account.region in [eu, us])
        reason "b ship"
    }
    rule b_hold { when account.vip and order.kind == gold then hold(region: account.region, days: 3) reason "b hold" }
    rule b_copy {
        when account.tier in [gold, tin]
        then ship(tier: account.tier, rush: true, vip: account.vip, eu: false)
        reason "b copy"
    }
    rule b_refuse { then refuse reason "b refuse" }
}
"#;

fn policies() -> &'static [Policy] {
    static P: std::sync::OnceLock<Vec<Policy>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let params = Policy::from_text("params.handover", PARAMS).map_err(|e| e.render(false)).unwrap();
        let shipped = Policy::builtin().unwrap();
        for p in [&params, &shipped] {
            assert!(p.diagram_size().is_some(), "{:?}", p.no_diagram());
        }
        vec![shipped, params]
    })
}

/// A value for a fact of type `ty` from the random numbers `r`: mostly one of its own type, at
/// times absent, and now and then one the schema does not allow.
fn value(ty: Type, optional: bool, enum_len: usize, r: &mut impl Iterator<Item = u32>) -> Value {
    let mut next = || r.next().unwrap_or(0);
    let (shape, pick) = (next() % 100, next());
    let day = Date::parse("2024-08-31").unwrap().days();
    let date = |offset: i64| Value::Date(Date::from_days(day + offset).unwrap());
    match shape {
        // Absent, for an optional fact and (rarely) for one that always has a value.
        0..=11 if optional => Value::Absent,
        0 => Value::Absent,
        // Another type, or an enum index past the enum's end.
        1 => match pick % 6 {
            0 => Value::Text("other".into()),
            1 => Value::Int(i64::from(pick)),
            2 => Value::Bool(pick % 2 == 0),
            3 => Value::Enum((pick % 70) as u16),
            4 => date(i64::from(pick % 100)),
            _ => Value::Enum(u16::try_from(enum_len).unwrap_or(u16::MAX).saturating_add((pick % 3) as u16)),
        },
        _ => match ty {
            Type::Bool => Value::Bool(pick % 2 == 0),
            Type::Enum(_) => Value::Enum((pick as usize % enum_len.max(1)) as u16),
            Type::Int => Value::Int(i64::from(pick % 1000) - 500),
            Type::Text => Value::Text(format!("t{}", pick % 10).into()),
            // Near the change of period, and now and then too far for the diagram's exact tests.
            Type::Date => match pick % 40 {
                0 => Value::Date(Date::from_days(80_000_000).unwrap()),
                _ => date(i64::from(pick % 1600) - 800),
            },
        },
    }
}

/// Whether a slot holds an enum index past the end of its fact's enum.
fn enum_past_end(policy: &Policy, document: &[Value], item: &[Value]) -> bool {
    let schema = policy.schema();
    schema.fields.iter().any(|f| {
        let values = if f.slot.scope == Scope::Document { document } else { item };
        match (f.ty, values.get(f.slot.index)) {
            (Type::Enum(e), Some(Value::Enum(i))) => usize::from(*i) >= schema.enums[e].values.len(),
            _ => false,
        }
    })
}

/// The slot vectors (document, entry) of one random set of facts for `policy`.
fn slots(policy: &Policy, seed: &[u32]) -> (Vec<Value>, Vec<Value>) {
    let schema = policy.schema();
    let mut r = seed.iter().copied().cycle();
    let mut document = vec![Value::Absent; schema.document_slots];
    let mut item = vec![Value::Absent; schema.fields.iter().filter(|f| f.slot.scope == Scope::Item).count()];
    for f in &schema.fields {
        let enum_len = match f.ty {
            Type::Enum(e) => schema.enums[e].values.len(),
            _ => 0,
        };
        let v = value(f.ty, f.optional, enum_len, &mut r);
        match f.slot.scope {
            Scope::Document => document[f.slot.index] = v,
            Scope::Item => item[f.slot.index] = v,
        }
    }
    // Now and then a slot vector too short.
    let cut = r.next().unwrap_or(0);
    if cut % 50 == 0 {
        document.truncate((cut / 50) as usize % (document.len() + 1));
    } else if cut % 50 == 1 {
        item.truncate((cut / 50) as usize % (item.len() + 1));
    }
    (document, item)
}

type Outcome = Result<(String, Vec<String>), handover::EvalError>;

fn outcome(v: Result<handover::Verdict<'_>, handover::EvalError>) -> Outcome {
    v.map(|v| (v.rule_id().to_string(), v.params().map(|(n, p)| format!("{n}={p:?}")).collect()))
}

/// The days decided: each side of the change of period and further off.
const DAYS: [&str; 5] = ["2020-01-01", "2024-08-31", "2024-09-01", "2025-03-15", "2031-12-31"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_table_decides_as_the_rules_do(
        which in 0usize..2,
        seed in proptest::collection::vec(any::<u32>(), 48),
    ) {
        let policy = &policies()[which];
        let (document, item) = slots(policy, &seed);
        let exact = !enum_past_end(policy, &document, &item);
        for day in DAYS {
            let as_of = Date::parse(day).unwrap();
            let fast = outcome(policy.evaluate(&document, &item, as_of));
            let slow = outcome(policy.evaluate_interpreted(&document, &item, as_of));
            if !exact {
                continue;
            }
            prop_assert_eq!(&fast, &slow, "as of {} on {:?} / {:?}", day, document, item);
            let rule = policy.deciding_rule(&document, &item, as_of).map(str::to_string);
            if let Ok((id, _)) = &slow {
                prop_assert_eq!(rule.as_ref(), Ok(id), "deciding rule as of {}", day);
            }
        }
    }
}

/// Well-typed facts reach every rule of the parameter policy, and the table makes some
/// verdicts and leaves others (text, days, an `or` of facts) to the rule's plan: both paths are
/// exercised above.
#[test]
fn every_rule_of_the_parameter_policy_decides_some_facts() {
    let policy = &policies()[1];
    let mut decided = std::collections::BTreeSet::new();
    let mut errors = std::collections::BTreeSet::new();
    for n in 0..4000u32 {
        let seed: Vec<u32> = (0..48).map(|i| n.wrapping_mul(2_654_435_761).rotate_left(i) ^ (i * 7919)).collect();
        let (document, item) = slots(policy, &seed);
        for day in DAYS {
            match policy.evaluate(&document, &item, Date::parse(day).unwrap()) {
                Ok(v) => decided.insert(v.rule_id().to_string()),
                Err(e) => errors.insert(e.kind.code()),
            };
        }
    }
    let rules: std::collections::BTreeSet<String> = policy.rule_ids().map(str::to_string).collect();
    assert_eq!(decided, rules);
    for code in ["eval::absent-fact", "eval::type-mismatch"] {
        assert!(errors.contains(code), "{code} never occurred: {errors:?}");
    }
}
