//! End-to-end tests of the policy authors' tools, through the real `handover` binary:
//! `handover test` (cases, failure reports, coverage, cases beside a policy), `handover explain`
//! (human and JSON, a decided and an undecidable entry), `handover fmt` (`--check`, rewriting,
//! standard input), and the library's `testing::snapshot` helper as an author's crate uses it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use handover::{Date, Policy};

// ---- helpers -------------------------------------------------------------------------------

/// Runs the binary in the crate's folder, without colour, feeding `stdin`.
fn handover(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Asserts the exit status, showing both streams when it differs.
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "\n--- stdout\n{}--- stderr\n{}", stdout(o), stderr(o));
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An empty scratch folder of its own for one test (tests run in parallel).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("authoring").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies `rules/*.handover` into `dir`; returns the copied (name, text) pairs.
fn copy_rules(dir: &Path) -> Vec<(String, String)> {
    let mut copied = Vec::new();
    for entry in std::fs::read_dir(manifest_dir().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "handover") {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(dir.join(&name), &text).unwrap();
            copied.push((name, text));
        }
    }
    copied.sort();
    assert!(copied.len() >= 3, "the shipped policy files: {copied:?}");
    copied
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The number of cases in `rules/tests/multichannel.yaml`, counted from the file itself.
fn builtin_case_count() -> usize {
    ["multichannel.yaml", "since-2024.yaml"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(manifest_dir().join("rules/tests").join(name)).unwrap();
            let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            doc["cases"].as_sequence().expect("a `cases` list").len()
        })
        .sum()
}

fn builtin_rule_ids() -> Vec<String> {
    Policy::builtin().unwrap().rule_ids().map(str::to_string).collect()
}

/// `rules/actions.handover` with its layout spoiled: same tokens and comments, other whitespace
/// (descriptions on the header line, strings wrapped elsewhere, blanks around `:`).
fn unformatted_actions() -> (String, String) {
    let canonical = std::fs::read_to_string(manifest_dir().join("rules/actions.handover")).unwrap();
    let spoiled = canonical
        .replace("\naction ", "\naction   ")
        .replace("\n    \"", " \"")
        .replace(": bool", " :bool")
        .replace("\n     ", "\n  ");
    assert_ne!(spoiled, canonical);
    (canonical, spoiled)
}

// ---- handover test ---------------------------------------------------------------------------

#[test]
fn test_runs_the_builtin_cases() {
    let cases = builtin_case_count();
    assert_eq!(cases, 49, "rules/tests/multichannel.yaml or since-2024.yaml changed: update this test");
    let rules = builtin_rule_ids();

    let out = handover(&["test"], None);
    assert_exit(&out, 0);
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last().copied(), Some("49 passed, 0 failed"), "{text}");
    assert_eq!(lines.last().copied(), Some(format!("{cases} passed, 0 failed").as_str()));
    assert_eq!(lines.iter().filter(|l| l.starts_with("ok ")).count(), cases, "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    // Each case is named with its file.
    assert!(
        text.contains("ok    rules/tests/multichannel.yaml: an admin agent may not take over subscriptions"),
        "{text}"
    );
    let coverage = format!("coverage: every rule ({}) is exercised", rules.len());
    assert!(lines.contains(&coverage.as_str()), "no line `{coverage}` in\n{text}");
}

#[test]
fn test_reports_failures_with_expected_and_actual() {
    let out = handover(&["test", "tests/cases/testcases/failing.yaml"], None);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("1 passed, 4 failed"), "{text}");
    assert_eq!(text.lines().last(), Some("1 passed, 4 failed"));
    assert_eq!(text.lines().filter(|l| l.starts_with("FAIL ")).count(), 4, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn test_coverage_as_json() {
    let out = handover(&["test", "--coverage", "json"], None);
    assert_exit(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON on stdout");
    assert_eq!(json["uncovered"], serde_json::json!([]));
    assert_eq!(json["passed"], builtin_case_count());
    assert_eq!(json["failed"], 0);
    let rules = json["rules"].as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(names, builtin_rule_ids(), "every rule, in policy order");
    assert!(rules.iter().all(|r| r["cases"].as_u64().unwrap() >= 1), "{json:#}");
    // Every case but the three expecting an error (a running term without its end, in each
    // period and on the last day of the 2020 rules) is decided by some rule.
    let decided: u64 = rules.iter().map(|r| r["cases"].as_u64().unwrap()).sum();
    assert_eq!(decided, builtin_case_count() as u64 - 3, "{json:#}");
}

#[test]
fn test_coverage_as_json_names_the_rules_not_exercised() {
    let out = handover(&["test", "--coverage", "json", "tests/cases/testcases/failing.yaml"], None);
    assert_exit(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((json["passed"].as_u64(), json["failed"].as_u64()), (Some(1), Some(4)));
    assert_eq!(
        json["uncovered"],
        serde_json::json!([
            "role_not_allowed",
            "csp_customer_transaction_tenant",
            "unknown_channel",
            "syndication",
            "license_elsewhere_term_over",
            "azure_from_other_channels",
            "role_not_allowed_since_2024",
            "csp_customer_transaction_tenant_since_2024",
            "unknown_channel_since_2024",
            "syndication_since_2024",
            "license_from_microsoft_channels_since_2024",
            "transfer_needs_admin_agent",
            "license_partner_transfer",
            "license_elsewhere_term_running_since_2024",
            "license_elsewhere_term_over_since_2024",
            "azure_partner_transfer",
            "azure_billing_ownership_transfer",
            "azure_new_subscription_since_2024"
        ])
    );
}

#[test]
fn test_finds_the_cases_beside_a_policy() {
    let dir = scratch("cases_beside_policy");
    copy_rules(&dir);
    std::fs::create_dir(dir.join("tests")).unwrap();
    std::fs::copy(manifest_dir().join("tests/cases/authoring/beside_policy.yaml"), dir.join("tests/beside.yaml"))
        .unwrap();

    let out = handover(&["test", "--rules", path_str(&dir)], None);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let file = dir.join("tests/beside.yaml");
    let file = file.display();
    assert!(text.contains(&format!("ok    {file}: Azure from another CSP partner")), "{text}");
    assert!(text.contains(&format!("ok    {file}: term still running")), "{text}");
    assert!(!text.contains("multichannel.yaml"), "the built-in cases must not run with --rules:\n{text}");
    assert!(
        text.contains(&format!(
            "coverage: 2 of {} rules exercised; not exercised: role_not_allowed,",
            builtin_rule_ids().len()
        )),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("2 passed, 0 failed"));
}

#[test]
fn test_without_cases_beside_the_policy_says_so() {
    let dir = scratch("no_cases_beside_policy");
    copy_rules(&dir);
    let out = handover(&["test", "--rules", path_str(&dir)], None);
    assert_exit(&out, 2);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no test cases found"), "{}", stderr(&out));
}

// ---- handover explain ------------------------------------------------------------------------

#[test]
fn explain_a_decided_entry() {
    let out = handover(&["explain", "examples/contoso.yaml", "--subscription", "contoso-m365"], None);
    assert_exit(&out, 0);
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    assert!(text.starts_with("contoso-m365  (Contoso, examples/contoso.yaml, as of 2024-03-15)\n"), "{text}");
    assert!(text.contains("license_elsewhere_term_running  matched → wait_for_term_end_or_cancel"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn explain_a_decided_entry_as_json() {
    let out =
        handover(&["explain", "examples/contoso.yaml", "--subscription", "contoso-m365", "--format", "json"], None);
    assert_exit(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let items = json.as_array().expect("one item per entry");
    assert_eq!(items.len(), 1, "only the entry asked for");
    let item = &items[0];
    assert_eq!(item["key"], "contoso-m365");
    assert_eq!(item["source"], "examples/contoso.yaml");
    assert_eq!(item["as_of"], "2024-03-15");
    let x = &item["explanation"];
    assert_eq!(x["rule"], "license_elsewhere_term_running");
    assert_eq!(x["action"], "wait_for_term_end_or_cancel");
    assert_eq!(x["error"], serde_json::Value::Null);

    // Rules are tried in order up to the deciding one: every earlier one did not match.
    let tried = x["rules"].as_array().unwrap();
    let ids = builtin_rule_ids();
    let names: Vec<&str> = tried.iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(names, ids[..names.len()].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(names.last().copied(), Some("license_elsewhere_term_running"));
    assert!(tried[..tried.len() - 1].iter().all(|r| r["matched"] == false), "{x:#}");
    let decider = tried.last().unwrap();
    assert_eq!(decider["matched"], true);
    assert!(decider["conditions"].as_array().unwrap().iter().all(|c| c["value"] == true), "{decider:#}");

    // One-fact changes: cancelling the old subscription ends the wait.
    let changes = x["changes"].as_array().unwrap();
    let cancelled = changes.iter().find(|c| c["fact"] == "subscription.cancelled");
    assert!(cancelled.is_some(), "no change of subscription.cancelled in {changes:#?}");
    let cancelled = cancelled.unwrap();
    assert_eq!(cancelled["from"], "false");
    assert_eq!(cancelled["to"], "true");
    assert_eq!(cancelled["action"], "request_reseller_relationship");
    assert_eq!(cancelled["rule"], "license_elsewhere_term_over");
    // Every change listed gives another action than the current one.
    assert!(changes.iter().all(|c| c["action"] != "wait_for_term_end_or_cancel"), "{changes:#?}");
}

#[test]
fn explain_an_entry_that_cannot_be_evaluated() {
    let out = handover(&["explain", "tests/cases/authoring/no_term_end.yaml"], None);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("subscription.term_end"), "{text}");
    assert!(text.contains("license_elsewhere_term_running  error"), "{text}");
    assert!(text.contains("  error: rule `license_elsewhere_term_running` needs `subscription.term_end`"), "{text}");

    let out = handover(&["explain", "--format", "json", "tests/cases/authoring/no_term_end.yaml"], None);
    assert_exit(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let x = &json[0]["explanation"];
    assert_eq!(json[0]["key"], "fabrikam-m365");
    assert_eq!(x["action"], serde_json::Value::Null);
    assert_eq!(x["rule"], serde_json::Value::Null);
    assert!(x["error"].as_str().unwrap().contains("subscription.term_end"), "{x:#}");
    let last = x["rules"].as_array().unwrap().last().unwrap();
    assert_eq!(last["rule"], "license_elsewhere_term_running");
    assert_eq!(last["matched"], serde_json::Value::Null);
    let failing = last["conditions"].as_array().unwrap().last().unwrap();
    assert_eq!(failing["text"], "as_of <= subscription.term_end");
    assert_eq!(failing["value"], serde_json::Value::Null);
    assert!(failing["facts"].to_string().contains(r#"["subscription.term_end","absent"]"#), "{failing:#}");
}

#[test]
fn explain_an_unknown_subscription_id() {
    let out = handover(&["explain", "examples/contoso.yaml", "--subscription", "no-such-id"], None);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("no entry with id `no-such-id`"), "{}", stderr(&out));
}

// ---- handover fmt ----------------------------------------------------------------------------

#[test]
fn fmt_check_accepts_the_shipped_rules() {
    let out = handover(&["fmt", "--check", "rules"], None);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
}

#[test]
fn fmt_check_lists_unformatted_files_and_fmt_rewrites_them() {
    let dir = scratch("fmt_rewrite");
    let copied = copy_rules(&dir);
    let (canonical, spoiled) = unformatted_actions();
    let target = dir.join("actions.handover");
    std::fs::write(&target, &spoiled).unwrap();

    // --check lists exactly the unformatted file and changes nothing.
    let out = handover(&["fmt", "--check", path_str(&dir)], None);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), format!("{}\n", target.display()));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), spoiled, "--check must not write");
    // A file named directly is checked too.
    let out = handover(&["fmt", "--check", path_str(&target)], None);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), format!("{}\n", target.display()));

    // Formatting rewrites it into the canonical layout: the shipped file, byte for byte.
    let out = handover(&["fmt", path_str(&target)], None);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains(&format!("formatted {}", target.display())), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), canonical);

    let out = handover(&["fmt", "--check", path_str(&dir)], None);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    // The files that were formatted already were left alone.
    for (name, text) in copied {
        assert_eq!(std::fs::read_to_string(dir.join(&name)).unwrap(), text, "{name}");
    }
}

#[test]
fn fmt_formats_standard_input() {
    let (canonical, spoiled) = unformatted_actions();
    let out = handover(&["fmt", "-"], Some(&spoiled));
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), canonical);
    assert_eq!(stderr(&out), "");

    // Formatted input comes back unchanged.
    let out = handover(&["fmt", "-"], Some(&canonical));
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), canonical);
}

#[test]
fn fmt_reports_a_syntax_error_on_standard_input() {
    let out = handover(&["fmt", "-"], Some("enum Channel { open,\n"));
    assert_exit(&out, 2);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains("parse::syntax"), "{err}");
    assert!(err.contains("<stdin>:2:1"), "{err}");
}

// ---- the library's snapshot helper -----------------------------------------------------------

/// How an author's crate pins every verdict of its fact files (`testing::snapshot`'s docs).
#[test]
fn library_snapshot_of_the_examples() -> Result<(), Box<dyn std::error::Error>> {
    let as_of = Date::parse("2024-03-15").ok_or("a date")?;
    insta::assert_yaml_snapshot!(handover::testing::snapshot(&Policy::builtin()?, "examples", as_of)?);
    Ok(())
}
