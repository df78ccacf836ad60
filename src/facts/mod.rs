//! Fact files → typed facts, validated against the policy's schema.
//!
//! The edge of the system: YAML, JSON and JSON Lines are read into a small raw tree (which
//! keeps duplicate keys, so they can be reported), then each document is checked against the
//! schema the policy declares and turned into slot-ordered [`Value`]s. A problem in one entry
//! makes that entry an error and leaves its siblings alone; a problem in the document's shared
//! facts makes every entry of that document an error naming it. YAML parsing lives only here.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed as _, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::diagnostic::did_you_mean;
use crate::language::check::AS_OF;
use crate::language::schema::{FieldDef, Schema, Scope, Type};
use crate::value::{Date, Value};

mod from_rust;

/// The longest JSON Lines line or CSV row read by default (64 MiB): a longer one is an error
/// record, skipped without being held in memory (a CSV row whose quoted cell runs across lines
/// past it ends the reading: its end cannot be told). One line is one document, so this bounds
/// one customer's size. The whole-text CSV reader and the batch reader use it.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// The input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One or more YAML documents (separated by `---`). Also reads JSON.
    Yaml,
    /// One JSON document.
    Json,
    /// One JSON document per line.
    JsonLines,
    /// A CSV inventory: a header of `group.field` names, then one entry per row.
    Csv,
}

impl Format {
    /// Guesses the format from a file name's extension (`.yaml`, `.yml`, `.json`, `.jsonl`, `.ndjson`).
    pub fn from_path(path: &str) -> Option<Format> {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        match ext.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// A problem with the facts, located by field path (and by line where the format has lines).
/// `Display` is `path: message` (the message alone for the whole document).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FactError {
    /// Field path inside the document, such as `subscriptions[3].channel`; empty for the whole document.
    pub path: String,
    /// What kind of problem, for programs (a server answers 400 for any of them).
    pub kind: FactErrorKind,
    /// The problem in words, with what was expected and a suggestion where there is one.
    pub message: String,
}

impl FactError {
    pub fn new(kind: FactErrorKind, path: impl Into<String>, message: impl Into<String>) -> FactError {
        FactError { path: path.into(), kind, message: message.into() }
    }
}

impl fmt::Display for FactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

impl std::error::Error for FactError {}

impl miette::Diagnostic for FactError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }
}

/// The kinds of [`FactError`]. Each has a stable code (see [`FactErrorKind::code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FactErrorKind {
    /// The input cannot be read as fact documents: not valid JSON, YAML or CSV (or a CSV row of
    /// the wrong shape), not UTF-8, a line or a nesting past a limit, or no document at all.
    Unreadable,
    /// A required fact, or the document's list of entries, is missing or null; or the list is empty.
    Missing,
    /// A key the schema does not declare (a CSV column included).
    UnknownKey,
    /// A key given twice in one mapping.
    DuplicateKey,
    /// A value of the wrong type or shape (text where a number is expected, a list where a
    /// mapping is).
    WrongType,
    /// A value of the right type that is not allowed: an enum value the schema does not list, a
    /// date that is not in the calendar.
    BadValue,
}

impl FactErrorKind {
    /// The stable code of this kind (`facts::missing`, …), as listed in the README.
    pub fn code(self) -> &'static str {
        match self {
            FactErrorKind::Unreadable => "facts::unreadable",
            FactErrorKind::Missing => "facts::missing",
            FactErrorKind::UnknownKey => "facts::unknown-key",
            FactErrorKind::DuplicateKey => "facts::duplicate-key",
            FactErrorKind::WrongType => "facts::wrong-type",
            FactErrorKind::BadValue => "facts::bad-value",
        }
    }
}

/// One entry of a document (one subscription, for the shipped policy).
#[derive(Clone, Debug)]
pub struct Entry {
    /// The entry's `@key` value, when it could be read.
    pub key: Option<String>,
    /// The entry's facts in slot order, or everything wrong with them.
    pub values: Result<Vec<Value>, Vec<FactError>>,
}

/// One fact document: shared facts and its entries.
#[derive(Clone, Debug)]
pub struct Document {
    /// Where it came from: the file name, with `:LINE` for JSON Lines and multi-document YAML.
    pub source: String,
    /// Its `as_of`, if it gives one.
    pub as_of: Option<Date>,
    /// The `@label` value (the customer's name), when it could be read.
    pub label: Option<String>,
    /// The document-scoped facts in slot order, or everything wrong with them.
    pub shared: Result<Vec<Value>, Vec<FactError>>,
    pub entries: Vec<Entry>,
}

impl Document {
    fn failed(source: String, error: FactError) -> Document {
        Document { source, as_of: None, label: None, shared: Err(vec![error]), entries: Vec::new() }
    }
}

/// Reads every document of `text`. Never fails as a whole: a document that cannot be read
/// becomes a [`Document`] whose `shared` is the error.
pub fn parse(schema: &Schema, text: &str, format: Format, source: &str) -> Vec<Document> {
    // A byte-order mark may open the input. The CSV reader skips one itself (as in batch runs),
    // so it gets the text as it is: stripped here too, a second mark would go unnoticed.
    let unmarked = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Csv => parse_csv(schema, text, source),
        Format::Json => vec![json_document(schema, unmarked, source.to_string(), false)],
        Format::JsonLines => {
            let mut docs = Vec::new();
            for (i, line) in unmarked.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                docs.push(parse_json_line(schema, line, format!("{source}:{}", i + 1)));
            }
            nonempty(docs, source)
        }
        Format::Yaml => {
            if let Err(detail) = yaml_depth_ok(unmarked) {
                let detail = format!("{detail} (a fact document needs three)");
                return vec![Document::failed(source.to_string(), syntax("YAML", &detail))];
            }
            let mut docs: Vec<Option<Document>> = Vec::new();
            // Each document on its own, so that a syntax error in one loses none of the others.
            for (first_line, piece) in yaml_documents(unmarked) {
                for de in serde_yaml::Deserializer::from_str(piece) {
                    let budget = Budget::yaml(piece.len());
                    match (DocSeed { schema, budget: &budget }).deserialize(de) {
                        Ok(doc) => docs.push(doc.map(|d| Document { source: source.to_string(), ..d })),
                        Err(e) => {
                            let mut detail = shift_lines(&position_to_line(&e.to_string(), piece), first_line);
                            if detail.contains("repetition limit exceeded") {
                                detail.push_str(" (YAML aliases are used too many times: each use counts)");
                            }
                            docs.push(Some(Document::failed(source.to_string(), syntax("YAML", &detail))));
                            // After a syntax error serde_yaml yields the same error forever.
                            break;
                        }
                    }
                }
            }
            let several = docs.len() > 1;
            let docs: Vec<Document> = docs
                .into_iter()
                .enumerate()
                .filter_map(|(i, doc)| match doc {
                    Some(mut d) => {
                        if several {
                            d.source = format!("{source}#{}", i + 1);
                        }
                        Some(d)
                    }
                    // An empty document between `---` separators carries nothing.
                    None if several => None,
                    None => Some(empty_document(source.to_string())),
                })
                .collect();
            nonempty(docs, source)
        }
    }
}

/// The documents of a YAML stream, each with the number of lines before it. YAML ends a document
/// at a line that starts with a marker, `---` or `...` followed by a space or the line's end,
/// wherever it stands (inside a block or quoted scalar too), so cutting the text there gives the
/// documents the parser would see. Directives and comments before a `---` stay with it.
fn yaml_documents(text: &str) -> Vec<(usize, &str)> {
    let marker = |line: &str, m: &str| {
        line.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
    };
    let mut out = Vec::new();
    // The current document's start (byte offset and line), and whether it holds content yet.
    let (mut start, mut start_line, mut content) = (0usize, 0usize, false);
    let mut offset = 0usize;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let next = offset + line.len();
        if marker(line, "---") {
            if content {
                out.push((start_line, text.get(start..offset).unwrap_or_default()));
                (start, start_line) = (offset, n);
            }
            content = true;
        } else if marker(line, "...") {
            out.push((start_line, text.get(start..next).unwrap_or_default()));
            (start, start_line, content) = (next, n + 1, false);
        } else {
            let t = line.trim_start();
            content |= !(t.is_empty() || t.starts_with('#') || (t.starts_with('%') && line.starts_with('%')));
        }
        offset = next;
    }
    if content || out.is_empty() {
        out.push((start_line, text.get(start..).unwrap_or_default()));
    }
    out
}

/// A parser message that gives a byte offset into `text` (`at position N`, as the YAML reader
/// says of characters it refuses) with a line and column instead.
fn position_to_line(message: &str, text: &str) -> String {
    let Some((before, after)) = message.split_once(" at position ") else { return message.to_string() };
    let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, tail) = after.split_at(digits);
    let Ok(offset) = number.parse::<usize>() else { return message.to_string() };
    let prefix = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = prefix.matches('\n').count() + 1;
    let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{before} at line {line} column {column}{tail}")
}

/// A parser message about a piece of text that starts `lines` lines into its file, with its
/// `at line N column M` positions made positions in the file.
fn shift_lines(message: &str, lines: usize) -> String {
    if lines == 0 {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len() + 8);
    let mut rest = message;
    while let Some(i) = rest.find("at line ") {
        let (before, after) = rest.split_at(i + "at line ".len());
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (number, tail) = after.split_at(digits);
        match number.parse::<usize>() {
            Ok(n) if tail.starts_with(" column ") => out.push_str(&(n + lines).to_string()),
            _ => out.push_str(number),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// How deep `[` and `{` may nest in a YAML fact file. The YAML scanner slows down with the
/// square of this depth (100,000 levels, a 200 KB file, take about a minute), so deeper text is
/// refused before it is parsed. JSON has the same limit (serde_json's own).
pub const MAX_YAML_FLOW_DEPTH: usize = 128;

/// Refuses YAML text whose `[`/`{` nest deeper than [`MAX_YAML_FLOW_DEPTH`], saying where;
/// call it before handing the text to serde_yaml.
pub(crate) fn yaml_depth_ok(text: &str) -> Result<(), String> {
    match yaml_flow_too_deep(text, MAX_YAML_FLOW_DEPTH) {
        None => Ok(()),
        Some((line, column)) => Err(format!(
            "`[` and `{{` nested more than {MAX_YAML_FLOW_DEPTH} levels deep at line {line} column {column}"
        )),
    }
}

/// Where `[`/`{` first nest deeper than `limit` in YAML text, as 1-based (line, column in
/// characters). A light scan, not a parser: it skips quoted scalars, comments and block scalars
/// (`|`, `>`), and counts a bracket in block context only where a flow collection can start, so
/// that text such as `a[1]` is not taken for nesting.
fn yaml_flow_too_deep(text: &str, limit: usize) -> Option<(usize, usize)> {
    #[derive(PartialEq)]
    enum In {
        Plain,
        Double,
        Single,
        Comment,
    }
    let mut state = In::Plain;
    let mut depth = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    // The last character on this line (`None` at its start), and the line's indentation.
    let mut prev: Option<char> = None;
    let mut indent = 0usize;
    let mut at_indent = true;
    // A block scalar opened on this line / the indentation of the line that opened one.
    let mut block_opened = false;
    let mut block_parent: Option<usize> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        column += 1;
        if c == '\n' {
            if state == In::Comment {
                state = In::Plain;
            }
            if block_opened {
                block_parent = Some(indent);
            }
            (line, column, prev, indent, at_indent, block_opened) = (line + 1, 0, None, 0, true, false);
            continue;
        }
        if at_indent {
            if c == ' ' {
                indent += 1;
                continue;
            }
            at_indent = false;
            // Inside a block scalar: lines indented deeper than its parent, and blank lines.
            if let Some(parent) = block_parent {
                if state == In::Plain && (indent > parent || c == '\r') {
                    while chars.peek().is_some_and(|n| *n != '\n') {
                        chars.next();
                    }
                    continue;
                }
                block_parent = None;
            }
        }
        // Where a quoted scalar or a flow collection may begin (and a plain scalar cannot go on).
        let token_start = prev.is_none_or(|p| p.is_whitespace() || (depth > 0 && matches!(p, '[' | '{' | ',' | ':')));
        match state {
            In::Comment => {}
            In::Double => match c {
                '\\' if chars.next_if(|n| *n != '\n').is_some() => column += 1,
                '"' => state = In::Plain,
                _ => {}
            },
            In::Single => {
                if c == '\'' {
                    match chars.next_if_eq(&'\'') {
                        Some(_) => column += 1,
                        None => state = In::Plain,
                    }
                }
            }
            In::Plain => match c {
                '#' if prev.is_none_or(char::is_whitespace) => state = In::Comment,
                '"' if token_start => state = In::Double,
                '\'' if token_start => state = In::Single,
                // In flow context a plain scalar cannot hold brackets: each one nests.
                '[' | '{' if depth > 0 || token_start => {
                    depth += 1;
                    if depth > limit {
                        return Some((line, column));
                    }
                }
                ']' | '}' if depth > 0 => depth -= 1,
                '|' | '>' if depth == 0 && token_start => block_opened = true,
                c if block_opened && !c.is_whitespace() && !c.is_ascii_digit() && !matches!(c, '+' | '-') => {
                    block_opened = false;
                }
                _ => {}
            },
        }
        prev = Some(c);
    }
    None
}

/// One JSON document; `line` says the text is one line of JSON Lines (errors then give the
/// column only).
fn json_document(schema: &Schema, text: &str, source: String, line: bool) -> Document {
    match quick::read(schema, text) {
        Some(doc) => Document { source, ..doc },
        None => json_document_serde(schema, text, source, line),
    }
}

/// [`json_document`] through the seeds alone: the reader of every document the quick reader
/// leaves, and the reference it is tested against.
fn json_document_serde(schema: &Schema, text: &str, source: String, line: bool) -> Document {
    let mut de = serde_json::Deserializer::from_str(text);
    let budget = Budget::unlimited();
    let read = (DocSeed { schema, budget: &budget }).deserialize(&mut de).and_then(|d| de.end().map(|()| d));
    match read {
        Ok(Some(doc)) => Document { source, ..doc },
        Ok(None) => empty_document(source),
        Err(e) => {
            let mut detail = if line { json_line_error(&e) } else { e.to_string() };
            if let Some(column) = line.then(|| lone_carriage_return(text)).flatten() {
                detail.push_str(&format!(
                    "; the line holds a carriage return without a line feed at column {column}: a line of JSON Lines ends at `\\n` or `\\r\\n`, so a file saved with CR-only line endings reads as one line"
                ));
            }
            Document::failed(source, syntax("JSON", &detail))
        }
    }
}

/// The column (in characters) of the first carriage return in `line` that has more than
/// whitespace after it: the sign of records joined by CR-only line endings.
fn lone_carriage_return(line: &str) -> Option<usize> {
    let (i, _) = line.match_indices('\r').find(|(i, _)| !line.get(i + 1..).unwrap_or_default().trim().is_empty())?;
    Some(line.get(..i).unwrap_or_default().chars().count() + 1)
}

/// An input that holds no document at all is reported, not silently skipped.
fn nonempty(docs: Vec<Document>, source: &str) -> Vec<Document> {
    if docs.is_empty() {
        vec![Document::failed(
            source.to_string(),
            FactError::new(FactErrorKind::Unreadable, "", "the input holds no fact documents"),
        )]
    } else {
        docs
    }
}

/// A JSON error for one line of JSON Lines: its column only, the line being the record's.
fn json_line_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let detail = text.rsplit_once(" at line ").map_or(text.as_str(), |(d, _)| d);
    format!("{detail} at column {}", e.column())
}

fn parse_csv(schema: &Schema, text: &str, source: &str) -> Vec<Document> {
    let mut reader = csv_reader(text.as_bytes(), DEFAULT_MAX_LINE_BYTES);
    let mut buf = Vec::new();
    let columns = match reader.header(schema, source) {
        Ok(c) => c,
        Err(doc) => return vec![*doc],
    };
    let mut docs = Vec::new();
    // Reading from memory cannot fail.
    while let Ok(Some(frame)) = reader.framer.next(&mut reader.input, &mut buf) {
        docs.push(csv_document(schema, &columns, &frame, &buf, source));
        buf.clear();
    }
    nonempty(docs, source)
}

/// A CSV input being read: the framer and what is left of the input (a byte-order mark that
/// opens it already skipped).
pub(crate) struct CsvReader<R> {
    pub(crate) framer: CsvFramer,
    pub(crate) input: R,
}

fn csv_reader(bytes: &[u8], max: usize) -> CsvReader<&[u8]> {
    let (input, skipped) = match bytes.strip_prefix(b"\xef\xbb\xbf".as_slice()) {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    CsvReader { framer: CsvFramer::new(max, skipped), input }
}

impl<R: std::io::BufRead> CsvReader<R> {
    /// Wraps a stream, skipping a byte-order mark at its start.
    pub(crate) fn from_stream(
        mut input: R,
        max: usize,
    ) -> std::io::Result<CsvReader<std::io::Chain<std::io::Cursor<Vec<u8>>, R>>> {
        let mut head = Vec::with_capacity(3);
        while head.len() < 3 {
            let available = match input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let Some(&b) = available.first() else { break };
            if b"\xef\xbb\xbf".get(head.len()) != Some(&b) {
                break;
            }
            head.push(b);
            input.consume(1);
        }
        let skipped = if head.len() == 3 {
            head.clear();
            3
        } else {
            0
        };
        Ok(CsvReader {
            framer: CsvFramer::new(max, skipped),
            input: std::io::Read::chain(std::io::Cursor::new(head), input),
        })
    }

    /// Reads the header row: the meaning of each column, or the one document saying why the
    /// input cannot be read. An empty input has no columns (and then no rows).
    pub(crate) fn header(&mut self, schema: &Schema, source: &str) -> Result<Vec<Option<Column>>, Box<Document>> {
        let mut buf = Vec::new();
        let failed = |m: String| Box::new(failed_document(source, format!("CSV header: {m}")));
        match self.framer.next(&mut self.input, &mut buf) {
            Ok(None) => Ok(Vec::new()),
            Ok(Some(CsvFrame::TooLong { max, .. })) => Err(failed(format!(
                "the header row is longer than {max} bytes, the most read (`--max-line-bytes`); no row was read"
            ))),
            Ok(Some(frame)) => match csv_cells(&frame, &buf) {
                Ok(cells) => csv_header(schema, &cells)
                    .map_err(|m| Box::new(failed_document_of(FactErrorKind::UnknownKey, source, m))),
                Err(m) => Err(failed(m)),
            },
            Err(e) => Err(failed(format!("cannot read: {e}"))),
        }
    }
}

/// How the framer ended one CSV record.
#[derive(Clone, Debug)]
pub(crate) enum CsvFrame {
    /// A record, whose bytes (without its line break) were appended to the buffer: the line it
    /// starts on, the line it ends on, and the offset of its first byte in the input.
    Record { line: u64, last_line: u64, offset: u64 },
    /// A record longer than the cap, with no quoted cell running across lines: skipped to its
    /// end, the next record read.
    TooLong { line: u64, max: usize },
    /// A quoted cell that is never closed, or that runs across lines past the cap: the record's
    /// end cannot be told, so reading stops here.
    Unclosed { line: u64, quote_line: u64, quote_column: u64, past_cap: Option<usize> },
}

/// Where the framer stands inside a record (the states of an RFC 4180 reader, as the `csv`
/// crate reads: a quote opens a quoted cell only at the start of a cell, `""` inside one is a
/// quote, text after the closing quote is kept up to the next comma).
#[derive(Clone, Copy, PartialEq, Eq)]
enum CsvState {
    /// Between records: line breaks here are blank lines, skipped.
    StartRecord,
    StartCell,
    Unquoted,
    Quoted,
    /// A quote inside a quoted cell: the end of the cell, or the first half of `""`.
    QuoteInQuoted,
}

/// Cuts a CSV input into records without splitting cells, so that each record can be decided
/// on its own: `\n`, `\r\n` and a lone `\r` end a record outside quotes (and count as line
/// breaks everywhere). A record is held only up to `max` bytes: a longer one is skipped
/// ([`CsvFrame::TooLong`]), or, when a quoted cell runs across lines past the cap, reading
/// stops ([`CsvFrame::Unclosed`]), as it does at the end of the input inside a quoted cell.
pub(crate) struct CsvFramer {
    max: usize,
    /// Line and column (in characters, 0-based) of the next byte, and its offset in the input.
    line: u64,
    column: u64,
    offset: u64,
    /// The last byte was a `\r` (a `\n` after it is the same line break).
    after_cr: bool,
    stopped: bool,
}

impl CsvFramer {
    /// A framer for an input whose first `skipped` bytes (a byte-order mark) were dropped.
    pub(crate) fn new(max: usize, skipped: u64) -> CsvFramer {
        CsvFramer { max, line: 1, column: 0, offset: skipped, after_cr: false, stopped: false }
    }

    /// Bytes of the input consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Frames the next record, appending its bytes to `buf` (nothing for a skipped or broken
    /// one); `None` at the end of the input, or after [`CsvFrame::Unclosed`].
    pub(crate) fn next(
        &mut self,
        reader: &mut dyn std::io::BufRead,
        buf: &mut Vec<u8>,
    ) -> std::io::Result<Option<CsvFrame>> {
        if self.stopped {
            return Ok(None);
        }
        let start = buf.len();
        let mut state = CsvState::StartRecord;
        let (mut line0, mut offset0) = (self.line, self.offset);
        // The last quote that opened a cell, and whether that cell holds a line break.
        let (mut quote, mut quote_spans_lines) = ((0u64, 0u64), false);
        let mut skipping = false;
        loop {
            let available = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(match state {
                    CsvState::StartRecord => None,
                    CsvState::Quoted => {
                        self.stopped = true;
                        buf.truncate(start);
                        let past_cap = skipping.then_some(self.max);
                        Some(CsvFrame::Unclosed { line: line0, quote_line: quote.0, quote_column: quote.1, past_cap })
                    }
                    _ if skipping => Some(CsvFrame::TooLong { line: line0, max: self.max }),
                    _ => Some(CsvFrame::Record { line: line0, last_line: self.line, offset: offset0 }),
                });
            }
            // The first byte of the record in this slice, and the end of the record if it is here.
            let mut from = 0usize;
            let mut ended: Option<(usize, u64)> = None;
            let mut stop = false;
            for (i, &b) in available.iter().enumerate() {
                let brk = b == b'\n' || b == b'\r';
                if state == CsvState::StartRecord {
                    if brk {
                        from = i + 1;
                    } else {
                        (line0, offset0) = (self.line, self.offset + i as u64);
                        state = CsvState::StartCell;
                    }
                }
                let line_here = self.line;
                match state {
                    CsvState::StartRecord => {}
                    CsvState::StartCell | CsvState::Unquoted | CsvState::QuoteInQuoted if brk => {
                        ended = Some((i, line_here));
                    }
                    CsvState::StartCell => match b {
                        b'"' => {
                            state = CsvState::Quoted;
                            (quote, quote_spans_lines) = ((self.line, self.column + 1), false);
                        }
                        b',' => {}
                        _ => state = CsvState::Unquoted,
                    },
                    CsvState::Unquoted => {
                        if b == b',' {
                            state = CsvState::StartCell;
                        }
                    }
                    CsvState::Quoted => {
                        if b == b'"' {
                            state = CsvState::QuoteInQuoted;
                        } else if brk {
                            quote_spans_lines = true;
                        }
                    }
                    CsvState::QuoteInQuoted => {
                        state = match b {
                            b'"' => CsvState::Quoted,
                            b',' => CsvState::StartCell,
                            _ => CsvState::Unquoted,
                        }
                    }
                }
                // Line and column of the next byte.
                match b {
                    b'\n' => {
                        if !self.after_cr {
                            self.line += 1;
                        }
                        (self.column, self.after_cr) = (0, false);
                    }
                    b'\r' => (self.line, self.column, self.after_cr) = (self.line + 1, 0, true),
                    _ => {
                        self.after_cr = false;
                        if b & 0xC0 != 0x80 {
                            self.column += 1;
                        }
                    }
                }
                if ended.is_some() {
                    break;
                }
                if state != CsvState::StartRecord && !skipping && buf.len() - start + (i + 1 - from) > self.max {
                    // Past the cap: nothing more of this record is kept.
                    buf.truncate(start);
                    buf.shrink_to(start.max(1 << 20));
                    skipping = true;
                }
                if skipping && state == CsvState::Quoted && quote_spans_lines {
                    stop = true;
                    ended = Some((i, line_here));
                    break;
                }
            }
            let consumed = match ended {
                Some((i, _)) => i + 1,
                None => available.len(),
            };
            if !skipping && state != CsvState::StartRecord {
                let end = ended.map_or(available.len(), |(i, _)| i);
                extend_capped(buf, available.get(from..end).unwrap_or_default(), start + self.max);
            }
            reader.consume(consumed);
            self.offset += consumed as u64;
            if let Some((_, last_line)) = ended {
                if stop {
                    self.stopped = true;
                    return Ok(Some(CsvFrame::Unclosed {
                        line: line0,
                        quote_line: quote.0,
                        quote_column: quote.1,
                        past_cap: Some(self.max),
                    }));
                }
                return Ok(Some(if skipping {
                    CsvFrame::TooLong { line: line0, max: self.max }
                } else {
                    CsvFrame::Record { line: line0, last_line, offset: offset0 }
                }));
            }
        }
    }
}

/// Appends `piece` to `buf`, growing it (by doubling) to at most `cap` bytes when `piece`
/// fits under that, so that a record near the cap does not hold twice the cap.
pub(crate) fn extend_capped(buf: &mut Vec<u8>, piece: &[u8], cap: usize) {
    let need = buf.len() + piece.len();
    if need > buf.capacity() {
        let target = buf.capacity().saturating_mul(2).min(cap).max(need);
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(piece);
}

/// The row number a frame is reported under: the line its record starts on.
pub(crate) fn csv_frame_row(frame: &CsvFrame) -> u64 {
    match frame {
        CsvFrame::Record { line, .. } | CsvFrame::TooLong { line, .. } | CsvFrame::Unclosed { line, .. } => *line,
    }
}

/// The cells of a framed record held in `raw`, or what is wrong with it (without the row).
fn csv_cells<'a>(frame: &CsvFrame, raw: &'a [u8]) -> Result<Vec<Cow<'a, str>>, String> {
    let (line, offset) = match frame {
        CsvFrame::Record { line, offset, .. } => (*line, *offset),
        CsvFrame::TooLong { max, .. } => {
            return Err(format!(
                "the row is longer than {max} bytes, the most read (`--max-line-bytes`); it was skipped"
            ));
        }
        CsvFrame::Unclosed { quote_line, quote_column, past_cap, .. } => {
            let at = format!("the quote that opens a cell at line {quote_line}, column {quote_column}");
            return Err(match past_cap {
                None => format!(
                    "not valid CSV: {at} is never closed, so the row runs to the end of the input; the rows after it could not be told apart and were not read"
                ),
                Some(max) => format!(
                    "not valid CSV: {at} is not closed within {max} bytes (`--max-line-bytes`), so the row's end cannot be found; reading stopped there, the rest of the input was not read"
                ),
            });
        }
    };
    let text = std::str::from_utf8(raw).map_err(|e| {
        let line = usize::try_from(line).unwrap_or(usize::MAX);
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        crate::source::not_utf8(raw, e.valid_up_to(), line, start, true, offset == 3).to_string()
    })?;
    Ok(split_cells(text))
}

/// Splits one record's text (no line break outside quotes) into cells, as the `csv` crate does.
fn split_cells(text: &str) -> Vec<Cow<'_, str>> {
    let bytes = text.as_bytes();
    let find =
        |from: usize, what: u8| bytes.get(from..).and_then(|b| b.iter().position(|c| *c == what)).map(|i| from + i);
    let mut cells = Vec::new();
    let mut i = 0usize;
    loop {
        let end = if bytes.get(i) == Some(&b'"') {
            let mut cell = String::new();
            let mut j = i + 1;
            loop {
                match find(j, b'"') {
                    None => {
                        cell.push_str(text.get(j..).unwrap_or_default());
                        j = bytes.len();
                        break;
                    }
                    Some(q) => {
                        cell.push_str(text.get(j..q).unwrap_or_default());
                        j = q + 1;
                        if bytes.get(j) == Some(&b'"') {
                            cell.push('"');
                            j += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            // Text after the closing quote belongs to the cell, up to the next comma.
            let end = find(j, b',').unwrap_or(bytes.len());
            cell.push_str(text.get(j..end).unwrap_or_default());
            cells.push(Cow::Owned(cell));
            end
        } else {
            let end = find(i, b',').unwrap_or(bytes.len());
            cells.push(Cow::Borrowed(text.get(i..end).unwrap_or_default()));
            end
        };
        if end >= bytes.len() {
            return cells;
        }
        i = end + 1;
    }
}

/// One framed CSV record (its bytes in `raw`) as a document with one entry, or the error for
/// its row. A row must give every column of the header (an empty cell is an absent fact).
pub(crate) fn csv_document(
    schema: &Schema,
    columns: &[Option<Column>],
    frame: &CsvFrame,
    raw: &[u8],
    source: &str,
) -> Document {
    let row = csv_frame_row(frame);
    let cells = match csv_cells(frame, raw) {
        Ok(c) => c,
        Err(m) => return failed_document(source, format!("row {row}: {m}")),
    };
    // A record that spans lines does so through quoted cells: say so when its shape is wrong.
    let spans = match frame {
        CsvFrame::Record { line, last_line, .. } if last_line > line => {
            format!(" (the row runs from line {line} to line {last_line}: a quoted cell holds line breaks)")
        }
        _ => String::new(),
    };
    if cells.len() > columns.len() {
        return failed_document(
            source,
            format!("row {row}: more cells ({}) than the header has columns ({}){spans}", cells.len(), columns.len()),
        );
    }
    if cells.len() < columns.len() {
        return failed_document(
            source,
            format!(
                "row {row}: {} cell(s), but the header has {} columns: no cell for {}{spans}; give every column, an empty cell for an absent fact",
                cells.len(),
                columns.len(),
                missing_columns(columns, cells.len())
            ),
        );
    }
    csv_row(schema, columns, &cells, source, row)
}

/// The names of the columns from `from` on, for a short row.
fn missing_columns(columns: &[Option<Column>], from: usize) -> String {
    let names: Vec<String> = columns
        .iter()
        .skip(from)
        .map(|c| match c {
            Some(c) => format!("`{}.{}`", c.group, c.field),
            None => format!("`{AS_OF}`"),
        })
        .collect();
    names.join(", ")
}

/// One line of JSON Lines as a document (`at` names it, `file:line`).
pub fn parse_json_line(schema: &Schema, line: &str, at: String) -> Document {
    json_document(schema, line, at, true)
}

/// A document that could not be read at all.
pub(crate) fn failed_document(source: &str, message: String) -> Document {
    failed_document_of(FactErrorKind::Unreadable, source, message)
}

/// A document that could not be read at all, for a reason of the given kind.
pub(crate) fn failed_document_of(kind: FactErrorKind, source: &str, message: String) -> Document {
    Document::failed(source.to_string(), FactError::new(kind, "", message))
}

fn syntax(format: &str, detail: &str) -> FactError {
    FactError::new(FactErrorKind::Unreadable, "", format!("not valid {format}: {detail}"))
}

/// The raw tree of a fact document. Maps keep every key in order, duplicates included.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Raw<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Borrowed from the input where the format allows (JSON strings without escapes).
    Str(Cow<'a, str>),
    Seq(Vec<Raw<'a>>),
    Map(Vec<(Raw<'a>, Raw<'a>)>),
}

impl Raw<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Bool(_) => "a boolean",
            Raw::Int(_) | Raw::Float(_) => "a number",
            Raw::Str(_) => "a string",
            Raw::Seq(_) => "a list",
            Raw::Map(_) => "a mapping",
        }
    }

    fn key_text(&self) -> Cow<'_, str> {
        match self {
            Raw::Str(s) => Cow::Borrowed(s),
            Raw::Null => "null".into(),
            Raw::Bool(b) => b.to_string().into(),
            Raw::Int(n) => n.to_string().into(),
            Raw::Float(f) => f.to_string().into(),
            Raw::Seq(_) | Raw::Map(_) => "<complex key>".into(),
        }
    }

    /// The same tree, owning all its text.
    pub(crate) fn into_owned(self) -> Raw<'static> {
        match self {
            Raw::Null => Raw::Null,
            Raw::Bool(b) => Raw::Bool(b),
            Raw::Int(n) => Raw::Int(n),
            Raw::Float(f) => Raw::Float(f),
            Raw::Str(s) => Raw::Str(Cow::Owned(s.into_owned())),
            Raw::Seq(xs) => Raw::Seq(xs.into_iter().map(Raw::into_owned).collect()),
            Raw::Map(m) => Raw::Map(m.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()),
        }
    }
}

/// Reads a whole YAML document as a raw tree (test-case files), counted against the same
/// expansion budget as fact documents, so that aliases cannot make it grow without bound.
pub(crate) fn yaml_tree(text: &str) -> Result<Raw<'static>, serde_yaml::Error> {
    let budget = Budget::yaml(text.len());
    ValueSeed { budget: &budget, tree: true }.deserialize(serde_yaml::Deserializer::from_str(text)).map(Raw::into_owned)
}

/// A raw tree is itself a serde data source, so documents built in memory go through the same
/// [`DocSeed`] as files.
impl<'de> Deserializer<'de> for Raw<'de> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Raw::Null => visitor.visit_unit(),
            Raw::Bool(b) => visitor.visit_bool(b),
            Raw::Int(n) => visitor.visit_i64(n),
            Raw::Float(f) => visitor.visit_f64(f),
            Raw::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Raw::Str(Cow::Owned(s)) => visitor.visit_string(s),
            Raw::Seq(items) => visitor.visit_seq(de::value::SeqDeserializer::new(items.into_iter())),
            Raw::Map(entries) => visitor.visit_map(de::value::MapDeserializer::new(entries.into_iter())),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, de::value::Error> for Raw<'de> {
    type Deserializer = Raw<'de>;
    fn into_deserializer(self) -> Raw<'de> {
        self
    }
}

/// Checks any serialisable Rust value against the schema exactly as a fact file with the same
/// content: the same errors (field paths, suggestions), the same defaults. A struct's fields are
/// the file's keys; an `enum` of unit variants gives enum facts by variant name (rename them to
/// the policy's values, e.g. `#[serde(rename_all = "snake_case")]`); `None` is null; dates are
/// `YYYY-MM-DD` strings or [`Date`]s. `source` names the document in records and errors.
///
/// A `Serialize` implementation that fails gives a document whose shared facts are that error.
pub fn from_value<T: serde::Serialize + ?Sized>(schema: &Schema, value: &T, source: &str) -> Document {
    match from_rust::to_raw(value) {
        Ok(raw) => validate(schema, raw, source.to_string()),
        Err(e) => Document::failed(
            source.to_string(),
            FactError::new(FactErrorKind::Unreadable, "", format!("the value cannot be read as facts: {e}")),
        ),
    }
}

/// Checks one raw document against the schema (for documents built in memory: CSV rows,
/// test cases). Files are read through the same seed without building the raw tree.
pub(crate) fn validate(schema: &Schema, raw: Raw<'_>, source: String) -> Document {
    let budget = Budget::unlimited();
    match (DocSeed { schema, budget: &budget }).deserialize(raw) {
        Ok(Some(doc)) => Document { source, ..doc },
        Ok(None) => empty_document(source),
        Err(e) => Document::failed(source, FactError::new(FactErrorKind::Unreadable, "", e.to_string())),
    }
}

fn empty_document(source: String) -> Document {
    Document::failed(source, FactError::new(FactErrorKind::Missing, "", "the document is empty"))
}

fn top_keys(schema: &Schema) -> String {
    let mut keys = vec![format!("`{AS_OF}`")];
    for g in &schema.groups {
        keys.push(format!("`{}`", g.list.as_deref().unwrap_or(&g.name)));
    }
    keys.join(", ")
}

/// Reads one fact document straight into slot vectors, checking it against the schema as it
/// goes: no intermediate tree, strings borrowed from the input. Problems are collected as
/// [`FactError`]s (a wrong value never stops the reading); only broken syntax is a serde error.
/// `None` means the document is empty (null). The document's `source` is left empty, for the
/// caller to fill in (moved, not copied).
struct DocSeed<'s> {
    schema: &'s Schema,
    budget: &'s Budget,
}

impl<'de> de::DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Option<Document>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Document>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = Option<Document>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fact document")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Some(self.not_a_mapping("a boolean")))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Some(self.not_a_mapping("a number")))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Some(self.not_a_mapping("a number")))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Some(self.not_a_mapping("a number")))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Some(self.not_a_mapping("a string")))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // The root is never reached through an alias, so skipping it walks the text once.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Some(self.not_a_mapping("a list")))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _data: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom("YAML tags such as `!name` are not supported in fact files"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let schema = self.schema;
        let mut doc =
            Document { source: String::new(), as_of: None, label: None, shared: Ok(Vec::new()), entries: Vec::new() };
        let mut shared = vec![Value::Absent; schema.document_slots];
        let mut errors = Vec::new();
        // Per document group: which fields were given (`None`: the group never appeared), and
        // its own errors, reported after the top-level ones in declaration order.
        let mut given: smallvec::SmallVec<[Option<Given>; 4]> = schema.groups.iter().map(|_| None).collect();
        let mut group_errors: smallvec::SmallVec<[Vec<FactError>; 4]> =
            schema.groups.iter().map(|_| Vec::new()).collect();
        let mut entries: Option<Vec<Entry>> = None;
        let mut seen: smallvec::SmallVec<[Cow<'de, str>; 8]> = smallvec::SmallVec::new();
        let budget = self.budget;
        while let Some(Key(key)) = map.next_key_seed(KeySeed(budget))? {
            if seen.iter().any(|k| same_text(k, &key)) {
                errors.push(FactError::new(FactErrorKind::DuplicateKey, visible(&key), duplicate_key(&key)));
                // Top-level values are never reached through an alias (the root cannot be one),
                // so skipping them walks their text once; deeper ones are skipped with `Skip`.
                map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            seen.push(key.clone());
            if key == AS_OF {
                let v: Raw<'de> = map.next_value_seed(ValueSeed::scalar(budget))?;
                match date(&v) {
                    Ok(d) => doc.as_of = Some(d),
                    Err((kind, m)) => errors.push(FactError::new(kind, key.to_string(), m)),
                }
            } else if let Some(gi) = schema.groups.iter().position(|g| g.list.is_none() && same_text(&g.name, &key)) {
                let (Some(slot), Some(errs)) = (given.get_mut(gi), group_errors.get_mut(gi)) else { continue };
                *slot = Some(map.next_value_seed(GroupSeed {
                    schema,
                    budget,
                    group: gi,
                    path: At::Name(&key),
                    out: &mut shared,
                    errors: errs,
                })?);
            } else if let Some(gi) =
                schema.groups.iter().position(|g| g.list.as_deref().is_some_and(|l| same_text(l, &key)))
            {
                match map.next_value_seed(ListSeed { schema, budget, group: gi, list: &key })? {
                    Ok(list) => entries = Some(list),
                    Err(e) => errors.push(e),
                }
            } else {
                let known: Vec<String> = std::iter::once(AS_OF.to_string())
                    .chain(schema.groups.iter().map(|g| g.list.clone().unwrap_or_else(|| g.name.clone())))
                    .collect();
                errors.push(unknown_key(&key, &key, known.iter().map(String::as_str)));
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        for (gi, g) in schema.groups.iter().enumerate() {
            if g.list.is_some() {
                continue;
            }
            let (Some(given), Some(errs)) = (given.get_mut(gi), group_errors.get_mut(gi)) else { continue };
            match given.take() {
                Some(Given::Bad) => {}
                Some(Given::Fields(f)) => finish_group(schema, gi, &f, At::Name(&g.name), &mut shared, errs),
                None => {
                    let none = Fields::from_elem(false, g.fields.len());
                    finish_group(schema, gi, &none, At::Name(&g.name), &mut shared, errs);
                }
            }
            errors.append(errs);
        }
        // A list without entries would give no record at all: the document says so instead.
        if let (Some(g), Some([]), true) =
            (schema.item_group.and_then(|g| schema.groups.get(g)), entries.as_deref(), errors.is_empty())
        {
            let list = g.list.as_deref().unwrap_or("");
            errors.push(FactError {
                path: list.to_string(),
                kind: FactErrorKind::Missing,
                message: format!(
                    "no entries (the list is empty or null), so this document has no `{}` to decide; give at least one, or leave the document out",
                    g.name
                ),
            });
        }
        if schema.item_group.is_some() && entries.is_none() && errors.is_empty() {
            let list =
                schema.item_group.and_then(|g| schema.groups.get(g)).and_then(|g| g.list.as_deref()).unwrap_or("");
            errors.push(FactError {
                path: list.to_string(),
                kind: FactErrorKind::Missing,
                message: format!("missing: the document has no `{list}` list"),
            });
        }
        // The label is read for output even when other facts fail.
        if let Some(label) = schema.label.and_then(|l| schema.fields.get(l)) {
            if let Some(Value::Text(t)) = shared.get(label.slot.index) {
                doc.label = Some(t.to_string());
            }
        }
        doc.shared = if errors.is_empty() { Ok(shared) } else { Err(errors) };
        doc.entries = match schema.item_group {
            None => vec![Entry { key: None, values: Ok(Vec::new()) }],
            Some(_) => entries.unwrap_or_default(),
        };
        Ok(Some(doc))
    }
}

impl DocSeed<'_> {
    fn not_a_mapping(&self, kind: &str) -> Document {
        Document::failed(
            String::new(),
            FactError {
                path: String::new(),
                kind: FactErrorKind::WrongType,
                message: format!("expected a mapping with {}, found {kind}", top_keys(self.schema)),
            },
        )
    }
}

/// A mapping key: borrowed when the format allows; other scalars as their text.
struct Key<'de>(Cow<'de, str>);

/// Reads a [`Key`], counted against the document's budget.
#[derive(Clone, Copy)]
struct KeySeed<'b>(&'b Budget);

impl<'de> de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        let raw = ValueSeed::scalar(self.0).deserialize(d)?;
        Ok(Key(match raw {
            Raw::Str(s) => s,
            other => Cow::Owned(other.key_text().into_owned()),
        }))
    }
}

/// The most text a YAML document may expand to, in bytes, when it is small: the text of every
/// key and value read or skipped, a value reached through an alias counted again at each use.
/// A larger document may expand to twice its own size (without aliases its text is never
/// longer than that). The same as the longest JSON Lines line read by default.
pub const MAX_YAML_EXPANDED_TEXT: usize = 64 << 20;

/// The most values (keys, scalars, lists, mappings) a YAML document may expand to, counted the
/// same way, when it is small; a larger document may hold one per byte of its size (more than
/// it can hold without aliases). This bounds the time spent going through aliases of large
/// lists and mappings, even where they are skipped.
pub const MAX_YAML_EXPANDED_VALUES: usize = 4 << 20;

/// What is left of one document's expansion budget ([`MAX_YAML_EXPANDED_TEXT`],
/// [`MAX_YAML_EXPANDED_VALUES`]).
struct Budget {
    text: std::cell::Cell<u64>,
    values: std::cell::Cell<u64>,
    limits: (u64, u64),
}

impl Budget {
    /// The budget of a YAML document of `len` bytes.
    fn yaml(len: usize) -> Budget {
        let text = u64::try_from(MAX_YAML_EXPANDED_TEXT.max(len.saturating_mul(2))).unwrap_or(u64::MAX);
        let values = u64::try_from(MAX_YAML_EXPANDED_VALUES.max(len)).unwrap_or(u64::MAX);
        Budget { text: std::cell::Cell::new(text), values: std::cell::Cell::new(values), limits: (text, values) }
    }

    /// For formats without aliases: nothing can expand.
    fn unlimited() -> Budget {
        let max = std::cell::Cell::new(u64::MAX);
        Budget { text: max.clone(), values: max, limits: (u64::MAX, u64::MAX) }
    }

    /// Counts one value of `text` bytes; an error once the document has expanded too much.
    fn take<E: de::Error>(&self, text: usize) -> Result<(), E> {
        let Some(values) = self.values.get().checked_sub(1) else {
            return Err(E::custom(format!(
                "the document expands to more than {} values, counting each use of a YAML alias (are aliases repeating a large list?)",
                self.limits.1
            )));
        };
        let Some(text) = self.text.get().checked_sub(u64::try_from(text).unwrap_or(u64::MAX)) else {
            return Err(E::custom(format!(
                "the document expands to more than {} bytes of text, counting each use of a YAML alias (are aliases repeating a large value?)",
                self.limits.0
            )));
        };
        self.values.set(values);
        self.text.set(text);
        Ok(())
    }
}

/// Reads one value as a [`Raw`], counted against the budget. With `tree`, lists and mappings are
/// read whole (test-case files); without, they are skipped (counted too) and read as empty ones:
/// a fact is a scalar, so only its kind is needed for the error.
#[derive(Clone, Copy)]
struct ValueSeed<'b> {
    budget: &'b Budget,
    tree: bool,
}

impl<'b> ValueSeed<'b> {
    /// A fact value: a scalar, or the kind of anything else.
    fn scalar(budget: &'b Budget) -> ValueSeed<'b> {
        ValueSeed { budget, tree: false }
    }
}

impl<'de> de::DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Raw<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fact value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw<'de>, E> {
        self.budget.take(0)?;
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw<'de>, E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Raw<'de>, E> {
        self.budget.take(0)?;
        Ok(Raw::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Raw<'de>, E> {
        self.budget.take(0)?;
        Ok(Raw::Int(n))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Raw<'de>, E> {
        self.budget.take(0)?;
        Ok(i64::try_from(n).map_or(Raw::Float(n as f64), Raw::Int))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Raw<'de>, E> {
        self.budget.take(0)?;
        Ok(Raw::Float(n))
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Raw<'de>, E> {
        self.budget.take(s.len())?;
        Ok(Raw::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Raw<'de>, E> {
        self.budget.take(s.len())?;
        Ok(Raw::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Raw<'de>, E> {
        self.budget.take(s.len())?;
        Ok(Raw::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
        if !self.tree {
            Skip(self.budget).visit_seq(seq)?;
            return Ok(Raw::Seq(Vec::new()));
        }
        self.budget.take(0)?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Raw::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        if !self.tree {
            Skip(self.budget).visit_map(map)?;
            return Ok(Raw::Map(Vec::new()));
        }
        self.budget.take(0)?;
        let mut out = Vec::new();
        while let Some(k) = map.next_key_seed(self)? {
            let v = map.next_value_seed(self)?;
            out.push((k, v));
        }
        Ok(Raw::Map(out))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _data: A) -> Result<Raw<'de>, A::Error> {
        Err(de::Error::custom("YAML tags such as `!name` are not supported in fact files"))
    }
}

/// Skips one value of any shape, counting every value in it against the budget (through
/// aliases too, so that skipping cannot take longer than reading).
#[derive(Clone, Copy)]
struct Skip<'b>(&'b Budget);

impl<'de> de::DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.take(0)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.0.take(s.len())
    }
    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<(), E> {
        self.0.take(b.len())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.take::<A::Error>(0)?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.take::<A::Error>(0)?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use de::VariantAccess as _;
        let ((), variant) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

type Fields = smallvec::SmallVec<[bool; 16]>;

/// How a group's mapping was read.
enum Given {
    /// Which of the group's fields were given.
    Fields(Fields),
    /// It was not a mapping (already reported).
    Bad,
}

/// Where a group sits in the document, for messages: `partner`, or `subscriptions[3]`.
#[derive(Clone, Copy)]
enum At<'a> {
    Name(&'a str),
    Item(&'a str, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Name(n) => f.write_str(n),
            At::Item(list, i) => write!(f, "{list}[{i}]"),
        }
    }
}

/// Reads one group's mapping into slot-indexed `out`.
struct GroupSeed<'a, 's> {
    schema: &'s Schema,
    budget: &'s Budget,
    group: usize,
    path: At<'a>,
    out: &'a mut [Value],
    errors: &'a mut Vec<FactError>,
}

impl<'de> de::DeserializeSeed<'de> for GroupSeed<'_, '_> {
    type Value = Given;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Given, D::Error> {
        d.deserialize_any(self)
    }
}

impl GroupSeed<'_, '_> {
    fn bad(self, kind: &str) -> Given {
        let name = self.schema.groups.get(self.group).map_or("", |g| g.name.as_str());
        self.errors.push(FactError {
            path: self.path.to_string(),
            kind: FactErrorKind::WrongType,
            message: format!("expected a mapping of `{name}` facts, found {kind}"),
        });
        Given::Bad
    }
}

impl<'de> Visitor<'de> for GroupSeed<'_, '_> {
    type Value = Given;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of facts")
    }
    fn visit_unit<E>(self) -> Result<Given, E> {
        let n = self.schema.groups.get(self.group).map_or(0, |g| g.fields.len());
        Ok(Given::Fields(Fields::from_elem(false, n)))
    }
    fn visit_none<E>(self) -> Result<Given, E> {
        let n = self.schema.groups.get(self.group).map_or(0, |g| g.fields.len());
        Ok(Given::Fields(Fields::from_elem(false, n)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Given, E> {
        Ok(self.bad("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Given, E> {
        Ok(self.bad("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Given, E> {
        Ok(self.bad("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Given, E> {
        Ok(self.bad("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Given, E> {
        Ok(self.bad("a string"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Given, A::Error> {
        while seq.next_element_seed(Skip(self.budget))?.is_some() {}
        Ok(self.bad("a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Given, A::Error> {
        let schema = self.schema;
        let Some(g) = schema.groups.get(self.group) else { return Ok(Given::Bad) };
        let field = |i: usize| g.fields.get(i).and_then(|f| schema.fields.get(*f));
        let mut given = Fields::from_elem(false, g.fields.len());
        let budget = self.budget;
        // Keys mostly come in the order the schema declares them: the search for each starts at
        // the field after the last one found, so that it usually matches at the first try.
        let count = g.fields.len();
        let mut next = 0;
        while let Some(Key(key)) = map.next_key_seed(KeySeed(budget))? {
            let path = self.path;
            let found =
                (next..count).chain(0..next.min(count)).find(|i| field(*i).is_some_and(|f| same_text(&f.name, &key)));
            let Some(fi) = found else {
                let names = g.fields.iter().filter_map(|f| schema.fields.get(*f)).map(|f| f.name.as_str());
                self.errors.push(unknown_key(&format!("{path}.{key}"), &key, names));
                map.next_value_seed(Skip(budget))?;
                continue;
            };
            let (Some(seen), Some(f)) = (given.get_mut(fi), field(fi)) else { continue };
            if *seen {
                self.errors.push(FactError::new(
                    FactErrorKind::DuplicateKey,
                    format!("{path}.{}", visible(&key)),
                    duplicate_key(&key),
                ));
                map.next_value_seed(Skip(budget))?;
                continue;
            }
            *seen = true;
            next = fi + 1;
            let raw: Raw<'de> = map.next_value_seed(ValueSeed::scalar(budget))?;
            match value(schema, f, raw) {
                Ok(val) => {
                    if let Some(slot) = self.out.get_mut(f.slot.index) {
                        *slot = val;
                    }
                }
                Err((kind, m)) => self.errors.push(FactError::new(kind, format!("{path}.{key}"), m)),
            }
        }
        Ok(Given::Fields(given))
    }
}

/// Reads the list of entries; `Err` when it is not a list.
struct ListSeed<'a, 's> {
    schema: &'s Schema,
    budget: &'s Budget,
    group: usize,
    list: &'a str,
}

impl<'de> de::DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = Result<Vec<Entry>, FactError>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl ListSeed<'_, '_> {
    fn bad(&self, kind: &str) -> Result<Vec<Entry>, FactError> {
        let name = self.schema.groups.get(self.group).map_or("", |g| g.name.as_str());
        Err(FactError {
            path: self.list.to_string(),
            kind: FactErrorKind::WrongType,
            message: format!("expected a list of `{name}` entries, found {kind}"),
        })
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = Result<Vec<Entry>, FactError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of entries")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Ok(Vec::new()))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Ok(Vec::new()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.bad("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.bad("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.bad("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.bad("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.bad("a string"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_key_seed(Skip(self.budget))?.is_some() {
            map.next_value_seed(Skip(self.budget))?;
        }
        Ok(self.bad("a mapping"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(1024));
        let schema = self.schema;
        loop {
            let path = At::Item(self.list, out.len());
            let mut values = vec![Value::Absent; schema.item_slots];
            let mut errors = Vec::new();
            let seed = GroupSeed {
                schema,
                budget: self.budget,
                group: self.group,
                path,
                out: &mut values,
                errors: &mut errors,
            };
            self.budget.take::<A::Error>(0)?;
            let Some(given) = seq.next_element_seed(seed)? else { break };
            if let Given::Fields(f) = &given {
                finish_group(schema, self.group, f, path, &mut values, &mut errors);
            }
            let key = schema.key.and_then(|k| schema.fields.get(k)).and_then(|f| match values.get(f.slot.index) {
                Some(Value::Text(t)) => Some(t.to_string()),
                _ => None,
            });
            out.push(Entry { key, values: if errors.is_empty() { Ok(values) } else { Err(errors) } });
        }
        Ok(Ok(out))
    }
}

/// After a group's mapping: defaults for facts not given, and errors for required ones missing.
fn finish_group(
    schema: &Schema,
    group: usize,
    given: &[bool],
    path: At<'_>,
    out: &mut [Value],
    errors: &mut Vec<FactError>,
) {
    let Some(g) = schema.groups.get(group) else { return };
    for (fi, f) in g.fields.iter().filter_map(|f| schema.fields.get(*f)).enumerate() {
        let given = given.get(fi).copied().unwrap_or(false);
        if given && !matches!(out.get(f.slot.index), Some(Value::Absent)) {
            continue;
        }
        match &f.default {
            Some(d) => {
                if let Some(slot) = out.get_mut(f.slot.index) {
                    *slot = d.clone();
                }
            }
            None if f.optional => {}
            None if given => {} // already reported as null for a required fact
            None => errors.push(FactError {
                path: format!("{path}.{}", f.name),
                kind: FactErrorKind::Missing,
                message: format!("missing: `{}` is required ({})", f.path, expected(schema, f.ty)),
            }),
        }
    }
}

/// A name or value from the input as an error shows it: characters that print as nothing (control
/// characters, byte-order marks, zero-width spaces) are written as `\u{..}`, so that
/// `\u{feff}partner.role` does not look like the `partner.role` it is suggested to be.
fn visible(name: &str) -> Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
    };
    if !name.chars().any(hidden) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(name.chars().map(|c| if hidden(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect())
}

fn duplicate_key(key: &str) -> String {
    format!("duplicate key: `{}` is given more than once; give each key once", visible(key))
}

fn unknown_key<'a>(at: &str, key: &str, known: impl Iterator<Item = &'a str> + Clone) -> FactError {
    let list: Vec<String> = known.clone().map(|k| format!("`{k}`")).collect();
    let mut message = format!("unknown key `{}`; expected one of {}", visible(key), list.join(", "));
    if let Some(s) = did_you_mean(key, known) {
        message.push_str(&format!("; did you mean `{s}`?"));
    }
    FactError::new(FactErrorKind::UnknownKey, visible(at), message)
}

fn expected(schema: &Schema, ty: Type) -> String {
    match ty {
        Type::Bool => "expected `true` or `false`".into(),
        Type::Int => "expected a whole number".into(),
        Type::Date => "expected a date as YYYY-MM-DD".into(),
        Type::Text => "expected text".into(),
        Type::Enum(e) => {
            let values = schema.enums.get(e).map(|d| d.values.join("`, `")).unwrap_or_default();
            format!("expected one of `{values}`")
        }
    }
}

/// Whether two names are the same text; most names differ in length or in their first or last
/// byte, which is checked before comparing them whole.
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.first() == b.first() && a.last() == b.last() && a == b
}

/// A value's problem: its kind and the message.
type Bad = (FactErrorKind, String);

fn date(v: &Raw<'_>) -> Result<Date, Bad> {
    match v {
        Raw::Str(s) => Date::parse(s).ok_or_else(|| {
            if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
                (FactErrorKind::BadValue, format!("`{}` is not a calendar date", visible(s)))
            } else {
                (FactErrorKind::WrongType, format!("expected a date as YYYY-MM-DD, found `{}`", visible(s)))
            }
        }),
        other => Err((FactErrorKind::WrongType, format!("expected a date as YYYY-MM-DD, found {}", other.kind()))),
    }
}

fn value(schema: &Schema, f: &FieldDef, v: Raw<'_>) -> Result<Value, Bad> {
    let wrong = |v: &Raw<'_>| (FactErrorKind::WrongType, format!("{}, found {}", expected(schema, f.ty), v.kind()));
    match (f.ty, v) {
        (_, Raw::Null) if f.optional => Ok(Value::Absent),
        (_, Raw::Null) => Err((
            FactErrorKind::Missing,
            format!("`{}` is required and cannot be null ({})", f.path, expected(schema, f.ty)),
        )),
        (Type::Bool, Raw::Bool(b)) => Ok(Value::Bool(b)),
        (Type::Int, Raw::Int(n)) => Ok(Value::Int(n)),
        (Type::Date, v) => date(&v).map(Value::Date),
        (Type::Text, Raw::Str(s)) => Ok(Value::Text(s.into_owned().into_boxed_str())),
        (Type::Text, v @ (Raw::Int(_) | Raw::Float(_) | Raw::Bool(_))) => {
            let (kind, m) = wrong(&v);
            Err((kind, format!("{m}; quote it to make it text")))
        }
        (Type::Enum(e), Raw::Str(s)) => {
            let Some(def) = schema.enums.get(e) else { return Err(wrong(&Raw::Str(s))) };
            match def.values.iter().position(|x| same_text(x, &s)) {
                Some(i) => u16::try_from(i).map(Value::Enum).map_err(|_| wrong(&Raw::Str(s.clone()))),
                None => {
                    let mut m = format!("unknown value `{}`; {}", visible(&s), expected(schema, f.ty));
                    if let Some(sug) = did_you_mean(&s, def.values.iter().map(String::as_str)) {
                        m.push_str(&format!("; did you mean `{sug}`?"));
                    }
                    Err((FactErrorKind::BadValue, m))
                }
            }
        }
        (_, v) => Err(wrong(&v)),
    }
}

/// The scope a field belongs to (re-exported for callers building facts by hand).
pub fn scope_of(schema: &Schema, path: &str) -> Option<Scope> {
    schema.field_by_path(path).and_then(|f| schema.fields.get(f)).map(|f| f.slot.scope)
}

/// What one CSV column holds: a fact (group, field name, type, whether it is in the repeated
/// group), or `None` for `as_of`.
pub struct Column {
    group: String,
    field: String,
    ty: Type,
    item: bool,
}

/// The meaning of each column of a CSV header; every column must name a declared fact (or `as_of`).
pub fn csv_header(schema: &Schema, header: &[Cow<'_, str>]) -> Result<Vec<Option<Column>>, String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        if name == AS_OF {
            out.push(None);
            continue;
        }
        match schema.field_by_path(name).and_then(|f| schema.fields.get(f)) {
            Some(def) => {
                let group = schema.groups.get(def.group).map(|g| g.name.clone()).unwrap_or_default();
                out.push(Some(Column {
                    group,
                    field: def.name.clone(),
                    ty: def.ty,
                    item: Some(def.group) == schema.item_group,
                }));
            }
            None => {
                let known: Vec<&str> = schema.fields.iter().map(|f| f.path.as_str()).collect();
                let hint = crate::diagnostic::did_you_mean(name, known.iter().copied())
                    .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
                problems.push(format!("column {} `{}` is not a fact the policy declares{hint}", i + 1, visible(name)));
            }
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(format!("CSV header: {}", problems.join("; "))) }
}

/// One CSV row as a document with one entry; errors name the row and column.
fn csv_row(schema: &Schema, columns: &[Option<Column>], cells: &[Cow<'_, str>], source: &str, row: u64) -> Document {
    let mut top: Vec<(Raw<'_>, Raw<'_>)> = Vec::new();
    let mut groups: Vec<(String, Vec<(Raw<'_>, Raw<'_>)>)> = Vec::new();
    let mut item: Vec<(Raw<'_>, Raw<'_>)> = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let cell: &str = cell;
        if cell.is_empty() {
            continue;
        }
        let Some(col) = columns.get(i) else {
            let doc = failed_document(source, format!("row {row}: more cells than the header has columns"));
            return doc;
        };
        let Some(col) = col else {
            top.push((Raw::Str(AS_OF.into()), Raw::Str(Cow::Borrowed(cell))));
            continue;
        };
        let value = csv_cell(cell, col.ty);
        let key = Raw::Str(Cow::Borrowed(col.field.as_str()));
        if col.item {
            item.push((key, value));
        } else {
            match groups.iter_mut().find(|(g, _)| *g == col.group) {
                Some((_, m)) => m.push((key, value)),
                None => groups.push((col.group.clone(), vec![(key, value)])),
            }
        }
    }
    for (g, m) in groups {
        top.push((Raw::Str(Cow::Owned(g)), Raw::Map(m)));
    }
    let list = schema.item_group.and_then(|g| schema.groups.get(g)).and_then(|g| g.list.clone());
    if let Some(list) = &list {
        top.push((Raw::Str(Cow::Owned(list.clone())), Raw::Seq(vec![Raw::Map(item)])));
    }
    let mut doc = validate(schema, Raw::Map(top), source.to_string());
    // Name cells as the CSV does: `row 7, column subscription.channel`.
    let item_name = schema.item_group.and_then(|g| schema.groups.get(g)).map(|g| g.name.clone()).unwrap_or_default();
    let rename = |errs: &mut Vec<FactError>| {
        for e in errs.iter_mut() {
            let path = match &list {
                Some(l) => e.path.replace(&format!("{l}[0]."), &format!("{item_name}.")),
                None => e.path.clone(),
            };
            e.path = if path.is_empty() { format!("row {row}") } else { format!("row {row}, column {path}") };
        }
    };
    if let Err(errs) = &mut doc.shared {
        rename(errs);
    }
    for entry in &mut doc.entries {
        if let Err(errs) = &mut entry.values {
            rename(errs);
        }
    }
    doc
}

/// A CSV cell as the raw value its column's type expects (cells are text).
fn csv_cell(cell: &str, ty: Type) -> Raw<'_> {
    match ty {
        Type::Bool => match cell.trim().to_ascii_lowercase().as_str() {
            "true" => Raw::Bool(true),
            "false" => Raw::Bool(false),
            _ => Raw::Str(Cow::Borrowed(cell)),
        },
        Type::Int => cell.trim().parse::<i64>().map_or_else(|_| Raw::Str(Cow::Borrowed(cell)), Raw::Int),
        Type::Date | Type::Text | Type::Enum(_) => Raw::Str(Cow::Borrowed(cell.trim())),
    }
}

/// The quick reader of one JSON fact document, for the shape almost every line of an inventory
/// has: a mapping of known keys, each given once, whose values are of their facts' types, in
/// plain JSON (strings without escapes, whole numbers in their shortest form). It fills the same
/// [`Document`] the seeds above fill, straight from the bytes, and gives up (`None`) at the first
/// thing it does not handle exactly as they do, so that the serde reader reads that document and
/// every error keeps its message, path and kind:
///
/// - anything but `{`, `}`, `[`, `]`, `:`, `,`, strings, `true`, `false`, whole numbers and JSON
///   whitespace (space, tab, `\n`, `\r`) between them: `null`, fractions, exponents, `-0`, a
///   leading zero, more than 18 digits, text after the document;
/// - a string holding a backslash (an escape) or a control character;
/// - a key the schema does not declare at that place, or one given twice;
/// - a value that is not of its fact's type (an enum value the schema does not list, a date
///   [`Date::parse`] refuses), or a group or an entry that is not a mapping;
/// - an empty list of entries, a missing list, a required fact left out: any [`FactError`];
/// - a schema with 64 or more groups, or a group with more than 64 facts.
///
/// Keys are found as the seeds find them (groups by first match, a group's facts searched from
/// the one after the last found), and defaults are filled in as [`finish_group`] fills them, in
/// the same order.
mod quick {
    use super::{Document, Entry, Value};
    use crate::language::check::AS_OF;
    use crate::language::schema::{Schema, Type};
    use crate::value::Date;

    /// The most facts a group may have for the quick reader (one bit each).
    const MAX_FIELDS: usize = 64;

    /// A position in the text of one document.
    struct Scan<'a> {
        text: &'a str,
        at: usize,
    }

    impl<'a> Scan<'a> {
        fn byte(&self) -> Option<u8> {
            self.text.as_bytes().get(self.at).copied()
        }

        fn skip_space(&mut self) {
            while matches!(self.byte(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.at += 1;
            }
        }

        /// The next byte that is not whitespace, consumed.
        fn next(&mut self) -> Option<u8> {
            self.skip_space();
            let b = self.byte()?;
            self.at += 1;
            Some(b)
        }

        /// The next byte that is not whitespace, left in place.
        fn peek(&mut self) -> Option<u8> {
            self.skip_space();
            self.byte()
        }

        fn expect(&mut self, want: u8) -> Option<()> {
            (self.next()? == want).then_some(())
        }

        /// A string without escapes or control characters, borrowed from the text.
        fn string(&mut self) -> Option<&'a str> {
            self.expect(b'"')?;
            let start = self.at;
            let bytes = self.text.as_bytes();
            let mut end = start;
            // Eight bytes at a time while none of them ends the string or needs a closer look.
            while let Some(word) = bytes.get(end..end + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
                if !plain_word(u64::from_le_bytes(word)) {
                    break;
                }
                end += 8;
            }
            loop {
                match *bytes.get(end)? {
                    b'"' => break,
                    b'\\' | 0..=0x1f => return None,
                    _ => end += 1,
                }
            }
            self.at = end + 1;
            // Both ends are next to ASCII quotes, so they fall on character boundaries.
            self.text.get(start..end)
        }

        /// `true` or `false`.
        fn boolean(&mut self) -> Option<bool> {
            let (word, value): (&[u8], bool) = match self.peek()? {
                b't' => (b"true", true),
                b'f' => (b"false", false),
                _ => return None,
            };
            let end = self.at + word.len();
            (self.text.as_bytes().get(self.at..end)? == word).then_some(())?;
            self.at = end;
            Some(value)
        }

        /// A whole number as JSON writes it and serde_json reads it as one: an optional minus,
        /// no leading zero, not `-0` (a float there), at most 18 digits (so it cannot
        /// overflow). A fraction or an exponent after it is refused by the caller, which
        /// expects `,` or `}` next.
        fn int(&mut self) -> Option<i64> {
            self.skip_space();
            let negative = self.byte() == Some(b'-');
            if negative {
                self.at += 1;
            }
            let start = self.at;
            let mut n: i64 = 0;
            while let Some(d) = self.byte().filter(u8::is_ascii_digit) {
                if self.at - start == 18 {
                    return None;
                }
                n = n * 10 + i64::from(d - b'0');
                self.at += 1;
            }
            let digits = self.at - start;
            let leading_zero = digits > 1 && self.text.as_bytes().get(start) == Some(&b'0');
            if digits == 0 || leading_zero || (negative && n == 0) {
                return None;
            }
            Some(if negative { -n } else { n })
        }

        /// After a member of a mapping (or an item of a list): whether another follows.
        fn more(&mut self, close: u8) -> Option<bool> {
            match self.next()? {
                b',' => Some(true),
                b if b == close => Some(false),
                _ => None,
            }
        }
    }

    /// Whether none of eight bytes is a quote, a backslash or a control character (the bit
    /// tricks of "Bit Twiddling Hacks": a byte below `n` sets its high bit in
    /// `(x - n * ONES) & !x & HIGH`, and a byte equal to `b` is a zero byte of `x ^ b * ONES`).
    pub(super) fn plain_word(x: u64) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let below = |x: u64, n: u64| x.wrapping_sub(n * ONES) & !x & HIGH;
        below(x, 0x20) | below(x ^ (u64::from(b'"') * ONES), 1) | below(x ^ (u64::from(b'\\') * ONES), 1) == 0
    }

    /// Whether a key or value is a name, byte for byte ([`super::same_text`] without a call to
    /// `memcmp`: names are short).
    fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        a.len() == b.len() && a.first() == b.first() && a.iter().zip(b).all(|(x, y)| x == y)
    }

    /// [`Date::parse`], with the digits read by hand.
    pub(super) fn date(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| u32::from(c - b'0'));
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let year = digit(0)? * 1000 + digit(1)? * 100 + digit(2)? * 10 + digit(3)?;
        let month = digit(5)? * 10 + digit(6)?;
        let day = digit(8)? * 10 + digit(9)?;
        chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day).map(Date::from_naive)
    }

    /// Reads `text` as one fact document, or `None` to leave it to the serde reader. The
    /// document's `source` is empty, for the caller to fill in.
    pub(super) fn read(schema: &Schema, text: &str) -> Option<Document> {
        if schema.groups.len() >= 64 {
            return None;
        }
        let mut s = Scan { text, at: 0 };
        let mut shared = vec![Value::Absent; schema.document_slots];
        let mut as_of = None;
        let mut entries: Option<Vec<Entry>> = None;
        // Keys seen (bit 0 `as_of`, bit 1 + i group i), and the facts given of each group.
        let mut seen = 0u64;
        let mut given: smallvec::SmallVec<[u64; 8]> = smallvec::smallvec![0; schema.groups.len()];
        s.expect(b'{')?;
        let mut more = s.peek()? != b'}';
        if !more {
            s.at += 1;
        }
        while more {
            let key = s.string()?;
            s.expect(b':')?;
            if key == AS_OF {
                if seen & 1 != 0 {
                    return None;
                }
                seen |= 1;
                as_of = Some(date(s.string()?)?);
            } else if let Some(gi) = schema.groups.iter().position(|g| g.list.is_none() && same(&g.name, key)) {
                if seen & (2 << gi) != 0 {
                    return None;
                }
                seen |= 2 << gi;
                *given.get_mut(gi)? = group(schema, &mut s, gi, &mut shared)?;
            } else if let Some(gi) = schema.groups.iter().position(|g| g.list.as_deref().is_some_and(|l| same(l, key)))
            {
                if seen & (2 << gi) != 0 {
                    return None;
                }
                seen |= 2 << gi;
                entries = Some(list(schema, &mut s, gi)?);
            } else {
                return None;
            }
            more = s.more(b'}')?;
        }
        s.skip_space();
        if s.at != text.len() {
            return None;
        }
        for (gi, g) in schema.groups.iter().enumerate() {
            if g.list.is_none() {
                finished(schema, gi, *given.get(gi)?, &mut shared)?;
            }
        }
        let label = schema.label.and_then(|l| schema.fields.get(l)).and_then(|f| match shared.get(f.slot.index) {
            Some(Value::Text(t)) => Some(t.to_string()),
            _ => None,
        });
        let entries = match schema.item_group {
            None => vec![Entry { key: None, values: Ok(Vec::new()) }],
            Some(_) => entries?,
        };
        Some(Document { source: String::new(), as_of, label, shared: Ok(shared), entries })
    }

    /// One group's mapping into slot-indexed `out`: which of its facts were given (one bit each).
    fn group(schema: &Schema, s: &mut Scan<'_>, gi: usize, out: &mut [Value]) -> Option<u64> {
        let g = schema.groups.get(gi)?;
        let count = g.fields.len();
        if count > MAX_FIELDS {
            return None;
        }
        let field = |i: usize| g.fields.get(i).and_then(|f| schema.fields.get(*f));
        s.expect(b'{')?;
        let mut given = 0u64;
        if s.peek()? == b'}' {
            s.at += 1;
            return Some(given);
        }
        let mut next = 0;
        loop {
            let key = s.string()?;
            s.expect(b':')?;
            let fi = (next..count).chain(0..next.min(count)).find(|i| field(*i).is_some_and(|f| same(&f.name, key)))?;
            let f = field(fi)?;
            let bit = 1u64 << fi;
            if given & bit != 0 {
                return None;
            }
            given |= bit;
            next = fi + 1;
            let v = match f.ty {
                Type::Text => Value::Text(Box::from(s.string()?)),
                Type::Date => Value::Date(date(s.string()?)?),
                Type::Enum(e) => {
                    let text = s.string()?;
                    let i = schema.enums.get(e)?.values.iter().position(|x| same(x, text))?;
                    Value::Enum(u16::try_from(i).ok()?)
                }
                Type::Bool => Value::Bool(s.boolean()?),
                Type::Int => Value::Int(s.int()?),
            };
            if let Some(slot) = out.get_mut(f.slot.index) {
                *slot = v;
            }
            if !s.more(b'}')? {
                return Some(given);
            }
        }
    }

    /// Defaults for the facts of group `gi` not given; `None` when a required one is missing.
    /// As [`finish_group`] does for a group read without errors: a fact given holds its value
    /// (never [`Value::Absent`]: null is left to the seeds), so only the others are looked at.
    fn finished(schema: &Schema, gi: usize, given: u64, out: &mut [Value]) -> Option<()> {
        for (fi, id) in schema.groups.get(gi)?.fields.iter().enumerate() {
            let f = schema.fields.get(*id)?;
            if given & (1 << fi) != 0 {
                continue;
            }
            match &f.default {
                Some(d) => {
                    if let Some(slot) = out.get_mut(f.slot.index) {
                        *slot = d.clone();
                    }
                }
                None if f.optional => {}
                None => return None,
            }
        }
        Some(())
    }

    /// The list of entries of group `gi`: at least one, each a mapping.
    fn list(schema: &Schema, s: &mut Scan<'_>, gi: usize) -> Option<Vec<Entry>> {
        s.expect(b'[')?;
        let mut out = Vec::new();
        loop {
            let mut values = vec![Value::Absent; schema.item_slots];
            let given = group(schema, s, gi, &mut values)?;
            finished(schema, gi, given, &mut values)?;
            let key = schema.key.and_then(|k| schema.fields.get(k)).and_then(|f| match values.get(f.slot.index) {
                Some(Value::Text(t)) => Some(t.to_string()),
                _ => None,
            });
            out.push(Entry { key, values: Ok(values) });
            if !s.more(b']')? {
                return Some(out);
            }
        }
    }
}

/// The benchmarks' generator of the shipped policy's inventories, for the quick reader's tests.
#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::string_slice)]
#[path = "../../benches/common/mod.rs"]
mod bench_common;

#[cfg(test)]
mod quick_tests {
    //! The quick reader against the seeds: on generated documents of three schemas (the shipped
    //! one, one with every fact type, one without a list), whole and mutated in structure and in
    //! bytes, every document the quick reader reads equals the seeds' reading of it; and it
    //! reads every valid plain document, the generator's inventories among them.

    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use crate::Policy;
    use proptest::prelude::*;

    use super::bench_common as common;

    const FLAT: &str = r#"
enum Size { small, large }
facts box {
    label: text @label
    size: Size = small
    weight: int?
    fragile: bool = false
    made: date?
}
facts route {
    via: text = "road"
    stops: int = 0
}
action go "Go."
rule any {
    then go
    reason "Always."
}
"#;

    /// The three policies, loaded once for all tests.
    fn schemas() -> &'static [(&'static str, Policy)] {
        static POLICIES: std::sync::LazyLock<Vec<(&'static str, Policy)>> = std::sync::LazyLock::new(|| {
            let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
            let features = include_str!("../../tests/codegen/features.handover");
            vec![
                ("shipped", Policy::from_path(rules).expect("the shipped policy")),
                ("features", Policy::from_text("features.handover", features).expect("the features policy")),
                ("flat", Policy::from_text("flat.handover", FLAT).expect("the flat policy")),
            ]
        });
        &POLICIES
    }

    /// The seeds' reading, and the quick reader's (`None`: left to the seeds).
    fn both(schema: &Schema, text: &str) -> (Document, Option<Document>) {
        let slow = json_document_serde(schema, text, "f.jsonl:1".into(), true);
        let fast = quick::read(schema, text).map(|d| Document { source: "f.jsonl:1".into(), ..d });
        (slow, fast)
    }

    fn valid(doc: &Document) -> bool {
        doc.shared.is_ok() && doc.entries.iter().all(|e| e.values.is_ok())
    }

    /// A JSON value as the generator builds it, before it is written out.
    #[derive(Clone, Debug)]
    enum J {
        /// Text written as it is: numbers, `true`, `null`, or a string with its quotes.
        Lit(String),
        Obj(Vec<(String, J)>),
        Arr(Vec<J>),
    }

    fn quoted(s: &str) -> J {
        J::Lit(format!("\"{s}\""))
    }

    /// xorshift, seeded by proptest.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }
        fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
            xs[self.below(xs.len())].clone()
        }
    }

    /// Text without escapes: ASCII, accents, CJK, an emoji, spaces.
    fn plain_text(r: &mut Rng) -> String {
        let pieces = ["a", "Z", "0", " ", "-", "é", "中", "🦀", "Customer", "_", "/", "'"];
        (0..r.below(6)).map(|_| r.pick(&pieces)).collect()
    }

    fn plain_date(r: &mut Rng) -> String {
        let y = 1900 + r.below(200);
        let m = 1 + r.below(12);
        let d = 1 + r.below(28);
        format!("{y:04}-{m:02}-{d:02}")
    }

    fn plain_int(r: &mut Rng) -> i64 {
        match r.below(4) {
            0 => r.below(10) as i64,
            1 => r.below(100_000) as i64 - 50_000,
            2 => 999_999_999_999_999_999 - r.below(3) as i64,
            _ => -999_999_999_999_999_999 + r.below(3) as i64,
        }
    }

    /// A valid value of fact `f`.
    fn plain_value(schema: &Schema, f: &FieldDef, r: &mut Rng) -> J {
        match f.ty {
            Type::Bool => J::Lit(r.chance(50).to_string()),
            Type::Int => J::Lit(plain_int(r).to_string()),
            Type::Date => quoted(&plain_date(r)),
            Type::Text => quoted(&plain_text(r)),
            Type::Enum(e) => quoted(&r.pick(&schema.enums[e].values)),
        }
    }

    /// A valid mapping of group `gi`: every required fact, some of the others, in schema order
    /// or shuffled.
    fn plain_group(schema: &Schema, gi: usize, r: &mut Rng) -> J {
        let mut members = Vec::new();
        for &fid in &schema.groups[gi].fields {
            let f = &schema.fields[fid];
            if (!f.optional && f.default.is_none()) || r.chance(60) {
                members.push((f.name.clone(), plain_value(schema, f, r)));
            }
        }
        if r.chance(20) {
            for i in (1..members.len()).rev() {
                members.swap(i, r.below(i + 1));
            }
        }
        J::Obj(members)
    }

    /// A valid document: `as_of` (mostly), every group that has a required fact (and most
    /// others), a list of one to four entries.
    fn plain_document(schema: &Schema, r: &mut Rng) -> J {
        let mut top = Vec::new();
        if r.chance(80) {
            top.push((AS_OF.to_string(), quoted(&plain_date(r))));
        }
        for (gi, g) in schema.groups.iter().enumerate() {
            let required = g.fields.iter().any(|f| !schema.fields[*f].optional && schema.fields[*f].default.is_none());
            match &g.list {
                Some(list) => {
                    let items = (0..1 + r.below(4)).map(|_| plain_group(schema, gi, r)).collect();
                    top.push((list.clone(), J::Arr(items)));
                }
                None if required || r.chance(80) => top.push((g.name.clone(), plain_group(schema, gi, r))),
                None => {}
            }
        }
        if r.chance(20) {
            for i in (1..top.len()).rev() {
                top.swap(i, r.below(i + 1));
            }
        }
        J::Obj(top)
    }

    /// Values out of the plain shape: wrong types, null, numbers in other forms, escapes,
    /// impossible dates, unknown enum values, nesting.
    const ODD: [&str; 28] = [
        "null",
        "1.5",
        "-0",
        "01",
        "1e3",
        "1E3",
        "-",
        "1000000000000000000",
        "99999999999999999999",
        "-9223372036854775808",
        "\"x\\u0041\"",
        "\"a\\\"b\"",
        "\"\\n\"",
        "\"\"",
        "\"2024-02-30\"",
        "\"2024-2-3\"",
        "\"unknown_value\"",
        "\"global_admin\"",
        "\"premium\"",
        "true",
        "false",
        "tru",
        "[]",
        "{}",
        "[{}]",
        "{\"a\":1}",
        "\"2024-03-15\"",
        "\"\u{1}\"",
    ];

    /// Numbers on both sides of what is a whole number to serde_json and what fits an `i64`.
    const NUMBERS: [&str; 16] = [
        "-0",
        "0",
        "-1",
        "00",
        "-01",
        "1.0",
        "1e0",
        "-0.0",
        "123456789012345678",
        "-123456789012345678",
        "1234567890123456789",
        "-1234567890123456789",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
    ];

    /// An odd value: of any kind, or a number near the edges.
    fn odd(r: &mut Rng) -> J {
        J::Lit(if r.chance(30) { r.pick(&NUMBERS) } else { r.pick(&ODD) }.to_string())
    }

    /// A change to the document's structure.
    fn mutate(j: &mut J, r: &mut Rng, schema: &Schema) {
        // Most changes go deeper, to a random mapping or list inside.
        if r.chance(60) {
            let child = match &mut *j {
                J::Obj(m) if !m.is_empty() => {
                    let i = r.below(m.len());
                    Some(&mut m[i].1)
                }
                J::Arr(a) if !a.is_empty() => {
                    let i = r.below(a.len());
                    Some(&mut a[i])
                }
                _ => None,
            };
            if let Some(child) = child.filter(|c| !matches!(c, J::Lit(_))) {
                return mutate(child, r, schema);
            }
        }
        let names: Vec<String> = schema
            .groups
            .iter()
            .map(|g| g.list.clone().unwrap_or_else(|| g.name.clone()))
            .chain(schema.fields.iter().map(|f| f.name.clone()))
            .chain([AS_OF.to_string(), "unknown".into(), "Role".into(), "ro\\u006ce".into(), "rôle".into()])
            .collect();
        match j {
            J::Obj(m) => match r.below(5) {
                0 if !m.is_empty() => {
                    let i = r.below(m.len());
                    let dup = m[i].clone();
                    let at = r.below(m.len() + 1);
                    m.insert(at, dup);
                }
                1 if !m.is_empty() => {
                    m.remove(r.below(m.len()));
                }
                2 if !m.is_empty() => {
                    let i = r.below(m.len());
                    m[i].1 = odd(r);
                }
                3 => {
                    let at = r.below(m.len() + 1);
                    m.insert(at, (r.pick(&names), odd(r)));
                }
                _ if !m.is_empty() => {
                    let i = r.below(m.len());
                    m[i].0 = r.pick(&names);
                }
                _ => {}
            },
            J::Arr(a) => match r.below(3) {
                0 => a.clear(),
                1 if !a.is_empty() => {
                    let i = r.below(a.len());
                    a[i] = odd(r);
                }
                _ => {
                    let i = r.below(a.len() + 1);
                    a.insert(i, odd(r));
                }
            },
            J::Lit(_) => *j = odd(r),
        }
    }

    /// The document as JSON text; with `space`, whitespace of every JSON kind between tokens.
    fn write(j: &J, r: &mut Rng, space: bool, out: &mut String) {
        let gap = |r: &mut Rng, out: &mut String| {
            if space && r.chance(30) {
                out.push_str(r.pick(&[" ", "  ", "\t", "\n", "\r\n", " \r"]));
            }
        };
        match j {
            J::Lit(s) => out.push_str(s),
            J::Obj(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    gap(r, out);
                    out.push('"');
                    out.push_str(k);
                    out.push('"');
                    gap(r, out);
                    out.push(':');
                    gap(r, out);
                    write(v, r, space, out);
                    gap(r, out);
                }
                out.push('}');
            }
            J::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    gap(r, out);
                    write(v, r, space, out);
                    gap(r, out);
                }
                out.push(']');
            }
        }
    }

    /// Bytes changed: characters removed, replaced or inserted (from JSON's punctuation,
    /// whitespace of every kind, escapes, a byte-order mark, characters of several bytes).
    fn scramble(text: &str, r: &mut Rng) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        let inserts = [
            "{", "}", "[", "]", ",", ":", "\"", "\\", " ", "\t", "\r", "\n", "\u{feff}", "\u{0}", "\u{a0}", "é", "0",
            "-", ".", "e", "n", "null", "t",
        ];
        for _ in 0..1 + r.below(3) {
            let i = r.below(chars.len() + 1);
            match r.below(3) {
                0 if i < chars.len() => {
                    chars.remove(i);
                }
                1 if i < chars.len() => {
                    let piece: Vec<char> = r.pick(&inserts).chars().collect();
                    chars.splice(i..=i, piece);
                }
                _ => {
                    let piece: Vec<char> = r.pick(&inserts).chars().collect();
                    chars.splice(i..i, piece);
                }
            }
        }
        chars.into_iter().collect()
    }

    /// The readings agree whenever the quick reader gives one; says whether it did.
    fn agree(schema: &Schema, text: &str) -> Result<bool, TestCaseError> {
        let (slow, fast) = both(schema, text);
        if let Some(fast) = fast {
            prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "text: {:?}", text);
            prop_assert!(valid(&slow), "the quick reader read a document with errors: {:?}", text);
            return Ok(true);
        }
        Ok(false)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn valid_plain_documents_are_read_quickly_and_alike(seed in 1u64.., space: bool) {
            let mut r = Rng(seed);
            for (name, policy) in schemas() {
                let schema = policy.schema();
                let doc = plain_document(schema, &mut r);
                let mut text = String::new();
                write(&doc, &mut r, space, &mut text);
                let (slow, _) = both(schema, &text);
                prop_assert!(valid(&slow), "{}: the generator wrote an invalid document: {:?}: {:?}", name, text, slow);
                prop_assert!(agree(schema, &text)?, "{}: the quick reader left a plain document: {:?}", name, text);
            }
        }

        #[test]
        fn mutated_documents_read_quickly_are_read_alike(seed in 1u64.., space: bool, changes in 1usize..4, bytes: bool) {
            let mut r = Rng(seed);
            for (_, policy) in schemas() {
                let schema = policy.schema();
                let mut doc = plain_document(schema, &mut r);
                for _ in 0..changes {
                    mutate(&mut doc, &mut r, schema);
                }
                let mut text = String::new();
                write(&doc, &mut r, space, &mut text);
                if bytes {
                    text = scramble(&text, &mut r);
                }
                agree(schema, &text)?;
            }
        }

        #[test]
        fn documents_scrambled_in_bytes_read_quickly_are_read_alike(seed in 1u64..) {
            let mut r = Rng(seed);
            for (_, policy) in schemas() {
                let schema = policy.schema();
                let doc = plain_document(schema, &mut r);
                let mut text = String::new();
                write(&doc, &mut r, false, &mut text);
                agree(schema, &scramble(&text, &mut r))?;
            }
        }
    }

    /// The mutations reach the quick reader's limits from both sides: many mutated documents
    /// are still read quickly, and many are left to the seeds.
    #[test]
    fn mutations_fall_on_both_sides() {
        let (mut quick, mut left) = (0, 0);
        let mut r = Rng(7);
        for (_, policy) in schemas() {
            let schema = policy.schema();
            for _ in 0..2000 {
                let mut doc = plain_document(schema, &mut r);
                mutate(&mut doc, &mut r, schema);
                let mut text = String::new();
                write(&doc, &mut r, true, &mut text);
                match quick::read(schema, &text) {
                    Some(_) => quick += 1,
                    None => left += 1,
                }
            }
        }
        assert!(quick > 500 && left > 2000, "read quickly {quick}, left {left}");
    }

    /// Eight bytes are plain when each of them is: every byte value at every place.
    #[test]
    fn a_plain_word_is_eight_plain_bytes() {
        for at in 0..8 {
            for b in 0..=255u8 {
                for filler in [b'a', 0x80, 0xff, b' '] {
                    let mut word = [filler; 8];
                    word[at] = b;
                    let bytewise = word.iter().all(|c| !matches!(c, b'"' | b'\\' | 0..=0x1f));
                    assert_eq!(quick::plain_word(u64::from_le_bytes(word)), bytewise, "{word:?}");
                }
            }
        }
    }

    /// The quick reader's dates are [`Date::parse`]'s: every day, month and year shape around
    /// the calendar's edges, and text of other shapes.
    #[test]
    fn dates_are_read_as_date_parse_reads_them() {
        let mut texts = Vec::new();
        for year in [0, 1, 4, 99, 100, 400, 1582, 1900, 1999, 2000, 2023, 2024, 2100, 9999] {
            for month in 0..=13 {
                for day in 0..=32 {
                    texts.push(format!("{year:04}-{month:02}-{day:02}"));
                }
            }
        }
        texts.extend(
            ["2024-3-15", "2024-03-1", "20240315", "2024/03/15", "+024-03-15", "2024-03-15 ", "２024-03-15", ""]
                .map(String::from),
        );
        for t in &texts {
            assert_eq!(quick::date(t), Date::parse(t), "{t}");
        }
        assert!(texts.iter().filter(|t| Date::parse(t).is_some()).count() > 4000);
    }

    /// The generator's inventories (one and ten subscriptions a line, the 2020 and the dated
    /// shapes) are read by the quick reader, as the seeds read them.
    #[test]
    fn the_generators_lines_are_read_quickly() {
        let schema = schemas()[0].1.schema();
        let subs = common::generate(2000, 42);
        let mut lines: Vec<String> = subs.iter().enumerate().map(|(i, s)| common::json_line(i, s)).collect();
        let dated = common::generate_dated(2000, 42, 50);
        lines.extend(dated.iter().enumerate().map(|(i, (s, x))| common::json_line_dated(i, s, x)));
        // Ten a line: the entries of ten one-line documents under the first one's shared facts.
        let tens: Vec<String> = lines
            .chunks(10)
            .map(|ten| {
                let items: Vec<&str> = ten
                    .iter()
                    .map(|l| l.split_once("\"subscriptions\":[").unwrap().1.strip_suffix("]}").unwrap())
                    .collect();
                format!(
                    "{}\"subscriptions\":[{}]}}",
                    ten[0].split_once("\"subscriptions\":[").unwrap().0,
                    items.join(",")
                )
            })
            .collect();
        for line in lines.iter().chain(&tens) {
            let (slow, fast) = both(schema, line);
            let fast = fast.unwrap_or_else(|| panic!("left to the seeds: {line}"));
            assert!(valid(&slow), "{line}");
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        }
        assert_eq!(tens.len(), 400);
    }
}
