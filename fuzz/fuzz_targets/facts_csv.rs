//! Arbitrary bytes as a CSV fact file for the shipped policy: no panic, no lost record, the
//! fast JSON Lines output equal to the serialised records, diagram equal to interpreter, and
//! the CLI's streaming batch reader equal to `evaluate_text` (raw bytes, not only UTF-8). See
//! `common::check_facts`.

#![no_main]

mod common;

use handover::facts::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::fuzz_facts(data, Format::Csv);
});
