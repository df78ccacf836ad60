//! The open documents and the policies they belong to. All `.handover` files of one folder are
//! one policy: an open document's text replaces its file's saved text, and the folder's other
//! files are read from disk. A document that is not a file (an unsaved buffer) is a policy alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use lsp_types::{TextDocumentContentChangeEvent, Uri};

use super::index::Index;
use super::text::Text;
use crate::diagnostic::PolicyDiagnostic;
use crate::policy::{LoadError, POLICY_EXTENSION, Policy};
use crate::source::Sources;

/// Which policy a document belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Root {
    /// The `.handover` files of this folder.
    Folder(PathBuf),
    /// A document that is not a file: a policy of its own, named by its URI.
    Alone(String),
}

struct Document {
    uri: Uri,
    path: Option<PathBuf>,
    text: Text,
    version: i32,
}

/// One file of a policy as the server sees it now.
#[derive(Debug)]
pub struct File {
    pub uri: Uri,
    /// The version of the open document; `None` for a file read from disk.
    pub version: Option<i32>,
    pub text: Text,
}

/// A policy loaded from the current texts of its files.
#[derive(Debug)]
pub struct Snapshot {
    /// In load order: index `i` is file `i` of every span.
    pub files: Vec<File>,
    /// The policy, or every error that refused it.
    pub policy: Result<Policy, Vec<PolicyDiagnostic>>,
    pub index: Index,
}

impl Snapshot {
    /// The index of the file with this URI.
    pub fn file_of(&self, uri: &Uri) -> Option<usize> {
        self.files.iter().position(|f| f.uri == *uri)
    }
}

/// The documents an editor has open, and the policies loaded from them (made again after a change).
#[derive(Default)]
pub struct Workspace {
    open: HashMap<Uri, Document>,
    loaded: HashMap<Root, Arc<Snapshot>>,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// An editor opened a document. Returns the policy it belongs to.
    pub fn open(&mut self, uri: Uri, text: String, version: i32) -> Root {
        let path = file_path(&uri);
        let doc = Document { uri: uri.clone(), path, text: Text::new(text), version };
        let root = root_of(&doc);
        self.open.insert(uri, doc);
        self.loaded.remove(&root);
        root
    }

    /// Applies a `didChange` to an open document. Returns its policy, or `None` for a document
    /// that is not open.
    pub fn change(&mut self, uri: &Uri, version: i32, changes: Vec<TextDocumentContentChangeEvent>) -> Option<Root> {
        let doc = self.open.get_mut(uri)?;
        doc.text.apply(changes);
        doc.version = version;
        let root = root_of(doc);
        self.loaded.remove(&root);
        Some(root)
    }

    /// An editor closed a document: its file is read from disk again (if it is a file).
    pub fn close(&mut self, uri: &Uri) -> Option<Root> {
        let doc = self.open.remove(uri)?;
        let root = root_of(&doc);
        self.loaded.remove(&root);
        Some(root)
    }

    /// The files on disk may have changed (a save, a file created or deleted): load again.
    pub fn reload(&mut self, uri: &Uri) -> Root {
        let root = match self.open.get(uri) {
            Some(doc) => root_of(doc),
            None => match file_path(uri) {
                Some(p) => Root::Folder(p.parent().map(Path::to_path_buf).unwrap_or_default()),
                None => Root::Alone(uri.as_str().to_string()),
            },
        };
        self.loaded.remove(&root);
        root
    }

    /// The policy of a document, if it is open or a file.
    pub fn root_of(&self, uri: &Uri) -> Option<Root> {
        match self.open.get(uri) {
            Some(doc) => Some(root_of(doc)),
            None => file_path(uri).and_then(|p| p.parent().map(|d| Root::Folder(d.to_path_buf()))),
        }
    }

    /// The text of an open document.
    pub fn text(&self, uri: &Uri) -> Option<&Text> {
        self.open.get(uri).map(|d| &d.text)
    }

    /// The policy of `root` as its files read now, loaded once per change.
    pub fn snapshot(&mut self, root: &Root) -> Arc<Snapshot> {
        if let Some(s) = self.loaded.get(root) {
            return s.clone();
        }
        let s = Arc::new(self.load(root));
        self.loaded.insert(root.clone(), s.clone());
        s
    }

    fn load(&self, root: &Root) -> Snapshot {
        let mut files: Vec<(PathBuf, File)> = Vec::new();
        match root {
            Root::Alone(key) => {
                if let Some(doc) = self.open.values().find(|d| d.uri.as_str() == key) {
                    files.push((PathBuf::from(key), file_of_doc(doc)));
                }
            }
            Root::Folder(dir) => {
                // The open documents of the folder, then its other policy files from disk.
                for doc in self.open.values() {
                    if let Some(p) = doc.path.as_ref().filter(|p| p.parent() == Some(dir.as_path())) {
                        files.push((p.clone(), file_of_doc(doc)));
                    }
                }
                let on_disk = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path());
                for p in on_disk.filter(|p| p.extension().is_some_and(|e| e == POLICY_EXTENSION)) {
                    if files.iter().any(|(q, _)| *q == p) {
                        continue;
                    }
                    // A file that cannot be read now (deleted meanwhile, not UTF-8) is left out;
                    // `handover check` names it.
                    let (Ok(text), Some(uri)) = (crate::source::read_text(&p), file_uri(&p)) else { continue };
                    files.push((p, File { uri, version: None, text: Text::new(text) }));
                }
                files.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
        let mut sources = Sources::new();
        let mut trees = Vec::new();
        for (i, (path, f)) in files.iter().enumerate() {
            sources.add(path.display().to_string(), f.text.as_str());
            if let Ok(tree) = crate::language::parser::parse_file(i, f.text.as_str()) {
                trees.push(tree);
            }
        }
        let policy = match Policy::from_sources(sources) {
            Ok(p) => Ok(p),
            Err(LoadError::Invalid { diagnostics, .. }) => Err(diagnostics),
            // Loading from sources only refuses invalid text.
            Err(other) => Err(vec![PolicyDiagnostic {
                severity: crate::diagnostic::Severity::Error,
                code: "lsp::load",
                message: other.to_string(),
                labels: Vec::new(),
                help: None,
            }]),
        };
        Snapshot { files: files.into_iter().map(|(_, f)| f).collect(), policy, index: Index::build(&trees) }
    }
}

fn file_of_doc(doc: &Document) -> File {
    File { uri: doc.uri.clone(), version: Some(doc.version), text: doc.text.clone() }
}

fn root_of(doc: &Document) -> Root {
    match doc.path.as_ref().and_then(|p| p.parent()) {
        Some(dir) => Root::Folder(dir.to_path_buf()),
        None => Root::Alone(doc.uri.as_str().to_string()),
    }
}

/// The path of a `file:` URI (percent-escapes decoded).
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path`: only the local host (empty or `localhost`) is a path here.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(out).ok()?;
    // `file:///C:/dir` on Windows.
    let text = match text.get(1..3) {
        Some(drive) if cfg!(windows) && drive.ends_with(':') => text.get(1..).unwrap_or(&text).to_string(),
        _ => text,
    };
    Some(PathBuf::from(text))
}

/// The `file:` URI of an absolute path.
pub fn file_uri(path: &Path) -> Option<Uri> {
    let text = path.to_str()?.replace('\\', "/");
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn file_uris_round_trip_with_escapes() {
        let path = Path::new("/tmp/a b/polé%.handover");
        let uri = file_uri(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/pol%C3%A9%25.handover");
        assert_eq!(file_path(&uri).unwrap(), path);
        assert_eq!(file_path(&Uri::from_str("untitled:Untitled-1").unwrap()), None);
    }
}
