//! Explanations: for one entry, every rule tried in order with each condition's value and the
//! fact values it read, and the smallest changes (one fact each) that would change the verdict.

use crate::compile::Compiled;
use crate::compile::Op;
use crate::eval::{self, Env, EvalError};
use crate::language::schema::{FieldId, Scope, Type};
use crate::value::{Date, Value};

/// One top-level condition of a rule (an operand of its `and`), as evaluated.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConditionTrace {
    /// The condition as written in the policy.
    pub text: String,
    /// `None` when it was not evaluated (an earlier one was false) or could not be (`error`).
    pub value: Option<bool>,
    /// The facts it reads, with their values (`absent` for an optional fact with none).
    pub facts: Vec<(String, String)>,
    pub error: Option<String>,
}

/// One rule as tried.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RuleTrace {
    pub rule: String,
    /// Whether it matched; `None` when evaluating it failed.
    pub matched: Option<bool>,
    pub conditions: Vec<ConditionTrace>,
    /// The days the rule is in force, for a dated rule (its first condition then states it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<crate::language::period::Period>,
}

/// A one-fact change that gives another verdict.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Change {
    pub fact: String,
    /// The fact's value now (`absent` when it has none).
    pub from: String,
    pub to: String,
    pub action: String,
    pub rule: String,
}

/// Why an entry got its verdict.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Explanation {
    pub rules: Vec<RuleTrace>,
    /// The deciding rule's action, or the error.
    pub action: Option<String>,
    pub rule: Option<String>,
    pub error: Option<String>,
    pub changes: Vec<Change>,
}

impl Compiled {
    /// Explains the decision for one entry (see [`crate::Policy::explain`]).
    pub(crate) fn explain(&self, document: &[Value], item: &[Value], as_of: Date) -> Explanation {
        let env = Env { document, item, as_of };
        let mut rules = Vec::new();
        for rule in self.rules() {
            let mut conditions = Vec::new();
            let mut matched = Some(true);
            let dated = !rule.period.is_always();
            for (i, (op, span)) in rule.conjuncts.iter().enumerate() {
                // A dated rule's first condition is its period: said in words, not as `as_of >= ...`.
                let period = dated && i == 0;
                let text = if period { rule.period.on(as_of) } else { self.source_text(*span) };
                let facts = if period { Vec::new() } else { self.facts_read(op, &env) };
                if matched != Some(true) {
                    conditions.push(ConditionTrace { text, value: None, facts, error: None });
                    continue;
                }
                match eval::truth(op, &env) {
                    Ok(v) => {
                        if !v {
                            matched = Some(false);
                        }
                        conditions.push(ConditionTrace { text, value: Some(v), facts, error: None });
                    }
                    Err(kind) => {
                        matched = None;
                        let err = EvalError { rule: self.rule_index(&rule.id), kind };
                        conditions.push(ConditionTrace {
                            text,
                            value: None,
                            facts,
                            error: Some(self.describe_error(&err)),
                        });
                    }
                }
            }
            let stop = matched != Some(false);
            let period = dated.then_some(rule.period);
            rules.push(RuleTrace { rule: rule.id.clone(), matched, conditions, period });
            if stop {
                break;
            }
        }
        let verdict = self.evaluate_interpreted(document, item, as_of);
        let (action, rule, error) = match &verdict {
            Ok(v) => (Some(v.action().to_string()), Some(v.rule_id().to_string()), None),
            Err(e) => (None, None, Some(self.describe_error(e))),
        };
        let changes = self.changes(document, item, as_of, action.as_deref());
        Explanation { rules, action, rule, error, changes }
    }

    /// The policy text at `span`, its whitespace folded.
    fn source_text(&self, span: crate::language::ast::Span) -> String {
        self.sources()
            .get(span.file)
            .and_then(|f| f.text.get(span.start..span.end))
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }

    fn rule_index(&self, id: &str) -> Option<usize> {
        self.rules().iter().position(|r| r.id == id)
    }

    /// The facts an expression reads, in order, each once, with their current values.
    fn facts_read(&self, op: &Op, env: &Env<'_>) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        collect_fields(op, self, &mut fields);
        let mut out = Vec::new();
        for f in fields {
            let Some(def) = self.schema().fields.get(f) else { continue };
            let v = match def.slot.scope {
                Scope::Document => env.document.get(def.slot.index),
                Scope::Item => env.item.get(def.slot.index),
            };
            out.push((def.path.clone(), self.show(f, v)));
        }
        if reads_as_of(op) {
            out.push(("as_of".into(), env.as_of.to_string()));
        }
        out
    }

    fn show(&self, field: FieldId, v: Option<&Value>) -> String {
        let ty = self.schema().fields.get(field).map(|f| f.ty);
        match (ty, v) {
            (_, None | Some(Value::Absent)) => "absent".into(),
            (Some(Type::Enum(e)), Some(Value::Enum(i))) => self.schema().enum_value_name(e, *i).to_string(),
            (_, Some(Value::Bool(b))) => b.to_string(),
            (_, Some(Value::Int(n))) => n.to_string(),
            (_, Some(Value::Date(d))) => d.to_string(),
            (_, Some(Value::Text(t))) => format!("{t:?}"),
            (_, Some(Value::Enum(i))) => i.to_string(),
        }
    }

    /// Single-fact changes that give a different action, nearest values first.
    fn changes(&self, document: &[Value], item: &[Value], as_of: Date, action: Option<&str>) -> Vec<Change> {
        let schema = self.schema();
        let mut dates: Vec<i64> = vec![as_of.days()];
        for v in document.iter().chain(item) {
            if let Value::Date(d) = v {
                dates.push(d.days());
            }
        }
        let mut out = Vec::new();
        for (f, def) in schema.fields.iter().enumerate() {
            let (mut doc, mut it) = (document.to_vec(), item.to_vec());
            let current = match def.slot.scope {
                Scope::Document => document.get(def.slot.index),
                Scope::Item => item.get(def.slot.index),
            }
            .cloned()
            .unwrap_or(Value::Absent);
            let mut candidates: Vec<Value> = match def.ty {
                Type::Bool => vec![Value::Bool(!matches!(current, Value::Bool(true)))],
                Type::Enum(e) => {
                    let n = schema.enums.get(e).map_or(0, |d| d.values.len());
                    (0..n).filter_map(|v| u16::try_from(v).ok()).map(Value::Enum).filter(|v| *v != current).collect()
                }
                Type::Date => {
                    let mut c: Vec<i64> = dates.iter().flat_map(|d| [d - 1, *d, d + 1]).collect();
                    if let Value::Date(now) = &current {
                        c.sort_by_key(|d| (d - now.days()).abs());
                    }
                    c.dedup();
                    c.into_iter().filter_map(Date::from_days).map(Value::Date).filter(|v| *v != current).collect()
                }
                Type::Int => match &current {
                    Value::Int(n) => vec![Value::Int(n - 1), Value::Int(n + 1), Value::Int(0)],
                    _ => vec![Value::Int(0)],
                },
                Type::Text => vec![],
            };
            if def.optional && current != Value::Absent {
                candidates.push(Value::Absent);
            }
            for cand in candidates {
                let slot = match def.slot.scope {
                    Scope::Document => doc.get_mut(def.slot.index),
                    Scope::Item => it.get_mut(def.slot.index),
                };
                let Some(slot) = slot else { continue };
                *slot = cand.clone();
                if let Ok(v) = self.evaluate_interpreted(&doc, &it, as_of) {
                    if Some(v.action()) != action
                        && !out.iter().any(|c: &Change| c.fact == def.path && c.action == v.action())
                    {
                        out.push(Change {
                            fact: def.path.clone(),
                            from: self.show(f, Some(&current)),
                            to: self.show(f, Some(&cand)),
                            action: v.action().to_string(),
                            rule: v.rule_id().to_string(),
                        });
                    }
                }
            }
        }
        out
    }
}

fn collect_fields(op: &Op, policy: &Compiled, out: &mut Vec<FieldId>) {
    let mut push = |f: FieldId| {
        if !out.contains(&f) {
            out.push(f);
        }
    };
    match op {
        Op::Load(_, f) | Op::EnumIn { field: f, .. } => push(*f),
        Op::Present(slot) => {
            if let Some(f) = policy.schema().fields.iter().position(|d| d.slot == *slot) {
                push(f);
            }
        }
        Op::Const(_) | Op::AsOf => {}
        Op::Not(x) => collect_fields(x, policy, out),
        Op::And(xs) | Op::Or(xs) => xs.iter().for_each(|x| collect_fields(x, policy, out)),
        Op::Compare(_, l, r) | Op::Arith { left: l, right: r, .. } => {
            collect_fields(l, policy, out);
            collect_fields(r, policy, out);
        }
        Op::In { value, set, .. } => {
            collect_fields(value, policy, out);
            set.iter().for_each(|x| collect_fields(x, policy, out));
        }
    }
}

fn reads_as_of(op: &Op) -> bool {
    match op {
        Op::AsOf => true,
        Op::Const(_) | Op::Load(..) | Op::Present(_) | Op::EnumIn { .. } => false,
        Op::Not(x) => reads_as_of(x),
        Op::And(xs) | Op::Or(xs) => xs.iter().any(reads_as_of),
        Op::Compare(_, l, r) | Op::Arith { left: l, right: r, .. } => reads_as_of(l) || reads_as_of(r),
        Op::In { value, set, .. } => reads_as_of(value) || set.iter().any(reads_as_of),
    }
}
