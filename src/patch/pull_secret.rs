//! Registry pull secret: lists the cluster's pull secret (cluster key `imagePullSecrets`, default
//! `maia-docker-registry-secret`) in `imagePullSecrets` of every pod spec and every ServiceAccount.
//!
//! Appends by name; never removes, reorders or rewrites the entries already there. Helm hooks get
//! it too: a hook Job pulling from the private registry needs it as much as anything else.
//! Option: `pull_secret`.

use serde_json::json;

use std::sync::Arc;

use super::pods::{Pod, PodRules, PullSecrets};
use super::{Patch, Report, Resource, add_items};
use crate::config::Config;
use crate::stream::edit::Edits;
use crate::stream::tree::Node;

pub struct PullSecret {
    secret: String,
    pods: Arc<PodRules>,
}

impl PullSecret {
    pub fn new(config: &Config, pods: Arc<PodRules>) -> Self {
        PullSecret { secret: config.cluster.image_pull_secret.clone(), pods }
    }

    pub fn name(&self) -> &str {
        &self.secret
    }

    /// Whether a pod's pods get the secret: what the patch acts on and the policy checks.
    pub fn holds(&self, pod: &Pod) -> bool {
        match pod.shape.pull_secrets {
            PullSecrets::List(key) => self.listed(pod.node, key),
            PullSecrets::Single(key) => pod.node.at(&[key, "name"]).and_then(Node::str) == Some(&self.secret),
        }
    }

    fn listed(&self, parent: &Node, key: &str) -> bool {
        let listed = parent.get(key).map(Node::items).unwrap_or_default();
        listed.iter().any(|s| s.get("name").and_then(Node::str) == Some(&self.secret))
    }

    /// Appends the secret to the list under `parent.key` unless it is listed.
    fn list(&self, parent: &Node, key: &str, field: &str, edits: &mut Edits, report: &mut Report) {
        if self.listed(parent, key) {
            return report.unchanged(field, format!("already lists {}", self.secret));
        }
        match add_items(edits, parent, key, vec![json!({ "name": self.secret })]) {
            Ok(()) => report.changed(field, format!("added {}", self.secret)),
            Err(why) => report.conflict(field, format!("{why}; left alone")),
        }
    }

    /// Sets the one secret a pod takes, when it names none (absent, null, `{}`).
    fn single(&self, parent: &Node, key: &str, field: &str, edits: &mut Edits, report: &mut Report) {
        let written = match parent.get(key).filter(|n| !n.is_null()) {
            None => edits.put(parent, key, &json!({ "name": self.secret })),
            // The operator reads an empty name as none.
            Some(n) if n.is_map() => match n.get("name").filter(|n| !n.is_null()) {
                None => edits.put(n, "name", &json!(self.secret)),
                Some(name) if name.str() == Some("") => {
                    edits.replace_scalar(name, &self.secret);
                    Ok(())
                }
                Some(name) => match name.str() {
                    Some(name) if name == self.secret => return report.unchanged(field, format!("already {name}")),
                    Some(name) => {
                        let why = format!("names {name}, and only one secret fits here; left alone");
                        return report.conflict(field, why);
                    }
                    None => return report.conflict(field, "holds a name that is not a string; left alone"),
                },
            },
            Some(_) => Err("not a mapping"),
        };
        match written {
            Ok(()) => report.changed(field, format!("set to {}", self.secret)),
            Err(why) => report.conflict(field, format!("{why}; left alone")),
        }
    }
}

impl Patch for PullSecret {
    fn name(&self) -> &'static str {
        "pull-secret"
    }

    fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        kind == "ServiceAccount" || self.pods.holds_pods(api_version, kind)
    }

    fn apply(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        if res.id.kind == "ServiceAccount" {
            return self.list(res.node, "imagePullSecrets", "imagePullSecrets", edits, report);
        }
        let (pods, missing) = self.pods.pods(res);
        for (path, why) in &missing {
            report.conflict("", format!("no pull secret added: {path} {why}"));
        }
        if pods.is_empty() && missing.is_empty() {
            report.unchanged("", "holds no pod template");
        }
        for pod in pods {
            match pod.shape.pull_secrets {
                PullSecrets::List(key) => self.list(pod.node, key, &format!("{}.{key}", pod.path), edits, report),
                PullSecrets::Single(key) => self.single(pod.node, key, &format!("{}.{key}", pod.path), edits, report),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::patch::Outcome;
    use crate::testutil::{WORKLOADS, config, docs, messages, pod_object as object, pointer, run};
    use serde_json::json;

    #[test]
    fn every_pod_bearing_kind_gets_the_secret_at_its_pod_spec() {
        for (kind, path) in WORKLOADS {
            let (out, _) = run(&object(kind), &config(&[]));
            assert_eq!(
                docs(&out)[0].pointer(&pointer(&format!("{path}.imagePullSecrets"))),
                Some(&json!([{"name": "maia-docker-registry-secret"}])),
                "{kind}:\n{out}"
            );
        }
    }

    #[test]
    fn service_accounts_get_it_and_existing_entries_stay_first() {
        let input = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\nimagePullSecrets:\n- name: other\n";
        let (out, _) = run(input, &config(&[("imagePullSecrets", "regcred")]));
        assert_eq!(out, format!("{input}- name: regcred\n"));
    }

    #[test]
    fn already_listed_is_left_byte_for_byte() {
        let input = "kind: ServiceAccount\nimagePullSecrets: [{name: maia-docker-registry-secret}]  # ok\n";
        let (out, changes) = run(input, &config(&[]));
        assert_eq!(out, input);
        assert_eq!(messages(&changes, Outcome::Unchanged).len(), 1);
    }

    #[test]
    fn null_lists_are_filled_and_flow_lists_appended() {
        let (out, _) = run("kind: ServiceAccount\nimagePullSecrets: null\n", &config(&[]));
        assert_eq!(out, "kind: ServiceAccount\nimagePullSecrets: [{name: maia-docker-registry-secret}]\n");
        let (out, _) = run("kind: ServiceAccount\nimagePullSecrets: [{name: a}]\n", &config(&[]));
        assert_eq!(out, "kind: ServiceAccount\nimagePullSecrets: [{name: a}, {name: maia-docker-registry-secret}]\n");
    }

    #[test]
    fn a_document_ending_in_an_unterminated_block_scalar_gets_it_after_chomping_that_text() {
        // A line after `|` text that ends the stream would give that text a line break: it is
        // chomped first (`|-` reads the same). A `-` inside a tag before the header is not strip
        // chomping (found in review).
        for (tail, chomped) in
            [("secrets: |\n  y", "secrets: |-\n  y"), ("secrets: !a-b |\n  y", "secrets: !a-b |-\n  y")]
        {
            let head = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n";
            let (out, changes) = run(&format!("{head}{tail}"), &config(&[]));
            assert_eq!(out, format!("{head}{chomped}\nimagePullSecrets:\n  - name: maia-docker-registry-secret"));
            assert!(!changes.iter().any(|c| c.patch == crate::pipeline::CHECK), "{changes:?}");
        }
    }

    #[test]
    fn helm_hooks_get_it_too() {
        let input = object("Job").replace("  name: x\n", "  name: x\n  annotations:\n    helm.sh/hook: pre-install\n");
        let (out, _) = run(&input, &config(&[]));
        assert!(out.contains("- name: maia-docker-registry-secret"), "{out}");
    }

    #[test]
    fn a_pod_template_without_spec_is_reported_not_crashed() {
        let (out, changes) = run("kind: Deployment\nspec:\n  template: {}\n", &config(&[]));
        assert_eq!(out, "kind: Deployment\nspec:\n  template: {}\n");
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("spec.template.spec is missing")));
    }
}
