//! Fast JSON Lines output for batch runs: each result is written straight into a byte buffer
//! from JSON fragments prepared once per policy (escaped rule ids, actions, reasons, parameter
//! names), instead of building an owned [`Record`](crate::eval::verdict::Record) and serialising it.
//! The bytes are exactly those of serialising the record.

use crate::eval::verdict::ParamValue;
use crate::facts::Document;
use crate::policy::Policy;
use crate::value::Date;

/// Escaped pieces of every result line.
#[derive(Clone, Debug)]
struct Fragments {
    /// `,"customer":`
    label_key: String,
    /// `,"subscription":`
    key_name: String,
    rules: Vec<RuleFragments>,
}

#[derive(Clone, Debug)]
struct RuleFragments {
    /// `,"action":"…","params":{`
    head: String,
    /// `"name":` per parameter, in order.
    params: Vec<String>,
    /// `},"rule":"…","reason":"…"`
    tail: String,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl Fragments {
    fn new(policy: &Policy) -> Fragments {
        let (label_key, key_name) = policy.output_keys();
        let schema = policy.schema();
        let rules = policy
            .rules()
            .iter()
            .map(|r| {
                // A rule whose action is not in the schema never makes a verdict (see
                // `Verdict::new`), so its fragment is never written.
                let action = schema.actions.get(r.action);
                RuleFragments {
                    head: format!(",\"action\":{},\"params\":{{", json_str(action.map_or("", |a| a.name.as_str()))),
                    params: action
                        .map(|a| a.params.iter().map(|(n, _)| format!("{}:", json_str(n))).collect())
                        .unwrap_or_default(),
                    tail: format!("}},\"rule\":{},\"reason\":{}", json_str(&r.id), json_str(&r.reason)),
                }
            })
            .collect();
        Fragments {
            label_key: format!(",{}:", json_str(label_key)),
            key_name: format!(",{}:", json_str(key_name)),
            rules,
        }
    }
}

/// A JSON Lines writer for one policy: the escaped pieces of every line are prepared once, in
/// [`JsonLines::new`], then each document's lines are written straight from its verdicts.
/// `Send + Sync`: one writer serves every thread of a batch.
#[derive(Clone, Debug)]
pub struct JsonLines<'p> {
    policy: &'p Policy,
    fragments: Fragments,
}

/// Lines written for a block of documents by [`JsonLines`] as a batch's
/// [`Decide`](crate::batch::Decide): the lines' bytes, how many lines, and how many are errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block {
    pub lines: usize,
    pub errors: usize,
    pub bytes: Vec<u8>,
}

/// A batch writing JSON Lines: each block of documents is written into one buffer (see
/// [`JsonLines::write`] for `show_as_of`), and a chunk is its blocks in input order. Buffers
/// handed back with [`Batch::recycle`] once written are used again for later blocks: memory
/// given back to the allocator on one thread and asked for on another tends to come back as
/// fresh pages, each zeroed by the system again.
#[derive(Debug)]
pub struct Batch<'w, 'p> {
    writer: &'w JsonLines<'p>,
    show_as_of: bool,
    spare: std::sync::Mutex<Vec<Vec<u8>>>,
}

/// The bytes set aside per document of a block: about one result line.
const LINE_GUESS: usize = 512;

/// The most buffers kept for reuse: the blocks of two chunks (one being written while the next
/// is decided).
const SPARE_BUFFERS: usize = 2 * crate::batch::CHUNK / crate::batch::BLOCK;

/// The largest buffer kept for reuse; one grown past it by a huge document is given back.
const SPARE_BYTES: usize = 1 << 20;

impl<'w, 'p> Batch<'w, 'p> {
    pub fn new(writer: &'w JsonLines<'p>, show_as_of: bool) -> Batch<'w, 'p> {
        Batch { writer, show_as_of, spare: std::sync::Mutex::new(Vec::new()) }
    }

    /// Hands a written block's buffer back for a later block.
    pub fn recycle(&self, block: Block) {
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

impl crate::batch::Decide for Batch<'_, '_> {
    type Block = Block;
    type Chunk = Vec<Block>;

    fn block(&self, documents: usize) -> Block {
        let spare = self.spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let want = documents.saturating_mul(LINE_GUESS);
        let mut bytes = spare.unwrap_or_default();
        bytes.reserve(want);
        Block { lines: 0, errors: 0, bytes }
    }

    fn decide(&self, doc: &Document, date: Date, block: &mut Block) {
        let (lines, errors) = self.writer.write(doc, date, self.show_as_of, &mut block.bytes);
        block.lines += lines;
        block.errors += errors;
    }

    fn chunk(&self, blocks: Vec<Block>) -> Vec<Block> {
        blocks
    }
}

impl<'p> JsonLines<'p> {
    pub fn new(policy: &'p Policy) -> JsonLines<'p> {
        JsonLines { policy, fragments: Fragments::new(policy) }
    }

    /// Decides every entry of `doc` and appends one JSON line per entry to `out`. With
    /// `show_as_of`, each line ends with the date it was decided at, as the CLI's JSON Lines
    /// records always do. Returns (lines, errors).
    ///
    /// Each line is byte for byte `serde_json::to_string` of the entry's
    /// [`Dated`](crate::eval::verdict::Dated) record (tested in `tests/output_contract.rs`).
    pub fn write(&self, doc: &Document, as_of: Date, show_as_of: bool, out: &mut Vec<u8>) -> (usize, usize) {
        let f = &self.fragments;
        out.reserve(512);
        // Every line of the document opens with the same `{"source":…,"customer":…,"subscription":`:
        // written once here (escaped straight into `out`), then copied for each line.
        let head_start = out.len();
        out.extend_from_slice(b"{\"source\":");
        write_str(out, &doc.source);
        out.extend_from_slice(f.label_key.as_bytes());
        match doc.label.as_deref() {
            Some(l) => write_str(out, l),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(f.key_name.as_bytes());
        let head = head_start..out.len();
        // The end of every line: `}` or `,"as_of":"YYYY-MM-DD"}`, then the line feed.
        let mut end: smallvec::SmallVec<[u8; 32]> = smallvec::SmallVec::new();
        if show_as_of {
            end.extend_from_slice(b",\"as_of\":\"");
            push_date(&mut end, as_of);
            end.push(b'"');
        }
        end.extend_from_slice(b"}\n");
        let (mut lines, mut errors) = (0, 0);
        for (key, outcome) in self.policy.outcomes(doc, as_of) {
            if lines > 0 {
                out.extend_from_within(head.clone());
            }
            lines += 1;
            match key {
                Some(k) => write_str(out, k),
                None => out.extend_from_slice(b"null"),
            }
            match outcome {
                Ok(v) => {
                    #[expect(
                        clippy::expect_used,
                        reason = "one fragment per rule of the same policy, and a verdict's rule index is checked \
                                  against those rules when the verdict is made"
                    )]
                    let rf = f.rules.get(v.rule_index()).expect("a fragment for every rule");
                    out.extend_from_slice(rf.head.as_bytes());
                    for (i, ((_, value), name)) in v.params().zip(&rf.params).enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(name.as_bytes());
                        match value {
                            ParamValue::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
                            ParamValue::Int(n) => push_int(out, n),
                            ParamValue::Date(d) => {
                                out.push(b'"');
                                push_date(out, Date::from_naive(d));
                                out.push(b'"');
                            }
                            ParamValue::Enum(s) | ParamValue::Text(s) => write_str(out, s),
                        }
                    }
                    out.extend_from_slice(rf.tail.as_bytes());
                }
                Err(e) => {
                    errors += 1;
                    out.extend_from_slice(b",\"error\":");
                    write_str(out, &e.to_string());
                }
            }
            out.extend_from_slice(&end);
        }
        if lines == 0 {
            out.truncate(head_start);
        }
        (lines, errors)
    }
}

/// Where [`push_date`] writes: the output, or a line's short ending.
trait Bytes {
    fn put(&mut self, bytes: &[u8]);
}

impl Bytes for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Bytes for smallvec::SmallVec<[u8; 32]> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Writes a date as its `Display` text; four-digit years (every date a fact file can write)
/// without going through the formatter, as this runs once per document in a batch.
fn push_date(out: &mut impl Bytes, date: Date) {
    use chrono::Datelike as _;
    let d = date.to_naive();
    let year = match u32::try_from(d.year()) {
        Ok(y) if y <= 9999 => y,
        _ => {
            out.put(date.to_string().as_bytes());
            return;
        }
    };
    let digit = |n: u32| b'0' + (n % 10) as u8;
    out.put(&[
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(d.month() / 10),
        digit(d.month()),
        b'-',
        digit(d.day() / 10),
        digit(d.day()),
    ]);
}

/// Writes a whole number as its `Display` text, without going through the formatter.
fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_numbers_are_written_as_display_writes_them() {
        for n in [0, 7, -7, 10, -10, 99, 100, 1_234_567, i64::MAX, i64::MIN, i64::MIN + 1] {
            let mut out = Vec::new();
            super::push_int(&mut out, n);
            assert_eq!(String::from_utf8(out).ok(), Some(n.to_string()), "{n}");
        }
    }
}
