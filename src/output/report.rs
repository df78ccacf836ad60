//! The report forms inside [`super::ResultWriter`]: CSV rows are written as they come; HTML and
//! Markdown need the whole run first (counts, dates, customers), so the writer holds their
//! records (spilling to a temporary file as for JSON) while [`Plan`] gathers what the head
//! shows, then replays them under it.

use std::io::{self, Write};

use super::Format;
use super::csv::CsvWriter;
use super::html::HtmlWriter;
use super::markdown::MarkdownWriter;
use super::plan::{Catalog, Plan};
use crate::eval::verdict::Record;
use crate::value::Date;

#[derive(Default)]
pub(crate) struct Report {
    pub(crate) catalog: Catalog,
    pub(crate) plan: Plan,
    html: Option<HtmlWriter>,
    markdown: Option<MarkdownWriter>,
    csv: Option<CsvWriter>,
}

impl Report {
    fn csv(&mut self) -> &mut CsvWriter {
        self.csv.get_or_insert_with(|| CsvWriter::new(&self.catalog))
    }

    pub(crate) fn csv_row(&mut self, date: Date, r: &Record, out: &mut dyn Write) -> io::Result<()> {
        self.csv().row(date, r, out)
    }

    /// Ends a CSV report: the header alone when no row came.
    pub(crate) fn csv_end(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let keys = self.catalog.keys.clone().unwrap_or_else(|| ("customer".into(), "subscription".into()));
        self.csv().header((&keys.0, &keys.1), out)
    }

    pub(crate) fn head(&mut self, format: Format, as_of: Date, out: &mut dyn Write) -> io::Result<()> {
        if self.plan.entries == 0 {
            if let Some((label, key)) = &self.catalog.keys {
                self.plan.label_key = label.clone();
                self.plan.key_name = key.clone();
            }
        }
        match format {
            Format::Html => self.html.insert(HtmlWriter::new()?).head(&self.plan, &self.catalog, as_of, out),
            Format::Markdown => {
                self.markdown.insert(MarkdownWriter::new()?).head(&self.plan, &self.catalog, as_of, out)
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn row(&mut self, r: &Record, out: &mut dyn Write) -> io::Result<()> {
        if let Some(w) = &mut self.html {
            return w.row(&self.plan, &self.catalog, r, out);
        }
        if let Some(w) = &mut self.markdown {
            return w.row(&self.plan, &self.catalog, r, out);
        }
        Ok(())
    }

    pub(crate) fn end(&mut self, as_of: Date, out: &mut dyn Write) -> io::Result<()> {
        if let Some(w) = &mut self.html {
            return w.end(&self.plan, &self.catalog, as_of, out);
        }
        if let Some(w) = &mut self.markdown {
            return w.end(&self.plan, &self.catalog, as_of, out);
        }
        Ok(())
    }
}
