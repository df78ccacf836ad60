//! The text of a policy's files, shared so that any stage can point into it.

use std::sync::Arc;

use miette::NamedSource;

/// One policy file: its display name and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
}

/// All the files of one policy, in load order. A [`Span`] names a file by its index here.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Self {
        Sources::default()
    }

    /// Adds a file and returns its index.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> usize {
        self.files.push(SourceFile { name: name.into(), text: text.into() });
        self.files.len() - 1
    }

    pub fn get(&self, file: usize) -> Option<&SourceFile> {
        self.files.get(file)
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The file as miette source code, for rendering snippets.
    pub fn named(&self, file: usize) -> Option<NamedSource<Arc<str>>> {
        self.files.get(file).map(|f| NamedSource::new(f.name.clone(), f.text.clone()))
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, file: usize, offset: usize) -> (usize, usize) {
        let Some(f) = self.files.get(file) else { return (0, 0) };
        let before = f.text.get(..offset.min(f.text.len())).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// Why the text of a file (or of standard input) could not be read, in words for a message.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no such file")]
    NotFound,
    #[error("permission denied")]
    PermissionDenied,
    #[error("it is a directory")]
    IsADirectory,
    #[error("not UTF-8 text: invalid byte at line {line}, column {column} (byte {offset})")]
    NotUtf8 { line: usize, column: usize, offset: usize },
    #[error("{0}")]
    Other(std::io::Error),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            std::io::ErrorKind::PermissionDenied => ReadError::PermissionDenied,
            std::io::ErrorKind::IsADirectory => ReadError::IsADirectory,
            _ => ReadError::Other(e),
        }
    }
}

/// The whole text of a file. Every reader of the project's inputs (policies, fact files, test
/// cases) goes through here or [`read_text_from`], so their errors read alike.
pub fn read_text(path: &std::path::Path) -> Result<String, ReadError> {
    text_of(std::fs::read(path)?)
}

/// The whole text of a reader, standard input for example.
pub fn read_text_from(mut reader: impl std::io::Read) -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    text_of(bytes)
}

fn text_of(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| not_utf8(e.as_bytes(), e.utf8_error().valid_up_to(), 1, 0, false, false))
}

/// The error for `bytes` whose first `valid` bytes are UTF-8 and the next one is not, placed in
/// the input: `bytes` starts on line `line` at byte `offset`. `lone_cr` counts a `\r` without a
/// `\n` after it as a line break (CSV does); `bom` says a byte-order mark was dropped just before
/// `bytes`, which still counts in a column of line 1, as in the message for the whole file.
pub(crate) fn not_utf8(bytes: &[u8], valid: usize, line: usize, offset: usize, lone_cr: bool, bom: bool) -> ReadError {
    let prefix = bytes.get(..valid).unwrap_or_default();
    let (mut line, mut line_start, mut after_cr) = (line, 0usize, false);
    for (i, b) in prefix.iter().enumerate() {
        match b {
            b'\n' if after_cr => (line_start, after_cr) = (i + 1, false),
            b'\n' => (line, line_start, after_cr) = (line + 1, i + 1, false),
            b'\r' if lone_cr => (line, line_start, after_cr) = (line + 1, i + 1, true),
            _ => after_cr = false,
        }
    }
    // The prefix is valid UTF-8 by definition of `valid`.
    let column = std::str::from_utf8(prefix.get(line_start..).unwrap_or_default()).map_or(0, |s| s.chars().count())
        + 1
        + usize::from(bom && line == 1);
    ReadError::NotUtf8 { line, column, offset: offset.saturating_add(valid) }
}

/// A byte range in one source file of the policy.
#[derive(Clone, Copy, Debug, Default, Eq)]
pub struct Span {
    /// Index of the file in the policy's [`Sources`].
    pub file: usize,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: usize, start: usize, end: usize) -> Self {
        Span { file, start, end }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Spans never take part in equality: layout does not change meaning.
impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}
