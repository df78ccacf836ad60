//! Evaluation: a pure function from (compiled policy, facts, `as_of`) to a verdict.
//!
//! No I/O, no allocation while testing conditions, no lookups by name. Rules are tried in order
//! and the first whose condition holds decides. `and`/`or` stop at the first operand that settles
//! them, so `present(x) and x > ...` never reads an absent `x`; reading an absent optional fact
//! anywhere else is an [`EvalError`] naming the fact and the rule, never a silent `false`.

pub mod explain;
pub mod verdict;

use std::fmt;

use crate::analysis::diagram::{
    DIAGRAM_SAFE_MAGNITUDE, DNode, Diagram, EnumVar, Fast, KeyGroup, SubTable, Table, Target, VarRef,
};
use crate::compile::{Compiled, CompiledRule, Op, PLAN_PARAMS, ParamOp, Plan};
use crate::language::ast::{ArithOp, CmpOp};
use crate::language::schema::{FieldId, Scope, Slot};
use crate::value::{Date, Value};

/// The values one decision reads: the document's shared facts and one entry's facts.
#[derive(Clone, Copy, Debug)]
pub struct Env<'a> {
    pub document: &'a [Value],
    pub item: &'a [Value],
    pub as_of: Date,
}

/// A value during evaluation; text is borrowed from the facts or the policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum V<'a> {
    Bool(bool),
    Int(i64),
    Date(i64),
    Enum(u16),
    Text(&'a str),
}

/// Why one entry could not be decided.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalErrorKind {
    /// The rule read an optional fact that has no value.
    AbsentFact { fact: FieldId },
    /// Integer or day arithmetic left the representable range.
    Overflow,
    /// Day arithmetic produced a date outside the calendar chrono supports.
    DateOutOfRange,
    /// No rule matched (the policy is incomplete for these facts).
    NoRuleMatched,
    /// A fact's value is not of the type the policy declares. Only slot vectors built by hand
    /// and passed to the unchecked [`crate::Policy::evaluate`] can hold one: facts read by
    /// [`crate::facts`] are checked against the schema.
    TypeMismatch,
    /// A broken internal invariant (a bug in handover, never a property of the facts): the
    /// entry gets this error rather than a verdict that may be wrong.
    Internal,
}

/// An evaluation error: what went wrong and in which rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    /// Index of the rule being evaluated, or `None` when no rule matched.
    pub rule: Option<usize>,
    pub kind: EvalErrorKind,
}

impl EvalErrorKind {
    /// The stable code of this kind (`eval::no-rule-matched`, …), as listed in the README.
    pub fn code(&self) -> &'static str {
        match self {
            EvalErrorKind::AbsentFact { .. } => "eval::absent-fact",
            EvalErrorKind::Overflow => "eval::overflow",
            EvalErrorKind::DateOutOfRange => "eval::date-out-of-range",
            EvalErrorKind::NoRuleMatched => "eval::no-rule-matched",
            EvalErrorKind::TypeMismatch => "eval::type-mismatch",
            EvalErrorKind::Internal => "eval::internal",
        }
    }
}

impl fmt::Display for EvalErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalErrorKind::AbsentFact { .. } => f.write_str("a fact the rule needs has no value"),
            EvalErrorKind::Overflow => f.write_str("arithmetic overflowed"),
            EvalErrorKind::DateOutOfRange => f.write_str("date arithmetic left the calendar"),
            EvalErrorKind::NoRuleMatched => f.write_str("no rule matched"),
            EvalErrorKind::TypeMismatch => {
                f.write_str("a fact's value is not of the type the policy declares (unchecked facts)")
            }
            EvalErrorKind::Internal => {
                f.write_str("internal error: a broken invariant of the evaluator (please report it)")
            }
        }
    }
}

/// Without the policy at hand the rule is named by its place; `Policy::describe_error` names it.
impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(i) => write!(f, "{} (in the policy's rule number {})", self.kind, i + 1),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for EvalError {}

type R<T> = Result<T, EvalErrorKind>;

/// A verdict's parameter values; up to four live inline (no allocation per decision).
pub type Params = smallvec::SmallVec<[Value; 4]>;

/// Finds the deciding rule and computes its parameters.
pub(crate) fn decide(rules: &[CompiledRule], env: &Env<'_>) -> Result<(usize, Params), EvalError> {
    for (i, rule) in rules.iter().enumerate() {
        let holds = match &rule.when {
            None => true,
            Some(cond) => truth(cond, env).map_err(|kind| EvalError { rule: Some(i), kind })?,
        };
        if holds {
            return params(rule, env).map(|p| (i, p)).map_err(|kind| EvalError { rule: Some(i), kind });
        }
    }
    Err(EvalError { rule: None, kind: EvalErrorKind::NoRuleMatched })
}

/// The deciding rule's parameter values.
#[inline]
fn params(rule: &CompiledRule, env: &Env<'_>) -> R<Params> {
    let mut out = Params::new();
    for a in rule.args.iter() {
        out.push(eval(a, env)?.to_value());
    }
    Ok(out)
}

/// Where a walk of the decision diagram ended: at the deciding rule, its parameters still to
/// compute, or left to the interpreter ([`decide`]: a number too large for the diagram's exact
/// tests, a value of another type in an unchecked slot, a malformed diagram).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Walked {
    Rule(usize),
    /// The deciding rule with its parameters, as the numbers its verdict stores (resolved by
    /// the table; see [`Target::Verdict`]).
    Planned {
        rule: usize,
        action: usize,
        numbers: [i64; PLAN_PARAMS],
    },
    Interpret,
}

/// Decides by walking the decision diagram; the same result as [`decide`] (which it falls back
/// to when a number is too large for the diagram's difference tests to be exact).
pub(crate) fn decide_diagram(
    d: &Diagram,
    rules: &[CompiledRule],
    env: &Env<'_>,
    with_params: bool,
) -> Result<(usize, Params), EvalError> {
    match walk(d, rules, env)? {
        Walked::Interpret => decide(rules, env),
        Walked::Rule(i) | Walked::Planned { rule: i, .. } if !with_params => Ok((i, Params::new())),
        Walked::Rule(i) | Walked::Planned { rule: i, .. } => {
            let rule = rules.get(i).ok_or(EvalError { rule: Some(i), kind: EvalErrorKind::Internal })?;
            params(rule, env).map(|p| (i, p)).map_err(|kind| EvalError { rule: Some(i), kind })
        }
    }
}

/// Where the decision diagram's table leads for these facts (`None`: the diagram has no table
/// for the day, or a fact does not have the shape the table expects).
#[inline(always)]
pub(crate) fn table_target<'d>(d: &'d Diagram, env: &Env<'_>) -> Option<&'d Target> {
    table_start(d.table.as_ref()?, env)
}

/// The deciding rule by the decision diagram (see [`decide_diagram`]).
#[inline(always)]
pub(crate) fn walk(d: &Diagram, rules: &[CompiledRule], env: &Env<'_>) -> Result<Walked, EvalError> {
    walk_after(d, rules, env, table_target(d, env))
}

/// The deciding rule by the decision diagram, from where its table led (`target`, see
/// [`table_target`]): on from a node, or from the root when the table did not lead anywhere.
pub(crate) fn walk_after(
    d: &Diagram,
    rules: &[CompiledRule],
    env: &Env<'_>,
    target: Option<&Target>,
) -> Result<Walked, EvalError> {
    let start = match target {
        Some(Target::Verdict { rule, action, numbers }) if (*rule as usize) < rules.len() => {
            return Ok(Walked::Planned { rule: *rule as usize, action: *action as usize, numbers: *numbers });
        }
        Some(Target::Rule(rule)) if (*rule as usize) < rules.len() => return Ok(Walked::Rule(*rule as usize)),
        Some(Target::Node(n)) => *n,
        _ => d.root,
    };
    walk_from(d, rules, env, start)
}

/// The walk of the decision diagram from node `n`; out of line, so that a decision the table
/// makes does not pay for it.
#[inline(never)]
fn walk_from(d: &Diagram, rules: &[CompiledRule], env: &Env<'_>, mut n: u32) -> Result<Walked, EvalError> {
    let mut last = u32::MAX;
    // Children are built before their parents, so every step goes to a smaller index: checking
    // that keeps the walk finite whatever the diagram holds.
    while n < last {
        last = n;
        // The common tests on the compact nodes, with plain branches.
        if let Some(f) = d.fast.get(n as usize) {
            let values = if f.document { env.document } else { env.item };
            if f.kind == Fast::ENUM {
                if let Some(Value::Enum(v)) = values.get(f.slot as usize) {
                    if *v < 64 {
                        n = if f.bits >> *v & 1 == 1 { f.yes } else { f.no };
                        continue;
                    }
                }
            } else if f.kind == Fast::BOOL {
                if let Some(Value::Bool(b)) = values.get(f.slot as usize) {
                    n = if *b { f.yes } else { f.no };
                    continue;
                }
            } else if f.kind == Fast::MATCH {
                if (f.yes as usize) < rules.len() {
                    return Ok(Walked::Rule(f.yes as usize));
                }
            } else if f.kind == Fast::FACT_MINUS || f.kind == Fast::MINUS_FACT {
                // As [`DNode::Diff`] below: other values, and numbers too large for an exact
                // test, take the slow path.
                let fact = match values.get(f.slot as usize) {
                    Some(Value::Date(d)) => Some(d.days()),
                    Some(Value::Int(n)) => Some(*n),
                    _ => None,
                };
                let other = if f.as_of { env.as_of.days() } else { 0 };
                if let Some(fact) =
                    fact.filter(|x| x.abs() <= DIAGRAM_SAFE_MAGNITUDE && other.abs() <= DIAGRAM_SAFE_MAGNITUDE)
                {
                    let diff = if f.kind == Fast::FACT_MINUS { fact - other } else { other - fact };
                    n = if diff <= i64::from_ne_bytes(f.bits.to_ne_bytes()) { f.yes } else { f.no };
                    continue;
                }
            }
        }
        let Some(node) = d.nodes.get(n as usize) else { break };
        let err = |rule: u32, kind| EvalError { rule: Some(rule as usize), kind };
        // The common tests first, as plain branches: a `match` here compiles to an indirect
        // jump that the processor mispredicts on almost every node.
        if let DNode::Enum { slot: s, field, rule, bits, yes, no } = node {
            let Some(Value::Enum(v)) = slot(env, *s) else {
                return Err(err(*rule, not_read(slot(env, *s), *field)));
            };
            let v = usize::from(*v);
            let hit = bits.get(v / 64).is_some_and(|w| w >> (v % 64) & 1 == 1);
            n = if hit { *yes } else { *no };
            continue;
        }
        if let DNode::Bool { slot: s, field, rule, yes, no } = node {
            let Some(Value::Bool(b)) = slot(env, *s) else {
                return Err(err(*rule, not_read(slot(env, *s), *field)));
            };
            n = if *b { *yes } else { *no };
            continue;
        }
        n = match node {
            DNode::Enum { slot: s, field, rule, bits, yes, no } => match slot(env, *s) {
                Some(Value::Enum(v)) => {
                    let v = usize::from(*v);
                    if bits.get(v / 64).is_some_and(|w| w >> (v % 64) & 1 == 1) { *yes } else { *no }
                }
                other => return Err(err(*rule, not_read(other, *field))),
            },
            DNode::Bool { slot: s, field, rule, yes, no } => match slot(env, *s) {
                Some(Value::Bool(b)) => {
                    if *b {
                        *yes
                    } else {
                        *no
                    }
                }
                other => return Err(err(*rule, not_read(other, *field))),
            },
            DNode::Present { slot: s, yes, no } => match slot(env, *s) {
                Some(Value::Absent) | None => *no,
                Some(_) => *yes,
            },
            DNode::Diff { x, y, k, rule, yes, no } => {
                let (Some(a), Some(b)) = (var(env, *x), var(env, *y)) else {
                    return Ok(Walked::Interpret);
                };
                if a.abs() > DIAGRAM_SAFE_MAGNITUDE || b.abs() > DIAGRAM_SAFE_MAGNITUDE {
                    return Ok(Walked::Interpret);
                }
                let _ = rule;
                if a - b <= *k { *yes } else { *no }
            }
            DNode::Test { op, rule, yes, no } => match truth(op, env) {
                Ok(true) => *yes,
                Ok(false) => *no,
                Err(kind) => return Err(err(*rule, kind)),
            },
            DNode::Match(r) => {
                let i = *r as usize;
                if rules.get(i).is_none() {
                    break;
                }
                return Ok(Walked::Rule(i));
            }
            DNode::NoRule => return Err(EvalError { rule: None, kind: EvalErrorKind::NoRuleMatched }),
            DNode::Absent { rule, field } => return Err(err(*rule, EvalErrorKind::AbsentFact { fact: *field })),
        };
    }
    // A malformed diagram (never built): the interpreter still answers.
    Ok(Walked::Interpret)
}

/// The verdict of the rule a walk reached: by its [`Plan`] when it has one, else by evaluating
/// its arguments (the same verdict and the same errors either way).
#[inline]
pub(crate) fn verdict_of<'p>(
    policy: &'p Compiled,
    d: &Diagram,
    index: usize,
    env: &Env<'_>,
) -> Result<verdict::Verdict<'p>, EvalError> {
    let err = |kind| EvalError { rule: Some(index), kind };
    match d.plans.get(index) {
        Some(Some(plan)) => {
            let (numbers, typed) = planned(plan, env).map_err(err)?;
            if !typed {
                return Err(err(EvalErrorKind::TypeMismatch));
            }
            verdict::Verdict::from_numbers(policy, index, plan.action, numbers)
        }
        _ => {
            let rule = policy.rules.get(index).ok_or(err(EvalErrorKind::Internal))?;
            let params = params(rule, env).map_err(err)?;
            verdict::Verdict::new(policy, index, params)
        }
    }
}

/// A plan's parameters as numbers, and whether each had its declared type. An evaluation error
/// stops at once; a value of another type (unchecked facts) is reported after every parameter
/// was evaluated, as checking the evaluated arguments against the action does.
#[inline]
fn planned(plan: &Plan, env: &Env<'_>) -> R<([i64; PLAN_PARAMS], bool)> {
    // By count, so that the numbers stay in registers until the verdict is made.
    let mut typed = true;
    let t = &mut typed;
    let numbers = match plan.params.as_slice() {
        [] => [0; PLAN_PARAMS],
        [a] => [param(a, env, t)?, 0, 0, 0],
        [a, b] => [param(a, env, t)?, param(b, env, t)?, 0, 0],
        [a, b, c] => [param(a, env, t)?, param(b, env, t)?, param(c, env, t)?, 0],
        [a, b, c, d] => [param(a, env, t)?, param(b, env, t)?, param(c, env, t)?, param(d, env, t)?],
        // A plan has at most PLAN_PARAMS parameters.
        _ => return Err(EvalErrorKind::Internal),
    };
    Ok((numbers, typed))
}

/// One parameter as a number; 0 and `typed` cleared when its value is not of the declared type.
#[inline(always)]
fn param(op: &ParamOp, env: &Env<'_>, typed: &mut bool) -> R<i64> {
    Ok(param_number(op, env)?.unwrap_or_else(|| {
        *typed = false;
        0
    }))
}

/// One parameter as a number, `None` when its value is not of the declared type.
#[inline(always)]
fn param_number(op: &ParamOp, env: &Env<'_>) -> R<Option<i64>> {
    Ok(match op {
        ParamOp::Const(c) => Some(*c),
        ParamOp::EnumIn { slot: s, field, bits } => match slot(env, *s) {
            Some(Value::Enum(v)) => Some(i64::from(*v < 64 && bits >> *v & 1 == 1)),
            other => return Err(not_read(other, *field)),
        },
        ParamOp::Copy { slot: s, field, ty, enum_len } => match slot(env, *s) {
            Some(Value::Absent) | None => return Err(EvalErrorKind::AbsentFact { fact: *field }),
            Some(v) => verdict::number_of(*ty, v, *enum_len),
        },
        ParamOp::SinceAsOf { slot: s, field } => {
            let x = match slot(env, *s) {
                Some(Value::Date(d)) => d.days(),
                Some(Value::Int(n)) => *n,
                Some(Value::Absent) | None => return Err(EvalErrorKind::AbsentFact { fact: *field }),
                Some(Value::Bool(_) | Value::Enum(_) | Value::Text(_)) => return Err(EvalErrorKind::TypeMismatch),
            };
            Some(x.checked_sub(env.as_of.days()).ok_or(EvalErrorKind::Overflow)?)
        }
        ParamOp::Eval { op, ty, enum_len } => verdict::number_of(*ty, &eval(op, env)?.to_value(), *enum_len),
    })
}

/// Where the table of finite facts leads; `None` when a fact does not have the shape the table
/// expects (the walk from the root then reports it).
#[inline(always)]
fn table_start<'d>(t: &'d Table, env: &Env<'_>) -> Option<&'d Target> {
    let sub = match t.as_of_cuts.as_slice() {
        [] => t.intervals.first(),
        [cut] => t.intervals.get(usize::from(env.as_of.days() >= *cut)),
        _ => t.intervals.get(t.as_of_bucket(env.as_of.days())),
    }?
    .as_ref()?;
    let [document, item] = &sub.groups;
    let [document_enums, item_enums] = &sub.large_enums;
    let key = shares(document, env.document)?
        + shares(item, env.item)?
        + enum_shares(document_enums, env.document, &sub.shares)?
        + enum_shares(item_enums, env.item, &sub.shares)?;
    sub.targets.get(sub.entries.get(usize::try_from(key).ok()?)?)
}

/// The shares of a group's facts (see [`KeyGroup`]): the slots in order, with independent loads
/// and adds, and branches that go the same way on every decision unless a value is absent or of
/// another type.
#[inline(always)]
fn shares(group: &KeyGroup, values: &[Value]) -> Option<u64> {
    let values = values.get(group.first..)?.get(..group.shares.len())?;
    let mut key = 0;
    for (value, shares) in values.iter().zip(&group.shares) {
        let code = match value {
            Value::Enum(e) => 3 + usize::from(*e).min(12),
            Value::Bool(b) => 1 + usize::from(*b),
            Value::Absent => 0,
            _ => 15,
        };
        key += u64::from(shares.get(code).copied().unwrap_or(SubTable::INVALID));
    }
    Some(key)
}

/// The shares of enums with many values (see [`EnumVar`]).
#[inline(always)]
fn enum_shares(vars: &[EnumVar], values: &[Value], shares: &[u32]) -> Option<u64> {
    let mut key = 0;
    for v in vars {
        let index = match values.get(v.slot as usize)? {
            Value::Enum(e) => (1 + u32::from(*e)).min(v.last),
            Value::Absent => 0,
            _ => return None,
        };
        key += u64::from(*shares.get(v.start.wrapping_add(index) as usize)?);
    }
    Some(key)
}

/// The number a difference test reads: days for dates, the value for integers.
#[inline]
fn var(env: &Env<'_>, v: VarRef) -> Option<i64> {
    match v {
        VarRef::Zero => Some(0),
        VarRef::AsOf => Some(env.as_of.days()),
        VarRef::Fact(s, _) => match slot(env, s) {
            Some(Value::Date(d)) => Some(d.days()),
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        },
    }
}

/// The value of an expression that reads no facts, if it has one.
pub(crate) fn constant(op: &Op) -> Option<Value> {
    let env = Env { document: &[], item: &[], as_of: Date::from_naive(chrono::NaiveDate::MIN) };
    eval(op, &env).ok().map(V::to_value)
}

impl V<'_> {
    fn to_value(self) -> Value {
        match self {
            V::Bool(b) => Value::Bool(b),
            V::Int(n) => Value::Int(n),
            // Only produced from valid dates or checked arithmetic.
            V::Date(d) => Date::from_days(d).map_or(Value::Absent, Value::Date),
            V::Enum(e) => Value::Enum(e),
            V::Text(t) => Value::Text(t.into()),
        }
    }
}

#[inline]
fn slot<'a>(env: &Env<'a>, s: Slot) -> Option<&'a Value> {
    match s.scope {
        Scope::Document => env.document.get(s.index),
        Scope::Item => env.item.get(s.index),
    }
}

#[inline]
fn load<'a>(env: &Env<'a>, s: Slot, field: FieldId) -> R<V<'a>> {
    Ok(match slot(env, s) {
        Some(Value::Bool(b)) => V::Bool(*b),
        Some(Value::Int(n)) => V::Int(*n),
        Some(Value::Date(d)) => V::Date(d.days()),
        Some(Value::Enum(e)) => V::Enum(*e),
        Some(Value::Text(t)) => V::Text(t),
        Some(Value::Absent) | None => return Err(EvalErrorKind::AbsentFact { fact: field }),
    })
}

#[inline]
pub(crate) fn truth(op: &Op, env: &Env<'_>) -> R<bool> {
    match op {
        Op::EnumIn { slot: s, field, bits } => match slot(env, *s) {
            Some(Value::Enum(v)) => {
                let v = usize::from(*v);
                Ok(bits.get(v / 64).is_some_and(|w| w >> (v % 64) & 1 == 1))
            }
            other => Err(not_read(other, *field)),
        },
        Op::And(xs) => {
            for x in xs.iter() {
                if !truth(x, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Op::Or(xs) => {
            for x in xs.iter() {
                if truth(x, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Op::Not(x) => Ok(!truth(x, env)?),
        other => match eval(other, env)? {
            V::Bool(b) => Ok(b),
            // The checker only lets `bool` expressions into conditions: only a value of another
            // type in an unchecked slot gets here.
            V::Int(_) | V::Date(_) | V::Enum(_) | V::Text(_) => Err(EvalErrorKind::TypeMismatch),
        },
    }
}

fn eval<'a>(op: &'a Op, env: &Env<'a>) -> R<V<'a>> {
    Ok(match op {
        Op::Const(v) => match v {
            Value::Bool(b) => V::Bool(*b),
            Value::Int(n) => V::Int(*n),
            Value::Date(d) => V::Date(d.days()),
            Value::Enum(e) => V::Enum(*e),
            Value::Text(t) => V::Text(t),
            // Constants are folded from literals: none is absent.
            Value::Absent => return Err(EvalErrorKind::Internal),
        },
        Op::Load(s, field) => load(env, *s, *field)?,
        Op::AsOf => V::Date(env.as_of.days()),
        Op::Present(s) => V::Bool(!matches!(slot(env, *s), Some(Value::Absent) | None)),
        Op::Not(_) | Op::And(_) | Op::Or(_) | Op::EnumIn { .. } => V::Bool(truth(op, env)?),
        Op::Compare(cmp, l, r) => {
            let (l, r) = (eval(l, env)?, eval(r, env)?);
            V::Bool(compare(*cmp, l, r).ok_or(EvalErrorKind::TypeMismatch)?)
        }
        Op::In { negated, value, set } => {
            let v = eval(value, env)?;
            let mut found = false;
            for s in set.iter() {
                if eval(s, env)? == v {
                    found = true;
                    break;
                }
            }
            V::Bool(found != *negated)
        }
        Op::Arith { op, left, right, date } => {
            let (l, r) = (number(eval(left, env)?)?, number(eval(right, env)?)?);
            let n = match op {
                ArithOp::Add => l.checked_add(r),
                ArithOp::Sub => l.checked_sub(r),
            }
            .ok_or(EvalErrorKind::Overflow)?;
            if *date {
                Date::from_days(n).ok_or(EvalErrorKind::DateOutOfRange)?;
                V::Date(n)
            } else {
                V::Int(n)
            }
        }
    })
}

/// The number arithmetic reads (days for dates); the checker only lets numbers and dates into
/// arithmetic, so anything else came from an unchecked slot.
fn number(v: V<'_>) -> R<i64> {
    match v {
        V::Int(n) | V::Date(n) => Ok(n),
        V::Enum(_) | V::Bool(_) | V::Text(_) => Err(EvalErrorKind::TypeMismatch),
    }
}

/// Why a slot that should hold a value of a fact's type could not be read: the fact is absent,
/// or (unchecked facts only) holds a value of another type.
#[cold]
fn not_read(value: Option<&Value>, field: FieldId) -> EvalErrorKind {
    match value {
        Some(Value::Absent) | None => EvalErrorKind::AbsentFact { fact: field },
        Some(_) => EvalErrorKind::TypeMismatch,
    }
}

/// `None` when the two sides have different types (the checker guarantees one type, so only
/// unchecked slots can cause it).
fn compare(cmp: CmpOp, l: V<'_>, r: V<'_>) -> Option<bool> {
    use std::cmp::Ordering;
    let ord = match (l, r) {
        (V::Int(a) | V::Date(a), V::Int(b) | V::Date(b)) => a.cmp(&b),
        (V::Enum(a), V::Enum(b)) => a.cmp(&b),
        (V::Bool(a), V::Bool(b)) => a.cmp(&b),
        (V::Text(a), V::Text(b)) => a.cmp(b),
        (V::Int(_) | V::Date(_) | V::Enum(_) | V::Bool(_) | V::Text(_), _) => return None,
    };
    Some(match cmp {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    })
}

impl Compiled {
    /// Decides by trying the rules one by one (the reference the decision diagram is tested
    /// against); see [`crate::Policy::evaluate`].
    pub(crate) fn evaluate_interpreted(
        &self,
        document: &[Value],
        item: &[Value],
        as_of: Date,
    ) -> Result<verdict::Verdict<'_>, EvalError> {
        let env = Env { document, item, as_of };
        let (rule, params) = decide(&self.rules, &env)?;
        verdict::Verdict::new(self, rule, params)
    }

    /// Describes an evaluation error in words: which fact, which rule.
    pub fn describe_error(&self, err: &EvalError) -> String {
        use EvalErrorKind as K;
        let rule = err.rule.and_then(|r| self.rules.get(r)).map(|r| r.id.as_str());
        match (&err.kind, rule) {
            (K::AbsentFact { fact }, Some(rule)) => {
                let path = self.schema.fields.get(*fact).map_or("?", |f| f.path.as_str());
                format!(
                    "rule `{rule}` needs `{path}`, which has no value; give `{path}` or have the rule test `present({path})` first"
                )
            }
            (K::NoRuleMatched, _) => "no rule matched these facts; the policy has a gap here".to_string(),
            (kind, Some(rule)) => format!("rule `{rule}`: {kind}"),
            (kind, None) => kind.to_string(),
        }
    }
}
