//! End-to-end tests of the real `handover` binary: output formats, exit codes, the domain's
//! worked examples, and rendered policy errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn handover(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handover"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary runs");
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

/// Evaluates one subscription with the built-in policy, as of 2024-03-15, and returns the JSON result.
fn verdict(partner: &str, customer: &str, subscription: &str) -> serde_json::Value {
    let doc = format!(
        "partner: {{ {partner} }}\ncustomer: {{ name: Example, {customer} }}\nsubscriptions:\n  - {{ id: s1, {subscription} }}\n"
    );
    let out = handover(&["eval", "--as-of", "2024-03-15", "--format", "json", "-"], Some(&doc));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["as_of"], "2024-03-15");
    json["results"][0].clone()
}

/// partner, customer, subscription facts; expected action; expected parameters.
type Row<'a> = (&'a str, &'a str, &'a str, &'a str, &'a [(&'a str, serde_json::Value)]);

/// Every example row of `domain/multichannel.md`, through `eval --format json`.
#[test]
fn domain_examples() {
    let sales = "role: sales_agent, type: direct_bill";
    let commercial = "cloud: commercial, is_csp_partner: false";
    let rows: &[Row<'_>] = &[
        (sales, commercial, "service: license_based, channel: open", "request_reseller_relationship", &[]),
        (
            sales,
            commercial,
            "service: license_based, channel: non_csp_third_party, term_end: 2024-09-30",
            "wait_for_term_end_or_cancel",
            &[("until", "2024-09-30".into()), ("days_left", 199.into())],
        ),
        (
            sales,
            commercial,
            "service: usage_based, channel: enterprise_agreement",
            "create_new_azure_subscription",
            &[],
        ),
        (sales, commercial, "service: usage_based, channel: csp_partner", "switch_partner", &[]),
        (
            sales,
            commercial,
            "service: license_based, channel: csp_partner, term_end: 2024-06-30",
            "wait_for_term_end_or_cancel",
            &[("until", "2024-06-30".into()), ("days_left", 107.into())],
        ),
        (
            sales,
            commercial,
            "service: license_based, channel: csp_partner, term_end: 2024-01-31",
            "request_reseller_relationship",
            &[],
        ),
        ("role: admin_agent", commercial, "service: license_based, channel: open", "insufficient_role", &[]),
        (sales, "is_csp_partner: true", "service: usage_based, channel: advisor", "csp_resale_not_allowed", &[]),
        (
            sales,
            "cloud: us_government",
            "service: license_based, channel: advisor",
            "request_reseller_relationship",
            &[("delegated_admin_required", true.into())],
        ),
    ];
    for (partner, customer, sub, action, params) in rows {
        let r = verdict(partner, customer, sub);
        assert_eq!(r["action"], *action, "{sub}: {r}");
        assert_eq!(r["subscription"], "s1");
        assert_eq!(r["customer"], "Example");
        assert!(r["rule"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(r["reason"].as_str().is_some_and(|s| s.len() > 20));
        for (k, v) in *params {
            assert_eq!(r["params"][k], *v, "{sub}: param {k} in {r}");
        }
    }
}

#[test]
fn example_file_human_output() {
    let out = handover(&["eval", "examples/contoso.yaml"], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn example_file_json_output() {
    let out = handover(&["eval", "--format", "json", "examples/contoso.yaml"], None);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), 8);
    // The policy's identity changes with every edit of the rules: checked here, not snapshotted.
    let mut json = json;
    let identity = json["policy"]["identity"].take();
    assert!(identity.as_str().is_some_and(|i| i.starts_with("sha256:") && i.len() == 71), "{identity}");
    insta::assert_json_snapshot!(json);
}

#[test]
fn yaml_output_is_the_json_document() {
    let y = handover(&["eval", "--format", "yaml", "examples/contoso.yaml"], None);
    let j = handover(&["eval", "--format", "json", "examples/contoso.yaml"], None);
    let from_yaml: serde_json::Value = serde_yaml::from_str(&stdout(&y)).unwrap();
    let from_json: serde_json::Value = serde_json::from_str(&stdout(&j)).unwrap();
    assert_eq!(from_yaml, from_json);
}

#[test]
fn jsonl_bad_line_keeps_the_others_and_exits_1() {
    let input = concat!(
        r#"{"partner":{"role":"sales_agent"},"customer":{"name":"A"},"subscriptions":[{"id":"a1","service":"usage_based","channel":"open"}]}"#,
        "\n",
        r#"{"partner":{"role":"sales_agent"},"customer":{"name":"B"},"subscriptions":[{"id":"b1","service":"usage_based","channel":"opne"}, {"id":"b2","service":"usage_based","channel":"advisor"}]}"#,
        "\n",
        r#"{"partner":{"role":"sales_agent"} "customer"}"#,
        "\n",
        r#"{"partner":{"role":"sales_agent"},"customer":{"name":"D"},"subscriptions":[{"id":"d1","service":"usage_based","channel":"csp_partner"}]}"#,
        "\n",
    );
    let out = handover(&["eval", "--input", "jsonl", "--format", "jsonl", "--as-of", "2024-03-15", "-"], Some(input));
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(lines[0]["action"], "create_new_azure_subscription");
    assert_eq!(lines[1]["subscription"], "b1");
    assert!(lines[1]["error"].as_str().unwrap().contains("did you mean `open`?"));
    assert_eq!(lines[2]["action"], "create_new_azure_subscription");
    assert_eq!(lines[3]["source"], "<stdin>:3");
    assert!(lines[3]["error"].as_str().unwrap().starts_with("not valid JSON"));
    assert_eq!(lines[4]["action"], "switch_partner");
}

#[test]
fn exit_2_for_missing_file_and_bad_arguments() {
    let out = handover(&["eval", "does-not-exist.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read `does-not-exist.yaml`: no such file"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    let out = handover(&["eval", "--as-of", "2024-02-30", "examples/contoso.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`2024-02-30` is not a date"), "{}", stderr(&out));

    let out = handover(&["eval", "--format", "xml", "examples/contoso.yaml"], None);
    assert_eq!(out.status.code(), Some(2));

    let out = handover(&["eval", "README.md"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot tell the format"));
}

#[test]
fn bad_policy_exits_2_with_one_rendered_diagnostic_per_problem() {
    let dir = std::env::temp_dir().join(format!("handover-bad-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    for name in ["schema.handover", "actions.handover", "multichannel.handover"] {
        let text = std::fs::read_to_string(format!("{root}/rules/{name}")).unwrap();
        let text = if name == "multichannel.handover" {
            text.replacen("when subscription.channel == unknown", "when subscription.chanel == unknown", 1)
                .replacen("when subscription.channel == syndication", "when subscription.channel == syndicaton", 1)
                .replacen("        disable_auto_renew: true,\n", "", 1)
        } else {
            text
        };
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = handover(&["eval", "--rules", dir.to_str().unwrap(), "examples/contoso.yaml"], None);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty(), "a policy with errors is never used");
    let err = stderr(&out);
    assert_eq!(err.matches('×').count(), 3, "{err}");
    assert!(err.contains("unknown fact `subscription.chanel`"));
    assert!(err.contains("did you mean `subscription.channel`?"));
    assert!(err.contains("`syndicaton` is not a value of enum `Channel`"));
    assert!(err.contains("did you mean `syndication`?"));
    assert!(err.contains("needs parameter `disable_auto_renew`"));
    let rules = std::fs::read_to_string(format!("{root}/rules/multichannel.handover")).unwrap();
    let line = rules.lines().position(|l| l.contains("when subscription.channel == unknown")).unwrap() + 1;
    let column = rules.lines().nth(line - 1).and_then(|l| l.find("subscription")).unwrap() + 1;
    assert!(
        err.contains(&format!("multichannel.handover:{line}:{column}")),
        "file:line:col of the first problem: {err}"
    );
    assert!(err.contains("error: the policy has 3 errors"));
}

#[test]
fn check_builtin_policy() {
    let out = handover(&["check"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "21 rules: complete (every fact combination is decided), no dead rules, 0 warning(s); 8 advice note(s) (overlaps, absent facts): see --verbose\n"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn as_of_flag_overrides_the_file() {
    let out = handover(&["eval", "--format", "json", "--as-of", "2024-07-01", "examples/contoso.yaml"], None);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["as_of"], "2024-07-01");
    // contoso-m365's term ended on 2024-06-30.
    assert_eq!(json["results"][0]["action"], "request_reseller_relationship");
}

#[test]
fn help_teaches() {
    let out = handover(&["eval", "--help"], None);
    let help = stdout(&out);
    for needle in ["--rules", "--as-of", "--format", "subscriptions:", "Exit status"] {
        assert!(help.contains(needle) || stdout(&handover(&["--help"], None)).contains(needle), "{needle}");
    }
}

/// The engine knows nothing of Partner Center: those words live only in `rules/`.
#[test]
fn source_has_no_policy_knowledge() {
    let mut stack = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            let text = std::fs::read_to_string(&p).unwrap();
            for word in ["csp_partner", "usage_based", "reseller"] {
                assert!(!text.contains(word), "{} mentions `{word}`", p.display());
            }
        }
    }
}
