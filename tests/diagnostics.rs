//! Every policy diagnostic, one broken policy per file in `tests/cases/policies/`.
//!
//! Each case is loaded under its bare file name (so the snapshots do not depend on where the
//! checkout lives) and its rendered, colourless report is snapshotted. A case must fail to load;
//! the only exceptions are files named `warning_*`, which must load and produce warnings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use handover::Policy;
use handover::diagnostic::render;

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).expect("case file names are UTF-8")
}

#[test]
fn policy_diagnostics() {
    insta::glob!("cases/policies/*.handover", |path| {
        let name = file_name(path);
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.starts_with('#'), "{name}: a case starts with a `#` line saying what it tests");
        let rendered = match Policy::from_text(name, &text) {
            Ok(policy) => {
                assert!(name.starts_with("warning_"), "{name}: the policy loaded, but it should not");
                assert!(!policy.warnings().is_empty(), "{name}: expected at least one warning");
                render(policy.warnings(), policy.sources(), false)
            }
            Err(err) => {
                assert!(!name.starts_with("warning_"), "{name}: a warning case must load:\n{}", err.render(false));
                err.render(false)
            }
        };
        insta::assert_snapshot!(rendered);
    });
}

/// The case that packs three independent mistakes into one file must report all three.
#[test]
fn several_errors_are_all_reported() {
    let name = "several_errors.handover";
    let text = std::fs::read_to_string(Path::new("tests/cases/policies").join(name)).unwrap();
    let err = Policy::from_text(name, &text).expect_err("several_errors.handover should not load");
    let rendered = err.render(false);
    for code in ["check::unknown-fact", "check::unknown-enum-value", "check::missing-parameter"] {
        assert_eq!(rendered.matches(code).count(), 1, "{code} once in:\n{rendered}");
    }
    assert!(rendered.ends_with("error: the policy has 3 errors\n"), "{rendered}");
}
