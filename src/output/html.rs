//! The HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched)
//! with a summary, a timeline of the dates in the verdicts, and a section per customer with one
//! table row per entry. Rendered with minijinja from the templates in `templates/html/`, with
//! HTML escaping of every value (the templates' names end in `.html`).
//!
//! Past [`COLLAPSE_AT`] entries, each customer's section is a closed `<details>` whose summary
//! line gives its counts and next date: the page stays one file, opens quickly, and a reader
//! opens the customers they need.

use std::io::{self, Write};

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use super::plan::{Catalog, Group, Plan, RowView, Timeline};
use crate::eval::verdict::Record;
use crate::value::Date;

/// Entries past which customer sections are collapsed.
pub const COLLAPSE_AT: usize = 500;

const TEMPLATES: [(&str, &str); 5] = [
    ("head.html", include_str!("templates/html/head.html")),
    ("group.html", include_str!("templates/html/group.html")),
    ("row.html", include_str!("templates/html/row.html")),
    ("group_end.html", include_str!("templates/html/group_end.html")),
    ("foot.html", include_str!("templates/html/foot.html")),
];

pub(crate) fn environment(templates: &[(&'static str, &'static str)]) -> io::Result<Environment<'static>> {
    let mut env = Environment::new();
    // Block tags take their line with them, so templates read as the documents they write.
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(template_error)?;
    env.set_syntax(syntax);
    // Markdown templates escape with the `md` filter; HTML ones automatically (by their name).
    env.add_filter("md", super::markdown::escape);
    env.add_filter("words", |s: String| super::plan::words(&s));
    env.add_filter("policy_text", policy_text);
    for (name, text) in templates {
        env.add_template(name, text).map_err(template_error)?;
    }
    Ok(env)
}

/// Policy text (an action's description) as HTML: escaped, with each name in backticks
/// (`until`) shown as code. An unpaired backtick stays a backtick.
fn policy_text(text: String) -> Value {
    let mut out = String::with_capacity(text.len() + 32);
    let pieces: Vec<&str> = text.split('`').collect();
    let paired = pieces.len() % 2 == 1;
    for (i, piece) in pieces.iter().enumerate() {
        let code = i % 2 == 1 && (paired || i + 1 < pieces.len());
        if i % 2 == 1 && !code {
            out.push('`');
        }
        if code {
            out.push_str("<code>");
        }
        for c in piece.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#x27;"),
                c => out.push(c),
            }
        }
        if code {
            out.push_str("</code>");
        }
    }
    Value::from_safe_string(out)
}

pub(crate) fn template_error(e: minijinja::Error) -> io::Error {
    io::Error::other(format!("the report template failed: {e:#}"))
}

/// Renders one template into `out`.
pub(crate) fn render_to(env: &Environment<'_>, name: &str, ctx: Value, out: &mut dyn Write) -> io::Result<()> {
    let t = env.get_template(name).map_err(template_error)?;
    let text = t.render(ctx).map_err(template_error)?;
    out.write_all(text.as_bytes())
}

/// Writes the report piece by piece: the head once everything is known, then each held record
/// as it is replayed, opening and closing customer sections by the plan's groups.
pub(crate) struct HtmlWriter {
    env: Environment<'static>,
    /// The group being written, and how many of its entries are still to come.
    group: Option<(usize, usize)>,
    collapsed: bool,
}

impl HtmlWriter {
    pub(crate) fn new() -> io::Result<HtmlWriter> {
        Ok(HtmlWriter { env: environment(&TEMPLATES)?, group: None, collapsed: false })
    }

    pub(crate) fn head(&mut self, plan: &Plan, catalog: &Catalog, as_of: Date, out: &mut dyn Write) -> io::Result<()> {
        self.collapsed = plan.entries > COLLAPSE_AT;
        let descriptions = totals(plan, catalog);
        let ctx = context! {
            plan => Value::from(Serde(summary(plan))),
            totals => descriptions,
            timeline => Value::from(Serde(Timeline::of(plan))),
            as_of => as_of.to_string(),
            collapsed => self.collapsed,
            collapse_at => COLLAPSE_AT,
        };
        render_to(&self.env, "head.html", ctx, out)
    }

    pub(crate) fn row(&mut self, plan: &Plan, catalog: &Catalog, r: &Record, out: &mut dyn Write) -> io::Result<()> {
        if let Some((g, ended)) = next_group(&mut self.group, plan)? {
            if ended {
                self.end_group(out)?;
            }
            let ctx = context! {
                group => Value::from(Serde(g)),
                label_key => plan.label_key.clone(),
                key_name => plan.key_name.clone(),
                collapsed => self.collapsed,
            };
            render_to(&self.env, "group.html", ctx, out)?;
        }
        render_to(&self.env, "row.html", context! { row => Value::from(Serde(RowView::of(r, catalog))) }, out)
    }

    fn end_group(&mut self, out: &mut dyn Write) -> io::Result<()> {
        render_to(&self.env, "group_end.html", context! { collapsed => self.collapsed }, out)
    }

    pub(crate) fn end(&mut self, plan: &Plan, catalog: &Catalog, as_of: Date, out: &mut dyn Write) -> io::Result<()> {
        if self.group.take().is_some() {
            self.end_group(out)?;
        }
        render_to(&self.env, "foot.html", foot(plan, catalog, as_of), out)
    }
}

/// The run's count of verdicts by action, with the policy's description of each (the head of a report).
pub(crate) fn totals(plan: &Plan, catalog: &Catalog) -> Vec<Value> {
    plan.totals
        .iter()
        .map(|c| {
            let description = catalog.action(&c.action).map(|a| a.description.clone()).unwrap_or_default();
            context! { action => c.action.clone(), words => c.words.clone(), count => c.count, description }
        })
        .collect()
}

/// Moves a report writer to the group (customer) of its next row: `group` is the group being
/// written and how many of its entries are still to come. `None` when the row stays in that
/// group; otherwise the new group, and whether one was open before it (to be closed first).
pub(crate) fn next_group<'p>(
    group: &mut Option<(usize, usize)>,
    plan: &'p Plan,
) -> io::Result<Option<(&'p Group, bool)>> {
    let (id, ended) = match *group {
        Some((id, left)) if left > 0 => {
            *group = Some((id, left - 1));
            return Ok(None);
        }
        Some((id, _)) => (id + 1, true),
        None => (0, false),
    };
    let g =
        plan.groups.get(id).ok_or_else(|| io::Error::other("a report row came after every customer was written"))?;
    *group = Some((id, g.entries.saturating_sub(1)));
    Ok(Some((g, ended)))
}

/// The footer of a report: the policy's files and identity, the evaluation date(s), the version.
pub(crate) fn foot(plan: &Plan, catalog: &Catalog, as_of: Date) -> Value {
    context! {
        entries => plan.entries,
        files => catalog.files.clone(),
        fingerprint => catalog.fingerprint.clone(),
        as_of => as_of.to_string(),
        dates => plan.as_ofs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        version => env!("CARGO_PKG_VERSION"),
    }
}

/// The run in numbers, for the head of a report.
pub(crate) fn summary(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "entries": plan.entries,
        "errors": plan.errors,
        "decided": plan.entries - plan.errors,
        "groups": plan.groups.len(),
        "label_key": plan.label_key,
        "key_name": plan.key_name,
        "dates": plan.dates.len(),
    })
}
