//! Shared volume: mounts the group's shared PVC (option `shared_claim`, default `shared`) at
//! `shared_mount_path` (default `/home/maia-user/shared`) in every container of every pod spec.
//!
//! - A pod that already has a volume for the claim keeps it, under its own name; otherwise a
//!   volume `shared_volume_name` is added — unless a volume of that name exists for something
//!   else, which is reported and left alone (two volumes of one name would be rejected).
//! - A container that already mounts that volume keeps its own path; one that has something
//!   else at the mount path is left alone and reported.
//! - Never touches init containers (option `shared_init_containers`) or Helm hooks (`shared_hooks`)
//!   unless asked: a hook Job or test Pod has no business on the group's data.

use serde_json::json;

use std::sync::Arc;

use super::pods::{Container, Pod, PodRules};
use super::{Patch, Report, Resource, add_items};
use crate::config::Config;
use crate::stream::edit::Edits;
use crate::stream::tree::Node;

pub struct SharedVolume {
    claim: String,
    volume_name: String,
    mount_path: String,
    init_containers: bool,
    hooks: bool,
    pods: Arc<PodRules>,
}

impl SharedVolume {
    pub fn new(config: &Config, pods: Arc<PodRules>) -> Self {
        let o = &config.options;
        SharedVolume {
            claim: o.shared_claim.clone(),
            volume_name: o.shared_volume_name.clone(),
            mount_path: o.shared_mount_path.clone(),
            init_containers: o.shared_init_containers,
            hooks: o.shared_hooks,
            pods,
        }
    }

    /// Mounts the claim in every container of one pod, adding the pod's volume if any mount needs it.
    fn mount(&self, pod: &Pod, edits: &mut Edits, report: &mut Report) {
        let volumes_field = format!("{}.volumes", pod.path);
        if pod.node.get("volumes").is_some_and(|v| !v.is_seq() && !v.is_null()) {
            return report.conflict(&volumes_field, "not a list; left alone");
        }
        let (volume, volume_exists) = match self.claim_volume(pod) {
            Some(v) => (v.to_string(), true),
            None if pod.volume_names().contains(&self.volume_name.as_str()) => {
                return report.conflict(
                    &volumes_field,
                    format!(
                        "a volume named {} exists for something other than claim {}; left alone",
                        self.volume_name, self.claim
                    ),
                );
            }
            None => (self.volume_name.clone(), false),
        };

        // The volume is written first, aside: a mount without its volume would be an invalid pod.
        let mut volume_edit = edits.fork();
        if !volume_exists {
            let item = json!({"name": volume, "persistentVolumeClaim": {"claimName": self.claim}});
            if let Err(why) = add_items(&mut volume_edit, pod.node, "volumes", vec![item]) {
                return report.conflict(&volumes_field, format!("{why}; nothing mounted"));
            }
        }
        let mut mounted_any = false;
        let containers = self.containers(pod);
        if containers.is_empty() {
            return report.unchanged(&volumes_field, "no containers to mount the shared volume in");
        }
        for container in containers {
            let field = format!("{}.volumeMounts", container.path);
            match self.state(&container, &volume) {
                Mount::Mirrors => report.unchanged(&field, "mirrors the main container's mounts (mirrorVolumeMounts)"),
                Mount::AtPath => report.unchanged(&field, format!("already mounts {volume} at {}", self.mount_path)),
                Mount::AtOwnPath => report.unchanged(&field, format!("already mounts {volume} at its own path")),
                Mount::Taken(other) => {
                    report.conflict(&field, format!("{} is taken by volume {other}; left alone", self.mount_path))
                }
                Mount::Missing => {
                    let mount = json!({"name": volume, "mountPath": self.mount_path});
                    match add_items(edits, container.node, "volumeMounts", vec![mount]) {
                        Ok(()) => {
                            report.changed(&field, format!("mounted {volume} at {}", self.mount_path));
                            mounted_any = true;
                        }
                        Err(why) => report.conflict(&field, format!("{why}; left alone")),
                    }
                }
            }
        }

        if volume_exists {
            report.unchanged(&volumes_field, format!("volume {volume} already uses claim {}", self.claim));
        } else if mounted_any {
            edits.absorb(volume_edit);
            report.changed(&volumes_field, format!("added volume {volume} for claim {}", self.claim));
        }
    }
}

/// Where a container stands with the shared volume.
pub enum Mount {
    /// Mounted at the mount path.
    AtPath,
    /// Mounted, at a path of the chart's choosing.
    AtOwnPath,
    /// Gets the main container's mounts (Argo's `mirrorVolumeMounts`).
    Mirrors,
    /// Something else (this volume name) is mounted at the mount path.
    Taken(String),
    Missing,
}

impl SharedVolume {
    /// The name of the pod's volume for the claim, if it has one.
    pub fn claim_volume<'n>(&self, pod: &Pod<'n, '_>) -> Option<&'n str> {
        let volume = pod
            .volumes()
            .into_iter()
            .find(|v| v.at(&["persistentVolumeClaim", "claimName"]).and_then(Node::str) == Some(&self.claim))?;
        Some(volume.get("name").and_then(Node::str).unwrap_or_default())
    }

    /// Where `container` stands with the pod's volume `volume`: what the patch acts on and
    /// what the workspace policy checks, one reading for both.
    pub fn state(&self, container: &Container, volume: &str) -> Mount {
        let name_of = |m: &Node| m.get("name").and_then(Node::str).unwrap_or_default().to_string();
        if container.mirrors_mounts() {
            Mount::Mirrors
        } else if let Some(at_path) =
            container.mounts().find(|m| m.get("mountPath").and_then(Node::str) == Some(&self.mount_path))
        {
            match name_of(at_path) {
                n if n == volume => Mount::AtPath,
                other => Mount::Taken(other),
            }
        } else if container.mounts().any(|m| name_of(m) == volume) {
            Mount::AtOwnPath
        } else {
            Mount::Missing
        }
    }

    /// The containers of a pod the volume goes into (init containers only when asked).
    pub fn containers<'n, 'a>(&self, pod: &Pod<'n, 'a>) -> Vec<Container<'n, 'a>> {
        pod.containers(self.init_containers)
    }

    /// Why a resource's pods do not get the volume (`Err`), and whether that is worth a notice.
    pub fn exempt(&self, res: &Resource) -> Result<(), (&'static str, bool)> {
        if res.is_hook() && !self.hooks {
            return Err(("Helm hook: shared volume not mounted (option shared_hooks)", false));
        }
        self.pods.mounts(res)
    }
}

impl Patch for SharedVolume {
    fn name(&self) -> &'static str {
        "shared-volume"
    }

    fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        self.pods.holds_pods(api_version, kind)
    }

    fn apply(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        match self.exempt(res) {
            Err((why, true)) => return report.notice("", why),
            Err((why, false)) => return report.unchanged("", why),
            Ok(()) => {}
        }
        let (pods, missing) = self.pods.pods(res);
        for (path, why) in &missing {
            report.conflict("", format!("no shared volume added: {path} {why}"));
        }
        for pod in &pods {
            self.mount(pod, edits, report);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::patch::Outcome;
    use crate::testutil::{WORKLOADS, config, docs, messages, pod_object, pointer, run};
    use serde_json::json;

    const MOUNT: &str = "/home/maia-user/shared";

    #[test]
    fn every_container_of_every_pod_bearing_kind_mounts_the_claim() {
        for (kind, path) in WORKLOADS {
            let (out, _) = run(&pod_object(kind), &config(&[]));
            let spec = docs(&out)[0].pointer(&pointer(path)).cloned().unwrap();
            assert_eq!(
                spec["volumes"],
                json!([{"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}}]),
                "{kind}"
            );
            for c in spec["containers"].as_array().unwrap() {
                assert_eq!(c["volumeMounts"], json!([{"name": "shared", "mountPath": MOUNT}]), "{kind}");
            }
        }
    }

    #[test]
    fn an_existing_volume_for_the_claim_keeps_its_name() {
        let input = "kind: Pod\nspec:\n  containers:\n  - name: a\n  volumes:\n  - name: home\n    persistentVolumeClaim:\n      claimName: shared\n";
        let (out, _) = run(input, &config(&[]));
        let pod = &docs(&out)[0];
        assert_eq!(pod["spec"]["volumes"].as_array().unwrap().len(), 1);
        assert_eq!(pod["spec"]["containers"][0]["volumeMounts"], json!([{"name": "home", "mountPath": MOUNT}]));
    }

    #[test]
    fn a_container_that_already_mounts_the_claim_keeps_its_path() {
        let input = "kind: Pod\nspec:\n  containers:\n  - name: a\n    volumeMounts:\n    - name: home\n      mountPath: /data\n  volumes:\n  - name: home\n    persistentVolumeClaim: {claimName: shared}\n";
        let (out, changes) = run(input, &config(&[("pull_secret", "false")]));
        assert_eq!(out, input);
        assert!(messages(&changes, Outcome::Unchanged).iter().any(|m| m.contains("at its own path")));
    }

    #[test]
    fn a_taken_mount_path_is_left_alone_and_reported() {
        let input = format!(
            "kind: Pod\nspec:\n  containers:\n  - name: a\n    volumeMounts:\n    - name: other\n      mountPath: {MOUNT}\n  - name: b\n  volumes:\n  - name: other\n    emptyDir: {{}}\n"
        );
        let (out, changes) = run(&input, &config(&[]));
        let pod = &docs(&out)[0];
        assert_eq!(pod["spec"]["containers"][0]["volumeMounts"], json!([{"name": "other", "mountPath": MOUNT}]));
        assert_eq!(pod["spec"]["containers"][1]["volumeMounts"], json!([{"name": "shared", "mountPath": MOUNT}]));
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("taken by volume other")));
    }

    #[test]
    fn a_volume_named_shared_for_something_else_blocks_the_patch() {
        let input = "kind: Pod\nspec:\n  containers:\n  - name: a\n  volumes:\n  - name: shared\n    emptyDir: {}\n";
        let (out, changes) = run(input, &config(&[("pull_secret", "false")]));
        assert_eq!(out, input);
        assert_eq!(messages(&changes, Outcome::Conflict).len(), 1);
    }

    #[test]
    fn init_containers_only_when_asked() {
        let input = "kind: Pod\nspec:\n  initContainers:\n  - name: i\n  containers:\n  - name: a\n";
        let (out, _) = run(input, &config(&[]));
        assert!(docs(&out)[0]["spec"]["initContainers"][0].get("volumeMounts").is_none());
        let (out, _) = run(input, &config(&[("shared_init_containers", "true")]));
        assert_eq!(docs(&out)[0]["spec"]["initContainers"][0]["volumeMounts"][0]["mountPath"], json!(MOUNT));
    }

    #[test]
    fn helm_hooks_only_when_asked() {
        let input = "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers:\n  - name: a\n";
        let (out, _) = run(input, &config(&[]));
        assert!(!out.contains("volumeMounts"));
        let (out, _) = run(input, &config(&[("shared_hooks", "true")]));
        assert!(out.contains("volumeMounts"));
    }

    #[test]
    fn null_containers_and_null_volumes() {
        let (out, changes) = run("kind: Pod\nspec:\n  containers: null\n", &config(&[("pull_secret", "false")]));
        assert_eq!(out, "kind: Pod\nspec:\n  containers: null\n");
        assert!(messages(&changes, Outcome::Unchanged).iter().any(|m| m.contains("no containers")));
        let (out, _) = run(
            "kind: Pod\nspec:\n  volumes: ~\n  containers:\n  - name: a\n    volumeMounts:\n",
            &config(&[("pull_secret", "false")]),
        );
        assert_eq!(docs(&out)[0]["spec"]["volumes"][0]["name"], json!("shared"));
        assert_eq!(docs(&out)[0]["spec"]["containers"][0]["volumeMounts"][0]["name"], json!("shared"));
    }

    #[test]
    fn skip_annotation_disables_one_patch_only_where_the_admin_allows() {
        let input = "kind: Pod\nmetadata:\n  annotations:\n    maia-krm.io/skip: shared-volume\nspec:\n  containers:\n  - name: a\n";
        let (out, changes) = run(input, &config(&[("skip_allowed", "shared-volume")]));
        assert!(!out.contains("volumeMounts") && out.contains("imagePullSecrets"));
        assert_eq!(messages(&changes, Outcome::Disabled).len(), 1);
        // The annotation is the chart's to write: by default it is noted, not obeyed.
        let (out, changes) = run(input, &config(&[]));
        assert!(out.contains("volumeMounts"), "{out}");
        assert!(messages(&changes, Outcome::Notice).iter().any(|m| m.contains("not honoured")), "{changes:?}");
    }
}
