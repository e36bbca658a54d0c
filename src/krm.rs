//! KRM function mode (kpt, kustomize): one `ResourceList` in, one out.
//!
//! A ResourceList is a single YAML document, so it goes through the same engine as a manifest
//! stream: its items are the resources, a new document becomes a new item, and `results` is one
//! more spliced key. Items are never dropped (empty `items` would delete every resource), the
//! Kptfile and items marked `config.kubernetes.io/local-config: "true"` are left alone, and every
//! other annotation (kpt's path/index/id ones included) is kept untouched.

use serde_json::{Map, Value as Json, json};

use crate::config::Config;
use crate::error::InputError;
use crate::patch::{self, Change, Outcome, StreamSummary, add_items};
use crate::stream::edit::Edits;
use crate::stream::scalar::to_json;
use crate::stream::tree::{self, Node};
use crate::stream::{self, Limits};

/// What a KRM run produced: the ResourceList to print, whether it carries an error result, and
/// the changes (for `--explain`).
pub struct Run {
    pub output: String,
    /// The error result's message when the run failed (kustomize shows only stderr).
    pub error: Option<String>,
    pub changes: Vec<Change>,
}

/// True when the input is one document of `kind: ResourceList` (or a `kind: List`, which the
/// functions spec accepts on input too), i.e. maia-krm was called as a KRM function.
pub fn is_resource_list(input: &str, accept_list: bool) -> bool {
    let docs = stream::documents(input);
    let [doc] = docs.as_slice() else { return false };
    match stream::top_level_kind(doc.text) {
        Some("ResourceList") => true,
        Some("List") => accept_list,
        _ => false,
    }
}

/// Runs the patches over a ResourceList. The config comes from its `functionConfig` when that
/// carries any setting, else from `fallback` (`--config` or `MAIA_KRM_CONFIG`).
pub fn run(input: &str, fallback: Option<Result<Config, String>>) -> Result<Run, InputError> {
    let doc = stream::documents(input)[0];
    let limits = Limits::default();
    let root = tree::parse(doc.text, &limits).map_err(|e| doc.error(e.line, e.message))?;
    let root = root.filter(|r| r.get("items").is_some_and(|i| i.is_seq() || i.is_null()));
    let root = root.ok_or_else(|| doc.error(1, "a ResourceList needs an `items` list"))?;
    let function_config = root.get("functionConfig").map(to_json).filter(has_settings);
    let config = match (function_config, fallback) {
        (Some(fc), _) => Config::from_object(&fc).map_err(|e| format!("functionConfig: {e}")),
        (None, Some(loaded)) => loaded,
        (None, None) => Err("no config: give the function a ConfigMap (group-form.yaml, cluster.yaml, options) as \
                             functionConfig, `kpt fn eval ... -- group_ID=... domain=...`, or MAIA_KRM_CONFIG"
            .into()),
    };
    let config = match config {
        Ok(c) => c,
        Err(message) => {
            let result = json!({"message": message, "severity": "error"});
            let output = finish(doc.text, &root, Vec::new(), vec![result], &limits)?;
            return Ok(Run { output, error: Some(message), changes: Vec::new() });
        }
    };
    let mut limits = config.options.limits.clone();
    limits.max_document_bytes = limits.max_document_bytes.max(limits.max_stream_bytes); // the list is one document
    let patches = patch::enabled(&config);
    let patched = patch::run_document(&doc, &patches, &limits)?;
    let summary = StreamSummary { documents: 1, resources: patched.resources, marks: patched.marks };
    let mut changes = patched.changes;
    let mut new_items = Vec::new();
    for new in patches.iter().flat_map(|p| p.new_documents(&summary)) {
        new_items.push(new.value);
        changes.push(new.change);
    }
    let results = changes.iter().filter_map(result).collect();
    let root =
        tree::parse(&patched.text, &limits).map_err(|e| doc.error(e.line, e.message))?.expect("still a ResourceList");
    let output = finish(&patched.text, &root, new_items, results, &limits)?;
    Ok(Run { output, error: None, changes })
}

/// Appends new items and results, and makes a `kind: List` input a ResourceList on output.
fn finish(
    text: &str,
    root: &Node,
    new_items: Vec<Json>,
    results: Vec<Json>,
    limits: &Limits,
) -> Result<String, InputError> {
    let mut edits = Edits::new(text);
    if root.get("kind").and_then(Node::str) == Some("List") {
        if let Some(kind) = root.get("kind") {
            edits.replace_scalar(kind, "ResourceList");
        }
        if let Some(api) = root.get("apiVersion") {
            edits.replace_scalar(api, "config.kubernetes.io/v1");
        }
    }
    add_items(&mut edits, root, "items", new_items);
    if !add_items(&mut edits, root, "results", results) {
        return Err(InputError { document: 1, file: None, line: root.line, message: "`results` is not a list".into() });
    }
    let out = edits.apply();
    debug_assert!(tree::parse(&out, limits).is_ok(), "finish() wrote invalid YAML");
    Ok(out)
}

/// kpt's `fn eval` without config sends an empty `function-input` ConfigMap: that is no config.
fn has_settings(fc: &Json) -> bool {
    match fc.get("data") {
        Some(Json::Object(data)) => !data.is_empty(),
        _ => false,
    }
}

/// A change as a KRM result: info for a change made, warning for a conflict left alone. Things
/// already as wanted are not results (a second run would otherwise repeat every one).
fn result(c: &Change) -> Option<Json> {
    let severity = match c.outcome {
        Outcome::Changed => "info",
        Outcome::Conflict => "warning",
        Outcome::Unchanged | Outcome::Disabled => return None,
    };
    let r = &c.resource;
    let mut resource_ref = Map::new();
    resource_ref.insert("apiVersion".into(), json!(r.api_version));
    resource_ref.insert("kind".into(), json!(r.kind));
    resource_ref.insert("name".into(), json!(r.name));
    if let Some(ns) = &r.namespace {
        resource_ref.insert("namespace".into(), json!(ns));
    }
    let mut result = Map::new();
    result.insert("message".into(), json!(format!("{}: {}", c.patch, c.message)));
    result.insert("severity".into(), json!(severity));
    result.insert("resourceRef".into(), Json::Object(resource_ref));
    if !c.field.is_empty() {
        result.insert("field".into(), json!({"path": c.field}));
    }
    if let Some((path, index)) = &r.file {
        let mut file = Map::new();
        file.insert("path".into(), json!(path));
        if let Some(i) = index {
            file.insert("index".into(), json!(i));
        }
        result.insert("file".into(), Json::Object(file));
    }
    result.insert("tags".into(), json!({"maia-krm.io/patch": c.patch}));
    Some(Json::Object(result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{config, docs};

    const SA: &str = "  - apiVersion: v1\n    kind: ServiceAccount\n    metadata:\n      name: sa\n      annotations:\n        internal.config.kubernetes.io/path: 'sa.yaml'\n        internal.config.kubernetes.io/index: '0'\n";

    fn list(items: &str, function_config: &str) -> String {
        format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{items}{function_config}")
    }

    #[test]
    fn items_are_patched_and_results_carry_refs_and_files() {
        let run = run(&list(SA, ""), Some(Ok(config(&[])))).unwrap();
        assert!(run.error.is_none());
        let out = &docs(&run.output)[0];
        assert_eq!(out["items"][0]["imagePullSecrets"], json!([{"name": "maia-docker-registry-secret"}]));
        assert_eq!(out["items"][0]["metadata"]["annotations"]["internal.config.kubernetes.io/path"], json!("sa.yaml"));
        let r = &out["results"][0];
        assert_eq!(r["severity"], json!("info"));
        assert_eq!(r["resourceRef"], json!({"apiVersion": "v1", "kind": "ServiceAccount", "name": "sa"}));
        assert_eq!(r["field"]["path"], json!("imagePullSecrets"));
        assert_eq!(r["file"], json!({"path": "sa.yaml", "index": 0}));
    }

    #[test]
    fn function_config_wins_and_flat_kpt_keys_work() {
        let fc = "functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: function-input}\n  data: {group_ID: g, domain: example.com, imagePullSecrets: regcred}\n";
        let run = run(&list(SA, fc), Some(Ok(config(&[])))).unwrap();
        assert_eq!(docs(&run.output)[0]["items"][0]["imagePullSecrets"], json!([{"name": "regcred"}]));
    }

    #[test]
    fn missing_config_is_an_error_result_that_keeps_every_item() {
        let empty_fc = "functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: function-input}}\n";
        let run = run(&list(SA, empty_fc), None).unwrap();
        assert!(run.error.as_deref().is_some_and(|e| e.starts_with("no config")));
        let out = &docs(&run.output)[0];
        assert_eq!(out["items"].as_array().unwrap().len(), 1);
        assert!(out["items"][0].get("imagePullSecrets").is_none());
        assert_eq!(out["results"][0]["severity"], json!("error"));
    }

    #[test]
    fn kptfile_and_local_config_items_are_skipped() {
        let items = "  - apiVersion: kpt.dev/v1\n    kind: Kptfile\n    metadata: {name: pkg}\n  - apiVersion: v1\n    kind: ServiceAccount\n    metadata:\n      name: local\n      annotations: {config.kubernetes.io/local-config: \"true\"}\n";
        let input = list(items, "");
        let run = run(&input, Some(Ok(config(&[])))).unwrap();
        assert_eq!(run.output, input);
    }

    #[test]
    fn a_list_input_comes_back_as_a_resource_list() {
        let input = format!("apiVersion: v1\nkind: List\nitems:\n{SA}");
        let out = &docs(&run(&input, Some(Ok(config(&[])))).unwrap().output)[0];
        assert_eq!(
            (out["apiVersion"].as_str(), out["kind"].as_str()),
            (Some("config.kubernetes.io/v1"), Some("ResourceList"))
        );
    }

    #[test]
    fn earlier_results_are_kept_and_empty_items_stay_empty() {
        let input = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nresults:\n- message: earlier\n  severity: info\n";
        let out = &docs(&run(input, Some(Ok(config(&[])))).unwrap().output)[0];
        assert_eq!(out["items"], json!([]));
        assert_eq!(out["results"][0]["message"], json!("earlier"));
    }

    #[test]
    fn detection_by_content() {
        assert!(is_resource_list("apiVersion: config.kubernetes.io/v1alpha1\nkind: ResourceList\nitems: []\n", false));
        assert!(is_resource_list("apiVersion: v1\nkind: List\nitems: []\n", true));
        assert!(!is_resource_list("apiVersion: v1\nkind: List\nitems: []\n", false));
        assert!(!is_resource_list("kind: ResourceList\n---\nkind: Pod\n", true));
    }
}
