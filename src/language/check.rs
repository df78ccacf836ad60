//! AST → checked policy: resolves every name, types every expression, and reports all problems
//! at once (unknown facts, types, actions and enum values; mismatched types; duplicate ids;
//! missing, extra and mistyped action parameters).
//!
//! The output ([`Checked`]) has names resolved to ids and literals to typed values; the compiler
//! turns it into the evaluation form.

use std::collections::HashMap;

use crate::diagnostic::{PolicyDiagnostic, Severity, did_you_mean};
use crate::language::ast::{self, ArithOp, CmpOp, ExprKind, Span};
use crate::language::schema::*;
use crate::value::{Date, Value};

/// The name every policy can use for the evaluation date.
pub const AS_OF: &str = "as_of";

/// A typed, resolved expression.
#[derive(Clone, Debug, PartialEq)]
pub enum TExpr {
    Const(Value),
    Fact(FieldId),
    AsOf,
    Present(FieldId),
    Not(Box<TExpr>),
    And(Vec<TExpr>),
    Or(Vec<TExpr>),
    /// Both operands have the given type.
    Compare(CmpOp, Box<TExpr>, Box<TExpr>),
    In {
        negated: bool,
        value: Box<TExpr>,
        set: Vec<TExpr>,
    },
    /// Integer or day arithmetic; dates are days, so `date - date` is a number of days.
    Arith(ArithOp, Box<TExpr>, Box<TExpr>, Type),
}

#[derive(Clone, Debug)]
pub struct CheckedRule {
    pub id: String,
    pub when: Option<TExpr>,
    pub action: usize,
    /// One expression per parameter of the action, in declaration order.
    pub args: Vec<TExpr>,
    pub reason: String,
    pub source: Option<String>,
    pub span: Span,
    /// Where the rule's id is written.
    pub id_span: Span,
    /// The spans of the condition's top-level `and` operands (one span when it is not an `and`),
    /// in the order of the operands of `when`.
    pub conjunct_spans: Vec<Span>,
    /// The facts named in its `requires` clause: optional facts it reads on purpose.
    pub requires: Vec<FieldId>,
    /// The days the rule is in force (its own period within its block's). When bounded, `when`
    /// starts with the condition on `as_of` it means, and `conjunct_spans` with its span.
    pub period: crate::language::period::Period,
}

/// A policy whose names and types are all known to be right.
#[derive(Clone, Debug)]
pub struct Checked {
    pub schema: Schema,
    pub rules: Vec<CheckedRule>,
    /// Warnings found along the way (no errors: those prevent a `Checked`).
    pub warnings: Vec<PolicyDiagnostic>,
}

/// Checks a whole policy. On failure returns every diagnostic found, errors and warnings.
pub fn check(policy: &ast::Policy) -> Result<Checked, Vec<PolicyDiagnostic>> {
    let mut cx = Cx { schema: Schema::default(), diags: Vec::new(), poisoned: Vec::new() };
    cx.enums(&policy.enums);
    cx.groups(&policy.groups);
    cx.output_keys(&policy.groups);
    cx.actions(&policy.actions);
    let rules = cx.rules(&policy.rules);
    if policy.rules.is_empty() {
        cx.err(no_rules(policy));
    }
    if cx.diags.iter().any(|d| d.severity == Severity::Error) {
        cx.diags.sort_by_key(|d| d.span().map(|s| (s.file, s.start)));
        return Err(cx.diags);
    }
    Ok(Checked { schema: cx.schema, rules, warnings: cx.diags })
}

struct Cx {
    schema: Schema,
    diags: Vec<PolicyDiagnostic>,
    /// Facts (`group.field`) and action parameters (`action.param`) that are declared but whose
    /// declaration has an error already reported: uses of them are not reported again.
    poisoned: Vec<String>,
}

/// The code of the error a rule whose period holds no day gets (it ends before it starts).
pub const EMPTY_PERIOD: &str = "check::empty-period";

/// The code of the error a policy without rules gets.
pub const NO_RULES: &str = "check::no-rules";

/// A policy without a single rule decides nothing: every entry would fail as a policy gap, so
/// it is refused instead of loaded. It has no place to point at (the text may be empty), so it
/// has no label; it says what the policy holds.
fn no_rules(policy: &ast::Policy) -> PolicyDiagnostic {
    let counts = [(policy.enums.len(), "enum"), (policy.groups.len(), "fact group"), (policy.actions.len(), "action")];
    let held: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    let holds = if held.is_empty() { "nothing (no declarations)".to_string() } else { held.join(", ") };
    PolicyDiagnostic {
        severity: Severity::Error,
        code: NO_RULES,
        message: format!("the policy has no rules, so it cannot decide any entry; it holds {holds}"),
        labels: Vec::new(),
        help: Some(
            "add at least one `rule` (the last one without `when` catches every entry no other rule decides); \
             is the right file or folder given?"
                .to_string(),
        ),
    }
}

fn dup(code: &'static str, what: &str, name: &ast::Ident, first: Span) -> PolicyDiagnostic {
    PolicyDiagnostic::error(code, format!("{what} `{}` is declared twice", name.node), name.span, "declared again here")
        .with_label(first, "first declared here")
        .with_help(format!("rename or remove one of the two; {what} names must be unique"))
}

impl Cx {
    fn err(&mut self, d: PolicyDiagnostic) {
        self.diags.push(d);
    }

    fn enums(&mut self, enums: &[ast::EnumDecl]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for e in enums {
            if let Some(first) = seen.get(e.name.node.as_str()) {
                self.err(dup("check::duplicate-enum", "enum", &e.name, *first));
                continue;
            }
            if is_builtin_type(&e.name.node) {
                self.err(
                    PolicyDiagnostic::error(
                        "check::reserved-name",
                        format!("`{}` is a built-in type and cannot name an enum", e.name.node),
                        e.name.span,
                        "reserved",
                    )
                    .with_help("choose another name"),
                );
                continue;
            }
            seen.insert(&e.name.node, e.name.span);
            let mut values_seen: HashMap<&str, Span> = HashMap::new();
            let mut def = EnumDef { name: e.name.node.clone(), values: vec![], descriptions: vec![] };
            for v in &e.values {
                if let Some(first) = values_seen.get(v.name.node.as_str()) {
                    self.err(dup("check::duplicate-enum-value", "enum value", &v.name, *first));
                    continue;
                }
                values_seen.insert(&v.name.node, v.name.span);
                def.values.push(v.name.node.clone());
                def.descriptions.push(v.description.clone());
            }
            if def.values.is_empty() {
                self.err(
                    PolicyDiagnostic::error(
                        "check::empty-enum",
                        format!("enum `{}` has no values", e.name.node),
                        e.span,
                        "empty",
                    )
                    .with_help("list at least one value: `enum Name { a, b }`"),
                );
            }
            if def.values.len() > usize::from(u16::MAX) {
                self.err(PolicyDiagnostic::error(
                    "check::enum-too-large",
                    format!("enum `{}` has more than {} values", e.name.node, u16::MAX),
                    e.span,
                    "too many values",
                ));
                continue;
            }
            self.schema.enums.push(def);
        }
    }

    fn resolve_type(&mut self, ty: &ast::Ident) -> Option<Type> {
        let t = match ty.node.as_str() {
            "bool" => Type::Bool,
            "int" => Type::Int,
            "date" => Type::Date,
            "text" => Type::Text,
            name => match self.schema.enums.iter().position(|e| e.name == name) {
                Some(i) => Type::Enum(i),
                None => {
                    let names: Vec<&str> = ["bool", "int", "date", "text"]
                        .into_iter()
                        .chain(self.schema.enums.iter().map(|e| e.name.as_str()))
                        .collect();
                    let mut d = PolicyDiagnostic::error(
                        "check::unknown-type",
                        format!("unknown type `{name}`"),
                        ty.span,
                        "not a type",
                    );
                    d = match did_you_mean(name, names.iter().copied()) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_help(format!("the types are {}", list(&names))),
                    };
                    self.err(d);
                    return None;
                }
            },
        };
        Some(t)
    }

    fn groups(&mut self, groups: &[ast::GroupDecl]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut item_group_span: Option<Span> = None;
        let mut label_span: Option<Span> = None;
        let mut key_span: Option<Span> = None;
        for g in groups {
            if let Some(first) = seen.get(g.name.node.as_str()) {
                self.err(dup("check::duplicate-group", "fact group", &g.name, *first));
                self.poisoned.extend(g.fields.iter().map(|f| format!("{}.{}", g.name.node, f.name.node)));
                continue;
            }
            if g.name.node == AS_OF {
                self.err(PolicyDiagnostic::error(
                    "check::reserved-name",
                    "`as_of` is the evaluation date and cannot name a fact group",
                    g.name.span,
                    "reserved",
                ));
                continue;
            }
            seen.insert(&g.name.node, g.name.span);
            let group_index = self.schema.groups.len();
            let scope = if let Some(list) = &g.list {
                if let Some(first) = item_group_span {
                    self.err(
                        PolicyDiagnostic::error(
                            "check::several-each",
                            "a policy can have only one `each` group",
                            g.name.span,
                            "second `each` group",
                        )
                        .with_label(first, "the first one")
                        .with_help("declare the other group with `facts` instead"),
                    );
                    continue;
                }
                if list.node == AS_OF || groups.iter().any(|o| o.name.node == list.node) {
                    self.err(PolicyDiagnostic::error(
                        "check::list-name-taken",
                        format!("the list key `{}` is already the name of a fact group or of `as_of`", list.node),
                        list.span,
                        "name taken",
                    ));
                }
                item_group_span = Some(g.name.span);
                self.schema.item_group = Some(group_index);
                Scope::Item
            } else {
                Scope::Document
            };
            let mut field_ids = Vec::new();
            let mut field_seen: HashMap<&str, Span> = HashMap::new();
            for f in &g.fields {
                if let Some(first) = field_seen.get(f.name.node.as_str()) {
                    self.err(dup("check::duplicate-fact", "fact", &f.name, *first));
                    continue;
                }
                field_seen.insert(&f.name.node, f.name.span);
                let path = format!("{}.{}", g.name.node, f.name.node);
                let Some(ty) = self.resolve_type(&f.ty) else {
                    self.poisoned.push(path);
                    continue;
                };
                let default = match &f.default {
                    None => None,
                    Some(expr) => {
                        if f.optional {
                            self.err(
                                PolicyDiagnostic::error(
                                    "check::optional-with-default",
                                    format!("fact `{path}` is optional and also has a default"),
                                    expr.span,
                                    "default",
                                )
                                .with_help("a fact with a default is never absent: drop the `?` or the default"),
                            );
                        }
                        self.constant(expr, ty)
                    }
                };
                for a in &f.annotations {
                    let slot = match a.node.as_str() {
                        "label" => Some((&mut label_span, Scope::Document, "label")),
                        "key" => Some((&mut key_span, Scope::Item, "key")),
                        _ => None,
                    };
                    let Some((seen_span, want_scope, what)) = slot else {
                        let help = match did_you_mean(&a.node, ["label", "key"]) {
                            Some(s) => format!("did you mean `@{s}`?"),
                            None => "the annotations are `@label` (names a document in output) and `@key` (identifies each entry)".into(),
                        };
                        self.err(
                            PolicyDiagnostic::error(
                                "check::unknown-annotation",
                                format!("unknown annotation `@{}`", a.node),
                                a.span,
                                "not an annotation",
                            )
                            .with_help(help),
                        );
                        continue;
                    };
                    if let Some(first) = *seen_span {
                        self.diags.push(
                            PolicyDiagnostic::error(
                                "check::duplicate-annotation",
                                format!("only one fact can be marked `@{what}`"),
                                a.span,
                                "second one",
                            )
                            .with_label(first, "first one"),
                        );
                        continue;
                    }
                    *seen_span = Some(a.span);
                    if ty != Type::Text || scope != want_scope {
                        let where_ = if want_scope == Scope::Item { "an `each` group" } else { "a `facts` group" };
                        self.diags.push(PolicyDiagnostic::error(
                            "check::bad-annotation",
                            format!("`@{what}` must mark a `text` fact in {where_}"),
                            a.span,
                            "not allowed here",
                        ));
                        continue;
                    }
                    let id = self.schema.fields.len();
                    if what == "label" {
                        self.schema.label = Some(id);
                    } else {
                        self.schema.key = Some(id);
                    }
                }
                let index = match scope {
                    Scope::Document => &mut self.schema.document_slots,
                    Scope::Item => &mut self.schema.item_slots,
                };
                let slot = Slot { scope, index: *index };
                *index += 1;
                field_ids.push(self.schema.fields.len());
                self.schema.fields.push(FieldDef {
                    path,
                    name: f.name.node.clone(),
                    group: group_index,
                    ty,
                    optional: f.optional,
                    default,
                    description: f.description.clone(),
                    slot,
                });
            }
            self.schema.groups.push(GroupDef {
                name: g.name.node.clone(),
                list: g.list.as_ref().map(|l| l.node.clone()),
                fields: field_ids,
            });
        }
    }

    /// The groups that name output keys (the `@label` fact's and the `each` group) are not named
    /// like a fixed key of the output record, nor like each other's fallback name: otherwise a
    /// record would hold the key twice, and a group named `error` would make every verdict look
    /// like a failure.
    fn output_keys(&mut self, groups: &[ast::GroupDecl]) {
        let (label_key, key_name) = self.schema.output_keys();
        let roles = [
            (
                self.schema.label.is_some(),
                label_key,
                "holds the `@label` fact",
                "the key an entry is written under, as the policy has no `each` group",
            ),
            (
                self.schema.item_group.is_some(),
                key_name,
                "is the `each` group",
                "the key the label is written under, as the policy marks no fact `@label`",
            ),
        ];
        let mut problems = Vec::new();
        for (real, name, role, fallback) in roles {
            let Some(span) = groups.iter().find(|g| g.name.node == name).map(|g| g.name.span).filter(|_| real) else {
                continue;
            };
            let taken = if RECORD_KEYS.contains(&name) {
                "a fixed key of every record".to_string()
            } else if label_key == key_name {
                fallback.to_string()
            } else {
                continue;
            };
            problems.push(PolicyDiagnostic::error(
                "check::output-key-taken",
                format!("fact group `{name}` names a key of every output record (it {role}), and `{name}` is already {taken}"),
                span,
                "names an output key",
            ));
        }
        let keys = RECORD_KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        for d in problems {
            self.err(d.with_help(format!(
                "rename the group; an output record has the keys {keys}, the name of the group holding the `@label` fact (or `label`) and the name of the `each` group (or `entry`)"
            )));
        }
    }

    /// A literal (or enum value) of the given type, for defaults.
    fn constant(&mut self, expr: &ast::Expr, ty: Type) -> Option<Value> {
        let t = self.expr(expr, Some(ty))?;
        match t {
            (TExpr::Const(v), got) if got == ty => Some(v),
            (_, got) if got != ty => {
                let d = self.mismatch(expr.span, ty, got);
                self.err(d);
                None
            }
            _ => {
                self.err(PolicyDiagnostic::error(
                    "check::not-constant",
                    "a default must be a literal value",
                    expr.span,
                    "not a literal",
                ));
                None
            }
        }
    }

    fn actions(&mut self, actions: &[ast::ActionDecl]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for a in actions {
            if let Some(first) = seen.get(a.name.node.as_str()) {
                self.err(dup("check::duplicate-action", "action", &a.name, *first));
                continue;
            }
            seen.insert(&a.name.node, a.name.span);
            let mut params = Vec::new();
            let mut pseen: HashMap<&str, Span> = HashMap::new();
            for p in &a.params {
                if let Some(first) = pseen.get(p.name.node.as_str()) {
                    self.err(dup("check::duplicate-parameter", "parameter", &p.name, *first));
                    continue;
                }
                pseen.insert(&p.name.node, p.name.span);
                match self.resolve_type(&p.ty) {
                    Some(ty) => params.push((p.name.node.clone(), ty)),
                    None => self.poisoned.push(format!("{}.{}", a.name.node, p.name.node)),
                }
            }
            self.schema.actions.push(ActionDef {
                name: a.name.node.clone(),
                params,
                description: a.description.clone(),
            });
        }
    }

    fn rules(&mut self, rules: &[ast::RuleDecl]) -> Vec<CheckedRule> {
        let mut out = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for r in rules {
            if let Some(first) = seen.get(r.id.node.as_str()) {
                self.err(dup("check::duplicate-rule", "rule", &r.id, *first));
            } else {
                seen.insert(&r.id.node, r.id.span);
            }
            // `Some(None)`: no condition; `None`: a condition with errors (already reported).
            let when = match &r.when {
                None => Some(None),
                Some(w) => self.condition(w).map(Some),
            };
            let Some(action) = self.schema.actions.iter().position(|a| a.name == r.action.node) else {
                let mut d = PolicyDiagnostic::error(
                    "check::unknown-action",
                    format!("unknown action `{}`", r.action.node),
                    r.action.span,
                    "no such action",
                );
                if let Some(s) = did_you_mean(&r.action.node, self.schema.actions.iter().map(|a| a.name.as_str())) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                } else {
                    d = d.with_help("declare it with `action NAME(param: type, ...) \"description\"`");
                }
                self.err(d);
                // Still type the arguments, so their own mistakes are reported too.
                for a in &r.args {
                    self.expr(&a.value, None);
                }
                continue;
            };
            let args = self.arguments(r, action);
            let (Some(when), Some(args)) = (when, args) else {
                // Still resolve the `requires` facts, so their own mistakes are reported too.
                for f in &r.requires {
                    self.lookup_fact(&f.node, f.span);
                }
                continue;
            };
            let requires = self.requires(r, when.as_ref(), &args);
            let Some((period, period_span)) = self.period(r) else { continue };
            let mut conjunct_spans = match &r.when {
                Some(ast::Node { node: ExprKind::And(parts), .. }) => parts.iter().map(|p| p.span).collect(),
                Some(w) => vec![w.span],
                None => vec![],
            };
            // The period is one more condition, tried first: a rule out of force reads no fact.
            let when = match (period.condition(), when) {
                (None, when) => when,
                // Kept one condition (a period with both bounds is itself an `and`).
                (Some(p), None) => Some(TExpr::And(vec![p])),
                (Some(p), Some(TExpr::And(parts))) => Some(TExpr::And(std::iter::once(p).chain(parts).collect())),
                (Some(p), Some(w)) => Some(TExpr::And(vec![p, w])),
            };
            if let Some(span) = period_span.filter(|_| !period.is_always()) {
                conjunct_spans.insert(0, span);
            }
            out.push(CheckedRule {
                id: r.id.node.clone(),
                when,
                action,
                args,
                reason: r.reason.clone(),
                source: r.source.clone(),
                span: r.span,
                id_span: r.id.span,
                conjunct_spans,
                requires,
                period,
            });
        }
        out
    }

    /// The rule's period (its own within its block's) and where it is written; `None` when it
    /// holds on no day, which is reported.
    fn period(&mut self, r: &ast::RuleDecl) -> Option<(crate::language::period::Period, Option<Span>)> {
        use crate::language::period::Period;
        let of = |p: &ast::PeriodDecl| Period {
            from: p.from.as_ref().map(|d| Date::from_naive(d.node)),
            until: p.until.as_ref().map(|d| Date::from_naive(d.node)),
        };
        let own = r.period.as_ref().map(of).unwrap_or_default();
        let block = r.block.as_ref().map(of).unwrap_or_default();
        let period = block.intersect(own);
        let span = r.period.as_ref().or(r.block.as_ref()).map(|p| p.span);
        if !period.is_empty() {
            return Some((period, span));
        }
        let (from, until) = (period.from.map(|d| d.to_string()), period.until.map(|d| d.to_string()));
        let (from, until) = (from.unwrap_or_default(), until.unwrap_or_default());
        let mut d = PolicyDiagnostic::error(
            EMPTY_PERIOD,
            format!(
                "rule `{}` is never in force: it would hold from {from} until {until}, which ends before it starts",
                r.id.node
            ),
            r.period.as_ref().or(r.block.as_ref()).map_or(r.id.span, |p| p.span),
            "no day is in this period",
        );
        match (&r.period, &r.block) {
            (Some(_), Some(b)) => {
                d = d.with_label(b.span, "within the period of this block").with_help(
                    "a rule in an `in force` block holds only on days in both periods; move the rule out of the \
                     block or correct one of the dates",
                );
            }
            _ => {
                d = d.with_help(
                    "`in force from A until B` holds from day A to day B, both included, so B must not be before \
                     A; swap the dates or correct one",
                );
            }
        }
        self.err(d);
        None
    }

    /// Resolves a rule's `requires` facts. Each must be an optional fact (one that can be absent)
    /// that the rule reads; anything else is reported, since the clause would then say nothing.
    fn requires(&mut self, r: &ast::RuleDecl, when: Option<&TExpr>, args: &[TExpr]) -> Vec<FieldId> {
        let mut out = Vec::new();
        for f in &r.requires {
            let Some(id) = self.lookup_fact(&f.node, f.span) else { continue };
            let Some(field) = self.schema.fields.get(id) else { continue };
            let path = field.path.clone();
            if out.contains(&id) {
                self.diags.push(PolicyDiagnostic {
                    severity: Severity::Warning,
                    code: "check::requires-duplicate",
                    message: format!("rule `{}` requires `{path}` twice", r.id.node),
                    labels: vec![(f.span, "named again".into())],
                    help: Some("name each fact once".into()),
                });
                continue;
            }
            if !field.optional {
                self.diags.push(PolicyDiagnostic {
                    severity: Severity::Warning,
                    code: "check::requires-always-present",
                    message: format!("fact `{path}` is never absent, so `requires` says nothing about it"),
                    labels: vec![(f.span, "never absent".into())],
                    help: Some(
                        "`requires` is for facts declared with `?` (optional) that a rule reads on purpose; \
                         drop it from the clause"
                            .into(),
                    ),
                });
            } else if !when.is_some_and(|w| reads(w, id)) && !args.iter().any(|a| reads(a, id)) {
                self.diags.push(PolicyDiagnostic {
                    severity: Severity::Warning,
                    code: "check::requires-unread",
                    message: format!("rule `{}` requires `{path}` but never reads it", r.id.node),
                    labels: vec![(f.span, "not read by this rule".into())],
                    help: Some(
                        "`requires` marks an optional fact the rule reads on purpose, so that an entry without \
                         it is an error there; drop it from the clause"
                            .into(),
                    ),
                });
            }
            out.push(id);
        }
        out
    }

    fn arguments(&mut self, r: &ast::RuleDecl, action: usize) -> Option<Vec<TExpr>> {
        let params = self.schema.actions.get(action).map(|a| a.params.clone()).unwrap_or_default();
        let action_name = r.action.node.clone();
        let mut slots: Vec<Option<TExpr>> = vec![None; params.len()];
        let mut ok = true;
        let mut given: HashMap<&str, Span> = HashMap::new();
        let mut misspelled: Vec<String> = Vec::new();
        for a in &r.args {
            if let Some(first) = given.get(a.name.node.as_str()) {
                self.err(
                    PolicyDiagnostic::error(
                        "check::duplicate-argument",
                        format!("parameter `{}` is given twice", a.name.node),
                        a.name.span,
                        "given again here",
                    )
                    .with_label(*first, "first given here"),
                );
                ok = false;
                continue;
            }
            given.insert(&a.name.node, a.name.span);
            if self.poisoned.contains(&format!("{action_name}.{}", a.name.node)) {
                ok = false;
                continue;
            }
            let Some(index) = params.iter().position(|(n, _)| *n == a.name.node) else {
                if let Some(s) = did_you_mean(&a.name.node, params.iter().map(|(n, _)| n.as_str())) {
                    // Reported here as a misspelling, not again as a missing parameter.
                    misspelled.push(s.to_string());
                }
                let mut d = PolicyDiagnostic::error(
                    "check::unknown-parameter",
                    format!("action `{action_name}` has no parameter `{}`", a.name.node),
                    a.name.span,
                    "unknown parameter",
                );
                d = match did_you_mean(&a.name.node, params.iter().map(|(n, _)| n.as_str())) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None if params.is_empty() => d.with_help(format!("`{action_name}` takes no parameters")),
                    None => d.with_help(format!(
                        "its parameters are {}",
                        list(&params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
                    )),
                };
                self.err(d);
                self.expr(&a.value, None);
                ok = false;
                continue;
            };
            let Some((_, want)) = params.get(index).cloned() else { continue };
            match self.expr(&a.value, Some(want)) {
                Some((e, got)) if got == want => {
                    if let Some(slot) = slots.get_mut(index) {
                        *slot = Some(e);
                    }
                }
                Some((_, got)) => {
                    let d = self.mismatch(a.value.span, want, got).with_help(format!(
                        "parameter `{}` of `{action_name}` is declared as `{}`",
                        a.name.node,
                        self.schema.type_name(want)
                    ));
                    self.err(d);
                    ok = false;
                }
                None => ok = false,
            }
        }
        let missing: Vec<&str> = params
            .iter()
            .zip(&slots)
            .filter(|(_, s)| s.is_none())
            .map(|((n, _), _)| n.as_str())
            .filter(|n| !given.contains_key(n))
            .filter(|n| !misspelled.iter().any(|m| m == n))
            .filter(|n| !self.poisoned.contains(&format!("{action_name}.{n}")))
            .collect();
        if !missing.is_empty() {
            let plural = if missing.len() == 1 { "parameter" } else { "parameters" };
            let example: Vec<String> = missing.iter().map(|n| format!("{n}: ...")).collect();
            self.err(
                PolicyDiagnostic::error(
                    "check::missing-parameter",
                    format!("action `{action_name}` needs {plural} {}", list(&missing)),
                    r.then_span,
                    format!("missing {}", list(&missing)),
                )
                .with_help(format!(
                    "add {}: `{action_name}({}{})`",
                    if missing.len() == 1 { "it" } else { "them" },
                    if r.args.is_empty() { "" } else { "..., " },
                    example.join(", ")
                )),
            );
            ok = false;
        }
        if ok { slots.into_iter().collect() } else { None }
    }

    fn mismatch(&self, span: Span, want: Type, got: Type) -> PolicyDiagnostic {
        PolicyDiagnostic::error(
            "check::type-mismatch",
            format!(
                "expected a value of type `{}`, found `{}`",
                self.schema.type_name(want),
                self.schema.type_name(got)
            ),
            span,
            format!("this is `{}`", self.schema.type_name(got)),
        )
    }

    /// A `when` condition: must be `bool`.
    fn condition(&mut self, e: &ast::Expr) -> Option<TExpr> {
        let (t, ty) = self.expr(e, Some(Type::Bool))?;
        if ty != Type::Bool {
            let d = self
                .mismatch(e.span, Type::Bool, ty)
                .with_help("a condition must be true or false; compare the value with something");
            self.err(d);
            return None;
        }
        Some(t)
    }

    fn lookup_fact(&mut self, path: &[ast::Ident], span: Span) -> Option<FieldId> {
        let text = ast::path_text(path);
        if let Some(id) = self.schema.field_by_path(&text) {
            return Some(id);
        }
        if self.poisoned.contains(&text) {
            return None;
        }
        let mut d =
            PolicyDiagnostic::error("check::unknown-fact", format!("unknown fact `{text}`"), span, "not declared");
        let paths: Vec<&str> = self.schema.fields.iter().map(|f| f.path.as_str()).collect();
        d = match did_you_mean(&text, paths.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help("facts are declared in `facts` and `each` groups and named `group.field`"),
        };
        self.err(d);
        None
    }

    /// Types an expression. `expect` is the type the context wants, used only to resolve bare
    /// enum values; callers compare the returned type themselves.
    fn expr(&mut self, e: &ast::Expr, expect: Option<Type>) -> Option<(TExpr, Type)> {
        match &e.node {
            ExprKind::Bool(b) => Some((TExpr::Const(Value::Bool(*b)), Type::Bool)),
            ExprKind::Int(n) => Some((TExpr::Const(Value::Int(*n)), Type::Int)),
            ExprKind::Date(d) => Some((TExpr::Const(Value::Date(Date::from_naive(*d))), Type::Date)),
            ExprKind::Text(s) => Some((TExpr::Const(Value::Text(s.as_str().into())), Type::Text)),
            ExprKind::Name(path) => self.name(path, e.span, expect),
            ExprKind::Present(path) => {
                let id = self.lookup_fact(path, e.span)?;
                if let Some(f) = self.schema.fields.get(id).filter(|f| !f.optional) {
                    let d = PolicyDiagnostic {
                        severity: Severity::Warning,
                        code: "check::always-present",
                        message: format!("fact `{}` is never absent, so this test is always true", f.path),
                        labels: vec![(e.span, "always true".into())],
                        help: Some("only facts declared with `?` can be absent".into()),
                    };
                    self.diags.push(d);
                }
                Some((TExpr::Present(id), Type::Bool))
            }
            ExprKind::Not(inner) => {
                let t = self.bool_operand(inner)?;
                Some((TExpr::Not(Box::new(t)), Type::Bool))
            }
            ExprKind::And(parts) | ExprKind::Or(parts) => {
                let typed: Vec<Option<TExpr>> = parts.iter().map(|p| self.bool_operand(p)).collect();
                let typed: Vec<TExpr> = typed.into_iter().collect::<Option<_>>()?;
                Some((
                    if matches!(e.node, ExprKind::And(_)) { TExpr::And(typed) } else { TExpr::Or(typed) },
                    Type::Bool,
                ))
            }
            ExprKind::Compare(op, l, r) => {
                let (lt, rt) = self.pair(l, r)?;
                let ty = self.same_type(&lt, &rt, l.span.to(r.span), e.span)?;
                if !matches!(op, CmpOp::Eq | CmpOp::Ne) && !matches!(ty, Type::Int | Type::Date) {
                    self.err(
                        PolicyDiagnostic::error(
                            "check::not-ordered",
                            format!("`{}` compares numbers or dates, not `{}`", op.symbol(), self.schema.type_name(ty)),
                            e.span,
                            "cannot order these",
                        )
                        .with_help("use `==`, `!=` or `in [...]` for this type"),
                    );
                    return None;
                }
                Some((TExpr::Compare(*op, Box::new(lt.0), Box::new(rt.0)), Type::Bool))
            }
            ExprKind::In { negated, value, set } => {
                let (v, vty) = self.expr(value, None)?;
                let mut items = Vec::new();
                let mut ok = true;
                for item in set {
                    match self.expr(item, Some(vty)) {
                        Some((t, ty)) if ty == vty => items.push(t),
                        Some((_, ty)) => {
                            let d = self
                                .mismatch(item.span, vty, ty)
                                .with_help(format!("every member must have the type of `{}`", snippet_of(value)));
                            self.err(d);
                            ok = false;
                        }
                        None => ok = false,
                    }
                }
                ok.then(|| (TExpr::In { negated: *negated, value: Box::new(v), set: items }, Type::Bool))
            }
            ExprKind::Arith(op, l, r) => {
                let ((lt, lty), (rt, rty)) = self.pair(l, r)?;
                let ty = match (op, lty, rty) {
                    (_, Type::Int, Type::Int) => Type::Int,
                    (ArithOp::Sub, Type::Date, Type::Date) => Type::Int,
                    (_, Type::Date, Type::Int) => Type::Date,
                    (ArithOp::Add, Type::Int, Type::Date) => Type::Date,
                    _ => {
                        let sym = if *op == ArithOp::Add { "+" } else { "-" };
                        self.err(
                            PolicyDiagnostic::error(
                                "check::bad-arithmetic",
                                format!(
                                    "cannot compute `{}` {sym} `{}`",
                                    self.schema.type_name(lty),
                                    self.schema.type_name(rty)
                                ),
                                e.span,
                                "unsupported operands",
                            )
                            .with_help(
                                "arithmetic works on `int`s and on dates: date - date (days), date ± int, int ± int",
                            ),
                        );
                        return None;
                    }
                };
                Some((TExpr::Arith(*op, Box::new(lt), Box::new(rt), ty), ty))
            }
        }
    }

    fn bool_operand(&mut self, e: &ast::Expr) -> Option<TExpr> {
        let (t, ty) = self.expr(e, Some(Type::Bool))?;
        if ty != Type::Bool {
            let d = self.mismatch(e.span, Type::Bool, ty);
            self.err(d);
            return None;
        }
        Some(t)
    }

    /// Types two operands, letting a bare enum value on one side take the other side's type.
    fn pair(&mut self, l: &ast::Expr, r: &ast::Expr) -> Option<((TExpr, Type), (TExpr, Type))> {
        if is_bare_name(l) && !is_bare_name(r) {
            let rt = self.expr(r, None)?;
            let lt = self.expr(l, Some(rt.1))?;
            Some((lt, rt))
        } else {
            let lt = self.expr(l, None);
            if lt.is_none() && is_bare_name(r) {
                // Its type depended on the left side, which is already reported.
                return None;
            }
            let rt = self.expr(r, lt.as_ref().map(|t| t.1));
            Some((lt?, rt?))
        }
    }

    fn same_type(&mut self, l: &(TExpr, Type), r: &(TExpr, Type), _both: Span, whole: Span) -> Option<Type> {
        if l.1 == r.1 {
            return Some(l.1);
        }
        self.err(
            PolicyDiagnostic::error(
                "check::type-mismatch",
                format!("cannot compare `{}` with `{}`", self.schema.type_name(l.1), self.schema.type_name(r.1)),
                whole,
                "different types",
            )
            .with_help("both sides of a comparison must have the same type"),
        );
        None
    }

    fn name(&mut self, path: &[ast::Ident], span: Span, expect: Option<Type>) -> Option<(TExpr, Type)> {
        match path {
            [single] if single.node == AS_OF => Some((TExpr::AsOf, Type::Date)),
            [single] => {
                let name = single.node.as_str();
                let Some(Type::Enum(e)) = expect else {
                    // A bare name outside an enum context: most likely a fact written without its group.
                    let mut d = PolicyDiagnostic::error(
                        "check::unknown-name",
                        format!("unknown name `{name}`"),
                        span,
                        "not a fact or a value here",
                    );
                    let candidates: Vec<&str> =
                        self.schema.fields.iter().filter(|f| f.name == name).map(|f| f.path.as_str()).collect();
                    d = if let Some(first) = candidates.first() {
                        d.with_help(format!("facts are named with their group: did you mean `{first}`?"))
                    } else {
                        d.with_help(
                            "a bare name is an enum value and needs an enum on the other side (`fact == value`); \
                             facts are written `group.field`; the evaluation date is `as_of`",
                        )
                    };
                    self.err(d);
                    return None;
                };
                let def = self.schema.enums.get(e)?;
                match def.values.iter().position(|v| v == name) {
                    Some(i) => Some((TExpr::Const(Value::Enum(u16::try_from(i).ok()?)), Type::Enum(e))),
                    None => {
                        let mut d = PolicyDiagnostic::error(
                            "check::unknown-enum-value",
                            format!("`{name}` is not a value of enum `{}`", def.name),
                            span,
                            format!("not a `{}`", def.name),
                        );
                        d = match did_you_mean(name, def.values.iter().map(String::as_str)) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None => d.with_help(format!(
                                "the values of `{}` are {}",
                                def.name,
                                list(&def.values.iter().map(String::as_str).collect::<Vec<_>>())
                            )),
                        };
                        self.err(d);
                        None
                    }
                }
            }
            _ => {
                let id = self.lookup_fact(path, span)?;
                let ty = self.schema.fields.get(id)?.ty;
                Some((TExpr::Fact(id), ty))
            }
        }
    }
}

/// Whether the expression reads the value of fact `id` (testing `present(...)` is not a read).
fn reads(e: &TExpr, id: FieldId) -> bool {
    match e {
        TExpr::Fact(f) => *f == id,
        TExpr::Const(_) | TExpr::AsOf | TExpr::Present(_) => false,
        TExpr::Not(inner) => reads(inner, id),
        TExpr::And(parts) | TExpr::Or(parts) => parts.iter().any(|p| reads(p, id)),
        TExpr::Compare(_, l, r) | TExpr::Arith(_, l, r, _) => reads(l, id) || reads(r, id),
        TExpr::In { value, set, .. } => reads(value, id) || set.iter().any(|s| reads(s, id)),
    }
}

fn is_bare_name(e: &ast::Expr) -> bool {
    matches!(&e.node, ExprKind::Name(p) if p.len() == 1 && p.first().is_some_and(|s| s.node != AS_OF))
}

fn snippet_of(e: &ast::Expr) -> String {
    match &e.node {
        ExprKind::Name(p) => ast::path_text(p),
        _ => "the value".into(),
    }
}

fn is_builtin_type(name: &str) -> bool {
    matches!(name, "bool" | "int" | "date" | "text")
}

/// `a`, `a` or `b`, `a`, `b` or `c` with backticks.
fn list<S: AsRef<str>>(items: &[S]) -> String {
    // A very long list (an enum of thousands of values) names its first items and counts the rest.
    const SHOWN: usize = 20;
    if items.len() > SHOWN {
        let quoted: Vec<String> = items.iter().take(SHOWN).map(|s| format!("`{}`", s.as_ref())).collect();
        return format!("{} and {} more", quoted.join(", "), items.len() - SHOWN);
    }
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// Kept in this file (not `language/period.rs`) only so the README's layout list stays whole; it
// is re-exported as `language::period`.
pub mod period {
    //! Dated rules: the days a rule is in force.
    //!
    //! A rule written `in force from A until B` (or inside such a block) holds on the days from `A`
    //! to `B`, both included. The checker turns the period into one more condition of the rule,
    //! `as_of >= A and as_of <= B`, put before the rule's own conditions: evaluation, the decision
    //! diagram, `check`'s analysis and witnesses see nothing but a condition on `as_of`. The period
    //! itself is kept beside the rule, so that explanations and tools can name it.

    use std::fmt;

    use crate::language::ast::CmpOp;
    use crate::language::check::TExpr;
    use crate::value::{Date, Value};

    /// The days a rule is in force; a bound that is `None` is open.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Period {
        /// First day in force.
        pub from: Option<Date>,
        /// Last day in force.
        pub until: Option<Date>,
    }

    impl Period {
        /// A rule without a period: in force on every day.
        pub const ALWAYS: Period = Period { from: None, until: None };

        /// Whether the period has no bound at all (a rule written without one).
        pub fn is_always(&self) -> bool {
            self.from.is_none() && self.until.is_none()
        }

        /// Whether the rule is in force on `day`.
        pub fn contains(&self, day: Date) -> bool {
            self.from.is_none_or(|f| f <= day) && self.until.is_none_or(|u| day <= u)
        }

        /// Whether no day is in it (it ends before it starts).
        pub fn is_empty(&self) -> bool {
            matches!((self.from, self.until), (Some(f), Some(u)) if u < f)
        }

        /// The days in both: a rule's own period inside its block's.
        pub fn intersect(self, other: Period) -> Period {
            let from = match (self.from, other.from) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            let until = match (self.until, other.until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Period { from, until }
        }

        /// The condition on `as_of` the period means; `None` for a rule in force on every day.
        pub(crate) fn condition(&self) -> Option<TExpr> {
            let bound =
                |op: CmpOp, d: Date| TExpr::Compare(op, Box::new(TExpr::AsOf), Box::new(TExpr::Const(Value::Date(d))));
            let mut parts: Vec<TExpr> = Vec::new();
            if let Some(f) = self.from {
                parts.push(bound(CmpOp::Ge, f));
            }
            if let Some(u) = self.until {
                parts.push(bound(CmpOp::Le, u));
            }
            match parts.len() {
                0 => None,
                1 => parts.pop(),
                _ => Some(TExpr::And(parts)),
            }
        }

        /// How an explanation states the period on `as_of`: "in force on 2025-03-01 (holds from
        /// 2024-09-01)", or "not in force on 2024-08-31 (holds from 2024-09-01)".
        pub fn on(&self, as_of: Date) -> String {
            let not = if self.contains(as_of) { "" } else { "not " };
            format!("{not}in force on {as_of} (holds {self})")
        }
    }

    /// "from 2024-09-01", "until 2024-08-31", "from 2020-06-17 until 2024-08-31", or "on every day".
    impl fmt::Display for Period {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match (self.from, self.until) {
                (None, None) => write!(f, "on every day"),
                (Some(a), None) => write!(f, "from {a}"),
                (None, Some(b)) => write!(f, "until {b}"),
                (Some(a), Some(b)) => write!(f, "from {a} until {b}"),
            }
        }
    }

    impl serde::Serialize for Period {
        /// `{"from": "2024-09-01", "until": null}`.
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Period", 2)?;
            st.serialize_field("from", &self.from)?;
            st.serialize_field("until", &self.until)?;
            st.end()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn day(s: &str) -> Option<Date> {
            Date::parse(s)
        }

        #[test]
        fn both_bounds_are_days_in_force() {
            let p = Period { from: day("2024-09-01"), until: day("2024-12-31") };
            assert!(p.contains(Date::parse("2024-09-01").unwrap_or(Date::FIRST_WRITABLE)));
            assert!(p.contains(Date::parse("2024-12-31").unwrap_or(Date::FIRST_WRITABLE)));
            assert!(!p.contains(Date::parse("2024-08-31").unwrap_or(Date::LAST_WRITABLE)));
            assert!(!p.contains(Date::parse("2025-01-01").unwrap_or(Date::FIRST_WRITABLE)));
            assert_eq!(p.to_string(), "from 2024-09-01 until 2024-12-31");
        }

        #[test]
        fn intersection_narrows_and_can_be_empty() {
            let block = Period { from: None, until: day("2024-08-31") };
            let own = Period { from: day("2024-09-01"), until: None };
            let both = block.intersect(own);
            assert_eq!(both, Period { from: day("2024-09-01"), until: day("2024-08-31") });
            assert!(both.is_empty());
            assert!(!block.is_empty());
            assert!(Period::ALWAYS.intersect(own) == own);
        }
    }
}
