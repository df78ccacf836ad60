//! The CSV report: one row per entry, streamed as results arrive (nothing is held), so a CSV
//! inventory of any size comes back as a CSV of the same rows in the same order.
//!
//! Columns: `source`, the two identifying keys (named after the policy's groups: `customer`,
//! `subscription`), `as_of`, `action`, one `params.<name>` column per parameter of any action
//! (the union, in declaration order; empty where the action has no such parameter), `rule`,
//! `reason`, `citation`, `error` (the message, field paths included) and `error_code` (its stable
//! code, `facts::…` or `eval::…`); for an entry in error, `rule` is the rule being evaluated, if
//! any. Without a policy to name the parameters, one `params` column
//! holds each entry's parameters as a JSON object.

use std::io::{self, Write};

use super::plan::{Catalog, value_text};
use crate::eval::verdict::{EntryError, Record};
use crate::value::Date;

/// A buffer the csv writer fills and [`CsvWriter`] empties into the output after each row.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut v = self.0.lock().map_err(|_| io::Error::other("the CSV buffer was poisoned"))?;
        v.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) struct CsvWriter {
    /// Rows are written through here into `buf`, then moved to the output.
    csv: ::csv::Writer<Shared>,
    buf: Shared,
    /// The parameter columns, when the policy names them.
    params: Option<Vec<String>>,
    header: bool,
}

fn csv_error(e: ::csv::Error) -> io::Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("cannot write a CSV row: {other:?}")),
    }
}

impl CsvWriter {
    pub(crate) fn new(catalog: &Catalog) -> CsvWriter {
        let params = (!catalog.actions.is_empty()).then(|| catalog.param_union());
        let buf = Shared::default();
        CsvWriter { csv: ::csv::Writer::from_writer(buf.clone()), buf, params, header: false }
    }

    fn emit(&mut self, out: &mut dyn Write) -> io::Result<()> {
        self.csv.flush()?;
        let mut buf = self.buf.0.lock().map_err(|_| io::Error::other("the CSV buffer was poisoned"))?;
        out.write_all(&buf)?;
        buf.clear();
        Ok(())
    }

    /// The header, named after the first record's keys, or the policy's when nothing came.
    pub(crate) fn header(&mut self, keys: (&str, &str), out: &mut dyn Write) -> io::Result<()> {
        if self.header {
            return Ok(());
        }
        self.header = true;
        let mut row: Vec<String> = vec!["source".into(), keys.0.into(), keys.1.into(), "as_of".into(), "action".into()];
        match &self.params {
            Some(names) => row.extend(names.iter().map(|n| format!("params.{n}"))),
            None => row.push("params".into()),
        }
        row.extend(["rule", "reason", "citation", "error", "error_code"].map(String::from));
        self.csv.write_record(&row).map_err(csv_error)?;
        self.emit(out)
    }

    pub(crate) fn row(&mut self, date: Date, r: &Record, out: &mut dyn Write) -> io::Result<()> {
        self.header((&r.label_key, &r.key_name), out)?;
        let mut row: Vec<String> = vec![
            r.source.clone(),
            r.label.clone().unwrap_or_default(),
            r.key.clone().unwrap_or_default(),
            date.to_string(),
        ];
        match &r.outcome {
            Ok(d) => {
                row.push(d.action.clone());
                match &self.params {
                    Some(names) => {
                        row.extend(names.iter().map(|n| d.params.get(n).map(value_text).unwrap_or_default()));
                    }
                    None => row.push(serde_json::Value::Object(d.params.clone()).to_string()),
                }
                row.extend([
                    d.rule.clone(),
                    d.reason.clone(),
                    d.citation.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                ]);
            }
            Err(e) => {
                let blank = self.params.as_ref().map_or(1, Vec::len);
                row.extend(std::iter::repeat_n(String::new(), blank + 1));
                let rule = match e {
                    EntryError::Decide { rule: Some(r), .. } => r.clone(),
                    _ => String::new(),
                };
                row.extend([rule, String::new(), String::new(), e.to_string(), e.code().to_string()]);
            }
        }
        self.csv.write_record(&row).map_err(csv_error)?;
        self.emit(out)
    }
}
