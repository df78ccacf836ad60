//! `handover lsp` driven as an editor drives it: the real binary over standard input and output,
//! JSON-RPC with `Content-Length` framing. Every read has a kill guard: a server that hangs fails
//! the test instead of blocking it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The longest wait for one message: far above what any needs.
const GUARD: Duration = Duration::from_secs(30);

struct Client {
    child: Child,
    input: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// The latest diagnostics published for each URI.
    diagnostics: HashMap<String, Vec<Value>>,
    /// Every `publishDiagnostics` seen, in order.
    published: Vec<Value>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // Kill guard: a test that fails half-way leaves no server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handover"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            while let Some(m) = read_message(&mut output) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        Client { child, input, messages, next_id: 0, diagnostics: HashMap::new(), published: Vec::new() }
    }

    fn send(&mut self, message: Value) {
        let text = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{text}", text.len()).unwrap();
        self.input.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The next message from the server; fails after the guard.
    fn receive(&mut self) -> Value {
        let m = match self.messages.recv_timeout(GUARD) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no message from the server within {GUARD:?}; the last diagnostics: {:#?}", self.diagnostics)
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        };
        if m["method"] == "textDocument/publishDiagnostics" {
            let uri = m["params"]["uri"].as_str().unwrap().to_string();
            self.diagnostics.insert(uri, m["params"]["diagnostics"].as_array().unwrap().clone());
            self.published.push(m.clone());
        }
        m
    }

    /// Sends a request and returns its result (or fails on an error response).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.receive();
            if m["id"] == id && m.get("method").is_none() {
                assert!(m.get("error").is_none(), "`{method}` failed: {m}");
                return m["result"].clone();
            }
        }
    }

    /// Reads messages until the diagnostics of `uri` satisfy `done`; returns them.
    fn diagnostics_until(&mut self, uri: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            if let Some(d) = self.diagnostics.get(uri).filter(|d| done(d)) {
                return d.clone();
            }
            assert!(
                start.elapsed() < GUARD,
                "no diagnostics for {uri} with {what}; last: {:?}",
                self.diagnostics.get(uri)
            );
            self.receive();
        }
    }

    fn initialize() -> Client {
        let mut c = Client::start();
        let result = c.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
        let caps = &result["capabilities"];
        for cap in [
            "hoverProvider",
            "definitionProvider",
            "referencesProvider",
            "completionProvider",
            "documentFormattingProvider",
            "documentSymbolProvider",
            "codeActionProvider",
        ] {
            assert!(!caps[cap].is_null(), "capability {cap} missing: {caps}");
        }
        // Incremental document sync.
        assert_eq!(caps["textDocumentSync"]["change"], 2, "{caps}");
        assert_eq!(result["serverInfo"]["name"], "handover");
        c.notify("initialized", json!({}));
        c
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "handover", "version": 1, "text": text } }),
        );
    }

    fn at(uri: &str, (line, character): (u32, u32)) -> Value {
        json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
    }

    fn hover(&mut self, uri: &str, pos: (u32, u32)) -> String {
        let r = self.request("textDocument/hover", Client::at(uri, pos));
        r["contents"]["value"].as_str().unwrap_or_default().to_string()
    }

    /// Shuts down and exits as an editor does; the server must end by itself with status 0.
    fn shutdown(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the server exited with {status}");
                return;
            }
            assert!(start.elapsed() < GUARD, "the server did not exit after `exit`");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The `file:` URI of a path (the test paths have no characters to escape).
fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The LSP position (line, UTF-16 column) of the `nth` (0-based) occurrence of `needle` in
/// `text`, moved `plus` characters to the right.
fn pos(text: &str, needle: &str, nth: usize, plus: usize) -> (u32, u32) {
    let offset = text.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("no `{needle}` #{nth}")).0;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..offset].matches('\n').count();
    let before = &text[line_start..offset];
    let col = before.encode_utf16().count() + text[offset..].chars().take(plus).map(char::len_utf16).sum::<usize>();
    (line as u32, col as u32)
}

fn position((line, character): (u32, u32)) -> Value {
    json!({ "line": line, "character": character })
}

fn range_start(v: &Value) -> (u32, u32) {
    (v["range"]["start"]["line"].as_u64().unwrap() as u32, v["range"]["start"]["character"].as_u64().unwrap() as u32)
}

fn shipped(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

const FILES: [&str; 3] = ["actions.handover", "multichannel.handover", "schema.handover"];

fn codes(diags: &[Value]) -> Vec<&str> {
    diags.iter().filter_map(|d| d["code"].as_str()).collect()
}

fn severities(diags: &[Value], severity: u64) -> usize {
    diags.iter().filter(|d| d["severity"] == severity).count()
}

/// The shipped policy: no errors nor warnings (after the analysis too); hover, definition,
/// references, completion, outline and formatting on its real text.
#[test]
fn shipped_policy_session() {
    let mut c = Client::initialize();
    let mut texts = HashMap::new();
    for name in FILES {
        let (path, text) = shipped(name);
        c.open(&uri_of(&path), &text);
        texts.insert(name, (uri_of(&path), text));
    }
    let (rules_uri, rules) = texts["multichannel.handover"].clone();
    let (schema_uri, schema) = texts["schema.handover"].clone();
    let (actions_uri, actions) = texts["actions.handover"].clone();

    // The analysis runs after a pause: its notes (two intended overlaps) arrive as hints; there
    // is no error nor warning in any file.
    let diags =
        c.diagnostics_until(&rules_uri, "the analysis' overlap notes", |d| codes(d).contains(&"check::overlap"));
    assert_eq!(severities(&diags, 1) + severities(&diags, 2), 0, "{diags:?}");
    assert!(diags.iter().all(|d| d["severity"] == 4 && d["source"] == "handover"), "{diags:?}");
    for uri in [&schema_uri, &actions_uri] {
        assert_eq!(c.diagnostics.get(uri.as_str()), Some(&vec![]), "{uri}");
    }

    // Hover: a fact (type, default, description), an enum value, an action, a rule's citation.
    let h = c.hover(&rules_uri, pos(&rules, "subscription.channel ==", 0, 15));
    assert!(h.contains("subscription.channel: Channel"), "{h}");
    assert!(h.contains("Where the subscription was bought") && h.contains("Required."), "{h}");
    let h = c.hover(&schema_uri, pos(&schema, "type: PartnerType", 0, 1));
    assert!(h.contains("partner.type: PartnerType = direct_bill"), "{h}");
    assert!(h.contains("Defaults to `direct_bill`") && h.contains("The acting partner's CSP model"), "{h}");
    let h = c.hover(&rules_uri, pos(&rules, "== unknown", 0, 4));
    assert!(h.contains("Channel.unknown") && h.contains("Not known yet"), "{h}");
    let h = c.hover(&rules_uri, pos(&rules, "then wait_for_term_end_or_cancel", 0, 6));
    assert!(
        h.contains("action wait_for_term_end_or_cancel(until: date, days_left: int, disable_auto_renew: bool)"),
        "{h}"
    );
    assert!(h.contains("cannot be taken over before its term ends"), "{h}");
    let h = c.hover(&rules_uri, pos(&rules, "rule syndication", 0, 6));
    assert!(h.contains("Source: Partner Center, Multi-channel support: scope"), "{h}");
    assert!(h.contains("then not_applicable"), "{h}");
    assert!(h.contains("In force until 2024-08-31."), "the rule's period, from its block: {h}");

    // Go to definition, across files: an action, a fact, an enum value, an enum (a type).
    let def = |c: &mut Client, uri: &str, at: (u32, u32)| c.request("textDocument/definition", Client::at(uri, at));
    let d = def(&mut c, &rules_uri, pos(&rules, "then csp_resale_not_allowed", 0, 7));
    assert_eq!(d["uri"], actions_uri.as_str());
    assert_eq!(range_start(&d), pos(&actions, "csp_resale_not_allowed", 0, 0));
    let d = def(&mut c, &rules_uri, pos(&rules, "subscription.term_end", 0, 14));
    assert_eq!((d["uri"].as_str().unwrap(), range_start(&d)), (schema_uri.as_str(), pos(&schema, "term_end:", 0, 0)));
    let d = def(&mut c, &rules_uri, pos(&rules, "syndication\n", 0, 2));
    assert_eq!(range_start(&d), pos(&schema, "syndication ", 0, 0));
    let d = def(&mut c, &schema_uri, pos(&schema, ": Channel", 0, 3));
    assert_eq!(range_start(&d), pos(&schema, "enum Channel", 0, 5));

    // Find references: every rule that returns `request_reseller_relationship`, and the declaration.
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": &actions_uri }, "position": position(pos(&actions, "request_reseller_relationship", 0, 3)), "context": { "includeDeclaration": true } }),
    );
    let refs = refs.as_array().unwrap();
    let in_rules = refs.iter().filter(|r| r["uri"] == rules_uri.as_str()).count();
    assert_eq!(in_rules, rules.matches("then request_reseller_relationship").count(), "{refs:?}");
    // The rules since 2024 return it too.
    let (since_uri, since) = shipped("since-2024.handover");
    let in_since = refs.iter().filter(|r| r["uri"] == uri_of(&since_uri).as_str()).count();
    assert_eq!(in_since, since.matches("then request_reseller_relationship").count(), "{refs:?}");
    assert_eq!(refs.len(), in_rules + in_since + 1, "{refs:?}");
    // A rule's references: its declaration.
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": &rules_uri }, "position": position(pos(&rules, "rule syndication", 0, 6)), "context": { "includeDeclaration": true } }),
    );
    assert_eq!(refs.as_array().map(Vec::len), Some(1), "{refs}");

    // Completion: facts after `group.`, enum values after `==` and in a set, actions after `then`,
    // parameter names in a call, keywords elsewhere.
    let labels = |c: &mut Client, uri: &str, at: (u32, u32)| -> Vec<String> {
        let r = c.request("textDocument/completion", Client::at(uri, at));
        r.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect()
    };
    let facts = labels(&mut c, &rules_uri, pos(&rules, "subscription.channel ==", 0, 13));
    assert!(facts.contains(&"channel".into()) && facts.contains(&"term_end".into()), "{facts:?}");
    assert!(!facts.contains(&"role".into()), "{facts:?}");
    let values = labels(&mut c, &rules_uri, pos(&rules, "== unknown", 0, 3));
    assert!(values.contains(&"csp_partner".into()) && values.contains(&"unknown".into()), "{values:?}");
    assert!(!values.contains(&"sales_agent".into()), "{values:?}");
    let roles = labels(&mut c, &rules_uri, pos(&rules, "global_admin, user_management_admin", 0, 14));
    assert!(roles.contains(&"sales_agent".into()) && !roles.contains(&"open".into()), "{roles:?}");
    let actions_offered = labels(&mut c, &rules_uri, pos(&rules, "then manual_review", 0, 5));
    assert!(actions_offered.contains(&"manual_review".into()) && actions_offered.contains(&"switch_partner".into()));
    let params = labels(&mut c, &rules_uri, pos(&rules, "wait_for_term_end_or_cancel(", 0, 28));
    assert_eq!(params, ["until", "days_left", "disable_auto_renew"]);
    let types = labels(&mut c, &schema_uri, pos(&schema, "Channel                   \"Where", 0, 0));
    assert!(types.contains(&"date".into()) && types.contains(&"Channel".into()) && !types.contains(&"rule".into()));
    let keywords = labels(&mut c, &rules_uri, pos(&rules, "rule role_not_allowed", 0, 0));
    assert!(keywords.contains(&"rule".into()) && keywords.contains(&"when".into()), "{keywords:?}");

    // The outline of the schema: enums with their values, fact groups with their facts.
    let symbols = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": &schema_uri } }));
    let names: Vec<&str> = symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["Role", "PartnerType", "Cloud", "Service", "Commerce", "Channel", "partner", "customer", "subscription"]
    );
    let channel = &symbols[5];
    assert_eq!(channel["kind"], 10, "an enum");
    assert_eq!(channel["children"].as_array().unwrap().len(), 8);
    let symbols = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": &rules_uri } }));
    // Its rules, written in an `in force` block.
    assert_eq!(symbols.as_array().unwrap().len(), rules.matches("\n    rule ").count());

    // The shipped files are formatted: nothing to change.
    for uri in [&rules_uri, &schema_uri, &actions_uri] {
        let edits = c.request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
        );
        assert_eq!(edits, json!([]), "{uri}");
    }
    c.shutdown();
}

/// A broken copy of the shipped policy: errors with ranges, codes and related locations in
/// other files, a quick fix per did-you-mean, incremental edits with non-ASCII text, formatting,
/// and a dead rule pointing at the rule that catches its cases.
#[test]
fn broken_copy_session() {
    let broken_rules = shipped("multichannel.handover")
        .1
        .replacen("when subscription.channel == unknown", "when subscription.chanel == unknown", 1)
        .replacen("then manual_review", "then manual_reveiw", 1)
        .replacen("rule syndication {", "rule   syndication   {", 1);
    // A second `role_not_allowed` in another file.
    let broken_actions = format!(
        "{}\nrule role_not_allowed {{\n    then manual_review\n    reason \"again\"\n}}\n",
        shipped("actions.handover").1
    );
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("actions.handover", broken_actions.clone().into_bytes()),
        ("multichannel.handover", broken_rules.clone().into_bytes()),
        ("schema.handover", shipped("schema.handover").1.into_bytes()),
    ];
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let dir = util::Scratch::new("lsp-broken", &refs);
    let rules_uri = uri_of(&dir.path().join("multichannel.handover"));
    let actions_uri = uri_of(&dir.path().join("actions.handover"));
    let schema_uri = uri_of(&dir.path().join("schema.handover"));

    let mut c = Client::initialize();
    // Only the rules are open: the other files of the folder are read from disk.
    c.open(&rules_uri, &broken_rules);
    let diags = c.diagnostics_until(&rules_uri, "errors", |d| !d.is_empty());
    let mut got = codes(&diags);
    got.sort_unstable();
    assert_eq!(got, ["check::duplicate-rule", "check::unknown-action", "check::unknown-fact"], "{diags:?}");
    assert!(diags.iter().all(|d| d["severity"] == 1));
    let fact = diags.iter().find(|d| d["code"] == "check::unknown-fact").unwrap();
    assert_eq!(range_start(fact), pos(&broken_rules, "subscription.chanel", 0, 0));
    assert_eq!(fact["range"]["end"]["character"], pos(&broken_rules, "subscription.chanel", 0, 19).1);
    let message = fact["message"].as_str().unwrap();
    assert!(
        message.contains("unknown fact `subscription.chanel`")
            && message.contains("did you mean `subscription.channel`?")
    );
    // The duplicate is reported in the file it is written in, with the first declaration (here)
    // as a related location.
    let dup = diags.iter().find(|d| d["code"] == "check::duplicate-rule").unwrap();
    assert_eq!(range_start(dup), pos(&broken_rules, "rule role_not_allowed", 0, 5), "{dup}");
    let related = &dup["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], actions_uri.as_str(), "{dup}");
    assert_eq!(range_start(&related["location"]), pos(&broken_actions, "rule role_not_allowed", 0, 5));
    // The files not open get their diagnostics too (none for the schema).
    let _ = c.diagnostics_until(&schema_uri, "an empty list", <[Value]>::is_empty);

    // Incremental edits with non-ASCII text: a condition written before the misspelled fact on
    // its line moves it by UTF-16 units, not bytes nor characters.
    let inserted = "\"é𝄞\" != \"\" and ";
    let at = pos(&broken_rules, "subscription.chanel", 0, 0);
    let change = |c: &mut Client, version: i32, start: (u32, u32), end: (u32, u32), text: &str| {
        c.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": &rules_uri, "version": version },
                "contentChanges": [{ "range": { "start": { "line": start.0, "character": start.1 }, "end": { "line": end.0, "character": end.1 } }, "text": text }]
            }),
        );
    };
    change(&mut c, 2, at, at, inserted);
    let moved = (at.0, at.1 + inserted.encode_utf16().count() as u32);
    assert_eq!(moved.1 - at.1, 16, "`𝄞` is two UTF-16 units");
    let _ = c.diagnostics_until(&rules_uri, "the moved error", |d| {
        d.iter().any(|x| x["code"] == "check::unknown-fact" && range_start(x) == moved)
    });
    assert!(c.published.last().unwrap()["params"]["version"] == 2, "{:?}", c.published.last());
    // Hover after the edit, at a UTF-16 position past the non-ASCII text.
    let h = c.hover(&rules_uri, (moved.0, moved.1 + 24));
    assert!(h.contains("Channel.unknown"), "hover after the edit at {moved:?}: {h}");
    // Take the insertion out again: the error is back where it was.
    let end = (at.0, moved.1);
    change(&mut c, 3, at, end, "");
    let _ = c.diagnostics_until(&rules_uri, "the error back in place", |d| {
        d.iter().any(|x| x["code"] == "check::unknown-fact" && range_start(x) == at)
    });

    // A quick fix for each did-you-mean: the fact and the action.
    let current = c.diagnostics[&rules_uri].clone();
    let mut fixed = broken_rules.clone();
    for (code, wrong, right) in [
        ("check::unknown-fact", "subscription.chanel", "subscription.channel"),
        ("check::unknown-action", "manual_reveiw", "manual_review"),
    ] {
        let d = current.iter().find(|d| d["code"] == code).unwrap().clone();
        let actions = c.request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": &rules_uri }, "range": d["range"], "context": { "diagnostics": [d] } }),
        );
        let action = actions.as_array().unwrap().iter().find(|a| a["kind"] == "quickfix").unwrap().clone();
        assert_eq!(action["title"], format!("Change to `{right}`"));
        let edit = &action["edit"]["changes"][rules_uri.as_str()][0];
        assert_eq!(edit["newText"], right);
        assert_eq!(edit["range"], d["range"]);
        let version = if code == "check::unknown-fact" { 4 } else { 5 };
        let (s, e) = (&edit["range"]["start"], &edit["range"]["end"]);
        let as_pos = |p: &Value| (p["line"].as_u64().unwrap() as u32, p["character"].as_u64().unwrap() as u32);
        change(&mut c, version, as_pos(s), as_pos(e), right);
        fixed = fixed.replacen(wrong, right, 1);
    }
    let diags = c.diagnostics_until(&rules_uri, "only the duplicate left", |d| codes(d) == ["check::duplicate-rule"]);
    assert_eq!(diags.len(), 1);

    // Formatting: the extra spaces go; nothing else changes.
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": &rules_uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    let new_text = edits[0]["newText"].as_str().unwrap();
    assert_eq!(new_text, fixed.replacen("rule   syndication   {", "rule syndication {", 1));

    // Open the actions and put a rule for unknown channels in place of the duplicate: it comes
    // first (files load in name order), so after the pause the analysis says `unknown_channel`
    // can never decide, and points at the rule in the other file that catches its cases.
    c.open(&actions_uri, &broken_actions);
    let dup_line = pos(&broken_actions, "rule role_not_allowed", 0, 0).0;
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": &actions_uri, "version": 2 },
            "contentChanges": [{ "range": { "start": position((dup_line, 0)), "end": position((dup_line + 4, 0)) },
                                 "text": "rule unknown_first {\n    when subscription.channel == unknown\n    then manual_review\n    reason \"first\"\n}\n" }]
        }),
    );
    let diags = c.diagnostics_until(&rules_uri, "the dead rule", |d| codes(d).contains(&"check::dead-rule"));
    let dead = diags.iter().find(|d| d["code"] == "check::dead-rule").unwrap();
    assert_eq!(dead["severity"], 2, "a warning");
    assert_eq!(range_start(dead), pos(&fixed, "rule unknown_channel", 0, 5), "{dead}");
    let related = &dead["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], actions_uri.as_str(), "{dead}");
    assert_eq!(range_start(&related["location"]), (dup_line, 5), "{dead}");
    assert!(related["message"].as_str().unwrap().contains("unknown_first"), "{dead}");

    // Closing the actions without saving: the file on disk (with the duplicate) counts again.
    c.notify("textDocument/didClose", json!({ "textDocument": { "uri": &actions_uri } }));
    let diags = c.diagnostics_until(&rules_uri, "the duplicate from disk", |d| codes(d) == ["check::duplicate-rule"]);
    assert_eq!(diags.len(), 1);

    // The file fixed on disk by another tool: a watched-file change loads the policy again.
    std::fs::write(dir.path().join("actions.handover"), shipped("actions.handover").1).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": &actions_uri, "type": 2 }] }));
    let _ = c.diagnostics_until(&rules_uri, "no error left", |d| severities(d, 1) == 0);
    c.shutdown();
}

/// A buffer that is not a file is a policy alone; a syntax error has its place and code.
#[test]
fn unsaved_buffer_with_a_syntax_error() {
    let mut c = Client::initialize();
    let text = "# ünïcode\nrule r {\n    when when\n}\n";
    c.open("untitled:Untitled-1", text);
    let diags = c.diagnostics_until("untitled:Untitled-1", "a syntax error", |d| !d.is_empty());
    assert_eq!(codes(&diags), ["parse::syntax"]);
    assert_eq!(range_start(&diags[0]), (2, 9), "{diags:?}");
    // Nothing to format in a file that does not parse, and no failure either.
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": "untitled:Untitled-1" }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    assert_eq!(edits, Value::Null);
    // An unknown request is an error response, not a crash.
    c.send(json!({ "jsonrpc": "2.0", "id": 99, "method": "handover/nothing", "params": {} }));
    let reply = loop {
        let m = c.receive();
        if m["id"] == 99 {
            break m;
        }
    };
    assert_eq!(reply["error"]["code"], -32601, "{reply}");
    c.shutdown();
}

/// The VS Code grammar (editors/vscode) highlights every keyword of the language's grammar, and
/// its JSON files parse.
#[test]
fn editor_grammar_knows_every_keyword() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pest = std::fs::read_to_string(root.join("src/language/parser/policy.pest")).unwrap();
    let rule = pest.split("keyword = @{").nth(1).unwrap().split('}').next().unwrap();
    let keywords: Vec<&str> = rule.split('"').skip(1).step_by(2).collect();
    assert!(keywords.len() >= 16 && keywords.contains(&"rule"), "{keywords:?}");
    let vscode = root.join("editors/vscode");
    let grammar = std::fs::read_to_string(vscode.join("syntaxes/handover.tmLanguage.json")).unwrap();
    let grammar: Value = serde_json::from_str(&grammar).unwrap();
    let text = grammar.to_string();
    for k in keywords.iter().copied().chain(["requires", "as_of", "bool", "int", "date", "text"]) {
        assert!(
            text.contains(&format!("({k})"))
                || text.contains(&format!("|{k}"))
                || text.contains(&format!("{k}|"))
                || text.contains(&format!("\\\\b{k}\\\\b")),
            "`{k}` is not highlighted"
        );
    }
    for f in ["package.json", "language-configuration.json"] {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(vscode.join(f)).unwrap()).unwrap();
        assert!(v.is_object(), "{f}");
    }
    let package: Value = serde_json::from_str(&std::fs::read_to_string(vscode.join("package.json")).unwrap()).unwrap();
    assert_eq!(package["contributes"]["grammars"][0]["scopeName"], grammar["scopeName"]);
    assert_eq!(package["contributes"]["languages"][0]["extensions"][0], ".handover");
}
