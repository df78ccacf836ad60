//! What the integration tests share for driving the real binary: a scratch folder that removes
//! itself, and one way to run `handover` in it with a kill guard, reading both streams while it
//! runs (so a large output cannot block it), and one way to show the result.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A folder under the system's temporary folder holding the given files (sub-folders created
/// as needed), removed when dropped. Its name is unique within the test run.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(prefix: &str, files: &[(&str, &[u8])]) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("handover-{prefix}-{}-{n}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Runs `handover ARGS` in `dir` with `stdin`, without colour. The process is killed after
/// `limit`, a guard far above what the command needs (then its status has no code). A panic
/// message on standard error fails the test.
pub fn run_in(dir: &Path, args: &[&str], stdin: &[u8], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // The command may stop reading early: a failed write of its input is not the test's concern.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let id = child.id();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if wait.recv_timeout(limit).is_err() {
            let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    guard.join().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "`handover {}` panicked: {stderr}", args.join(" "));
    out
}

/// "exit N" (or "exit killed") and both streams, for snapshots and messages; the policy's
/// identity is redacted (see [`redact_identity`]).
pub fn report(out: &Output) -> String {
    redact_identity(&format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().map_or("killed".into(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The policy's identity (`sha256:` and 64 hex digits) as `sha256:[identity]`, so that snapshots
/// do not change with every edit of the rules' text (comments included).
pub fn redact_identity(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        let (before, after) = rest.split_at(at + "sha256:".len());
        out.push_str(before);
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 64 {
            out.push_str("[identity]");
            rest = &after[64..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
