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
