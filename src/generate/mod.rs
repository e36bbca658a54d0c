//! The rest of the registration runbook, as commands: a new form with fresh secrets, the
//! namespace's own resources, per-component values, and the ordered install plan.
//!
//! Everything here is deterministic for a given form and cluster config — every random value
//! comes from the form — except `form new`, the one place secrets are generated.

pub mod form;
pub mod namespace;
pub mod needs;
pub mod plan;
pub mod values;

use serde_json::Value as Json;

use crate::stream::edit::block_document;

/// Several objects as one YAML stream.
pub fn yaml_stream(docs: &[Json]) -> String {
    docs.iter().map(|d| format!("---\n{}", block_document(d))).collect()
}
