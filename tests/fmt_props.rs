//! Properties of the policy formatter, `handover::language::fmt::format_text`:
//!
//! - the shipped rules are canonically formatted, and formatting keeps their AST;
//! - for random valid policy text (random layout, redundant parentheses, comments anywhere a
//!   comment may go): the formatted text parses to the same AST, formatting is idempotent, and
//!   every comment is kept, in order;
//! - no input, however broken, makes the parser or the formatter panic.
//!
//! AST equality ignores spans by design (`ast::Span`'s `PartialEq` is always true), so
//! `parse(a) == parse(b)` means "same meaning, any layout".

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use handover::language::fmt::format_text;
use handover::language::parser::parse_file;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;

// ---- helpers -------------------------------------------------------------------------------

/// The shipped policy files, `rules/*.handover`, in name order.
fn shipped() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "handover"))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// The `#` comments of a policy text, outside string literals, each trimmed at the end (the
/// formatter drops trailing blanks and `\r`). Written independently of the formatter's scanner.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '#' {
            let mut comment = String::from("#");
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
                comment.push(c);
            }
            out.push(comment.trim_end().to_string());
        }
    }
    out
}

/// Shows a text with its line numbers, for failure messages.
fn numbered(text: &str) -> String {
    text.lines().enumerate().map(|(i, l)| format!("{:>4} | {l}\n", i + 1)).collect()
}

// ---- the shipped rules ---------------------------------------------------------------------

#[test]
fn shipped_rules_are_canonically_formatted() {
    let files = shipped();
    assert!(files.len() >= 3, "expected the shipped policy files in rules/, found {files:?}");
    for (path, text) in &files {
        let formatted = format_text(text);
        assert!(formatted.is_ok(), "{}: does not parse: {:?}", path.display(), formatted.err());
        let formatted = formatted.unwrap();
        assert_eq!(formatted, *text, "{} is not canonically formatted", path.display());
    }
}

#[test]
fn formatting_shipped_rules_keeps_their_ast() {
    for (path, text) in shipped() {
        let formatted = format_text(&text).unwrap();
        let before = parse_file(0, &text).unwrap();
        let after = parse_file(0, &formatted).unwrap();
        assert_eq!(after, before, "{}: formatting changed the AST", path.display());
        assert_eq!(comments(&formatted), comments(&text), "{}: formatting changed the comments", path.display());
        assert!(!before.enums.is_empty() || !before.actions.is_empty() || !before.rules.is_empty());
    }
}

/// The properties also hold for a whole policy's worth of text: the shipped files concatenated.
#[test]
fn formatting_the_concatenated_shipped_rules_is_stable() {
    let all: String = shipped().into_iter().map(|(_, t)| t + "\n").collect();
    let formatted = format_text(&all).unwrap();
    assert_eq!(parse_file(0, &formatted).unwrap(), parse_file(0, &all).unwrap());
    assert_eq!(format_text(&formatted).unwrap(), formatted);
    assert_eq!(comments(&formatted), comments(&all));
}

// ---- comments, pinned ------------------------------------------------------------------------

/// `None` when `format_text(input) == expected`, else the three texts side by side.
fn formats_as(input: &str, expected: &str) -> Option<String> {
    let got = format_text(input).unwrap();
    (got != expected).then(|| {
        format!("--- input\n{}--- expected\n{}--- got\n{}", numbered(input), numbered(expected), numbered(&got))
    })
}

/// Asserts every (input, expected) pair formats as expected, reporting all that do not.
#[track_caller]
fn assert_all_format(pairs: &[(&str, &str)]) {
    let failures: Vec<String> = pairs.iter().filter_map(|(input, expected)| formats_as(input, expected)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} texts formatted wrongly:\n{}",
        failures.len(),
        pairs.len(),
        failures.join("\n")
    );
}

/// Text already in the canonical layout, with a comment in every kind of place the formatter
/// documents: formatting changes nothing.
#[test]
fn canonical_layout_with_comments_is_a_fixed_point() {
    let text = r#"# A file comment.

# Above the enum.
enum Channel {  # after the header
    # above a value
    open    "Open licensing",  # after a value
    direct  "Bought directly",
}

facts partner {
    # above a field
    role: text @label  "Who acts"
}

action wait(until: date, days_left: int)  # after the parameters
    "Wait until the term ends."

rule term_running {  # after the rule header
    # above the condition
    when partner.role == "a \"quoted\" # not a comment \\"
    # between conditions
     and present(partner.role)
    then wait(
        until: as_of + 3,  # after an argument
        days_left: 2024-06-30 - as_of,
        extra: -1,
    )
    # above the reason
    reason "The current term still runs."
    source "Partner Center"
}

# At the end of the file.
"#;
    assert_all_format(&[(text, text)]);
}

/// "A comment at the end of a line stays at the end of that item's line" (`src/fmt.rs`), for
/// the items whose parse spans run on over the blanks and comments after them: a field, a
/// `then` without arguments, a comparison operand of `when`, a whole `or` condition, and the
/// line after a group's closing brace. Each text is canonical and must come back unchanged.
#[test]
fn end_of_line_comments_stay_at_the_end_of_their_line() {
    let cases = [
        "facts g {\n    a: int  # about a\n    b: bool\n}\n",
        "facts g {\n    a: int  \"described\"  # about a\n    b: bool\n}\n",
        "facts g {\n    a: int\n}  # end of g\n",
        "rule r {\n    then proceed  # why\n    reason \"r\"\n}\n",
        "rule r {\n    when g.a == 1  # first\n     and g.b\n    then proceed\n    reason \"r\"\n}\n",
        "rule r {\n    when g.a == 1 or g.b  # either\n    then proceed\n    reason \"r\"\n}\n",
    ];
    assert_all_format(&cases.map(|text| (text, text)));
}

/// An end-of-line comment belongs to the item it follows on that line, never to an earlier
/// line of output that happens to start on the same source line.
#[test]
fn end_of_line_comment_goes_with_the_item_it_follows() {
    assert_all_format(&[
        ("enum E { a, b  # b is new\n}\n", "enum E {\n    a,\n    b,  # b is new\n}\n"),
        ("facts g {\n    a: int b: bool  # b is new\n}\n", "facts g {\n    a: int\n    b: bool  # b is new\n}\n"),
        (
            "rule r {\n    then proceed reason \"r\"  # why\n}\n",
            "rule r {\n    then proceed\n    reason \"r\"  # why\n}\n",
        ),
    ]);
}

/// The smallest inputs the idempotence property found: formatting twice moves the comment again.
#[test]
fn formatting_is_idempotent_with_end_of_line_comments() {
    let cases = [
        "facts g {\n    a: int\n}  # end of g\n",
        "facts g {\n    a: int b: bool  # b is new\n}\n",
        "rule r {\n    then proceed reason \"r\"  # why\n}\n",
        "rule r {\n    when g.a == 1 and g.b  # both\n    then proceed\n    reason \"r\"\n}\n",
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|text| {
            let once = format_text(text).unwrap();
            let twice = format_text(&once).unwrap();
            (twice != once).then(|| {
                format!("--- input\n{}--- once\n{}--- twice\n{}", numbered(text), numbered(&once), numbered(&twice))
            })
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} texts change again:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

// ---- a generator of random valid policy text ----------------------------------------------

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "true", "false", "present", "when", "then", "reason", "source", "enum", "facts", "each",
    "action", "rule",
];

fn ident() -> BoxedStrategy<String> {
    prop_oneof![
        // Names that start like keywords are still names (`notice`, `in_force`, `order`).
        3 => select(vec!["notice", "in_force", "order", "android", "truely", "sourced", "rules", "each_one", "as_of_x"])
            .prop_map(str::to_string),
        10 => "[a-z_][a-z0-9_]{0,7}".prop_filter("a keyword is not a name", |s| !KEYWORDS.contains(&s.as_str())),
    ]
    .boxed()
}

fn path() -> BoxedStrategy<String> {
    prop::collection::vec(ident(), 1..=3).prop_map(|parts| parts.join(".")).boxed()
}

fn int_lit() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (0u32..1000).prop_map(|n| n.to_string()),
        1 => "0[0-9]{1,3}",                                  // leading zeros
        1 => Just(i64::MAX.to_string()),
    ]
    .boxed()
}

fn neg_int() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (1u32..1000).prop_map(|n| format!("-{n}")),
        1 => Just(i64::MIN.to_string()),
    ]
    .boxed()
}

fn date_lit() -> BoxedStrategy<String> {
    prop_oneof![
        6 => (1000u32..3000, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        1 => Just("2024-02-29".to_string()),
        1 => Just("0000-01-01".to_string()),
        1 => Just("2023-12-31".to_string()),
    ]
    .boxed()
}

/// A string literal with escapes (`\"`, `\\`, `\n`, `\t`), `#` characters, and line breaks
/// (long strings may wrap; whitespace is folded). `words` bounds its length.
fn string_lit(words: usize) -> BoxedStrategy<String> {
    let piece = prop_oneof![
        10 => "[a-zA-Z0-9#{}().,:;'/-]{1,10}",
        6 => Just(" ".to_string()),
        1 => Just("  ".to_string()),
        1 => Just("\n            ".to_string()),
        1 => Just("\\\"".to_string()),
        1 => Just("\\\\".to_string()),
        1 => Just("\\n".to_string()),
        1 => Just("\\t".to_string()),
        1 => Just("é→".to_string()),
    ];
    prop::collection::vec(piece, 0..words).prop_map(|p| format!("\"{}\"", p.concat())).boxed()
}

/// A small expression tree, rendered with the parentheses the grammar needs plus random
/// redundant ones (`Paren`).
#[derive(Clone, Debug)]
enum E {
    /// One token: a literal, a name or a path, a negative number.
    Leaf(String),
    Present(String),
    Paren(Box<E>),
    Not(Box<E>),
    And(Vec<E>),
    Or(Vec<E>),
    Cmp(&'static str, Box<E>, Box<E>),
    /// negated, `not in` spelling (the whitespace between the words), value, set, trailing comma
    In(bool, String, Box<E>, Vec<E>, bool),
    Arith(&'static str, Box<E>, Box<E>),
}

/// 1 or, 2 and, 3 not, 4 comparison / in, 5 sum, 6 term.
fn prec(e: &E) -> u8 {
    match e {
        E::Or(_) => 1,
        E::And(_) => 2,
        E::Not(_) => 3,
        E::Cmp(..) | E::In(..) => 4,
        E::Arith(..) => 5,
        E::Leaf(_) | E::Present(_) | E::Paren(_) => 6,
    }
}

/// Tokens of `e` where the grammar expects precedence level `min` or tighter.
fn render(e: &E, min: u8, out: &mut Vec<String>) {
    if prec(e) < min {
        out.push("(".into());
        render(e, 0, out);
        out.push(")".into());
        return;
    }
    let join_parts = |parts: &[E], kw: &str, level: u8, out: &mut Vec<String>| {
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push(kw.to_string());
            }
            render(p, level, out);
        }
    };
    match e {
        E::Leaf(t) => out.push(t.clone()),
        E::Present(p) => out.extend(["present".into(), "(".into(), p.clone(), ")".into()]),
        E::Paren(x) => {
            out.push("(".into());
            render(x, 0, out);
            out.push(")".into());
        }
        E::Not(x) => {
            out.push("not".into());
            render(x, 3, out);
        }
        E::And(xs) => join_parts(xs, "and", 3, out),
        E::Or(xs) => join_parts(xs, "or", 2, out),
        E::Cmp(op, l, r) => {
            render(l, 5, out);
            out.push((*op).to_string());
            render(r, 5, out);
        }
        E::In(negated, ws, v, set, trailing) => {
            render(v, 5, out);
            out.push(if *negated { format!("not{ws}in") } else { "in".into() });
            out.push("[".into());
            for (i, x) in set.iter().enumerate() {
                if i > 0 {
                    out.push(",".into());
                }
                render(x, 5, out);
            }
            if *trailing && !set.is_empty() {
                out.push(",".into());
            }
            out.push("]".into());
        }
        E::Arith(op, l, r) => {
            render(l, 5, out);
            out.push((*op).to_string());
            render(r, 6, out);
        }
    }
}

fn leaf() -> BoxedStrategy<E> {
    prop_oneof![
        3 => int_lit().prop_map(E::Leaf),
        2 => neg_int().prop_map(E::Leaf),
        2 => date_lit().prop_map(E::Leaf),
        2 => string_lit(6).prop_map(E::Leaf),
        1 => select(vec!["true", "false"]).prop_map(|s| E::Leaf(s.into())),
        5 => path().prop_map(E::Leaf),
        2 => Just(E::Leaf("as_of".into())),
        2 => path().prop_map(E::Present),
    ]
    .boxed()
}

fn expr() -> BoxedStrategy<E> {
    leaf()
        .prop_recursive(4, 32, 4, |inner| {
            let cmp = select(vec!["==", "!=", "<", "<=", ">", ">="]);
            let add = select(vec!["+", "-"]);
            let not_in_ws = select(vec![" ", "  ", "\n", "\t", "\n     "]).prop_map(str::to_string);
            prop_oneof![
                1 => inner.clone().prop_map(|e| E::Paren(Box::new(e))),
                2 => inner.clone().prop_map(|e| E::Not(Box::new(e))),
                3 => prop::collection::vec(inner.clone(), 2..4).prop_map(E::And),
                2 => prop::collection::vec(inner.clone(), 2..4).prop_map(E::Or),
                4 => (cmp, inner.clone(), inner.clone()).prop_map(|(op, l, r)| E::Cmp(op, Box::new(l), Box::new(r))),
                2 => (any::<bool>(), not_in_ws, inner.clone(), prop::collection::vec(inner.clone(), 0..4), any::<bool>())
                    .prop_map(|(n, ws, v, set, t)| E::In(n, ws, Box::new(v), set, t)),
                3 => (add, inner.clone(), inner).prop_map(|(op, l, r)| E::Arith(op, Box::new(l), Box::new(r))),
            ]
        })
        .boxed()
}

fn expr_tokens() -> BoxedStrategy<Vec<String>> {
    expr()
        .prop_map(|e| {
            let mut out = Vec::new();
            render(&e, 0, &mut out);
            out
        })
        .boxed()
}

/// `, ` between items, with an optional trailing comma.
fn comma_list(items: Vec<Vec<String>>, trailing: bool) -> Vec<String> {
    let mut out = Vec::new();
    let n = items.len();
    for (i, item) in items.into_iter().enumerate() {
        out.extend(item);
        if i + 1 < n || trailing {
            out.push(",".into());
        }
    }
    out
}

fn type_name() -> BoxedStrategy<String> {
    prop_oneof![select(vec!["bool", "int", "text", "date"]).prop_map(str::to_string), ident()].boxed()
}

fn enum_decl() -> BoxedStrategy<Vec<String>> {
    let value = (ident(), prop::option::of(string_lit(5))).prop_map(|(name, desc)| {
        let mut t = vec![name];
        t.extend(desc);
        t
    });
    (ident(), prop::collection::vec(value, 0..5), any::<bool>())
        .prop_map(|(name, values, trailing)| {
            let mut t = vec!["enum".to_string(), name, "{".into()];
            t.extend(comma_list(values, trailing));
            t.push("}".into());
            t
        })
        .boxed()
}

fn field() -> BoxedStrategy<Vec<String>> {
    let default = prop_oneof![int_lit(), date_lit(), string_lit(4), Just("true".to_string()), ident()];
    let annotations = prop::collection::vec(select(vec!["@key", "@label", "@other"]), 0..3);
    (
        ident(),
        type_name(),
        any::<bool>(),
        prop::option::weighted(0.3, default),
        annotations,
        prop::option::weighted(0.5, string_lit(8)),
        any::<bool>(),
    )
        .prop_map(|(name, ty, optional, default, annotations, desc, comma)| {
            let mut t = vec![name, ":".into(), ty];
            if optional {
                t.push("?".into());
            }
            if let Some(d) = default {
                t.extend(["=".to_string(), d]);
            }
            t.extend(annotations.into_iter().map(str::to_string));
            t.extend(desc);
            if comma {
                t.push(",".into());
            }
            t
        })
        .boxed()
}

fn group_decl() -> BoxedStrategy<Vec<String>> {
    (prop::option::of(ident()), ident(), prop::collection::vec(field(), 0..5))
        .prop_map(|(list, name, fields)| {
            let mut t = match list {
                Some(list) => vec!["each".to_string(), name, "in".into(), list],
                None => vec!["facts".to_string(), name],
            };
            t.push("{".into());
            t.extend(fields.into_iter().flatten());
            t.push("}".into());
            t
        })
        .boxed()
}

fn action_decl() -> BoxedStrategy<Vec<String>> {
    let param = (ident(), type_name()).prop_map(|(n, t)| vec![n, ":".into(), t]);
    (ident(), prop::option::of((prop::collection::vec(param, 0..4), any::<bool>())), string_lit(30))
        .prop_map(|(name, params, desc)| {
            let mut t = vec!["action".to_string(), name];
            if let Some((params, trailing)) = params {
                t.push("(".into());
                t.extend(comma_list(params, trailing));
                t.push(")".into());
            }
            t.push(desc);
            t
        })
        .boxed()
}

fn rule_decl() -> BoxedStrategy<Vec<String>> {
    let arg = (ident(), expr_tokens()).prop_map(|(n, e)| {
        let mut t = vec![n, ":".into()];
        t.extend(e);
        t
    });
    (
        ident(),
        prop::option::weighted(0.3, (prop::collection::vec(path(), 1..4), any::<bool>())),
        prop::option::weighted(0.85, expr_tokens()),
        ident(),
        prop::option::of((prop::collection::vec(arg, 0..4), any::<bool>())),
        string_lit(40),
        prop::option::of(string_lit(25)),
    )
        .prop_map(|(id, requires, when, action, args, reason, source)| {
            let mut t = vec!["rule".to_string(), id, "{".into()];
            if let Some((facts, trailing)) = requires {
                t.push("requires".into());
                t.extend(comma_list(facts.into_iter().map(|f| vec![f]).collect(), trailing));
            }
            if let Some(w) = when {
                t.push("when".into());
                t.extend(w);
            }
            t.extend(["then".to_string(), action]);
            if let Some((args, trailing)) = args {
                t.push("(".into());
                t.extend(comma_list(args, trailing));
                t.push(")".into());
            }
            t.extend(["reason".to_string(), reason]);
            if let Some(s) = source {
                t.extend(["source".to_string(), s]);
            }
            t.push("}".into());
            t
        })
        .boxed()
}

fn comment() -> BoxedStrategy<String> {
    // Printable ASCII (so also `"`, `\` and `#`) and a little more.
    "#[ -~é→]{0,24}".boxed()
}

/// What may stand between two tokens: nothing, blanks, line breaks, comments at the end of a
/// line or on lines of their own, blank lines.
fn separator() -> BoxedStrategy<String> {
    prop_oneof![
        12 => Just(" ".to_string()),
        3 => Just(String::new()),
        3 => Just("\n    ".to_string()),
        1 => Just("\t".to_string()),
        1 => Just("   \n\n".to_string()),
        1 => Just("\r\n".to_string()),
        2 => comment().prop_map(|c| format!("  {c}\n    ")),
        1 => comment().prop_map(|c| format!("{c}\r\n")),
        1 => comment().prop_map(|c| format!("\n{c}\n")),
        1 => (comment(), comment()).prop_map(|(a, b)| format!("\n\n    {a}\n  {b}\n\n")),
    ]
    .boxed()
}

/// Whether two tokens may touch: one of them is punctuation. (`2024`,`-`,`03` must not become
/// `2024-03`, nor `not`,`x` become `notx`.)
fn may_touch(prev: &str, next: &str) -> bool {
    let punct = |c: Option<char>| c.is_some_and(|c| "{}()[],:?\"".contains(c));
    punct(prev.chars().last()) || punct(next.chars().next())
}

fn join(tokens: &[String], seps: &[String]) -> String {
    let mut out = String::new();
    out.push_str(&seps[0]);
    for (i, tok) in tokens.iter().enumerate() {
        out.push_str(tok);
        let sep = &seps[i + 1];
        match tokens.get(i + 1) {
            Some(next) if sep.is_empty() && !may_touch(tok, next) => out.push(' '),
            _ => out.push_str(sep),
        }
    }
    out
}

/// Random valid (parsing, not necessarily type-checking) policy text.
fn policy_text() -> BoxedStrategy<String> {
    let decl = prop_oneof![
        2 => enum_decl(),
        2 => group_decl(),
        2 => action_decl(),
        5 => rule_decl(),
    ];
    (prop::collection::vec(decl, 0..7), prop::option::weighted(0.2, comment()))
        .prop_flat_map(|(decls, last)| {
            let tokens: Vec<String> = decls.into_iter().flatten().collect();
            let n = tokens.len() + 1;
            (Just(tokens), prop::collection::vec(separator(), n), Just(last))
        })
        .prop_map(|(tokens, seps, last)| {
            let mut text = join(&tokens, &seps);
            // A comment on the last line, without a line break after it.
            if let Some(c) = last {
                text.push_str(&c);
            }
            text
        })
        .boxed()
}

/// 64 cases per property, to keep the suite fast. Failures are not persisted to a file: a
/// failure prints the shrunk input; minimal reproductions of what these properties found are
/// pinned as named tests above.
fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(cases()) }
}

/// `FMT_PROPS_CASES` raises the number of cases for a longer local run.
fn cases() -> u32 {
    std::env::var("FMT_PROPS_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn formatting_random_policies(text in policy_text()) {
        let parsed = parse_file(0, &text);
        prop_assert!(parsed.is_ok(), "the generator made text that does not parse: {:?}\n{}", parsed.err(), numbered(&text));
        let parsed = parsed.unwrap();

        let formatted = format_text(&text);
        prop_assert!(formatted.is_ok(), "format_text failed on text that parses: {:?}", formatted.err());
        let formatted = formatted.unwrap();

        // (a) same AST
        let reparsed = parse_file(0, &formatted);
        prop_assert!(
            reparsed.is_ok(),
            "the formatted text does not parse: {:?}\n--- input\n{}--- formatted\n{}",
            reparsed.err(), numbered(&text), numbered(&formatted)
        );
        prop_assert_eq!(
            reparsed.unwrap(), parsed,
            "formatting changed the AST\n--- input\n{}--- formatted\n{}", numbered(&text), numbered(&formatted)
        );

        // (b) idempotent
        let again = format_text(&formatted);
        prop_assert!(again.is_ok());
        prop_assert_eq!(
            again.unwrap(), formatted.clone(),
            "formatting is not idempotent\n--- input\n{}--- formatted\n{}", numbered(&text), numbered(&formatted)
        );

        // (c) every comment kept: as many, and the same texts in the same order
        let before = comments(&text);
        let after = comments(&formatted);
        prop_assert_eq!(
            after.len(), before.len(),
            "the number of comments changed\n--- input\n{}--- formatted\n{}", numbered(&text), numbered(&formatted)
        );
        prop_assert_eq!(after, before);

        // The canonical layout has no trailing blanks and ends with exactly one line break.
        prop_assert!(formatted.is_empty() || formatted.ends_with('\n'));
        prop_assert!(!formatted.ends_with("\n\n"));
        prop_assert!(formatted.lines().all(|l| l == l.trim_end()), "trailing blanks:\n{}", numbered(&formatted));
    }
}

// ---- no panics on arbitrary input ----------------------------------------------------------

/// Grammar tokens and near-misses, glued together at random.
fn token_soup() -> BoxedStrategy<String> {
    let token = prop_oneof![
        6 => select(vec![
            "enum", "facts", "each", "in", "action", "rule", "when", "then", "reason", "source", "and", "or",
            "not", "not in", "present", "requires", "true", "false", "as_of", "{", "}", "(", ")", "[", "]", ",", ":", "?",
            "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "@", "@key", "@label", ".", "\"", "\\", "#", "\n",
            "\"a\\\"b\"", "\"\\q\"", "\"\\", "2024-03-15", "2023-02-30", "9999-99-99", "-5", "- 5",
            "99999999999999999999", "-9223372036854775809", "\u{FEFF}", "é", "→", "\r", "\t", "x.y", "x..y",
        ])
        .prop_map(str::to_string),
        2 => "[a-z_]{1,6}",
        1 => "[0-9]{1,22}",
        1 => "\"[^\"]{0,8}\"?",
        1 => "#[^\n]{0,10}\n",
    ];
    (prop::collection::vec(token, 0..80), prop::collection::vec(select(vec!["", " ", "\n"]), 80))
        .prop_map(|(tokens, seps)| tokens.iter().zip(seps.iter().cycle()).map(|(t, s)| format!("{t}{s}")).collect())
        .boxed()
}

/// Parses and formats without panicking; when formatting succeeds, the result keeps the AST.
fn check_no_panic(text: &str) -> Result<(), TestCaseError> {
    let parsed = parse_file(0, text);
    match format_text(text) {
        Ok(formatted) => {
            prop_assert!(parsed.is_ok(), "format_text accepted text parse_file rejects:\n{}", numbered(text));
            let reparsed = parse_file(0, &formatted);
            prop_assert!(reparsed.is_ok(), "formatted text does not parse:\n{}", numbered(&formatted));
            prop_assert_eq!(reparsed.unwrap(), parsed.unwrap());
        }
        Err(diagnostics) => {
            prop_assert!(parsed.is_err(), "format_text rejected text parse_file accepts");
            prop_assert!(!diagnostics.is_empty(), "an error without a diagnostic");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic(text in "(?s).{0,200}") {
        check_no_panic(&text)?;
    }

    #[test]
    fn printable_strings_never_panic(text in "[ -~\n\t]{0,200}") {
        check_no_panic(&text)?;
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_no_panic(&text)?;
    }

    /// Random valid text cut anywhere: almost always broken, never a panic.
    #[test]
    fn truncated_policies_never_panic(text in policy_text(), cut in any::<prop::sample::Index>()) {
        let chars: Vec<char> = text.chars().collect();
        let prefix: String = chars[..cut.index(chars.len() + 1)].iter().collect();
        check_no_panic(&prefix)?;
    }
}
