//! The reports people read (`eval --format html|markdown|csv`): what each holds, in what order,
//! for every input path; errors shown with their field path; everything the input controls
//! shown as text (HTML tags, Markdown markup, quotes, right-to-left marks, very long names).
//! Browser checks of the HTML page are in `tests/report_browser.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use handover::output::{Format, HTML_COLLAPSE_AT, ResultWriter};
use handover::{Date, Policy};

mod util;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let out = util::run_in(dir, args, stdin, Duration::from_secs(120));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("the output is UTF-8"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The subscription ids of the example, in file order, through the JSON output.
fn example_ids() -> Vec<String> {
    let (code, json, _) = run(manifest(), &["eval", "examples/contoso.yaml", "--format", "json"], b"");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["results"].as_array().unwrap().iter().map(|r| r["subscription"].as_str().unwrap().to_string()).collect()
}

fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// One JSON Lines document: a customer with one subscription.
fn json_line(i: usize, name: &str, channel: &str) -> String {
    serde_json::json!({
        "as_of": "2024-03-15",
        "partner": { "role": "sales_agent", "type": "direct_bill" },
        "customer": { "name": name, "cloud": "commercial", "is_csp_partner": false },
        "subscriptions": [{ "id": format!("sub-{i}"), "service": "license_based", "channel": channel, "term_end": "2024-06-30" }],
    })
    .to_string()
}

const CSV_HEADER: &str = "as_of,partner.role,partner.type,customer.name,customer.cloud,customer.is_csp_partner,\
                          subscription.id,subscription.service,subscription.channel,subscription.term_end";

#[test]
fn csv_has_one_row_per_entry_in_order_with_a_column_per_parameter() {
    let (code, out, err) = run(manifest(), &["eval", "examples/contoso.yaml", "--format", "csv"], b"");
    assert_eq!(code, 0, "{err}");
    let (header, rows) = read_csv(&out);
    let policy = Policy::builtin().unwrap();
    let mut expected =
        vec!["source", "customer", "subscription", "as_of", "action"].into_iter().map(String::from).collect::<Vec<_>>();
    // Every parameter of every action, each once, in declaration order.
    for a in &policy.schema().actions {
        for (p, _) in &a.params {
            let col = format!("params.{p}");
            if !expected.contains(&col) {
                expected.push(col);
            }
        }
    }
    expected.extend(["rule", "reason", "citation", "error", "error_code"].map(String::from));
    assert_eq!(header, expected);
    let ids: Vec<String> = rows.iter().map(|r| r[2].clone()).collect();
    assert_eq!(ids, example_ids());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let m365 = &rows[0];
    assert_eq!(m365[col("customer")], "Contoso");
    assert_eq!(m365[col("as_of")], "2024-03-15");
    assert_eq!(m365[col("action")], "wait_for_term_end_or_cancel");
    assert_eq!(m365[col("params.until")], "2024-06-30");
    assert_eq!(m365[col("params.disable_auto_renew")], "true");
    assert_eq!(m365[col("params.via_indirect_provider")], "", "a parameter the action lacks is empty");
    assert!(!m365[col("citation")].is_empty(), "the rule's citation is a column");
    assert!(rows.iter().all(|r| r.len() == header.len() && r[col("error")].is_empty()));
}

#[test]
fn a_csv_inventory_comes_back_as_csv_with_the_same_rows_in_the_same_order() {
    // Past a batch chunk, with bad rows (an unknown channel, a broken date) among good ones.
    let n = 5000;
    let mut input = format!("{CSV_HEADER}\n");
    for i in 0..n {
        let channel = if i % 97 == 0 { "carrier_pigeon" } else { ["open", "csp_partner", "advisor"][i % 3] };
        let term = if i % 211 == 0 { "2024-02-30" } else { "2024-06-30" };
        input.push_str(&format!(
            "2024-03-15,sales_agent,direct_bill,Customer {},commercial,false,sub-{i},license_based,{channel},{term}\n",
            i / 4
        ));
    }
    let dir = util::Scratch::new("report-csv", &[("inventory.csv", input.as_bytes())]);
    let (code, out, err) = run(dir.path(), &["eval", "inventory.csv", "--format", "csv"], b"");
    assert_eq!(code, 1, "some rows are errors: {err}");
    let (header, rows) = read_csv(&out);
    assert_eq!(rows.len(), n);
    let error = header.iter().position(|h| h == "error").unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[2], format!("sub-{i}"), "row {i} in input order");
        assert_eq!(row[1], format!("Customer {}", i / 4));
        let bad = i % 97 == 0 || i % 211 == 0;
        assert_eq!(!row[error].is_empty(), bad, "row {i}: {:?}", row[error]);
    }
    assert!(rows[97][error].contains("channel"), "the error names the field: {}", rows[97][error]);
    // Standard input takes the same path.
    let (_, piped, _) = run(dir.path(), &["eval", "-", "--input", "csv", "--format", "csv"], input.as_bytes());
    let (_, piped_rows) = read_csv(&piped);
    assert_eq!(piped_rows.len(), n);
    assert!(piped_rows.iter().zip(&rows).all(|(a, b)| a[1..] == b[1..]), "the same rows but the source");
}

#[test]
fn csv_without_a_policy_keeps_the_parameters_in_one_json_column() {
    let policy = Policy::builtin().unwrap();
    let text = std::fs::read_to_string(manifest().join("examples/contoso.yaml")).unwrap();
    let today = Date::parse("2024-03-15").unwrap();
    let records = policy.evaluate_text(&text, handover::facts::Format::Yaml, "contoso.yaml", None, today);
    let mut out = Vec::new();
    let mut w = ResultWriter::new(Format::Csv, None, today, false);
    for (d, r) in records {
        w.push(d, r, &mut out).unwrap();
    }
    w.finish(&mut out).unwrap();
    let (header, rows) = read_csv(&String::from_utf8(out).unwrap());
    assert!(header.contains(&"params".to_string()), "{header:?}");
    let p = header.iter().position(|h| h == "params").unwrap();
    let params: serde_json::Value = serde_json::from_str(&rows[0][p]).unwrap();
    assert_eq!(params["until"], "2024-06-30");
}

#[test]
fn an_empty_run_writes_a_whole_document_in_every_report_form() {
    // Every input gives at least one entry or error; only the library can finish with none.
    let policy = Policy::builtin().unwrap();
    let today = Date::parse("2024-03-15").unwrap();
    let empty = |format| {
        let mut out = Vec::new();
        ResultWriter::new(format, None, today, false).with_policy(&policy).finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let csv = empty(Format::Csv);
    assert!(csv.starts_with("source,customer,subscription,as_of,action,"), "{csv}");
    assert_eq!(csv.lines().count(), 1);
    let html = empty(Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"), "{html}");
    assert!(!html.contains("<tr class=\"entry") && html.contains("No verdict names a date."));
    let md = empty(Format::Markdown);
    assert!(md.starts_with("# Hand-over plan") && md.contains("No verdict names a date."), "{md}");
}

#[test]
fn markdown_of_the_example() {
    let (code, md, err) = run(manifest(), &["eval", "examples/contoso.yaml", "--format", "markdown"], b"");
    assert_eq!(code, 0, "{err}");
    // One table row per entry, in order.
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| contoso-")).collect();
    let ids: Vec<String> =
        rows.iter().map(|l| l.split(" | ").next().unwrap().trim_start_matches("| ").to_string()).collect();
    assert_eq!(ids, example_ids());
    insta::with_settings!({ filters => vec![
        (r"fingerprint sha256:[0-9a-f]{64}", "fingerprint [fingerprint]"),
        (r"handover \d+\.\d+\.\d+", "handover [version]"),
    ]}, {
        insta::assert_snapshot!(md);
    });
}

#[test]
fn html_of_the_example_names_actions_in_the_policys_words() {
    let (code, html, err) = run(manifest(), &["eval", "examples/contoso.yaml", "--format", "html"], b"");
    assert_eq!(code, 0, "{err}");
    assert_eq!(html.matches("<tr class=\"entry ok\"").count(), example_ids().len());
    let policy = Policy::builtin().unwrap();
    let text = std::fs::read_to_string(manifest().join("examples/contoso.yaml")).unwrap();
    let today = Date::parse("2024-03-15").unwrap();
    for (_, r) in policy.evaluate_text(&text, handover::facts::Format::Yaml, "x", None, today) {
        let d = r.outcome.as_ref().unwrap();
        let action = policy.schema().actions.iter().find(|a| a.name == d.action).unwrap();
        // The policy's description, escaped as the page shows it, names in backticks as code.
        let shown: String = action
            .description
            .replace('\'', "&#x27;")
            .split('`')
            .enumerate()
            .map(|(i, piece)| if i % 2 == 1 { format!("<code>{piece}</code>") } else { piece.to_string() })
            .collect();
        assert!(html.contains(&shown), "the description of {}: {shown}", d.action);
        assert!(html.contains(&format!("data-action=\"{}\"", d.action)));
        assert!(html.contains(&format!("<code>{}</code>", d.rule)));
        if let Some(c) = &d.citation {
            assert!(html.contains(&c.replace('\'', "&#x27;").replace('/', "&#x2f;")), "citation {c}");
        }
    }
    // Flags in words, from the parameter names.
    assert!(html.contains("Disable auto renew: yes"), "flags read as words");
    assert!(html.contains("Delegated admin required: no"));
    // Timeline: the evaluation date and the two term ends waited for.
    assert!(html.contains("<g class=\"today\" data-date=\"2024-03-15\">"));
    assert_eq!(html.matches("<g class=\"mark").count(), 2);
    // Footer: the policy and the date.
    let footer = &html[html.find("<footer>").unwrap()..];
    assert!(footer.contains("rules&#x2f;multichannel.handover") && footer.contains("Evaluated as of 2024-03-15"));
    // Self-contained: no script, nothing fetched.
    for needle in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(needle), "the page holds `{needle}`");
    }
    // Semantic: headings, table headers with scope, a labelled SVG.
    assert!(html.contains("<h1>") && html.contains("<h2 id=\"plan-heading\">") && html.contains("<h3 id=\"g0-h\">"));
    assert!(html.contains("<th scope=\"col\">") && html.contains("<th scope=\"row\">"));
    assert!(html.contains("role=\"img\" aria-labelledby=\"timeline-title timeline-desc\""));
    assert!(html.contains("@media print"));
}

#[test]
fn errors_are_shown_with_their_field_path_and_never_dropped() {
    let yaml = "as_of: 2024-03-15\n\
                partner: { role: sales_agent, type: direct_bill }\n\
                customer: { name: Fabrikam, cloud: commercial, is_csp_partner: false }\n\
                subscriptions:\n\
                \x20 - { id: good, service: license_based, channel: open }\n\
                \x20 - { id: bad, service: bogus, channel: open }\n\
                \x20 - { id: late, service: license_based, channel: csp_partner, term_end: 2024-13-01 }\n";
    for format in ["html", "markdown", "csv"] {
        let (code, out, err) = run(manifest(), &["eval", "-", "--format", format], yaml.as_bytes());
        assert_eq!(code, 1, "{format}: some entries errored: {err}");
        assert!(
            out.contains("subscriptions[1].service") || out.contains(r"subscriptions\[1\].service"),
            "{format}: {out}"
        );
        assert!(out.contains("bogus"), "{format}");
        assert!(out.contains("subscriptions[2].term_end") || out.contains(r"subscriptions\[2\].term\_end"), "{format}");
    }
    let (_, html, _) = run(manifest(), &["eval", "-", "--format", "html"], yaml.as_bytes());
    assert_eq!(html.matches("<tr class=\"entry error\"").count(), 2);
    assert!(html.contains("<code class=\"field\"><bdi>subscriptions[1].service</bdi></code>"), "{html}");
    assert_eq!(html.matches("<tr class=\"entry ").count(), 3);
}

#[test]
fn hostile_text_in_facts_renders_as_text() {
    let long = "A".repeat(20_000);
    let names = [
        "<script>alert(\"x\")</script>",
        "\" onmouseover=\"alert(1)",
        "Fab|rikam *bold* [link](http://x) `code` <b>",
        "\u{202E}evil\u{202C} RTL",
        long.as_str(),
    ];
    let input: String =
        names.iter().enumerate().map(|(i, n)| json_line(i, n, "csp_partner") + "\n").collect::<String>()
            + &json_line(9, "<img src=x onerror=alert(1)>", "open").replace("sub-9", "<i>sub</i>");
    let dir = util::Scratch::new("report-hostile", &[("in.jsonl", input.as_bytes())]);
    let (code, html, err) = run(dir.path(), &["eval", "in.jsonl", "--format", "html"], b"");
    assert_eq!(code, 0, "{err}");
    for raw in ["<script", "<img", "<b>", "<i>", "onmouseover=\""] {
        assert!(!html.contains(raw), "`{raw}` reached the page as markup");
    }
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt;"));
    assert!(html.contains("&quot; onmouseover=&quot;alert(1)"));
    assert!(html.contains("<bdi>\u{202E}evil\u{202C} RTL</bdi>"), "a right-to-left mark stays text, isolated");
    assert!(html.contains(&long), "a long name is shown whole");
    assert!(html.contains("&lt;i&gt;sub&lt;&#x2f;i&gt;"));

    let (_, md, _) = run(dir.path(), &["eval", "in.jsonl", "--format", "markdown"], b"");
    for raw in ["<script", "<img", "<b>", "<i>"] {
        assert!(!md.contains(raw), "`{raw}` reached the Markdown as HTML");
    }
    assert!(md.contains(r"### Fab\|rikam \*bold\* \[link\](http://x) \`code\` &lt;b&gt;"), "{md}");
    // Every table row keeps its six cells: no pipe from the input splits one.
    for line in md.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| ---")) {
        let unescaped = line.match_indices('|').filter(|(i, _)| !line[..*i].ends_with('\\')).count();
        assert!(unescaped == 7 || unescaped == 4, "cells split: {line}");
    }

    let (_, csv, _) = run(dir.path(), &["eval", "in.jsonl", "--format", "csv"], b"");
    let (_, rows) = read_csv(&csv);
    let got: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(&got[..names.len()], &names[..], "CSV keeps the text exactly, quoted as needed");
}

#[test]
fn every_input_path_gives_the_report_and_several_inputs_make_several_customers() {
    let jsonl: String = (0..6).map(|i| json_line(i, &format!("Customer {}", i / 3), "csp_partner") + "\n").collect();
    let csv = format!(
        "{CSV_HEADER}\n2024-03-15,sales_agent,direct_bill,Csv Co,commercial,false,c-1,license_based,open,\n\
         2024-03-15,sales_agent,direct_bill,Csv Co,commercial,false,c-2,usage_based,advisor,\n"
    );
    let json = json_line(7, "Json Co", "open");
    let dir = util::Scratch::new(
        "report-paths",
        &[("a.jsonl", jsonl.as_bytes()), ("b.csv", csv.as_bytes()), ("c.json", json.as_bytes())],
    );
    let yaml = std::fs::read(manifest().join("examples/contoso.yaml")).unwrap();
    let args = ["eval", "a.jsonl", "b.csv", "c.json", "-", "--format", "html"];
    let (code, html, err) = run(dir.path(), &args, &yaml);
    assert_eq!(code, 0, "{err}");
    assert_eq!(html.matches("<tr class=\"entry ok\"").count(), 6 + 2 + 1 + 8);
    // Customers: two from the JSON Lines, one each from the CSV, the JSON and standard input.
    assert_eq!(html.matches("<section class=\"customer\"").count(), 5);
    let order: Vec<usize> =
        ["Customer 0", "Customer 1", "Csv Co", "Json Co", "Contoso"].iter().map(|n| html.find(n).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "customers in input order");
    let (_, md, _) = run(dir.path(), &["eval", "a.jsonl", "b.csv", "c.json", "-", "--format", "markdown"], &yaml);
    assert_eq!(md.matches("\n### ").count(), 5);
}

#[test]
fn past_the_limit_customers_are_collapsed_and_every_row_is_kept() {
    let n = HTML_COLLAPSE_AT + 100;
    let jsonl: String = (0..n).map(|i| json_line(i, &format!("Customer {}", i / 4), "csp_partner") + "\n").collect();
    let dir = util::Scratch::new("report-big", &[("big.jsonl", jsonl.as_bytes())]);
    let (code, html, err) = run(dir.path(), &["eval", "big.jsonl", "--format", "html"], b"");
    assert_eq!(code, 0, "{err}");
    assert_eq!(html.matches("<tr class=\"entry ok\"").count(), n);
    assert_eq!(html.matches("<details class=\"customer\"").count(), n.div_ceil(4));
    assert!(!html.contains("<section class=\"customer\""));
    assert!(html.contains("open a customer to see its plan"));
}

#[test]
fn the_library_renders_reports_with_the_policys_words() {
    let policy = Policy::builtin().unwrap();
    let text = std::fs::read_to_string(manifest().join("examples/contoso.yaml")).unwrap();
    let today = Date::parse("2024-03-15").unwrap();
    let mut out = Vec::new();
    let mut w = ResultWriter::new(Format::Html, None, today, false).with_policy(&policy);
    for (d, r) in policy.evaluate_text(&text, handover::facts::Format::Yaml, "contoso.yaml", None, today) {
        w.push(d, r, &mut out).unwrap();
    }
    w.finish(&mut out).unwrap();
    // A second finish adds nothing.
    let len = out.len();
    w.finish(&mut out).unwrap();
    assert_eq!(out.len(), len);
    let html = String::from_utf8(out).unwrap();
    assert!(html.contains("Wait for term end or cancel") && html.contains("fingerprint <code>"));
    // The same records without the policy still make a page, without the descriptions.
    let plain = handover::output::render(
        Format::Html,
        policy.evaluate_text(&text, handover::facts::Format::Yaml, "contoso.yaml", None, today),
        None,
        today,
    )
    .unwrap();
    assert_eq!(plain.matches("<tr class=\"entry ok\"").count(), 8);
    assert!(!plain.contains("fingerprint"));
}
