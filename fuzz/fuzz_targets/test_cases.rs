//! Arbitrary text as a policy test-case file (`handover test`) for the shipped policy: reading
//! it never panics or hangs, and a file that reads gives one result per case, each either
//! passed or with at least one line saying what differs.

#![no_main]

mod common;

use handover::testing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let policy = common::builtin();
    let Ok(cases) = testing::parse_cases(policy, text, "cases.yaml") else { return };
    let report = testing::run(policy, &cases, common::today());
    assert_eq!(report.results.len(), cases.len(), "one result per case");
    assert!(report.results.iter().all(|r| r.failure.as_ref().is_none_or(|f| !f.is_empty())), "a failure says why");
    let covered: usize = report.coverage.iter().map(|(_, n)| n).sum();
    assert!(covered <= cases.len(), "a case covers at most one rule");
    assert_eq!(report.passed() + report.failed(), cases.len());
});
