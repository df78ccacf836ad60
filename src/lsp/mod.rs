//! `handover lsp`: the language server editors start for `.handover` files, over standard input
//! and output (JSON-RPC as the Language Server Protocol frames it, synchronous: one message at a
//! time).
//!
//! It owns what an editor needs and nothing of the engine: it loads the policy of each folder an
//! open file is in (all `.handover` files of a folder are one policy, open documents as typed,
//! the others from disk) through [`crate::Policy::from_sources`], and answers from there:
//!
//! - [`text`]: documents, positions (UTF-16 columns as LSP counts them) and incremental edits;
//! - [`workspace`]: which files make a policy, and the loaded policy with its [`index`];
//! - [`index`]: where every enum, value, fact group, fact, action, parameter and rule is declared
//!   and used;
//! - [`diagnostics`]: the policy's errors and warnings as LSP diagnostics, at once on every
//!   change, and the analysis' (gaps, dead rules) after a short pause in typing;
//! - [`features`]: hover, go to definition, find references, completion, the outline,
//!   formatting ([`crate::language::fmt`]) and a quick fix for every did-you-mean.

pub mod diagnostics;
pub mod features;
pub mod index;
pub mod text;
pub mod workspace;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions, Diagnostic,
    PublishDiagnosticsParams, SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri, notification, request,
};

pub use diagnostics::FileDiagnostics;
pub use workspace::{Root, Workspace};

/// How long typing must pause before the analysis (gaps, dead rules) runs.
pub const ANALYSIS_DELAY: Duration = Duration::from_millis(300);

/// The analysis budget in the editor (see [`crate::analysis::analyze_with_budget`]): a tenth of
/// `handover check`'s, so that a large policy never keeps the server busy for long.
const ANALYSIS_BUDGET: usize = crate::analysis::DEFAULT_BUDGET / 10;

/// Gap witnesses shown in the editor.
const MAX_WITNESSES: usize = 3;

/// What the server can do, as told to the editor.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
            ..TextDocumentSyncOptions::default()
        })),
        hover_provider: Some(true.into()),
        definition_provider: Some(lsp_types::OneOf::Left(true)),
        references_provider: Some(lsp_types::OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            // Not a space: a list after every word typed would be in the way.
            trigger_characters: Some([".", "(", ",", "[", ":"].map(String::from).to_vec()),
            ..CompletionOptions::default()
        }),
        document_formatting_provider: Some(lsp_types::OneOf::Left(true)),
        document_symbol_provider: Some(lsp_types::OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}

/// Runs the server on standard input until the editor says `exit` (or closes it), writing its
/// messages to `out` (standard output, which the caller may hold locked: only this thread writes).
pub fn run_stdio(out: &mut dyn std::io::Write) -> Result<(), String> {
    let (server, client) = Connection::memory();
    let Connection { sender: to_server, receiver: from_server } = client;
    let reader = std::thread::spawn(move || -> std::io::Result<()> {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        while let Some(message) = Message::read(&mut input)? {
            let exit = matches!(&message, Message::Notification(n) if n.method == notification::Exit::METHOD);
            if to_server.send(message).is_err() || exit {
                break;
            }
        }
        Ok(())
    });
    let worker = std::thread::spawn(move || serve(&server));
    // Ends when the server has stopped and dropped its side of the connection.
    for message in from_server {
        message.write(&mut &mut *out).map_err(|e| format!("cannot write to the editor: {e}"))?;
    }
    let served = worker.join().map_err(|_| "the language server stopped unexpectedly".to_string())?;
    // The reader may still wait for input that will not come; it only matters when it failed.
    if reader.is_finished() {
        if let Ok(Err(e)) = reader.join() {
            return Err(format!("cannot read the editor's messages on standard input: {e}"));
        }
    }
    served
}

/// Serves one editor on `connection`: the handshake, then every message until `exit`.
pub fn serve(connection: &Connection) -> Result<(), String> {
    let init = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": ServerInfo { name: "handover".into(), version: Some(env!("CARGO_PKG_VERSION").into()) },
    });
    let (id, _params) = connection.initialize_start().map_err(|e| format!("the editor's `initialize` failed: {e}"))?;
    connection.initialize_finish(id, init).map_err(|e| format!("the editor's `initialized` failed: {e}"))?;
    let mut server =
        Server { workspace: Workspace::new(), published: HashMap::new(), pending: HashSet::new(), due: None };
    loop {
        let message = match server.due {
            Some(due) => match connection.receiver.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(m) => m,
                Err(crossbeam_timeout) if crossbeam_timeout.is_timeout() => {
                    server.analyse(connection);
                    continue;
                }
                Err(_) => return Ok(()),
            },
            None => match connection.receiver.recv() {
                Ok(m) => m,
                Err(_) => return Ok(()),
            },
        };
        match message {
            Message::Request(req) => {
                if connection.handle_shutdown(&req).map_err(|e| format!("shutting down: {e}"))? {
                    return Ok(());
                }
                let response = server.request(req);
                send(connection, response.into());
            }
            Message::Notification(n) if n.method == notification::Exit::METHOD => return Ok(()),
            Message::Notification(n) => server.notification(connection, n),
            Message::Response(_) => {}
        }
    }
}

fn send(connection: &Connection, message: Message) {
    // The writer thread only stops when the editor has gone; there is no one left to tell.
    let _ = connection.sender.send(message);
}

struct Server {
    workspace: Workspace,
    /// The diagnostics last published for each file, for quick fixes.
    published: HashMap<Uri, Vec<Diagnostic>>,
    /// Policies changed since their last analysis.
    pending: HashSet<Root>,
    /// When the pending analyses run.
    due: Option<Instant>,
}

/// A request's parameters, or the error response saying what was wrong with them.
fn params<P: serde::de::DeserializeOwned>(req: &Request) -> Result<P, Box<Response>> {
    serde_json::from_value(req.params.clone()).map_err(|e| {
        Box::new(Response::new_err(
            req.id.clone(),
            ErrorCode::InvalidParams as i32,
            format!("bad `{}` parameters: {e}", req.method),
        ))
    })
}

fn ok<R: serde::Serialize>(id: RequestId, result: R) -> Response {
    Response::new_ok(id, result)
}

impl Server {
    fn request(&mut self, req: Request) -> Response {
        match self.answer(&req) {
            Ok(r) => r,
            Err(r) => *r,
        }
    }

    /// The snapshot, file index and current text of the document at a URI.
    fn place(&mut self, uri: &Uri) -> Option<(std::sync::Arc<workspace::Snapshot>, usize)> {
        let root = self.workspace.root_of(uri)?;
        let snapshot = self.workspace.snapshot(&root);
        let file = snapshot.file_of(uri)?;
        Some((snapshot, file))
    }

    fn answer(&mut self, req: &Request) -> Result<Response, Box<Response>> {
        let id = req.id.clone();
        Ok(match req.method.as_str() {
            request::HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(req)?;
                let at = p.text_document_position_params;
                let hover = self.place(&at.text_document.uri).and_then(|(s, f)| {
                    let offset = s.files.get(f)?.text.offset(at.position);
                    features::hover(&s, f, offset)
                });
                ok(id, hover)
            }
            request::GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(req)?;
                let at = p.text_document_position_params;
                let found = self.place(&at.text_document.uri).and_then(|(s, f)| {
                    let offset = s.files.get(f)?.text.offset(at.position);
                    features::definition(&s, f, offset)
                });
                ok(id, found.map(lsp_types::GotoDefinitionResponse::Scalar))
            }
            request::References::METHOD => {
                let p: lsp_types::ReferenceParams = params(req)?;
                let at = p.text_document_position;
                let found = self.place(&at.text_document.uri).map(|(s, f)| {
                    let offset = s.files.get(f).map_or(0, |x| x.text.offset(at.position));
                    features::references(&s, f, offset, p.context.include_declaration)
                });
                ok(id, found)
            }
            request::Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(req)?;
                let at = p.text_document_position;
                let items = self.place(&at.text_document.uri).and_then(|(s, f)| {
                    let text = &s.files.get(f)?.text;
                    Some(features::completion(&s, text, text.offset(at.position)))
                });
                ok(id, items.map(lsp_types::CompletionResponse::Array))
            }
            request::Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = params(req)?;
                let edits = self.workspace.text(&p.text_document.uri).and_then(features::formatting);
                ok(id, edits)
            }
            request::DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = params(req)?;
                let symbols = self.place(&p.text_document.uri).map(|(s, f)| features::symbols(&s, f));
                ok(id, symbols.map(lsp_types::DocumentSymbolResponse::Nested))
            }
            request::CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = params(req)?;
                let uri = p.text_document.uri;
                let published = self.published.get(&uri).map(Vec::as_slice).unwrap_or_default();
                let actions: Vec<lsp_types::CodeActionOrCommand> = features::quick_fixes(&uri, published, p.range)
                    .into_iter()
                    .map(lsp_types::CodeActionOrCommand::CodeAction)
                    .collect();
                ok(id, actions)
            }
            other => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("`{other}` is not a request handover's language server answers"),
            ),
        })
    }

    fn notification(&mut self, connection: &Connection, n: Notification) {
        let extract = |n: &Notification| n.params.clone();
        let root = match n.method.as_str() {
            notification::DidOpenTextDocument::METHOD => {
                serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(extract(&n)).ok().map(|p| {
                    let d = p.text_document;
                    self.workspace.open(d.uri, d.text, d.version)
                })
            }
            notification::DidChangeTextDocument::METHOD => {
                serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(extract(&n)).ok().and_then(|p| {
                    let d = p.text_document;
                    self.workspace.change(&d.uri, d.version, p.content_changes)
                })
            }
            notification::DidCloseTextDocument::METHOD => {
                serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(extract(&n))
                    .ok()
                    .and_then(|p| self.workspace.close(&p.text_document.uri))
            }
            notification::DidSaveTextDocument::METHOD => {
                serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(extract(&n))
                    .ok()
                    .map(|p| self.workspace.reload(&p.text_document.uri))
            }
            notification::DidChangeWatchedFiles::METHOD => {
                let changed = serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(extract(&n));
                let mut roots: Vec<Root> = changed
                    .map(|p| p.changes.iter().map(|c| self.workspace.reload(&c.uri)).collect())
                    .unwrap_or_default();
                roots.dedup();
                for root in roots {
                    self.changed(connection, root);
                }
                None
            }
            _ => None,
        };
        if let Some(root) = root {
            self.changed(connection, root);
        }
    }

    /// A policy changed: its diagnostics now, its analysis after a pause.
    fn changed(&mut self, connection: &Connection, root: Root) {
        let snapshot = self.workspace.snapshot(&root);
        self.publish(connection, diagnostics::of_snapshot(&snapshot, None));
        self.pending.insert(root);
        self.due = Some(Instant::now() + ANALYSIS_DELAY);
    }

    /// Typing paused: the changed policies that load get their analysis warnings too.
    fn analyse(&mut self, connection: &Connection) {
        self.due = None;
        for root in std::mem::take(&mut self.pending) {
            let snapshot = self.workspace.snapshot(&root);
            let Ok(policy) = &snapshot.policy else { continue };
            let analysis = policy.analyze_with_budget(MAX_WITNESSES, ANALYSIS_BUDGET);
            self.publish(connection, diagnostics::of_snapshot(&snapshot, Some(&analysis)));
        }
    }

    fn publish(&mut self, connection: &Connection, files: Vec<FileDiagnostics>) {
        for f in files {
            self.published.insert(f.uri.clone(), f.diagnostics.clone());
            let params = PublishDiagnosticsParams { uri: f.uri, diagnostics: f.diagnostics, version: f.version };
            send(connection, Notification::new(notification::PublishDiagnostics::METHOD.to_string(), params).into());
        }
    }
}
