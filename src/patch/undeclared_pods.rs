//! Pod specs nobody declared: a custom resource of a kind the pod rules don't cover, holding
//! what looks like a pod spec, gets a notice (never an edit) naming the kind and the path, so
//! the admin can declare it with the `pod_templates` option instead of finding out from an
//! ImagePullBackOff.

use std::sync::Arc;

use super::pods::{PodRules, group_of};
use super::{Patch, Report, Resource};
use crate::stream::edit::Edits;

pub struct UndeclaredPods {
    pods: Arc<PodRules>,
}

impl UndeclaredPods {
    pub fn new(pods: Arc<PodRules>) -> Self {
        UndeclaredPods { pods }
    }
}

impl Patch for UndeclaredPods {
    fn name(&self) -> &'static str {
        "pod-templates"
    }

    fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        self.pods.may_hide_pods(api_version, kind)
    }

    /// Most custom resources (certificates, monitors, rules) hold no containers at all: they
    /// keep the fast path.
    fn may_change(&self, text: &str) -> bool {
        memchr::memmem::find(text.as_bytes(), b"containers").is_some()
    }

    fn apply(&self, res: &Resource, _: &mut Edits, report: &mut Report) {
        let paths = self.pods.undeclared(res);
        if paths.is_empty() {
            return;
        }
        let mut declared: Vec<String> = paths.iter().map(|p| generalise(p)).collect();
        declared.dedup(); // `pods[0]` and `pods[1]` are one entry, `pods.*`
        let declared = declared.join(", ");
        for path in &paths {
            report.notice(
                path,
                format!(
                    "looks like a pod spec of a kind maia-krm does not know: no pull secret or shared volume added. \
                     To cover it, add to option pod_templates: {{group: {}, kind: {}, paths: [{declared}]}}",
                    group_of(&res.id.api_version),
                    res.id.kind
                ),
            );
        }
    }
}

/// The path with list positions as `*`, as a `pod_templates` entry would name it.
fn generalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        out.push_str(".*");
        rest = rest[open..].find(']').map_or("", |close| &rest[open + close + 1..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use crate::patch::Outcome;
    use crate::testutil::{config, run};

    #[test]
    fn a_custom_resource_holding_a_pod_spec_gets_a_notice_and_no_edit() {
        let input = "apiVersion: example.com/v1\nkind: Trainer\nmetadata:\n  name: t\nspec:\n  pods:\n  - template:\n      spec:\n        containers:\n        - name: a\n          image: a\n";
        let (out, changes) = run(input, &config(&[]));
        assert_eq!(out, input);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].outcome, Outcome::Notice);
        assert_eq!(changes[0].field, "spec.pods[0].template.spec");
        assert!(changes[0].message.contains("{group: example.com, kind: Trainer, paths: [spec.pods.*.template.spec]}"));
    }

    #[test]
    fn every_item_of_a_list_is_one_suggested_path() {
        let input = "apiVersion: example.com/v1\nkind: Trainer\nmetadata:\n  name: t\nspec:\n  pods:\n  - template: {spec: {containers: [{name: a, image: a}]}}\n  - template: {spec: {containers: [{name: b, image: b}]}}\n";
        let (_, changes) = run(input, &config(&[]));
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes[1].message.ends_with("paths: [spec.pods.*.template.spec]}"), "{}", changes[1].message);
    }

    #[test]
    fn the_suggested_entry_covers_it() {
        let input = "apiVersion: example.com/v1\nkind: Trainer\nmetadata:\n  name: t\nspec:\n  pods:\n  - template:\n      spec:\n        containers:\n        - name: a\n          image: a\n";
        let declared = "[{group: example.com, kind: Trainer, paths: [spec.pods.*.template.spec]}]";
        let (out, changes) = run(input, &config(&[("pod_templates", declared)]));
        assert!(out.contains("imagePullSecrets") && out.contains("mountPath"), "{out}");
        assert!(changes.iter().all(|c| c.outcome != Outcome::Notice), "{changes:?}");
    }
}
