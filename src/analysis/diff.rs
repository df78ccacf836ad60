//! What a change of the rules changes: every region of the fact space whose verdict differs
//! between two policies (or between two dates under one policy), found by the exploration
//! `check` uses.
//!
//! Both policies are put over one schema, the *shared* one: the old policy's facts, with the
//! new policy's fields, enum values and enum constants mapped onto them by name. A fact only one
//! side declares takes the value a document that leaves it out gets there (its default, or
//! absent when optional); enum facts range over the values both sides declare. The old rules
//! and the new rules then form one list: the old rules split the space into the regions each
//! decides (first match wins, exactly as in `check`), and inside each of those the new rules
//! split it again. A pair of outcomes with another action, or a verdict on one side and an error
//! or no rule on the other, is a difference; with the same action, parameters whose expressions
//! are not the same are compared by asking for a region where they differ. Every reported
//! difference carries a fact document that both policies evaluate, and whose verdicts were seen
//! to differ; a region where no such document was found is counted, never reported as a change.

use std::collections::HashMap;

use super::{Atom, Budget, Explorer, Leaf, State, Tri};
use crate::compile::{Compiled, CompiledRule, Op};
use crate::language::ast::CmpOp;
use crate::language::schema::{FieldId, Schema, Slot, Type};
use crate::value::{Date, Value};

/// A difference between the two schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    /// `fact-added`, `fact-removed`, `fact-type`, `fact-optional`, `fact-default`,
    /// `enum-value-added`, `enum-value-removed`, `action-added`, `action-removed`,
    /// `action-params`, `list-key`.
    pub kind: &'static str,
    /// The fact path, `Enum.value`, or action name.
    pub name: String,
    /// In words.
    pub message: String,
}

/// One side of a verdict change: what decides a region under one policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// A rule decides, with this action.
    Rule { id: String, action: String },
    /// No rule matches (an error).
    NoRule,
    /// A rule reads a fact that is absent there (an error).
    Error { rule: String, fact: String },
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Side::Rule { id, action } => write!(f, "rule `{id}` ({action})"),
            Side::NoRule => f.write_str("no rule (error)"),
            Side::Error { rule, fact } => write!(f, "rule `{rule}` reads absent `{fact}` (error)"),
        }
    }
}

/// What differs between the two outcomes of a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Another action (or the action's parameters are declared differently).
    Action,
    /// The same action; these parameters differ.
    Params(Vec<String>),
    /// A verdict on one side, an error on the other.
    Decided,
}

/// Regions that an old rule and a new rule decide differently, with one witness.
#[derive(Clone, Debug, PartialEq)]
pub struct VerdictChange {
    pub old: Side,
    pub new: Side,
    pub kind: ChangeKind,
    /// Regions of the fact space in this group.
    pub regions: usize,
    /// A fact document (YAML, the policies' input format, with `as_of`) that the two evaluate differently.
    pub witness: String,
    /// The verdicts of the witness, as `action(param: value, ...)` or `error: ...`.
    pub old_verdict: String,
    pub new_verdict: String,
}

/// What `Policy::diff` and `Policy::diff_as_of` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    /// The dates compared (`--as-of A --as-of B`); `None` for two policies.
    pub dates: Option<(Date, Date)>,
    pub schema_changes: Vec<SchemaChange>,
    /// Why the verdicts could not be compared (`None`: they were, over the shared schema).
    pub not_compared: Option<String>,
    /// How the shared schema was made: facts held at a value, enum facts narrowed.
    pub assumptions: Vec<String>,
    /// Verdict changes, grouped by (old rule → new rule), in the order the exploration met them.
    pub changes: Vec<VerdictChange>,
    /// Regions that may differ but for which no fact document showing it was found (they rest on
    /// comparisons the analysis does not model, text for example).
    pub unconfirmed: usize,
    /// Regions explored (pairs of old and new outcomes).
    pub regions: usize,
    /// False when the budget ran out: the changes found are real, others may exist.
    pub exhaustive: bool,
    pub budget: usize,
}

impl Diff {
    /// Whether anything differs: the schema or some verdict.
    pub fn differs(&self) -> bool {
        !self.schema_changes.is_empty() || !self.changes.is_empty() || self.not_compared.is_some()
    }
}

/// How one base field is held for the comparison.
enum Fix {
    /// At this value (a default), present.
    Value(Value),
    Absent,
}

/// The shared schema and how the new policy's names map onto it.
struct Shared {
    base: Schema,
    /// New field → base field.
    field: Vec<Option<FieldId>>,
    /// Per new field of an enum type shared with the old side: new value → old value.
    values: HashMap<FieldId, Vec<Option<u16>>>,
    fixed: Vec<(FieldId, Fix)>,
    narrowed: Vec<(FieldId, Vec<u64>)>,
    present: Vec<FieldId>,
    /// Old fields whose default differs: always written out in witnesses.
    explicit: Vec<FieldId>,
    changes: Vec<SchemaChange>,
    assumptions: Vec<String>,
    problems: Vec<String>,
}

fn type_name(s: &Schema, ty: Type) -> String {
    s.type_name(ty).to_string()
}

fn same_type(a: Type, b: Type) -> bool {
    match (a, b) {
        (Type::Enum(_), Type::Enum(_)) => true,
        _ => a == b,
    }
}

fn value_text(s: &Schema, ty: Type, v: &Value) -> String {
    match (ty, v) {
        (Type::Enum(e), Value::Enum(i)) => s.enum_value_name(e, *i).to_string(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Int(n)) => n.to_string(),
        (_, Value::Date(d)) => d.to_string(),
        (_, Value::Text(t)) => format!("{t:?}"),
        _ => "none".into(),
    }
}

/// Whether two defaults say the same thing (enum values by name).
fn same_default(old: &Schema, ty_o: Type, a: Option<&Value>, new: &Schema, ty_n: Type, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => value_text(old, ty_o, x) == value_text(new, ty_n, y),
        _ => false,
    }
}

fn shared(old: &Schema, new: &Schema) -> Shared {
    let mut base = old.clone();
    let enum_offset = base.enums.len();
    base.enums.extend(new.enums.iter().cloned());
    let mut out = Shared {
        base,
        field: vec![None; new.fields.len()],

        values: HashMap::new(),
        fixed: Vec::new(),
        narrowed: Vec::new(),
        present: Vec::new(),
        explicit: Vec::new(),
        changes: Vec::new(),
        assumptions: Vec::new(),
        problems: Vec::new(),
    };
    let change = |kind: &'static str, name: &str, message: String| SchemaChange { kind, name: name.into(), message };

    // Lists of entries: a document is only read by both when they use the same key.
    for g in &old.groups {
        if let Some(n) = new.groups.iter().find(|n| n.name == g.name) {
            if n.list != g.list {
                let show = |l: &Option<String>| l.as_deref().map_or("no list".to_string(), |l| format!("list `{l}`"));
                out.changes.push(change(
                    "list-key",
                    &g.name,
                    format!("group `{}` is read from {} before, from {} after", g.name, show(&g.list), show(&n.list)),
                ));
                out.problems.push(format!("the entries of group `{}` are read from another key", g.name));
            }
        }
    }

    // Enum values, by enum name.
    for e in &old.enums {
        match new.enums.iter().find(|n| n.name == e.name) {
            Some(n) => {
                for v in &e.values {
                    if !n.values.contains(v) {
                        let name = format!("{}.{v}", e.name);
                        out.changes.push(change("enum-value-removed", &name, format!("enum value `{name}` removed")));
                    }
                }
                for v in &n.values {
                    if !e.values.contains(v) {
                        let name = format!("{}.{v}", e.name);
                        out.changes.push(change("enum-value-added", &name, format!("enum value `{name}` added")));
                    }
                }
            }
            None => out.changes.push(change("enum-removed", &e.name, format!("enum `{}` removed", e.name))),
        }
    }
    for n in &new.enums {
        if !old.enums.iter().any(|e| e.name == n.name) {
            out.changes.push(change("enum-added", &n.name, format!("enum `{}` added", n.name)));
        }
    }

    // Facts, by path.
    let hold = |out: &mut Shared, f: FieldId, def: &crate::language::schema::FieldDef, s: &Schema, side: &str| match (
        &def.default,
        def.optional,
    ) {
        (Some(v), _) => {
            out.assumptions.push(format!(
                "`{}` (only {side}) is held at its default `{}`",
                def.path,
                value_text(s, def.ty, v)
            ));
            out.fixed.push((f, Fix::Value(v.clone())));
        }
        (None, true) => {
            out.assumptions.push(format!("`{}` (only {side}) is held absent", def.path));
            out.fixed.push((f, Fix::Absent));
        }
        (None, false) => out.problems.push(format!(
            "`{}` is required {side} only, with no default: no fact document is valid for both",
            def.path
        )),
    };
    for (fo, d) in old.fields.iter().enumerate() {
        let Some(fn_) = new.fields.iter().position(|n| n.path == d.path) else {
            out.changes.push(change("fact-removed", &d.path, format!("fact `{}` removed", d.path)));
            hold(&mut out, fo, d, old, "in the old policy");
            continue;
        };
        let Some(n) = new.fields.get(fn_) else { continue };
        if !same_type(d.ty, n.ty) {
            out.changes.push(change(
                "fact-type",
                &d.path,
                format!(
                    "fact `{}` changes type: {} before, {} after",
                    d.path,
                    type_name(old, d.ty),
                    type_name(new, n.ty)
                ),
            ));
            out.problems.push(format!("`{}` has another type", d.path));
            continue;
        }
        if let Some(slot) = out.field.get_mut(fn_) {
            *slot = Some(fo);
        }
        if let (Type::Enum(eo), Type::Enum(en)) = (d.ty, n.ty) {
            let (Some(eo_def), Some(en_def)) = (old.enums.get(eo), new.enums.get(en)) else { continue };
            let map: Vec<Option<u16>> = en_def
                .values
                .iter()
                .map(|v| eo_def.values.iter().position(|o| o == v).and_then(|i| u16::try_from(i).ok()))
                .collect();
            let common: Vec<usize> = map.iter().flatten().map(|i| usize::from(*i)).collect();
            if common.len() < eo_def.values.len() {
                let mut bits = vec![0u64; eo_def.values.len().div_ceil(64).max(1)];
                for i in &common {
                    if let Some(w) = bits.get_mut(i / 64) {
                        *w |= 1 << (i % 64);
                    }
                }
                let kept: Vec<&str> = common.iter().filter_map(|i| eo_def.values.get(*i)).map(String::as_str).collect();
                out.assumptions.push(format!("`{}` ranges over the values both declare: {}", d.path, kept.join(", ")));
                if common.is_empty() {
                    out.problems.push(format!("`{}` has no value both policies declare", d.path));
                }
                out.narrowed.push((fo, bits));
            }
            out.values.insert(fn_, map);
        }
        if d.optional != n.optional {
            let was = |o: bool| if o { "optional" } else { "required" };
            out.changes.push(change(
                "fact-optional",
                &d.path,
                format!("fact `{}` is {} before, {} after", d.path, was(d.optional), was(n.optional)),
            ));
            out.assumptions.push(format!("`{}` is given (both policies read such documents)", d.path));
            out.present.push(fo);
        }
        if !same_default(old, d.ty, d.default.as_ref(), new, n.ty, n.default.as_ref()) {
            let show = |s: &Schema, ty: Type, v: Option<&Value>| v.map_or("none".into(), |v| value_text(s, ty, v));
            out.changes.push(change(
                "fact-default",
                &d.path,
                format!(
                    "fact `{}` defaults to {} before, {} after: a document that leaves it out is read differently",
                    d.path,
                    show(old, d.ty, d.default.as_ref()),
                    show(new, n.ty, n.default.as_ref())
                ),
            ));
            out.explicit.push(fo);
        }
    }
    let mut next_slot = 1_000_000usize;
    for (fn_, n) in new.fields.iter().enumerate() {
        if out.field.get(fn_).copied().flatten().is_some() {
            continue;
        }
        if !old.fields.iter().any(|d| d.path == n.path) {
            out.changes.push(change("fact-added", &n.path, format!("fact `{}` added", n.path)));
        }
        let mut def = n.clone();
        if let Type::Enum(e) = def.ty {
            def.ty = Type::Enum(enum_offset + e);
        }
        def.slot = Slot { scope: def.slot.scope, index: next_slot };
        next_slot += 1;
        let fb = out.base.fields.len();
        out.base.fields.push(def);
        if let Some(slot) = out.field.get_mut(fn_) {
            *slot = Some(fb);
        }
        hold(&mut out, fb, n, new, "in the new policy");
    }

    // Actions, by name.
    for a in &old.actions {
        match new.actions.iter().find(|n| n.name == a.name) {
            None => out.changes.push(change("action-removed", &a.name, format!("action `{}` removed", a.name))),
            Some(n) if !same_signature(old, &a.params, new, &n.params) => {
                let sig = |s: &Schema, ps: &[(String, Type)]| {
                    ps.iter().map(|(p, t)| format!("{p}: {}", s.type_name(*t))).collect::<Vec<_>>().join(", ")
                };
                out.changes.push(change(
                    "action-params",
                    &a.name,
                    format!(
                        "action `{}` takes ({}) before, ({}) after",
                        a.name,
                        sig(old, &a.params),
                        sig(new, &n.params)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    for n in &new.actions {
        if !old.actions.iter().any(|a| a.name == n.name) {
            out.changes.push(change("action-added", &n.name, format!("action `{}` added", n.name)));
        }
    }
    out
}

fn same_signature(old: &Schema, a: &[(String, Type)], new: &Schema, b: &[(String, Type)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((pa, ta), (pb, tb))| pa == pb && old.type_name(*ta) == new.type_name(*tb))
}

/// The new policy's expressions over the shared schema.
struct Remap<'a> {
    shared: &'a Shared,
    new: &'a Schema,
}

impl Remap<'_> {
    fn field(&self, f: FieldId) -> FieldId {
        self.shared.field.get(f).copied().flatten().unwrap_or(usize::MAX)
    }

    fn slot(&self, f: FieldId) -> Slot {
        self.shared
            .base
            .fields
            .get(self.field(f))
            .map_or(Slot { scope: crate::language::schema::Scope::Document, index: usize::MAX }, |d| d.slot)
    }

    /// The value map of the enum field an operand reads, for the other operand's constants.
    fn enum_map(&self, op: &Op) -> Option<&[Option<u16>]> {
        match op {
            Op::Load(_, f) => self.shared.values.get(f).map(Vec::as_slice),
            _ => None,
        }
    }

    /// A parameter of the new rule `rule`, its enum constants read by the parameter's type.
    fn param(&self, op: &Op, p: usize, action: usize, old: &Schema) -> Op {
        let map = (|| {
            let a = self.new.actions.get(action)?;
            let Some((name, Type::Enum(en))) = a.params.get(p) else { return None };
            let oa = old.actions.iter().find(|o| o.name == a.name)?;
            let (_, Type::Enum(eo)) = oa.params.iter().find(|(n, _)| n == name)? else { return None };
            let (en, eo) = (self.new.enums.get(*en)?, old.enums.get(*eo)?);
            Some(
                en.values
                    .iter()
                    .map(|v| eo.values.iter().position(|o| o == v).and_then(|i| u16::try_from(i).ok()))
                    .collect::<Vec<_>>(),
            )
        })();
        self.op(op, map.as_deref())
    }

    /// The new enum value `v` of new field `f` as a base value.
    fn value(&self, f: FieldId, v: u16) -> Option<u16> {
        match self.shared.values.get(&f) {
            Some(map) => map.get(usize::from(v)).copied().flatten(),
            None => Some(v),
        }
    }

    fn op(&self, op: &Op, hint: Option<&[Option<u16>]>) -> Op {
        match op {
            Op::Const(Value::Enum(v)) => {
                let mapped = match hint {
                    Some(map) => map.get(usize::from(*v)).copied().flatten().unwrap_or(u16::MAX),
                    None => *v,
                };
                Op::Const(Value::Enum(mapped))
            }
            Op::Const(v) => Op::Const(v.clone()),
            Op::Load(_, f) => Op::Load(self.slot(*f), self.field(*f)),
            Op::AsOf => Op::AsOf,
            Op::Present(slot) => match self.new.fields.iter().position(|d| d.slot == *slot) {
                Some(f) => Op::Present(self.slot(f)),
                None => Op::Const(Value::Bool(false)),
            },
            Op::Not(x) => Op::Not(Box::new(self.op(x, None))),
            Op::And(xs) => Op::And(xs.iter().map(|x| self.op(x, None)).collect()),
            Op::Or(xs) => Op::Or(xs.iter().map(|x| self.op(x, None)).collect()),
            Op::EnumIn { field, bits, .. } => {
                let len = self
                    .shared
                    .base
                    .fields
                    .get(self.field(*field))
                    .and_then(|d| match d.ty {
                        Type::Enum(e) => self.shared.base.enums.get(e),
                        _ => None,
                    })
                    .map_or(1, |e| e.values.len().div_ceil(64).max(1));
                let mut out: crate::compile::Bits = smallvec::smallvec![0u64; len];
                for (wi, w) in bits.iter().enumerate() {
                    for b in 0..64 {
                        if w >> b & 1 == 1 {
                            let v = u16::try_from(wi * 64 + b).ok().and_then(|v| self.value(*field, v));
                            if let Some(v) = v {
                                let v = usize::from(v);
                                if let Some(x) = out.get_mut(v / 64) {
                                    *x |= 1 << (v % 64);
                                }
                            }
                        }
                    }
                }
                Op::EnumIn { slot: self.slot(*field), field: self.field(*field), bits: out }
            }
            Op::Compare(c, l, r) => {
                let (hl, hr) = (self.enum_map(r), self.enum_map(l));
                Op::Compare(*c, Box::new(self.op(l, hl)), Box::new(self.op(r, hr)))
            }
            Op::In { negated, value, set } => {
                let h = self.enum_map(value);
                Op::In {
                    negated: *negated,
                    value: Box::new(self.op(value, None)),
                    set: set.iter().map(|s| self.op(s, h)).collect(),
                }
            }
            Op::Arith { op, left, right, date } => Op::Arith {
                op: *op,
                left: Box::new(self.op(left, None)),
                right: Box::new(self.op(right, None)),
                date: *date,
            },
        }
    }
}

/// `op` with `as_of` replaced by the constant `day` (the exploration reads constant dates and
/// sums of them as exactly as folded ones).
fn at_date(op: &Op, day: Date) -> Op {
    match op {
        Op::AsOf => Op::Const(Value::Date(day)),
        Op::Const(_) | Op::Load(..) | Op::Present(_) | Op::EnumIn { .. } => op.clone(),
        Op::Not(x) => Op::Not(Box::new(at_date(x, day))),
        Op::And(xs) => Op::And(xs.iter().map(|x| at_date(x, day)).collect()),
        Op::Or(xs) => Op::Or(xs.iter().map(|x| at_date(x, day)).collect()),
        Op::Compare(c, l, r) => Op::Compare(*c, Box::new(at_date(l, day)), Box::new(at_date(r, day))),
        Op::In { negated, value, set } => Op::In {
            negated: *negated,
            value: Box::new(at_date(value, day)),
            set: set.iter().map(|s| at_date(s, day)).collect(),
        },
        Op::Arith { op, left, right, date } => {
            Op::Arith { op: *op, left: Box::new(at_date(left, day)), right: Box::new(at_date(right, day)), date: *date }
        }
    }
}

fn rule_with(r: &CompiledRule, f: &dyn Fn(&Op) -> Op) -> CompiledRule {
    CompiledRule {
        id: r.id.clone(),
        when: r.when.as_ref().map(f),
        action: r.action,
        args: r.args.iter().map(f).collect(),
        reason: String::new(),
        source: None,
        id_span: r.id_span,
        conjuncts: Vec::new(),
        requires: r.requires.clone(),
        period: r.period,
    }
}

/// An outcome of the exploration, as a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Out {
    Rule(usize),
    Gap,
    Absent(usize, FieldId),
}

impl From<Leaf> for Out {
    fn from(l: Leaf) -> Out {
        match l {
            Leaf::Match(r) => Out::Rule(r),
            Leaf::Gap => Out::Gap,
            Leaf::Absent(r, f) => Out::Absent(r, f),
        }
    }
}

/// One side of a group's key: a rule, no rule, or a rule's absent read.
type GroupKey = (u8, usize);

/// The group key: errors are grouped by rule only.
fn key(o: Out) -> GroupKey {
    match o {
        Out::Rule(r) => (0, r),
        Out::Gap => (1, 0),
        Out::Absent(r, _) => (2, r),
    }
}

/// A region where the parameter comparison `cond` holds: `Ok(None)` when there is none, `Err`
/// when the comparison rests on something the analysis does not model.
fn solve_modelled(ex: &Explorer<'_>, st: State, cond: &Op, budget: &Budget) -> Result<Option<State>, ()> {
    let mut todo = vec![st];
    while let Some(st) = todo.pop() {
        if !budget.spend(ex.state_cost + 1) {
            return Ok(None);
        }
        match ex.truth(cond, &st) {
            Tri::Known(true) => {
                if ex.admits(&st) {
                    return Ok(Some(st));
                }
            }
            Tri::Known(false) | Tri::Absent(_) => {}
            Tri::Need(Atom::Opaque(id)) if !ex.op_info.contains_key(&id) => return Err(()),
            Tri::Need(atom) => todo.extend(ex.refine(&st, &atom).into_iter().rev()),
        }
    }
    Ok(None)
}

/// Regions of one group, as met.
struct Group {
    old: Out,
    new: Out,
    kind: ChangeKind,
    regions: usize,
    /// A few regions to make witnesses from (the first that two evaluations confirm is kept).
    samples: Vec<State>,
}

/// How many regions of a group are tried for a confirmed witness.
const SAMPLES: usize = 4;

/// The two policies (or one policy at two dates) to compare.
pub(crate) enum Sides<'a> {
    Policies(&'a Compiled, &'a Compiled),
    Dates(&'a Compiled, Date, Date),
}

/// Evaluates a witness (a one-entry fact document) with the old side (`false`) or the new one
/// (`true`); `today` stands for a missing `as_of`. Gives what is compared of the verdicts (errors
/// all alike) and what is shown, or `None` when the document does not follow the schema.
pub(crate) type Evaluate<'a> = &'a dyn Fn(bool, &str, Date) -> Option<(String, String)>;

/// Compares two policies, or one at two dates, within `budget` steps (as `check`'s); every
/// change is confirmed by evaluating its witness with both through `evaluate`.
pub(crate) fn diff(sides: Sides<'_>, budget: usize, evaluate: Evaluate<'_>) -> Diff {
    let (old, new, dates) = match sides {
        Sides::Policies(a, b) => (a, b, None),
        Sides::Dates(p, a, b) => (p, p, Some((a, b))),
    };
    let mut out = Diff { dates, budget, exhaustive: true, ..Diff::default() };
    let sh = shared(old.schema(), new.schema());
    out.schema_changes = sh.changes.clone();
    out.assumptions = sh.assumptions.clone();
    if !sh.problems.is_empty() {
        out.not_compared =
            Some(format!("the verdicts need a shared schema to be compared, and {}", sh.problems.join("; ")));
        return out;
    }
    let remap = Remap { shared: &sh, new: new.schema() };
    let mut rules: Vec<CompiledRule> = match dates {
        Some((a, _)) => old.rules().iter().map(|r| rule_with(r, &|o| at_date(o, a))).collect(),
        None => old.rules().iter().map(|r| rule_with(r, &|o| o.clone())).collect(),
    };
    let n_old = rules.len();
    match dates {
        Some((_, b)) => rules.extend(new.rules().iter().map(|r| rule_with(r, &|o| at_date(o, b)))),
        None => rules.extend(new.rules().iter().map(|r| {
            // Enum constants among the parameters are read by the parameter's declared type.
            let mut nr = rule_with(r, &|o| remap.op(o, None));
            nr.args = r.args.iter().enumerate().map(|(p, a)| remap.param(a, p, r.action, old.schema())).collect();
            nr
        })),
    }
    let n_all = rules.len();
    let ex = Explorer::writable(&sh.base, &rules);
    let mut init = ex.initial();
    for (f, fix) in &sh.fixed {
        hold_state(&ex, &mut init, *f, fix);
    }
    for (f, bits) in &sh.narrowed {
        if let Some(e) = init.enums.get_mut(*f) {
            *e = e.iter().zip(bits.iter().chain(std::iter::repeat(&0))).map(|(a, b)| a & b).collect();
        }
    }
    for f in &sh.present {
        if let Some(p) = init.present.get_mut(*f) {
            *p = Some(true);
        }
    }

    let budget = Budget::new(budget);
    let action_of = |r: usize| -> Option<&str> {
        let s = if r < n_old { old.schema() } else { new.schema() };
        rules.get(r).and_then(|x| s.actions.get(x.action)).map(|a| a.name.as_str())
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(GroupKey, GroupKey), usize> = HashMap::new();
    let mut regions = 0usize;
    ex.first_match(init, 0, n_old, &budget, &mut |st, old_leaf| {
        let o = Out::from(old_leaf);
        ex.first_match(st.clone(), n_old, n_all, &budget, &mut |st2, new_leaf| {
            regions += 1;
            let n = Out::from(new_leaf);
            let found: Option<(ChangeKind, State)> = match (o, n) {
                (Out::Rule(i), Out::Rule(j)) => {
                    let (ao, an) = (action_of(i), action_of(j));
                    let (Some(ri), Some(rj)) = (rules.get(i), rules.get(j)) else { return };
                    let sig_same = match (old.schema().actions.get(ri.action), new.schema().actions.get(rj.action)) {
                        (Some(a), Some(b)) => same_signature(old.schema(), &a.params, new.schema(), &b.params),
                        _ => false,
                    };
                    if ao != an || !sig_same {
                        Some((ChangeKind::Action, st2.clone()))
                    } else {
                        param_difference(&ex, st2, ri, rj, new.schema(), &budget)
                    }
                }
                (Out::Rule(_), _) | (_, Out::Rule(_)) => Some((ChangeKind::Decided, st2.clone())),
                _ => None,
            };
            let Some((kind, sample)) = found else { return };
            let k = (key(o), key(n));
            let gi = *index.entry(k).or_insert_with(|| {
                groups.push(Group { old: o, new: n, kind: kind.clone(), regions: 0, samples: Vec::new() });
                groups.len() - 1
            });
            if let Some(g) = groups.get_mut(gi) {
                g.regions += 1;
                if let ChangeKind::Params(ps) = &kind {
                    if let ChangeKind::Params(all) = &mut g.kind {
                        for p in ps {
                            if !all.contains(p) {
                                all.push(p.clone());
                            }
                        }
                    }
                }
                if g.samples.len() < SAMPLES {
                    g.samples.push(sample);
                }
            }
        });
    });
    out.regions = regions;

    // Witnesses, each confirmed by evaluating it with both.
    let mut render = old.schema().clone();
    for f in &sh.explicit {
        if let Some(d) = render.fields.get_mut(*f) {
            d.default = None;
        }
    }
    let witness_cost = ex.witness_cost();
    for g in groups {
        let mut confirmed = None;
        for st in &g.samples {
            if !budget.spend(witness_cost) {
                break;
            }
            let w = ex.witness(st);
            let mut doc = w.to_document(&render);
            if let Some((a, b)) = dates {
                doc = doc.replacen(&format!("as_of: {}", w.as_of), &format!("as_of: {a}\n# and as of {b}"), 1);
            }
            let (vo, vn) = (evaluate(false, &doc, w.as_of), evaluate(true, &doc, w.as_of));
            if let (Some((ko, vo)), Some((kn, vn))) = (vo, vn) {
                if ko != kn {
                    confirmed = Some((doc, vo, vn));
                    break;
                }
            }
        }
        match confirmed {
            Some((witness, old_verdict, new_verdict)) => out.changes.push(VerdictChange {
                old: side_of(g.old, &rules, old.schema(), &sh.base),
                new: side_of(g.new, &rules, new.schema(), &sh.base),
                kind: g.kind,
                regions: g.regions,
                witness,
                old_verdict,
                new_verdict,
            }),
            None => out.unconfirmed += g.regions,
        }
    }
    out.exhaustive = !budget.stopped();
    out
}

/// Holds field `f` of region `st` at a fixed value, or absent.
fn hold_state(ex: &Explorer<'_>, st: &mut State, f: FieldId, fix: &Fix) {
    let present = matches!(fix, Fix::Value(_));
    if let Some(p) = st.present.get_mut(f) {
        *p = Some(present);
    }
    let Fix::Value(v) = fix else { return };
    match v {
        Value::Bool(b) => {
            if let Some(x) = st.bools.get_mut(f) {
                *x = Some(*b);
            }
        }
        Value::Enum(i) => {
            if let Some(e) = st.enums.get_mut(f) {
                let i = usize::from(*i);
                *e = (0..e.len()).map(|w| if w == i / 64 { 1u64 << (i % 64) } else { 0 }).collect();
            }
        }
        Value::Int(_) | Value::Date(_) => {
            let n = match v {
                Value::Int(n) => i128::from(*n),
                Value::Date(d) => i128::from(d.days()),
                _ => 0,
            };
            if let Some(var) = ex.var_of.get(f).copied().flatten() {
                ex.add_constraint(st, var, 0, n);
                ex.add_constraint(st, 0, var, -n);
            }
        }
        Value::Text(_) | Value::Absent => {}
    }
}

/// A region of `st` where some parameter of rule `ri` (old) differs from the same parameter of
/// rule `rj` (new), the two having the same action. A comparison the analysis does not model
/// gives the region itself: its witness is then kept only if the two evaluations differ.
fn param_difference(
    ex: &Explorer<'_>,
    st: &State,
    ri: &CompiledRule,
    rj: &CompiledRule,
    new: &Schema,
    budget: &Budget,
) -> Option<(ChangeKind, State)> {
    let params = new.actions.get(rj.action).map(|a| a.params.as_slice()).unwrap_or_default();
    for (p, (a, b)) in ri.args.iter().zip(rj.args.iter()).enumerate() {
        if format!("{a:?}") == format!("{b:?}") {
            continue;
        }
        let name = params.get(p).map_or_else(|| format!("#{p}"), |(n, _)| n.clone());
        let ty = params.get(p).map(|(_, t)| *t);
        let found = if ty == Some(Type::Bool) {
            // Through the rules' own nodes, which the exploration can assume values for.
            Ok(ex
                .solve(st.clone(), &[(a, true), (b, false)], budget)
                .or_else(|| ex.solve(st.clone(), &[(a, false), (b, true)], budget)))
        } else {
            let ne = Op::Compare(CmpOp::Ne, Box::new(a.clone()), Box::new(b.clone()));
            solve_modelled(ex, st.clone(), &ne, budget)
        };
        match found {
            Ok(Some(region)) => return Some((ChangeKind::Params(vec![name]), region)),
            Ok(None) => {}
            Err(()) => return Some((ChangeKind::Params(vec![name]), st.clone())),
        }
    }
    None
}

fn side_of(o: Out, rules: &[CompiledRule], s: &Schema, base: &Schema) -> Side {
    let id = |r: usize| rules.get(r).map_or_else(|| "?".to_string(), |x| x.id.clone());
    match o {
        Out::Rule(r) => Side::Rule {
            id: id(r),
            action: rules.get(r).and_then(|x| s.actions.get(x.action)).map_or_else(|| "?".into(), |a| a.name.clone()),
        },
        Out::Gap => Side::NoRule,
        Out::Absent(r, f) => {
            Side::Error { rule: id(r), fact: base.fields.get(f).map_or_else(|| "?".into(), |d| d.path.clone()) }
        }
    }
}
