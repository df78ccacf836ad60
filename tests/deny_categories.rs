//! `check --deny` by category, and the `requires` clause that marks an optional fact a rule reads
//! on purpose: with `--deny absent-reads` an unmarked read of a fact that can be absent fails
//! `check`; the shipped policy marks its one such read and passes; the marker changes no verdict.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "../benches/common/mod.rs"]
mod common;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MARKER: &str = "    requires subscription.term_end\n";

/// An empty scratch folder of its own for one test (tests run in parallel).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deny_categories").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the shipped rules into `dir`, with `edit` applied to the rules file.
fn shipped_into(dir: &Path, edit: impl Fn(&str) -> String) {
    for name in ["actions.handover", "multichannel.handover", "schema.handover", "since-2024.handover"] {
        let text = std::fs::read_to_string(Path::new(ROOT).join("rules").join(name)).unwrap();
        let text = if name == "multichannel.handover" { edit(&text) } else { text };
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// The shipped rules file without the `requires` marker.
fn unmarked(text: &str) -> String {
    assert!(text.contains(MARKER), "the shipped policy marks its read of term_end");
    text.replacen(MARKER, "", 1)
}

/// Runs the binary in `dir` without colour.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn shipped_policy_passes_with_warnings_and_absent_reads_denied() {
    for args in [
        &["check", "--deny", "warnings", "--deny", "absent-reads"][..],
        &["check", "--deny", "warnings,absent-reads"],
        &["check", "--deny", "absent-reads", "--rules", "rules"],
    ] {
        let out = run_in(Path::new(ROOT), args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{args:?}: nothing to report");
        assert_eq!(
            text(&out.stdout),
            "21 rules: complete (every fact combination is decided), no dead rules, 0 warning(s); 8 advice \
             note(s) (overlaps, absent facts): see --verbose\n",
            "{args:?}"
        );
    }
    // Nor does the marked read show up as advice.
    let out = run_in(Path::new(ROOT), &["check", "--verbose", "--format", "json"]);
    assert!(!text(&out.stdout).contains("check::absent-read"), "{}", text(&out.stdout));
}

#[test]
fn without_the_marker_denied_absent_reads_fail_and_are_shown_without_verbose() {
    let dir = scratch("unmarked-human");
    shipped_into(&dir, unmarked);
    let out = run_in(&dir, &["check", "--rules", ".", "--deny", "warnings", "--deny", "absent-reads"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stdout), @"21 rules: complete (every fact combination is decided), no dead rules, 0 warning(s), 1 absent read(s) denied (--deny absent-reads); 8 advice note(s) (overlaps, absent facts): see --verbose");
    // Only the denied read is shown: the overlaps stay advice behind --verbose.
    insta::assert_snapshot!(text(&out.stderr));

    // Not denied, the same read is advice only and `check` passes, as before.
    let out = run_in(&dir, &["check", "--rules", ".", "--deny", "warnings"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert!(text(&out.stdout).contains("9 advice note(s)"), "{}", text(&out.stdout));
}

#[test]
fn json_marks_the_denied_diagnostic() {
    let dir = scratch("unmarked-json");
    shipped_into(&dir, unmarked);
    let out = run_in(&dir, &["check", "--rules", ".", "--deny", "absent-reads", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    let denied: Vec<&serde_json::Value> =
        doc["diagnostics"].as_array().unwrap().iter().filter(|d| d.get("denied").is_some()).collect();
    assert_eq!(denied.len(), 1, "{doc:#}");
    insta::assert_json_snapshot!(denied[0]);
    // Diagnostics of categories not denied carry no marker and keep their severity.
    let overlaps: Vec<_> =
        doc["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "check::overlap").collect();
    assert!(!overlaps.is_empty());
    assert!(overlaps.iter().all(|d| d["severity"] == "advice" && d.get("denied").is_none()));

    // Denied warnings are marked too.
    let dir = scratch("gap-json");
    shipped_into(&dir, |t| {
        // The rule is the last of the 2020 block: the block is closed after what is kept.
        let start = t.find("rule azure_from_csp_partner {").unwrap();
        format!("{}}}\n", &t[..start])
    });
    let out = run_in(&dir, &["check", "--rules", ".", "--deny", "warnings", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gaps: Vec<_> = doc["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "check::gap").collect();
    assert!(!gaps.is_empty());
    assert!(gaps.iter().all(|d| d["denied"] == "warnings" && d["severity"] == "warning"), "{doc:#}");
}

#[test]
fn unknown_deny_category_is_a_usage_error() {
    let out = run_in(Path::new(ROOT), &["check", "--deny", "absent"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("[possible values: warnings, absent-reads]"), "{err}");
}

#[test]
fn check_help_teaches_deny_and_requires() {
    let out = run_in(Path::new(ROOT), &["check", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for want in
        ["--deny warnings --deny absent-reads", "--deny warnings,absent-reads", "requires subscription.term_end"]
    {
        assert!(help.contains(want), "`{want}` missing from:\n{help}");
    }
}

/// A small policy with one optional fact, for the checks of the clause itself.
fn with_rule(rule: &str) -> String {
    format!(
        "facts g {{\n    a: int?\n    b: int\n    c: int?\n}}\naction go \"Go.\"\n{rule}rule rest {{\n    then go\n    \
         reason \"r\"\n}}\n"
    )
}

#[test]
fn requires_names_an_optional_fact_the_rule_reads() {
    let dir = scratch("requires-checks");
    let cases = [
        ("unknown", "rule r {\n    requires g.aa\n    when g.a > 1\n    then go\n    reason \"r\"\n}\n", 2),
        ("not_optional", "rule r {\n    requires g.b\n    when g.b > 1\n    then go\n    reason \"r\"\n}\n", 0),
        ("unread", "rule r {\n    requires g.c\n    when g.a > 1\n    then go\n    reason \"r\"\n}\n", 0),
        ("twice", "rule r {\n    requires g.a, g.a\n    when g.a > 1\n    then go\n    reason \"r\"\n}\n", 0),
        ("present_only", "rule r {\n    requires g.a\n    when present(g.a)\n    then go\n    reason \"r\"\n}\n", 0),
    ];
    let mut report = String::new();
    for (name, rule, status) in cases {
        let file = dir.join(format!("{name}.handover"));
        std::fs::write(&file, with_rule(rule)).unwrap();
        let out = run_in(&dir, &["check", "--rules", &format!("{name}.handover")]);
        assert_eq!(out.status.code(), Some(status), "{name}: {}", text(&out.stderr));
        // Each warning fails `check --deny warnings`.
        if status == 0 {
            let denied = run_in(&dir, &["check", "--rules", &format!("{name}.handover"), "--deny", "warnings"]);
            assert_eq!(denied.status.code(), Some(1), "{name}");
        }
        report.push_str(&format!("---- {name} (exit {status})\n{}", text(&out.stderr)));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn requires_silences_only_its_own_fact_and_rule() {
    let dir = scratch("requires-scope");
    // `s` reads `g.a` unguarded when `g.b` is 0; `r` requires `g.a` (read when `g.b` is not 0)
    // but also reads `g.c` unguarded.
    let policy = with_rule(
        "rule s {\n    when g.b == 0 and g.a > 0\n    then go\n    reason \"s\"\n}\nrule r {\n    requires g.a\n    \
         when g.a > 1 and g.c > 1\n    then go\n    reason \"r\"\n}\n",
    );
    std::fs::write(dir.join("p.handover"), policy).unwrap();
    let out = run_in(&dir, &["check", "--rules", "p.handover", "--format", "json", "--deny", "absent-reads"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut reads: Vec<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "check::absent-read")
        .map(|d| d["message"].as_str().unwrap().to_string())
        .collect();
    reads.sort();
    assert_eq!(
        reads,
        [
            "rule `r` reads `g.c`, which can be absent here; such entries are errors",
            "rule `s` reads `g.a`, which can be absent here; such entries are errors",
        ]
    );
}

#[test]
fn requires_stays_usable_as_a_name() {
    let dir = scratch("requires-name");
    let policy = "facts requires {\n    requires: int?\n}\n\naction requires\n    \"Go.\"\n\nrule requires {\n    \
                  requires requires.requires\n    when requires.requires > 1\n    then requires\n    reason \"r\"\n}\n\n\
                  rule rest {\n    then requires\n    reason \"r\"\n}\n";
    std::fs::write(dir.join("p.handover"), policy).unwrap();
    let out = run_in(&dir, &["check", "--rules", "p.handover", "--deny", "warnings,absent-reads"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // And the formatter keeps it as written.
    let out = run_in(&dir, &["fmt", "--check", "p.handover"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// Every combination of the shipped facts (term ends absent, past, today and ahead), as CSV.
fn fact_grid() -> String {
    let roles = ["global_admin", "admin_agent"];
    let types = ["direct_bill", "indirect_reseller"];
    let clouds = ["commercial", "us_government"];
    let bools = ["false", "true"];
    let services = ["license_based", "usage_based"];
    let channels = common::CHANNELS;
    let terms = ["", "2024-03-14", "2024-03-15", "2025-01-01"];
    let mut out = String::from(
        "partner.role,partner.type,customer.cloud,customer.is_csp_partner,customer.csp_transaction_tenant,\
         subscription.id,subscription.service,subscription.channel,subscription.term_end,subscription.cancelled\n",
    );
    let mut n = 0;
    for role in roles {
        for ty in types {
            for cloud in clouds {
                for csp in bools {
                    for tenant in bools {
                        for service in services {
                            for channel in channels {
                                for term in terms {
                                    for cancelled in ["", "false", "true"] {
                                        n += 1;
                                        out.push_str(&format!(
                                            "{role},{ty},{cloud},{csp},{tenant},s{n},{service},{channel},{term},{cancelled}\n"
                                        ));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_marker_changes_no_verdict_and_no_error() {
    let marked = scratch("semantics-marked");
    let plain = scratch("semantics-plain");
    shipped_into(&marked, str::to_string);
    shipped_into(&plain, unmarked);
    let grid = fact_grid();
    std::fs::write(marked.join("grid.csv"), &grid).unwrap();
    std::fs::write(plain.join("grid.csv"), &grid).unwrap();
    let args = ["eval", "--rules", ".", "--as-of", "2024-03-15", "--format", "jsonl", "grid.csv"];
    let a = run_in(&marked, &args);
    let b = run_in(&plain, &args);
    assert_eq!(a.status.code(), Some(1), "entries without a term end are errors: {}", text(&a.stderr));
    assert_eq!(a.status.code(), b.status.code());
    assert_eq!(a.stderr, b.stderr);
    let (a, b) = (text(&a.stdout), text(&b.stdout));
    assert_eq!(a.lines().count(), grid.lines().count() - 1);
    assert!(a == b, "verdicts differ with and without `requires`");
    // The intended errors are there, each at the marked rule.
    let errors: Vec<&str> = a.lines().filter(|l| l.contains("\"error\"")).collect();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|l| l.contains("rule `license_elsewhere_term_running` needs `subscription.term_end`")),
        "{}",
        errors.first().unwrap()
    );
}
