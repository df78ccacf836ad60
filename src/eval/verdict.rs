//! Verdicts: what a decision says (action, parameters, deciding rule, reason, citation), and
//! the owned, serialisable record the CLI prints for each entry.

use chrono::NaiveDate;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::compile::Compiled;
use crate::language::schema::Type;
use crate::value::Value;

/// The decision for one entry. Borrows the policy it came from.
#[derive(Clone, Debug)]
pub struct Verdict<'p> {
    policy: &'p Compiled,
    rule: usize,
    params: crate::eval::Params,
}

/// A verdict parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamValue<'a> {
    Bool(bool),
    Int(i64),
    Date(NaiveDate),
    Enum(&'a str),
    Text(&'a str),
}

impl std::fmt::Display for ParamValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(n) => write!(f, "{n}"),
            ParamValue::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            ParamValue::Enum(s) | ParamValue::Text(s) => f.write_str(s),
        }
    }
}

impl Serialize for ParamValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::Bool(b) => s.serialize_bool(*b),
            ParamValue::Int(n) => s.serialize_i64(*n),
            ParamValue::Date(_) => s.collect_str(self),
            ParamValue::Enum(t) | ParamValue::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'p> Verdict<'p> {
    pub(crate) fn new(policy: &'p Compiled, rule: usize, params: crate::eval::Params) -> Self {
        Verdict { policy, rule, params }
    }

    /// Position of the deciding rule in evaluation order.
    pub fn rule_index(&self) -> usize {
        self.rule
    }

    pub fn rule_id(&self) -> &'p str {
        self.policy.rules().get(self.rule).map_or("", |r| r.id.as_str())
    }

    pub fn action(&self) -> &'p str {
        let rule = self.policy.rules().get(self.rule);
        rule.and_then(|r| self.policy.schema().actions.get(r.action)).map_or("", |a| a.name.as_str())
    }

    /// The action's one-line description.
    pub fn action_description(&self) -> &'p str {
        let rule = self.policy.rules().get(self.rule);
        rule.and_then(|r| self.policy.schema().actions.get(r.action)).map_or("", |a| a.description.as_str())
    }

    pub fn reason(&self) -> &'p str {
        self.policy.rules().get(self.rule).map_or("", |r| r.reason.as_str())
    }

    /// The rule's source citation, if it has one.
    pub fn citation(&self) -> Option<&'p str> {
        self.policy.rules().get(self.rule).and_then(|r| r.source.as_deref())
    }

    /// Parameters in declaration order, by name.
    pub fn params(&self) -> impl Iterator<Item = (&'p str, ParamValue<'_>)> + '_ {
        let schema = self.policy.schema();
        let action = self.policy.rules().get(self.rule).and_then(|r| schema.actions.get(r.action));
        let decls = action.map(|a| a.params.as_slice()).unwrap_or_default();
        decls.iter().zip(&self.params).map(move |((name, ty), v)| (name.as_str(), param_value(self.policy, *ty, v)))
    }

    /// One parameter by name.
    pub fn param(&self, name: &str) -> Option<ParamValue<'_>> {
        self.params().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

fn param_value<'a>(policy: &'a Compiled, ty: Type, v: &'a Value) -> ParamValue<'a> {
    match (ty, v) {
        (_, Value::Bool(b)) => ParamValue::Bool(*b),
        (_, Value::Int(n)) => ParamValue::Int(*n),
        (_, Value::Date(d)) => ParamValue::Date(d.to_naive()),
        (Type::Enum(e), Value::Enum(i)) => ParamValue::Enum(policy.schema().enum_value_name(e, *i)),
        (_, Value::Text(t)) => ParamValue::Text(t),
        (_, Value::Enum(_) | Value::Absent) => ParamValue::Text(""),
    }
}

/// The decided part of a [`Record`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub action: String,
    /// In the action's declaration order.
    pub params: serde_json::Map<String, serde_json::Value>,
    pub rule: String,
    pub reason: String,
    /// The rule's citation; shown to people, not part of the JSON record.
    #[serde(skip)]
    pub citation: Option<String>,
}

impl Decision {
    pub fn from_verdict(v: &Verdict<'_>) -> Decision {
        Decision {
            action: v.action().to_string(),
            params: v.params().map(|(n, p)| (n.to_string(), param_json(p))).collect(),
            rule: v.rule_id().to_string(),
            reason: v.reason().to_string(),
            citation: v.citation().map(str::to_string),
        }
    }
}

fn param_json(p: ParamValue<'_>) -> serde_json::Value {
    match p {
        ParamValue::Bool(b) => b.into(),
        ParamValue::Int(n) => n.into(),
        other => other.to_string().into(),
    }
}

/// One output row: where the entry came from, who it is, and its verdict or error.
///
/// Serialises as `{"source", "<label group>", "<item group>", "action", "params", "rule",
/// "reason"}` or with `"error"` in place of the verdict; the two middle keys are named after the
/// policy's groups (`customer` and `subscription` for the shipped policy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub source: String,
    pub label_key: String,
    pub label: Option<String>,
    pub key_name: String,
    pub key: Option<String>,
    pub outcome: Result<Decision, String>,
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Dated { record: self, as_of: None }.serialize(s)
    }
}

/// A [`Record`] that also carries the date it was decided at, serialised as a trailing `as_of`
/// key (used when that date differs from the run's).
pub struct Dated<'a> {
    pub record: &'a Record,
    pub as_of: Option<crate::value::Date>,
}

impl Serialize for Dated<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("source", &r.source)?;
        m.serialize_entry(&r.label_key, &r.label)?;
        m.serialize_entry(&r.key_name, &r.key)?;
        match &r.outcome {
            Ok(d) => {
                m.serialize_entry("action", &d.action)?;
                m.serialize_entry("params", &d.params)?;
                m.serialize_entry("rule", &d.rule)?;
                m.serialize_entry("reason", &d.reason)?;
            }
            Err(e) => m.serialize_entry("error", e)?,
        }
        if let Some(d) = self.as_of {
            m.serialize_entry("as_of", &d.to_string())?;
        }
        m.end()
    }
}
