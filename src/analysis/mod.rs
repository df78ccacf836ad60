//! Static analysis of a policy's ordered rules over its declared schema: gaps (facts no rule
//! matches), dead rules (earlier rules catch everything they match), overlaps (two rules with
//! different actions that can match the same facts), and reads of optional facts that can be
//! absent.
//!
//! The analysis follows the evaluator exactly: rules in order, `and`/`or` left to right with
//! early exit, absent optional facts as errors. It explores the space of fact values lazily:
//! whenever a condition's value depends on something not yet decided (which values an enum fact
//! may take, a bool, whether an optional fact is present, a comparison between dates or numbers)
//! it splits the space in two and goes on in each half. Enum and bool facts are tracked exactly
//! (an enum fact as the set of its values still possible); dates and integers as difference
//! constraints `x - y <= k` between facts, `as_of` and constants, kept closed (all pairs) so that
//! contradictory halves (`a < b` and `b < a`) are pruned at once. Comparisons outside that form
//! (text, sums of three terms) are treated as free booleans, which is sound but may report a gap
//! that cannot occur; such witnesses say what they assume.

pub(crate) mod diagram;
pub mod diff;

pub use diagram::{DIAGRAM_BUDGET, DIAGRAM_NODE_LIMIT, NoDiagram};

use crate::language::ast::{ArithOp, CmpOp};
use std::collections::HashMap;

use crate::compile::Compiled;
use crate::compile::{CompiledRule, Op};
use crate::language::schema::{FieldId, Schema, Slot, Type};
use crate::value::{Date, Value};

/// Steps (see [`crate::Policy::analyze_with_budget`]) the whole analysis may take before it stops and
/// reports partial results.
pub const DEFAULT_BUDGET: usize = 10_000_000;

/// "No bound" in the difference constraints. Bounds are `i128`, so sums of any `i64` constants
/// and fact values (and of paths through every variable) stay far below it: a real bound is never
/// mistaken for "unbounded".
const INF: i128 = i128::MAX / 4;

/// A concrete fact assignment that reaches some outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Witness {
    pub as_of: Date,
    /// One entry per schema field; `None` when the fact is absent (or left to its default).
    pub values: Vec<Option<Value>>,
    /// Conditions the analysis could not model, with the value this witness assumes for them.
    pub assumptions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gap {
    pub witness: Witness,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeadRule {
    pub rule: usize,
    /// Earlier rules that decide every case this rule matches (empty when its condition can never hold).
    pub shadowed_by: Vec<usize>,
    /// False when the budget ran out while looking for those rules: `shadowed_by` holds the
    /// ones found (possibly none), and the rule is dead all the same.
    pub all_found: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Overlap {
    pub first: usize,
    pub second: usize,
    pub witness: Witness,
}

/// A rule reads an optional fact that can be absent at that point: such entries are errors.
#[derive(Clone, Debug, PartialEq)]
pub struct AbsentRead {
    pub rule: usize,
    pub field: FieldId,
    pub witness: Witness,
}

/// Everything [`crate::Policy::analyze`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// Regions no rule matches, each with a witness (at most `max_witnesses`).
    pub gaps: Vec<Gap>,
    /// Number of gap regions found (may exceed `gaps.len()`).
    pub gap_count: usize,
    pub dead: Vec<DeadRule>,
    pub overlaps: Vec<Overlap>,
    pub absent_reads: Vec<AbsentRead>,
    /// Rules each region decided by: how many regions each rule decides.
    pub regions_per_rule: Vec<usize>,
    /// False when the budget ran out anywhere (results are then partial).
    pub exhaustive: bool,
    /// The whole fact space was explored: the gap count, the dead rules and the reads of absent
    /// facts are complete (their witnesses and the rest may not be).
    pub space_explored: bool,
    /// The budget the analysis ran with, in steps for the whole analysis.
    pub budget: usize,
}

/// Analyses a policy within one budget of `budget` steps for the whole analysis: the
/// exploration of the fact space (gaps, absent reads, which rules decide), then the rules that
/// catch each dead rule's cases, then overlaps, witnesses included. A step is trying one rule's
/// condition on one region or making one region, and regions with many numeric facts count
/// for more, so the budget bounds the time whatever the policy. Past it the results are
/// partial (`exhaustive` is false): gaps found are real, and dead rules are claimed only when
/// the whole space was explored (`space_explored`).
pub(crate) fn analyze_with_budget(policy: &Compiled, max_witnesses: usize, budget: usize) -> Analysis {
    let ex = Explorer::writable(policy.schema(), policy.rules());
    let mut out =
        Analysis { regions_per_rule: vec![0; ex.rules.len()], exhaustive: true, budget, ..Analysis::default() };
    let budget = Budget::new(budget);
    let witness_cost = ex.witness_cost();

    // 1. The whole space, first match wins. Witnesses are made afterwards, from the budget.
    let mut absent_seen: Vec<(usize, FieldId)> = Vec::new();
    let mut gap_regions: Vec<State> = Vec::new();
    let mut absent_regions: Vec<(usize, FieldId, State)> = Vec::new();
    ex.first_match(ex.initial(), 0, ex.rules.len(), &budget, &mut |st, leaf| match leaf {
        Leaf::Match(r) => {
            if let Some(n) = out.regions_per_rule.get_mut(r) {
                *n += 1;
            }
        }
        Leaf::Gap => {
            out.gap_count += 1;
            if gap_regions.len() < max_witnesses {
                gap_regions.push(st.clone());
            }
        }
        Leaf::Absent(rule, field) => {
            if !absent_seen.contains(&(rule, field)) {
                absent_seen.push((rule, field));
                absent_regions.push((rule, field, st.clone()));
            }
        }
    });
    // Dead rules are claimed only when the whole space was explored, as a rule the
    // exploration did not reach may still match.
    out.space_explored = !budget.stopped();
    for st in gap_regions {
        if budget.spend(witness_cost) {
            out.gaps.push(Gap { witness: ex.witness(&st) });
        }
    }
    for (rule, field, st) in absent_regions {
        if budget.spend(witness_cost) {
            out.absent_reads.push(AbsentRead { rule, field, witness: ex.witness(&st) });
        }
    }

    // 2. Dead rules, and the earlier rules that catch what they match.
    for (i, rule) in ex.rules.iter().enumerate() {
        if !out.space_explored || out.regions_per_rule.get(i).copied().unwrap_or(0) > 0 {
            continue;
        }
        if budget.stopped() {
            // Dead all the same; which rules catch its cases is not known.
            out.dead.push(DeadRule { rule: i, shadowed_by: Vec::new(), all_found: false });
            continue;
        }
        let mut catchers: Vec<usize> = Vec::new();
        let pre = rule.when.as_ref();
        ex.satisfying(ex.initial(), pre, &budget, &mut |st| {
            ex.first_match(st.clone(), 0, i, &budget, &mut |_, leaf| match leaf {
                Leaf::Match(r) | Leaf::Absent(r, _) => {
                    if !catchers.contains(&r) {
                        catchers.push(r);
                    }
                }
                Leaf::Gap => {}
            });
        });
        catchers.sort_unstable();
        // Prefer the earlier rules that cover it on their own (its twin, say) over every rule
        // that takes some of its cases.
        let alone: Vec<usize> = catchers
            .iter()
            .copied()
            .filter(|c| {
                let Some(rule) = ex.rules.get(*c) else { return false };
                let Some(cond) = rule.when.as_ref() else { return true };
                // Its condition holds, and the catcher's does not (an absent read is neither).
                let conds: Vec<(&Op, bool)> = pre.map(|p| (p, true)).into_iter().chain([(cond, false)]).collect();
                ex.solve(ex.initial(), &conds, &budget).is_none() && !budget.stopped()
            })
            .collect();
        let all_found = !budget.stopped();
        let shadowed_by = if alone.is_empty() { catchers } else { alone };
        out.dead.push(DeadRule { rule: i, shadowed_by, all_found });
    }

    // 3. Overlaps between live rules with different actions.
    let summaries: Vec<Option<EnumSummary>> = ex.rules.iter().map(enum_summary).collect();
    let dead: std::collections::HashSet<usize> = out.dead.iter().map(|d| d.rule).collect();
    // Rules by action, so that pairs with one action are not even looked at.
    let mut by_action: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, r) in ex.rules.iter().enumerate() {
        if r.when.is_some() {
            by_action.entry(r.action).or_default().push(i);
        }
    }
    let mut actions: Vec<(usize, Vec<usize>)> = by_action.into_iter().collect();
    actions.sort_unstable();
    'pairs: for j in 0..ex.rules.len() {
        let Some(rj) = ex.rules.get(j) else { continue };
        if rj.when.is_none() || dead.contains(&j) {
            continue;
        }
        let mut earlier: Vec<usize> = actions
            .iter()
            .filter(|(a, _)| *a != rj.action)
            .flat_map(|(_, rules)| rules.iter().copied().take_while(|i| *i < j))
            .collect();
        earlier.sort_unstable();
        for i in earlier {
            if !budget.spend(1) {
                break 'pairs;
            }
            let Some(ri) = ex.rules.get(i) else { continue };
            if let (Some(Some(a)), Some(Some(b))) = (summaries.get(i), summaries.get(j)) {
                if !budget.spend(a.len() * b.len() * summary_words(a, b) / 16) {
                    break 'pairs;
                }
                if disjoint(a, b) {
                    continue;
                }
            }
            let conds: Vec<(&Op, bool)> =
                [ri.when.as_ref(), rj.when.as_ref()].into_iter().flatten().map(|c| (c, true)).collect();
            if let Some(st) = ex.solve(ex.initial(), &conds, &budget) {
                if budget.spend(witness_cost) {
                    out.overlaps.push(Overlap { first: i, second: j, witness: ex.witness(&st) });
                }
            }
        }
    }
    out.exhaustive = !budget.stopped();
    out
}

/// Words in the widest enum set of two summaries.
fn summary_words(a: &[(FieldId, Box<[u64]>)], b: &[(FieldId, Box<[u64]>)]) -> usize {
    a.iter().chain(b).map(|(_, w)| w.len()).max().unwrap_or(1)
}

/// Per enum fact, the values a rule's top-level tests allow.
type EnumSummary = Vec<(FieldId, Box<[u64]>)>;

/// The enum tests a rule's condition makes at its top level (`a in [..] and b == x`), merged per field.
fn enum_summary(rule: &CompiledRule) -> Option<EnumSummary> {
    let mut out: EnumSummary = Vec::new();
    let mut add = |field: FieldId, bits: &[u64]| {
        if let Some((_, b)) = out.iter_mut().find(|(f, _)| *f == field) {
            *b = b.iter().zip(bits).map(|(x, y)| x & y).collect();
        } else {
            out.push((field, bits.into()));
        }
    };
    match rule.when.as_ref()? {
        Op::EnumIn { field, bits, .. } => add(*field, bits.as_slice()),
        Op::And(xs) => {
            for x in xs.iter() {
                if let Op::EnumIn { field, bits, .. } = x {
                    add(*field, bits.as_slice());
                }
            }
        }
        _ => {}
    }
    Some(out)
}

fn disjoint(a: &[(FieldId, Box<[u64]>)], b: &[(FieldId, Box<[u64]>)]) -> bool {
    a.iter().any(|(fa, ba)| b.iter().any(|(fb, bb)| fa == fb && ba.iter().zip(bb.iter()).all(|(x, y)| x & y == 0)))
}

enum Leaf {
    Match(usize),
    Gap,
    Absent(usize, FieldId),
}

/// A three-valued result: known, or waiting on a decision, or an absent-fact error.
enum Tri<T> {
    Known(T),
    Need(Atom),
    Absent(FieldId),
}

use Tri::{Absent, Known, Need};

#[derive(Clone, Debug)]
enum Atom {
    Present(FieldId),
    Bool(FieldId),
    /// Split the values an enum fact may take by membership in `bits`.
    EnumSplit(FieldId, Box<[u64]>),
    /// Try each value an enum fact may take.
    EnumEach(FieldId),
    /// `x - y <= k` over numeric variables.
    Diff(usize, usize, i128),
    /// A condition the analysis cannot model, identified by its address.
    Opaque(usize),
}

/// What is known about the facts in one region of the space.
#[derive(Clone, Debug)]
struct State {
    enums: Vec<Box<[u64]>>,
    bools: Vec<Option<bool>>,
    present: Vec<Option<bool>>,
    /// `bound[x * n + y]`: the tightest known upper bound on `x - y`.
    bound: Vec<i128>,
    /// The values assumed for conditions the analysis cannot model.
    opaque: Assumed,
}

/// The values assumed for unmodelled conditions along one path of the exploration: a
/// persistent trie over the conditions' numbers (16 children a node), so that a region that
/// splits from another shares it (a path may pass thousands of such conditions, one per rule),
/// and finding or adding one value takes a few steps whatever their number.
#[derive(Clone, Debug, Default)]
struct Assumed(Option<std::rc::Rc<TrieNode>>);

#[derive(Debug)]
enum TrieNode {
    Inner([Option<std::rc::Rc<TrieNode>>; 16]),
    Leaf(bool),
}

/// The digit of `index` that chooses a child at `level` (1 for the nodes above the leaves).
fn digit(index: u32, level: u32) -> usize {
    ((index >> (4 * (level - 1))) & 15) as usize
}

impl Assumed {
    /// The trie with `value` for condition `index`, in a trie of `depth` levels.
    fn with(&self, index: u32, value: bool, depth: u32) -> Assumed {
        fn set(node: Option<&TrieNode>, index: u32, level: u32, value: bool) -> std::rc::Rc<TrieNode> {
            if level == 0 {
                return std::rc::Rc::new(TrieNode::Leaf(value));
            }
            let mut children: [Option<std::rc::Rc<TrieNode>>; 16] = match node {
                Some(TrieNode::Inner(c)) => c.clone(),
                _ => Default::default(),
            };
            let d = digit(index, level);
            let child = children.get(d).and_then(|c| c.as_deref());
            let new = set(child, index, level - 1, value);
            if let Some(slot) = children.get_mut(d) {
                *slot = Some(new);
            }
            std::rc::Rc::new(TrieNode::Inner(children))
        }
        Assumed(Some(set(self.0.as_deref(), index, depth, value)))
    }

    fn get(&self, index: u32, depth: u32) -> Option<bool> {
        let mut node = self.0.as_deref()?;
        for level in (1..=depth).rev() {
            match node {
                TrieNode::Inner(c) => node = c.get(digit(index, level))?.as_deref()?,
                TrieNode::Leaf(_) => return None,
            }
        }
        match node {
            TrieNode::Leaf(v) => Some(*v),
            TrieNode::Inner(_) => None,
        }
    }

    /// Every assumed value, in the conditions' order.
    fn values(&self) -> Vec<bool> {
        let mut out = Vec::new();
        let mut todo: Vec<&TrieNode> = self.0.as_deref().into_iter().collect();
        while let Some(n) = todo.pop() {
            match n {
                TrieNode::Leaf(v) => out.push(*v),
                TrieNode::Inner(c) => todo.extend(c.iter().rev().filter_map(|c| c.as_deref())),
            }
        }
        out
    }
}

struct Explorer<'p> {
    schema: &'p Schema,
    rules: &'p [CompiledRule],
    /// Numeric variable of each field (`None` for non-numeric ones). Variable 0 is the constant
    /// zero, variable 1 is `as_of`.
    var_of: Vec<Option<usize>>,
    nvars: usize,
    /// For the analysis: each numeric variable's writable range (`(0, 0)` for the constant zero).
    /// Regions with no writable facts in them are not reported. `None` for the decision diagram,
    /// which must stay exact for any value a library caller can build.
    domain: Option<Vec<(i128, i128)>>,
    /// The rule each expression node belongs to and its number, by address (for [`Assumed`]).
    op_info: HashMap<usize, (usize, u32)>,
    /// Levels of the [`Assumed`] tries: enough 4-bit digits for every node's number.
    trie_depth: u32,
    /// What trying each rule's condition once costs, in steps (more for long conditions).
    rule_cost: Vec<usize>,
    /// What making one region costs, in steps: copying it and closing its bounds take time in
    /// proportion to the number of numeric variables squared.
    state_cost: usize,
}

/// The work left to an exploration, in steps: a step is trying one rule's condition on one
/// region, or making one region (regions with many numeric facts count for more), so that a
/// budget bounds the time taken whatever the policy.
#[derive(Debug)]
struct Budget {
    left: std::cell::Cell<usize>,
    /// Some work was not done for lack of budget.
    stopped: std::cell::Cell<bool>,
}

impl Budget {
    fn new(steps: usize) -> Budget {
        Budget { left: steps.into(), stopped: false.into() }
    }

    /// Spends `steps`; false (from then on) when they are not left.
    fn spend(&self, steps: usize) -> bool {
        if self.stopped.get() || self.left.get() < steps {
            self.left.set(0);
            self.stopped.set(true);
            return false;
        }
        self.left.set(self.left.get() - steps);
        true
    }

    fn stopped(&self) -> bool {
        self.stopped.get()
    }
}

/// A linear form `sum(coef * var) + c`.
struct Lin {
    terms: Vec<(usize, i64)>,
    c: i64,
}

impl<'p> Explorer<'p> {
    fn new(schema: &'p Schema, rules: &'p [CompiledRule]) -> Self {
        let mut nvars = 2;
        let var_of = schema
            .fields
            .iter()
            .map(|f| {
                matches!(f.ty, Type::Int | Type::Date).then(|| {
                    nvars += 1;
                    nvars - 1
                })
            })
            .collect();
        let mut op_info = HashMap::new();
        let mut rule_cost = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let mut nodes = 0usize;
            for op in r.when.iter().chain(r.args.iter()) {
                let mut todo = vec![op];
                while let Some(op) = todo.pop() {
                    nodes += 1;
                    let number = u32::try_from(op_info.len()).unwrap_or(u32::MAX);
                    op_info.insert(op as *const Op as usize, (i, number));
                    match op {
                        Op::Not(x) => todo.push(x),
                        Op::And(xs) | Op::Or(xs) => todo.extend(xs.iter()),
                        Op::Compare(_, l, r) | Op::Arith { left: l, right: r, .. } => todo.extend([&**l, &**r]),
                        Op::In { value, set, .. } => {
                            todo.push(value);
                            todo.extend(set.iter());
                        }
                        Op::Const(_) | Op::Load(..) | Op::AsOf | Op::Present(_) | Op::EnumIn { .. } => {}
                    }
                }
            }
            rule_cost.push(1 + nodes / 4);
        }
        let enum_words: usize = schema
            .fields
            .iter()
            .map(|f| match f.ty {
                Type::Enum(e) => schema.enums.get(e).map_or(0, |d| d.values.len().div_ceil(64)),
                _ => 0,
            })
            .sum();
        let state_cost = 1 + nvars * nvars / 16 + (enum_words + schema.fields.len()) / 64;
        let mut trie_depth = 1;
        while trie_depth < 8 && op_info.len() >> (4 * trie_depth) > 0 {
            trie_depth += 1;
        }
        Explorer { schema, rules, var_of, nvars, domain: None, op_info, trie_depth, rule_cost, state_cost }
    }

    /// Records in `st` that the unmodelled condition `id` has `value`. Every condition the
    /// explorations evaluate is a node of some rule, so it has a number; one without would only
    /// be split again and again until the budget ran out (never a wrong result).
    fn assume(&self, st: &mut State, id: usize, value: bool) {
        if let Some((_, index)) = self.op_info.get(&id) {
            st.opaque = st.opaque.with(*index, value, self.trie_depth);
        }
    }

    fn assumed(&self, st: &State, id: usize) -> Option<bool> {
        let (_, index) = self.op_info.get(&id)?;
        st.opaque.get(*index, self.trie_depth)
    }

    /// The steps trying rule `i` costs.
    fn cost(&self, i: usize) -> usize {
        self.rule_cost.get(i).copied().unwrap_or(1)
    }

    /// The steps trying a condition that is not a whole rule's costs (counted like a rule's).
    fn cond_cost(&self, cond: &Op) -> usize {
        self.op_info.get(&(cond as *const Op as usize)).map_or(1, |(r, _)| self.cost(*r))
    }

    /// An explorer that reports only regions holding facts a fact file can write: dates from
    /// 0000-01-01 to 9999-12-31 (`as_of` too), integers within `i64`.
    fn writable(schema: &'p Schema, rules: &'p [CompiledRule]) -> Self {
        let mut ex = Explorer::new(schema, rules);
        let dates = (i128::from(Date::FIRST_WRITABLE.days()), i128::from(Date::LAST_WRITABLE.days()));
        let ints = (i128::from(i64::MIN), i128::from(i64::MAX));
        let mut domain = vec![(0, 0), dates];
        for (f, v) in ex.var_of.iter().enumerate() {
            if v.is_some() {
                let is_int = schema.fields.get(f).is_some_and(|d| d.ty == Type::Int);
                domain.push(if is_int { ints } else { dates });
            }
        }
        ex.domain = Some(domain);
        ex
    }

    /// Whether region `st` holds writable facts (always, without a domain). A closed system of
    /// bounds stays consistent when `lo(v) <= v <= hi(v)` is added for every variable exactly
    /// when no known bound on `x - y` is below `lo(x) - hi(y)`.
    fn admits(&self, st: &State) -> bool {
        let Some(domain) = &self.domain else { return true };
        domain
            .iter()
            .enumerate()
            .all(|(x, (lo, _))| domain.iter().enumerate().all(|(y, (_, hi))| self.bound(st, x, y) >= lo - hi))
    }

    /// Reports a leaf region if it holds writable facts.
    fn report(&self, st: &State, leaf: &mut dyn FnMut(&State, Leaf), what: Leaf) {
        if self.admits(st) {
            leaf(st, what);
        }
    }

    fn initial(&self) -> State {
        let n = self.nvars;
        let mut bound = vec![INF; n * n];
        for v in 0..n {
            if let Some(b) = bound.get_mut(v * n + v) {
                *b = 0;
            }
        }
        State {
            enums: self
                .schema
                .fields
                .iter()
                .map(|f| match f.ty {
                    Type::Enum(e) => {
                        let len = self.schema.enums.get(e).map_or(0, |d| d.values.len());
                        let mut bits = vec![0u64; len.div_ceil(64).max(1)];
                        for v in 0..len {
                            if let Some(w) = bits.get_mut(v / 64) {
                                *w |= 1 << (v % 64);
                            }
                        }
                        bits.into_boxed_slice()
                    }
                    _ => Vec::new().into_boxed_slice(),
                })
                .collect(),
            bools: vec![None; self.schema.fields.len()],
            present: self.schema.fields.iter().map(|f| if f.optional { None } else { Some(true) }).collect(),
            bound,
            opaque: Assumed::default(),
        }
    }

    fn field_of_slot(&self, slot: Slot) -> Option<FieldId> {
        self.schema.fields.iter().position(|f| f.slot == slot)
    }

    /// First match over `rules[from..to]`, reporting each leaf region (depth first, in the
    /// order the evaluator would meet them). The regions still to explore are kept on a list,
    /// not on the call stack, so a path through thousands of rules needs no deep recursion.
    fn first_match(&self, st: State, from: usize, to: usize, budget: &Budget, leaf: &mut dyn FnMut(&State, Leaf)) {
        let mut todo = vec![(st, from)];
        'regions: while let Some((st, from)) = todo.pop() {
            if !budget.spend(self.state_cost) {
                return;
            }
            for i in from..to {
                let Some(rule) = self.rules.get(i) else { break };
                if !budget.spend(self.cost(i)) {
                    return;
                }
                let t = match &rule.when {
                    None => Known(true),
                    Some(c) => self.truth(c, &st),
                };
                let outcome = match t {
                    Known(false) => continue,
                    Known(true) => {
                        // The parameters are computed too: they may read absent facts.
                        let mut outcome = Known(());
                        for a in rule.args.iter() {
                            outcome = self.reads_present(a, &st);
                            if !matches!(outcome, Known(())) {
                                break;
                            }
                        }
                        outcome
                    }
                    Need(atom) => Need(atom),
                    Absent(f) => Absent(f),
                };
                match outcome {
                    Known(()) => self.report(&st, leaf, Leaf::Match(i)),
                    Absent(f) => self.report(&st, leaf, Leaf::Absent(i, f)),
                    Need(atom) => todo.extend(self.refine(&st, &atom).into_iter().rev().map(|s| (s, i))),
                }
                continue 'regions;
            }
            self.report(&st, leaf, Leaf::Gap);
        }
    }

    /// Calls `found` for each region where `cond` holds (every region when `cond` is `None`).
    fn satisfying(&self, st: State, cond: Option<&Op>, budget: &Budget, found: &mut dyn FnMut(&State)) {
        let Some(cond) = cond else {
            if budget.spend(self.state_cost) && self.admits(&st) {
                found(&st);
            }
            return;
        };
        let mut todo = vec![st];
        while let Some(st) = todo.pop() {
            if !budget.spend(self.state_cost + self.cond_cost(cond)) {
                return;
            }
            match self.truth(cond, &st) {
                Known(true) => {
                    if self.admits(&st) {
                        found(&st);
                    }
                }
                Known(false) | Absent(_) => {}
                Need(atom) => todo.extend(self.refine(&st, &atom).into_iter().rev()),
            }
        }
    }

    /// A region where every condition has the value paired with it, if there is one (`None` also when the budget ran
    /// out first: the caller checks the budget).
    fn solve(&self, st: State, conds: &[(&Op, bool)], budget: &Budget) -> Option<State> {
        let mut todo = vec![(st, 0usize)];
        while let Some((st, at)) = todo.pop() {
            let Some((first, want)) = conds.get(at) else {
                if self.admits(&st) {
                    return Some(st);
                }
                continue;
            };
            if !budget.spend(self.state_cost + self.cond_cost(first)) {
                return None;
            }
            match self.truth(first, &st) {
                Known(b) if b == *want => todo.push((st, at + 1)),
                Known(_) | Absent(_) => {}
                Need(atom) => todo.extend(self.refine(&st, &atom).into_iter().rev().map(|s| (s, at))),
            }
        }
        None
    }

    /// The sub-regions of `st` on either side of `atom` (only the feasible ones).
    fn refine(&self, st: &State, atom: &Atom) -> Vec<State> {
        let mut out = Vec::new();
        match atom {
            Atom::Present(f) => {
                for v in [true, false] {
                    let mut s = st.clone();
                    if let Some(p) = s.present.get_mut(*f) {
                        *p = Some(v);
                    }
                    out.push(s);
                }
            }
            Atom::Bool(f) => {
                // The default (else `false`) first: witnesses then stay close to the defaults.
                let first =
                    matches!(self.schema.fields.get(*f).and_then(|d| d.default.as_ref()), Some(Value::Bool(true)));
                for v in [first, !first] {
                    let mut s = st.clone();
                    if let Some(b) = s.bools.get_mut(*f) {
                        *b = Some(v);
                    }
                    out.push(s);
                }
            }
            Atom::EnumSplit(f, bits) => {
                let Some(allowed) = st.enums.get(*f) else { return out };
                let inside: Box<[u64]> = allowed.iter().zip(bits.iter()).map(|(a, b)| a & b).collect();
                let outside: Box<[u64]> = allowed.iter().zip(bits.iter()).map(|(a, b)| a & !b).collect();
                for part in [inside, outside] {
                    if part.iter().any(|w| *w != 0) {
                        let mut s = st.clone();
                        if let Some(e) = s.enums.get_mut(*f) {
                            *e = part;
                        }
                        out.push(s);
                    }
                }
            }
            Atom::EnumEach(f) => {
                let Some(allowed) = st.enums.get(*f) else { return out };
                for (wi, w) in allowed.iter().enumerate() {
                    for bit in 0..64 {
                        if w >> bit & 1 == 1 {
                            let mut one = vec![0u64; allowed.len()];
                            if let Some(x) = one.get_mut(wi) {
                                *x = 1 << bit;
                            }
                            let mut s = st.clone();
                            if let Some(e) = s.enums.get_mut(*f) {
                                *e = one.into();
                            }
                            out.push(s);
                        }
                    }
                }
            }
            Atom::Diff(x, y, k) => {
                // x - y <= k, or x - y >= k + 1 (that is, y - x <= -k - 1).
                for (a, b, c) in [(*x, *y, *k), (*y, *x, k.saturating_neg().saturating_sub(1))] {
                    let mut s = st.clone();
                    if self.add_constraint(&mut s, a, b, c) {
                        out.push(s);
                    }
                }
            }
            Atom::Opaque(id) => {
                for v in [true, false] {
                    let mut s = st.clone();
                    self.assume(&mut s, *id, v);
                    out.push(s);
                }
            }
        }
        out
    }

    fn bound(&self, st: &State, x: usize, y: usize) -> i128 {
        st.bound.get(x * self.nvars + y).copied().unwrap_or(INF)
    }

    /// Adds `x - y <= k`; false when that contradicts what is known.
    fn add_constraint(&self, st: &mut State, x: usize, y: usize, k: i128) -> bool {
        let n = self.nvars;
        if k.saturating_add(self.bound(st, y, x)) < 0 {
            return false;
        }
        if k >= self.bound(st, x, y) {
            return true;
        }
        let old = st.bound.clone();
        let get = |i: usize, j: usize| old.get(i * n + j).copied().unwrap_or(INF);
        for i in 0..n {
            let ix = get(i, x);
            if ix >= INF {
                continue;
            }
            for j in 0..n {
                let yj = get(y, j);
                if yj >= INF {
                    continue;
                }
                let via = ix.saturating_add(k).saturating_add(yj).clamp(-INF, INF);
                if let Some(b) = st.bound.get_mut(i * n + j) {
                    if via < *b {
                        *b = via;
                    }
                }
            }
        }
        true
    }

    // ---- three-valued evaluation ------------------------------------------------------------

    fn presence(&self, f: FieldId, st: &State) -> Tri<()> {
        match st.present.get(f).copied().flatten() {
            Some(true) => Known(()),
            Some(false) => Absent(f),
            None => Need(Atom::Present(f)),
        }
    }

    /// Whether every fact `op` reads is present (in evaluation order).
    fn reads_present(&self, op: &Op, st: &State) -> Tri<()> {
        match op {
            Op::Load(_, f) | Op::EnumIn { field: f, .. } => self.presence(*f, st),
            Op::Const(_) | Op::AsOf | Op::Present(_) => Known(()),
            Op::Not(x) => self.reads_present(x, st),
            // Only reached for parameters; a boolean parameter reads like a condition.
            Op::And(_) | Op::Or(_) => match self.truth(op, st) {
                Known(_) => Known(()),
                Need(a) => Need(a),
                Absent(f) => Absent(f),
            },
            Op::Compare(_, l, r) | Op::Arith { left: l, right: r, .. } => match self.reads_present(l, st) {
                Known(()) => self.reads_present(r, st),
                other => other,
            },
            Op::In { value, set, .. } => {
                match self.reads_present(value, st) {
                    Known(()) => {}
                    other => return other,
                }
                for s in set.iter() {
                    match self.reads_present(s, st) {
                        Known(()) => {}
                        other => return other,
                    }
                }
                Known(())
            }
        }
    }

    fn truth(&self, op: &Op, st: &State) -> Tri<bool> {
        match op {
            Op::Const(Value::Bool(b)) => Known(*b),
            Op::Const(_) | Op::AsOf | Op::Arith { .. } => Known(false),
            Op::Load(_, f) => match self.presence(*f, st) {
                Known(()) => match st.bools.get(*f).copied().flatten() {
                    Some(b) => Known(b),
                    None => Need(Atom::Bool(*f)),
                },
                Need(a) => Need(a),
                Absent(f) => Absent(f),
            },
            Op::Present(slot) => match self.field_of_slot(*slot) {
                Some(f) => match st.present.get(f).copied().flatten() {
                    Some(p) => Known(p),
                    None => Need(Atom::Present(f)),
                },
                None => Known(false),
            },
            Op::EnumIn { field, bits, .. } => match self.presence(*field, st) {
                Known(()) => {
                    let Some(allowed) = st.enums.get(*field) else { return Known(false) };
                    let inside = allowed.iter().zip(bits.iter()).any(|(a, b)| a & b != 0);
                    let outside =
                        allowed.iter().zip(bits.iter().chain(std::iter::repeat(&0))).any(|(a, b)| a & !b != 0);
                    match (inside, outside) {
                        (true, false) => Known(true),
                        (false, _) => Known(false),
                        (true, true) => Need(Atom::EnumSplit(*field, bits.iter().copied().collect())),
                    }
                }
                Need(a) => Need(a),
                Absent(f) => Absent(f),
            },
            Op::Not(x) => match self.truth(x, st) {
                Known(b) => Known(!b),
                other => other,
            },
            Op::And(xs) | Op::Or(xs) => {
                let is_and = matches!(op, Op::And(_));
                for x in xs.iter() {
                    match self.truth(x, st) {
                        Known(b) if b == is_and => continue,
                        Known(b) => return Known(b),
                        other => return other,
                    }
                }
                Known(is_and)
            }
            Op::Compare(cmp, l, r) => self.compare(*cmp, l, r, op as *const Op as usize, st),
            Op::In { negated, value, set } => {
                match self.reads_present(value, st) {
                    Known(()) => {}
                    Need(a) => return Need(a),
                    Absent(f) => return Absent(f),
                }
                for s in set.iter() {
                    match self.compare(CmpOp::Eq, value, s, s as *const Op as usize, st) {
                        Known(true) => return Known(!*negated),
                        Known(false) => {}
                        other => return other,
                    }
                }
                Known(*negated)
            }
        }
    }

    fn compare(&self, cmp: CmpOp, l: &Op, r: &Op, id: usize, st: &State) -> Tri<bool> {
        match self.reads_present(l, st) {
            Known(()) => {}
            Need(a) => return Need(a),
            Absent(f) => return Absent(f),
        }
        match self.reads_present(r, st) {
            Known(()) => {}
            Need(a) => return Need(a),
            Absent(f) => return Absent(f),
        }
        if let (Some(a), Some(b)) = (self.lin(l), self.lin(r)) {
            return self.numeric(cmp, a, b, id, st);
        }
        match (self.discrete(l, st), self.discrete(r, st)) {
            (Known(a), Known(b)) => match (a, b) {
                (Some(a), Some(b)) => Known(match cmp {
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                    // Only `==`/`!=` apply to discrete values.
                    _ => false,
                }),
                _ => self.opaque(id, st),
            },
            (Need(a), _) | (_, Need(a)) => Need(a),
            (Absent(f), _) | (_, Absent(f)) => Absent(f),
        }
    }

    fn opaque(&self, id: usize, st: &State) -> Tri<bool> {
        match self.assumed(st, id) {
            Some(v) => Known(v),
            None => Need(Atom::Opaque(id)),
        }
    }

    /// The value of an enum or bool operand, `Known(None)` for values the analysis does not model.
    fn discrete(&self, op: &Op, st: &State) -> Tri<Option<(u8, u32)>> {
        match op {
            Op::Const(Value::Bool(b)) => Known(Some((0, u32::from(*b)))),
            Op::Const(Value::Enum(e)) => Known(Some((1, u32::from(*e)))),
            Op::Load(_, f) => match self.schema.fields.get(*f).map(|d| d.ty) {
                Some(Type::Bool) => match st.bools.get(*f).copied().flatten() {
                    Some(b) => Known(Some((0, u32::from(b)))),
                    None => Need(Atom::Bool(*f)),
                },
                Some(Type::Enum(_)) => {
                    let Some(allowed) = st.enums.get(*f) else { return Known(None) };
                    let count: u32 = allowed.iter().map(|w| w.count_ones()).sum();
                    if count == 1 {
                        let idx = allowed
                            .iter()
                            .enumerate()
                            .find(|(_, w)| **w != 0)
                            .map(|(i, w)| i as u32 * 64 + w.trailing_zeros());
                        Known(idx.map(|v| (1, v)))
                    } else {
                        Need(Atom::EnumEach(*f))
                    }
                }
                _ => Known(None),
            },
            other => match self.truth(other, st) {
                Known(b)
                    if matches!(
                        other,
                        Op::Not(_)
                            | Op::And(_)
                            | Op::Or(_)
                            | Op::EnumIn { .. }
                            | Op::Present(_)
                            | Op::Compare(..)
                            | Op::In { .. }
                    ) =>
                {
                    Known(Some((0, u32::from(b))))
                }
                Known(_) => Known(None),
                Need(a) => Need(a),
                Absent(f) => Absent(f),
            },
        }
    }

    fn lin(&self, op: &Op) -> Option<Lin> {
        match op {
            Op::Const(Value::Int(n)) => Some(Lin { terms: vec![], c: *n }),
            Op::Const(Value::Date(d)) => Some(Lin { terms: vec![], c: d.days() }),
            Op::AsOf => Some(Lin { terms: vec![(1, 1)], c: 0 }),
            Op::Load(_, f) => self.var_of.get(*f).copied().flatten().map(|v| Lin { terms: vec![(v, 1)], c: 0 }),
            Op::Arith { op, left, right, .. } => {
                let (a, b) = (self.lin(left)?, self.lin(right)?);
                let sign = if *op == ArithOp::Add { 1 } else { -1 };
                let mut terms = a.terms;
                for (v, k) in b.terms {
                    match terms.iter_mut().find(|(w, _)| *w == v) {
                        Some((_, c)) => *c += sign * k,
                        None => terms.push((v, sign * k)),
                    }
                }
                terms.retain(|(_, k)| *k != 0);
                Some(Lin { terms, c: a.c.checked_add(b.c.checked_mul(sign)?)? })
            }
            _ => None,
        }
    }

    fn numeric(&self, cmp: CmpOp, a: Lin, b: Lin, id: usize, st: &State) -> Tri<bool> {
        // a - b  cmp  0
        let mut terms = a.terms;
        for (v, k) in b.terms {
            match terms.iter_mut().find(|(w, _)| *w == v) {
                Some((_, c)) => *c -= k,
                None => terms.push((v, -k)),
            }
        }
        terms.retain(|(_, k)| *k != 0);
        let c = i128::from(a.c) - i128::from(b.c);
        // Bring it to  x - y  cmp  k.
        let pos: Vec<usize> = terms.iter().filter(|(_, k)| *k == 1).map(|(v, _)| *v).collect();
        let neg: Vec<usize> = terms.iter().filter(|(_, k)| *k == -1).map(|(v, _)| *v).collect();
        if pos.len() + neg.len() != terms.len() || pos.len() > 1 || neg.len() > 1 {
            return self.opaque(id, st);
        }
        let x = pos.first().copied().unwrap_or(0);
        let y = neg.first().copied().unwrap_or(0);
        // `a - b cmp 0` is `x - y cmp k` with `k = -c` (exact in `i128`).
        let k = -c;
        let le = |x: usize, y: usize, k: i128| -> Tri<bool> {
            if x == y {
                return Known(0 <= k);
            }
            if self.bound(st, x, y) <= k {
                Known(true)
            } else if self.bound(st, y, x) <= k.saturating_neg().saturating_sub(1) {
                Known(false)
            } else {
                Need(Atom::Diff(x, y, k))
            }
        };
        let eq = || match le(x, y, k) {
            Known(true) => le(y, x, k.saturating_neg()),
            other => other,
        };
        match cmp {
            CmpOp::Le => le(x, y, k),
            CmpOp::Lt => le(x, y, k.saturating_sub(1)),
            CmpOp::Ge => le(y, x, k.saturating_neg()),
            CmpOp::Gt => le(y, x, k.saturating_neg().saturating_sub(1)),
            CmpOp::Eq => eq(),
            CmpOp::Ne => match eq() {
                Known(b) => Known(!b),
                other => other,
            },
        }
    }

    // ---- witnesses --------------------------------------------------------------------------

    /// The steps making one witness costs: it fixes the numeric variables one by one, each a
    /// closure over all of them.
    fn witness_cost(&self) -> usize {
        self.state_cost.saturating_mul(6 * self.nvars + 2)
    }

    fn witness(&self, st: &State) -> Witness {
        let mut st = st.clone();
        // The same region cut down to writable values. Reported regions always hold some (see
        // `admits`), and in a closed system any value between a variable's bounds extends to a
        // whole solution: a choice clamped into `dom`'s bounds keeps the witness writable.
        let mut dom = st.clone();
        for (v, (lo, hi)) in self.domain.iter().flatten().enumerate().skip(1) {
            self.add_constraint(&mut dom, v, 0, *hi);
            self.add_constraint(&mut dom, 0, v, -lo);
        }
        let n = self.nvars;
        // Give every numeric variable a value inside what is known, `as_of` first, so later
        // choices see earlier ones: the bound the policy sets if there is one (chosen as if the
        // writable ranges did not exist, so a limit they imply is not mistaken for the policy's),
        // else a fixed, plausible day for dates and 0 for integers.
        let anchor = i128::from(Date::parse("2024-03-15").map_or(0, Date::days));
        let mut values = vec![0i128; n];
        for v in 1..n {
            let is_date = v == 1
                || self
                    .var_of
                    .iter()
                    .position(|x| *x == Some(v))
                    .and_then(|f| self.schema.fields.get(f))
                    .is_some_and(|f| f.ty == Type::Date);
            let upper = self.bound(&st, v, 0);
            let lower = -self.bound(&st, 0, v);
            let value = match (lower > -INF, upper < INF) {
                (true, _) => lower,
                (false, true) => upper,
                (false, false) if is_date => anchor,
                (false, false) => 0,
            };
            let value = value.max(-self.bound(&dom, 0, v)).min(self.bound(&dom, v, 0));
            for s in [&mut st, &mut dom] {
                self.add_constraint(s, v, 0, value);
                self.add_constraint(s, 0, v, -value);
            }
            if let Some(slot) = values.get_mut(v) {
                *slot = value;
            }
        }
        let day = |v: usize| values.get(v).and_then(|d| i64::try_from(*d).ok()).and_then(Date::from_days);
        let as_of = day(1).unwrap_or(Date::FIRST_WRITABLE);
        let mut out = Vec::new();
        for (f, def) in self.schema.fields.iter().enumerate() {
            let present = st.present.get(f).copied().flatten();
            if present == Some(false) || (def.optional && present.is_none()) {
                out.push(None);
                continue;
            }
            let v = match def.ty {
                Type::Bool => match st.bools.get(f).copied().flatten() {
                    Some(b) => Some(Value::Bool(b)),
                    None => def.default.clone().or(Some(Value::Bool(false))),
                },
                Type::Enum(_) => {
                    let allowed = st.enums.get(f);
                    let first = allowed.and_then(|a| {
                        a.iter().enumerate().find(|(_, w)| **w != 0).map(|(i, w)| i as u32 * 64 + w.trailing_zeros())
                    });
                    let default_ok = match &def.default {
                        Some(Value::Enum(d)) => allowed.is_some_and(|a| {
                            a.get(usize::from(*d) / 64).is_some_and(|w| w >> (usize::from(*d) % 64) & 1 == 1)
                        }),
                        _ => false,
                    };
                    if default_ok {
                        def.default.clone()
                    } else {
                        first.and_then(|i| u16::try_from(i).ok()).map(Value::Enum)
                    }
                }
                Type::Int => self
                    .var_of
                    .get(f)
                    .copied()
                    .flatten()
                    .and_then(|v| values.get(v))
                    .and_then(|n| i64::try_from(*n).ok())
                    .map(Value::Int),
                Type::Date => self.var_of.get(f).copied().flatten().and_then(day).map(Value::Date),
                Type::Text => def.default.clone().or_else(|| {
                    let group = self.schema.groups.get(def.group).map_or("x", |g| g.name.as_str());
                    Some(Value::Text(format!("{group}-1").into()))
                }),
            };
            out.push(v);
        }
        let assumptions = st.opaque.values().into_iter().map(|v| format!("an unmodelled comparison is {v}")).collect();
        Witness { as_of, values: out, assumptions }
    }
}

impl Witness {
    /// The witness as a fact document in the policy's own input format (flow-style YAML).
    pub fn to_document(&self, schema: &Schema) -> String {
        let mut out = format!("as_of: {}\n", self.as_of);
        let render = |f: FieldId, v: &Value| -> String {
            let ty = schema.fields.get(f).map(|d| d.ty);
            match (ty, v) {
                (Some(Type::Enum(e)), Value::Enum(i)) => schema.enum_value_name(e, *i).to_string(),
                (_, Value::Bool(b)) => b.to_string(),
                (_, Value::Int(n)) => n.to_string(),
                (_, Value::Date(d)) => d.to_string(),
                (_, Value::Text(t)) => serde_json::Value::from(t.to_string()).to_string(),
                _ => "null".into(),
            }
        };
        for (gi, g) in schema.groups.iter().enumerate() {
            let parts: Vec<String> = schema
                .fields
                .iter()
                .enumerate()
                .filter(|(_, d)| d.group == gi)
                .filter_map(|(f, d)| {
                    let v = self.values.get(f)?.as_ref()?;
                    // Leave defaults out: the document stays short.
                    if d.default.as_ref() == Some(v) {
                        return None;
                    }
                    Some(format!("{}: {}", d.name, render(f, v)))
                })
                .collect();
            match &g.list {
                Some(list) => out.push_str(&format!("{list}:\n  - {{ {} }}\n", parts.join(", "))),
                None if parts.is_empty() => {}
                None => out.push_str(&format!("{}: {{ {} }}\n", g.name, parts.join(", "))),
            }
        }
        for a in &self.assumptions {
            out.push_str(&format!("# assumes {a}\n"));
        }
        out
    }
}

/// The analysis as diagnostics: gaps and dead rules are warnings; overlaps and reads of facts
/// that may be absent are advice, except reads a rule declares intended with `requires`.
pub(crate) fn diagnostics(policy: &Compiled, a: &Analysis) -> Vec<crate::diagnostic::PolicyDiagnostic> {
    use crate::diagnostic::{PolicyDiagnostic, Severity};
    let schema = policy.schema();
    let rules = policy.rules();
    let id = |r: usize| rules.get(r).map_or("?", |x| x.id.as_str());
    let span = |r: usize| rules.get(r).map(|x| x.id_span).unwrap_or_default();
    let mut out = Vec::new();
    for (n, g) in a.gaps.iter().enumerate() {
        let more = if n == 0 && a.gap_count > a.gaps.len() {
            format!(" ({} regions in all; the first {} are shown)", a.gap_count, a.gaps.len())
        } else {
            String::new()
        };
        out.push(PolicyDiagnostic {
            severity: Severity::Warning,
            code: "check::gap",
            message: format!("no rule matches these facts{more}"),
            labels: vec![],
            help: Some(format!(
                "add a rule for them, or a catch-all rule at the end; a fact document that shows it:\n{}",
                g.witness.to_document(schema).trim_end()
            )),
        });
    }
    for d in &a.dead {
        let mut diag = if !d.all_found {
            let mut names: Vec<String> = d.shadowed_by.iter().take(5).map(|r| format!("`{}`", id(*r))).collect();
            if d.shadowed_by.len() > 5 {
                names.push(format!("{} more", d.shadowed_by.len() - 5));
            }
            let among = if names.is_empty() {
                String::new()
            } else {
                format!("; earlier rules that catch its cases include {}", names.join(", "))
            };
            PolicyDiagnostic {
                severity: Severity::Warning,
                code: "check::dead-rule",
                message: format!("rule `{}` can never decide: no fact combination reaches it{among}", id(d.rule)),
                labels: vec![(span(d.rule), "never decides".into())],
                help: Some(
                    "the analysis stopped before it found every earlier rule that catches its cases (raise \
                     `handover check --max-regions N` to see them); remove it, or move it above them"
                        .into(),
                ),
            }
        } else if d.shadowed_by.is_empty() {
            PolicyDiagnostic {
                severity: Severity::Warning,
                code: "check::dead-rule",
                message: format!("rule `{}` can never match: its condition is never true", id(d.rule)),
                labels: vec![(span(d.rule), "never matches".into())],
                help: Some(
                    "its conditions contradict each other, the declared values, or what a fact can hold \
                     (dates 0000-01-01 to 9999-12-31, 64-bit integers); fix or remove it"
                        .into(),
                ),
            }
        } else {
            let mut names: Vec<String> = d.shadowed_by.iter().take(5).map(|r| format!("`{}`", id(*r))).collect();
            if d.shadowed_by.len() > 5 {
                names.push(format!("{} more", d.shadowed_by.len() - 5));
            }
            PolicyDiagnostic {
                severity: Severity::Warning,
                code: "check::dead-rule",
                message: format!(
                    "rule `{}` can never decide: {} before it {} every case it matches",
                    id(d.rule),
                    names.join(", "),
                    if d.shadowed_by.len() == 1 { "catches" } else { "catch" }
                ),
                labels: vec![(span(d.rule), "never decides".into())],
                help: Some("remove it, or move it above the rules that catch its cases".into()),
            }
        };
        // Where the catching rules are, in words: labels far apart would render the whole file between them.
        if !d.shadowed_by.is_empty() && d.all_found {
            let places: Vec<String> = d
                .shadowed_by
                .iter()
                .take(5)
                .map(|r| {
                    let s = span(*r);
                    let (line, _) = policy.sources().line_col(s.file, s.start);
                    let file = policy.sources().get(s.file).map_or("?", |f| f.name.as_str());
                    format!("`{}` at {file}:{line}", id(*r))
                })
                .collect();
            diag.help =
                Some(format!("remove it, or move it above the rules that catch its cases ({})", places.join(", ")));
        }
        out.push(diag);
    }
    // Overlaps, one note per deciding rule: usually a guard placed first on purpose.
    let mut firsts: Vec<usize> = a.overlaps.iter().map(|o| o.first).collect();
    firsts.sort_unstable();
    firsts.dedup();
    for first in firsts {
        let group: Vec<&Overlap> = a.overlaps.iter().filter(|o| o.first == first).collect();
        let names: Vec<String> = group.iter().map(|o| format!("`{}`", id(o.second))).collect();
        let Some(example) = group.first() else { continue };
        out.push(PolicyDiagnostic {
            severity: Severity::Advice,
            code: "check::overlap",
            message: format!(
                "rule `{}` can match the same facts as {} later rule(s) with other actions, and decides them: {}",
                id(first),
                names.len(),
                names.join(", ")
            ),
            labels: vec![(span(first), "decides first".into())],
            help: Some(format!(
                "the first matching rule decides; if that is intended, nothing to do. For example, with `{}`:\n{}",
                id(example.second),
                example.witness.to_document(schema).trim_end()
            )),
        });
    }
    // A read named in the rule's `requires` clause is intended: nothing to advise.
    let intended = |r: &AbsentRead| rules.get(r.rule).is_some_and(|x| x.requires.contains(&r.field));
    for r in a.absent_reads.iter().filter(|r| !intended(r)) {
        let path = schema.fields.get(r.field).map_or("?", |f| f.path.as_str());
        out.push(PolicyDiagnostic {
            severity: Severity::Advice,
            code: "check::absent-read",
            message: format!("rule `{}` reads `{path}`, which can be absent here; such entries are errors", id(r.rule)),
            labels: vec![(span(r.rule), format!("reads `{path}`"))],
            help: Some(format!(
                "if that is not intended, test `present({path})` first; if it is, say so with `requires {path}` \
                 at the start of the rule; for example:\n{}",
                r.witness.to_document(schema).trim_end()
            )),
        });
    }
    if !a.exhaustive {
        out.push(PolicyDiagnostic {
            severity: Severity::Warning,
            code: "check::incomplete",
            message: format!("the analysis stopped after {} regions; its results are partial", a.budget),
            labels: vec![],
            help: Some(
                "raise the budget (`handover check --max-regions N`), or split the policy's conditions into \
                 fewer independent tests"
                    .into(),
            ),
        });
    }
    out
}
