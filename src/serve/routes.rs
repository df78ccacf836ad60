//! The handlers: one per route, each answering from the policy it took when it started.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::state::{Loaded, State};
use crate::eval::verdict::{EntryError, Record};
use crate::facts::{self, Document, Format as FactFormat};
use crate::output::{self, Format};
use crate::value::Date;

/// The header carrying the identity of the policy that decided a response.
pub const POLICY_HEADER: &str = "x-handover-policy";
/// The header carrying the CLI's exit status for the same input: 0 every entry decided, 1 some
/// entries could not be (their errors are in the body).
pub const EXIT_STATUS_HEADER: &str = "x-handover-exit-status";

/// Documents above this size are decided on the blocking pool, off the async threads.
const INLINE_BYTES: usize = 64 * 1024;

/// The document name used in results when the request gives none (`?source=`).
const DEFAULT_SOURCE: &str = "request";

type Shared = Arc<State>;

/// An error answer: what was wrong, and for a body that is not a fact document each document's
/// error exactly as `handover eval` reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

/// One document's error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The document: `?source=` (default `request`), with `:LINE` for a multi-document body.
    pub source: String,
    pub error: String,
    /// The stable code of the error (`facts::unreadable`, `facts::bad-value`, …; see the README).
    pub code: String,
}

/// The query of `POST /v1/evaluate`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvaluateQuery {
    /// The date to decide at (YYYY-MM-DD), over the documents' own `as_of`.
    pub as_of: Option<String>,
    /// The name of the document in results (`source`); default `request`.
    pub source: Option<String>,
}

/// The query of `POST /v1/explain`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExplainQuery {
    /// The date to decide at (YYYY-MM-DD), over the documents' own `as_of`.
    pub as_of: Option<String>,
    /// Explain only the entry with this key (subscription id).
    pub id: Option<String>,
    /// The name of the document in results (`source`); default `request`.
    pub source: Option<String>,
}

/// The result document, the same bytes as `handover eval --format json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluateDocument {
    /// The run's date.
    pub as_of: String,
    /// One per entry: `source`, the label and key groups (`customer`, `subscription`), then
    /// `action`, `params`, `rule`, `reason` or `error`; `as_of` when the entry was decided at
    /// another date than the run's.
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<serde_json::Value>,
}

pub use crate::output::explain::ExplainedEntry;

/// What policy is in service, and how reloads went.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyInfo {
    /// `sha256:` of the policy's files (names and texts): the same files, the same identity.
    pub identity: String,
    /// The rules folder or file, or `built-in`.
    pub rules: String,
    pub files: Vec<String>,
    pub loaded_at: String,
    /// Rule ids in order (first match wins).
    pub rule_ids: Vec<String>,
    pub actions: Vec<ActionInfo>,
    /// The warnings the policy loaded with.
    pub warnings: usize,
    /// The facts a document holds, as JSON Schema (draft 2020-12), as `handover schema` prints it.
    #[schema(value_type = Object)]
    pub fact_schema: serde_json::Value,
    pub reload: ReloadInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionInfo {
    pub name: String,
    pub description: String,
    /// Parameter names and their types, in order.
    pub params: Vec<ParamInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParamInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// Reloads since the start.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadInfo {
    /// Reloads that put a new policy in service.
    pub reloads: u64,
    /// Reloads refused because the new policy has errors (the running one stayed).
    pub failures: u64,
    pub last_attempt_at: Option<String>,
    /// Every diagnostic of the last failed reload, while no later one has succeeded.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// Liveness and readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `draining`.
    pub status: String,
    pub policy: String,
}

fn json_body(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Strings, numbers and string-keyed maps only: always serialises.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// An error answer.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json_body(status, to_json(&ErrorBody { error: message.into(), details: Vec::new() }))
}

fn with_policy(mut r: Response, loaded: &Loaded) -> Response {
    if let Ok(v) = HeaderValue::from_str(&loaded.identity) {
        r.headers_mut().insert(POLICY_HEADER, v);
    }
    r
}

fn today() -> Date {
    Date::from_naive(chrono::Local::now().date_naive())
}

/// A request refused before any work: the status and the message of its error answer.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

/// The fact format a request's content type names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    Json,
    Yaml,
    Ndjson,
}

const MEDIA_TYPES: &str = "application/json, application/yaml (or application/x-yaml, text/yaml), \
                           application/x-ndjson (one document per line)";

fn body_kind(headers: &HeaderMap) -> Result<BodyKind, Refusal> {
    let given = headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase());
    let Some(given) = given else {
        return Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the request has no Content-Type: expected one of {MEDIA_TYPES}"),
        ));
    };
    let essence = given.split(';').next().unwrap_or("").trim();
    match essence {
        "application/json" => Ok(BodyKind::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => Ok(BodyKind::Yaml),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => Ok(BodyKind::Ndjson),
        other if other.ends_with("+json") => Ok(BodyKind::Json),
        other => Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type `{other}` is not a fact format: expected one of {MEDIA_TYPES}"),
        )),
    }
}

fn body_error(state: &State, e: &BytesRejection) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than the limit of {} bytes (`--max-body`)", state.max_body),
        );
    }
    let status = if e.status().is_client_error() { e.status() } else { StatusCode::BAD_REQUEST };
    error(status, format!("the body could not be read: {}", e.body_text()))
}

/// The body as text, or a 400 naming where it stops being UTF-8.
fn utf8(body: &[u8]) -> Result<&str, Refusal> {
    std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        let line = body.get(..at).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count()) + 1;
        Refusal(
            StatusCode::BAD_REQUEST,
            format!("the body is not UTF-8 text: invalid byte at offset {at} (line {line})"),
        )
    })
}

fn parse_as_of(given: Option<&str>) -> Result<Option<Date>, Refusal> {
    match given {
        None => Ok(None),
        Some(s) => Date::parse(s).map(Some).ok_or_else(|| {
            Refusal(StatusCode::BAD_REQUEST, format!("query `as_of`: `{s}` is not a date: expected YYYY-MM-DD"))
        }),
    }
}

fn query_error(e: &QueryRejection) -> Response {
    error(StatusCode::BAD_REQUEST, format!("the query is not valid: {}", e.body_text()))
}

/// A 400 for documents whose shared facts are wrong (or that are not documents at all), with
/// each one's error as `handover eval` prints it; `None` when every document can be decided.
fn not_documents(docs: &[Document], loaded: &Loaded) -> Option<Response> {
    let details: Vec<ErrorDetail> = docs
        .iter()
        .filter_map(|d| {
            d.shared.as_ref().err().map(|errs| {
                // Exactly the error an entry of this document gets in `eval`'s output.
                let e = EntryError::Facts(errs.clone());
                ErrorDetail { source: d.source.clone(), error: e.to_string(), code: e.code().to_string() }
            })
        })
        .collect();
    if details.is_empty() {
        return None;
    }
    let first = details.first().map_or(String::new(), |d| d.error.clone());
    let body = ErrorBody { error: format!("the body is not a fact document: {first}"), details };
    Some(with_policy(json_body(StatusCode::BAD_REQUEST, to_json(&body)), loaded))
}

/// Runs `f` on the async thread for a small body, on the blocking pool for a large one.
async fn decide<F: FnOnce() -> Response + Send + 'static>(size: usize, f: F) -> Response {
    if size <= INLINE_BYTES {
        return f();
    }
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("the decision stopped: {e}")),
    }
}

/// Evaluate fact documents.
///
/// JSON or YAML: every document of the body is decided and the answer is the document
/// `handover eval --format json` prints for the same input. `application/x-ndjson`: one document
/// per line, answered as a stream of JSON Lines (as `handover eval --format jsonl`), one line per
/// entry, each with its `as_of`.
#[utoipa::path(
    post,
    path = "/v1/evaluate",
    params(EvaluateQuery),
    request_body(
        description = "One fact document (JSON or YAML, several YAML documents allowed), or one per line (NDJSON)",
        content(
            (Object = "application/json"),
            (Object = "application/yaml"),
            (String = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 200, description = "Every entry's verdict or error (an entry with bad facts is an error inside, not a failed request)",
            body = EvaluateDocument,
            headers(
                ("x-handover-exit-status" = u8, description = "The CLI's exit status for the same input: 0 all decided, 1 some entries errored (absent for NDJSON)"),
                ("x-handover-policy" = String, description = "The identity of the policy that decided"),
            )),
        (status = 400, description = "Not a fact document (malformed JSON or YAML, bad shared facts), not UTF-8, or a bad query", body = ErrorBody),
        (status = 408, description = "The body or the decision took longer than `--timeout`", body = ErrorBody),
        (status = 413, description = "The body is over `--max-body`", body = ErrorBody),
        (status = 415, description = "The Content-Type is not a fact format", body = ErrorBody),
        (status = 503, description = "At `--max-concurrency`: retry later", body = ErrorBody),
    ),
)]
pub async fn evaluate(
    AxState(state): AxState<Shared>,
    query: Result<Query<EvaluateQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let loaded = state.policy();
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return query_error(&e),
    };
    let as_of = match parse_as_of(q.as_of.as_deref()) {
        Ok(d) => d,
        Err(r) => return r.into_response(),
    };
    let kind = match body_kind(&headers) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_error(&state, &e),
    };
    if let Err(r) = utf8(&body) {
        return r.into_response();
    }
    let source = q.source.unwrap_or_else(|| DEFAULT_SOURCE.to_string());
    if kind == BodyKind::Ndjson {
        return with_policy(stream_lines(state, Arc::clone(&loaded), body, source, as_of), &loaded);
    }
    let format = if kind == BodyKind::Json { FactFormat::Json } else { FactFormat::Yaml };
    decide(body.len(), move || {
        let text = std::str::from_utf8(&body).unwrap_or_default();
        let today = today();
        let docs = facts::parse(loaded.policy.schema(), text, format, &source);
        if let Some(r) = not_documents(&docs, &loaded) {
            return r;
        }
        let mut records = Vec::new();
        for d in &docs {
            let date = as_of.or(d.as_of).unwrap_or(today);
            records.extend(loaded.policy.records(d, date).into_iter().map(|r| (date, r)));
        }
        let errors = records.iter().filter(|(_, r)| r.outcome.is_err()).count();
        count(&state, records.iter().map(|(_, r)| r));
        let text = match output::render_for(&loaded.policy, Format::Json, records, as_of, today) {
            Ok(t) => t,
            // Past the records held in memory, the temporary file failed: the server's fault.
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot write the answer: {e}")),
        };
        let mut r = with_policy(json_body(StatusCode::OK, text), &loaded);
        r.headers_mut().insert(EXIT_STATUS_HEADER, HeaderValue::from_static(if errors > 0 { "1" } else { "0" }));
        r
    })
    .await
}

/// Counts verdicts by action and rule, and entries in error.
fn count<'a>(state: &State, records: impl IntoIterator<Item = &'a Record> + Clone) {
    let errors = records.clone().into_iter().filter(|r| r.outcome.is_err()).count() as u64;
    state.metrics.verdicts(
        records.into_iter().filter_map(|r| r.outcome.as_ref().ok().map(|d| (d.action.as_str(), d.rule.as_str()))),
        errors,
    );
}

/// Bytes of output gathered before they are sent.
const CHUNK_BYTES: usize = 32 * 1024;

/// Decides a JSON Lines body line by line on the blocking pool, sending the results as they come.
fn stream_lines(state: Shared, loaded: Arc<Loaded>, body: Bytes, source: String, as_of: Option<Date>) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(4);
    tokio::task::spawn_blocking(move || {
        let text = std::str::from_utf8(&body).unwrap_or_default();
        let today = today();
        let mut buf = Vec::with_capacity(CHUNK_BYTES);
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let doc = facts::parse_json_line(loaded.policy.schema(), line, format!("{source}:{}", i + 1));
            let date = as_of.or(doc.as_of).unwrap_or(today);
            let records = loaded.policy.records(&doc, date);
            count(&state, &records);
            // The lines `eval --format jsonl` writes: each record with the date it was decided at.
            match output::render(Format::Jsonl, records.into_iter().map(|r| (date, r)), as_of, today) {
                Ok(lines) => buf.extend_from_slice(lines.as_bytes()),
                // JSON Lines are written straight to memory: nothing is held in a file.
                Err(e) => {
                    let line = serde_json::json!({ "error": format!("cannot write the answer: {e}") });
                    buf.extend_from_slice(format!("{line}\n").as_bytes());
                }
            }
            if buf.len() >= CHUNK_BYTES && tx.blocking_send(Ok(Bytes::from(std::mem::take(&mut buf)))).is_err() {
                // The client went away.
                return;
            }
        }
        if !buf.is_empty() {
            let _ = tx.blocking_send(Ok(Bytes::from(buf)));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    let mut r = Body::from_stream(stream).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    r
}

/// Explain verdicts.
///
/// For each entry of the body (or the one `?id=` names): every rule tried with its conditions and
/// the facts they read, and the one-fact changes that would give another verdict, as
/// `handover explain --format json` prints them.
#[utoipa::path(
    post,
    path = "/v1/explain",
    params(ExplainQuery),
    request_body(
        description = "One fact document (JSON or YAML)",
        content((Object = "application/json"), (Object = "application/yaml")),
    ),
    responses(
        (status = 200, description = "One explanation (or error) per entry", body = Vec<ExplainedEntry>,
            headers(
                ("x-handover-exit-status" = u8, description = "0 all explained, 1 some entries errored"),
                ("x-handover-policy" = String, description = "The identity of the policy that explained"),
            )),
        (status = 400, description = "Not a fact document, not UTF-8, or a bad query", body = ErrorBody),
        (status = 404, description = "No entry with the `id` asked for", body = ErrorBody),
        (status = 408, description = "The body or the work took longer than `--timeout`", body = ErrorBody),
        (status = 413, description = "The body is over `--max-body`", body = ErrorBody),
        (status = 415, description = "The Content-Type is not JSON or YAML", body = ErrorBody),
        (status = 503, description = "At `--max-concurrency`: retry later", body = ErrorBody),
    ),
)]
pub async fn explain(
    AxState(state): AxState<Shared>,
    query: Result<Query<ExplainQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let loaded = state.policy();
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return query_error(&e),
    };
    let as_of = match parse_as_of(q.as_of.as_deref()) {
        Ok(d) => d,
        Err(r) => return r.into_response(),
    };
    let format = match body_kind(&headers) {
        Ok(BodyKind::Json) => FactFormat::Json,
        Ok(BodyKind::Yaml) => FactFormat::Yaml,
        Ok(BodyKind::Ndjson) => {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "`/v1/explain` takes one document (application/json or application/yaml), not a stream",
            );
        }
        Err(r) => return r.into_response(),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_error(&state, &e),
    };
    if let Err(r) = utf8(&body) {
        return r.into_response();
    }
    let source = q.source.unwrap_or_else(|| DEFAULT_SOURCE.to_string());
    decide(body.len(), move || {
        let text = std::str::from_utf8(&body).unwrap_or_default();
        let today = today();
        let docs = facts::parse(loaded.policy.schema(), text, format, &source);
        if let Some(r) = not_documents(&docs, &loaded) {
            return r;
        }
        let mut items = Vec::new();
        let mut failed = false;
        for doc in &docs {
            let date = as_of.or(doc.as_of).unwrap_or(today);
            // The same entries, explanations and errors as `handover explain --format json`.
            for e in crate::output::explain::explain_document(&loaded.policy, doc, date, q.id.as_deref()) {
                failed |= e.failed();
                items.push(e);
            }
        }
        if let (true, Some(id)) = (items.is_empty(), &q.id) {
            return with_policy(error(StatusCode::NOT_FOUND, format!("no entry with id `{id}` in the body")), &loaded);
        }
        let mut r = with_policy(json_body(StatusCode::OK, to_json(&items)), &loaded);
        r.headers_mut().insert(EXIT_STATUS_HEADER, HeaderValue::from_static(if failed { "1" } else { "0" }));
        r
    })
    .await
}

/// The policy in service: identity, rules, actions, fact schema, reloads.
#[utoipa::path(get, path = "/v1/policy", responses((status = 200, body = PolicyInfo)))]
pub async fn policy(AxState(state): AxState<Shared>) -> Response {
    let loaded = state.policy();
    let p = &loaded.policy;
    let schema = p.schema();
    let status = state.status();
    let info = PolicyInfo {
        identity: loaded.identity.clone(),
        rules: state.rules.as_ref().map_or("built-in".to_string(), |r| r.display().to_string()),
        files: loaded.files.clone(),
        loaded_at: loaded.loaded_at.clone(),
        rule_ids: p.rule_ids().map(str::to_string).collect(),
        actions: schema
            .actions
            .iter()
            .map(|a| ActionInfo {
                name: a.name.clone(),
                description: a.description.clone(),
                params: a
                    .params
                    .iter()
                    .map(|(n, t)| ParamInfo { name: n.clone(), ty: schema.type_name(*t).to_string() })
                    .collect(),
            })
            .collect(),
        warnings: p.warnings().len(),
        fact_schema: schema.json_schema(),
        reload: ReloadInfo {
            reloads: status.reloads,
            failures: status.failures,
            last_attempt_at: status.last_attempt_at,
            last_error: status.last_error,
            last_error_at: status.last_error_at,
        },
    };
    with_policy(json_body(StatusCode::OK, to_json(&info)), &loaded)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub async fn healthz(AxState(state): AxState<Shared>) -> Response {
    let policy = state.policy().identity.clone();
    json_body(StatusCode::OK, to_json(&Health { status: "ok".into(), policy }))
}

/// Readiness: a policy is in service and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(AxState(state): AxState<Shared>) -> Response {
    let policy = state.policy().identity.clone();
    if state.is_draining() {
        return json_body(StatusCode::SERVICE_UNAVAILABLE, to_json(&Health { status: "draining".into(), policy }));
    }
    json_body(StatusCode::OK, to_json(&Health { status: "ready".into(), policy }))
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
pub async fn metrics(AxState(state): AxState<Shared>) -> Response {
    let mut r = state.metrics.render().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    r
}

/// The OpenAPI document of this service.
#[utoipa::path(get, path = "/v1/openapi.json", responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub async fn openapi() -> Response {
    json_body(StatusCode::OK, super::openapi::document())
}

/// Any other path.
pub async fn not_found(req: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no route `{} {}`: see /v1/openapi.json (POST /v1/evaluate, POST /v1/explain, GET /v1/policy, \
             /healthz, /readyz, /metrics)",
            req.method(),
            req.uri().path()
        ),
    )
}

/// A request the limits refused: the concurrency limit (503) or the timeout (408).
pub async fn refused(err: tower::BoxError) -> Response {
    if err.is::<tower::load_shed::error::Overloaded>() {
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is at its concurrency limit (`--max-concurrency`): retry shortly",
        );
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    if err.is::<tower::timeout::error::Elapsed>() {
        return error(
            StatusCode::REQUEST_TIMEOUT,
            "the request took longer than the timeout (`--timeout`) to arrive or to be decided",
        );
    }
    error(StatusCode::SERVICE_UNAVAILABLE, format!("the request was refused: {err}"))
}

/// The label a path is counted under: a known route, or `unmatched` (so that scanners cannot
/// grow the metrics without bound).
fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/evaluate" => "/v1/evaluate",
        "/v1/explain" => "/v1/explain",
        "/v1/policy" => "/v1/policy",
        "/v1/openapi.json" => "/v1/openapi.json",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        _ => "unmatched",
    }
}

/// Counts every request by route, method and status, with its latency (to the response head).
pub async fn track(AxState(state): AxState<Shared>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = route_label(req.uri().path());
    let method = req.method().as_str().to_string();
    let method = match method.as_str() {
        "GET" | "POST" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "PATCH" => method,
        _ => "other".to_string(),
    };
    let in_flight = state.metrics.begin(route);
    let r = next.run(req).await;
    state.metrics.request(route, &method, r.status().as_u16(), start.elapsed());
    drop(in_flight);
    r
}
