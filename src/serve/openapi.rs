//! The OpenAPI document, generated from the handlers' annotations and the answer types.

use utoipa::OpenApi;

use super::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "handover decision service",
        description = "Decides, entry by entry, with the policy in service: the same verdicts and the same \
                       JSON as `handover eval`. Every decision answer names the policy that made it \
                       (header `x-handover-policy`)."
    ),
    paths(
        routes::evaluate,
        routes::explain,
        routes::policy,
        routes::healthz,
        routes::readyz,
        routes::metrics,
        routes::openapi,
    ),
    components(schemas(
        routes::ErrorBody,
        routes::ErrorDetail,
        routes::EvaluateDocument,
        routes::ExplainedEntry,
        routes::PolicyInfo,
        routes::ActionInfo,
        routes::ParamInfo,
        routes::ReloadInfo,
        routes::Health,
    ))
)]
struct ApiDoc;

/// The document as pretty JSON.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}
