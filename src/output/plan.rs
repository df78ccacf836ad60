//! What the reports (`html`, `markdown`, `csv`) share: the policy's own words for its actions
//! ([`Catalog`]), the run seen as a whole while its records are held ([`Plan`]: counts, groups,
//! dates), and one record as a report shows it ([`RowView`]).
//!
//! Every word a report shows about an action comes from the policy: the action's name, its
//! description, its parameters' names. Nothing here knows any one policy.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::eval::verdict::{EntryError, Record};
use crate::language::schema::Type;
use crate::policy::Policy;
use crate::value::Date;

/// The policy's actions and identity, as a report names them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) actions: Vec<ActionInfo>,
    /// The policy's files, in load order.
    pub(crate) files: Vec<String>,
    /// The policy's identity ([`crate::Policy::identity`]), the same the JSON documents carry.
    pub(crate) fingerprint: String,
    /// What the two identifying output keys are called (`customer`, `subscription`).
    pub(crate) keys: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub(crate) struct ActionInfo {
    pub(crate) name: String,
    pub(crate) description: String,
    /// Declared parameters, with whether each is a date.
    pub(crate) params: Vec<(String, bool)>,
}

impl Catalog {
    pub(crate) fn of(policy: &Policy) -> Catalog {
        let actions = policy
            .schema()
            .actions
            .iter()
            .map(|a| ActionInfo {
                name: a.name.clone(),
                description: a.description.clone(),
                params: a.params.iter().map(|(n, t)| (n.clone(), *t == Type::Date)).collect(),
            })
            .collect();
        let files = policy.sources().files().iter().map(|f| f.name.clone()).collect();
        let (label_key, key_name) = policy.output_keys();
        Catalog {
            actions,
            files,
            fingerprint: policy.identity(),
            keys: Some((label_key.to_string(), key_name.to_string())),
        }
    }

    pub(crate) fn action(&self, name: &str) -> Option<&ActionInfo> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Every parameter name over all actions, each once, in declaration order (the CSV columns).
    pub(crate) fn param_union(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for a in &self.actions {
            for (n, _) in &a.params {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        names
    }
}

/// A policy name in words: `wait_for_term_end_or_cancel` → `Wait for term end or cancel`.
pub(crate) fn words(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A parameter's value as text (`true`, `2024-06-30`, `107`).
pub(crate) fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A parameter's value in words: flags as yes / no, anything else as its text.
fn value_words(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(true) => "yes".into(),
        serde_json::Value::Bool(false) => "no".into(),
        other => value_text(other),
    }
}

/// One parameter of a decided entry, in words.
#[derive(Serialize)]
pub(crate) struct ParamView {
    pub(crate) name: String,
    pub(crate) words: String,
    pub(crate) value: String,
}

/// One record as the reports show it.
#[derive(Serialize)]
pub(crate) struct RowView {
    pub(crate) key: String,
    pub(crate) ok: bool,
    pub(crate) action: String,
    pub(crate) action_words: String,
    pub(crate) description: String,
    pub(crate) params: Vec<ParamView>,
    pub(crate) reason: String,
    pub(crate) citation: String,
    /// The deciding rule; for an entry in error, the rule being evaluated, if any.
    pub(crate) rule: String,
    /// The problems of an entry in error: each with the field path it names, if any.
    pub(crate) errors: Vec<ErrorView>,
    /// The error's stable code (`facts::unknown-value`, `eval::no-rule-matched`).
    pub(crate) error_code: String,
}

#[derive(Serialize)]
pub(crate) struct ErrorView {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl RowView {
    pub(crate) fn of(r: &Record, catalog: &Catalog) -> RowView {
        let key = r.key.clone().unwrap_or_default();
        match &r.outcome {
            Ok(d) => RowView {
                key,
                ok: true,
                action_words: words(&d.action),
                description: catalog.action(&d.action).map(|a| a.description.clone()).unwrap_or_default(),
                params: d
                    .params
                    .iter()
                    .map(|(n, v)| ParamView { name: n.clone(), words: words(n), value: value_words(v) })
                    .collect(),
                action: d.action.clone(),
                reason: d.reason.clone(),
                citation: d.citation.clone().unwrap_or_default(),
                rule: d.rule.clone(),
                errors: Vec::new(),
                error_code: String::new(),
            },
            Err(e) => {
                let errors = match e {
                    EntryError::Facts(list) => {
                        list.iter().map(|f| ErrorView { path: f.path.clone(), message: f.message.clone() }).collect()
                    }
                    EntryError::Decide { message, .. } => {
                        vec![ErrorView { path: String::new(), message: message.clone() }]
                    }
                };
                let error_rule = match e {
                    EntryError::Decide { rule: Some(r), .. } => r.clone(),
                    _ => String::new(),
                };
                RowView {
                    key,
                    ok: false,
                    action: String::new(),
                    action_words: String::new(),
                    description: String::new(),
                    params: Vec::new(),
                    reason: String::new(),
                    citation: String::new(),
                    rule: error_rule,
                    errors,
                    error_code: e.code().to_string(),
                }
            }
        }
    }
}

/// The file a record came from: its source without the line or row of a JSON Lines or CSV
/// input (`inventory.csv:12` → `inventory.csv`), so that a customer's consecutive rows make one
/// group.
fn file_of(source: &str) -> &str {
    match source.rsplit_once(':') {
        Some((file, line)) if !file.is_empty() && !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => file,
        _ => source,
    }
}

/// One customer of the run: a run of consecutive records with the same file, label and date.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Group {
    pub(crate) id: usize,
    pub(crate) source: String,
    pub(crate) label: Option<String>,
    pub(crate) as_of: String,
    pub(crate) entries: usize,
    pub(crate) errors: usize,
    /// Entries per action, in the order the actions first appear.
    pub(crate) counts: Vec<Count>,
    /// The earliest date in the group's verdicts on or after its date.
    pub(crate) next_date: Option<String>,
    #[serde(skip)]
    date: Date,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Count {
    pub(crate) action: String,
    pub(crate) words: String,
    pub(crate) count: usize,
}

fn add_count(counts: &mut Vec<Count>, action: &str) {
    match counts.iter_mut().find(|c| c.action == action) {
        Some(c) => c.count += 1,
        None => counts.push(Count { action: action.to_string(), words: words(action), count: 1 }),
    }
}

/// What a report needs about the whole run before it writes its first row, gathered record by
/// record while the records themselves are held (or spilled to a temporary file).
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) groups: Vec<Group>,
    pub(crate) totals: Vec<Count>,
    pub(crate) entries: usize,
    pub(crate) errors: usize,
    /// Every date in the verdicts: how many entries name it, by action.
    pub(crate) dates: BTreeMap<Date, Vec<Count>>,
    /// Every date entries were decided at.
    pub(crate) as_ofs: Vec<Date>,
    /// What a label and an entry are called, from the first record.
    pub(crate) label_key: String,
    pub(crate) key_name: String,
}

impl Plan {
    pub(crate) fn observe(&mut self, date: Date, r: &Record) {
        if self.entries == 0 {
            self.label_key = r.label_key.clone();
            self.key_name = r.key_name.clone();
        }
        self.entries += 1;
        if !self.as_ofs.contains(&date) {
            self.as_ofs.push(date);
        }
        let file = file_of(&r.source);
        let same = self.groups.last().is_some_and(|g| g.source == file && g.label == r.label && g.date == date);
        if !same {
            let id = self.groups.len();
            self.groups.push(Group {
                id,
                source: file.to_string(),
                label: r.label.clone(),
                as_of: date.to_string(),
                entries: 0,
                errors: 0,
                counts: Vec::new(),
                next_date: None,
                date,
            });
        }
        let Some(group) = self.groups.last_mut() else { return };
        group.entries += 1;
        match &r.outcome {
            Ok(d) => {
                add_count(&mut group.counts, &d.action);
                add_count(&mut self.totals, &d.action);
                for v in d.params.values() {
                    let Some(day) = v.as_str().and_then(Date::parse) else { continue };
                    add_count(self.dates.entry(day).or_default(), &d.action);
                    if day >= date && group.next_date.as_deref().and_then(Date::parse).is_none_or(|n| day < n) {
                        group.next_date = Some(day.to_string());
                    }
                }
            }
            Err(_) => {
                group.errors += 1;
                self.errors += 1;
            }
        }
    }
}

/// The timeline's drawing: marks placed on an axis, computed here so the template only draws.
#[derive(Serialize)]
pub(crate) struct Timeline {
    pub(crate) width: i64,
    pub(crate) height: i64,
    pub(crate) axis_y: i64,
    pub(crate) x0: i64,
    pub(crate) x1: i64,
    pub(crate) ticks: Vec<Tick>,
    pub(crate) marks: Vec<Mark>,
    pub(crate) today: Vec<Tick>,
    pub(crate) first: String,
    pub(crate) last: String,
}

#[derive(Serialize)]
pub(crate) struct Tick {
    pub(crate) x: i64,
    pub(crate) label: String,
}

#[derive(Serialize)]
pub(crate) struct Mark {
    pub(crate) x: i64,
    pub(crate) r: i64,
    pub(crate) date: String,
    pub(crate) count: usize,
    pub(crate) past: bool,
    /// Counts by action, in words (`3 × Wait for term end or cancel`).
    pub(crate) actions: Vec<Count>,
    /// The label drawn above the mark (`Jun 30`, `Jun 30 (3)`), when there are few marks; its
    /// height alternates between neighbours too close to share one.
    pub(crate) label: Option<String>,
    pub(crate) label_y: i64,
}

/// Marks past which the timeline draws no labels (the axis and tooltips still date them).
const LABELLED_MARKS: usize = 24;

impl Timeline {
    pub(crate) fn of(plan: &Plan) -> Timeline {
        let (width, height, axis_y, margin) = (960_i64, 150_i64, 100_i64, 48_i64);
        let today = plan.as_ofs.iter().copied();
        let days = plan.dates.keys().copied().chain(today.clone());
        let lo = days.clone().map(Date::days).min().unwrap_or(0);
        let hi = days.map(Date::days).max().unwrap_or(0);
        // A few days either side, so no mark sits on the edge.
        let (lo, hi) = (lo - 7, hi + 7);
        let span = (hi - lo).max(1);
        let x = |day: i64| margin + (day - lo) * (width - 2 * margin) / span;
        let earliest = plan.as_ofs.iter().map(|d| d.days()).min().unwrap_or(lo);
        let labelled = plan.dates.len() <= LABELLED_MARKS;
        let mut last_label: Option<(i64, bool)> = None;
        let marks = plan
            .dates
            .iter()
            .map(|(d, counts)| {
                let count: usize = counts.iter().map(|c| c.count).sum();
                // The area grows with the count; at most 14 pixels across.
                let r = (4.0 + (count as f64).sqrt() * 1.5).min(14.0) as i64;
                let mx = x(d.days());
                let label = labelled.then(|| {
                    let day = d.to_naive().format("%b %-d").to_string();
                    if count > 1 { format!("{day} ({count})") } else { day }
                });
                // Raised when the previous label is near and was not raised.
                let raised = matches!(last_label, Some((px, false)) if mx - px < 70);
                last_label = Some((mx, raised));
                let label_y = axis_y - 18 - 16 - if raised { 16 } else { 0 };
                Mark {
                    x: mx,
                    r,
                    date: d.to_string(),
                    count,
                    past: d.days() < earliest,
                    actions: counts.clone(),
                    label,
                    label_y,
                }
            })
            .collect();
        Timeline {
            width,
            height,
            axis_y,
            x0: margin,
            x1: width - margin,
            ticks: ticks(lo, hi).into_iter().map(|(day, label)| Tick { x: x(day), label }).collect(),
            marks,
            today: plan.as_ofs.iter().map(|d| Tick { x: x(d.days()), label: d.to_string() }).collect(),
            first: Date::from_days(lo).map(|d| d.to_string()).unwrap_or_default(),
            last: Date::from_days(hi).map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

/// Axis ticks at the first of a month, every 1, 3, 6 or 12 months so there are at most 12.
fn ticks(lo: i64, hi: i64) -> Vec<(i64, String)> {
    use chrono::Datelike as _;
    let (Some(first), Some(last)) = (Date::from_days(lo), Date::from_days(hi)) else { return Vec::new() };
    let (first, last) = (first.to_naive(), last.to_naive());
    let months = (last.year() - first.year()) * 12 + (last.month() as i32 - first.month() as i32) + 1;
    let step = [1, 3, 6, 12, 24, 60, 120].into_iter().find(|s| months / s <= 12).unwrap_or(240);
    let mut out = Vec::new();
    let (mut y, mut m) = (first.year(), first.month0() as i32);
    // Start at a month that is a multiple of the step, so ticks fall on quarters, halves, years.
    while m % step.min(12) != 0 {
        m += 1;
    }
    loop {
        y += m / 12;
        m %= 12;
        let Some(day) = chrono::NaiveDate::from_ymd_opt(y, (m + 1) as u32, 1) else { break };
        if day > last {
            break;
        }
        if day >= first {
            let label = if step >= 12 { day.format("%Y").to_string() } else { day.format("%b %Y").to_string() };
            out.push((Date::from_naive(day).days(), label));
        }
        m += step;
    }
    out
}
