//! The text of a policy's files, shared so that any stage can point into it.

use std::sync::Arc;

use miette::NamedSource;

/// One policy file: its display name and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
}

/// All the files of one policy, in load order. A [`crate::ast::Span`] names a file by its index here.
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
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = e.as_bytes().get(..offset).unwrap_or_default();
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        // The prefix is valid UTF-8 by definition of `valid_up_to`.
        let column =
            std::str::from_utf8(valid.get(line_start..).unwrap_or_default()).map_or(0, |s| s.chars().count()) + 1;
        ReadError::NotUtf8 { line, column, offset }
    })
}
