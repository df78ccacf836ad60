//! Batch evaluation of large inventories: JSON Lines and CSV read in chunks, each chunk decided
//! on all cores (rayon, feature `parallel`) with results kept in input order, so memory stays
//! bounded by the chunk size whatever the input size. Without `parallel` the chunks are decided
//! in the calling thread, with the same outputs in the same order.

use std::io::{self, BufRead};

use crate::facts::{self, Document};
use crate::policy::Policy;
use crate::value::Date;

/// Lines (or rows) decided per chunk.
pub const CHUNK: usize = 16 * 1024;

pub use crate::facts::DEFAULT_MAX_LINE_BYTES;

/// Counts of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Documents (lines or rows) read.
    pub records: usize,
    pub errors: usize,
    pub bytes: u64,
}

/// One batch run over one input. Each document is handed to `decide` (in parallel) with the
/// date it is decided at; `emit` receives the results chunk by chunk, in input order.
pub struct Run<'a, T> {
    pub policy: &'a Policy,
    pub source: &'a str,
    /// Overrides every document's `as_of`.
    pub as_of: Option<Date>,
    pub today: Date,
    /// Decides one document into the caller's output (runs in parallel).
    pub decide: &'a (dyn Fn(&Document, Date) -> T + Sync),
    /// The longest JSON Lines line or CSV row read ([`DEFAULT_MAX_LINE_BYTES`] is a sensible value).
    pub max_line_bytes: usize,
}

/// One chunk of JSON Lines: the bytes, and each line's number, the offset of its first byte
/// in the input, and its place in the bytes (`None` for a line over the limit).
struct Lines {
    buf: Vec<u8>,
    lines: Vec<(usize, u64, Option<std::ops::Range<usize>>)>,
}

/// One chunk of CSV: the rows' bytes, and each row's frame and place in them.
struct Rows {
    buf: Vec<u8>,
    rows: Vec<(facts::CsvFrame, std::ops::Range<usize>)>,
}

/// Runs a batch one chunk apart on two sides: while the pool decides chunk N, this thread emits
/// chunk N-1's outputs and reads chunk N+1, so reading and writing overlap the deciding.
/// `read` gives a chunk and the input's bytes read through it, or `None` at the end; it is handed
/// a chunk already decided, if there is one, to reuse its memory. Outputs are emitted in input
/// order. Returns how many outputs were emitted.
fn pipeline<C: Sync, T: Send>(
    read: &mut dyn FnMut(Option<C>) -> io::Result<Option<(C, u64)>>,
    decide: &(dyn Fn(&C) -> Vec<T> + Sync),
    emit: &mut dyn FnMut(Vec<T>, u64) -> io::Result<()>,
) -> io::Result<usize> {
    let mut records = 0;
    let mut current = read(None)?;
    let mut pending: Option<(Vec<T>, u64)> = None;
    let mut spare: Option<C> = None;
    while let Some((chunk, bytes)) = current {
        let (mut emitted, mut next) = (Ok(()), Ok(None));
        let outs = alongside(
            || decide(&chunk),
            || {
                if let Some((outs, bytes)) = pending.take() {
                    emitted = emit(outs, bytes);
                }
                if emitted.is_ok() {
                    next = read(spare.take());
                }
            },
        );
        emitted?;
        records += outs.len();
        pending = Some((outs, bytes));
        spare = Some(chunk);
        current = next?;
    }
    if let Some((outs, bytes)) = pending {
        emit(outs, bytes)?;
    }
    Ok(records)
}

/// Runs `work` on the thread pool while `here` runs on this thread, and returns what `work`
/// made. Without the `parallel` feature, runs `work` and then `here`, both on this thread: the
/// pipeline's reads, decisions and emits then happen in the same order as its results.
fn alongside<T: Send>(work: impl FnOnce() -> Vec<T> + Send, here: impl FnOnce()) -> Vec<T> {
    #[cfg(feature = "parallel")]
    {
        let mut out = Vec::new();
        rayon::in_place_scope(|s| {
            s.spawn(|_| out = work());
            here();
        });
        out
    }
    #[cfg(not(feature = "parallel"))]
    {
        let out = work();
        here();
        out
    }
}

/// `f` of every item, in the items' order: on all cores with the `parallel` feature, else in
/// this thread.
fn map_ordered<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync + Send) -> Vec<T> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        items.iter().map(f).collect()
    }
}

/// Appends one line (through its `\n`, if any) to `buf` and returns the bytes consumed from
/// `reader` and whether the line, without its `\n`, is longer than `max` bytes. Of such a line
/// at most `max + 1` bytes are kept (the caller drops them); the rest is skipped unread.
fn read_line_bounded(reader: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<(usize, bool)> {
    let (start, mut consumed) = (buf.len(), 0usize);
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let (part, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (available.get(..=i).unwrap_or(available), true),
            None => (available, available.is_empty()),
        };
        let room = max.saturating_add(1).saturating_sub(consumed);
        let cap = start.saturating_add(max).saturating_add(1);
        facts::extend_capped(buf, part.get(..part.len().min(room)).unwrap_or_default(), cap);
        let (n, ended) = (part.len(), part.last() == Some(&b'\n'));
        reader.consume(n);
        consumed += n;
        if done {
            return Ok((consumed, consumed - usize::from(ended) > max));
        }
    }
}

impl<T: Send> Run<'_, T> {
    fn decide(&self, doc: &Document) -> T {
        let date = self.as_of.or(doc.as_of).unwrap_or(self.today);
        (self.decide)(doc, date)
    }

    /// Streams JSON Lines from `reader`; `emit` receives each chunk's outputs in order and the
    /// bytes read so far. Blank lines are skipped. Reading the next chunk and emitting the last
    /// one run on this thread while the current chunk is decided on the others.
    pub fn json_lines(
        &self,
        reader: &mut dyn BufRead,
        emit: &mut dyn FnMut(Vec<T>, u64) -> io::Result<()>,
    ) -> io::Result<Stats> {
        let mut stats = Stats::default();
        let mut line_no = 0usize;
        let mut read = |spare: Option<Lines>| -> io::Result<Option<(Lines, u64)>> {
            let chunk = self.read_lines(reader, spare, &mut line_no, &mut stats.bytes)?;
            Ok((!chunk.lines.is_empty()).then_some((chunk, stats.bytes)))
        };
        let decide = |chunk: &Lines| -> Vec<T> {
            map_ordered(&chunk.lines, |(n, offset, range)| self.decide_line(&chunk.buf, *n, *offset, range))
        };
        let records = pipeline(&mut read, &decide, emit)?;
        stats.records += records;
        if records == 0 {
            let doc = facts::parse(self.policy.schema(), "", facts::Format::JsonLines, self.source);
            let out: Vec<T> = doc.iter().map(|d| self.decide(d)).collect();
            stats.records += out.len();
            emit(out, stats.bytes)?;
        }
        Ok(stats)
    }

    /// Reads up to [`CHUNK`] non-blank lines, into the memory of `spare` if given; no lines at
    /// the end.
    fn read_lines(
        &self,
        reader: &mut dyn BufRead,
        spare: Option<Lines>,
        line_no: &mut usize,
        bytes: &mut u64,
    ) -> io::Result<Lines> {
        let Lines { mut buf, mut lines } =
            spare.unwrap_or_else(|| Lines { buf: Vec::new(), lines: Vec::with_capacity(CHUNK) });
        buf.clear();
        lines.clear();
        while lines.len() < CHUNK {
            let start = buf.len();
            let mut offset = *bytes;
            let (n, cut) = read_line_bounded(reader, &mut buf, self.max_line_bytes)?;
            if n == 0 {
                break;
            }
            *bytes += n as u64;
            *line_no += 1;
            if cut {
                // Give back what the long line grew the buffer to.
                buf.truncate(start);
                buf.shrink_to(start.max(1 << 20));
                lines.push((*line_no, offset, None));
                continue;
            }
            // A byte-order mark may open the file.
            if *line_no == 1 && buf.get(start..start + 3) == Some(b"\xef\xbb\xbf".as_slice()) {
                buf.drain(start..start + 3);
                offset += 3;
            }
            // The line without its line break (`\n` or `\r\n`, as `str::lines` splits in the
            // whole-text reader), so positions in errors are on this line. Any other `\r` is
            // the line's own.
            let mut end = buf.len();
            if end > start && buf.get(end - 1) == Some(&b'\n') {
                end -= 1;
                if end > start && buf.get(end - 1) == Some(&b'\r') {
                    end -= 1;
                }
            }
            // Blank as `str::trim` sees it (the whole-text reader's rule), so both readers agree.
            let slice = buf.get(start..end).unwrap_or_default();
            let blank = std::str::from_utf8(slice).is_ok_and(|t| t.trim().is_empty());
            if !blank {
                lines.push((*line_no, offset, Some(start..end)));
            }
        }
        Ok(Lines { buf, lines })
    }

    /// Decides line `n`, held in `buf` at `range` (`None`: the line was over the limit), whose
    /// first byte is at `offset` in the input.
    fn decide_line(&self, buf: &[u8], n: usize, offset: u64, range: &Option<std::ops::Range<usize>>) -> T {
        let at = format!("{}:{n}", self.source);
        let Some(range) = range else {
            let message = format!(
                "the line is longer than {} bytes, the most read (`--max-line-bytes`); it was skipped",
                self.max_line_bytes
            );
            return self.decide(&facts::failed_document(&at, message));
        };
        let bytes = buf.get(range.clone()).unwrap_or_default();
        let doc = match std::str::from_utf8(bytes) {
            Ok(line) => facts::parse_json_line(self.policy.schema(), line, at),
            // Invalid UTF-8 fails this line alone, with the message a whole file gets.
            Err(e) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let error = crate::source::not_utf8(bytes, e.valid_up_to(), n, start, false, offset == 3);
                facts::failed_document(&at, error.to_string())
            }
        };
        self.decide(&doc)
    }

    /// Streams a CSV inventory: one entry per row, columns named `group.field`
    /// (`partner.role`, `subscription.id`, ...). An empty cell is an absent fact; a row with
    /// fewer or more cells than the header is an error. A row is held only up to
    /// `max_line_bytes`: a longer one is an error record and skipped, and a quoted cell still
    /// open past that (or at the end of the input) ends the reading with an error naming it.
    pub fn csv(
        &self,
        reader: &mut dyn io::Read,
        emit: &mut dyn FnMut(Vec<T>, u64) -> io::Result<()>,
    ) -> io::Result<Stats> {
        let mut stats = Stats::default();
        let reader = io::BufReader::with_capacity(64 * 1024, reader);
        let mut rdr = facts::CsvReader::from_stream(reader, self.max_line_bytes)?;
        let columns = match rdr.header(self.policy.schema(), self.source) {
            Ok(c) => c,
            Err(doc) => {
                emit(vec![self.decide(&doc)], rdr.framer.offset())?;
                stats.records += 1;
                return Ok(stats);
            }
        };
        let mut read = |spare: Option<Rows>| -> io::Result<Option<(Rows, u64)>> {
            let Rows { mut buf, mut rows } =
                spare.unwrap_or_else(|| Rows { buf: Vec::new(), rows: Vec::with_capacity(CHUNK) });
            buf.clear();
            rows.clear();
            while rows.len() < CHUNK {
                let start = buf.len();
                match rdr.framer.next(&mut rdr.input, &mut buf)? {
                    Some(frame) => rows.push((frame, start..buf.len())),
                    None => break,
                }
            }
            stats.bytes = rdr.framer.offset();
            Ok((!rows.is_empty()).then_some((Rows { buf, rows }, stats.bytes)))
        };
        let decide = |chunk: &Rows| -> Vec<T> {
            map_ordered(&chunk.rows, |(frame, range)| {
                let raw = chunk.buf.get(range.clone()).unwrap_or_default();
                self.decide(&facts::csv_document(self.policy.schema(), &columns, frame, raw, self.source))
            })
        };
        let records = pipeline(&mut read, &decide, emit)?;
        stats.records += records;
        if records == 0 {
            // No row at all is reported, as for the other formats.
            let doc = facts::failed_document(self.source, "the input holds no fact documents".into());
            emit(vec![self.decide(&doc)], stats.bytes)?;
            stats.records += 1;
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    /// Whether chunks are decided on the pool (`parallel`) or in this thread, the outputs come
    /// chunk by chunk, in input order, with the bytes read through each chunk.
    #[test]
    fn json_lines_outputs_come_in_input_order_across_chunks() {
        let policy = Policy::builtin().unwrap();
        let n = 2 * CHUNK + 5;
        let mut input = String::new();
        for i in 0..n {
            // Some blank lines, skipped without output; line numbers still count them.
            if i % 1000 == 7 {
                input.push('\n');
            }
            input.push_str(&format!(
                "{{\"partner\":{{\"role\":\"sales_agent\"}},\"customer\":{{\"name\":\"c{i}\"}}}}\n"
            ));
        }
        let today = Date::parse("2024-01-01").unwrap();
        let decide = |doc: &Document, _: Date| (doc.source.clone(), doc.label.clone());
        let run = Run {
            policy: &policy,
            source: "in.jsonl",
            as_of: None,
            today,
            decide: &decide,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        };
        let mut chunks = Vec::new();
        let mut all = Vec::new();
        let stats = run
            .json_lines(&mut input.as_bytes(), &mut |outs, bytes| {
                chunks.push((outs.len(), bytes));
                all.extend(outs);
                Ok(())
            })
            .unwrap();
        assert_eq!(stats.records, n);
        assert_eq!(stats.bytes, input.len() as u64);
        assert_eq!(chunks.iter().map(|c| c.0).collect::<Vec<_>>(), [CHUNK, CHUNK, 5]);
        assert_eq!(chunks.last().unwrap().1, input.len() as u64);
        let mut line = 0;
        for (i, (source, label)) in all.iter().enumerate() {
            line += 1;
            if i % 1000 == 7 {
                line += 1;
            }
            assert_eq!(source, &format!("in.jsonl:{line}"));
            assert_eq!(label.as_deref(), Some(format!("c{i}").as_str()));
        }
    }
}
