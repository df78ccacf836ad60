//! Output: the result of a run as documents people and programs read.

pub mod jsonl;
