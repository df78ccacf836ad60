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
