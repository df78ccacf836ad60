//! Typed fact values, as the evaluator sees them.

use std::fmt;

use chrono::NaiveDate;

/// A calendar date, stored as days since 0001-01-01 (day 1) so that comparing and subtracting
/// dates is integer arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    pub fn from_naive(d: NaiveDate) -> Date {
        use chrono::Datelike;
        Date(d.num_days_from_ce())
    }

    /// The date `days` after day 1 (0001-01-01), if chrono can represent it.
    pub fn from_days(days: i64) -> Option<Date> {
        let days = i32::try_from(days).ok()?;
        NaiveDate::from_num_days_from_ce_opt(days).map(|_| Date(days))
    }

    pub fn days(self) -> i64 {
        i64::from(self.0)
    }

    pub fn to_naive(self) -> NaiveDate {
        // Every `Date` is built from a NaiveDate or checked by `from_days`, so this always succeeds;
        // the fallback keeps the function total anyway.
        NaiveDate::from_num_days_from_ce_opt(self.0).unwrap_or(NaiveDate::MIN)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        // Insist on the exact shape: chrono alone would also accept `2024-3-5`.
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return None;
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Date::from_naive)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_naive().format("%Y-%m-%d"))
    }
}

/// One fact's value. Enum values are their index in the enum's declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An optional fact that was not given.
    Absent,
    Bool(bool),
    Int(i64),
    Date(Date),
    Enum(u16),
    Text(Box<str>),
}
