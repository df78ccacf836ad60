//! The policy language, from text to a checked policy: the pest grammar and the parser that
//! lowers its parse tree ([`parser`]), the syntax tree ([`ast`]), the checker that resolves names
//! and types and reports every problem at once ([`check`]), the fact schema a policy declares
//! ([`schema`]), the periods of dated rules ([`period`]), and the formatter ([`fmt`]).
//!
//! Nothing here evaluates anything: the output of this stage is a [`check::Checked`] policy,
//! which `compile` turns into slot-addressed operations.

pub mod ast;
pub mod check;
pub mod fmt;
pub mod parser;
pub mod schema;

/// The days a dated rule is in force (`in force from ... until ...`).
pub use check::period;
