//! handover: a policy engine that tells a Microsoft CSP partner, subscription by subscription,
//! what to do when it takes over a customer's subscriptions bought elsewhere.
//!
//! The decisions are not in this crate's code: they are a policy written in a small declarative
//! language (the shipped one lives in `rules/` and is embedded as [`Policy::builtin`]). A policy
//! goes through one stage per module, in one direction:
//!
//! text → [`language`] (pest grammar, AST, checker: names, types, every problem at once) →
//! `compile` (slots, enum bit-sets, folded constants) → [`analysis`] (the exploration of the
//! fact space that builds the decision diagram and finds gaps and dead rules) → [`eval`] (pure,
//! first match wins) → a [`Verdict`].
//!
//! Facts arrive at the edge through [`facts`] (YAML, JSON, JSON Lines, CSV, or any
//! `serde::Serialize` value), validated against the schema the policy declares. [`Policy`] ties
//! the stages together; [`output`] renders results (human, JSON, JSON Lines, YAML) for any front
//! end, [`batch`] streams large inventories, [`testing`] runs a policy's test cases.
//!
//! # Example
//!
//! ```
//! use handover::{Policy, facts::Format, value::Date};
//!
//! let policy = Policy::builtin().expect("the shipped policy checks");
//! let facts = include_str!("../examples/contoso.yaml"); // as_of: 2024-03-15
//! let today = Date::parse("2026-01-01").unwrap();
//! let records = policy.evaluate_text(facts, Format::Yaml, "contoso.yaml", None, today);
//!
//! let (as_of, first) = &records[0];
//! assert_eq!(as_of.to_string(), "2024-03-15");
//! assert_eq!(first.key.as_deref(), Some("contoso-m365"));
//! let decision = first.outcome.as_ref().expect("decided");
//! assert_eq!(decision.action, "wait_for_term_end_or_cancel");
//! assert_eq!(decision.params["days_left"], 107);
//! assert_eq!(decision.rule, "license_elsewhere_term_running");
//! println!("{}", decision.reason);
//! ```
//!
//! # Facts from Rust values
//!
//! Facts held in Rust values need no text: any `serde::Serialize` value (a struct, a map, a
//! `serde_json::Value`) is checked against the policy's schema exactly like a fact file with the
//! same content (the same errors, the same defaults) by [`Policy::evaluate_value`] and
//! [`Policy::document_from_value`]. Enum facts can be Rust enums of unit variants, named as the
//! policy names the values.
//!
//! ```
//! use handover::{Date, Policy};
//! use serde::Serialize;
//!
//! #[derive(Serialize)]
//! struct Facts {
//!     partner: Partner,
//!     subscriptions: Vec<Subscription>,
//! }
//! #[derive(Serialize)]
//! struct Partner {
//!     role: Role,
//! }
//! #[derive(Serialize)]
//! #[serde(rename_all = "snake_case")]
//! enum Role {
//!     SalesAgent,
//! }
//! #[derive(Serialize)]
//! #[serde(rename_all = "snake_case")]
//! enum Channel {
//!     CspPartner,
//!     EnterpriseAgreement,
//! }
//! #[derive(Serialize)]
//! struct Subscription {
//!     id: String,
//!     service: &'static str,
//!     channel: Channel,
//!     term_end: Option<Date>,
//! }
//!
//! let policy = Policy::builtin().expect("the shipped policy checks");
//! let today = Date::parse("2024-03-15").unwrap();
//! let facts = Facts {
//!     partner: Partner { role: Role::SalesAgent },
//!     subscriptions: vec![
//!         Subscription { id: "m365".into(), service: "license_based", channel: Channel::CspPartner, term_end: Date::parse("2024-06-30") },
//!         Subscription { id: "dynamics".into(), service: "licence_based", channel: Channel::EnterpriseAgreement, term_end: None },
//!     ],
//! };
//! let records = policy.evaluate_value(&facts, "crm", None, today);
//!
//! // Defaults apply as in a file (`partner.type`, `customer.*`); the first entry is decided.
//! let (as_of, first) = &records[0];
//! assert_eq!(*as_of, today);
//! assert_eq!(first.outcome.as_ref().expect("decided").rule, "license_elsewhere_term_running");
//! // A bad value is a fact error naming the field, with a suggestion, as in a file.
//! let (_, second) = &records[1];
//! let error = second.outcome.as_ref().unwrap_err().to_string();
//! assert!(error.contains("subscriptions[1].service: unknown value `licence_based`"), "{error}");
//! assert!(error.contains("did you mean `license_based`?"), "{error}");
//! ```
//!
//! For one decision without any text parsing or checking, build the slot vectors yourself (see
//! [`Policy::evaluate`], unchecked) or read a document once with [`facts::parse`] or
//! [`facts::from_value`] and call [`Policy::records`].
//!
//! # Features
//!
//! - `cli` (default): the `handover` binary and `handover::cli` (clap, indicatif, colours, mimalloc),
//!   and [`lsp`], the language server behind `handover lsp` (lsp-server, lsp-types); implies `fancy`.
//! - `fancy`: [`LoadError::render`] and [`diagnostic::render`] draw miette's graphical snippets;
//!   without it they write the same diagnostics as plain text (code, message, `file:line:col`,
//!   labels, help, the source lines).
//! - `parallel` (default): [`batch`] decides each chunk on all cores (rayon); without it, in the
//!   calling thread, with the same output in the same order.
//!
//! A program that only wants verdicts depends on `handover` with `default-features = false`.

#![forbid(unsafe_code)]
// No input may panic: besides `unwrap`/`expect`/`panic!` (denied in Cargo.toml), indexing and
// string slicing are denied in the library; lookups use `get`.
#![deny(clippy::indexing_slicing, clippy::string_slice)]

// Foundations, shared by every stage.
pub mod diagnostic;
pub mod source;
pub mod value;

// The stages, in the order a policy goes through them; each depends only on those above it.
pub mod analysis;
mod compile;
pub mod eval;
pub mod facts;
pub mod language;

// The front door: a loaded policy, and what is built on it.
pub mod batch;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "codegen")]
pub mod codegen;
#[cfg(feature = "cli")]
pub mod lsp;
pub mod output;
pub mod policy;
#[cfg(feature = "serve")]
pub mod serve;
pub mod testing;

pub use policy::{LoadError, Policy};

/// The example of the README's "Using the library" section (extracted by `build.rs`), run as a
/// doctest so that it keeps compiling and working.
#[cfg(doctest)]
#[doc = include_str!(concat!(env!("OUT_DIR"), "/readme_library.md"))]
pub struct ReadmeLibraryExample;
pub use eval::verdict::{Decision, EntryError, ParamValue, Record, Verdict};
pub use eval::{EvalError, EvalErrorKind};
pub use facts::{FactError, FactErrorKind};
pub use value::{Date, Value};
