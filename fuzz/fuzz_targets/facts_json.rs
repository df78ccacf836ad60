//! Arbitrary bytes as a JSON fact file for the shipped policy: no panic, no lost record, the
//! fast JSON Lines output equal to the serialised records, diagram equal to interpreter. See
//! `common::check_facts`.

#![no_main]

mod common;

use handover::facts::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::fuzz_facts(data, Format::Json);
});
