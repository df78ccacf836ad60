//! Text → [`ast::Policy`](crate::ast::Policy). The only module that knows pest exists.
//!
//! [`parse_file`] runs the grammar in `policy.pest` and lowers the parse tree into the
//! pest-free AST. Syntax errors become [`PolicyDiagnostic`]s whose expectations are phrased in
//! words ("a comparison operator"), never in grammar rule names.

mod lower;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};

use crate::ast;
use crate::diagnostic::PolicyDiagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "parser/policy.pest"]
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
    // Point at the offending token rather than at an empty position.
    let token_end = if end > start {
        end
    } else {
        text[start..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map_or(text.len(), |(i, _)| start + i)
            .max(start + text[start..].chars().next().map_or(0, char::len_utf8))
    };
    let span = ast::Span::new(file, start, token_end);
    let found =
        if start >= text.len() { "the end of the file".to_string() } else { format!("`{}`", &text[start..token_end]) };
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
            let mut d = PolicyDiagnostic::error("parse::syntax", message, span, "here");
            if unexpected.contains(&"a keyword") {
                d = d.with_help("keywords such as `and`, `in`, `rule` cannot be used as names");
            }
            d
        }
        ErrorVariant::CustomError { message } => PolicyDiagnostic::error("parse::syntax", message, span, "here"),
    }
}

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
        | Rule::enum_decl
        | Rule::facts_decl
        | Rule::each_decl
        | Rule::action_decl
        | Rule::rule_decl => "a declaration (`enum`, `facts`, `each`, `action` or `rule`)",
        Rule::enum_value => "an enum value",
        Rule::field => "a field (`name: type`)",
        Rule::optional_mark => "`?`",
        Rule::default_value => "a default (`= value`)",
        Rule::annotation => "an annotation (`@key`, `@label`)",
        Rule::param_decl => "a parameter (`name: type`)",
        Rule::when_clause => "`when`",
        Rule::then_clause => "`then`",
        Rule::argument => "an argument (`name: value`)",
        Rule::reason_clause => "`reason \"...\"`",
        Rule::source_clause => "`source \"...\"`",
        Rule::expr | Rule::or_expr | Rule::and_expr | Rule::not_expr | Rule::cmp_expr | Rule::sum => "an expression",
        Rule::presence => "`present(...)`",
        Rule::literal | Rule::term => "a value",
        Rule::set => "a set (`[a, b]`)",
        Rule::or_kw => "`or`",
        Rule::and_kw => "`and`",
        Rule::not_kw => "`not`",
        Rule::in_kw => "`in`",
        Rule::not_in => "`not in`",
        Rule::cmp_op => "a comparison operator",
        Rule::add_op => "`+` or `-`",
        Rule::policy | Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char => return None,
    })
}
