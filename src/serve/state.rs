//! The running policy and its all-or-nothing reload.
//!
//! The policy in service is an `Arc<Loaded>` behind an [`ArcSwap`]: a request takes the `Arc` once
//! when it starts and decides everything with it, so a reload never changes a policy under a
//! request. A reload loads and checks the whole folder, and only a policy with no error replaces
//! the running one; a failed reload leaves it in place, logs every diagnostic and is shown by
//! `/v1/policy` and `/metrics`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use super::metrics::Metrics;
use crate::policy::{LoadError, Policy};

/// A policy in service, with what `/v1/policy` tells about it.
#[derive(Debug)]
pub struct Loaded {
    pub policy: Policy,
    /// `sha256:` and the hash of its files (names without their folder, and texts), in load order.
    pub identity: String,
    /// The file names the policy was read from.
    pub files: Vec<String>,
    /// When it went into service (RFC 3339, UTC).
    pub loaded_at: String,
}

impl Loaded {
    pub fn new(policy: Policy) -> Loaded {
        let identity = policy.identity();
        let files = policy.sources().files().iter().map(|f| f.name.clone()).collect();
        Loaded { policy, identity, files, loaded_at: now() }
    }
}

/// The current time, RFC 3339 in UTC to the second.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the reloads so far have given.
#[derive(Clone, Debug, Default)]
pub struct ReloadStatus {
    pub reloads: u64,
    pub failures: u64,
    pub last_attempt_at: Option<String>,
    /// The diagnostics of the last failed reload, while no later reload has succeeded.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct State {
    pub current: ArcSwap<Loaded>,
    /// The policy's file or folder; `None` for the built-in policy (nothing to reload).
    pub rules: Option<PathBuf>,
    pub reload: Mutex<ReloadStatus>,
    pub metrics: Metrics,
    /// Set once shutdown has begun: `/readyz` then answers 503 so that load balancers stop
    /// sending new requests while the ones in flight finish.
    pub draining: AtomicBool,
    pub max_body: usize,
}

impl State {
    pub fn new(loaded: Loaded, rules: Option<PathBuf>, max_body: usize) -> State {
        let metrics = Metrics::default();
        metrics.set_policy(&loaded.identity);
        State {
            current: ArcSwap::from_pointee(loaded),
            rules,
            reload: Mutex::new(ReloadStatus::default()),
            metrics,
            draining: AtomicBool::new(false),
            max_body,
        }
    }

    pub fn policy(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn status(&self) -> ReloadStatus {
        self.reload.lock().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn with_status(&self, f: impl FnOnce(&mut ReloadStatus)) {
        match self.reload.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Loads the rules again and puts them in service if they check. Blocking (reads files,
    /// checks and compiles): call it off the async threads.
    pub fn reload(&self, why: &str) -> Reloaded {
        let Some(path) = &self.rules else { return Reloaded::Unchanged };
        let before = fingerprint(path);
        let result = Policy::from_path(path);
        if fingerprint(path) != before {
            // The files changed while they were read: what was read may mix two versions.
            return Reloaded::Retry;
        }
        let at = now();
        match result {
            Ok(policy) => {
                let loaded = Loaded::new(policy);
                let unchanged = loaded.identity == self.current.load().identity;
                self.with_status(|s| {
                    s.last_attempt_at = Some(at);
                    s.last_error = None;
                    s.last_error_at = None;
                    if !unchanged {
                        s.reloads += 1;
                    }
                });
                if unchanged {
                    tracing::info!(reason = why, identity = %loaded.identity, "policy reloaded: unchanged");
                    return Reloaded::Unchanged;
                }
                for w in crate::diagnostic::render(loaded.policy.warnings(), loaded.policy.sources(), false).lines() {
                    tracing::warn!(reason = why, "{w}");
                }
                tracing::info!(reason = why, identity = %loaded.identity, files = loaded.files.len(), "policy reloaded");
                self.metrics.reloaded(true);
                self.metrics.set_policy(&loaded.identity);
                self.current.store(Arc::new(loaded));
                Reloaded::Replaced
            }
            Err(e) => {
                let text = load_error_text(&e);
                for line in text.lines() {
                    tracing::error!(reason = why, "{line}");
                }
                tracing::error!(
                    reason = why,
                    identity = %self.current.load().identity,
                    "policy reload failed: the running policy stays in service"
                );
                self.metrics.reloaded(false);
                self.with_status(|s| {
                    s.failures += 1;
                    s.last_attempt_at = Some(at.clone());
                    s.last_error = Some(text);
                    s.last_error_at = Some(at);
                });
                Reloaded::Failed
            }
        }
    }
}

/// How a reload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reloaded {
    Replaced,
    Unchanged,
    Failed,
    /// The files changed during the reload: try again once they are still.
    Retry,
}

/// A load error as plain text (every diagnostic, no colours).
pub fn load_error_text(e: &LoadError) -> String {
    e.render(false)
}

/// What a change of the rules is seen by: the real folder (through symbolic links, so that an
/// atomic swap of a link is seen) and each `.handover` file's name, length and modification time.
pub fn fingerprint(path: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let Ok(real) = std::fs::canonicalize(path) else { return out };
    out.push((real.clone(), 0, None));
    match std::fs::read_dir(&real) {
        Ok(entries) => {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "handover") {
                    let meta = std::fs::metadata(&p).ok();
                    out.push((p, meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok())));
                }
            }
        }
        Err(_) => {
            let meta = std::fs::metadata(&real).ok();
            out.push((real, meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok())));
        }
    }
    out.sort();
    out
}

/// Watches the rules for changes (a poll every `every`) and reloads on a change once the files
/// have been still for one poll, and at once on `hup`.
pub async fn watch(state: Arc<State>, every: Duration, hup: Arc<tokio::sync::Notify>) {
    let Some(path) = state.rules.clone() else {
        // The built-in policy never changes; SIGHUP is only logged.
        loop {
            hup.notified().await;
            tracing::info!("SIGHUP: the built-in policy is in service, nothing to reload");
        }
    };
    let mut seen = fingerprint(&path);
    let mut pending = false;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            () = hup.notified() => true,
        };
        let now = {
            let p = path.clone();
            tokio::task::spawn_blocking(move || fingerprint(&p)).await.unwrap_or_default()
        };
        if !forced {
            if now != seen {
                // Changed since the last look: wait until it is still.
                seen = now;
                pending = true;
                continue;
            }
            if !pending {
                continue;
            }
        }
        seen = now;
        let s = Arc::clone(&state);
        let why = if forced { "SIGHUP" } else { "the rules changed" };
        let outcome = tokio::task::spawn_blocking(move || s.reload(why)).await.unwrap_or(Reloaded::Retry);
        pending = outcome == Reloaded::Retry;
    }
}
