//! The workspace patches: filters that turn a resource into text edits plus a report, and the
//! resource model they share.
//!
//! Each patch lives in its own file and only says *what* to change; `merge` holds the
//! append-by-name helpers they share, `stream::edit` says how to write an edit without
//! disturbing anything else, and `pipeline` runs them and checks the result.

pub mod ingress_tls;
pub mod merge;
pub mod oauth;
pub mod objects;
pub mod pull_secret;
#[cfg(test)]
mod route_tests;
pub mod shared_volume;
pub mod undeclared_pods;

use std::sync::Arc;

use crate::config::Config;
use crate::rules::pods;
use crate::stream::edit::Edits;

use crate::resource::{Resource, ResourceId};
pub use merge::{add_entries, add_items, annotate};

/// One workspace edit, applied to every resource of the kinds it handles.
pub trait Patch: Sync {
    /// The name used in reports and in the skip annotation.
    fn name(&self) -> &'static str;
    /// Whether resources of this kind concern the patch; `api_version` is `""` when absent.
    fn applies_to(&self, api_version: &str, kind: &str) -> bool;
    /// A cheap look at a document's text before it is parsed: false when the patch can have
    /// nothing to say about it.
    fn may_change(&self, _text: &str) -> bool {
        true
    }
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
    if config.login_wanted() {
        patches.push(Box::new(oauth::OAuth::new(config)));
    }
    let pods = Arc::new(pods::PodRules::new(&o.pod_templates));
    if o.pull_secret {
        patches.push(Box::new(pull_secret::PullSecret::new(config, pods.clone())));
    }
    if o.shared_volume {
        patches.push(Box::new(shared_volume::SharedVolume::new(config, pods.clone())));
    }
    if o.pull_secret || o.shared_volume {
        patches.push(Box::new(undeclared_pods::UndeclaredPods::new(pods)));
    }
    patches
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
    /// Nothing changed, but the admin should know (a pod spec no rule covers).
    Notice,
    /// The output still breaks the workspace policy here (no login, no pull secret, ...): the
    /// run fails unless the admin chose `on_unpatchable: warn`.
    Unprotected,
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
    pub patch: &'static str,
    pub resource: &'r ResourceId,
    pub document: usize,
    pub changes: &'r mut Vec<Change>,
    pub marks: &'r mut Vec<&'static str>,
    pub wanted: &'r mut Vec<NewDocument>,
}

impl Report<'_> {
    pub fn push(&mut self, outcome: Outcome, field: &str, message: String) {
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

    pub fn notice(&mut self, field: &str, message: impl Into<String>) {
        self.push(Outcome::Notice, field, message.into());
    }

    /// Records a fact about the stream for [`Patch::new_documents`].
    pub fn mark(&mut self, fact: &'static str) {
        self.marks.push(fact);
    }

    /// Asks for a document that belongs with this resource (its Certificate, its policy), added
    /// after the stream unless the stream already holds one of that kind and name.
    pub fn want(&mut self, value: serde_json::Value, message: impl Into<String>) {
        let resource = id_of(&value);
        let change = Change {
            outcome: Outcome::Changed,
            patch: self.patch,
            resource,
            document: 0, // set once the stream's length is known
            field: String::new(),
            message: message.into(),
        };
        self.wanted.push(NewDocument { value, change });
    }
}

fn id_of(value: &serde_json::Value) -> ResourceId {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    ResourceId {
        api_version: s(&value["apiVersion"]),
        kind: s(&value["kind"]),
        name: s(&value["metadata"]["name"]),
        namespace: value["metadata"]["namespace"].as_str().map(str::to_string),
        file: None,
    }
}

/// What the stream held, for patches that add documents after it.
#[derive(Debug, Default)]
pub struct StreamSummary {
    /// How many documents the input stream held.
    pub documents: usize,
    pub resources: Vec<ResourceId>,
    pub marks: Vec<&'static str>,
    /// Documents resources asked for ([`Report::want`]), in stream order.
    pub wanted: Vec<NewDocument>,
}

impl StreamSummary {
    /// Whether the stream holds a resource of this kind and name in this namespace (one
    /// without a namespace is the release's).
    pub fn holds(&self, kind: &str, name: &str, namespace: Option<&str>) -> bool {
        self.resources.iter().any(|r| {
            r.kind == kind && r.name == name && r.named_namespace().is_none_or(|ns| namespace.is_none_or(|n| n == ns))
        })
    }
}

/// Every document the patches add after the stream: each patch's own, then those resources
/// asked for, once each and only where the stream lacks them (a second run adds none, and
/// reports them as already there).
pub fn new_documents(patches: &[Box<dyn Patch + '_>], stream: &StreamSummary) -> (Vec<NewDocument>, Vec<Change>) {
    let mut added: Vec<NewDocument> = patches.iter().flat_map(|p| p.new_documents(stream)).collect();
    let mut present = Vec::new();
    for wanted in &stream.wanted {
        let mut new = wanted.clone();
        new.change.document = stream.documents + 1;
        let id = &new.change.resource;
        if stream.holds(&id.kind, &id.name, id.namespace.as_deref()) {
            new.change.outcome = Outcome::Unchanged;
            new.change.message = format!("in the stream already ({})", new.change.message);
            present.push(new.change);
        } else if !added.iter().any(|a| {
            let a = &a.change.resource;
            a.kind == id.kind && a.name == id.name && a.namespace == id.namespace
        }) {
            added.push(new);
        }
    }
    (added, present)
}

/// A document a patch adds after the stream (or to a ResourceList's items), with its report.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub value: serde_json::Value,
    pub change: Change,
}
