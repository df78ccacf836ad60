//! Batch evaluation of large inventories: JSON Lines and CSV read in chunks, each chunk decided
//! on all cores (rayon, feature `parallel`) with results kept in input order, so memory stays
//! bounded by the chunk size whatever the input size. Without `parallel` the chunks are decided
//! in the calling thread, with the same outputs in the same order.
//!
//! A chunk is bounded by lines ([`CHUNK`]) and by weight ([`CHUNK_WEIGHT`]): a line weighs its
//! bytes plus [`ENTRY_WEIGHT`] for each entry it may hold, so that both the input a chunk holds
//! and the outputs it makes (one or more per entry, not per line) stay bounded whatever the
//! documents' shape. A line that does not fit in the chunk being read opens the next one; a
//! line heavier than a whole chunk is a chunk of its own.

use std::io::{self, BufRead};
use std::ops::Range;

use crate::facts::{self, Document};
use crate::output::jsonl::JsonLines;
use crate::policy::Policy;
use crate::value::Date;

/// The most lines (or rows) decided per chunk.
pub const CHUNK: usize = 16 * 1024;

/// The most weight of one chunk (bytes, plus [`ENTRY_WEIGHT`] per possible entry), unless a
/// single line weighs more. Two chunks are in flight at once (one read while the other is
/// decided) and the outputs of two (one made while the other is written), so this bounds the
/// batch's memory to a few times it.
pub const CHUNK_WEIGHT: usize = 1 << 20;

/// The weight of one possible entry: a CSV row is one, and a JSON Lines document has no more
/// entries than `{` and `,` (each entry is an object or follows a comma, and the document
/// opens with a `{`). Each entry makes an output (a verdict or an error, a few hundred bytes),
/// so a chunk of many small entries is cut sooner than one of few large ones.
pub const ENTRY_WEIGHT: usize = 16;

/// The weight of a JSON Lines line of `bytes` (its line break included): its size plus
/// [`ENTRY_WEIGHT`] for every `{` and `,` in it.
fn line_weight(bytes: &[u8]) -> usize {
    // Counted in byte-wide lanes, 255 bytes at a time (the count cannot overflow a `u8`).
    let marks: usize =
        bytes.chunks(255).map(|c| usize::from(c.iter().fold(0u8, |n, b| n + u8::from(*b == b'{' || *b == b',')))).sum();
    bytes.len().saturating_add(marks.saturating_mul(ENTRY_WEIGHT))
}

/// Whether a line is blank as `str::trim` sees it (the whole-text reader's rule, so both
/// readers agree): without decoding it when its first byte past ASCII white space is ASCII.
fn is_blank(line: &[u8]) -> bool {
    match line.iter().find(|b| !matches!(**b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')) {
        None => true,
        Some(b) if b.is_ascii() => false,
        Some(_) => std::str::from_utf8(line).is_ok_and(|t| t.trim().is_empty()),
    }
}

/// `source:n`, the name of line `n` of an input.
fn line_source(source: &str, n: usize) -> String {
    let mut at = String::with_capacity(source.len() + 21);
    at.push_str(source);
    at.push(':');
    let mut digits = [0u8; 20];
    let (mut rest, mut first) = (n, digits.len());
    for d in digits.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
        first -= 1;
        if rest == 0 {
            break;
        }
    }
    at.push_str(std::str::from_utf8(digits.get(first..).unwrap_or_default()).unwrap_or_default());
    at
}

/// How full the chunk being read is.
#[derive(Default)]
struct Budget {
    lines: usize,
    weight: usize,
}

impl Budget {
    fn full(&self) -> bool {
        self.lines >= CHUNK || self.weight >= CHUNK_WEIGHT
    }

    /// Whether a line of `weight` goes in this chunk: it fits, or it is the chunk's first.
    fn admits(&self, weight: usize) -> bool {
        self.lines == 0 || self.weight.saturating_add(weight) <= CHUNK_WEIGHT
    }

    fn add(&mut self, weight: usize) {
        self.lines += 1;
        self.weight = self.weight.saturating_add(weight);
    }
}

/// A chunk buffer that held a line far over the budget gives that memory back.
fn shrink(buf: &mut Vec<u8>) {
    if buf.capacity() > 2 * CHUNK_WEIGHT {
        buf.shrink_to(CHUNK_WEIGHT);
    }
}

pub use crate::facts::DEFAULT_MAX_LINE_BYTES;

/// Counts of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Documents (lines or rows) read.
    pub records: usize,
    pub errors: usize,
    pub bytes: u64,
}

/// The most documents decided into one [`Decide::Block`]: enough that a block's output is one
/// buffer of tens of kilobytes rather than a buffer per document, few enough that a chunk still
/// splits into many blocks to share among the cores.
pub const BLOCK: usize = 64;

/// The most input bytes of one block, unless its one document is larger: a block of documents
/// holding many entries each is cut sooner, so that its output stays tens of kilobytes.
pub const BLOCK_BYTES: usize = 16 * 1024;

/// What a batch makes of each document. Documents are decided on all cores in blocks of up to
/// [`BLOCK`] consecutive ones and [`BLOCK_BYTES`] of input, each block into one [`Decide::Block`] (so that, for example, the
/// lines written for a block share one buffer); a chunk's blocks, in input order, become one
/// [`Decide::Chunk`] for the caller's `emit`.
///
/// Any `Fn(&Document, Date) -> T` decides: its block is a `Vec<T>` and its chunk all of a chunk's
/// outputs in order.
pub trait Decide: Sync {
    type Block: Send;
    type Chunk: Send;
    /// An empty block for up to `documents` documents.
    fn block(&self, documents: usize) -> Self::Block;
    /// Decides `doc` at `date` into `block`.
    fn decide(&self, doc: &Document, date: Date, block: &mut Self::Block);
    /// A chunk's blocks, in input order.
    fn chunk(&self, blocks: Vec<Self::Block>) -> Self::Chunk;
}

impl<T: Send, F: Fn(&Document, Date) -> T + Sync + ?Sized> Decide for F {
    type Block = Vec<T>;
    type Chunk = Vec<T>;

    fn block(&self, documents: usize) -> Vec<T> {
        Vec::with_capacity(documents)
    }

    fn decide(&self, doc: &Document, date: Date, block: &mut Vec<T>) {
        block.push(self(doc, date));
    }

    fn chunk(&self, blocks: Vec<Vec<T>>) -> Vec<T> {
        blocks.into_iter().flatten().collect()
    }
}

/// JSON Lines written for a block of documents by [`JsonLinesBatch`]: the lines' bytes, how many
/// lines, and how many of them are errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub lines: usize,
    pub errors: usize,
    pub bytes: Vec<u8>,
}

/// A batch writing JSON Lines with [`JsonLines`]: each block of documents is written into one
/// buffer (see [`JsonLines::write`] for `show_as_of`), and a chunk is its blocks in input order.
/// Buffers handed back with [`JsonLinesBatch::recycle`] once written are used again for later blocks: memory
/// given back to the allocator on one thread and asked for on another tends to come back as
/// fresh pages, each zeroed by the system again.
#[derive(Debug)]
pub struct JsonLinesBatch<'w, 'p> {
    writer: &'w JsonLines<'p>,
    show_as_of: bool,
    spare: std::sync::Mutex<Vec<Vec<u8>>>,
}

/// The bytes set aside per document of a block: about one result line.
const LINE_GUESS: usize = 512;

/// The most buffers kept for reuse: the blocks of two chunks (one being written while the next
/// is decided).
const SPARE_BUFFERS: usize = 2 * CHUNK / BLOCK;

/// The largest buffer kept for reuse; one grown past it by a huge document is given back.
const SPARE_BYTES: usize = 1 << 20;

impl<'w, 'p> JsonLinesBatch<'w, 'p> {
    pub fn new(writer: &'w JsonLines<'p>, show_as_of: bool) -> JsonLinesBatch<'w, 'p> {
        JsonLinesBatch { writer, show_as_of, spare: std::sync::Mutex::new(Vec::new()) }
    }

    /// Hands a written block's buffer back for a later block.
    pub fn recycle(&self, block: Written) {
        let mut bytes = block.bytes;
        if bytes.capacity() > SPARE_BYTES {
            return;
        }
        bytes.clear();
        // A poisoned lock only means a thread panicked while holding it; the list is still a list.
        let mut spare = self.spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if spare.len() < SPARE_BUFFERS {
            spare.push(bytes);
        }
    }
}

impl Decide for JsonLinesBatch<'_, '_> {
    type Block = Written;
    type Chunk = Vec<Written>;

    fn block(&self, documents: usize) -> Written {
        let spare = self.spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let want = documents.saturating_mul(LINE_GUESS);
        let mut bytes = spare.unwrap_or_default();
        bytes.reserve(want);
        Written { lines: 0, errors: 0, bytes }
    }

    fn decide(&self, doc: &Document, date: Date, block: &mut Written) {
        let (lines, errors) = self.writer.write(doc, date, self.show_as_of, &mut block.bytes);
        block.lines += lines;
        block.errors += errors;
    }

    fn chunk(&self, blocks: Vec<Written>) -> Vec<Written> {
        blocks
    }
}

/// One batch run over one input. Each document is handed to `decide` (in parallel) with the
/// date it is decided at; `emit` receives the results chunk by chunk, in input order.
pub struct Run<'a, D: Decide + ?Sized> {
    pub policy: &'a Policy,
    pub source: &'a str,
    /// Overrides every document's `as_of`.
    pub as_of: Option<Date>,
    pub today: Date,
    /// Decides each document into the caller's output (runs in parallel); a closure
    /// `Fn(&Document, Date) -> T` is one.
    pub decide: &'a D,
    /// The longest JSON Lines line or CSV row read ([`DEFAULT_MAX_LINE_BYTES`] is a sensible value).
    pub max_line_bytes: usize,
}

/// One chunk of JSON Lines: the bytes, and each line's number, the offset of its first byte
/// in the input, and its place in the bytes (`None` for a line over the limit).
struct Lines {
    buf: Vec<u8>,
    lines: Vec<(usize, u64, Option<Range<usize>>)>,
}

/// Where the reading of JSON Lines stands between chunks: lines and bytes read, and the line
/// that did not fit in the last chunk (its number, offset and weight; its bytes in `carry`).
#[derive(Default)]
struct LineReading {
    line_no: usize,
    bytes: u64,
    carry: Vec<u8>,
    carried: Option<(usize, u64, usize)>,
}

/// One chunk of CSV: the rows' bytes, and each row's frame and place in them.
struct Rows {
    buf: Vec<u8>,
    rows: Vec<(facts::CsvFrame, Range<usize>)>,
}

/// Runs a batch one chunk apart on two sides: while the pool decides chunk N, this thread emits
/// chunk N-1's outputs and reads chunk N+1, so reading and writing overlap the deciding.
/// `read` gives a chunk and the input's bytes read through it, or `None` at the end; it is handed
/// a chunk already decided, if there is one, to reuse its memory. Outputs are emitted in input
/// order. `decide` gives a chunk's outputs and how many documents it decided; returns how many
/// documents were decided.
fn pipeline<C: Sync, T: Send>(
    read: &mut dyn FnMut(Option<C>) -> io::Result<Option<(C, u64)>>,
    decide: &(dyn Fn(&C) -> (T, usize) + Sync),
    emit: &mut dyn FnMut(T, u64) -> io::Result<()>,
) -> io::Result<usize> {
    let mut records = 0;
    let mut current = read(None)?;
    let mut pending: Option<(T, u64)> = None;
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
        records += outs.1;
        pending = Some((outs.0, bytes));
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
fn alongside<T: Send>(work: impl FnOnce() -> T + Send, here: impl FnOnce()) -> T {
    #[cfg(feature = "parallel")]
    {
        let mut out = None;
        rayon::in_place_scope(|s| {
            s.spawn(|_| out = Some(work()));
            here();
        });
        // The scope returns only once the spawned work has run, so `out` is set.
        match out {
            Some(out) => out,
            None => unreachable!("rayon::in_place_scope returned before its spawned work ran"),
        }
    }
    #[cfg(not(feature = "parallel"))]
    {
        let out = work();
        here();
        out
    }
}

/// Every item decided by `f` into blocks of consecutive items, the blocks in the items' order:
/// on all cores with the `parallel` feature, else in this thread. A block closes at [`BLOCK`]
/// items or once its items' `bytes` reach [`BLOCK_BYTES`].
fn blocks_ordered<I: Sync, D: Decide + ?Sized>(
    items: &[I],
    bytes: impl Fn(&I) -> usize,
    decide: &D,
    f: impl Fn(&I, &mut D::Block) + Sync + Send,
) -> Vec<D::Block> {
    let mut cuts: Vec<Range<usize>> = Vec::with_capacity(items.len() / BLOCK + 1);
    let (mut start, mut weight) = (0, 0usize);
    for (i, item) in items.iter().enumerate() {
        weight = weight.saturating_add(bytes(item));
        if i + 1 - start >= BLOCK || weight >= BLOCK_BYTES {
            cuts.push(start..i + 1);
            (start, weight) = (i + 1, 0);
        }
    }
    if start < items.len() {
        cuts.push(start..items.len());
    }
    let block = |range: &Range<usize>| {
        let items = items.get(range.clone()).unwrap_or_default();
        let mut b = decide.block(items.len());
        for i in items {
            f(i, &mut b);
        }
        b
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        cuts.par_iter().map(block).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        cuts.iter().map(block).collect()
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
        let (part, done) = match memchr::memchr(b'\n', available) {
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

impl<D: Decide + ?Sized> Run<'_, D> {
    fn decide(&self, doc: &Document, block: &mut D::Block) {
        let date = self.as_of.or(doc.as_of).unwrap_or(self.today);
        self.decide.decide(doc, date, block);
    }

    /// The one-document chunk of `doc` (an input's only output).
    fn alone(&self, doc: &Document) -> D::Chunk {
        let mut block = self.decide.block(1);
        self.decide(doc, &mut block);
        self.decide.chunk(vec![block])
    }

    /// Streams JSON Lines from `reader`; `emit` receives each chunk's outputs in order and the
    /// bytes read so far. Blank lines are skipped. Reading the next chunk and emitting the last
    /// one run on this thread while the current chunk is decided on the others.
    pub fn json_lines(
        &self,
        reader: &mut dyn BufRead,
        emit: &mut dyn FnMut(D::Chunk, u64) -> io::Result<()>,
    ) -> io::Result<Stats> {
        let mut stats = Stats::default();
        let mut reading = LineReading::default();
        let mut read = |spare: Option<Lines>| -> io::Result<Option<(Lines, u64)>> {
            let (chunk, through) = self.read_lines(reader, spare, &mut reading)?;
            Ok((!chunk.lines.is_empty()).then_some((chunk, through)))
        };
        let decide = |chunk: &Lines| -> (D::Chunk, usize) {
            let bytes = |(_, _, range): &(usize, u64, Option<Range<usize>>)| range.as_ref().map_or(0, Range::len);
            let blocks = blocks_ordered(&chunk.lines, bytes, self.decide, |(n, offset, range), block| {
                self.decide_line(&chunk.buf, *n, *offset, range, block);
            });
            (self.decide.chunk(blocks), chunk.lines.len())
        };
        let records = pipeline(&mut read, &decide, emit)?;
        stats.records += records;
        stats.bytes = reading.bytes;
        if records == 0 {
            // The reader's one document saying the input holds none.
            for doc in facts::parse(self.policy.schema(), "", facts::Format::JsonLines, self.source) {
                stats.records += 1;
                emit(self.alone(&doc), stats.bytes)?;
            }
        }
        Ok(stats)
    }

    /// Reads one chunk of non-blank lines (see [`Budget`]), into the memory of `spare` if
    /// given, and returns it with the input's bytes read through its last line; no lines at
    /// the end. A line that does not fit is kept in `st` and opens the next chunk.
    fn read_lines(
        &self,
        reader: &mut dyn BufRead,
        spare: Option<Lines>,
        st: &mut LineReading,
    ) -> io::Result<(Lines, u64)> {
        let Lines { mut buf, mut lines } =
            spare.unwrap_or_else(|| Lines { buf: Vec::with_capacity(CHUNK_WEIGHT), lines: Vec::with_capacity(CHUNK) });
        buf.clear();
        lines.clear();
        shrink(&mut buf);
        let mut budget = Budget::default();
        let mut through = st.bytes;
        if let Some((n, offset, weight)) = st.carried.take() {
            buf.extend_from_slice(&st.carry);
            lines.push((n, offset, Some(0..buf.len())));
            budget.add(weight);
            st.carry.clear();
            shrink(&mut st.carry);
        }
        while !budget.full() {
            let start = buf.len();
            let mut offset = st.bytes;
            let (n, cut) = read_line_bounded(reader, &mut buf, self.max_line_bytes)?;
            if n == 0 {
                break;
            }
            st.bytes += n as u64;
            st.line_no += 1;
            if cut {
                // Give back what the long line grew the buffer to; its one error output is
                // all it costs.
                buf.truncate(start);
                buf.shrink_to(start.max(CHUNK_WEIGHT));
                lines.push((st.line_no, offset, None));
                budget.add(0);
                through = st.bytes;
                continue;
            }
            // A byte-order mark may open the file.
            if st.line_no == 1 && buf.get(start..start + 3) == Some(b"\xef\xbb\xbf".as_slice()) {
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
            let slice = buf.get(start..end).unwrap_or_default();
            if is_blank(slice) {
                buf.truncate(start);
                through = st.bytes;
                continue;
            }
            let weight = line_weight(buf.get(start..).unwrap_or_default());
            if !budget.admits(weight) {
                st.carry.extend_from_slice(slice);
                st.carried = Some((st.line_no, offset, weight));
                buf.truncate(start);
                break;
            }
            buf.truncate(end);
            lines.push((st.line_no, offset, Some(start..end)));
            budget.add(weight);
            through = st.bytes;
        }
        Ok((Lines { buf, lines }, through))
    }

    /// Decides line `n`, held in `buf` at `range` (`None`: the line was over the limit), whose
    /// first byte is at `offset` in the input.
    fn decide_line(&self, buf: &[u8], n: usize, offset: u64, range: &Option<Range<usize>>, block: &mut D::Block) {
        let at = line_source(self.source, n);
        let Some(range) = range else {
            let message = format!(
                "the line is longer than {} bytes, the most read (`--max-line-bytes`); it was skipped",
                self.max_line_bytes
            );
            return self.decide(&facts::failed_document(&at, message), block);
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
        self.decide(&doc, block);
    }

    /// Streams a CSV inventory: one entry per row, columns named `group.field`
    /// (`partner.role`, `subscription.id`, ...). An empty cell is an absent fact; a row with
    /// fewer or more cells than the header is an error. A row is held only up to
    /// `max_line_bytes`: a longer one is an error record and skipped, and a quoted cell still
    /// open past that (or at the end of the input) ends the reading with an error naming it.
    pub fn csv(
        &self,
        reader: &mut dyn io::Read,
        emit: &mut dyn FnMut(D::Chunk, u64) -> io::Result<()>,
    ) -> io::Result<Stats> {
        let mut stats = Stats::default();
        let reader = io::BufReader::with_capacity(64 * 1024, reader);
        let mut rdr = facts::CsvReader::from_stream(reader, self.max_line_bytes)?;
        let columns = match rdr.header(self.policy.schema(), self.source) {
            Ok(c) => c,
            Err(doc) => {
                emit(self.alone(&doc), rdr.framer.offset())?;
                stats.records += 1;
                return Ok(stats);
            }
        };
        // The row that did not fit in the last chunk, its bytes in `carry`.
        let (mut carry, mut carried) = (Vec::new(), None);
        let mut read = |spare: Option<Rows>| -> io::Result<Option<(Rows, u64)>> {
            let Rows { mut buf, mut rows } = spare
                .unwrap_or_else(|| Rows { buf: Vec::with_capacity(CHUNK_WEIGHT), rows: Vec::with_capacity(CHUNK) });
            buf.clear();
            rows.clear();
            shrink(&mut buf);
            let mut budget = Budget::default();
            let mut through = rdr.framer.offset();
            if let Some((frame, weight)) = carried.take() {
                buf.extend_from_slice(&carry);
                rows.push((frame, 0..buf.len()));
                budget.add(weight);
                carry.clear();
                shrink(&mut carry);
            }
            while !budget.full() {
                let start = buf.len();
                let Some(frame) = rdr.framer.next(&mut rdr.input, &mut buf)? else { break };
                // A row is one entry.
                let weight = (buf.len() - start).saturating_add(ENTRY_WEIGHT);
                if !budget.admits(weight) {
                    carry.extend_from_slice(buf.get(start..).unwrap_or_default());
                    carried = Some((frame, weight));
                    buf.truncate(start);
                    break;
                }
                rows.push((frame, start..buf.len()));
                budget.add(weight);
                through = rdr.framer.offset();
            }
            stats.bytes = rdr.framer.offset();
            Ok((!rows.is_empty()).then_some((Rows { buf, rows }, through)))
        };
        let decide = |chunk: &Rows| -> (D::Chunk, usize) {
            let bytes = |(_, range): &(facts::CsvFrame, Range<usize>)| range.len();
            let blocks = blocks_ordered(&chunk.rows, bytes, self.decide, |(frame, range), block| {
                let raw = chunk.buf.get(range.clone()).unwrap_or_default();
                self.decide(&facts::csv_document(self.policy.schema(), &columns, frame, raw, self.source), block);
            });
            (self.decide.chunk(blocks), chunk.rows.len())
        };
        let records = pipeline(&mut read, &decide, emit)?;
        stats.records += records;
        if records == 0 {
            // No row at all is reported, as for the other formats.
            let doc = facts::failed_document(self.source, "the input holds no fact documents".into());
            emit(self.alone(&doc), stats.bytes)?;
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
        // Short lines: chunks are cut by weight before they reach `CHUNK` lines.
        assert!(chunks.len() > 2 && chunks.iter().all(|c| c.0 < CHUNK), "{chunks:?}");
        assert_eq!(chunks.iter().map(|c| c.0).sum::<usize>(), n);
        assert!(chunks.windows(2).all(|w| w[0].1 < w[1].1));
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

    /// The chunks a batch should make of these lines (weights, in input order): greedy, each
    /// closed at `CHUNK` lines, at `CHUNK_WEIGHT`, or before a line that would take it past
    /// `CHUNK_WEIGHT`; a line heavier than that alone. Each chunk as its lines' indices.
    fn expected_chunks(weights: &[usize]) -> Vec<Vec<usize>> {
        let mut chunks: Vec<Vec<usize>> = vec![Vec::new()];
        let mut weight = 0;
        for (i, w) in weights.iter().enumerate() {
            let current = chunks.last().unwrap();
            let closed = current.len() >= CHUNK || weight >= CHUNK_WEIGHT;
            if !current.is_empty() && (closed || weight + w > CHUNK_WEIGHT) {
                chunks.push(Vec::new());
                weight = 0;
            }
            chunks.last_mut().unwrap().push(i);
            weight += w;
        }
        chunks
    }

    /// Each chunk `decide` makes of `input` (read as `in.jsonl`), with the bytes read through it.
    fn run_json_lines<D: Decide + ?Sized>(policy: &Policy, input: &[u8], decide: &D) -> (Vec<(D::Chunk, u64)>, Stats) {
        let run = Run {
            policy,
            source: "in.jsonl",
            as_of: None,
            today: Date::parse("2024-01-01").unwrap(),
            decide,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        };
        let mut chunks = Vec::new();
        let stats = run
            .json_lines(&mut &input[..], &mut |outs, bytes| {
                chunks.push((outs, bytes));
                Ok(())
            })
            .unwrap();
        (chunks, stats)
    }

    /// The line number of each document (from its source, `in.jsonl:N`), chunk by chunk.
    fn run_lines(policy: &Policy, input: &[u8]) -> (Vec<(Vec<usize>, u64)>, Stats) {
        let decide = |doc: &Document, _: Date| doc.source.rsplit(':').next().unwrap().parse::<usize>().unwrap();
        run_json_lines(policy, input, &decide)
    }

    /// Chunks are bounded by weight whatever the lines' shape: one subscription a line, a
    /// hundred, an entry list of empty objects (few bytes, many outputs), and lines far heavier
    /// than a chunk, each decided in a chunk of its own; the bytes read through each chunk end
    /// at its last line.
    #[test]
    fn json_lines_chunks_are_bounded_by_weight_and_a_heavier_line_is_a_chunk_of_its_own() {
        let policy = Policy::builtin().unwrap();
        let sub = |i: usize| format!(r#"{{"id":"s{i}","service":"license_based","channel":"open","cancelled":false}}"#);
        let doc = |subs: &[String], name: &str| {
            format!(
                r#"{{"partner":{{"role":"sales_agent","type":"direct_bill"}},"customer":{{"name":"{name}"}},"subscriptions":[{}]}}"#,
                subs.join(",")
            ) + "\n"
        };
        let mut lines = Vec::new();
        for i in 0..40_000 {
            let subs: Vec<String> = match i % 500 {
                // A hundred subscriptions.
                0..=9 => (0..100).map(sub).collect(),
                // Ten thousand empty entries: 3 bytes each, one output each.
                10 => vec!["{}".to_string(); 10_000],
                _ => vec![sub(i)],
            };
            let name = match i {
                // Lines of about 1.5 and 3 times a chunk's weight, one right after the other.
                20_000 => "x".repeat(CHUNK_WEIGHT * 3 / 2),
                20_001 => "y".repeat(3 * CHUNK_WEIGHT),
                _ => format!("c{i}"),
            };
            lines.push(doc(&subs, &name));
        }
        let input = lines.concat();
        let weights: Vec<usize> = lines.iter().map(|l| line_weight(l.as_bytes())).collect();
        let (chunks, stats) = run_lines(&policy, input.as_bytes());

        assert_eq!(stats.records, lines.len());
        assert_eq!(stats.bytes, input.len() as u64);
        let expected = expected_chunks(&weights);
        let got: Vec<Vec<usize>> = chunks.iter().map(|(outs, _)| outs.iter().map(|n| n - 1).collect()).collect();
        assert_eq!(got, expected);
        for (lines_of, bytes) in &chunks {
            let weight: usize = lines_of.iter().map(|n| weights[n - 1]).sum();
            assert!(weight <= CHUNK_WEIGHT || lines_of.len() == 1, "{} lines weigh {weight}", lines_of.len());
            let through: usize = lines[..*lines_of.last().unwrap()].iter().map(String::len).sum();
            assert_eq!(*bytes, through as u64);
        }
        // The two heavy lines were each decided alone.
        for heavy in [20_001, 20_002] {
            assert!(chunks.iter().any(|(outs, _)| outs == &[heavy]), "line {heavy}");
        }
        // Most chunks are well filled: the budget, not the lines, closed them.
        let total: usize = weights.iter().sum();
        assert!(chunks.len() <= 2 * total / CHUNK_WEIGHT + 1, "{} chunks of {total}", chunks.len());
    }

    /// A line far over the weight budget is still read whole and decided (the line limit,
    /// `max_line_bytes`, is what refuses a line), and the chunk after it is an ordinary one.
    #[test]
    fn a_line_over_the_budget_is_decided_and_one_over_the_line_limit_is_an_error() {
        let policy = Policy::builtin().unwrap();
        let today = Date::parse("2024-01-01").unwrap();
        let decide = |doc: &Document, _: Date| (doc.source.clone(), doc.label.clone().map(|l| l.len()));
        let run = Run {
            policy: &policy,
            source: "in.jsonl",
            as_of: None,
            today,
            decide: &decide,
            max_line_bytes: 4 * CHUNK_WEIGHT,
        };
        let name = |n: usize| "z".repeat(n);
        let line = |n: usize| format!("{{\"customer\":{{\"name\":\"{}\"}}}}\n", name(n));
        let input = [line(3), line(3 * CHUNK_WEIGHT), line(5 * CHUNK_WEIGHT), line(4)].concat();
        let mut outs = Vec::new();
        let stats = run
            .json_lines(&mut input.as_bytes(), &mut |chunk, _| {
                outs.push(chunk);
                Ok(())
            })
            .unwrap();
        assert_eq!(stats.records, 4);
        let flat: Vec<_> = outs.concat();
        assert_eq!(flat[0], ("in.jsonl:1".to_string(), Some(3)));
        assert_eq!(flat[1], ("in.jsonl:2".to_string(), Some(3 * CHUNK_WEIGHT)));
        // Over `max_line_bytes`: an error document, without the line's facts.
        assert_eq!(flat[2], ("in.jsonl:3".to_string(), None));
        assert_eq!(flat[3], ("in.jsonl:4".to_string(), Some(4)));
        assert_eq!(outs.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 2]);
    }

    /// CSV rows are chunked by the same rule, each row one entry.
    #[test]
    fn csv_chunks_are_bounded_by_weight() {
        let policy = Policy::builtin().unwrap();
        let today = Date::parse("2024-01-01").unwrap();
        let decide = |doc: &Document, _: Date| doc.source.clone();
        let run = Run {
            policy: &policy,
            source: "in.csv",
            as_of: None,
            today,
            decide: &decide,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        };
        let mut rows = Vec::new();
        for i in 0..30_000 {
            let name = if i == 12_345 { "w".repeat(2 * CHUNK_WEIGHT) } else { format!("c{i}") };
            rows.push(format!("sales_agent,{name},s{i},license_based,open\n"));
        }
        let input =
            String::from("partner.role,customer.name,subscription.id,subscription.service,subscription.channel\n")
                + &rows.concat();
        let mut chunks = Vec::new();
        let stats = run
            .csv(&mut input.as_bytes(), &mut |outs, _| {
                chunks.push(outs.len());
                Ok(())
            })
            .unwrap();
        assert_eq!(stats.records, rows.len());
        // A row weighs its bytes without the line break, plus one entry.
        let weights: Vec<usize> = rows.iter().map(|r| r.len() - 1 + ENTRY_WEIGHT).collect();
        assert_eq!(chunks, expected_chunks(&weights).iter().map(Vec::len).collect::<Vec<_>>());
        assert!(chunks.contains(&1));
    }

    /// A [`Decide`] that records, for each block, the line numbers of its documents.
    struct LineBlocks;

    impl Decide for LineBlocks {
        type Block = Vec<usize>;
        type Chunk = Vec<Vec<usize>>;

        fn block(&self, documents: usize) -> Vec<usize> {
            assert!((1..=BLOCK).contains(&documents), "{documents}");
            Vec::with_capacity(documents)
        }

        fn decide(&self, doc: &Document, _: Date, block: &mut Vec<usize>) {
            block.push(doc.source.rsplit(':').next().unwrap().parse().unwrap());
        }

        fn chunk(&self, blocks: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
            blocks
        }
    }

    /// The blocks of each chunk of `input` (each block its documents' line numbers).
    fn line_blocks(input: &str) -> (Vec<Vec<Vec<usize>>>, Stats) {
        let (chunks, stats) = run_json_lines(&Policy::builtin().unwrap(), input.as_bytes(), &LineBlocks);
        (chunks.into_iter().map(|(blocks, _)| blocks).collect(), stats)
    }

    #[test]
    fn documents_are_decided_in_blocks_of_consecutive_ones_in_input_order() {
        let n = CHUNK + 3 * BLOCK + 7;
        let input: String = (0..n).map(|i| format!("{{\"customer\":{{\"name\":\"c{i}\"}}}}\n")).collect();
        let (chunks, stats) = line_blocks(&input);
        assert_eq!(stats.records, n);
        assert!(chunks.len() > 1);
        let mut next = 1;
        for blocks in &chunks {
            // Short lines: every block of a chunk is full but its last.
            let (last, full) = blocks.split_last().unwrap();
            assert!(full.iter().all(|b| b.len() == BLOCK) && (1..=BLOCK).contains(&last.len()));
            for line in blocks.iter().flatten() {
                assert_eq!(*line, next);
                next += 1;
            }
        }
        assert_eq!(next, n + 1);
    }

    #[test]
    fn blocks_of_long_lines_are_cut_by_bytes() {
        // Lines of 3,000 bytes: a block closes at the sixth, the first to reach BLOCK_BYTES.
        let per_block = BLOCK_BYTES.div_ceil(3000);
        let line = |i: usize| {
            let head = format!("{{\"customer\":{{\"name\":\"c{i:05}");
            format!("{head}{}\"}}}}\n", "x".repeat(3000 - head.len() - 3))
        };
        let input: String = (0..1000).map(line).collect();
        assert!(input.lines().all(|l| l.len() == 3000));
        let (chunks, stats) = line_blocks(&input);
        assert_eq!(stats.records, 1000);
        for blocks in &chunks {
            let (last, full) = blocks.split_last().unwrap();
            assert!(full.iter().all(|b| b.len() == per_block) && last.len() <= per_block);
        }
        let blocks = chunks.iter().map(Vec::len).sum::<usize>();
        assert_eq!(chunks.iter().flatten().map(Vec::len).sum::<usize>(), 1000);
        assert!(blocks >= 1000 / per_block);
    }

    #[test]
    fn json_lines_written_in_blocks_with_recycled_buffers_are_those_written_one_by_one() {
        let policy = Policy::builtin().unwrap();
        let mut input = String::new();
        for i in 0..3 * CHUNK {
            // Good documents, bad ones, one of several subscriptions and a few long ones, so
            // that recycled buffers are sometimes too small and sometimes larger than needed.
            let name = if i % 997 == 0 { "n".repeat(5000) } else { format!("c{i}") };
            let subs = match i % 5 {
                0 => r#"[{"id":"a","service":"license_based","channel":"open"},{"id":"b","service":"license_based","channel":"ea_direct"}]"#.to_string(),
                1 => r#"[{"id":"x","service":"licence_based"}]"#.to_string(),
                _ => format!(r#"[{{"id":"s{i}","service":"license_based","channel":"microsoft_direct"}}]"#),
            };
            input.push_str(&format!(
                "{{\"as_of\":\"2024-03-15\",\"partner\":{{\"role\":\"global_admin\"}},\"customer\":{{\"name\":\"{name}\"}},\"subscriptions\":{subs}}}\n"
            ));
        }
        let writer = JsonLines::new(&policy);
        let today = Date::parse("2024-01-01").unwrap();
        let mut expected = Vec::new();
        let (mut lines, mut errors) = (0, 0);
        for doc in facts::parse(policy.schema(), &input, facts::Format::JsonLines, "in.jsonl") {
            let (l, e) = writer.write(&doc, doc.as_of.unwrap(), true, &mut expected);
            lines += l;
            errors += e;
        }
        let batch = JsonLinesBatch::new(&writer, true);
        let run = Run {
            policy: &policy,
            source: "in.jsonl",
            as_of: None,
            today,
            decide: &batch,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        };
        let mut got = Vec::new();
        let (mut got_lines, mut got_errors) = (0, 0);
        run.json_lines(&mut input.as_bytes(), &mut |blocks: Vec<Written>, _| {
            for block in blocks {
                got.extend_from_slice(&block.bytes);
                got_lines += block.lines;
                got_errors += block.errors;
                batch.recycle(block);
            }
            Ok(())
        })
        .unwrap();
        assert!(errors > 0 && lines > 3 * CHUNK);
        assert_eq!((got_lines, got_errors), (lines, errors));
        assert!(got == expected, "the blocks' bytes differ from the lines written one by one");
    }

    #[test]
    fn line_helpers_agree_with_the_standard_library() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, usize::MAX] {
            assert_eq!(line_source("in.jsonl", n), format!("in.jsonl:{n}"));
        }
        for line in ["", " \t\r", "\u{b}\u{c} ", "\u{a0}", " \u{3000}x", "{}", " {", "\u{85}", "\u{1680}\u{2000}"] {
            assert_eq!(is_blank(line.as_bytes()), line.trim().is_empty(), "{line:?}");
        }
        assert!(!is_blank(b" \xff"));
        let line = br#"{"a":[{"b":1},{"c":2}],"d":","}"#;
        let marks = line.iter().filter(|b| matches!(**b, b'{' | b',')).count();
        assert_eq!(line_weight(line), line.len() + marks * ENTRY_WEIGHT);
        let long = "{,".repeat(1000);
        assert_eq!(line_weight(long.as_bytes()), 2000 + 2000 * ENTRY_WEIGHT);
    }
}
