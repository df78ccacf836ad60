//! Explanations of a run's entries, in the one shape `handover explain --format json` prints and
//! `POST /v1/explain` answers: where the entry is, and its explanation or why it has none.

use serde::Serialize;

use crate::eval::explain::Explanation;
use crate::facts::Document;
use crate::policy::Policy;
use crate::value::Date;

/// One entry explained.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct ExplainedEntry {
    pub source: String,
    pub label: Option<String>,
    pub key: String,
    pub as_of: String,
    /// Every rule tried, the deciding one, and the one-fact changes that would give another verdict.
    #[cfg_attr(feature = "serve", schema(value_type = Option<Object>))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Why the entry could not be explained (its facts are not valid); in place of `explanation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ExplainedEntry {
    /// Whether the entry has no verdict: its facts are not valid, or the policy cannot decide them.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.explanation.as_ref().is_some_and(|x| x.error.is_some())
    }
}

/// The entries of `doc` explained at `as_of` (only the one whose key is `id`, when given). A
/// document whose shared facts are not valid and that has no entries is one failed entry (key
/// `-`) unless `id` is given, so that it is shown rather than skipped.
pub fn explain_document(policy: &Policy, doc: &Document, as_of: Date, id: Option<&str>) -> Vec<ExplainedEntry> {
    let entry = |key: String, outcome: Result<Explanation, String>| {
        let (explanation, error) = match outcome {
            Ok(x) => (Some(x), None),
            Err(e) => (None, Some(e)),
        };
        ExplainedEntry {
            source: doc.source.clone(),
            label: doc.label.clone(),
            key,
            as_of: as_of.to_string(),
            explanation,
            error,
        }
    };
    let join = |e: &[crate::facts::FactError]| e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    let mut out = Vec::new();
    if let (Err(e), true, None) = (&doc.shared, doc.entries.is_empty(), id) {
        out.push(entry("-".into(), Err(join(e))));
    }
    for e in &doc.entries {
        if id.is_some() && e.key.as_deref() != id {
            continue;
        }
        let outcome = match (&doc.shared, &e.values) {
            (Ok(shared), Ok(item)) => Ok(policy.explain(shared, item, as_of)),
            (Err(errors), _) | (_, Err(errors)) => Err(join(errors)),
        };
        out.push(entry(e.key.clone().unwrap_or_else(|| "-".into()), outcome));
    }
    out
}
