//! The library as an embedder sees it, and policies that cannot decide anything.
//!
//! - A policy with no rules (an empty file, only comments, only declarations, several files none
//!   of which has a rule) is refused with `check::no-rules` by the library and with exit 2 by
//!   every command that loads a policy; a folder without `.handover` files is refused too.
//! - `fmt` formats files, not policies: a file of declarations only (one file of a folder whose
//!   rules live in another) is still formatted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use handover::diagnostic::Severity;
use handover::language::check::NO_RULES;
use handover::{LoadError, Policy};

mod util;

const DECLARATIONS: &str = "enum Role {\n    admin,\n    other,\n}\n\nfacts partner {\n    role: Role\n}\n\n\
                            action proceed\n    \"Go ahead.\"\n";

const CATCH_ALL: &str = "rule anything {\n    then proceed\n    reason \"Every entry.\"\n}\n";

const FACTS: &str = "as_of: 2024-01-01\npartner: { role: admin }\n";

/// A scratch folder holding text files, removed when dropped.
fn scratch(name: &str, files: &[(&str, &str)]) -> util::Scratch {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
    util::Scratch::new(&format!("libfeat-{name}"), &files)
}

/// Runs the binary in `dir`; returns "exit N" and both streams.
fn run(dir: &Path, args: &[&str]) -> String {
    util::report(&util::run_in(dir, args, b"", std::time::Duration::from_secs(60)))
}

/// A policy on disk: a name for messages, its files, and the `--rules` argument.
type Case = (&'static str, Vec<(&'static str, String)>, &'static str);

/// The policies without rules.
fn ruleless() -> Vec<Case> {
    vec![
        ("an empty file", vec![("p.handover", String::new())], "p.handover"),
        ("only comments", vec![("p.handover", "# rules to come\n\n# and more\n".into())], "p.handover"),
        ("only declarations", vec![("p.handover", DECLARATIONS.into())], "p.handover"),
        (
            "a folder of files without rules",
            vec![("policy/a.handover", DECLARATIONS.into()), ("policy/b.handover", "# nothing yet\n".into())],
            "policy",
        ),
    ]
}

fn codes(err: &LoadError) -> Vec<&'static str> {
    match err {
        LoadError::Invalid { diagnostics, .. } => diagnostics.iter().map(|d| d.code).collect(),
        other => panic!("expected an invalid policy, got {other}"),
    }
}

#[test]
fn the_library_refuses_a_policy_without_rules_by_kind_and_code() {
    for text in ["", "   \n", "# only a comment\n", DECLARATIONS] {
        let err = Policy::from_text("p.handover", text).expect_err("a policy without rules must not load");
        assert_eq!(codes(&err), [NO_RULES], "for {text:?}");
        let LoadError::Invalid { diagnostics, .. } = &err else { unreachable!() };
        assert_eq!(diagnostics[0].severity, Severity::Error);
        assert!(diagnostics[0].message.starts_with("the policy has no rules"), "{}", diagnostics[0].message);
        let shown = err.to_string();
        assert!(shown.starts_with("the policy has 1 error(s); the first: the policy has no rules"), "{shown}");
        assert!(shown.ends_with("[check::no-rules]"), "{shown}");
        let rendered = err.render(false);
        assert!(rendered.contains("check::no-rules"), "{rendered}");
        assert!(rendered.contains("add at least one `rule`"), "{rendered}");
    }
    // With one rule the same declarations load, and every entry is decided.
    let policy = Policy::from_text("p.handover", &format!("{DECLARATIONS}\n{CATCH_ALL}")).unwrap();
    assert_eq!(policy.rule_ids().collect::<Vec<_>>(), ["anything"]);
}

#[test]
fn the_no_rules_error_comes_with_the_other_problems() {
    // All problems at once: a bad declaration and the missing rules are both reported.
    let err = Policy::from_text("p.handover", "facts partner {\n    role: Nope\n}\n").unwrap_err();
    assert_eq!(codes(&err), [NO_RULES, "check::unknown-type"]);
    // A parse error stops before the check: only it is reported, not a missing rule.
    let err = Policy::from_text("p.handover", "rule {").unwrap_err();
    assert!(!codes(&err).contains(&NO_RULES), "{:?}", codes(&err));
}

#[test]
fn the_library_refuses_folders_without_rules_or_without_files() {
    for (name, files, rules) in ruleless() {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let dir = scratch(&format!("lib-{}", name.replace(' ', "-")), &files);
        let err = Policy::from_path(dir.path().join(rules)).expect_err(name);
        assert_eq!(codes(&err), [NO_RULES], "{name}");
    }
    let dir = scratch("lib-nofiles", &[("policy/notes.txt", "rule x { then y reason \"z\" }\n")]);
    let err = Policy::from_path(dir.path().join("policy")).unwrap_err();
    assert!(matches!(err, LoadError::NoFiles { .. }), "{err:?}");
    assert!(err.to_string().starts_with("no `.handover` files in `"), "{err}");
}

#[test]
fn every_command_refuses_a_policy_without_rules_with_exit_2() {
    let mut report = String::new();
    for (name, files, rules) in ruleless().into_iter().chain([(
        "a folder without .handover files",
        vec![("policy/notes.txt", "no policy here\n".to_string())],
        "policy",
    )]) {
        let mut files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        files.push(("facts.yaml", FACTS));
        files.push(("cases/one.yaml", "cases:\n  - name: one\n    partner: { role: admin }\n    expect: proceed\n"));
        let dir = scratch(&format!("bin-{}", name.replace([' ', '.'], "-")), &files);
        for args in [
            &["eval", "--rules", rules, "facts.yaml"][..],
            &["eval", "--rules", rules, "--format", "json", "facts.yaml"],
            &["check", "--rules", rules],
            &["check", "--rules", rules, "--format", "json"],
            &["explain", "--rules", rules, "facts.yaml"],
            &["test", "--rules", rules, "cases"],
        ] {
            let out = run(dir.path(), args);
            assert!(out.starts_with("exit 2\n"), "{name}: {args:?}: {out}");
            let expected =
                if name.contains("without .handover") { "no `.handover` files in" } else { "check::no-rules" };
            assert!(out.contains(expected), "{name}: {args:?}: {out}");
            report.push_str(&format!("## {name}: handover {}\n{out}\n", args.join(" ")));
        }
    }
    insta::assert_snapshot!(report);
}

#[test]
fn a_policy_with_one_catch_all_rule_decides_through_the_binary() {
    let policy = format!("{DECLARATIONS}\n{CATCH_ALL}");
    let dir = scratch("bin-catch-all", &[("p.handover", &policy), ("facts.yaml", FACTS)]);
    let out = run(dir.path(), &["eval", "--rules", "p.handover", "--format", "json", "facts.yaml"]);
    assert!(out.starts_with("exit 0\n"), "{out}");
    assert!(out.contains("\"action\": \"proceed\""), "{out}");
}

#[test]
fn fmt_still_formats_a_file_of_declarations_only() {
    // In a folder policy one file may hold only declarations; `fmt` works file by file.
    let dir = scratch("fmt-decl", &[("p.handover", DECLARATIONS), ("empty.handover", "")]);
    let out = run(dir.path(), &["fmt", "--check", "p.handover", "empty.handover"]);
    assert!(out.starts_with("exit 0\n"), "{out}");
}

/// A load error says what is wrong without dumping the policy: `Display` names the first error
/// and where it is, `Debug` is as short; an evaluation error is a `std::error::Error`.
#[test]
fn load_and_evaluation_errors_are_short_and_standard() {
    let text = format!(
        "{DECLARATIONS}\nrule r {{\n    when s.nope\n    then go\n    reason \"x\"\n}}\n{}",
        "# padding\n".repeat(2000)
    );
    let err = Policy::from_text("p.handover", &text).unwrap_err();
    let shown = err.to_string();
    assert!(shown.starts_with("the policy has "), "{shown}");
    assert!(shown.contains("the first: ") && shown.contains(" at p.handover:"), "{shown}");
    let debug = format!("{err:?}");
    assert!(debug.starts_with("Invalid {") && debug.contains("\"p.handover\""), "{debug}");
    assert!(debug.len() < 600 && !debug.contains("padding"), "{debug}");
    fn is_error<E: std::error::Error>() {}
    is_error::<handover::eval::EvalError>();
    is_error::<LoadError>();
}
