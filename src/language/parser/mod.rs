//! Text → [`crate::language::ast::Policy`]. The only module that knows pest exists.
//!
//! [`parse_file`] runs the grammar in `policy.pest` and lowers the parse tree into the
//! pest-free AST. Syntax errors become [`PolicyDiagnostic`]s whose expectations are phrased in
//! words ("a comparison operator"), never in grammar rule names.

mod lower;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};

use crate::diagnostic::PolicyDiagnostic;
use crate::language::ast;

#[derive(pest_derive::Parser)]
#[grammar = "language/parser/policy.pest"]
struct PolicyParser;

/// Parses one policy file. `file` is the file's index in the policy's [`crate::source::Sources`].
pub fn parse_file(file: usize, text: &str) -> Result<ast::Policy, Vec<PolicyDiagnostic>> {
    let pairs = PolicyParser::parse(Rule::policy, text).map_err(|e| vec![syntax_error(file, text, e)])?;
    lower::policy(file, pairs)
}

fn syntax_error(file: usize, text: &str, err: pest::error::Error<Rule>) -> PolicyDiagnostic {
    let (start, end) = match err.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    // Point at the offending token rather than at an empty position: a word, a string up to
    // the end of its line, a run of operator characters, or one character.
    let rest = text.get(start..).unwrap_or("");
    let token_len = if end > start {
        end - start
    } else {
        let mut chars = rest.char_indices();
        match chars.next() {
            None => 0,
            Some((_, c)) if c.is_alphanumeric() || c == '_' => rest
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
                .map_or(rest.len(), |(i, _)| i),
            Some((_, '"')) => rest.find('\n').unwrap_or(rest.len()).max(1),
            Some((_, c)) if "=!<>+-".contains(c) => {
                rest.char_indices().find(|(_, c)| !"=!<>+-".contains(*c)).map_or(rest.len(), |(i, _)| i)
            }
            Some((_, c)) => c.len_utf8(),
        }
    };
    let token_end = start + token_len;
    let span = ast::Span::new(file, start, token_end);
    let found = if start >= text.len() {
        "the end of the file".to_string()
    } else {
        format!("`{}`", text.get(start..token_end).unwrap_or(""))
    };
    match err.variant {
        ErrorVariant::ParsingError { positives, negatives } => {
            let mut expected: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
            expected.sort_unstable();
            expected.dedup();
            let unexpected: Vec<&str> = negatives.iter().filter_map(|r| describe(*r)).collect();
            let message = if !expected.is_empty() {
                format!("expected {}, found {found}", one_of(&expected))
            } else if !unexpected.is_empty() {
                format!("unexpected {}", one_of(&unexpected))
            } else {
                format!("unexpected {found}")
            };
            let token = text.get(start..token_end).unwrap_or("");
            let mut d = PolicyDiagnostic::error("parse::syntax", message, span, "here");
            if KEYWORDS.contains(&token) && expected.contains(&"a name") {
                d = d.with_help(format!("`{token}` is a keyword and cannot be used as a name; choose another name"));
            } else if token == "force" {
                d = d.with_help(
                    "a rule's period, `in force from DATE until DATE`, comes first in its body, before `requires` and `when`",
                );
            } else if ["enum", "facts", "each", "action", "in"].contains(&token)
                && expected.iter().any(|e| e.starts_with("a declaration"))
            {
                // Where a declaration is expected, only inside an `in force` block is one refused.
                d = d.with_help(
                    "an `in force ... { }` block holds rules only; declare enums, facts and actions outside it, and do not nest blocks",
                );
            } else if token == "=" {
                d = d.with_help("compare with `==`; `=` only gives a fact its default in a declaration");
            } else if token.strip_prefix('"').is_some_and(|rest| !rest.contains('"')) {
                d = d.with_help("this string is not closed: add a `\"` before the end of the line");
            } else if start >= text.len() {
                d = d.with_help("the file ends too early: a closing `}` or `)` may be missing");
            }
            d
        }
        // pest stops itself before its own recursion could overflow the stack.
        ErrorVariant::CustomError { message } if message.contains("stack limit") => {
            PolicyDiagnostic::error("parse::too-deep", "the policy is nested too deeply to parse", span, "here")
                .with_help("use fewer nested parentheses; split the condition into several rules")
        }
        ErrorVariant::CustomError { message } => PolicyDiagnostic::error("parse::syntax", message, span, "here"),
    }
}

/// The language's keywords (kept in step with the `keyword` rule of `policy.pest`).
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "true", "false", "present", "when", "then", "reason", "source", "enum", "facts", "each",
    "action", "rule",
];

fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Grammar rules in words. `None` hides rules a user should never hear about.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::ident => "a name",
        Rule::path => "a fact name",
        Rule::keyword => "a keyword",
        Rule::string | Rule::string_inner => "a quoted string",
        Rule::date => "a date (YYYY-MM-DD)",
        Rule::int | Rule::neg_int => "a number",
        Rule::true_lit | Rule::false_lit => "`true` or `false`",
        Rule::declaration
        | Rule::enum_kw
        | Rule::facts_kw
        | Rule::each_kw
        | Rule::action_kw
        | Rule::rule_kw
        | Rule::enum_decl
        | Rule::facts_decl
        | Rule::each_decl
        | Rule::action_decl
        | Rule::rule_decl
        | Rule::period_block => "a declaration (`enum`, `facts`, `each`, `action` or `rule`)",
        Rule::enum_value => "an enum value",
        Rule::field => "a field (`name: type`)",
        Rule::optional_mark => "`?`",
        Rule::default_value => "a default (`= value`)",
        Rule::annotation => "an annotation (`@key`, `@label`)",
        Rule::param_decl => "a parameter (`name: type`)",
        Rule::when_clause | Rule::when_kw => "`when`",
        Rule::then_clause | Rule::then_kw => "`then`",
        Rule::present_kw => "`present`",
        Rule::argument => "an argument (`name: value`)",
        Rule::reason_clause | Rule::reason_kw => "`reason \"...\"`",
        Rule::source_clause | Rule::source_kw => "`source \"...\"`",
        Rule::expr | Rule::or_expr | Rule::and_expr | Rule::not_expr | Rule::cmp_expr | Rule::sum => "an expression",
        Rule::presence => "`present(...)`",
        Rule::literal | Rule::term | Rule::paren => "a value",
        Rule::set => "a set (`[a, b]`)",
        Rule::or_kw => "`or`",
        Rule::and_kw => "`and`",
        Rule::not_kw => "`not`",
        Rule::in_kw => "`in`",
        Rule::not_in => "`not in`",
        Rule::cmp_op => "a comparison operator",
        Rule::add_op => "`+` or `-`",
        // A rule body missing its `then` is told `when` or `then`: the rarely used `requires`
        // that may also open it would only lengthen the message.
        Rule::requires_clause | Rule::requires_kw => return None,
        Rule::period => return None,
        Rule::in_force_kw => return None,
        Rule::from_kw => "`from`",
        Rule::until_kw => "`until`",
        Rule::policy | Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char => return None,
    })
}
