//! Output: a run's results as documents people and programs read, the same for every front end
//! (the CLI, a server, a report). One result type, [`crate::Record`] (an entry's
//! verdict or its error, with the document and entry it belongs to), and its renderers:
//!
//! - [`ResultWriter`]: streams a run's records as the human form, one JSON document
//!   (`{"as_of": ..., "results": [...]}`) or YAML, in bounded memory;
//! - [`jsonl::JsonLines`]: one JSON object per line, written straight from the verdicts;
//! - [`render`]: all of a run's records at once, as a string;
//! - [`explain::explain_document`]: entries explained, in the shape `explain --format json` prints;
//! - with the `report` feature, the reports people read: HTML (`html.rs`), Markdown
//!   (`markdown.rs`) and CSV (`csv.rs`), from the templates in `templates/`.

#[cfg(feature = "report")]
mod csv;
pub mod explain;
#[cfg(feature = "report")]
mod html;
mod human;
pub mod jsonl;
#[cfg(feature = "report")]
mod markdown;
#[cfg(feature = "report")]
mod plan;
#[cfg(feature = "report")]
mod report;

#[cfg(feature = "report")]
pub use html::COLLAPSE_AT as HTML_COLLAPSE_AT;

use std::io::{self, Write};

use crate::eval::verdict::{Decision, EntryError, Record};
use crate::value::Date;
use human::HumanWriter;

/// The forms a run's results are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// For a person: grouped by customer, one line per subscription.
    Human,
    /// One JSON document: {"as_of": ..., "results": [...]}.
    Json,
    /// One JSON result object per line, streamed, each with its `as_of`.
    Jsonl,
    /// The JSON document as YAML.
    Yaml,
    /// A self-contained HTML page: summary, timeline of dates, the plan per customer.
    #[cfg(feature = "report")]
    Html,
    /// One CSV row per entry, streamed: identity, action, each parameter, rule, reason, error.
    #[cfg(feature = "report")]
    Csv,
    /// The HTML page's plan as a Markdown document.
    #[cfg(feature = "report")]
    Markdown,
}

impl Format {
    /// Whether the form needs every result before it writes the first (HTML, Markdown).
    fn holds_all(self) -> bool {
        #[cfg(feature = "report")]
        if matches!(self, Format::Html | Format::Markdown) {
            return true;
        }
        false
    }
}

/// Where the results of `--format json|yaml|human` go as they arrive.
///
/// Each form needs one thing about the whole run before it can write: JSON and YAML the run's date
/// (the document's `as_of`), known at once with `--as-of`, or when the first result is dated today,
/// or when two results give different dates (then it is today); the human form the width of the
/// key column, known once a key reaches the widest shown (32). Until then results are held, and
/// past 16,384 of them they go to a temporary file, so memory stays bounded; then they are
/// written in order and the rest as they come.
pub struct ResultWriter {
    format: Format,
    today: Date,
    color: bool,
    /// The run's date (JSON, YAML), once known.
    date: Option<Date>,
    /// The date of the first result (JSON, YAML): every result held has it.
    first: Option<Date>,
    /// The widest key seen (human).
    key_width: usize,
    /// Results not yet written: the oldest in `spilled`, then `held`.
    held: Vec<(Date, Record)>,
    spilled: Option<std::fs::File>,
    /// Whether writing has begun.
    started: bool,
    written: usize,
    human: HumanWriter,
    /// The name and identity of the policy the results come from, for the documents' heads.
    policy: Option<(String, String)>,
    #[cfg(feature = "report")]
    report: report::Report,
}

/// Results held in memory before they go to a temporary file.
const SPILL_AT: usize = 16 * 1024;

/// The widest key column of the human form.
const MAX_KEY_WIDTH: usize = 32;

fn spool_error(e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("cannot hold results in a temporary file in `{}`: {e}", std::env::temp_dir().display()),
    )
}

/// A held result in the temporary file: what every output form needs of a [`Record`].
#[derive(serde::Serialize, serde::Deserialize)]
struct Held {
    date: String,
    source: String,
    label_key: String,
    label: Option<String>,
    key_name: String,
    key: Option<String>,
    decision: Option<HeldDecision>,
    error: Option<EntryError>,
}

/// A [`Decision`] in the temporary file, citation and period included.
#[derive(serde::Serialize, serde::Deserialize)]
struct HeldDecision {
    action: String,
    params: serde_json::Map<String, serde_json::Value>,
    rule: String,
    reason: String,
    citation: Option<String>,
    period: Option<String>,
}

impl Held {
    fn of(date: Date, r: Record) -> Held {
        let (decision, error) = match r.outcome {
            Ok(d) => {
                let Decision { action, params, rule, reason, citation, period } = d;
                (Some(HeldDecision { action, params, rule, reason, citation, period }), None)
            }
            Err(e) => (None, Some(e)),
        };
        Held {
            date: date.to_string(),
            source: r.source,
            label_key: r.label_key,
            label: r.label,
            key_name: r.key_name,
            key: r.key,
            decision,
            error,
        }
    }

    fn into_record(self) -> io::Result<(Date, Record)> {
        let date = Date::parse(&self.date).ok_or_else(|| io::Error::other("a held result lost its date"))?;
        let outcome = match (self.decision, self.error) {
            (Some(HeldDecision { action, params, rule, reason, citation, period }), _) => {
                Ok(Decision { action, params, rule, reason, citation, period })
            }
            (None, Some(e)) => Err(e),
            (None, None) => return Err(io::Error::other("a held result lost its outcome")),
        };
        let r = Record {
            source: self.source,
            label_key: self.label_key,
            label: self.label,
            key_name: self.key_name,
            key: self.key,
            outcome,
        };
        Ok((date, r))
    }
}

impl ResultWriter {
    pub fn new(format: Format, as_of: Option<Date>, today: Date, color: bool) -> ResultWriter {
        ResultWriter {
            format,
            today,
            color,
            date: as_of,
            first: None,
            key_width: 0,
            held: Vec::new(),
            spilled: None,
            started: false,
            written: 0,
            human: HumanWriter::default(),
            policy: None,
            #[cfg(feature = "report")]
            report: report::Report::default(),
        }
    }

    /// Puts the policy's name and identity at the top of the JSON and YAML documents (so any
    /// verdict can be traced to the exact rules that made it); with the `report` feature, also
    /// names actions and parameters in the policy's words in the reports (HTML, Markdown), gives
    /// the CSV report one column per parameter, and the identity to the reports' footer.
    pub fn with_policy(mut self, policy: &crate::Policy) -> ResultWriter {
        self.policy = Some((policy.name(), policy.identity()));
        #[cfg(feature = "report")]
        {
            self.report.catalog = plan::Catalog::of(policy);
        }
        self
    }

    pub fn push(&mut self, date: Date, r: Record, out: &mut dyn Write) -> io::Result<()> {
        if self.format == Format::Jsonl {
            return Ok(());
        }
        #[cfg(feature = "report")]
        if self.format == Format::Csv {
            self.written += 1;
            return self.report.csv_row(date, &r, out);
        }
        self.key_width = self.key_width.max(r.key.as_deref().map_or(1, str::len)).min(MAX_KEY_WIDTH);
        if !self.started {
            if self.format == Format::Human {
                if self.key_width == MAX_KEY_WIDTH {
                    self.start(out)?;
                }
            } else if self.format.holds_all() {
                // Held to the end; the head needs the whole run.
                self.first.get_or_insert(date);
                #[cfg(feature = "report")]
                self.report.plan.observe(date, &r);
            } else {
                let first = *self.first.get_or_insert(date);
                if self.date.is_none() && (first == self.today || date != first) {
                    // With no --as-of, the run's date is today whatever comes next.
                    self.date = Some(self.today);
                }
                if self.date.is_some() {
                    self.start(out)?;
                }
            }
        }
        if self.started {
            return self.write(date, &r, out);
        }
        self.held.push((date, r));
        if self.held.len() >= SPILL_AT {
            self.spill().map_err(spool_error)?;
        }
        Ok(())
    }

    /// Moves the held results to the temporary file.
    fn spill(&mut self) -> io::Result<()> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if self.spilled.is_none() {
            let path = std::env::temp_dir().join(format!(
                "handover-results-{}-{}.jsonl",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
            // Unlinked at once (on Unix the open file lives on), so nothing is left behind.
            let _ = std::fs::remove_file(&path);
            self.spilled = Some(file);
        }
        let Some(file) = &mut self.spilled else { return Ok(()) };
        let mut w = io::BufWriter::new(file);
        for (d, r) in self.held.drain(..) {
            serde_json::to_writer(&mut w, &Held::of(d, r)).map_err(io::Error::other)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    }

    /// Writes the header and every result held; `self.date` is the run's date (JSON, YAML).
    fn start(&mut self, out: &mut dyn Write) -> io::Result<()> {
        use std::io::{BufRead, Seek};
        self.started = true;
        self.human.key_width = self.key_width;
        self.header(out)?;
        if let Some(mut file) = self.spilled.take() {
            file.seek(io::SeekFrom::Start(0)).map_err(spool_error)?;
            for line in io::BufReader::new(file).lines() {
                let line = line.map_err(spool_error)?;
                let held: Held = serde_json::from_str(&line).map_err(io::Error::other)?;
                let (d, r) = held.into_record()?;
                self.write(d, &r, out)?;
            }
        }
        for (d, r) in std::mem::take(&mut self.held) {
            self.write(d, &r, out)?;
        }
        Ok(())
    }

    fn header(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let default = self.date.unwrap_or(self.today);
        match self.format {
            Format::Json => {
                write!(out, "{{\n  \"as_of\": \"{default}\",")?;
                if let Some((name, identity)) = &self.policy {
                    let name = serde_json::to_string(name).map_err(io::Error::other)?;
                    write!(out, "\n  \"policy\": {{ \"name\": {name}, \"identity\": \"{identity}\" }},")?;
                }
                write!(out, "\n  \"results\": [")
            }
            Format::Yaml => {
                let mut head = serde_json::json!({ "as_of": default.to_string() });
                if let (Some((name, identity)), Some(map)) = (&self.policy, head.as_object_mut()) {
                    map.insert("policy".into(), serde_json::json!({ "name": name, "identity": identity }));
                }
                let head = serde_yaml::to_string(&head).map_err(io::Error::other)?;
                write!(out, "{head}results:")
            }
            #[cfg(feature = "report")]
            Format::Html | Format::Markdown => self.report.head(self.format, default, out),
            _ => Ok(()),
        }
    }

    fn write(&mut self, date: Date, r: &Record, out: &mut dyn Write) -> io::Result<()> {
        let default = self.date.unwrap_or(self.today);
        match self.format {
            Format::Json => {
                let text = serde_json::to_string_pretty(&record_json(r, date, default)).map_err(io::Error::other)?;
                out.write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
                let mut buf = String::with_capacity(text.len() + 64);
                for (i, line) in text.split('\n').enumerate() {
                    if i > 0 {
                        buf.push('\n');
                    }
                    buf.push_str("    ");
                    buf.push_str(line);
                }
                out.write_all(buf.as_bytes())?;
            }
            Format::Yaml => {
                let text = serde_yaml::to_string(&[record_json(r, date, default)]).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
                out.write_all(text.trim_end_matches('\n').as_bytes())?;
            }
            Format::Human => self.human.row(date, r, out, self.color)?,
            Format::Jsonl => {}
            #[cfg(feature = "report")]
            Format::Html | Format::Markdown => self.report.row(r, out)?,
            #[cfg(feature = "report")]
            Format::Csv => self.report.csv_row(date, r, out)?,
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the output: whatever is still held, and the end of the document or the summary line.
    /// A second call adds nothing.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.format == Format::Jsonl {
            return Ok(());
        }
        #[cfg(feature = "report")]
        if self.format == Format::Csv {
            self.format = Format::Jsonl;
            return self.report.csv_end(out);
        }
        if !self.started {
            // Every result gave the first one's date, or there were none.
            self.date = Some(self.date.or(self.first).unwrap_or(self.today));
            self.start(out)?;
        }
        let end: &[u8] = match (self.format, self.written) {
            (Format::Json, 0) => b"]\n}\n",
            (Format::Json, _) => b"\n  ]\n}\n",
            (Format::Yaml, 0) => b" []\n",
            (Format::Yaml, _) => b"\n",
            _ => b"",
        };
        if self.format == Format::Human {
            self.human.end(out)?;
        }
        #[cfg(feature = "report")]
        if self.format.holds_all() {
            let date = self.date.unwrap_or(self.today);
            self.report.end(date, out)?;
        }
        self.format = Format::Jsonl;
        out.write_all(end)
    }
}

/// A record as JSON; `as_of` is added only when the record used another date than the run's.
fn record_json(r: &Record, date: Date, default: Date) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
    if date != default {
        if let Some(map) = v.as_object_mut() {
            map.insert("as_of".into(), date.to_string().into());
        }
    }
    v
}

/// Renders a whole run's records (each with the date it was decided at) in one form; `as_of`
/// is the run's date when one was given, else the records' common date, or `today`. The same
/// text the CLI writes for the same records (without colours), but without the policy's name
/// and identity (see [`render_for`]). Fails only when more records than are held in memory
/// cannot go to the temporary file (see [`ResultWriter`]).
pub fn render(
    format: Format,
    records: impl IntoIterator<Item = (Date, Record)>,
    as_of: Option<Date>,
    today: Date,
) -> io::Result<String> {
    render_with(ResultWriter::new(format, as_of, today, false), records)
}

/// [`render`] for the records of `policy`: exactly what the CLI writes, the policy's name and
/// identity at the top of JSON and YAML, the policy's words in the reports.
pub fn render_for(
    policy: &crate::Policy,
    format: Format,
    records: impl IntoIterator<Item = (Date, Record)>,
    as_of: Option<Date>,
    today: Date,
) -> io::Result<String> {
    render_with(ResultWriter::new(format, as_of, today, false).with_policy(policy), records)
}

fn render_with(mut w: ResultWriter, records: impl IntoIterator<Item = (Date, Record)>) -> io::Result<String> {
    let mut out = Vec::new();
    let jsonl = w.format == Format::Jsonl;
    for (date, r) in records {
        if jsonl {
            // Each record with the date it was decided at, as `eval --format jsonl` writes it.
            serde_json::to_writer(&mut out, &crate::eval::verdict::Dated { record: &r, as_of: Some(date) })
                .map_err(io::Error::other)?;
            out.push(b'\n');
        } else {
            w.push(date, r, &mut out)?;
        }
    }
    w.finish(&mut out)?;
    // Every piece written is a Rust string.
    Ok(String::from_utf8_lossy(&out).into_owned())
}
