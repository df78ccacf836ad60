//! The decision diagram: the ordered rules compiled into a graph of tests, so that a decision
//! walks a few nodes (one slot load and one test each) instead of trying the rules one by one.
//!
//! It is built by the same exploration of the fact space that `check` uses (see the parent
//! module), so it follows the interpreter's semantics exactly: rule order, early exit, absent
//! facts. A policy the diagram cannot represent exactly, or one too large or too long to build,
//! is decided rule by rule instead, with the same verdicts.

use std::collections::HashMap;

use super::Tri::{Absent, Known, Need};
use super::{Atom, Budget, Explorer, State};
use crate::compile::{Bits, CompiledRule, Op, PLAN_PARAMS, ParamOp, Plan};
use crate::language::schema::{FieldId, Schema, Slot, Type};

/// A numeric variable of a difference test: the constant zero, `as_of`, or a fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum VarRef {
    Zero,
    AsOf,
    Fact(Slot, FieldId),
}

/// A node of the decision diagram. Tests lead to `yes`/`no` node indexes; `rule` is the rule
/// being tried when the test is made, for error messages.
#[derive(Clone, Debug)]
pub(crate) enum DNode {
    /// This rule decides (its parameters are computed by the interpreter).
    Match(u32),
    /// No rule matches.
    NoRule,
    /// The rule reads an optional fact that is absent.
    Absent {
        rule: u32,
        field: FieldId,
    },
    Enum {
        slot: Slot,
        field: FieldId,
        rule: u32,
        bits: Bits,
        yes: u32,
        no: u32,
    },
    Bool {
        slot: Slot,
        field: FieldId,
        rule: u32,
        yes: u32,
        no: u32,
    },
    Present {
        slot: Slot,
        yes: u32,
        no: u32,
    },
    /// `x - y <= k`.
    Diff {
        x: VarRef,
        y: VarRef,
        k: i64,
        rule: u32,
        yes: u32,
        no: u32,
    },
    /// A condition the diagram does not split on, evaluated by the interpreter.
    Test {
        op: Op,
        rule: u32,
        yes: u32,
        no: u32,
    },
}

/// The ordered rules compiled into a decision diagram: a decision walks a few nodes, each one
/// slot load and one test, instead of trying the rules one by one. Built by
/// [`crate::analysis`], which explores the same space `check` does, so it follows the
/// interpreter's semantics exactly (order, early exit, absent facts).
#[derive(Clone, Debug)]
pub(crate) struct Diagram {
    pub nodes: Vec<DNode>,
    /// The same nodes in a compact, uniform form for the common tests (see [`Fast`]).
    pub fast: Vec<Fast>,
    pub root: u32,
    /// The diagram's enum, bool and presence tests resolved in advance for every combination of
    /// those facts, when there are few enough combinations.
    pub table: Option<Table>,
    /// Each rule's verdict plan, by rule index (`None`: its arguments are evaluated).
    pub plans: Vec<Option<Plan>>,
}

impl Diagram {
    pub(crate) fn new(nodes: Vec<DNode>, root: u32, table: Option<Table>, plans: Vec<Option<Plan>>) -> Diagram {
        let fast = nodes.iter().map(Fast::of).collect();
        Diagram { nodes, fast, root, table, plans }
    }
}

/// The finite facts a diagram tests, and for each combination of their values where the diagram
/// leads once all those tests are made: a decision computes one index from the facts
/// (independent loads, and branches that go the same way from one decision to the next) and
/// reads its [`Target`] there.
///
/// When the diagram compares `as_of` with constants (dated rules, fixed deadlines), those
/// comparisons split the days into a few intervals; each interval has its own table, over the
/// facts the diagram tests on such a day (the rules of one period read fewer facts than all
/// periods together).
#[derive(Clone, Debug)]
pub(crate) struct Table {
    /// The days where a comparison of `as_of` with a constant can change its answer, ascending.
    pub as_of_cuts: Vec<i64>,
    /// One per interval between the cuts (one more than the cuts); `None` for an interval with
    /// too many combinations (a decision then walks from the root).
    pub intervals: Vec<Option<SubTable>>,
}

/// The table of one `as_of` interval.
///
/// Its facts are those the diagram tests on a day of the interval, and the enum and bool facts
/// the verdict plans of the rules it reaches read (when the table stays small enough with them):
/// a rule whose parameters all follow from those facts is found with its verdict made.
///
/// Values of a fact that lead to the same targets whatever the other facts hold are one class
/// (the roles the rules allow, the channels decided alike): the key counts classes, not values,
/// so the table stays small. Each fact's share of the key is read from a small array by the
/// code of its value ([`KeyVar`]), the same way for every kind of fact, so that a key is one
/// loop over the document's facts and one over the entry's, whose branches go the same way on
/// every decision.
#[derive(Clone, Debug)]
pub(crate) struct SubTable {
    /// The facts of the key, of the document (`[0]`) and of the entry (`[1]`): their shares by
    /// slot (see [`KeyGroup`]).
    pub groups: [KeyGroup; 2],
    /// Enums of more than [`KeyGroup::ENUM_VALUES`] values, likewise.
    pub large_enums: [Vec<EnumVar>; 2],
    /// The large enums' shares of the key, one run per fact (see [`EnumVar`]).
    pub shares: Vec<u32>,
    /// By key: an index into `targets`.
    pub entries: Entries,
    pub targets: Vec<Target>,
}

impl SubTable {
    /// The share of an absent value of a fact that always has one, of a value of another type,
    /// or of an enum index past the enum's end: larger than any table, so that a key with one
    /// is past the end of the entries (however many facts add to it, the sum stays far below
    /// `u64::MAX`), and the decision walks from the root, which reports it.
    pub const INVALID: u32 = 1 << 24;
}

/// The facts of one group of slots (the document's or the entry's) in a [`SubTable`]'s key: for
/// each slot from `first` on, the slot's share of the key by the code of its value, which is 0
/// for an absent value, 1 + `b` for a bool `b`, 3 + `e` for an enum value `e` (up to 15) and 15
/// for a number, date or text. A decision reads the slots in order, without looking up where
/// each is. A slot that is not part of the key has a share of 0 for every code; an enum fact has
/// at most [`KeyGroup::ENUM_VALUES`] values, so that code 15 is always [`SubTable::INVALID`]
/// for it; an optional fact of another type read only for whether it has a value has the same
/// share for every code but 0.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyGroup {
    pub first: usize,
    pub shares: Vec<[u32; 16]>,
}

impl KeyGroup {
    /// The most values an enum read through a [`KeyGroup`] may have.
    pub const ENUM_VALUES: u32 = 12;

    /// The shares of the fact in `slot`, added to the group.
    fn add(&mut self, slot: u32, shares: [u32; 16]) -> Option<()> {
        let slot = usize::try_from(slot).ok()?;
        if self.shares.is_empty() {
            self.first = slot;
        } else if slot < self.first {
            let before = self.first - slot;
            self.shares.splice(0..0, std::iter::repeat_n([0; 16], before));
            self.first = slot;
        }
        let i = slot - self.first;
        if self.shares.len() <= i {
            self.shares.resize(i + 1, [0; 16]);
        }
        *self.shares.get_mut(i)? = shares;
        Some(())
    }
}

/// An enum fact of more than [`KeyGroup::ENUM_VALUES`] values: `shares[start]` is an absent
/// value's share of the key, `shares[start + 1 + e]` value `e`'s, `shares[start + last]`
/// ([`SubTable::INVALID`]) that of any index past the enum's end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EnumVar {
    pub slot: u32,
    pub start: u32,
    pub last: u32,
}

/// Where a [`SubTable`] entry leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// The walk goes on from this node (a test the table does not make).
    Node(u32),
    /// This rule decides; its parameters are computed from the facts.
    Rule(u32),
    /// This rule decides with these parameters (its [`Plan`] made of the key's facts), as the
    /// numbers a verdict stores.
    Verdict { rule: u32, action: u32, numbers: [i64; PLAN_PARAMS] },
}

/// A table's entries, indexes into its targets: in one byte each when there are few targets, two
/// when they fit (a smaller table stays in the processor's nearer caches).
#[derive(Clone, Debug)]
pub(crate) enum Entries {
    Byte(Vec<u8>),
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Entries {
    fn new(entries: Vec<u32>, targets: usize) -> Entries {
        if targets <= 1 << 8 {
            Entries::Byte(entries.iter().map(|e| *e as u8).collect())
        } else if targets <= 1 << 16 {
            Entries::Narrow(entries.iter().map(|e| *e as u16).collect())
        } else {
            Entries::Wide(entries)
        }
    }

    /// The target index at `key`.
    #[inline(always)]
    pub(crate) fn get(&self, key: usize) -> Option<usize> {
        match self {
            Entries::Byte(e) => e.get(key).map(|e| usize::from(*e)),
            Entries::Narrow(e) => e.get(key).map(|e| usize::from(*e)),
            Entries::Wide(e) => e.get(key).map(|e| *e as usize),
        }
    }
}

impl Table {
    /// Which of the intervals between [`Table::as_of_cuts`] a day falls in.
    pub(crate) fn as_of_bucket(&self, day: i64) -> usize {
        self.as_of_cuts.iter().take_while(|c| **c <= day).count()
    }
}

/// `as_of <= k` (`as_of - 0 <= k`) or `as_of >= -k` (`0 - as_of <= k`): the first day on which the
/// answer differs from the day before.
fn as_of_cut(x: VarRef, y: VarRef, k: i64) -> Option<i64> {
    match (x, y) {
        (VarRef::AsOf, VarRef::Zero) => k.checked_add(1),
        (VarRef::Zero, VarRef::AsOf) => k.checked_neg(),
        _ => None,
    }
}

/// One finite fact of a table being built: its value's index times `stride` is its share of the
/// key (before values are merged into classes).
#[derive(Clone, Copy, Debug)]
struct TableVar {
    /// The slot is in the document (else in the entry).
    document: bool,
    slot: u32,
    /// [`TableVar::ENUM`], [`TableVar::BOOL`] or [`TableVar::PRESENCE`] (only whether the fact
    /// has a value: 0 when it has, 1 when absent).
    kind: u8,
    /// For an enum: how many values it has (a value's index is its own).
    values: u32,
    /// The index of an absent value ([`TableVar::NOT_OPTIONAL`] when the fact always has one):
    /// the last index of an optional enum or bool.
    absent: u32,
    stride: u32,
}

impl TableVar {
    const ENUM: u8 = 0;
    const BOOL: u8 = 1;
    const PRESENCE: u8 = 2;
    const NOT_OPTIONAL: u32 = u32::MAX;

    fn cardinality(&self) -> u32 {
        let present = match self.kind {
            TableVar::ENUM => self.values,
            TableVar::BOOL => 2,
            _ => 1,
        };
        present + u32::from(self.absent != TableVar::NOT_OPTIONAL)
    }
}

/// A diagram node in 24 bytes, so that a decision walks a small array with plain branches.
/// Nodes of kind [`Fast::OTHER`] are handled from the full [`DNode`] at the same index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fast {
    pub kind: u8,
    /// The slot is in the document (else in the entry).
    pub document: bool,
    /// For difference tests: the other variable is `as_of` (else zero).
    pub as_of: bool,
    pub slot: u32,
    /// For enum tests: the values that lead to `yes` (enums of at most 64 values). For
    /// difference tests: the bound `k`.
    pub bits: u64,
    /// For [`Fast::MATCH`]: the deciding rule.
    pub yes: u32,
    pub no: u32,
}

impl Fast {
    pub const ENUM: u8 = 0;
    pub const BOOL: u8 = 1;
    pub const OTHER: u8 = 3;
    /// This rule decides.
    pub const MATCH: u8 = 4;
    /// `fact - other <= k`, `other` being `as_of` or zero.
    pub const FACT_MINUS: u8 = 5;
    /// `other - fact <= k`.
    pub const MINUS_FACT: u8 = 6;

    fn of(node: &DNode) -> Fast {
        let other = Fast { kind: Fast::OTHER, document: false, as_of: false, slot: 0, bits: 0, yes: 0, no: 0 };
        let place = |s: &Slot| (s.scope == crate::language::schema::Scope::Document, u32::try_from(s.index).ok());
        let test = |kind, slot: &Slot, bits, as_of, yes, no| match place(slot) {
            (document, Some(slot)) => Fast { kind, document, as_of, slot, bits, yes, no },
            _ => other,
        };
        match node {
            DNode::Enum { slot, bits, yes, no, .. } if bits.len() == 1 => match bits.first() {
                Some(bits) => test(Fast::ENUM, slot, *bits, false, *yes, *no),
                None => other,
            },
            DNode::Bool { slot, yes, no, .. } => test(Fast::BOOL, slot, 0, false, *yes, *no),
            DNode::Match(rule) => Fast { kind: Fast::MATCH, yes: *rule, ..other },
            DNode::Diff { x: VarRef::Fact(slot, _), y: y @ (VarRef::AsOf | VarRef::Zero), k, yes, no, .. } => {
                test(Fast::FACT_MINUS, slot, u64::from_ne_bytes(k.to_ne_bytes()), *y == VarRef::AsOf, *yes, *no)
            }
            DNode::Diff { x: x @ (VarRef::AsOf | VarRef::Zero), y: VarRef::Fact(slot, _), k, yes, no, .. } => {
                test(Fast::MINUS_FACT, slot, u64::from_ne_bytes(k.to_ne_bytes()), *x == VarRef::AsOf, *yes, *no)
            }
            DNode::Enum { .. }
            | DNode::NoRule
            | DNode::Absent { .. }
            | DNode::Present { .. }
            | DNode::Diff { .. }
            | DNode::Test { .. } => other,
        }
    }
}

/// Numbers beyond this (days or integers) make a decision fall back to the interpreter, so
/// that the diagram's difference tests can never disagree with checked arithmetic.
pub(crate) const DIAGRAM_SAFE_MAGNITUDE: i64 = 70_000_000;

/// Largest diagram built; beyond it decisions use the interpreter.
pub const DIAGRAM_NODE_LIMIT: usize = 100_000;

/// Steps building the decision diagram may take; beyond them decisions use
/// the interpreter. The shipped policy takes under 1,000 and a generated 1,000-rule policy
/// under 10,000 (`benches/load.rs`); reaching the limit takes a few tenths of a second.
pub const DIAGRAM_BUDGET: usize = 1_000_000;

/// Why the rules are decided one by one rather than through a decision diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoDiagram {
    /// Exploring the rules took more than [`DIAGRAM_BUDGET`] steps.
    Budget,
    /// The diagram would have more than [`DIAGRAM_NODE_LIMIT`] nodes.
    TooLarge,
    /// The rules compare integer facts or use numbers the diagram cannot test exactly.
    Unsupported,
}

/// Compiles ordered rules into a decision diagram, or says why not: the policy has conditions
/// the diagram cannot represent exactly, or it would be too large or too long to build (the
/// interpreter is then used, with the same verdicts).
pub(crate) fn build_diagram(schema: &Schema, rules: &[CompiledRule]) -> Result<Diagram, NoDiagram> {
    build_diagram_with_budget(schema, rules, DIAGRAM_BUDGET)
}

pub(crate) fn build_diagram_with_budget(
    schema: &Schema,
    rules: &[CompiledRule],
    steps: usize,
) -> Result<Diagram, NoDiagram> {
    let ex = Explorer::new(schema, rules);
    let mut b = TreeBuilder { nodes: Vec::new(), keys: HashMap::new(), ops: HashMap::new(), failed: None };
    for r in rules {
        if let Some(w) = &r.when {
            collect_compares(w, &mut b.ops);
        }
    }
    let budget = Budget::new(steps);
    let root = ex.tree(ex.initial(), 0, &mut b, &budget);
    let root = match (b.failed, root) {
        (Some(why), _) => return Err(why),
        (None, None) => return Err(NoDiagram::Unsupported),
        (None, Some(root)) => root,
    };
    let plans: Vec<Option<Plan>> = rules.iter().map(|r| crate::compile::plan(schema, r)).collect();
    let table = build_table(schema, &b.nodes, root, &plans);
    Ok(Diagram::new(b.nodes, root, table, plans))
}

/// Points a split node at its two sub-diagrams.
pub(super) fn set_children(node: &mut DNode, yes_id: u32, no_id: u32) {
    match node {
        DNode::Enum { yes, no, .. }
        | DNode::Bool { yes, no, .. }
        | DNode::Present { yes, no, .. }
        | DNode::Diff { yes, no, .. }
        | DNode::Test { yes, no, .. } => {
            *yes = yes_id;
            *no = no_id;
        }
        DNode::Match(_) | DNode::NoRule | DNode::Absent { .. } => {}
    }
}

/// Most entries a [`SubTable`] may have once its values are merged into classes.
pub(super) const TABLE_LIMIT: u64 = 1 << 16;

/// Most combinations of values the tables of all `as_of` intervals may have together while they
/// are built (before values are merged into classes).
pub(super) const TABLE_TOTAL_LIMIT: u64 = 1 << 18;

/// Most tests followed while filling a [`Table`]; past them the diagram goes without one.
pub(super) const TABLE_WALK_LIMIT: usize = 1 << 22;

/// Resolves the diagram's finite tests for every combination of the facts they read, one table
/// per `as_of` interval.
fn build_table(schema: &Schema, nodes: &[DNode], root: u32, plans: &[Option<Plan>]) -> Option<Table> {
    let mut as_of_cuts: Vec<i64> = nodes
        .iter()
        .filter_map(|n| match n {
            DNode::Diff { x, y, k, .. } => as_of_cut(*x, *y, *k),
            _ => None,
        })
        .collect();
    as_of_cuts.sort_unstable();
    as_of_cuts.dedup();
    if u64::try_from(as_of_cuts.len()).ok()? >= TABLE_LIMIT {
        return None;
    }
    // Each key walks the diagram's finite tests: many values times long chains of tests (an
    // enum of thousands of values, one rule each) would take long, for a table that only
    // saves a few steps per decision.
    let mut budget = TableBudget { walk: TABLE_WALK_LIMIT, entries: TABLE_TOTAL_LIMIT };
    let mut intervals = Vec::with_capacity(as_of_cuts.len() + 1);
    for bucket in 0..=as_of_cuts.len() {
        // A day of this interval.
        let day = match bucket.checked_sub(1) {
            None => as_of_cuts.first().map_or(0, |c| c.saturating_sub(1)),
            Some(i) => *as_of_cuts.get(i)?,
        };
        let sub = sub_table(schema, nodes, root, day, plans, &mut budget);
        intervals.push(sub);
    }
    Some(Table { as_of_cuts, intervals })
}

/// What filling the tables may still spend: tests followed, combinations of values.
#[derive(Clone, Copy, Debug)]
struct TableBudget {
    walk: usize,
    entries: u64,
}

/// The next node from `n` by a test of `as_of` against a constant, on `day`.
fn by_day(node: &DNode, day: i64) -> Option<u32> {
    match node {
        DNode::Diff { x, y, k, yes, no, .. } if as_of_cut(*x, *y, *k).is_some() => {
            let diff = if *x == VarRef::AsOf { day } else { day.checked_neg()? };
            Some(if diff <= *k { *yes } else { *no })
        }
        _ => None,
    }
}

/// The table of the interval holding `day`, or `None` when it has too many combinations or
/// filling it would take too long. With the facts the reached rules' plans read when that fits,
/// else over the tested facts alone.
fn sub_table(
    schema: &Schema,
    nodes: &[DNode],
    root: u32,
    day: i64,
    plans: &[Option<Plan>],
    budget: &mut TableBudget,
) -> Option<SubTable> {
    let field_of_slot = |slot: &Slot| schema.fields.iter().position(|d| d.slot == *slot);
    let finite = |f: FieldId| schema.fields.get(f).is_some_and(|d| matches!(d.ty, Type::Enum(_) | Type::Bool));
    // The facts tested on this day before the walk reaches a test the table cannot make, each
    // once, in the order first met; and the enum and bool facts the plans of the rules reached
    // there read.
    let mut fields: Vec<FieldId> = Vec::new();
    let mut param_fields: Vec<FieldId> = Vec::new();
    let mut seen = vec![false; nodes.len()];
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let Some(node) = nodes.get(n as usize) else { continue };
        match seen.get_mut(n as usize) {
            Some(s) if !*s => *s = true,
            _ => continue,
        }
        let (field, next) = match node {
            DNode::Enum { field, yes, no, .. } | DNode::Bool { field, yes, no, .. } => (Some(*field), [*yes, *no]),
            DNode::Present { slot, yes, no } => (field_of_slot(slot), [*yes, *no]),
            DNode::Diff { .. } => match by_day(node, day) {
                Some(next) => (None, [next, next]),
                None => continue,
            },
            DNode::Match(rule) => {
                let plan = plans.get(*rule as usize).and_then(Option::as_ref);
                for op in plan.map_or(&[][..], |p| p.params.as_slice()) {
                    if let ParamOp::EnumIn { field, .. } | ParamOp::Copy { field, .. } = op {
                        if finite(*field) && !param_fields.contains(field) {
                            param_fields.push(*field);
                        }
                    }
                }
                continue;
            }
            DNode::Test { .. } | DNode::NoRule | DNode::Absent { .. } => continue,
        };
        if let Some(f) = field.filter(|f| !fields.contains(f)) {
            fields.push(f);
        }
        // Children have smaller indexes: anything else is a malformed diagram.
        stack.extend(next.into_iter().filter(|c| *c < n));
    }
    let mut with_params = fields.clone();
    with_params.extend(param_fields.iter().filter(|f| !fields.contains(f)));
    if with_params.len() > fields.len() {
        let mut trial = *budget;
        if let Some(table) = fill(schema, nodes, root, day, plans, &with_params, &mut trial) {
            *budget = trial;
            return Some(table);
        }
    }
    fill(schema, nodes, root, day, plans, &fields, budget)
}

/// The table over `fields` (see [`sub_table`]).
fn fill(
    schema: &Schema,
    nodes: &[DNode],
    root: u32,
    day: i64,
    plans: &[Option<Plan>],
    fields: &[FieldId],
    budget: &mut TableBudget,
) -> Option<SubTable> {
    let field_of_slot = |slot: &Slot| schema.fields.iter().position(|d| d.slot == *slot);
    let mut vars: Vec<(TableVar, FieldId)> = Vec::new();
    let mut size: u64 = 1;
    for f in fields {
        let def = schema.fields.get(*f)?;
        let absent = |index: u32| if def.optional { index } else { TableVar::NOT_OPTIONAL };
        let (kind, values, absent) = match def.ty {
            Type::Enum(e) => {
                let values = u32::try_from(schema.enums.get(e)?.values.len()).ok()?;
                (TableVar::ENUM, values, absent(values))
            }
            Type::Bool => (TableVar::BOOL, 2, absent(2)),
            _ if def.optional => (TableVar::PRESENCE, 0, 1),
            _ => continue,
        };
        let document = def.slot.scope == crate::language::schema::Scope::Document;
        let slot = u32::try_from(def.slot.index).ok()?;
        let var = TableVar { document, slot, kind, values, absent, stride: u32::try_from(size).ok()? };
        size = size.checked_mul(u64::from(var.cardinality()))?;
        if size > budget.entries {
            return None;
        }
        vars.push((var, *f));
    }
    budget.entries = budget.entries.checked_sub(size)?;
    // Where each fact is among the vars, by field and by slot.
    let mut var_of_field = vec![None; schema.fields.len()];
    for (i, (_, f)) in vars.iter().enumerate() {
        *var_of_field.get_mut(*f)? = Some(i);
    }
    let var_of_slot = |slot: &Slot| var_of_field.get(field_of_slot(slot)?).copied().flatten();
    // The var read by each `Present` node, found once (by node index).
    let present_var: Vec<Option<usize>> = nodes
        .iter()
        .map(|node| match node {
            DNode::Present { slot, .. } => var_of_slot(slot),
            _ => None,
        })
        .collect();
    let mut targets: Vec<Target> = Vec::new();
    let mut target_index: HashMap<Target, u32, std::hash::BuildHasherDefault<Fnv>> = HashMap::default();
    let mut last: Option<(Target, u32)> = None;
    let mut entries = Vec::with_capacity(usize::try_from(size).ok()?);
    // Each var's value index under the current key (the key's digits, counted up key by key).
    let mut digits = vec![0u64; vars.len()];
    for _ in 0..size {
        let index = |f: FieldId| var_of_field.get(f).copied().flatten().and_then(|i| digits.get(i).copied());
        let mut n = root;
        loop {
            let next = match nodes.get(n as usize) {
                Some(DNode::Enum { field, bits, yes, no, .. }) => {
                    match (index(*field), schema.fields.get(*field).map(|d| d.ty)) {
                        (Some(i), Some(Type::Enum(e)))
                            if i < schema.enums.get(e).map_or(0, |d| d.values.len() as u64) =>
                        {
                            let i = usize::try_from(i).ok()?;
                            if bits.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1) { *yes } else { *no }
                        }
                        // Absent: the walk reports it from here.
                        _ => break,
                    }
                }
                Some(DNode::Bool { field, yes, no, .. }) => match index(*field) {
                    Some(1) => *yes,
                    Some(0) => *no,
                    _ => break,
                },
                Some(DNode::Present { yes, no, .. }) => {
                    let Some(Some(var)) = present_var.get(n as usize) else { break };
                    let (Some((v, _)), Some(digit)) = (vars.get(*var), digits.get(*var)) else { break };
                    let absent = match v.kind {
                        TableVar::PRESENCE => *digit == 1,
                        _ => *digit == u64::from(v.cardinality() - 1),
                    };
                    if absent { *no } else { *yes }
                }
                Some(node @ DNode::Diff { .. }) => match by_day(node, day) {
                    Some(next) => next,
                    None => break,
                },
                _ => break,
            };
            if next >= n {
                break;
            }
            n = next;
            budget.walk = budget.walk.checked_sub(1)?;
        }
        let target = match nodes.get(n as usize) {
            Some(DNode::Match(rule)) => match plans.get(*rule as usize).and_then(Option::as_ref) {
                Some(plan) => match resolve(schema, plan, index) {
                    Some(numbers) => Target::Verdict { rule: *rule, action: u32::try_from(plan.action).ok()?, numbers },
                    None => Target::Rule(*rule),
                },
                None => Target::Rule(*rule),
            },
            _ => Target::Node(n),
        };
        let i = match last {
            Some((t, i)) if t == target => i,
            _ => match target_index.get(&target) {
                Some(i) => *i,
                None => {
                    let i = u32::try_from(targets.len()).ok()?;
                    targets.push(target);
                    target_index.insert(target, i);
                    i
                }
            },
        };
        last = Some((target, i));
        entries.push(i);
        // The next key's digits.
        for ((v, _), d) in vars.iter().zip(digits.iter_mut()) {
            *d += 1;
            if *d < u64::from(v.cardinality()) {
                break;
            }
            *d = 0;
        }
    }
    let vars: Vec<TableVar> = vars.into_iter().map(|(v, _)| v).collect();
    compress(&vars, &entries, targets)
}

/// FNV-1a, for the targets of a table being filled: one lookup per combination of values, where
/// the default hasher's resistance to chosen keys is not needed and its cost shows in loading a
/// policy.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A plan's parameters as the numbers a verdict stores, when each follows from the value
/// indexes `index` gives (constants, enum tests and copies of enum and bool facts that have a
/// value) and has its declared type: exactly what a decision computes from such facts.
/// `None` when one needs another fact, or would be an error (an absent fact, a type mismatch),
/// which the decision then meets as it computes the plan.
fn resolve(schema: &Schema, plan: &Plan, index: impl Fn(FieldId) -> Option<u64>) -> Option<[i64; PLAN_PARAMS]> {
    if plan.params.len() > PLAN_PARAMS {
        return None;
    }
    // A present enum fact's value index (the absent index is the enum's length).
    let enum_value = |field: FieldId| {
        let Type::Enum(e) = schema.fields.get(field)?.ty else { return None };
        let i = index(field)?;
        (i < u64::try_from(schema.enums.get(e)?.values.len()).ok()?).then_some(i)
    };
    let mut numbers = [0; PLAN_PARAMS];
    for (op, n) in plan.params.iter().zip(numbers.iter_mut()) {
        *n = match op {
            ParamOp::Const(c) => *c,
            ParamOp::EnumIn { field, bits, .. } => {
                let i = enum_value(*field)?;
                i64::from(i < 64 && bits >> i & 1 == 1)
            }
            ParamOp::Copy { field, ty: Type::Enum(_), enum_len, .. } => {
                let i = enum_value(*field)?;
                if i >= u64::from(*enum_len) {
                    return None;
                }
                i64::try_from(i).ok()?
            }
            ParamOp::Copy { field, ty: Type::Bool, .. } => {
                if schema.fields.get(*field)?.ty != Type::Bool {
                    return None;
                }
                match index(*field)? {
                    i @ (0 | 1) => i64::try_from(i).ok()?,
                    _ => return None,
                }
            }
            ParamOp::Copy { .. } | ParamOp::SinceAsOf { .. } | ParamOp::Eval { .. } => return None,
        };
    }
    Some(numbers)
}

/// The table by classes of values: for each fact, values whose targets are the same whatever
/// the other facts hold are one class (exact for any mix of classes, since each class holds
/// with every other fact fixed). A fact of one class stays in the key with a share of 0, so
/// that a value of another type still sends the decision to the walk from the root, which
/// reports it.
fn compress(vars: &[TableVar], entries: &[u32], targets: Vec<Target>) -> Option<SubTable> {
    let size = entries.len();
    // Per fact: the class of each value index, and a representative value index per class.
    let mut classes: Vec<(Vec<u32>, Vec<usize>)> = Vec::with_capacity(vars.len());
    for v in vars {
        let (card, stride) = (usize::try_from(v.cardinality()).ok()?, usize::try_from(v.stride).ok()?);
        let block = stride.checked_mul(card)?;
        let column = |i: usize| {
            (0..size.checked_div(block).unwrap_or(0))
                .flat_map(move |hi| (0..stride).map(move |lo| hi * block + i * stride + lo))
                .map(|k| entries.get(k))
        };
        let mut class = Vec::with_capacity(card);
        let mut reps: Vec<usize> = Vec::new();
        for i in 0..card {
            match reps.iter().position(|r| column(*r).eq(column(i))) {
                Some(c) => class.push(u32::try_from(c).ok()?),
                None => {
                    class.push(u32::try_from(reps.len()).ok()?);
                    reps.push(i);
                }
            }
        }
        classes.push((class, reps));
    }
    let mut sub = SubTable {
        groups: [KeyGroup::default(), KeyGroup::default()],
        large_enums: [Vec::new(), Vec::new()],
        shares: Vec::new(),
        entries: Entries::Wide(Vec::new()),
        targets: Vec::new(),
    };
    let mut stride: u32 = 1;
    for (v, (class, reps)) in vars.iter().zip(&classes) {
        let share = |index: u32| class.get(usize::try_from(index).ok()?).map(|c| c * stride);
        let share = |index: u32| share(index).unwrap_or(SubTable::INVALID);
        let absent = if v.absent == TableVar::NOT_OPTIONAL { SubTable::INVALID } else { share(v.absent) };
        let group = usize::from(!v.document);
        // By code (see [`KeyGroup`]).
        let mut shares = [SubTable::INVALID; 16];
        let codes = (0u32..).zip(shares.iter_mut());
        match v.kind {
            TableVar::ENUM if v.values > KeyGroup::ENUM_VALUES => {
                let start = u32::try_from(sub.shares.len()).ok()?;
                sub.shares.push(absent);
                sub.shares.extend((0..v.values).map(share));
                sub.shares.push(SubTable::INVALID);
                let last = v.values.checked_add(1)?;
                sub.large_enums.get_mut(group)?.push(EnumVar { slot: v.slot, start, last });
            }
            TableVar::ENUM => {
                codes.for_each(|(code, s)| {
                    *s = match code {
                        0 => absent,
                        _ => code.checked_sub(3).filter(|e| *e < v.values).map_or(SubTable::INVALID, share),
                    }
                });
                sub.groups.get_mut(group)?.add(v.slot, shares)?;
            }
            TableVar::BOOL => {
                codes.for_each(|(code, s)| {
                    *s = match code {
                        0 => absent,
                        1 | 2 => share(code - 1),
                        _ => SubTable::INVALID,
                    }
                });
                sub.groups.get_mut(group)?.add(v.slot, shares)?;
            }
            // Any value is present (index 0).
            _ => {
                codes.for_each(|(code, s)| *s = if code == 0 { absent } else { share(0) });
                sub.groups.get_mut(group)?.add(v.slot, shares)?;
            }
        }
        stride = stride.checked_mul(u32::try_from(reps.len()).ok()?)?;
    }
    if u64::from(stride) > TABLE_LIMIT {
        return None;
    }
    let mut compressed = Vec::with_capacity(usize::try_from(stride).ok()?);
    for key in 0..stride {
        // The target of the representative values of this key's classes.
        let mut rest = key;
        let mut original = 0usize;
        for (v, (_, reps)) in vars.iter().zip(&classes) {
            let n = u32::try_from(reps.len()).ok()?;
            let rep = reps.get(usize::try_from(rest.checked_rem(n)?).ok()?)?;
            rest /= n;
            original += rep * usize::try_from(v.stride).ok()?;
        }
        compressed.push(*entries.get(original)?);
    }
    sub.entries = Entries::new(compressed, targets.len());
    sub.targets = targets;
    Some(sub)
}

pub(super) fn collect_compares(op: &Op, out: &mut HashMap<usize, Op>) {
    match op {
        Op::Compare(..) => {
            out.insert(op as *const Op as usize, op.clone());
        }
        Op::Not(x) => collect_compares(x, out),
        Op::And(xs) | Op::Or(xs) => xs.iter().for_each(|x| collect_compares(x, out)),
        _ => {}
    }
}

pub(super) struct TreeBuilder {
    nodes: Vec<DNode>,
    /// Structural hash-consing: equal sub-diagrams are one node.
    keys: HashMap<String, u32>,
    /// Comparisons the diagram may evaluate as opaque tests, by address.
    ops: HashMap<usize, Op>,
    failed: Option<NoDiagram>,
}

impl TreeBuilder {
    fn add(&mut self, n: DNode) -> u32 {
        let key = format!("{n:?}");
        if let Some(id) = self.keys.get(&key) {
            return *id;
        }
        if self.nodes.len() >= DIAGRAM_NODE_LIMIT {
            self.failed = Some(NoDiagram::TooLarge);
            return 0;
        }
        let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(n);
        self.keys.insert(key, id);
        id
    }
}

impl Explorer<'_> {
    fn var_ref(&self, v: usize) -> Option<VarRef> {
        match v {
            0 => Some(VarRef::Zero),
            1 => Some(VarRef::AsOf),
            _ => {
                let f = self.var_of.iter().position(|x| *x == Some(v))?;
                Some(VarRef::Fact(self.schema.fields.get(f)?.slot, f))
            }
        }
    }

    /// The diagram for `rules[from..]` within region `st`, depth first: the regions still to
    /// explore and the nodes still to make are kept on lists, not on the call stack, so that a
    /// path through thousands of rules needs no deep recursion. Every region and every rule
    /// tried spends from `budget`; `None` when it runs out or the diagram cannot be exact.
    fn tree(&self, st: State, from: usize, b: &mut TreeBuilder, budget: &Budget) -> Option<u32> {
        // Made once its children are: they are the last results, `yes` below `no`.
        enum Task {
            Visit(State, usize),
            Make(DNode),
            /// One link of a chain of single-value enum tests: `yes` is the last result, the
            /// rest of the chain the one below it.
            Link(DNode),
        }
        let mut tasks = vec![Task::Visit(st, from)];
        let mut done: Vec<u32> = Vec::new();
        while let Some(task) = tasks.pop() {
            if b.failed.is_some() {
                return None;
            }
            let st = match task {
                Task::Visit(..) if !budget.spend(self.state_cost) => {
                    b.failed = Some(NoDiagram::Budget);
                    return None;
                }
                Task::Visit(st, from) => (st, from),
                Task::Make(mut node) => {
                    let (no, yes) = (done.pop()?, done.pop()?);
                    set_children(&mut node, yes, no);
                    let id = b.add(node);
                    done.push(id);
                    continue;
                }
                Task::Link(mut node) => {
                    let (yes, rest) = (done.pop()?, done.pop()?);
                    set_children(&mut node, yes, rest);
                    let id = b.add(node);
                    done.push(id);
                    continue;
                }
            };
            let (st, from) = st;
            // `Some(Some(node))`: a leaf was made; `Some(None)`: regions to visit were added;
            // `None`: no rule matches.
            let mut made: Option<Option<u32>> = None;
            for i in from..self.rules.len() {
                let Some(rule) = self.rules.get(i) else { break };
                if !budget.spend(self.cost(i)) {
                    b.failed = Some(NoDiagram::Budget);
                    return None;
                }
                let rule_id = u32::try_from(i).unwrap_or(u32::MAX);
                let t = match &rule.when {
                    None => Known(true),
                    Some(c) => self.truth(c, &st),
                };
                let atom = match t {
                    Known(false) => continue,
                    Known(true) => {
                        made = Some(Some(b.add(DNode::Match(rule_id))));
                        break;
                    }
                    Absent(field) => {
                        made = Some(Some(b.add(DNode::Absent { rule: rule_id, field })));
                        break;
                    }
                    Need(atom) => atom,
                };
                let slot = |f: FieldId| self.schema.fields.get(f).map(|d| d.slot);
                // The node for a two-way split, and the regions on either side.
                let (node, yes, no) = match atom {
                    Atom::Present(f) => {
                        let slot = slot(f)?;
                        let (mut yes, mut no) = (st.clone(), st);
                        if let Some(v) = yes.present.get_mut(f) {
                            *v = Some(true);
                        }
                        if let Some(v) = no.present.get_mut(f) {
                            *v = Some(false);
                        }
                        (DNode::Present { slot, yes: 0, no: 0 }, yes, no)
                    }
                    Atom::Bool(f) => {
                        let slot = slot(f)?;
                        let (mut yes, mut no) = (st.clone(), st);
                        if let Some(v) = yes.bools.get_mut(f) {
                            *v = Some(true);
                        }
                        if let Some(v) = no.bools.get_mut(f) {
                            *v = Some(false);
                        }
                        (DNode::Bool { slot, field: f, rule: rule_id, yes: 0, no: 0 }, yes, no)
                    }
                    Atom::EnumSplit(f, bits) => {
                        let slot = slot(f)?;
                        let allowed = st.enums.get(f).cloned().unwrap_or_default();
                        let (mut yes, mut no) = (st.clone(), st);
                        if let Some(v) = yes.enums.get_mut(f) {
                            *v = allowed.iter().zip(bits.iter()).map(|(a, b)| a & b).collect();
                        }
                        if let Some(v) = no.enums.get_mut(f) {
                            *v = allowed.iter().zip(bits.iter()).map(|(a, b)| a & !b).collect();
                        }
                        let bits = bits.iter().copied().collect();
                        (DNode::Enum { slot, field: f, rule: rule_id, bits, yes: 0, no: 0 }, yes, no)
                    }
                    Atom::EnumEach(f) => {
                        let slot = slot(f)?;
                        // A chain of single-value tests; the last value needs no test. The last
                        // part is explored first, then each earlier one and its link.
                        let parts = self.refine(&st, &Atom::EnumEach(f));
                        if parts.is_empty() {
                            made = Some(Some(b.add(DNode::NoRule)));
                            break;
                        }
                        let last = parts.len() - 1;
                        for (n, part) in parts.into_iter().enumerate() {
                            if n < last {
                                let bits: Bits =
                                    part.enums.get(f).map(|x| x.iter().copied().collect()).unwrap_or_default();
                                tasks.push(Task::Link(DNode::Enum {
                                    slot,
                                    field: f,
                                    rule: rule_id,
                                    bits,
                                    yes: 0,
                                    no: 0,
                                }));
                            }
                            tasks.push(Task::Visit(part, i));
                        }
                        made = Some(None);
                        break;
                    }
                    Atom::Diff(x, y, k) => {
                        let (xr, yr) = (self.var_ref(x)?, self.var_ref(y)?);
                        // Integer facts can overflow the interpreter's checked arithmetic, which
                        // the difference test cannot mirror: such policies are decided rule by rule.
                        let int_fact = |v: VarRef| match v {
                            VarRef::Fact(_, f) => self.schema.fields.get(f).is_some_and(|d| d.ty == Type::Int),
                            _ => false,
                        };
                        let small = i64::try_from(k).ok().filter(|k| k.abs() <= DIAGRAM_SAFE_MAGNITUDE / 7);
                        let (false, false, Some(small)) = (int_fact(xr), int_fact(yr), small) else {
                            b.failed = Some(NoDiagram::Unsupported);
                            return None;
                        };
                        let (mut yes, mut no) = (st.clone(), st);
                        let yes_ok = self.add_constraint(&mut yes, x, y, k);
                        let no_ok = self.add_constraint(&mut no, y, x, k.saturating_neg().saturating_sub(1));
                        match (yes_ok, no_ok) {
                            (true, true) => {
                                (DNode::Diff { x: xr, y: yr, k: small, rule: rule_id, yes: 0, no: 0 }, yes, no)
                            }
                            (true, false) => {
                                tasks.push(Task::Visit(yes, i));
                                made = Some(None);
                                break;
                            }
                            (false, _) => {
                                tasks.push(Task::Visit(no, i));
                                made = Some(None);
                                break;
                            }
                        }
                    }
                    Atom::Opaque(id) => {
                        let Some(op) = b.ops.get(&id).cloned() else {
                            b.failed = Some(NoDiagram::Unsupported);
                            return None;
                        };
                        let (mut yes, mut no) = (st.clone(), st);
                        self.assume(&mut yes, id, true);
                        self.assume(&mut no, id, false);
                        (DNode::Test { op, rule: rule_id, yes: 0, no: 0 }, yes, no)
                    }
                };
                tasks.push(Task::Make(node));
                tasks.push(Task::Visit(no, i));
                tasks.push(Task::Visit(yes, i));
                made = Some(None);
                break;
            }
            match made {
                Some(Some(id)) => done.push(id),
                Some(None) => {}
                // Every rule was tried: none matches here.
                None => done.push(b.add(DNode::NoRule)),
            }
        }
        if b.failed.is_some() {
            return None;
        }
        done.pop()
    }

    // ---- exploration ----------------------------------------------------------------------
}
