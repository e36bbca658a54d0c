//! The workspace patches: filters that turn a resource into text edits plus a report.
//!
//! Each patch lives in its own file and only says *what* to change; `stream::edit` says how to
//! write it without disturbing anything else. A document is re-parsed after each patch that
//! changed it, so every patch sees the text the previous one left (and a patch that ever wrote
//! invalid YAML would be caught right there, not by the cluster).

pub mod ingress_tls;
pub mod oauth;
pub mod pods;
pub mod pull_secret;
pub mod shared_volume;

use std::borrow::Cow;

use crate::config::Config;
use crate::error::InputError;
use crate::stream::edit::Edits;
use crate::stream::tree::{self, Node, Value};
use crate::stream::{Doc, Limits};

/// Annotation that switches patches off for one resource: `all`, `true`, or a comma-separated
/// list of patch names (`oauth,shared-volume`).
pub const SKIP_ANNOTATION: &str = "maia-krm.io/skip";

/// One workspace edit, applied to every resource of the kinds it handles.
pub trait Patch: Sync {
    /// The name used in reports and in the skip annotation.
    fn name(&self) -> &'static str;
    fn applies_to(&self, kind: &str) -> bool;
    fn apply(&self, res: &Resource, edits: &mut Edits, report: &mut Report);
    /// Documents to add after the whole stream, once every resource has been seen.
    fn new_documents(&self, _stream: &StreamSummary) -> Vec<NewDocument> {
        Vec::new()
    }
}

/// The patches enabled by `config`, in the order they run.
pub fn enabled(config: &Config) -> Vec<Box<dyn Patch + '_>> {
    let o = &config.options;
    let mut patches: Vec<Box<dyn Patch>> = Vec::new();
    if o.ingress_tls {
        patches.push(Box::new(ingress_tls::IngressTls::new(config)));
    }
    if o.oauth && config.form.oauth_url.is_some() {
        patches.push(Box::new(oauth::OAuth::new(config)));
    }
    if o.pull_secret {
        patches.push(Box::new(pull_secret::PullSecret::new(config)));
    }
    if o.shared_volume {
        patches.push(Box::new(shared_volume::SharedVolume::new(config)));
    }
    patches
}

/// Identifies a resource in reports (and KRM `resourceRef`s).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceId {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// kpt/kustomize's file annotations, for KRM `results[].file`.
    pub file: Option<(String, Option<u64>)>,
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A resource as a patch sees it: its node in the current document text and its identity.
pub struct Resource<'n, 'a> {
    pub node: &'n Node<'a>,
    pub id: ResourceId,
    /// Uses anchors, aliases or merge keys (computed once: every patch asks).
    shares_structure: bool,
}

impl<'n, 'a> Resource<'n, 'a> {
    fn new(node: &'n Node<'a>) -> Self {
        let s = |path: &[&str]| node.at(path).and_then(Node::str).unwrap_or_default().to_string();
        let annotation =
            |keys: [&str; 2]| keys.iter().find_map(|k| node.at(&["metadata", "annotations", k]).and_then(Node::str));
        let file = annotation(["internal.config.kubernetes.io/path", "config.kubernetes.io/path"]).map(|path| {
            let index = annotation(["internal.config.kubernetes.io/index", "config.kubernetes.io/index"]);
            (path.to_string(), index.and_then(|i| i.parse().ok()))
        });
        let id = ResourceId {
            api_version: s(&["apiVersion"]),
            kind: s(&["kind"]),
            name: s(&["metadata", "name"]),
            namespace: node.at(&["metadata", "namespace"]).and_then(Node::str).map(str::to_string),
            file,
        };
        Resource { node, id, shares_structure: node.shares_structure() }
    }

    pub fn annotation(&self, key: &str) -> Option<&'n str> {
        self.node.at(&["metadata", "annotations", key]).and_then(Node::str)
    }

    pub fn label(&self, key: &str) -> Option<&'n str> {
        self.node.at(&["metadata", "labels", key]).and_then(Node::str)
    }

    /// A Helm hook (only Helm 4 sends these to post-renderers).
    pub fn is_hook(&self) -> bool {
        self.annotation("helm.sh/hook").is_some()
    }

    fn skips(&self, patch: &str) -> bool {
        self.annotation(SKIP_ANNOTATION)
            .is_some_and(|v| v.split(',').map(str::trim).any(|p| p == patch || p == "all" || p == "true"))
    }
}

/// What a patch did, or chose not to do, at one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    /// Already as wanted: nothing to do (what a second run reports everywhere).
    Unchanged,
    /// Left alone because the resource holds something else there; worth a warning.
    Conflict,
    /// Switched off by the skip annotation.
    Disabled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub outcome: Outcome,
    pub patch: &'static str,
    pub resource: ResourceId,
    /// 1-based position of the document in the stream.
    pub document: usize,
    /// Dotted path of the field, e.g. `spec.template.spec.imagePullSecrets`.
    pub field: String,
    pub message: String,
}

/// Collects one patch's changes for one resource, and the stream-level facts it notices.
pub struct Report<'r> {
    patch: &'static str,
    resource: &'r ResourceId,
    document: usize,
    changes: &'r mut Vec<Change>,
    marks: &'r mut Vec<&'static str>,
}

impl Report<'_> {
    fn push(&mut self, outcome: Outcome, field: &str, message: String) {
        self.changes.push(Change {
            outcome,
            patch: self.patch,
            resource: self.resource.clone(),
            document: self.document,
            field: field.to_string(),
            message,
        });
    }

    pub fn changed(&mut self, field: &str, message: impl Into<String>) {
        self.push(Outcome::Changed, field, message.into());
    }

    pub fn unchanged(&mut self, field: &str, message: impl Into<String>) {
        self.push(Outcome::Unchanged, field, message.into());
    }

    pub fn conflict(&mut self, field: &str, message: impl Into<String>) {
        self.push(Outcome::Conflict, field, message.into());
    }

    /// Records a fact about the stream for [`Patch::new_documents`].
    pub fn mark(&mut self, fact: &'static str) {
        self.marks.push(fact);
    }
}

/// What the stream held, for patches that add documents after it.
#[derive(Debug, Default)]
pub struct StreamSummary {
    /// How many documents the input stream held.
    pub documents: usize,
    pub resources: Vec<ResourceId>,
    pub marks: Vec<&'static str>,
}

/// A document a patch adds after the stream (or to a ResourceList's items), with its report.
pub struct NewDocument {
    pub value: serde_json::Value,
    pub change: Change,
}

/// One document after the patches: its text (borrowed when untouched) and what happened.
#[derive(Debug)]
pub struct Patched<'a> {
    pub text: Cow<'a, str>,
    pub resources: Vec<ResourceId>,
    pub changes: Vec<Change>,
    pub marks: Vec<&'static str>,
}

/// Runs every patch over one document. All patches see the same parse of it and their splices
/// are merged; only when two patches' edits collide (both creating `metadata.annotations`, say)
/// is the document rewritten and re-parsed before the later patch runs again.
pub fn run_document<'a>(
    doc: &Doc<'a>,
    patches: &[Box<dyn Patch + '_>],
    limits: &Limits,
) -> Result<Patched<'a>, InputError> {
    crate::stream::check_size(doc, limits)?;
    let mut out =
        Patched { text: Cow::Borrowed(doc.text), resources: Vec::new(), changes: Vec::new(), marks: Vec::new() };
    if let Some(kind) = crate::stream::top_level_kind(doc.text)
        .filter(|k| !patches.iter().any(|p| p.applies_to(k)) && !k.ends_with("List"))
    {
        // No patch wants this document: check it and record what it is, but build no tree.
        let head = tree::check(doc.text, limits).map_err(|e| doc.error(e.line, e.message))?;
        let Some(head) = head else { return Ok(out) };
        let resources = resources_of(&head).map_err(|m| doc.error(head.line, m))?;
        if resources.iter().all(|r| r.id.kind == kind) {
            out.resources = resources.into_iter().map(|r| r.id).collect();
            return Ok(out);
        }
    }
    let mut next_patch = 0;
    loop {
        let root = tree::parse(&out.text, limits).map_err(|e| {
            let message = if next_patch == 0 {
                e.message
            } else {
                format!("maia-krm bug, please report: a patch wrote invalid YAML: {}", e.message)
            };
            doc.error(e.line, message)
        })?;
        let Some(root) = root else { return Ok(out) };
        let resources = resources_of(&root).map_err(|m| doc.error(root.line, m))?;
        if next_patch == 0 {
            out.resources = resources.iter().map(|r| r.id.clone()).collect();
        }
        let mut batch = Edits::new(&out.text);
        while let Some(patch) = patches.get(next_patch) {
            let (mut changes, mut marks) = (Vec::new(), Vec::new());
            let mut edits = Edits::new(&out.text);
            for res in resources.iter().filter(|r| patch.applies_to(&r.id.kind)) {
                let mut report = Report {
                    patch: patch.name(),
                    resource: &res.id,
                    document: doc.index,
                    changes: &mut changes,
                    marks: &mut marks,
                };
                if res.skips(patch.name()) {
                    report.push(
                        Outcome::Disabled,
                        "metadata.annotations",
                        format!("disabled by annotation {SKIP_ANNOTATION}"),
                    );
                } else if res.shares_structure {
                    // An edit under an anchor would silently change every alias of it too.
                    report.conflict("", "not patched: the resource uses YAML anchors, aliases or merge keys");
                } else {
                    patch.apply(res, &mut edits, &mut report);
                }
            }
            if batch.collides_with(&edits) {
                break; // rewrite with what we have, re-parse, and run this patch again
            }
            batch.absorb(edits);
            out.changes.append(&mut changes);
            out.marks.append(&mut marks);
            next_patch += 1;
        }
        if batch.is_empty() {
            return Ok(out);
        }
        out.text = Cow::Owned(batch.apply());
        if next_patch == patches.len() {
            // Debug builds (the unit tests) re-parse every patched document; release builds rely on
            // those tests, the corpus oracle and the fuzzer rather than pay a second parse per document.
            debug_assert!(tree::parse(&out.text, limits).is_ok(), "a patch wrote invalid YAML:\n{}", out.text);
            return Ok(out);
        }
    }
}

/// The resources a document holds: itself, or the items of a `kind: List`.
fn resources_of<'n, 'a>(root: &'n Node<'a>) -> Result<Vec<Resource<'n, 'a>>, String> {
    let what = match &root.value {
        Value::Map { .. } => None,
        Value::Seq { .. } => Some("a sequence"),
        Value::Scalar { .. } => Some("a scalar"),
        Value::Alias => Some("an alias"),
    };
    if let Some(what) = what {
        return Err(format!("the document is {what}, not a mapping (a Kubernetes object)"));
    }
    let kind = root.get("kind").and_then(Node::str).unwrap_or_default();
    let items = || root.get("items").map(Node::items).unwrap_or_default().iter().filter(|i| i.is_map());
    if kind == "ResourceList" {
        // kpt hands functions the Kptfile and the function's own config too: they are not workspace resources.
        let local = |i: &Node| {
            i.get("kind").and_then(Node::str) == Some("Kptfile")
                || i.at(&["metadata", "annotations", "config.kubernetes.io/local-config"]).and_then(Node::str)
                    == Some("true")
        };
        Ok(items().filter(|i| !local(i)).map(Resource::new).collect())
    } else if kind == "List" || (kind.ends_with("List") && root.get("items").is_some_and(Node::is_seq)) {
        Ok(items().map(Resource::new).collect())
    } else {
        Ok(vec![Resource::new(root)])
    }
}

/// Adds annotations the resource does not set yet; reports the ones it sets otherwise.
pub fn annotate(res: &Resource, wanted: &[(String, String)], edits: &mut Edits, report: &mut Report) {
    let mut missing = Vec::new();
    for (key, value) in wanted {
        let field = format!("metadata.annotations.{key}");
        match res.annotation(key) {
            Some(v) if v == value => report.unchanged(&field, format!("already {value}")),
            Some(v) => report.conflict(&field, format!("kept the chart's value {v:?} (wanted {value:?})")),
            None => {
                report.changed(&field, format!("set to {value}"));
                missing.push((key.clone(), value.clone()));
            }
        }
    }
    match res.node.get("metadata") {
        Some(meta) if meta.is_map() && add_entries(edits, meta, "annotations", missing) => {}
        _ => report.conflict("metadata.annotations", "metadata or its annotations are not a mapping; left alone"),
    }
}

/// Sets entries of a string map under `parent.key` (annotations, labels), creating the map if
/// needed. Entries whose key already exists are left to the caller, who has reported them.
/// Returns false, changing nothing, when `parent.key` holds something that is not a map.
pub fn add_entries(edits: &mut Edits, parent: &Node, key: &str, entries: Vec<(String, String)>) -> bool {
    match parent.get(key) {
        Some(map) if map.is_map() => {
            for (k, v) in entries {
                edits.put(map, &k, &serde_json::Value::String(v));
            }
        }
        Some(other) if !other.is_null() => return false,
        _ if entries.is_empty() => {}
        _ => {
            let map = entries.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
            edits.put(parent, key, &serde_json::Value::Object(map));
        }
    }
    true
}

/// Appends items to the list under `parent.key`, creating the list if it is absent or null.
/// Returns false, changing nothing, when `parent.key` holds something that is not a list.
pub fn add_items(edits: &mut Edits, parent: &Node, key: &str, items: Vec<serde_json::Value>) -> bool {
    match parent.get(key) {
        Some(seq) if seq.is_seq() => items.iter().for_each(|item| edits.append(seq, item)),
        Some(other) if !other.is_null() => return false,
        _ if items.is_empty() => {}
        _ => edits.put(parent, key, &serde_json::Value::Array(items)),
    }
    true
}
