//! Checked policy → evaluation form.
//!
//! Facts become slot reads, enum tests become bit-set lookups (`channel in [a, b]` is one load
//! and one mask test), and constant sub-expressions are folded. Nothing in the compiled form
//! is looked up by name while deciding.

use crate::language::ast::{ArithOp, CmpOp};
use crate::language::check::{Checked, TExpr};
use crate::language::schema::{FieldId, Schema, Slot, Type};
use crate::value::Value;

/// A set of enum values as bits; enums of up to 64 values need no heap.
pub(crate) type Bits = smallvec::SmallVec<[u64; 1]>;

/// One compiled expression node.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Const(Value),
    /// Read a fact; reading an absent one is an evaluation error naming `field`.
    Load(Slot, FieldId),
    AsOf,
    Present(Slot),
    Not(Box<Op>),
    And(Box<[Op]>),
    Or(Box<[Op]>),
    /// `fact in {values}` for an enum fact: bit `v` of `bits` is set when value `v` is in the set.
    EnumIn {
        slot: Slot,
        field: FieldId,
        bits: Bits,
    },
    Compare(CmpOp, Box<Op>, Box<Op>),
    In {
        negated: bool,
        value: Box<Op>,
        set: Box<[Op]>,
    },
    /// Arithmetic over integers or days; `date` says the result is a date.
    Arith {
        op: ArithOp,
        left: Box<Op>,
        right: Box<Op>,
        date: bool,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledRule {
    pub id: String,
    /// `None`: always matches.
    pub when: Option<Op>,
    pub action: usize,
    pub args: Box<[Op]>,
    pub reason: String,
    pub source: Option<String>,
    pub id_span: crate::source::Span,
    /// The condition's top-level `and` operands, each compiled alone, with its source span;
    /// used to explain a decision operand by operand.
    pub conjuncts: Vec<(Op, crate::source::Span)>,
    /// Optional facts the rule reads on purpose (its `requires` clause); evaluation ignores it.
    pub requires: Vec<crate::language::schema::FieldId>,
    /// The days the rule is in force. Evaluation ignores it (`when` holds the condition on
    /// `as_of` it means); when bounded, it is the first of `conjuncts`.
    pub period: crate::language::period::Period,
}

/// A compiled policy: the text it came from, its fact schema, and its rules in evaluation
/// order. What evaluation, explanation and analysis read; a `Policy` adds the decision diagram
/// and the warnings.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub sources: crate::source::Sources,
    pub schema: Schema,
    pub rules: Vec<CompiledRule>,
}

impl Compiled {
    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    pub(crate) fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub(crate) fn sources(&self) -> &crate::source::Sources {
        &self.sources
    }
}

/// Compiles checked rules. The checker guarantees every fact id names a declared fact; should
/// that ever not hold, the policy is refused with an internal error at the rule (never compiled
/// into a condition that silently reads nothing).
///
/// `constant` gives the value of an operation that reads no fact (the evaluator's, so that a
/// folded constant is exactly what evaluating it would give; `None` when it fails, an overflow
/// say, which then shows up when a rule uses it).
pub(crate) fn compile(
    checked: Checked,
    constant: Constant,
) -> Result<(Schema, Vec<CompiledRule>), crate::diagnostic::PolicyDiagnostic> {
    let Checked { schema, rules, .. } = checked;
    let cx = Cx { schema: &schema, constant };
    let mut compiled = Vec::with_capacity(rules.len());
    for r in rules {
        let broken = |Undeclared(f): Undeclared| {
            crate::diagnostic::PolicyDiagnostic::error(
                "compile::internal",
                format!("internal error: rule `{}` refers to fact number {f}, which the schema does not declare", r.id),
                r.id_span,
                "in this rule",
            )
        };
        let when = match &r.when {
            Some(w) => Some(op(&cx, w).map_err(broken)?).filter(|w| !matches!(w, Op::Const(Value::Bool(true)))),
            None => None,
        };
        let conjuncts = match &r.when {
            Some(TExpr::And(parts)) => parts
                .iter()
                .zip(r.conjunct_spans.iter().copied())
                .map(|(p, span)| op(&cx, p).map(|o| (o, span)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(broken)?,
            Some(w) => match r.conjunct_spans.first() {
                Some(span) => vec![(op(&cx, w).map_err(broken)?, *span)],
                None => vec![],
            },
            None => vec![],
        };
        let args = r.args.iter().map(|a| op(&cx, a)).collect::<Result<Vec<_>, _>>().map_err(broken)?;
        compiled.push(CompiledRule {
            when,
            conjuncts,
            id_span: r.id_span,
            requires: r.requires,
            period: r.period,
            args: args.into(),
            id: r.id,
            action: r.action,
            reason: r.reason,
            source: r.source,
        });
    }
    Ok((schema, compiled))
}

/// Most parameters a [`Plan`] computes: verdicts of actions with more, or with a text
/// parameter, are made from [`Value`]s.
pub(crate) const PLAN_PARAMS: usize = 4;

/// How the decision diagram computes a rule's verdict: the action resolved and each parameter
/// as a specialised operation that yields the number the verdict stores for its declared type
/// (bool 0/1, int, date in days, enum index), with the same errors as evaluating the rule's
/// arguments and checking them against the action would give.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub action: usize,
    pub params: smallvec::SmallVec<[ParamOp; PLAN_PARAMS]>,
}

/// One parameter of a [`Plan`].
#[derive(Clone, Debug)]
pub(crate) enum ParamOp {
    /// A constant of the declared type.
    Const(i64),
    /// A fact copied: its value must be of the declared type (`enum_len` values for an enum).
    Copy { slot: Slot, field: FieldId, ty: Type, enum_len: u16 },
    /// `fact in {values}` for an enum of at most 64 values, to a bool parameter.
    EnumIn { slot: Slot, field: FieldId, bits: u64 },
    /// `fact - as_of` for a date or int fact, to an int parameter.
    SinceAsOf { slot: Slot, field: FieldId },
    /// Anything else: evaluated, then checked against the declared type (`enum_len` values for
    /// an enum).
    Eval { op: Op, ty: Type, enum_len: u16 },
}

/// The [`Plan`] of a rule, or `None` when its action takes text or more than
/// [`PLAN_PARAMS`] parameters (or does not match the rule's arguments).
pub(crate) fn plan(schema: &Schema, rule: &CompiledRule) -> Option<Plan> {
    let action = schema.actions.get(rule.action)?;
    if action.params.len() != rule.args.len() || action.params.len() > PLAN_PARAMS {
        return None;
    }
    let enum_len = |ty: Type| match ty {
        Type::Enum(e) => schema.enums.get(e).and_then(|d| u16::try_from(d.values.len()).ok()),
        Type::Bool | Type::Int | Type::Date | Type::Text => Some(0),
    };
    let mut params = smallvec::SmallVec::new();
    for ((_, ty), arg) in action.params.iter().zip(rule.args.iter()) {
        let ty = *ty;
        if ty == Type::Text {
            return None;
        }
        let op = match (arg, ty) {
            (Op::Const(v), _) => match (v, ty) {
                (Value::Bool(b), Type::Bool) => ParamOp::Const(i64::from(*b)),
                (Value::Int(n), Type::Int) => ParamOp::Const(*n),
                (Value::Date(d), Type::Date) => ParamOp::Const(d.days()),
                (Value::Enum(i), Type::Enum(_)) if *i < enum_len(ty)? => ParamOp::Const(i64::from(*i)),
                _ => ParamOp::Eval { op: arg.clone(), ty, enum_len: enum_len(ty)? },
            },
            (Op::Load(slot, field), _) => ParamOp::Copy { slot: *slot, field: *field, ty, enum_len: enum_len(ty)? },
            (Op::EnumIn { slot, field, bits }, Type::Bool) if bits.len() == 1 => {
                ParamOp::EnumIn { slot: *slot, field: *field, bits: *bits.first()? }
            }
            (Op::Arith { op: ArithOp::Sub, left, right, date: false }, Type::Int)
                if matches!(**right, Op::AsOf) && matches!(**left, Op::Load(..)) =>
            {
                match &**left {
                    Op::Load(slot, field) => ParamOp::SinceAsOf { slot: *slot, field: *field },
                    _ => ParamOp::Eval { op: arg.clone(), ty, enum_len: enum_len(ty)? },
                }
            }
            _ => ParamOp::Eval { op: arg.clone(), ty, enum_len: enum_len(ty)? },
        };
        params.push(op);
    }
    Some(Plan { action: rule.action, params })
}

/// Evaluates an operation that reads no fact (see [`compile`]).
pub(crate) type Constant = fn(&Op) -> Option<Value>;

/// What lowering an expression needs.
struct Cx<'a> {
    schema: &'a Schema,
    constant: Constant,
}

/// A fact id the schema does not declare (a broken checker invariant).
struct Undeclared(crate::language::schema::FieldId);

fn op(cx: &Cx<'_>, e: &TExpr) -> Result<Op, Undeclared> {
    let schema = cx.schema;
    Ok(match e {
        TExpr::Const(v) => Op::Const(v.clone()),
        TExpr::Fact(f) => match schema.fields.get(*f) {
            Some(def) => Op::Load(def.slot, *f),
            None => return Err(Undeclared(*f)),
        },
        TExpr::AsOf => Op::AsOf,
        TExpr::Present(f) => match schema.fields.get(*f) {
            Some(def) if def.optional => Op::Present(def.slot),
            // A fact that is not optional always has a value (given, or its default).
            Some(_) => Op::Const(Value::Bool(true)),
            None => return Err(Undeclared(*f)),
        },
        TExpr::Not(inner) => match op(cx, inner)? {
            Op::Const(Value::Bool(b)) => Op::Const(Value::Bool(!b)),
            Op::EnumIn { slot, field, bits } => Op::EnumIn { slot, field, bits: complement(schema, field, &bits) },
            other => Op::Not(Box::new(other)),
        },
        TExpr::And(parts) | TExpr::Or(parts) => {
            let is_and = matches!(e, TExpr::And(_));
            let mut ops = Vec::new();
            for p in parts {
                match op(cx, p)? {
                    // `true and x` is `x`; `false or x` is `x`.
                    Op::Const(Value::Bool(b)) if b == is_and => {}
                    // `false and x` is false; `true or x` is true (x is never read, as at run time).
                    c @ Op::Const(Value::Bool(_)) => {
                        if ops.is_empty() {
                            return Ok(c);
                        }
                        ops.push(c);
                        break;
                    }
                    other => ops.push(other),
                }
            }
            match ops.len() {
                0 => Op::Const(Value::Bool(is_and)),
                1 => ops.pop().unwrap_or(Op::Const(Value::Bool(is_and))),
                _ if is_and => Op::And(ops.into()),
                _ => Op::Or(ops.into()),
            }
        }
        TExpr::Compare(cmp, l, r) => {
            let (l, r) = (op(cx, l)?, op(cx, r)?);
            match (cmp, &l, &r) {
                (CmpOp::Eq | CmpOp::Ne, Op::Load(slot, field), Op::Const(Value::Enum(v)))
                | (CmpOp::Eq | CmpOp::Ne, Op::Const(Value::Enum(v)), Op::Load(slot, field)) => {
                    let bits = enum_bits(schema, *field, std::iter::once(*v));
                    let bits = if *cmp == CmpOp::Ne { complement(schema, *field, &bits) } else { bits };
                    Op::EnumIn { slot: *slot, field: *field, bits }
                }
                _ => fold(cx, Op::Compare(*cmp, Box::new(l), Box::new(r))),
            }
        }
        TExpr::In { negated, value, set } => {
            let value = op(cx, value)?;
            let set: Vec<Op> = set.iter().map(|s| op(cx, s)).collect::<Result<_, _>>()?;
            if let Op::Load(slot, field) = value {
                let consts: Option<Vec<u16>> =
                    set.iter().map(|s| if let Op::Const(Value::Enum(v)) = s { Some(*v) } else { None }).collect();
                if let Some(values) = consts.filter(|_| is_enum(schema, field)) {
                    let bits = enum_bits(schema, field, values.into_iter());
                    let bits = if *negated { complement(schema, field, &bits) } else { bits };
                    return Ok(Op::EnumIn { slot, field, bits });
                }
            }
            fold(cx, Op::In { negated: *negated, value: Box::new(value), set: set.into() })
        }
        TExpr::Arith(a, l, r, ty) => fold(
            cx,
            Op::Arith { op: *a, left: Box::new(op(cx, l)?), right: Box::new(op(cx, r)?), date: *ty == Type::Date },
        ),
    })
}

fn is_enum(schema: &Schema, field: FieldId) -> bool {
    matches!(schema.fields.get(field).map(|f| f.ty), Some(Type::Enum(_)))
}

fn enum_len(schema: &Schema, field: FieldId) -> usize {
    match schema.fields.get(field).map(|f| f.ty) {
        Some(Type::Enum(e)) => schema.enums.get(e).map_or(0, |d| d.values.len()),
        _ => 0,
    }
}

fn enum_bits(schema: &Schema, field: FieldId, values: impl Iterator<Item = u16>) -> Bits {
    let mut bits: Bits = smallvec::smallvec![0u64; enum_len(schema, field).div_ceil(64).max(1)];
    for v in values {
        let v = usize::from(v);
        if let Some(word) = bits.get_mut(v / 64) {
            *word |= 1 << (v % 64);
        }
    }
    bits
}

fn complement(schema: &Schema, field: FieldId, bits: &[u64]) -> Bits {
    let all = enum_bits(schema, field, (0..enum_len(schema, field)).filter_map(|v| u16::try_from(v).ok()));
    all.iter().zip(bits.iter().chain(std::iter::repeat(&0))).map(|(a, b)| a & !b).collect()
}

/// Replaces an expression that reads no fact and no date by its value.
fn fold(cx: &Cx<'_>, op: Op) -> Op {
    if !reads_nothing(&op) {
        return op;
    }
    match (cx.constant)(&op) {
        Some(v) => Op::Const(v),
        // It fails (an overflow, say): leave it, so the error shows up when a rule uses it.
        None => op,
    }
}

fn reads_nothing(op: &Op) -> bool {
    match op {
        Op::Const(_) => true,
        Op::Load(..) | Op::AsOf | Op::Present(_) | Op::EnumIn { .. } => false,
        Op::Not(x) => reads_nothing(x),
        Op::And(xs) | Op::Or(xs) => xs.iter().all(reads_nothing),
        Op::Compare(_, l, r) | Op::Arith { left: l, right: r, .. } => reads_nothing(l) && reads_nothing(r),
        Op::In { value, set, .. } => reads_nothing(value) && set.iter().all(reads_nothing),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::language::check::CheckedRule;
    use crate::source::Span;

    /// A fact id the schema does not declare cannot come out of the checker; if it ever did, the
    /// rule is refused by name rather than compiled into a read of nothing.
    #[test]
    fn an_undeclared_fact_is_an_internal_error_not_an_absent_value() {
        let rule = |when| CheckedRule {
            id: "r".into(),
            when: Some(when),
            action: 0,
            args: vec![],
            reason: "x".into(),
            source: None,
            span: Span::default(),
            id_span: Span::default(),
            conjunct_spans: vec![Span::default()],
            requires: vec![],
            period: crate::language::period::Period::ALWAYS,
        };
        for when in [TExpr::Fact(7), TExpr::Present(7), TExpr::Not(Box::new(TExpr::Fact(7)))] {
            let checked = Checked { schema: Schema::default(), rules: vec![rule(when)], warnings: vec![] };
            let Err(d) = compile(checked, |_| None) else { panic!("compiled an undeclared fact") };
            assert_eq!(d.code, "compile::internal");
            assert!(d.message.contains("rule `r` refers to fact number 7"), "{}", d.message);
        }
    }
}
