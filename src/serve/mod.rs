//! The decision service (`handover serve`, feature `serve`): the library's evaluation over HTTP.
//! It owns the routes (`routes.rs`), the policy in service and its all-or-nothing reload
//! (`state.rs`), the Prometheus metrics (`metrics.rs`) and the OpenAPI document (`openapi.rs`);
//! the limits (body size, timeout, concurrency) are tower layers set up here. It decides nothing
//! itself: every answer is the library's, rendered by `output`, as the CLI renders it.

mod metrics;
mod openapi;
pub mod routes;
pub mod state;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::policy::Policy;
use state::{Loaded, State};

/// How to serve.
#[derive(Clone, Debug)]
pub struct Config {
    /// The policy file or folder; `None` serves the built-in policy.
    pub rules: Option<PathBuf>,
    pub addr: SocketAddr,
    /// The largest request body, in bytes.
    pub max_body: usize,
    /// The longest a decision request may take, body included.
    pub timeout: Duration,
    /// Decision requests handled at once; more are answered 503 at once.
    pub max_concurrency: usize,
    /// How often the rules folder is looked at for changes.
    pub poll: Duration,
}

/// The service's router over a shared state (also used by in-process tests and benchmarks).
pub fn router(state: Arc<State>, config: &Config) -> Router {
    let limits = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(routes::refused))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(config.max_concurrency.max(1)))
        .timeout(config.timeout);
    let decisions = Router::new()
        .route("/v1/evaluate", post(routes::evaluate))
        .route("/v1/explain", post(routes::explain))
        .route_layer(limits)
        .layer(DefaultBodyLimit::max(config.max_body));
    Router::new()
        .route("/v1/policy", get(routes::policy))
        .route("/v1/openapi.json", get(routes::openapi))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .merge(decisions)
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), routes::track))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Loads the policy, binds, writes `listening on http://ADDR` to `out` and serves until SIGTERM or
/// ctrl-c, then drains the requests in flight. An error is the text to report (a policy that does
/// not check, an address that cannot be bound).
pub fn run(config: Config, out: &mut dyn Write) -> Result<(), String> {
    let _ = tracing_subscriber::fmt()
        .with_writer(log_writer())
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let policy = match &config.rules {
        Some(p) => Policy::from_path(p),
        None => Policy::builtin(),
    }
    .map_err(|e| e.render(false))?;
    let loaded = Loaded::new(policy);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's threads: {e}"))?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        let bound = listener.local_addr().map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        tracing::info!(addr = %bound, identity = %loaded.identity, files = loaded.files.len(), "serving");
        let signals = Signals::listen();
        let state = Arc::new(State::new(loaded, config.rules.clone(), config.max_body));
        let hup = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(state::watch(Arc::clone(&state), config.poll, Arc::clone(&hup)));
        tokio::spawn(forward_hangups(signals.hangup, hup));
        let app = router(Arc::clone(&state), &config);
        writeln!(out, "listening on http://{bound}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown(signals.terminate, signals.interrupt, Arc::clone(&state)))
            .await
            .map_err(|e| format!("the server stopped: {e}"))?;
        tracing::info!("stopped: every request in flight was answered");
        Ok(())
    });
    // The watcher and any reload still running are not waited for.
    runtime.shutdown_timeout(Duration::from_millis(500));
    served
}

/// Where logs go: standard error, through a descriptor of its own, so that logging from any
/// thread never waits for the standard error lock the caller may hold (the binary holds it for
/// the whole run).
fn log_writer() -> tracing_subscriber::fmt::writer::BoxMakeWriter {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            return tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(std::fs::File::from(fd)));
        }
    }
    tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr)
}

/// The signals the service answers, listened for from the start (before the address is
/// printed), so that none sent once the service is up is missed or takes the default action.
struct Signals {
    hangup: Option<Signal>,
    terminate: Option<Signal>,
    interrupt: Option<Signal>,
}

#[cfg(unix)]
type Signal = tokio::signal::unix::Signal;
/// Elsewhere no signal is listened for (the process stops as the system stops it).
#[cfg(not(unix))]
type Signal = std::convert::Infallible;

impl Signals {
    fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!("cannot listen for {name}: {e}");
                    None
                }
            };
            Signals {
                hangup: listen(SignalKind::hangup(), "SIGHUP"),
                terminate: listen(SignalKind::terminate(), "SIGTERM"),
                interrupt: listen(SignalKind::interrupt(), "SIGINT"),
            }
        }
        #[cfg(not(unix))]
        Signals { hangup: None, terminate: None, interrupt: None }
    }
}

/// Resolves when `signal` arrives; never when it could not be listened for.
#[cfg(unix)]
async fn arrival(signal: Option<&mut Signal>) {
    match signal {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn arrival(_: Option<&mut Signal>) {
    std::future::pending::<()>().await;
}

/// SIGHUP → a reload now.
async fn forward_hangups(hangup: Option<Signal>, hup: Arc<tokio::sync::Notify>) {
    let mut hangup = hangup;
    loop {
        arrival(hangup.as_mut()).await;
        hup.notify_one();
    }
}

/// Resolves on SIGINT (ctrl-c) or SIGTERM, after marking the service as draining.
async fn shutdown(terminate: Option<Signal>, interrupt: Option<Signal>, state: Arc<State>) {
    let (mut terminate, mut interrupt) = (terminate, interrupt);
    tokio::select! {
        () = arrival(terminate.as_mut()) => {},
        () = arrival(interrupt.as_mut()) => {},
    }
    state.draining.store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!("shutting down: no new connections; draining the requests in flight");
}
