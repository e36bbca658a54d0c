//! KRM function mode (kpt, kustomize): one `ResourceList` in, one out.
//!
//! A ResourceList is a single YAML document, so it goes through the same driver as a manifest
//! stream (`pipeline`): its items are the resources, a new document becomes a new item, and
//! `results` is one more spliced key, all in one round of edits on one parse. Items are never dropped (empty `items` would delete every resource), the
//! Kptfile and items marked `config.kubernetes.io/local-config: "true"` are left alone, and every
//! other annotation (kpt's path/index/id ones included) is kept untouched.

use serde_json::{Map, Value as Json, json};

use crate::config::{Config, ConfigError};
use crate::patch::{self, Change, Outcome, Patch, StreamSummary, add_items};
use crate::resource::ResourceId;
use crate::stream::edit::Edits;
use crate::stream::scalar::to_json;
use crate::stream::tree::Node;
use crate::stream::{self, Doc};

/// True when the stream is one document of `kind: ResourceList` (or a `kind: List`, which the
/// functions spec accepts on input too), i.e. maia-krm was called as a KRM function.
pub fn is_resource_list(doc: &Doc, accept_list: bool) -> bool {
    match stream::top_level(doc.text, "kind") {
        Some("ResourceList") => true,
        Some("List") => accept_list,
        _ => false,
    }
}

/// A ResourceList must carry `items` (possibly empty).
pub fn has_items(root: &Node) -> bool {
    root.get("items").is_some_and(|i| i.is_seq() || i.is_null())
}

/// The config: the admin's (`--config` or `MAIA_KRM_CONFIG`) when given, else the ResourceList's
/// `functionConfig`. The stream is the group's to write: its `functionConfig` must never replace
/// the admin's config (found in review: one setting `oauth` off, or another group's ID).
pub fn config(root: &Node, admin: Option<Result<Config, ConfigError>>) -> Result<Config, ConfigError> {
    match (admin, root.get("functionConfig").map(to_json).filter(has_settings)) {
        (Some(loaded), _) => loaded,
        (None, Some(fc)) => Config::from_object(&fc).map_err(|e| e.at("functionConfig")),
        (None, None) => Err("no config: give the function a ConfigMap (group-form.yaml, cluster.yaml, options) as \
                             functionConfig, `kpt fn eval ... -- group_ID=... domain=...`, or MAIA_KRM_CONFIG"
            .into()),
    }
}

/// The ResourceList's own edits, made on the same parse as the patches': the documents patches
/// add become new items, every change a result (or the config error one error result), and a
/// `kind: List` input comes back as a ResourceList.
pub fn finish(
    root: &Node,
    patches: &[Box<dyn Patch + '_>],
    summary: &StreamSummary,
    failed: Option<&str>,
    so_far: &[Change],
    edits: &mut Edits,
    changes: &mut Vec<Change>,
) {
    let mut new_items = Vec::new();
    let (added, present) = patch::new_documents(patches, summary);
    changes.extend(present);
    for new in added {
        new_items.push(new.value);
        changes.push(new.change);
    }
    let mut results: Vec<Json> = match failed {
        Some(message) => vec![json!({"message": message, "severity": "error"})],
        None => so_far.iter().chain(changes.iter()).filter_map(result).collect(),
    };
    // A list that went through maia-krm before keeps its results: the same ones are not added twice.
    let earlier: Vec<Json> = root.get("results").map(Node::items).unwrap_or_default().iter().map(to_json).collect();
    results.retain(|r| !earlier.contains(r));
    if root.get("kind").and_then(Node::str) == Some("List") {
        if let Some(kind) = root.get("kind") {
            edits.replace_scalar(kind, "ResourceList");
        }
        if let Some(api) = root.get("apiVersion") {
            edits.replace_scalar(api, "config.kubernetes.io/v1");
        }
    }
    let added = add_items(edits, root, "items", new_items).and_then(|()| add_items(edits, root, "results", results));
    if let Err(why) = added {
        changes.push(Change {
            outcome: Outcome::Conflict,
            patch: "krm",
            resource: ResourceId::default(),
            document: 1,
            field: "results".into(),
            message: format!("the ResourceList's new items and results can't be added: {why}"),
        });
    }
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
/// A change as a KRM result (`None` for what needs no saying: unchanged, disabled).
pub fn result(c: &Change) -> Option<Json> {
    let severity = match c.outcome {
        Outcome::Changed | Outcome::Notice => "info",
        Outcome::Conflict => "warning",
        Outcome::Unprotected => "error",
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

    struct Run {
        output: String,
        error: Option<String>,
    }

    fn run(input: &str, config: Option<Result<Config, ConfigError>>) -> Result<Run, crate::error::Error> {
        let out = crate::pipeline::run(input, config, 1)?;
        Ok(Run { output: out.documents.concat(), error: out.failed })
    }

    fn is_resource_list(text: &str, accept_list: bool) -> bool {
        matches!(stream::documents(text).as_slice(), [doc] if super::is_resource_list(doc, accept_list))
    }

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
    fn flat_kpt_keys_work_and_the_admins_config_wins_over_function_config() {
        let fc = "functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: function-input}\n  data: {group_ID: g, domain: example.com, imagePullSecrets: regcred}\n";
        let from_function_config = run(&list(SA, fc), None).unwrap();
        assert_eq!(docs(&from_function_config.output)[0]["items"][0]["imagePullSecrets"], json!([{"name": "regcred"}]));
        // The stream is the group's: with the admin's config given, its functionConfig counts for nothing.
        let admins = run(&list(SA, fc), Some(Ok(config(&[])))).unwrap();
        assert_eq!(
            docs(&admins.output)[0]["items"][0]["imagePullSecrets"],
            json!([{"name": "maia-docker-registry-secret"}])
        );
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
        // With no config flag, a List is a function call (with one, a plain stream).
        let fc = "functionConfig:\n  kind: ConfigMap\n  data: {group_ID: g, domain: example.com}\n";
        let input = format!("apiVersion: v1\nkind: List\nitems:\n{SA}{fc}");
        let out = &docs(&run(&input, None).unwrap().output)[0];
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

    #[test]
    fn a_list_run_twice_keeps_its_results_once() {
        let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  data: {group_ID: demo, domain: maia.example.com}\nitems:\n- apiVersion: gateway.networking.k8s.io/v1\n  kind: GRPCRoute\n  metadata: {name: g}\n  spec: {hostnames: [g.local]}\n";
        let once = crate::pipeline::run(list, None, 1).unwrap().documents.concat();
        assert!(once.contains("results:"), "{once}");
        let twice = crate::pipeline::run(&once, None, 1).unwrap().documents.concat();
        assert_eq!(twice, once);
    }
}
