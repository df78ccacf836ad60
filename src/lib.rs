pub mod ast;
pub mod check;
pub mod cli;
mod compile;
pub mod diagnostic;
pub mod eval;
pub mod facts;
pub mod parser;
pub mod policy;
pub mod schema;
pub mod source;
pub mod value;
pub mod verdict;

pub use policy::{LoadError, Policy};
