//! Helpers for unit tests: a config built from flat keys, and one-call runs of the pipeline.

use serde_json::{Map, Value as Json, json};

use crate::config::Config;
use crate::patch::{Change, Outcome};
use crate::pipeline;
use crate::stream::{Limits, scalar::to_json, tree};

/// The demo workspace with cert-manager + nginx, plus `extra` flat keys.
pub fn config(extra: &[(&str, &str)]) -> Config {
    Config::from_data(&data(extra)).expect("test config is valid")
}

/// The config error the test config with `extra` gives.
pub fn config_error(extra: &[(&str, &str)]) -> String {
    Config::from_data(&data(extra)).expect_err("test config is invalid").to_string()
}

fn data(extra: &[(&str, &str)]) -> Map<String, Json> {
    let mut data: Map<String, Json> = json!({
        "group_ID": "Demo_Group",
        "group_subdomain": "demo-group",
        "oauth_url": "demo-group.maia.example.com",
        "domain": "maia.example.com",
        "nginx_cluster_issuer": "cluster-issuer",
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    for (k, v) in extra {
        data.insert(k.to_string(), json!(v));
    }
    data.retain(|_, v| v != "");
    data
}

/// Runs the pipeline; returns the output stream and the report.
pub fn run(input: &str, config: &Config) -> (String, Vec<Change>) {
    let out = pipeline::run(input, Some(Ok(config.clone())), 1).expect("input is valid");
    let mut text: String = out.documents.concat();
    for doc in &out.new_documents {
        text.push_str("---\n");
        text.push_str(doc);
    }
    (text, out.changes)
}

/// Every document of a stream as JSON (YAML 1.1 typing), to assert on structure.
pub fn docs(text: &str) -> Vec<Json> {
    crate::stream::documents(text)
        .iter()
        .filter_map(|d| tree::parse(d.text, &Limits::default()).expect("output parses").map(|n| to_json(&n)))
        .collect()
}

/// Messages of the changes with the given outcome, for assertions.
pub fn messages(changes: &[Change], outcome: Outcome) -> Vec<String> {
    changes.iter().filter(|c| c.outcome == outcome).map(|c| format!("{} {}", c.field, c.message)).collect()
}

/// The built-in workload kinds and their pod spec paths, as the tests expect them.
pub const WORKLOADS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("Deployment", "spec.template.spec"),
    ("StatefulSet", "spec.template.spec"),
    ("DaemonSet", "spec.template.spec"),
    ("ReplicaSet", "spec.template.spec"),
    ("ReplicationController", "spec.template.spec"),
    ("Job", "spec.template.spec"),
    ("CronJob", "spec.jobTemplate.spec.template.spec"),
];

/// JSON pointer of a dotted path.
pub fn pointer(dotted: &str) -> String {
    format!("/{}", dotted.replace('.', "/"))
}

/// A minimal object of a built-in workload kind with two containers at its pod spec path.
pub fn pod_object(kind: &str) -> String {
    let (_, path) = WORKLOADS.iter().find(|(k, _)| *k == kind).expect("a workload kind");
    let path: Vec<&str> = path.split('.').collect();
    let mut text = format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x\n");
    for (depth, key) in path.iter().enumerate() {
        text.push_str(&format!("{}{key}:\n", "  ".repeat(depth)));
    }
    let pad = "  ".repeat(path.len());
    text.push_str(&format!("{pad}containers:\n{pad}- name: a\n{pad}  image: a\n{pad}- name: b\n{pad}  image: b\n"));
    text
}
