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

    /// The first date a fact file or `--as-of` can write: years have four digits.
    pub const FIRST_WRITABLE: Date = Date(-365); // 0000-01-01; year 0 is a leap year
    /// The last date a fact file or `--as-of` can write.
    pub const LAST_WRITABLE: Date = Date(3_652_059); // 9999-12-31

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
            && bytes.get(4) == Some(&b'-')
            && bytes.get(7) == Some(&b'-')
            && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return None;
        }
        // Digits only (checked above), so these cannot fail; a hand parse is much cheaper than
        // chrono's format-string parser, and this runs once per date in every fact file.
        let num = |r: std::ops::Range<usize>| text.get(r).and_then(|t| t.parse::<u32>().ok());
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d).map(Date::from_naive)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::Datelike;
        let d = self.to_naive();
        if (0..=9999).contains(&d.year()) {
            write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
        } else {
            write!(f, "{}", d.format("%Y-%m-%d"))
        }
    }
}

/// A date serialises as its `YYYY-MM-DD` text, as fact files write it.
impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
