//! Registry pull secret: lists the cluster's pull secret (cluster key `imagePullSecrets`, default
//! `maia-docker-registry-secret`) in `imagePullSecrets` of every pod spec and every ServiceAccount.
//!
//! Appends by name; never removes, reorders or rewrites the entries already there. Helm hooks get
//! it too: a hook Job pulling from the private registry needs it as much as anything else.
//! Option: `pull_secret`.

use serde_json::json;

use super::{add_items, pods, Patch, Report, Resource};
use crate::config::Config;
use crate::stream::edit::Edits;
use crate::stream::tree::Node;

pub struct PullSecret {
    secret: String,
}

impl PullSecret {
    pub fn new(config: &Config) -> Self {
        PullSecret { secret: config.cluster.image_pull_secret.clone() }
    }
}

impl Patch for PullSecret {
    fn name(&self) -> &'static str {
        "pull-secret"
    }

    fn applies_to(&self, kind: &str) -> bool {
        kind == "ServiceAccount" || pods::pod_spec_path(kind).is_some()
    }

    fn apply(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        let (parent, field) = if res.id.kind == "ServiceAccount" {
            (res.node, "imagePullSecrets".to_string())
        } else {
            match pods::pod_spec(res) {
                Ok(spec) => (spec.node, format!("{}.imagePullSecrets", spec.path)),
                Err(why) => return report.conflict("", format!("no pull secret added: {why}")),
            }
        };
        let listed = parent.get("imagePullSecrets").map(Node::items).unwrap_or_default();
        if listed.iter().any(|s| s.get("name").and_then(Node::str) == Some(&self.secret)) {
            return report.unchanged(&field, format!("already lists {}", self.secret));
        }
        if add_items(edits, parent, "imagePullSecrets", vec![json!({ "name": self.secret })]) {
            report.changed(&field, format!("added {}", self.secret));
        } else {
            report.conflict(&field, "not a list; left alone");
        }
    }
}
