//! Verdicts: what a decision says (action, parameters, deciding rule, reason, citation), and
//! the owned, serialisable record the CLI prints for each entry.

use chrono::NaiveDate;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::compile::{Compiled, CompiledRule, PLAN_PARAMS};
use crate::eval::{EvalError, EvalErrorKind};
use crate::facts::FactError;
use crate::language::schema::{ActionDef, Type};
use crate::value::Value;

/// The decision for one entry. Borrows the policy it came from.
///
/// Made only by [`Verdict::new`], which resolves the deciding rule and its action and checks
/// each parameter's value against the action's declaration once: every accessor then reads a
/// value that is there (no empty-string stand-ins).
#[derive(Clone, Debug)]
pub struct Verdict<'p> {
    policy: &'p Compiled,
    index: usize,
    rule: &'p CompiledRule,
    action: &'p ActionDef,
    params: Args,
}

/// A verdict's parameter values, checked against their declared types.
#[derive(Clone, Debug)]
enum Args {
    /// Up to [`PLAN_PARAMS`] parameters, none of them text, each the number its declared type
    /// reads: bool 0 or 1, int, date in days, enum index (small, and no allocation).
    Numbers([i64; PLAN_PARAMS]),
    /// Any other action's parameters.
    Values(Box<[Value]>),
}

/// The number a parameter of a declared type (not text) is stored as, or `None` when the value
/// is not of that type (`enum_len`: how many values the enum has).
pub(crate) fn number_of(ty: Type, v: &Value, enum_len: u16) -> Option<i64> {
    match (ty, v) {
        (Type::Bool, Value::Bool(b)) => Some(i64::from(*b)),
        (Type::Int, Value::Int(n)) => Some(*n),
        (Type::Date, Value::Date(d)) => Some(d.days()),
        (Type::Enum(_), Value::Enum(i)) if *i < enum_len => Some(i64::from(*i)),
        (Type::Bool | Type::Int | Type::Date | Type::Enum(_) | Type::Text, _) => None,
    }
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
    /// The verdict of rule `index` with its computed parameters; an internal error when the rule
    /// or its action is not in the policy, or a parameter does not have its declared type (the
    /// evaluator never makes such a verdict from checked facts).
    pub(crate) fn new(policy: &'p Compiled, index: usize, params: crate::eval::Params) -> Result<Self, EvalError> {
        let internal = |kind| EvalError { rule: Some(index), kind };
        let rule = policy.rules().get(index).ok_or(internal(EvalErrorKind::Internal))?;
        let action = policy.schema().actions.get(rule.action).ok_or(internal(EvalErrorKind::Internal))?;
        if action.params.len() != params.len() {
            return Err(internal(EvalErrorKind::Internal));
        }
        for ((_, ty), v) in action.params.iter().zip(&params) {
            if param_value(policy, *ty, v).is_none() {
                return Err(internal(EvalErrorKind::TypeMismatch));
            }
        }
        // Each value has its declared type (checked above): store them as numbers when they can be.
        let mut numbers = [0; PLAN_PARAMS];
        let as_numbers = params.len() <= PLAN_PARAMS
            && action.params.iter().zip(&params).zip(numbers.iter_mut()).all(|(((_, ty), v), n)| {
                let enum_len = match ty {
                    Type::Enum(e) => policy.schema().enums.get(*e).and_then(|d| u16::try_from(d.values.len()).ok()),
                    Type::Bool | Type::Int | Type::Date | Type::Text => Some(0),
                };
                match enum_len.and_then(|len| number_of(*ty, v, len)) {
                    Some(x) => {
                        *n = x;
                        true
                    }
                    None => false,
                }
            });
        let params =
            if as_numbers { Args::Numbers(numbers) } else { Args::Values(params.into_vec().into_boxed_slice()) };
        Ok(Verdict { policy, index, rule, action, params })
    }

    /// The verdict of rule `index`, whose action is `action`, from its parameters as numbers
    /// already checked against their declared types (see [`crate::compile::Plan`]).
    #[inline(always)]
    pub(crate) fn from_numbers(
        policy: &'p Compiled,
        index: usize,
        action: usize,
        numbers: [i64; PLAN_PARAMS],
    ) -> Result<Self, EvalError> {
        let internal = || EvalError { rule: Some(index), kind: EvalErrorKind::Internal };
        let rule = policy.rules().get(index).ok_or_else(internal)?;
        let action = policy.schema().actions.get(action).ok_or_else(internal)?;
        Ok(Verdict { policy, index, rule, action, params: Args::Numbers(numbers) })
    }

    /// Position of the deciding rule in evaluation order.
    pub fn rule_index(&self) -> usize {
        self.index
    }

    pub fn rule_id(&self) -> &'p str {
        &self.rule.id
    }

    pub fn action(&self) -> &'p str {
        &self.action.name
    }

    /// The action's one-line description.
    pub fn action_description(&self) -> &'p str {
        &self.action.description
    }

    pub fn reason(&self) -> &'p str {
        &self.rule.reason
    }

    /// The rule's source citation, if it has one.
    pub fn citation(&self) -> Option<&'p str> {
        self.rule.source.as_deref()
    }

    /// The days the deciding rule is in force ([`Period::ALWAYS`](crate::language::period::Period::ALWAYS)
    /// for a rule without a period).
    pub fn period(&self) -> crate::language::period::Period {
        self.rule.period
    }

    /// Parameters in declaration order, by name.
    pub fn params(&self) -> impl Iterator<Item = (&'p str, ParamValue<'_>)> + '_ {
        // Each value was checked against its declared type when the verdict was made: none is
        // skipped.
        self.action.params.iter().enumerate().filter_map(move |(i, (name, ty))| {
            let value = match &self.params {
                Args::Numbers(numbers) => number_value(self.policy, *ty, *numbers.get(i)?)?,
                Args::Values(values) => param_value(self.policy, *ty, values.get(i)?)?,
            };
            Some((name.as_str(), value))
        })
    }

    /// One parameter by name.
    pub fn param(&self, name: &str) -> Option<ParamValue<'_>> {
        self.params().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// A parameter's value as its declared type, or `None` when it is not of that type.
fn param_value<'a>(policy: &'a Compiled, ty: Type, v: &'a Value) -> Option<ParamValue<'a>> {
    Some(match (ty, v) {
        (Type::Bool, Value::Bool(b)) => ParamValue::Bool(*b),
        (Type::Int, Value::Int(n)) => ParamValue::Int(*n),
        (Type::Date, Value::Date(d)) => ParamValue::Date(d.to_naive()),
        (Type::Enum(e), Value::Enum(i)) => {
            ParamValue::Enum(policy.schema().enums.get(e)?.values.get(usize::from(*i))?.as_str())
        }
        (Type::Text, Value::Text(t)) => ParamValue::Text(t),
        (Type::Bool | Type::Int | Type::Date | Type::Enum(_) | Type::Text, _) => return None,
    })
}

/// A parameter's value from the number it is stored as (see [`Args::Numbers`]).
fn number_value(policy: &Compiled, ty: Type, n: i64) -> Option<ParamValue<'_>> {
    Some(match ty {
        Type::Bool => ParamValue::Bool(n != 0),
        Type::Int => ParamValue::Int(n),
        Type::Date => ParamValue::Date(NaiveDate::from_num_days_from_ce_opt(i32::try_from(n).ok()?)?),
        Type::Enum(e) => ParamValue::Enum(policy.schema().enums.get(e)?.values.get(usize::try_from(n).ok()?)?.as_str()),
        Type::Text => return None,
    })
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
    /// When the rule is in force (`until 2024-08-31`), for a dated rule; shown to people, not
    /// part of the JSON record.
    #[serde(skip)]
    pub period: Option<String>,
}

impl Decision {
    pub fn from_verdict(v: &Verdict<'_>) -> Decision {
        Decision {
            action: v.action().to_string(),
            params: v.params().map(|(n, p)| (n.to_string(), param_json(p))).collect(),
            rule: v.rule_id().to_string(),
            reason: v.reason().to_string(),
            citation: v.citation().map(str::to_string),
            period: (!v.period().is_always()).then(|| v.period().to_string()),
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
    pub outcome: Result<Decision, EntryError>,
}

/// Why an entry has no verdict. `Display` is the message the CLI prints.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EntryError {
    /// The entry's facts, or its document's shared facts, do not follow the policy's schema (a
    /// problem with the input; a server answers it as a client error).
    Facts(Vec<FactError>),
    /// The facts are valid, but the policy cannot decide them: no rule matches (a gap in the
    /// policy), or the deciding rule reads a fact that has no value, or its arithmetic fails.
    Decide {
        kind: EvalErrorKind,
        /// The rule being evaluated, when there is one.
        rule: Option<String>,
        /// What went wrong in words: which fact, which rule, what to do.
        message: String,
    },
}

impl EntryError {
    /// The stable code of the error (`facts::missing`, `eval::no-rule-matched`, …): for
    /// several fact errors, the first one's.
    pub fn code(&self) -> &'static str {
        match self {
            EntryError::Facts(errs) => errs.first().map_or("facts::unreadable", |e| e.kind.code()),
            EntryError::Decide { kind, .. } => kind.code(),
        }
    }
}

impl std::fmt::Display for EntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryError::Facts(errs) => {
                for (i, e) in errs.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            EntryError::Decide { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for EntryError {}

impl miette::Diagnostic for EntryError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(EntryError::code(self)))
    }
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
            Err(e) => m.serialize_entry("error", &e.to_string())?,
        }
        if let Some(d) = self.as_of {
            m.serialize_entry("as_of", &d.to_string())?;
        }
        m.end()
    }
}
