//! Arbitrary bytes as one policy file: the parser and the formatter never panic, and when the
//! text formats,
//!
//! - the formatted text parses to the same AST (`ast` equality ignores spans),
//! - formatting the formatted text changes nothing (idempotent),
//! - every `#` comment is kept, in order (compared trimmed at the end, as the formatter writes
//!   them; found by a scanner written here, independently of the formatter's),
//! - parse and format agree on whether the text is valid,
//!
//! and every syntax diagnostic renders (miette, with the source snippet).

#![no_main]

use handover::diagnostic::render;
use handover::language::fmt::format_text;
use handover::language::parser::parse_file;
use handover::source::Sources;
use libfuzzer_sys::fuzz_target;

/// The `#` comments outside string literals, each trimmed at the end.
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = parse_file(0, text);
    let formatted = format_text(text);
    match (&parsed, &formatted) {
        (Err(diags), Err(_)) => {
            let mut sources = Sources::new();
            sources.add("fuzz.handover", text);
            let _ = render(diags, &sources, false);
        }
        (Ok(_), Err(d)) => panic!("the text parses but does not format: {d:?}"),
        (Err(d), Ok(_)) => panic!("the text formats but does not parse: {d:?}"),
        (Ok(ast), Ok(out)) => {
            let again = match parse_file(0, out) {
                Ok(a) => a,
                Err(d) => panic!("the formatted text does not parse: {d:?}\n--- formatted ---\n{out}"),
            };
            assert!(again == *ast, "formatting changed the AST\n--- formatted ---\n{out}");
            match format_text(out) {
                Ok(twice) => assert_eq!(&twice, out, "formatting is not idempotent"),
                Err(d) => panic!("the formatted text does not format: {d:?}"),
            }
            assert_eq!(
                comments(out),
                comments(text),
                "formatting lost, added or reordered comments\n--- formatted ---\n{out}"
            );
        }
    }
});
