//! The Markdown report: the same plan as the HTML one (summary, dates, one table per customer,
//! the policy and date at the end), for tickets and e-mail. Rendered with minijinja from the
//! templates in `templates/markdown/`; every value the input controls goes through the `md`
//! filter ([`escape`]), so it reads as text: no markup, no HTML, no broken table.

use std::io::{self, Write};

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use super::html::{environment, foot, next_group, render_to, summary, totals};
use super::plan::{Catalog, Plan, RowView, Timeline};
use crate::eval::verdict::Record;
use crate::value::Date;

const TEMPLATES: [(&str, &str); 4] = [
    ("head.md", include_str!("templates/markdown/head.md")),
    ("group.md", include_str!("templates/markdown/group.md")),
    ("row.md", include_str!("templates/markdown/row.md")),
    ("foot.md", include_str!("templates/markdown/foot.md")),
];

/// Text made inert in Markdown, and safe inside a table cell: the characters that make inline
/// markup, links or cells are escaped with a backslash, `<`, `>` and `&` become entities (so no HTML passes through), and line
/// breaks become spaces.
pub(crate) fn escape(text: String) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Writes the Markdown report piece by piece, as [`super::html::HtmlWriter`] writes the HTML one.
pub(crate) struct MarkdownWriter {
    env: Environment<'static>,
    group: Option<(usize, usize)>,
}

impl MarkdownWriter {
    pub(crate) fn new() -> io::Result<MarkdownWriter> {
        Ok(MarkdownWriter { env: environment(&TEMPLATES)?, group: None })
    }

    pub(crate) fn head(&mut self, plan: &Plan, catalog: &Catalog, as_of: Date, out: &mut dyn Write) -> io::Result<()> {
        let totals = totals(plan, catalog);
        let ctx = context! {
            plan => Value::from(Serde(summary(plan))),
            totals,
            timeline => Value::from(Serde(Timeline::of(plan))),
            as_of => as_of.to_string(),
        };
        render_to(&self.env, "head.md", ctx, out)
    }

    pub(crate) fn row(&mut self, plan: &Plan, catalog: &Catalog, r: &Record, out: &mut dyn Write) -> io::Result<()> {
        if let Some((g, _)) = next_group(&mut self.group, plan)? {
            let ctx = context! { group => Value::from(Serde(g)), label_key => plan.label_key.clone(), key_name => plan.key_name.clone() };
            render_to(&self.env, "group.md", ctx, out)?;
        }
        render_to(&self.env, "row.md", context! { row => Value::from(Serde(RowView::of(r, catalog))) }, out)
    }

    pub(crate) fn end(&mut self, plan: &Plan, catalog: &Catalog, as_of: Date, out: &mut dyn Write) -> io::Result<()> {
        render_to(&self.env, "foot.md", foot(plan, catalog, as_of), out)
    }
}
