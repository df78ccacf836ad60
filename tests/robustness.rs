//! Bad input of every kind, through the real binary: each case pins the exact messages and the
//! exit status (insta), and nothing may panic. Plus properties of evaluation over generated facts:
//! one verdict or one error per subscription, deterministic, and the decision diagram always
//! agreeing with the rule-by-rule interpreter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use handover::facts::{Format, parse};
use handover::{Date, Policy};
use proptest::prelude::*;

#[path = "../benches/common/mod.rs"]
mod common;
mod util;

/// Runs the binary in a scratch folder holding `files`; returns "exit N" and both streams.
fn run(files: &[(&str, &[u8])], args: &[&str], stdin: &[u8]) -> String {
    let dir = util::Scratch::new("robust", files);
    util::report(&util::run_in(dir.path(), args, stdin, std::time::Duration::from_secs(60)))
}

const PARTNER: &str = "partner: { role: sales_agent }\n";
const GOOD_LINE: &str = r#"{"partner":{"role":"sales_agent"},"customer":{"name":"A"},"subscriptions":[{"id":"a","service":"usage_based","channel":"open"}]}"#;

/// A case: its name, the files to create, the arguments.
type Case<'a> = (&'a str, Vec<(&'a str, Vec<u8>)>, Vec<&'a str>);

#[test]
fn catalog_of_bad_inputs() {
    let deep_policy = format!(
        "enum E {{ a }}\nfacts g {{ x: E }}\naction ok \"ok\"\nrule r {{\n  when {}g.x == a\n  then ok\n  reason \"r\"\n}}\n",
        "not ".repeat(500)
    );
    let long_line = format!(
        "{PARTNER}subscriptions:\n  - {{ id: \"{}\", service: usage_based, channel: open }}\n",
        "x".repeat(100_000)
    );
    let deep = |open: &str, close: &str| format!("{}{}", open.repeat(100_000), close.repeat(100_000));
    let deep_yaml = format!("{PARTNER}x: {}\nsubscriptions: []\n", deep("[", "]"));
    let deep_json =
        format!(r#"{{"partner": {{"role": "sales_agent"}}, "subscriptions": [{{"id": {}}}]}}"#, deep("[", "]"));
    // Each list holds the one before it twice: 2^31 subscriptions if expanded.
    let mut laughs = format!("{PARTNER}l0: &l0 [{{ id: s, service: usage_based, channel: open }}]\n");
    for i in 1..=30 {
        laughs.push_str(&format!("l{i}: &l{i} [*l{}, *l{}]\n", i - 1, i - 1));
    }
    laughs.push_str("subscriptions: *l30\n");
    let jsonl_with_bad = format!("\u{feff}{GOOD_LINE}\n{{\"partner\": \u{0}}}\n\u{feff}{GOOD_LINE}\n");
    let cases: Vec<Case<'_>> = vec![
        ("empty file", vec![("f.yaml", b"".to_vec())], vec!["eval", "--as-of", "2024-03-15", "f.yaml"]),
        ("only a comment", vec![("f.yaml", b"# nothing\n".to_vec())], vec!["eval", "--as-of", "2024-03-15", "f.yaml"]),
        ("missing file", vec![], vec!["eval", "nope.yaml"]),
        ("a directory", vec![("d/x.txt", b"x".to_vec())], vec!["eval", "--input", "yaml", "d"]),
        ("directory named like a fact file", vec![("dir.jsonl/x", b"x".to_vec())], vec!["eval", "dir.jsonl"]),
        ("unknown extension", vec![("f.txt", b"a: 1".to_vec())], vec!["eval", "f.txt"]),
        ("bad --as-of", vec![("f.yaml", b"a: 1".to_vec())], vec!["eval", "--as-of", "15/03/2024", "f.yaml"]),
        ("as_of out of range", vec![("f.yaml", format!("as_of: 99999-01-01\n{PARTNER}subscriptions: []\n").into_bytes())], vec!["eval", "f.yaml"]),
        ("YAML: `[` nested 100,000 deep (refused before parsing: the parser would take minutes)", vec![("f.yaml", deep_yaml.into_bytes())], vec!["eval", "--as-of", "2024-03-15", "f.yaml"]),
        ("JSON: `[` nested 100,000 deep", vec![("f.json", deep_json.into_bytes())], vec!["eval", "--as-of", "2024-03-15", "f.json"]),
        ("YAML: a billion laughs (aliases doubling a list 30 times)", vec![("f.yaml", laughs.into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.yaml"]),
        ("duplicate key (YAML)", vec![("f.yaml", format!("{PARTNER}subscriptions:\n  - {{ id: a, service: usage_based, channel: open, channel: csp_partner }}\n  - {{ id: b, service: usage_based, channel: open }}\n").into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.yaml"]),
        ("duplicate key (JSON)", vec![("f.json", br#"{"partner": {"role": "sales_agent"}, "partner": {"role": "other"}, "subscriptions": []}"#.to_vec())], vec!["eval", "--as-of", "2024-03-15", "f.json"]),
        ("dates out of range in a subscription", vec![("f.yaml", format!("{PARTNER}subscriptions:\n  - {{ id: a, service: license_based, channel: open, term_end: 10000-01-01 }}\n  - {{ id: b, service: license_based, channel: open, term_end: -0001-12-31 }}\n  - {{ id: c, service: license_based, channel: open, term_end: 9999-12-31 }}\n").into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.yaml"]),
        ("empty JSON Lines file", vec![("f.jsonl", b"".to_vec())], vec!["eval", "--as-of", "2024-03-15", "f.jsonl"]),
        ("empty CSV file", vec![("f.csv", b"".to_vec())], vec!["eval", "--as-of", "2024-03-15", "f.csv"]),
        ("empty standard input", vec![], vec!["eval", "--as-of", "2024-03-15", "-"]),
        ("JSON Lines: a line over --max-line-bytes fails alone", vec![("f.jsonl", format!("{GOOD_LINE}\n{GOOD_LINE}{}\n{GOOD_LINE}\n", " ".repeat(100)).into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--max-line-bytes", "200", "--format", "jsonl", "f.jsonl"]),
        ("test cases: `[` nested 100,000 deep", vec![("p/p.handover", b"facts g { x: bool }\naction ok \"ok\"\nrule r {\n  then ok\n  reason \"r\"\n}\n".to_vec()), ("p/tests/deep.yaml", format!("cases: {}\n", deep("[", "]")).into_bytes())], vec!["test", "--rules", "p"]),
        ("YAML: a document that does not parse fails alone", vec![("f.yaml", format!("{PARTNER}subscriptions:\n  - {{ id: a, service: usage_based, channel: open }}\n---\n{PARTNER}subscriptions: [ {{ id: b\n---\n{PARTNER}subscriptions:\n  - {{ id: c, service: usage_based, channel: open }}\n").into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.yaml"]),
        ("invalid UTF-8", vec![("f.yaml", b"partner: { role: \xff\xfe }\n".to_vec())], vec!["eval", "f.yaml"]),
        ("NUL byte in YAML", vec![("f.yaml", b"partner: { role: sales\x00agent }\nsubscriptions: []\n".to_vec())], vec!["eval", "--as-of", "2024-03-15", "f.yaml"]),
        ("byte-order mark", vec![("f.yaml", format!("\u{feff}{PARTNER}subscriptions:\n  - {{ id: s, service: usage_based, channel: open }}\n").into_bytes())], vec!["eval", "--as-of", "2024-03-15", "f.yaml"]),
        ("very long line", vec![("f.yaml", long_line.into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.yaml"]),
        ("JSON Lines: a BOM opens the file; a NUL and a BOM inside fail their lines only", vec![("f.jsonl", jsonl_with_bad.into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.jsonl"]),
        ("JSON Lines: invalid UTF-8 line", vec![("f.jsonl", [GOOD_LINE.as_bytes(), b"\n{\"a\xff\": 1}\n", GOOD_LINE.as_bytes(), b"\n"].concat())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.jsonl"]),
        ("CSV: unknown column", vec![("f.csv", b"partner.role,subscription.chanel\nsales_agent,open\n".to_vec())], vec!["eval", "--as-of", "2024-03-15", "f.csv"]),
        ("CSV: bad cells keep the other rows", vec![("f.csv", b"partner.role,subscription.id,subscription.service,subscription.channel,subscription.term_end\nsales_agent,a,usage_based,open,\nsales_agent,b,usage_based,opne,\nsales_agent,c,license_based,csp_partner,2024-02-30\nsales_agent,d,usage_based,csp_partner,\n".to_vec())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.csv"]),
        ("CSV: a second byte-order mark is part of the first column's name", vec![("f.csv", b"\xef\xbb\xbf\xef\xbb\xbfpartner.role,subscription.id,subscription.service,subscription.channel\nsales_agent,a,usage_based,open\n".to_vec())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.csv"]),
        ("JSON Lines: a line break is \\n or \\r\\n; other carriage returns belong to the line", vec![("f.jsonl", [GOOD_LINE.as_bytes(), b"\r\r\n{\"partner\": {\"role\": \"sales_agent\"}, \"subscriptions\": [{\"id\": \"a\r\r\n", GOOD_LINE.as_bytes(), b"\r\n"].concat())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.jsonl"]),
        ("JSON Lines: a NUL in a key is shown escaped", vec![("f.jsonl", format!("{{\"partner\": {{\"role\": \"sales_agent\"}}, \"a\\u0000b\": 1, \"subscriptions\": []}}\n{GOOD_LINE}\n").into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.jsonl"]),
        ("JSON Lines: invisible characters in values are shown escaped", vec![("f.jsonl", br#"{"partner":{"role":"sales_agent"},"subscriptions":[{"id":"a","service":"usage_based","channel":"open\u200b","term_end":"2024-01-0\u00001"}]}"#.to_vec())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.jsonl"]),
        ("CSV: ragged row", vec![("f.csv", b"partner.role,subscription.id,subscription.service,subscription.channel\nsales_agent,a,usage_based\nsales_agent,b,usage_based,open\n".to_vec())], vec!["eval", "--as-of", "2024-03-15", "--format", "jsonl", "f.csv"]),
        ("policy nested too deeply", vec![("p.handover", deep_policy.into_bytes())], vec!["check", "--rules", "p.handover"]),
        ("policy folder without policy files", vec![("p/readme.txt", b"x".to_vec())], vec!["check", "--rules", "p"]),
        ("policy that is not UTF-8", vec![("p.handover", b"enum E {\n  a\xff }\n".to_vec())], vec!["check", "--rules", "p.handover"]),
        ("policy file missing", vec![], vec!["check", "--rules", "nope.handover"]),
        ("policy with a NUL byte", vec![("p.handover", b"enum E { a\x00 }\n".to_vec())], vec!["check", "--rules", "p.handover"]),
        ("overflow in day arithmetic", vec![("p.handover", b"facts g { n: int }\naction ok(d: date) \"ok\"\nrule r {\n  then ok(d: as_of + g.n)\n  reason \"r\"\n}\n".to_vec()), ("f.yaml", b"g: { n: 9223372036854775807 }\n".to_vec())], vec!["eval", "--rules", "p.handover", "--as-of", "2024-03-15", "f.yaml"]),
        ("date arithmetic out of the calendar", vec![("p.handover", b"facts g { n: int }\naction ok(d: date) \"ok\"\nrule r {\n  then ok(d: as_of + g.n)\n  reason \"r\"\n}\n".to_vec()), ("f.yaml", b"g: { n: 999999999 }\n".to_vec())], vec!["eval", "--rules", "p.handover", "--as-of", "2024-03-15", "f.yaml"]),
        ("json output stays one document with errors inside", vec![("f.jsonl", format!("{GOOD_LINE}\nnot json\n").into_bytes())], vec!["eval", "--as-of", "2024-03-15", "--format", "json", "f.jsonl"]),
    ];
    let mut all = String::new();
    for (name, files, args) in &cases {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let today = || chrono::Local::now().date_naive().to_string();
        let before = today();
        let mut out = run(&files, args, b"");
        // The very long id would make the snapshot unreadable.
        out = out.replace(&"x".repeat(100_000), "x…(100000)");
        // A document whose own `as_of` is bad is shown as of today (the default): keep the
        // snapshot independent of the day it runs on, even across midnight.
        for day in [before, today()] {
            out = out.replace(&day, "[today]");
        }
        all.push_str(&format!("=== {name}: handover {}\n{out}\n", args.join(" ")));
    }
    insta::assert_snapshot!(util::redact_identity(&all));
}

#[test]
fn brackets_that_do_not_nest_are_not_counted_against_the_yaml_depth_limit() {
    let policy = Policy::builtin().unwrap();
    let many = |c: &str| c.repeat(300);
    let text = format!(
        "# {open} in a comment\n\
         partner: {{ role: sales_agent }}\n\
         customer:\n  name: a{open}b\n\
         subscriptions:\n\
         \x20 - {{ id: \"{open}\\\"{open}\", offer: '{open}''{open}', service: usage_based, channel: open }}\n\
         \x20 - id: |\n      {open}\n\n      {open}\n    offer: >-\n      {open}\n    service: usage_based\n    channel: open\n",
        open = many("[")
    );
    let docs = parse(policy.schema(), &text, Format::Yaml, "f.yaml");
    assert_eq!(docs.len(), 1);
    assert!(docs[0].shared.is_ok(), "{:?}", docs[0].shared);
    let ids: Vec<_> = docs[0].entries.iter().map(|e| e.values.as_ref().map(|_| e.key.clone())).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.iter().all(Result::is_ok), "{ids:?}");

    // One level past the limit, in flow context, is refused; at the limit it is read.
    let nested = |n: usize| {
        format!("partner: {{ role: sales_agent }}\nx: {}{}\nsubscriptions: []\n", "[".repeat(n), "]".repeat(n))
    };
    let limit = handover::facts::MAX_YAML_FLOW_DEPTH;
    let too_deep = parse(policy.schema(), &nested(limit + 1), Format::Yaml, "f.yaml");
    let err = format!("{:?}", too_deep[0].shared);
    assert!(err.contains("nested more than 128 levels deep at line 2 column 132"), "{err}");
    let at_limit = parse(policy.schema(), &nested(limit), Format::Yaml, "f.yaml");
    let err = format!("{:?}", at_limit[0].shared);
    assert!(err.contains("unknown key `x`") && !err.contains("nested"), "{err}");
}

/// One line (or block) of YAML whose brackets are text, not nesting: in quotes, comments, block
/// scalars and plain scalars; plus some real flow nesting, not too deep.
fn yaml_piece() -> impl Strategy<Value = String> {
    let junk = "[\\[\\]{}#:,>|' a-z-]{0,40}";
    prop_oneof![
        junk.prop_map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))),
        junk.prop_map(|t| format!("'{}'", t.replace('\'', "''"))),
        junk.prop_map(|t| format!("x # {t}")),
        (junk, junk).prop_map(|(a, b)| format!("|\n    {a}\n\n    {b}")),
        (junk, junk).prop_map(|(a, b)| format!(">-\n    {a}\n    {b}")),
        "[a-z]{1,3}[\\[{]{1,200}[a-z]{0,3}".prop_map(|t| t),
        (1usize..60).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// The YAML depth limit never refuses what the YAML parser itself reads (its own recursion
    /// limit is also 128, so any text it parses nests no deeper).
    #[test]
    fn the_yaml_depth_limit_refuses_nothing_the_parser_reads(pieces in proptest::collection::vec(yaml_piece(), 1..12)) {
        let text: String = pieces.iter().enumerate().map(|(i, p)| format!("k{i}: {p}\n")).collect();
        let brackets = text.chars().filter(|c| matches!(c, '[' | '{')).count();
        if serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok() {
            let policy = Policy::builtin().unwrap();
            let docs = parse(policy.schema(), &text, Format::Yaml, "f.yaml");
            let err = format!("{:?}", docs.first().map(|d| &d.shared));
            prop_assert!(!err.contains("nested more than"), "{} brackets; refused:\n{}", brackets, text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// JSON Lines read in pieces of any size: a line over the limit (its `\n` not counted) is one
    /// error record and every other line is decided as the whole-text reader decides it.
    #[test]
    fn long_lines_fail_alone_whatever_the_read_size(
        lines in proptest::collection::vec(prop_oneof![Just(None), (0usize..200).prop_map(Some)], 1..12),
        crlf in any::<bool>(),
        last_newline in any::<bool>(),
        capacity in 1usize..64,
        slack in 0usize..3,
    ) {
        let policy = Policy::builtin().unwrap();
        let max = GOOD_LINE.len() + slack;
        let end = if crlf { "\r\n" } else { "\n" };
        // `None` is a good line; `Some(n)` is `n` spaces more than the limit allows, or fewer.
        let texts: Vec<String> = lines.iter().map(|l| match l {
            None => GOOD_LINE.to_string(),
            Some(n) => format!("{GOOD_LINE}{}", " ".repeat(*n)),
        }).collect();
        let mut input = texts.join(end);
        if last_newline {
            input.push_str(end);
        }
        let today = Date::parse("2024-03-15").unwrap();
        let decide = |doc: &handover::facts::Document, date: Date| policy.records(doc, date);
        let run = handover::batch::Run { policy: &policy, source: "f", as_of: None, today, decide: &decide, max_line_bytes: max };
        let mut got = Vec::new();
        let mut emit = |chunk: Vec<Vec<handover::Record>>, _| { got.extend(chunk.into_iter().flatten()); Ok(()) };
        let mut reader = std::io::BufReader::with_capacity(capacity, input.as_bytes());
        run.json_lines(&mut reader, &mut emit).unwrap();
        prop_assert_eq!(got.len(), texts.len());
        for (i, (record, text)) in got.iter().zip(&texts).enumerate() {
            let last = i + 1 == texts.len();
            let len = text.len() + usize::from(crlf && (!last || last_newline));
            prop_assert_eq!(&record.source, &format!("f:{}", i + 1));
            if len > max {
                prop_assert!(record.outcome.as_ref().is_err_and(|e| e.to_string().contains("the line is longer than")), "{:?}", record);
            } else {
                prop_assert_eq!(record.outcome.as_ref().map(|d| d.rule.as_str()), Ok("azure_from_other_channels"));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// In a YAML stream, a document that does not parse fails alone: every other document is
    /// still read and decided, and the error's line is the line in the file.
    #[test]
    fn a_broken_yaml_document_loses_none_of_the_others(
        docs in proptest::collection::vec((any::<bool>(), 0usize..3, any::<bool>()), 1..8),
    ) {
        let policy = Policy::builtin().unwrap();
        let mut text = String::new();
        let mut broken_lines = Vec::new();
        for (i, (good, marker, comment)) in docs.iter().enumerate() {
            match (i, marker) {
                (0, 0) => {}
                (_, 1) => text.push_str("--- # next\n"),
                (_, 2) if i > 0 => text.push_str("...\n---\n"),
                _ => text.push_str("---\n"),
            }
            if *comment {
                text.push_str("# a comment: --- is not a marker here\n");
            }
            text.push_str("partner: { role: sales_agent }\n");
            if *good {
                text.push_str(&format!("subscriptions:\n  - {{ id: s{i}, service: usage_based, channel: open }}\n"));
            } else {
                broken_lines.push(text.lines().count() + 1);
                text.push_str("subscriptions: [ { id: x\n");
            }
        }
        let as_of = Date::parse("2024-03-15").unwrap();
        let records = policy.evaluate_text(&text, Format::Yaml, "f.yaml", Some(as_of), as_of);
        prop_assert_eq!(records.len(), docs.len(), "{}", text);
        let mut broken = broken_lines.iter();
        for (i, ((good, _, _), (_, record))) in docs.iter().zip(&records).enumerate() {
            if *good {
                let id = format!("s{i}");
                prop_assert_eq!(record.key.as_deref(), Some(id.as_str()));
                prop_assert!(record.outcome.is_ok(), "{:?}", record);
            } else {
                let err = record.outcome.as_ref().unwrap_err().to_string();
                let line = broken.next().unwrap();
                // The parser notices the unclosed flow at the next line or at the end.
                prop_assert!(err.starts_with("not valid YAML"), "{}", err);
                prop_assert!(err.contains(&format!("while parsing a flow mapping at line {line} column 18")), "{}\n{}", err, text);
            }
        }
    }
}

fn sub_line(i: usize, service: u8, channel: u8, role: u8, cancelled: bool, term: Option<i64>, csp: bool) -> String {
    use common::{CHANNELS, ROLES};
    let term = term
        .and_then(|t| Date::from_days(Date::parse("2024-03-15").unwrap().days() + t))
        .map(|d| format!(r#","term_end":"{d}""#))
        .unwrap_or_default();
    format!(
        r#"{{"partner":{{"role":"{}"}},"customer":{{"is_csp_partner":{csp}}},"subscriptions":[{{"id":"s{i}","service":"{}","channel":"{}","cancelled":{cancelled}{term}}}]}}"#,
        ROLES[role as usize % 7],
        if service % 2 == 0 { "license_based" } else { "usage_based" },
        CHANNELS[channel as usize % 8],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every valid subscription gets exactly one verdict or one error, the same on every run,
    /// and the decision diagram agrees with trying the rules one by one.
    #[test]
    fn one_outcome_and_diagram_agrees(
        subs in proptest::collection::vec(
            (any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>(),
             proptest::option::of(prop_oneof![-800i64..800, Just(i64::from(i32::MAX)), Just(-700_000i64)]),
             any::<bool>()),
            1..20),
        as_of_offset in -1000i64..1000,
    ) {
        let policy = Policy::builtin().unwrap();
        let text: String = subs.iter().enumerate()
            .map(|(i, (s, c, r, x, t, csp))| sub_line(i, *s, *c, *r, *x, *t, *csp) + "\n")
            .collect();
        let as_of = Date::from_days(Date::parse("2024-03-15").unwrap().days() + as_of_offset).unwrap();
        let first = policy.evaluate_text(&text, Format::JsonLines, "p", Some(as_of), as_of);
        let again = policy.evaluate_text(&text, Format::JsonLines, "p", Some(as_of), as_of);
        prop_assert_eq!(first.len(), subs.len());
        prop_assert_eq!(&first, &again);
        for doc in parse(policy.schema(), &text, Format::JsonLines, "p") {
            let shared = doc.shared.as_ref().unwrap();
            for e in &doc.entries {
                let item = e.values.as_ref().unwrap();
                let fast = policy.evaluate(shared, item, as_of);
                let slow = policy.evaluate_interpreted(shared, item, as_of);
                match (fast, slow) {
                    (Ok(a), Ok(b)) => {
                        prop_assert_eq!(a.rule_id(), b.rule_id());
                        prop_assert_eq!(a.params().collect::<Vec<_>>(), b.params().collect::<Vec<_>>());
                    }
                    (Err(a), Err(b)) => prop_assert_eq!(a, b),
                    (a, b) => prop_assert!(false, "diagram {:?} but interpreter {:?}", a.map(|v| v.rule_id()), b.map(|v| v.rule_id())),
                }
            }
        }
    }
}
