//! `handover diff`: what a change of the rules (or of the date) changes. Every reported witness is
//! evaluated here with both policies and must get different verdicts; when nothing is reported,
//! generated fact documents must get the same verdicts from both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use handover::analysis::diff::{ChangeKind, Diff, Side};
use handover::facts::Format;
use handover::{Date, Policy};
use proptest::prelude::*;

mod util;
use util::{Scratch, report, run_in};

#[path = "../benches/common/mod.rs"]
mod common;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const LIMIT: Duration = Duration::from_secs(120);
const BUDGET: usize = handover::analysis::DEFAULT_BUDGET;

fn shipped(file: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/rules/{file}")).unwrap()
}

/// The shipped schema and actions with these rules.
fn with_rules(rules: &str) -> Policy {
    with(&shipped("schema.handover"), rules)
}

fn with(schema: &str, rules: &str) -> Policy {
    let mut s = handover::source::Sources::new();
    s.add("schema.handover", schema.to_string());
    s.add("actions.handover", shipped("actions.handover"));
    s.add("rules.handover", rules.to_string());
    Policy::from_sources(s).map_err(|e| e.render(false)).unwrap()
}

/// The schema's line declaring `subscription.cancelled`, after which a fact is added.
fn cancelled_line(schema: &str) -> &str {
    schema.lines().find(|l| l.trim_start().starts_with("cancelled: bool")).unwrap()
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// What is compared of a verdict: the action and its parameters, or "error".
fn verdicts(p: &Policy, doc: &str, as_of: Option<Date>) -> Vec<String> {
    p.evaluate_text(doc, Format::Yaml, "witness", as_of, date("2024-03-15"))
        .into_iter()
        .map(|(_, r)| match r.outcome {
            Ok(d) => format!("{} {:?}", d.action, d.params),
            Err(handover::EntryError::Facts(e)) => panic!("the witness does not follow the schema: {e:?}\n{doc}"),
            Err(_) => "error".into(),
        })
        .collect()
}

/// Every reported witness gets different verdicts from the two sides.
fn assert_witnesses_differ(old: &Policy, new: &Policy, d: &Diff) {
    let (da, db) = d.dates.map_or((None, None), |(a, b)| (Some(a), Some(b)));
    for c in &d.changes {
        let (a, b) = (verdicts(old, &c.witness, da), verdicts(new, &c.witness, db));
        assert!(!a.is_empty(), "the witness has no entry:\n{}", c.witness);
        assert_ne!(a, b, "{} -> {}: the witness evaluates the same:\n{}", c.old, c.new, c.witness);
    }
}

fn diff(old: &Policy, new: &Policy) -> Diff {
    let d = old.diff(new, BUDGET);
    assert!(d.exhaustive, "{d:?}");
    assert_witnesses_differ(old, new, &d);
    d
}

fn rule_id(s: &Side) -> &str {
    match s {
        Side::Rule { id, .. } | Side::Error { rule: id, .. } => id,
        Side::NoRule => "",
    }
}

fn has(d: &Diff, old: &str, new: &str) -> bool {
    d.changes.iter().any(|c| rule_id(&c.old) == old && rule_id(&c.new) == new)
}

// ---- library ------------------------------------------------------------------------------

#[test]
fn identical_policies_have_no_difference() {
    let p = Policy::builtin().unwrap();
    let d = diff(&p, &p);
    assert!(!d.differs(), "{d:?}");
    assert!(d.changes.is_empty() && d.schema_changes.is_empty() && d.unconfirmed == 0, "{d:?}");
    assert!(d.regions > 0);
}

#[test]
fn a_changed_action_is_found_with_its_rule() {
    let rules = shipped("multichannel.handover");
    let old = with_rules(&rules);
    let edited = rules.replacen("    then not_applicable\n", "    then manual_review\n", 1);
    assert_ne!(edited, rules);
    let new = with_rules(&edited);
    let d = diff(&old, &new);
    assert_eq!(d.changes.len(), 1, "{d:#?}");
    let c = &d.changes[0];
    assert_eq!(c.kind, ChangeKind::Action);
    assert_eq!(rule_id(&c.old), "syndication");
    assert_eq!(c.old_verdict, "not_applicable");
    assert_eq!(c.new_verdict, "manual_review");
    assert!(c.witness.contains("channel: syndication"), "{}", c.witness);
}

#[test]
fn a_reordered_rule_changes_what_overlapping_rules_decide() {
    let rules = shipped("multichannel.handover");
    let start = rules.find("rule role_not_allowed").unwrap();
    let end = rules.find("rule csp_customer_transaction_tenant").unwrap();
    let block = &rules[start..end];
    // The role test moves below the unknown-channel rule.
    let without = format!("{}{}", &rules[..start], &rules[end..]);
    let at = without.find("rule syndication").unwrap();
    let edited = format!("{}{block}{}", &without[..at], &without[at..]);
    let d = diff(&with_rules(&rules), &with_rules(&edited));
    assert!(has(&d, "role_not_allowed", "unknown_channel"), "{d:#?}");
    assert!(has(&d, "role_not_allowed", "csp_customer_transaction_tenant"), "{d:#?}");
    // Nothing else moves: every change comes from the moved rule.
    assert!(d.changes.iter().all(|c| rule_id(&c.old) == "role_not_allowed"), "{d:#?}");
}

#[test]
fn a_changed_parameter_expression_is_found_only_where_it_differs() {
    let rules = shipped("multichannel.handover");
    let old = with_rules(&rules);
    let plus_one =
        rules.replacen("days_left: subscription.term_end - as_of,", "days_left: subscription.term_end - as_of + 1,", 1);
    assert_ne!(plus_one, rules);
    let d = diff(&old, &with_rules(&plus_one));
    assert_eq!(d.changes.len(), 1, "{d:#?}");
    assert_eq!(d.changes[0].kind, ChangeKind::Params(vec!["days_left".into()]));
    assert!(has(&d, "license_elsewhere_term_running", "license_elsewhere_term_running"));

    // Written differently, the same value: no difference.
    let same = rules.replacen(
        "days_left: subscription.term_end - as_of,",
        "days_left: (subscription.term_end + 7) - (as_of + 7),",
        1,
    );
    assert_ne!(same, rules);
    let d = diff(&old, &with_rules(&same));
    assert!(!d.differs(), "{d:#?}");
}

#[test]
fn a_changed_enum_value_in_a_condition_and_in_the_schema() {
    let rules = shipped("multichannel.handover");
    let old = with_rules(&rules);
    // `open` leaves the set of the Microsoft channels: open licenses then fall to no rule.
    let edited = rules.replacen(
        "[microsoft_direct, advisor, open, enterprise_agreement]\n",
        "[microsoft_direct, advisor, enterprise_agreement]\n",
        1,
    );
    assert_ne!(edited, rules);
    let d = diff(&old, &with_rules(&edited));
    assert!(!d.changes.is_empty());
    assert!(d.changes.iter().all(|c| c.witness.contains("channel: open")), "{d:#?}");
    assert!(has(&d, "license_from_microsoft_channels", ""), "{d:#?}");

    // A value added to the enum (and a rule for it): listed first; the verdicts are compared over
    // the values both declare, so the new rule changes nothing there.
    let schema = shipped("schema.handover");
    let more = schema.replacen(
        "    unknown               \"Not known yet\",",
        "    unknown               \"Not known yet\",\n    marketplace           \"Azure Marketplace\",",
        1,
    );
    assert_ne!(more, schema);
    let new_rule = "rule marketplace {\n    when subscription.channel == marketplace\n    then manual_review\n    reason \"r\"\n}\n\n";
    let new = with(&more, &format!("{new_rule}{rules}"));
    let d = diff(&old, &new);
    assert!(d.schema_changes.iter().any(|c| c.kind == "enum-value-added" && c.name == "Channel.marketplace"), "{d:#?}");
    assert!(d.changes.is_empty(), "{d:#?}");
    assert!(d.differs());
    // And the other way round: a value removed.
    let d = new.diff(&old, BUDGET);
    assert!(d.schema_changes.iter().any(|c| c.kind == "enum-value-removed"), "{d:#?}");
    assert!(d.changes.is_empty() && d.assumptions.iter().any(|a| a.contains("values both declare")), "{d:#?}");
}

#[test]
fn an_added_fact_takes_its_default() {
    let rules = shipped("multichannel.handover");
    let schema = shipped("schema.handover");
    let old = with_rules(&rules);
    let field = cancelled_line(&schema);
    let big = "rule big {\n    when subscription.seats > 100\n    then manual_review\n    reason \"r\"\n}\n\n";
    for (default, changes) in [(5, false), (500, true)] {
        let s = schema.replacen(field, &format!("{field}\n    seats: int = {default}"), 1);
        let new = with(&s, &format!("{big}{rules}"));
        let d = diff(&old, &new);
        assert!(d.schema_changes.iter().any(|c| c.kind == "fact-added" && c.name == "subscription.seats"), "{d:#?}");
        assert!(d.assumptions.iter().any(|a| a.contains("seats") && a.contains("default")), "{d:#?}");
        assert_eq!(!d.changes.is_empty(), changes, "default {default}: {d:#?}");
        if changes {
            assert!(d.changes.iter().all(|c| rule_id(&c.new) == "big"), "{d:#?}");
        }
    }
}

#[test]
fn as_of_on_the_shipped_policy_shows_days_left_and_the_term_ending() {
    let p = Policy::builtin().unwrap();
    let d = p.diff_as_of(date("2024-03-01"), date("2024-03-31"), BUDGET);
    assert!(d.exhaustive);
    assert_witnesses_differ(&p, &p, &d);
    assert!(
        d.changes.iter().any(|c| c.kind == ChangeKind::Params(vec!["days_left".into()])
            && rule_id(&c.old) == "license_elsewhere_term_running"),
        "{d:#?}"
    );
    assert!(has(&d, "license_elsewhere_term_running", "license_elsewhere_term_over"), "{d:#?}");
    // The same date twice: nothing changes.
    let same = p.diff_as_of(date("2024-03-01"), date("2024-03-01"), BUDGET);
    assert!(!same.differs(), "{same:#?}");
}

#[test]
fn a_small_budget_says_the_results_are_partial() {
    let p = Policy::builtin().unwrap();
    let d = p.diff_as_of(date("2024-03-01"), date("2024-03-31"), 50);
    assert!(!d.exhaustive);
    assert_witnesses_differ(&p, &p, &d);
}

#[test]
fn a_required_fact_on_one_side_only_is_not_compared() {
    let rules = shipped("multichannel.handover");
    let schema = shipped("schema.handover");
    let field = cancelled_line(&schema);
    let s = schema.replacen(field, &format!("{field}\n    seats: int"), 1);
    let d = with_rules(&rules).diff(&with(&s, &rules), BUDGET);
    let why = d.not_compared.clone().unwrap();
    assert!(why.contains("`subscription.seats` is required in the new policy only"), "{why}");
    assert!(d.differs() && d.changes.is_empty());
}

// ---- the command ----------------------------------------------------------------------------

fn folder(rules: &str) -> Scratch {
    Scratch::new(
        "diff",
        &[
            ("p/schema.handover", shipped("schema.handover").as_bytes()),
            ("p/actions.handover", shipped("actions.handover").as_bytes()),
            ("p/multichannel.handover", rules.as_bytes()),
        ],
    )
}

fn root() -> &'static std::path::Path {
    std::path::Path::new(ROOT)
}

#[test]
fn the_command_exits_0_for_identical_policies() {
    let rules = shipped("multichannel.handover");
    let a = folder(&rules);
    let b = folder(&rules);
    let (pa, pb) = (a.path().join("p"), b.path().join("p"));
    let out = run_in(root(), &["diff", pa.to_str().unwrap(), pb.to_str().unwrap()], b"", LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("no verdict changes"), "{}", report(&out));
}

#[test]
fn the_command_reports_changes_with_exit_1_in_human_and_json() {
    let rules = shipped("multichannel.handover");
    let b = folder(&rules.replacen("    then not_applicable\n", "    then manual_review\n", 1));
    let pb = b.path().join("p");
    let out = run_in(root(), &["diff", "--builtin", pb.to_str().unwrap()], b"", LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rule `syndication` (not_applicable) -> rule `syndication` (manual_review)"), "{text}");
    let out = run_in(root(), &["diff", "--builtin", pb.to_str().unwrap(), "--format", "json"], b"", LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["differs"], true);
    assert_eq!(v["exhaustive"], true);
    assert_eq!(v["changes"][0]["kind"], "action");
    assert_eq!(v["changes"][0]["old"]["rule"], "syndication");
    assert_eq!(v["changes"][0]["new_verdict"], "manual_review");
    // The witness, saved as a file, is decided as the report says by `handover eval`.
    let witness = v["changes"][0]["witness"].as_str().unwrap();
    let w = Scratch::new("diff-witness", &[("w.yaml", witness.as_bytes())]);
    let file = w.path().join("w.yaml");
    let old = run_in(root(), &["eval", "--format", "json", file.to_str().unwrap()], b"", LIMIT);
    let new = run_in(
        root(),
        &["eval", "--format", "json", "--rules", pb.to_str().unwrap(), file.to_str().unwrap()],
        b"",
        LIMIT,
    );
    assert!(String::from_utf8_lossy(&old.stdout).contains("not_applicable"), "{}", report(&old));
    assert!(String::from_utf8_lossy(&new.stdout).contains("manual_review"), "{}", report(&new));
}

#[test]
fn the_command_compares_two_dates() {
    let out = run_in(root(), &["diff", "--builtin", "--as-of", "2024-03-01", "--as-of", "2024-03-31"], b"", LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("as of 2024-03-01 -> as of 2024-03-31\n"), "{text}");
    assert!(text.contains("the same action, other days_left"), "{text}");
}

#[test]
fn facts_lists_the_entries_whose_verdict_changes() {
    let out = run_in(
        root(),
        &["diff", "--builtin", "--as-of", "2024-03-15", "--as-of", "2024-07-01", "--facts", "examples/contoso.yaml"],
        b"",
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // The Microsoft 365 subscription's term (ending 2024-06-30) is over by July; Visio's runs on,
    // with fewer days left.
    assert!(text.contains("examples/contoso.yaml contoso-m365:\n  old: wait_for_term_end_or_cancel"), "{text}");
    assert!(text.contains("  new: request_reseller_relationship"), "{text}");
    assert!(text.contains("examples/contoso.yaml contoso-visio:"), "{text}");
    assert!(text.ends_with("2 of 8 entries change\n"), "{text}");
    let out =
        run_in(root(), &["diff", "rules", "rules", "--facts", "examples/contoso.yaml", "--format", "json"], b"", LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"], 8);
    assert_eq!(v["changed"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["diff", "no/such/policy", "rules"], "cannot read policy `no/such/policy`"),
        (&["diff", "rules"], "compares two policies: give OLD and NEW"),
        (&["diff", "rules", "--as-of", "2024-01-01"], "give it exactly twice"),
        (&["diff", "rules", "rules", "--as-of", "2024-01-01", "--as-of", "2024-02-01"], "give one policy"),
        (&["diff", "--builtin", "--as-of", "2024-13-01", "--as-of", "2024-02-01"], "is not a date"),
        (&["diff", "rules", "rules", "--facts", "missing.yaml"], "cannot read facts `missing.yaml`"),
        (&["diff", "rules", "rules", "--facts", "README.md"], "cannot tell the format of `README.md`"),
    ];
    for (args, message) in cases {
        let out = run_in(root(), args, b"", LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", report(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{args:?}: {}", report(&out));
    }
}

#[test]
fn help_teaches_the_command() {
    let out = run_in(root(), &["diff", "--help"], b"", LIMIT);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for part in ["--as-of", "--facts", "--builtin", "--max-regions", "both declare", "Exit status"] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

// ---- small random edits -----------------------------------------------------------------------

/// The shipped rules as blocks, one per rule (comments after a rule go with it), between what
/// comes before the first rule and the closing brace of the block of dated rules, if any.
fn blocks(text: &str) -> (String, Vec<String>, String) {
    let lines: Vec<&str> = text.lines().collect();
    let is_rule = |l: &str| l.trim_start().starts_with("rule ");
    let first = lines.iter().position(|l| is_rule(l)).unwrap();
    let last_rule = lines.iter().rposition(|l| is_rule(l)).unwrap();
    let suffix_at = lines.iter().rposition(|l| *l == "}").filter(|i| *i > last_rule).unwrap_or(lines.len());
    let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
    let mut rules: Vec<String> = Vec::new();
    for (i, l) in lines.iter().enumerate().take(suffix_at).skip(first) {
        if is_rule(l) || i == first {
            rules.push(String::new());
        }
        if let Some(b) = rules.last_mut() {
            b.push_str(l);
            b.push('\n');
        }
    }
    (join(&lines[..first]), rules, join(&lines[suffix_at..]))
}

/// One small edit of the rules: swap two rules, drop one, change an action without parameters,
/// move a date comparison by a day, or drop a value from an enum set.
fn edit(text: &str, which: usize, at: usize) -> String {
    let (prefix, mut bs, suffix) = blocks(text);
    let n = bs.len();
    let i = at % n;
    match which {
        0 if n > 1 => {
            let j = (i + 1) % n;
            bs.swap(i, j);
        }
        1 if n > 2 => {
            bs.remove(i);
        }
        2 => {
            let actions = ["manual_review", "not_applicable", "insufficient_role", "csp_resale_not_allowed"];
            let b = &mut bs[i];
            for a in actions {
                let from = format!("then {a}\n");
                if b.contains(&from) {
                    *b = b.replacen(&from, &format!("then {}\n", actions[(at / n) % 4]), 1);
                    break;
                }
            }
        }
        3 => {
            let b = &mut bs[i];
            *b = b.replacen("as_of <= subscription.term_end", "as_of < subscription.term_end", 1).replacen(
                "as_of > subscription.term_end",
                "as_of >= subscription.term_end + 1",
                1,
            );
        }
        _ => {
            let b = &mut bs[i];
            for v in common::CHANNELS {
                if b.contains(&format!(", {v}")) {
                    *b = b.replacen(&format!(", {v}"), "", 1);
                    break;
                }
            }
        }
    }
    format!("{prefix}{}{suffix}", bs.concat())
}

#[test]
fn the_edits_of_the_property_keep_a_valid_policy_and_change_it() {
    let rules = shipped("multichannel.handover");
    let (prefix, bs, suffix) = blocks(&rules);
    assert!(bs.len() >= 8, "{bs:?}");
    assert_eq!(format!("{prefix}{}{suffix}", bs.concat()), rules);
    for which in 0..5 {
        let changed = (0..bs.len()).filter(|at| edit(&rules, which, *at) != rules).count();
        assert!(changed > 0, "edit {which} never changes the rules");
        for at in 0..bs.len() {
            with_rules(&edit(&rules, which, at));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every reported witness really differs; when nothing is reported, generated fact documents
    /// get the same verdicts from both.
    #[test]
    fn diff_is_sound_and_complete_on_small_edits(
        edits in proptest::collection::vec((0usize..5, 0usize..1000), 1..3),
        seed in 1u64..u64::MAX,
        as_of_shift in -400i64..400,
    ) {
        let rules = shipped("multichannel.handover");
        let mut edited = rules.clone();
        for (which, at) in &edits {
            edited = edit(&edited, *which, *at);
        }
        let old = with_rules(&rules);
        let new = with_rules(&edited);
        let d = old.diff(&new, BUDGET);
        prop_assert!(d.exhaustive);
        assert_witnesses_differ(&old, &new, &d);
        if d.changes.is_empty() && d.unconfirmed == 0 {
            let as_of = date("2024-03-15");
            let shifted = Date::from_days(as_of.days() + as_of_shift).unwrap();
            for (i, s) in common::generate(200, seed).iter().enumerate() {
                let line = common::json_line(i, s);
                let a = old.evaluate_text(&line, Format::JsonLines, "g", Some(shifted), as_of);
                let b = new.evaluate_text(&line, Format::JsonLines, "g", Some(shifted), as_of);
                let key = |r: &[(Date, handover::Record)]| -> Vec<String> {
                    r.iter().map(|(_, r)| match &r.outcome {
                        Ok(d) => format!("{} {:?}", d.action, d.params),
                        Err(_) => "error".into(),
                    }).collect()
                };
                prop_assert_eq!(key(&a), key(&b), "{} after edits {:?}", line, edits);
            }
        }
    }
}

#[test]
fn a_budget_too_small_to_find_anything_exits_2_and_says_so() {
    let out = run_in(root(), &["diff", "rules", "rules", "--max-regions", "5"], b"", LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", report(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("these results are partial"), "{}", report(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("raise `--max-regions`"), "{}", report(&out));
}

/// `REV:PATH` reads a policy as it was at a git revision: the working copy against the last
/// commit, two revisions, a single file; a revision git does not know is an error that says so.
#[test]
fn a_policy_at_a_git_revision_is_compared() {
    let files: Vec<(String, Vec<u8>)> =
        ["actions.handover", "schema.handover", "multichannel.handover", "since-2024.handover"]
            .iter()
            .map(|f| (format!("rules/{f}"), shipped(f).into_bytes()))
            .collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let repo = Scratch::new("diff-git", &refs);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(repo.path())
            .output()
            .expect("git runs (CI clones with it)");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "the shipped rules"]);
    let path = repo.path().join("rules/multichannel.handover");
    let edited = shipped("multichannel.handover")
        .replace("when subscription.channel == syndication", "when subscription.channel in [syndication, open]");
    std::fs::write(&path, edited).unwrap();
    let limit = Duration::from_secs(120);

    let out = run_in(repo.path(), &["diff", "HEAD:rules", "rules"], b"", limit);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-> rule `syndication` (not_applicable)") && text.contains("channel: open"), "{text}");

    git(&["commit", "-qam", "open is out of scope"]);
    let out = run_in(repo.path(), &["diff", "HEAD~1:rules", "HEAD:rules/"], b"", limit);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), text, "the same change, read from two revisions");
    let out = run_in(repo.path(), &["diff", "HEAD:rules", "rules"], b"", limit);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    let out = run_in(repo.path(), &["diff", "nope:rules", "rules"], b"", limit);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`nope:rules` is not a file or folder, and git cannot read it as REV:PATH"), "{err}");
    // A broken policy at a revision is reported with the revision in the file name.
    std::fs::write(&path, "rule broken {").unwrap();
    git(&["commit", "-qam", "broken"]);
    let out = run_in(repo.path(), &["diff", "HEAD:rules", "HEAD~1:rules"], b"", limit);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HEAD:rules/multichannel.handover"), "{}", report(&out));
}
