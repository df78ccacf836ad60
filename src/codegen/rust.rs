//! The emitter: one pass over the schema and the compiled rules, writing Rust source text that
//! [`super::generate`] parses and formats.
//!
//! Expressions keep the interpreter's semantics exactly: `and`/`or` stop at the operand that
//! settles them (Rust's `&&`/`||`), operands are evaluated left to right, an absent optional
//! fact is an error where it is read (`ok_or(..)?`), dates are days from the common era as in
//! [`crate::value::Date`], and arithmetic is checked (`eval::overflow`,
//! `eval::date-out-of-range`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::names::{Namespace, camel, ident};
use super::{Error, Options};
use crate::compile::{CompiledRule, Op};
use crate::language::ast::ArithOp;
use crate::language::schema::{FieldDef, Schema, Type};
use crate::policy::Policy;
use crate::value::{Date, Value};

/// Types and functions the generated module declares itself.
const OWN_TYPES: [&str; 8] =
    ["Verdict", "Rule", "DecideError", "DecideErrorKind", "Document", "UnknownValue", "Facts", "NaiveDate"];

/// How tightly a generated expression binds, to parenthesise only where Rust needs it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Compare,
    /// A path, literal, call, macro, block or `!x`.
    Atom,
}

/// A generated expression: its text, how it binds, and its policy type (`None`: an enum
/// constant whose enum the context decides).
struct Code {
    text: String,
    prec: Prec,
    ty: Option<Type>,
}

struct Gen<'a> {
    schema: &'a Schema,
    rules: &'a [CompiledRule],
    options: Options,
    enums: Vec<String>,
    variants: Vec<Vec<String>>,
    groups: Vec<String>,
    /// Each group's name as a field of `Facts` and a parameter of `decide`.
    group_params: Vec<String>,
    fields: Vec<String>,
    rule_variants: Vec<String>,
    action_variants: Vec<String>,
    /// Date constants the rules use: days → name.
    days: BTreeMap<i64, String>,
    uses_add: bool,
    uses_sub: bool,
    uses_to_date: bool,
    uses_in_calendar: bool,
}

pub(super) fn module(policy: &Policy, options: Options) -> Result<String, Error> {
    let schema = policy.schema();
    let rules = policy.rules();
    let mut types = Namespace::new("types").reserve(&OWN_TYPES);
    let mut enums = Vec::new();
    let mut variants = Vec::new();
    for e in &schema.enums {
        enums.push(types.take("enum", &e.name, camel(&e.name))?);
        let mut ns = Namespace::new("variants").reserve(&[]);
        let vs =
            e.values.iter().map(|v| ns.take(&format!("`{}` value", e.name), v, camel(v))).collect::<Result<_, _>>()?;
        variants.push(vs);
    }
    let mut groups = Vec::new();
    // `decide` calls `at` and `days_from_ce` and binds `facts`: a group of that name would hide them.
    let mut params = Namespace::new("parameters of `decide`").reserve(&["as_of", "at", "days_from_ce", "facts"]);
    let mut group_params = Vec::new();
    for g in &schema.groups {
        groups.push(types.take("fact group", &g.name, camel(&g.name))?);
        group_params.push(params.take("fact group", &g.name, ident(&g.name))?);
    }
    let mut fields = vec![String::new(); schema.fields.len()];
    for g in &schema.groups {
        let mut ns = Namespace::new("fields").reserve(&[]);
        for &f in &g.fields {
            let Some(def) = schema.fields.get(f) else { continue };
            if let Some(slot) = fields.get_mut(f) {
                *slot = ns.take("fact", &def.path, ident(&def.name))?;
            }
        }
    }
    let mut rule_ns = Namespace::new("`Rule` variants");
    let rule_variants = rules.iter().map(|r| rule_ns.take("rule", &r.id, camel(&r.id))).collect::<Result<_, _>>()?;
    let mut action_ns = Namespace::new("`Verdict` variants");
    let mut action_variants = Vec::new();
    for a in &schema.actions {
        action_variants.push(action_ns.take("action", &a.name, camel(&a.name))?);
        let mut ns = Namespace::new("fields of a `Verdict` variant").reserve(&["rule"]);
        for (p, _) in &a.params {
            ns.take(&format!("parameter of `{}`", a.name), p, ident(p))?;
        }
    }
    let mut g = Gen {
        schema,
        rules,
        options,
        enums,
        variants,
        groups,
        group_params,
        fields,
        rule_variants,
        action_variants,
        days: BTreeMap::new(),
        uses_add: false,
        uses_sub: false,
        uses_to_date: false,
        uses_in_calendar: false,
    };
    let mut out = String::new();
    g.enums_code(&mut out);
    g.groups_code(&mut out);
    g.document_code(&mut out);
    g.rule_enum(&mut out);
    g.verdict_code(&mut out);
    g.errors_code(&mut out);
    g.decide_code(&mut out)?;
    g.helpers(&mut out);
    Ok(out)
}

/// A string as a Rust literal (`str`'s `Debug` escapes exactly what a literal needs).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// Text for a doc comment: each line prefixed.
fn doc(out: &mut String, text: &str) {
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "/// {line}");
        }
    }
}

impl Gen<'_> {
    fn serde(&self) -> bool {
        self.options.serde
    }

    fn enum_type(&self, e: usize) -> &str {
        self.enums.get(e).map_or("()", String::as_str)
    }

    fn variant(&self, e: usize, v: u16) -> String {
        let name = self.variants.get(e).and_then(|vs| vs.get(usize::from(v))).map_or("X", String::as_str);
        format!("{}::{name}", self.enum_type(e))
    }

    fn field_type(&self, ty: Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::Int => "i64".into(),
            Type::Date => "::chrono::NaiveDate".into(),
            Type::Text => "String".into(),
            Type::Enum(e) => self.enum_type(e).to_string(),
        }
    }

    fn field_rust_type(&self, f: &FieldDef) -> String {
        let t = self.field_type(f.ty);
        if f.optional { format!("Option<{t}>") } else { t }
    }

    /// A value as a Rust expression of its field's type (defaults).
    fn value_code(&self, v: &Value, ty: Type) -> String {
        match (v, ty) {
            (Value::Bool(b), _) => b.to_string(),
            (Value::Int(n), _) => int_lit(*n),
            (Value::Date(d), _) => naive_date(*d),
            (Value::Text(t), _) => format!("{}.to_owned()", lit(t)),
            (Value::Enum(e), Type::Enum(id)) => self.variant(id, *e),
            (Value::Enum(_) | Value::Absent, _) => "Default::default()".into(),
        }
    }

    fn enums_code(&self, out: &mut String) {
        for (i, e) in self.schema.enums.iter().enumerate() {
            let name = self.enum_type(i).to_string();
            let _ = writeln!(out, "/// The policy's enum `{}`.", e.name);
            out.push_str("#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]\n");
            if self.serde() {
                out.push_str("#[derive(::serde::Serialize, ::serde::Deserialize)]\n");
            }
            let _ = writeln!(out, "pub enum {name} {{");
            for (v, value) in e.values.iter().enumerate() {
                match e.descriptions.get(v).and_then(|d| d.as_deref()) {
                    Some(d) => doc(out, &format!("`{value}`: {d}")),
                    None => doc(out, &format!("`{value}`")),
                }
                if self.serde() {
                    let _ = writeln!(out, "#[serde(rename = {})]", lit(value));
                }
                let _ = writeln!(out, "{},", self.variants.get(i).and_then(|vs| vs.get(v)).map_or("X", String::as_str));
            }
            out.push_str("}\n");
            let all: Vec<String> =
                (0..e.values.len()).filter_map(|v| u16::try_from(v).ok()).map(|v| self.variant(i, v)).collect();
            let _ = writeln!(out, "impl {name} {{");
            out.push_str("/// Every value, in the policy's order.\n");
            let _ = writeln!(out, "pub const ALL: [{name}; {}] = [{}];", all.len(), all.join(", "));
            out.push_str("/// The value's name in the policy and in fact files.\n");
            out.push_str("pub fn as_str(self) -> &'static str { match self {\n");
            for (v, value) in e.values.iter().enumerate() {
                if let Ok(v) = u16::try_from(v) {
                    let _ = writeln!(out, "{} => {},", self.variant(i, v), lit(value));
                }
            }
            out.push_str("} }\n}\n");
            let _ = writeln!(
                out,
                "impl ::std::fmt::Display for {name} {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{ f.write_str(self.as_str()) }} }}"
            );
            let _ = writeln!(
                out,
                "impl ::std::str::FromStr for {name} {{ type Err = UnknownValue; fn from_str(text: &str) -> Result<Self, UnknownValue> {{ \
                 Self::ALL.into_iter().find(|v| v.as_str() == text).ok_or_else(|| UnknownValue {{ enum_name: {}, value: text.to_owned() }}) }} }}",
                lit(&e.name)
            );
        }
        out.push_str(
            "/// A name that is not a value of the enum it was read as.\n\
             #[derive(Clone, Debug, PartialEq, Eq)]\n\
             pub struct UnknownValue { /// The enum's name in the policy.\n pub enum_name: &'static str, /// The text read.\n pub value: String }\n\
             impl ::std::fmt::Display for UnknownValue { fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { \
             write!(f, \"`{}` is not a value of `{}`\", self.value, self.enum_name) } }\n\
             impl ::std::error::Error for UnknownValue {}\n",
        );
    }

    fn groups_code(&self, out: &mut String) {
        for (gi, g) in self.schema.groups.iter().enumerate() {
            let name = self.groups.get(gi).map_or("X", String::as_str);
            match &g.list {
                Some(list) => doc(out, &format!("The facts `{}`: one per entry of the document's `{list}`.", g.name)),
                None => doc(out, &format!("The facts `{}`: once per document.", g.name)),
            }
            out.push_str("#[derive(Clone, Debug, PartialEq, Eq)]\n");
            if self.serde() {
                out.push_str("#[derive(::serde::Serialize, ::serde::Deserialize)]\n#[serde(deny_unknown_fields)]\n");
            }
            let _ = writeln!(out, "pub struct {name} {{");
            let defs: Vec<(usize, &FieldDef)> =
                g.fields.iter().filter_map(|&f| self.schema.fields.get(f).map(|d| (f, d))).collect();
            for (f, def) in &defs {
                let mut text = def.description.clone().unwrap_or_else(|| format!("`{}`", def.path));
                if let Some(d) = &def.default {
                    let _ = write!(text, " (default: `{}`)", self.default_text(d, def.ty));
                }
                if def.optional {
                    text.push_str(" (optional)");
                }
                doc(out, &text);
                if self.serde() {
                    if def.optional {
                        out.push_str("#[serde(default, skip_serializing_if = \"Option::is_none\")]\n");
                    } else if def.default.is_some() {
                        let _ = writeln!(out, "#[serde(default = \"{}\")]", default_fn(&g.name, &def.name));
                    }
                }
                let _ = writeln!(out, "pub {}: {},", self.field(*f), self.field_rust_type(def));
            }
            out.push_str("}\n");
            // The constructor: the facts without a default are its parameters.
            let required: Vec<&(usize, &FieldDef)> =
                defs.iter().filter(|(_, d)| !d.optional && d.default.is_none()).collect();
            let args: Vec<String> =
                required.iter().map(|(f, d)| format!("{}: {}", self.field(*f), self.field_rust_type(d))).collect();
            let _ = writeln!(out, "impl {name} {{");
            if required.is_empty() {
                out.push_str("/// The facts at the policy's defaults (optional ones absent).\n");
            } else {
                let names: Vec<String> = required.iter().map(|(_, d)| format!("`{}`", d.name)).collect();
                doc(
                    out,
                    &format!(
                        "The facts given the ones without a default ({}); the others at the policy's defaults, optional ones absent.",
                        names.join(", ")
                    ),
                );
            }
            let _ = writeln!(out, "pub fn new({}) -> {name} {{ {name} {{", args.join(", "));
            for (f, def) in &defs {
                let field = self.field(*f);
                if def.optional {
                    let _ = writeln!(out, "{field}: None,");
                } else if let Some(d) = &def.default {
                    let _ = writeln!(out, "{field}: {},", self.value_code(d, def.ty));
                } else {
                    let _ = writeln!(out, "{field},");
                }
            }
            out.push_str("} }\n}\n");
            if required.is_empty() {
                let _ = writeln!(out, "impl Default for {name} {{ fn default() -> {name} {{ {name}::new() }} }}");
            }
            if self.serde() {
                for (_, def) in &defs {
                    if let (false, Some(d)) = (def.optional, &def.default) {
                        let _ = writeln!(
                            out,
                            "fn {}() -> {} {{ {} }}",
                            default_fn(&g.name, &def.name),
                            self.field_rust_type(def),
                            self.value_code(d, def.ty)
                        );
                    }
                }
            }
        }
    }

    fn default_text(&self, v: &Value, ty: Type) -> String {
        match (v, ty) {
            (Value::Enum(e), Type::Enum(id)) => self.schema.enum_value_name(id, *e).to_string(),
            (Value::Date(d), _) => d.to_string(),
            (Value::Text(t), _) => format!("{t:?}"),
            (Value::Bool(b), _) => b.to_string(),
            (Value::Int(n), _) => n.to_string(),
            _ => String::new(),
        }
    }

    fn field(&self, f: usize) -> &str {
        self.fields.get(f).map_or("x", String::as_str)
    }

    fn item_group(&self) -> Option<usize> {
        self.schema.item_group
    }

    fn document_groups(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.schema.groups.len()).filter(move |g| Some(*g) != self.item_group())
    }

    fn document_code(&self, out: &mut String) {
        let item = self.item_group().and_then(|i| self.schema.groups.get(i).map(|g| (i, g)));
        doc(out, "One fact document: the date it may give, its facts and its entries, as a fact file holds them.");
        out.push_str("#[derive(Clone, Debug, PartialEq, Eq)]\n");
        if self.serde() {
            out.push_str("#[derive(::serde::Serialize, ::serde::Deserialize)]\n#[serde(deny_unknown_fields)]\n");
        }
        out.push_str("pub struct Document {\n/// The date to decide at, when the document gives one.\n");
        if self.serde() {
            out.push_str("#[serde(default, skip_serializing_if = \"Option::is_none\")]\n");
        }
        out.push_str("pub as_of: Option<::chrono::NaiveDate>,\n");
        for g in self.document_groups() {
            // A group whose facts all have defaults (or may be absent) may be left out of a fact
            // file, as the interpreter reads it.
            if self.serde() && self.all_defaulted(g) {
                out.push_str("#[serde(default)]\n");
            }
            let _ = writeln!(out, "pub {}: {},", self.group_param(g), self.group_type(g));
        }
        if let Some((i, group)) = item {
            let list = group.list.as_deref().unwrap_or("entries");
            let _ = writeln!(
                out,
                "/// The entries, each decided on its own.\npub {}: Vec<{}>,",
                ident(list),
                self.group_type(i)
            );
        }
        out.push_str("}\nimpl Document {\n");
        let args: Vec<String> = self
            .schema
            .groups
            .iter()
            .enumerate()
            .map(|(g, _)| {
                if Some(g) == self.item_group() {
                    "entry".to_string()
                } else {
                    format!("&self.{}", self.group_param(g))
                }
            })
            .collect();
        match item {
            Some((i, group)) => {
                let list = ident(group.list.as_deref().unwrap_or("entries"));
                let _ = writeln!(
                    out,
                    "/// Decides every entry at `as_of`, in order.\n\
                     pub fn decide(&self, as_of: ::chrono::NaiveDate) -> impl Iterator<Item = (&{t}, Result<Verdict, DecideError>)> + '_ {{ \
                     self.{list}.iter().map(move |entry| (entry, decide({a}, as_of))) }}",
                    t = self.group_type(i),
                    a = args.join(", ")
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "/// Decides the document at `as_of`.\n\
                     pub fn decide(&self, as_of: ::chrono::NaiveDate) -> Result<Verdict, DecideError> {{ decide({}, as_of) }}",
                    args.join(", ")
                );
            }
        }
        out.push_str("}\n");
    }

    /// Whether every fact of group `g` has a default or is optional (the group has `Default`).
    fn all_defaulted(&self, g: usize) -> bool {
        self.schema.groups.get(g).is_some_and(|group| {
            group.fields.iter().filter_map(|f| self.schema.fields.get(*f)).all(|d| d.optional || d.default.is_some())
        })
    }

    fn group_type(&self, g: usize) -> &str {
        self.groups.get(g).map_or("X", String::as_str)
    }

    fn group_param(&self, g: usize) -> &str {
        self.group_params.get(g).map_or("x", String::as_str)
    }

    fn rule_variant(&self, r: usize) -> &str {
        self.rule_variants.get(r).map_or("X", String::as_str)
    }

    fn rule_enum(&self, out: &mut String) {
        out.push_str("/// The policy's rules, in the order they are tried.\n#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n");
        if self.serde() {
            out.push_str("#[derive(::serde::Serialize)]\n");
        }
        out.push_str("pub enum Rule {\n");
        for (i, r) in self.rules.iter().enumerate() {
            let _ = writeln!(out, "/// `{}`", r.id);
            if self.serde() {
                let _ = writeln!(out, "#[serde(rename = {})]", lit(&r.id));
            }
            let _ = writeln!(out, "{},", self.rule_variant(i));
        }
        out.push_str("}\nimpl Rule {\n");
        let all: Vec<String> = (0..self.rules.len()).map(|i| format!("Rule::{}", self.rule_variant(i))).collect();
        let _ =
            writeln!(out, "/// Every rule, in order.\npub const ALL: [Rule; {}] = [{}];", all.len(), all.join(", "));
        let arms = |f: &dyn Fn(&CompiledRule) -> String| -> String {
            self.rules
                .iter()
                .enumerate()
                .map(|(i, r)| format!("Rule::{} => {},\n", self.rule_variant(i), f(r)))
                .collect()
        };
        let _ = writeln!(
            out,
            "/// The rule's name in the policy.\npub fn id(self) -> &'static str {{ match self {{ {} }} }}",
            arms(&|r| lit(&r.id))
        );
        let _ = writeln!(
            out,
            "/// Why the rule decides as it does.\npub fn reason(self) -> &'static str {{ match self {{ {} }} }}",
            arms(&|r| lit(&r.reason))
        );
        let _ = writeln!(
            out,
            "/// Where the rule comes from (its `source`), if it says.\npub fn source(self) -> Option<&'static str> {{ match self {{ {} }} }}",
            arms(&|r| r.source.as_deref().map_or("None".into(), |s| format!("Some({})", lit(s))))
        );
        let _ = writeln!(
            out,
            "/// The first and last day the rule is in force (`None`: open).\n\
             pub fn in_force(self) -> (Option<::chrono::NaiveDate>, Option<::chrono::NaiveDate>) {{ match self {{ {} }} }}",
            arms(&|r| format!("({}, {})", opt_date(r.period.from), opt_date(r.period.until)))
        );
        out.push_str("}\n");
    }

    fn verdict_code(&self, out: &mut String) {
        out.push_str("/// What to do: the action with its parameters, and the rule that decided it.\n#[derive(Clone, Debug, PartialEq, Eq)]\n");
        if self.serde() {
            out.push_str("#[derive(::serde::Serialize)]\n#[serde(tag = \"action\")]\n");
        }
        out.push_str("pub enum Verdict {\n");
        for (a, action) in self.schema.actions.iter().enumerate() {
            doc(out, &format!("`{}`: {}", action.name, action.description));
            if self.serde() {
                let _ = writeln!(out, "#[serde(rename = {})]", lit(&action.name));
            }
            let _ = write!(out, "{} {{", self.action_variant(a));
            for (p, ty) in &action.params {
                let _ = write!(out, "{}: {},", ident(p), self.field_type(*ty));
            }
            out.push_str("/// The rule that decided.\nrule: Rule },\n");
        }
        out.push_str("}\nimpl Verdict {\n");
        let arms = |f: &dyn Fn(usize) -> String, bind: &str| -> String {
            if self.schema.actions.is_empty() {
                return "match *self {}".into();
            }
            let arms: String = (0..self.schema.actions.len())
                .map(|a| format!("Verdict::{} {{ {bind} }} => {},\n", self.action_variant(a), f(a)))
                .collect();
            format!("match self {{ {arms} }}")
        };
        let name = |a: usize| lit(self.schema.actions.get(a).map_or("", |x| x.name.as_str()));
        let description = |a: usize| lit(self.schema.actions.get(a).map_or("", |x| x.description.as_str()));
        let _ = writeln!(
            out,
            "/// The action's name in the policy.\npub fn action(&self) -> &'static str {{ {} }}",
            arms(&name, "..")
        );
        let _ = writeln!(
            out,
            "/// What the action asks for, in words.\npub fn description(&self) -> &'static str {{ {} }}",
            arms(&description, "..")
        );
        let _ = writeln!(
            out,
            "/// The rule that decided.\npub fn rule(&self) -> Rule {{ {} }}",
            arms(&|_| "*rule".into(), "rule, ..")
        );
        out.push_str("/// Why, in words: the deciding rule's reason.\npub fn reason(&self) -> &'static str { self.rule().reason() }\n}\n");
    }

    fn action_variant(&self, a: usize) -> &str {
        self.action_variants.get(a).map_or("X", String::as_str)
    }

    fn errors_code(&self, out: &mut String) {
        out.push_str(
            r#"/// Why an entry could not be decided, and at which rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecideError {
    /// The rule being tried, or `None` when no rule matched.
    pub rule: Option<Rule>,
    /// What went wrong.
    pub kind: DecideErrorKind,
}
/// What kept an entry from a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecideErrorKind {
    /// The rule read an optional fact that has no value.
    AbsentFact {
        /// The fact's dotted name.
        fact: &'static str,
    },
    /// Integer or day arithmetic left the range of `i64`.
    Overflow,
    /// Day arithmetic gave a date outside the calendar.
    DateOutOfRange,
    /// No rule matched: the policy has a gap for these facts.
    NoRuleMatched,
}
impl DecideErrorKind {
    /// The stable code, the same as the interpreter's (`eval::absent-fact`, ...).
    pub fn code(self) -> &'static str {
        match self {
            DecideErrorKind::AbsentFact { .. } => "eval::absent-fact",
            DecideErrorKind::Overflow => "eval::overflow",
            DecideErrorKind::DateOutOfRange => "eval::date-out-of-range",
            DecideErrorKind::NoRuleMatched => "eval::no-rule-matched",
        }
    }
}
impl ::std::fmt::Display for DecideError {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        match (self.kind, self.rule) {
            (DecideErrorKind::AbsentFact { fact }, Some(rule)) => write!(f, "rule `{}` needs `{fact}`, which has no value; give `{fact}` or have the rule test `present({fact})` first", rule.id()),
            (DecideErrorKind::NoRuleMatched, _) => f.write_str("no rule matched these facts; the policy has a gap here"),
            (kind, Some(rule)) => write!(f, "rule `{}`: {}", rule.id(), kind.words()),
            (kind, None) => f.write_str(kind.words()),
        }
    }
}
impl DecideErrorKind {
    fn words(self) -> &'static str {
        match self {
            DecideErrorKind::AbsentFact { .. } => "a fact the rule needs has no value",
            DecideErrorKind::Overflow => "arithmetic overflowed",
            DecideErrorKind::DateOutOfRange => "date arithmetic left the calendar",
            DecideErrorKind::NoRuleMatched => "no rule matched",
        }
    }
}
impl ::std::error::Error for DecideError {}
"#,
        );
    }

    fn decide_code(&mut self, out: &mut String) -> Result<(), Error> {
        let params: Vec<String> = (0..self.schema.groups.len())
            .map(|g| format!("{}: &{}", self.group_param(g), self.group_type(g)))
            .collect();
        let names: Vec<&str> = (0..self.schema.groups.len()).map(|g| self.group_param(g)).collect();
        out.push_str("/// What one decision reads.\n#[derive(Clone, Copy)]\n#[allow(dead_code)]\nstruct Facts<'a> {\n");
        for g in 0..self.schema.groups.len() {
            let _ = writeln!(out, "{}: &'a {},", self.group_param(g), self.group_type(g));
        }
        out.push_str("/// Days from the common era (0001-01-01 is day 1).\nas_of: i64,\n}\n");
        doc(
            out,
            "Decides one entry at `as_of`: the rules are tried in order and the first whose condition holds gives the verdict, exactly as the policy's interpreter decides.",
        );
        let _ = writeln!(
            out,
            "pub fn decide({}) -> Result<Verdict, DecideError> {{",
            params.iter().map(String::as_str).chain(["as_of: ::chrono::NaiveDate"]).collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(
            out,
            "let facts = Facts {{ {} }};",
            names.iter().copied().chain(["as_of: days_from_ce(as_of)"]).collect::<Vec<_>>().join(", ")
        );
        let mut bodies = String::new();
        let mut unconditional = false;
        for (i, r) in self.rules.iter().enumerate() {
            let v = self.rule_variant(i).to_string();
            let fn_name = &r.id;
            let err = format!("at(Rule::{v})");
            match &r.when {
                Some(cond) => {
                    let c = self.expr(cond, None)?;
                    let _ = writeln!(
                        bodies,
                        "#[inline]\nfn when_{fn_name}(facts: &Facts<'_>) -> Result<bool, DecideErrorKind> {{ Ok({}) }}",
                        c.text
                    );
                    let _ = writeln!(
                        out,
                        "if when_{fn_name}(&facts).map_err({err})? {{ return then_{fn_name}(&facts).map_err({err}); }}"
                    );
                }
                None => {
                    let _ = writeln!(out, "then_{fn_name}(&facts).map_err({err})");
                    unconditional = true;
                }
            }
            let then = self.then_code(r, i)?;
            let _ = writeln!(
                bodies,
                "#[inline]\nfn then_{fn_name}(facts: &Facts<'_>) -> Result<Verdict, DecideErrorKind> {{ {then} }}"
            );
            if unconditional {
                break;
            }
        }
        if !unconditional {
            out.push_str("Err(DecideError { rule: None, kind: DecideErrorKind::NoRuleMatched })\n");
        }
        out.push_str("}\n");
        out.push_str(&bodies);
        Ok(())
    }

    fn then_code(&mut self, r: &CompiledRule, index: usize) -> Result<String, Error> {
        let Some(action) = self.schema.actions.get(r.action) else {
            return Err(Error::Internal { message: format!("rule `{}` names action number {}", r.id, r.action) });
        };
        let mut lets = String::new();
        let mut fields = String::new();
        for (i, ((name, ty), arg)) in action.params.iter().zip(r.args.iter()).enumerate() {
            let value = match (ty, arg) {
                // A date fact given as it is: no round trip through days.
                (Type::Date, Op::Load(_, f)) => match self.schema.fields.get(*f) {
                    Some(def) => {
                        let access = self.access(*f, def);
                        if def.optional { format!("given({access}, {})?", lit(&def.path)) } else { access }
                    }
                    None => return Err(Error::Internal { message: format!("fact number {f} is not declared") }),
                },
                _ => self.param_value(arg, *ty)?,
            };
            let _ = writeln!(lets, "let p{i} = {value};");
            let _ = write!(fields, "{}: p{i}, ", ident(name));
        }
        if action.params.len() != r.args.len() {
            return Err(Error::Internal {
                message: format!("rule `{}` gives {} of {} parameters", r.id, r.args.len(), action.params.len()),
            });
        }
        let a = self.action_variant(r.action);
        let rule = self.rule_variant(index);
        if !lets.contains("facts.") {
            lets.push_str("let _ = facts;");
        }
        Ok(format!("{lets} Ok(Verdict::{a} {{ {fields} rule: Rule::{rule} }})"))
    }

    /// A parameter's value as the verdict holds it (dates as `NaiveDate`, text owned).
    fn param_value(&mut self, arg: &Op, ty: Type) -> Result<String, Error> {
        let c = self.expr(arg, Some(ty))?;
        Ok(match ty {
            Type::Date => {
                self.uses_to_date = true;
                format!("to_date({})?", c.text)
            }
            Type::Text => format!("{}.to_owned()", c.text),
            _ => c.text,
        })
    }

    /// A fact read: its value with the interpreter's representation (`i64` days for dates,
    /// `&str` for text), `?` on an absent optional fact.
    fn load(&self, field: usize) -> Result<Code, Error> {
        let Some(def) = self.schema.fields.get(field) else {
            return Err(Error::Internal { message: format!("fact number {field} is not declared") });
        };
        let access = self.access(field, def);
        let given = |value: String| format!("given({value}, {})?", lit(&def.path));
        let text = match (def.ty, def.optional) {
            (Type::Text, false) => format!("{access}.as_str()"),
            (Type::Text, true) => given(format!("{access}.as_deref()")),
            (Type::Date, false) => format!("days_from_ce({access})"),
            (Type::Date, true) => format!("days_from_ce({})", given(access)),
            (_, false) => access,
            (_, true) => given(access),
        };
        Ok(Code { text, prec: Prec::Atom, ty: Some(def.ty) })
    }

    /// Where fact `f` is read in a rule's functions: `facts.<group>.<field>`.
    fn access(&self, f: usize, def: &FieldDef) -> String {
        format!("facts.{}.{}", self.group_param(def.group), self.field(f))
    }

    /// The type an operation has, without generating it (to give an enum constant its enum).
    fn ty(&self, op: &Op) -> Option<Type> {
        match op {
            Op::Const(Value::Bool(_)) => Some(Type::Bool),
            Op::Const(Value::Int(_)) => Some(Type::Int),
            Op::Const(Value::Date(_)) | Op::AsOf => Some(Type::Date),
            Op::Const(Value::Text(_)) => Some(Type::Text),
            Op::Const(Value::Enum(_) | Value::Absent) => None,
            Op::Load(_, f) => self.schema.fields.get(*f).map(|d| d.ty),
            Op::Present(_)
            | Op::Not(_)
            | Op::And(_)
            | Op::Or(_)
            | Op::EnumIn { .. }
            | Op::Compare(..)
            | Op::In { .. } => Some(Type::Bool),
            Op::Arith { date, .. } => Some(if *date { Type::Date } else { Type::Int }),
        }
    }

    fn expr(&mut self, op: &Op, hint: Option<Type>) -> Result<Code, Error> {
        let atom = |text: String, ty| Code { text, prec: Prec::Atom, ty: Some(ty) };
        Ok(match op {
            Op::Const(v) => match v {
                Value::Bool(b) => atom(b.to_string(), Type::Bool),
                Value::Int(n) => atom(int_lit(*n), Type::Int),
                Value::Date(d) => {
                    let name = format!("DAY_{}", d.to_string().replace('-', "_"));
                    self.days.insert(d.days(), name.clone());
                    atom(name, Type::Date)
                }
                Value::Text(t) => atom(lit(t), Type::Text),
                Value::Enum(e) => match hint {
                    Some(Type::Enum(id)) => atom(self.variant(id, *e), Type::Enum(id)),
                    _ => return Err(Error::Internal { message: "an enum constant whose enum is not known".into() }),
                },
                Value::Absent => return Err(Error::Internal { message: "an absent constant".into() }),
            },
            Op::Load(_, field) => self.load(*field)?,
            Op::AsOf => atom("facts.as_of".into(), Type::Date),
            Op::Present(slot) => {
                let Some((f, def)) = self.schema.fields.iter().enumerate().find(|(_, d)| d.slot == *slot) else {
                    return Err(Error::Internal { message: "`present` of a slot no fact has".into() });
                };
                atom(format!("{}.is_some()", self.access(f, def)), Type::Bool)
            }
            Op::Not(x) => {
                let c = self.expr(x, Some(Type::Bool))?;
                atom(format!("!{}", paren(c, Prec::Atom)), Type::Bool)
            }
            Op::And(xs) | Op::Or(xs) => {
                let (prec, sep) = if matches!(op, Op::And(_)) { (Prec::And, " && ") } else { (Prec::Or, " || ") };
                let mut parts = Vec::new();
                for x in xs.iter() {
                    let c = self.expr(x, Some(Type::Bool))?;
                    // An `and` inside an `or` is parenthesised too, for the reader.
                    parts.push(paren(c, if prec == Prec::Or { Prec::Compare } else { Prec::And }));
                }
                Code { text: parts.join(sep), prec, ty: Some(Type::Bool) }
            }
            Op::EnumIn { field, bits, .. } => {
                let Some(def) = self.schema.fields.get(*field) else {
                    return Err(Error::Internal { message: format!("fact number {field} is not declared") });
                };
                let Type::Enum(e) = def.ty else {
                    return Err(Error::Internal { message: format!("`{}` is tested as an enum", def.path) });
                };
                let count = self.schema.enums.get(e).map_or(0, |d| d.values.len());
                let members: Vec<String> = (0..count)
                    .filter(|v| bits.get(v / 64).is_some_and(|w| w >> (v % 64) & 1 == 1))
                    .filter_map(|v| u16::try_from(v).ok())
                    .map(|v| self.variant(e, v))
                    .collect();
                let value = self.load(*field)?;
                let text = if members.is_empty() || members.len() == count {
                    let all = members.len() == count && count > 0;
                    if def.optional {
                        // Still an error when absent, as the interpreter's bit test is.
                        let access = self.access(*field, def);
                        format!("given({access}.map(|_| {all}), {})?", lit(&def.path))
                    } else {
                        all.to_string()
                    }
                } else {
                    format!("matches!({}, {})", value.text, members.join(" | "))
                };
                atom(text, Type::Bool)
            }
            Op::Compare(cmp, l, r) => {
                let (lt, rt) = (self.ty(l), self.ty(r));
                let l = self.expr(l, rt)?;
                let r = self.expr(r, lt.or(l.ty))?;
                let sym = cmp.symbol();
                Code {
                    text: format!("{} {sym} {}", paren(l, Prec::Atom), paren(r, Prec::Atom)),
                    prec: Prec::Compare,
                    ty: Some(Type::Bool),
                }
            }
            Op::In { negated, value, set } => {
                let vt = self.ty(value).or_else(|| set.iter().find_map(|s| self.ty(s)));
                let v = self.expr(value, vt)?;
                let mut tests = Vec::new();
                for s in set.iter() {
                    let c = self.expr(s, vt.or(v.ty))?;
                    tests.push(format!("value == {}", paren(c, Prec::Atom)));
                }
                let any = if tests.is_empty() { "false".to_string() } else { tests.join(" || ") };
                let block = if tests.is_empty() {
                    format!("{{ let _ = {}; false }}", v.text)
                } else {
                    format!("{{ let value = {}; {any} }}", v.text)
                };
                atom(if *negated { format!("!{block}") } else { block }, Type::Bool)
            }
            Op::Arith { op, left, right, date } => {
                let l = self.expr(left, Some(Type::Int))?;
                let r = self.expr(right, Some(Type::Int))?;
                let f = match op {
                    ArithOp::Add => {
                        self.uses_add = true;
                        "add"
                    }
                    ArithOp::Sub => {
                        self.uses_sub = true;
                        "sub"
                    }
                };
                let n = format!("{f}({}, {})?", l.text, r.text);
                if *date {
                    self.uses_in_calendar = true;
                    atom(format!("in_calendar({n})?"), Type::Date)
                } else {
                    atom(n, Type::Int)
                }
            }
        })
    }

    fn helpers(&self, out: &mut String) {
        for (days, name) in &self.days {
            let date = Date::from_days(*days).map(|d| d.to_string()).unwrap_or_default();
            let _ = writeln!(out, "/// {date}\nconst {name}: i64 = {};", int_lit(*days));
        }
        out.push_str(
            "/// Days from the common era, as the interpreter counts them.\n\
             fn days_from_ce(date: ::chrono::NaiveDate) -> i64 { i64::from(::chrono::Datelike::num_days_from_ce(&date)) }\n",
        );
        if self.uses_to_date || self.uses_in_calendar {
            out.push_str(
                "/// The date `days` from the common era, if the calendar has it.\n\
                 fn to_date(days: i64) -> Result<::chrono::NaiveDate, DecideErrorKind> { \
                 i32::try_from(days).ok().and_then(::chrono::NaiveDate::from_num_days_from_ce_opt).ok_or(DecideErrorKind::DateOutOfRange) }\n",
            );
        }
        if self.uses_in_calendar {
            out.push_str(
                "/// `days` when it is a day of the calendar.\n\
                 fn in_calendar(days: i64) -> Result<i64, DecideErrorKind> { to_date(days).map(|_| days) }\n",
            );
        }
        if self.uses_add {
            out.push_str("fn add(a: i64, b: i64) -> Result<i64, DecideErrorKind> { a.checked_add(b).ok_or(DecideErrorKind::Overflow) }\n");
        }
        if self.uses_sub {
            out.push_str("fn sub(a: i64, b: i64) -> Result<i64, DecideErrorKind> { a.checked_sub(b).ok_or(DecideErrorKind::Overflow) }\n");
        }
        out.push_str(
            "/// The value of an optional fact a rule reads, or the error naming it.\n\
             #[inline]\n\
             fn given<T>(value: Option<T>, fact: &'static str) -> Result<T, DecideErrorKind> { value.ok_or(DecideErrorKind::AbsentFact { fact }) }\n\
             /// Puts the rule on an error of its condition or parameters.\n\
             fn at(rule: Rule) -> impl Fn(DecideErrorKind) -> DecideError { move |kind| DecideError { rule: Some(rule), kind } }\n",
        );
    }
}

fn default_fn(group: &str, field: &str) -> String {
    format!("default_{group}_{field}").replace("r#", "")
}

fn paren(c: Code, at_least: Prec) -> String {
    if c.prec >= at_least { c.text } else { format!("({})", c.text) }
}

fn int_lit(n: i64) -> String {
    if n == i64::MIN { "i64::MIN".into() } else { format!("{n}_i64") }
}

fn naive_date(d: Date) -> String {
    use chrono::Datelike;
    let n = d.to_naive();
    format!(
        "::chrono::NaiveDate::from_ymd_opt({}, {}, {}).unwrap_or(::chrono::NaiveDate::MIN)",
        n.year(),
        n.month(),
        n.day()
    )
}

fn opt_date(d: Option<Date>) -> String {
    use chrono::Datelike;
    match d {
        Some(d) => {
            let n = d.to_naive();
            format!("::chrono::NaiveDate::from_ymd_opt({}, {}, {})", n.year(), n.month(), n.day())
        }
        None => "None".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use crate::codegen::{Options, generate};
    use crate::policy::Policy;

    const NO_LIST: &str = r#"
        enum Size { small, large }
        facts order { size: Size  weight: int? }
        action send(express: bool) "Send it."
        rule big { when order.size == large and order.weight > 10 then send(express: false) reason "Heavy." }
        rule other { then send(express: true) reason "Light." }
    "#;

    /// Without an `each` group a document is one entry: `decide` takes the groups, and
    /// `Document::decide` gives one result.
    #[test]
    fn a_policy_without_entries_decides_the_document() {
        let code = generate(&Policy::from_text("p.handover", NO_LIST).unwrap(), Options::default()).unwrap();
        assert!(
            code.contains(
                "pub fn decide(\n    order: &Order,\n    as_of: ::chrono::NaiveDate,\n) -> Result<Verdict, DecideError>"
            ),
            "{code}"
        );
        assert!(
            code.contains("pub fn decide(&self, as_of: ::chrono::NaiveDate) -> Result<Verdict, DecideError>"),
            "{code}"
        );
        assert!(code.contains("given(facts.order.weight, \"order.weight\")?"), "{code}");
    }

    /// A group named like a helper `decide` calls would hide it: refused by name.
    #[test]
    fn a_group_named_like_a_helper_is_refused() {
        let text = NO_LIST.replace("order", "at");
        let e = generate(&Policy::from_text("p.handover", &text).unwrap(), Options::default()).unwrap_err();
        assert_eq!(e.code(), "codegen::name-clash", "{e}");
    }
}
