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

use super::{add_items, pods, Patch, Report, Resource};
use crate::config::Config;
use crate::stream::edit::Edits;
use crate::stream::tree::Node;

pub struct SharedVolume {
    claim: String,
    volume_name: String,
    mount_path: String,
    init_containers: bool,
    hooks: bool,
}

impl SharedVolume {
    pub fn new(config: &Config) -> Self {
        let o = &config.options;
        SharedVolume {
            claim: o.shared_claim.clone(),
            volume_name: o.shared_volume_name.clone(),
            mount_path: o.shared_mount_path.clone(),
            init_containers: o.shared_init_containers,
            hooks: o.shared_hooks,
        }
    }
}

impl Patch for SharedVolume {
    fn name(&self) -> &'static str {
        "shared-volume"
    }

    fn applies_to(&self, kind: &str) -> bool {
        pods::pod_spec_path(kind).is_some()
    }

    fn apply(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        if res.is_hook() && !self.hooks {
            return report.unchanged("", "Helm hook: shared volume not mounted (option shared_hooks)");
        }
        let spec = match pods::pod_spec(res) {
            Ok(spec) => spec,
            Err(why) => return report.conflict("", format!("no shared volume added: {why}")),
        };
        let volumes_field = format!("{}.volumes", spec.path);
        if spec.node.get("volumes").is_some_and(|v| !v.is_seq() && !v.is_null()) {
            return report.conflict(&volumes_field, "not a list; left alone");
        }
        let volumes = spec.node.get("volumes").map(Node::items).unwrap_or_default();
        let for_claim = volumes
            .iter()
            .find(|v| v.at(&["persistentVolumeClaim", "claimName"]).and_then(Node::str) == Some(&self.claim));
        let (volume, volume_exists) = match for_claim {
            Some(v) => (v.get("name").and_then(Node::str).unwrap_or_default().to_string(), true),
            None if volumes.iter().any(|v| v.get("name").and_then(Node::str) == Some(&self.volume_name)) => {
                return report.conflict(
                    &volumes_field,
                    format!("a volume named {} exists for something other than claim {}; left alone", self.volume_name, self.claim),
                );
            }
            None => (self.volume_name.clone(), false),
        };

        let mut mounted_any = false;
        let containers = pods::containers(&spec, self.init_containers);
        if containers.is_empty() {
            return report.unchanged(&volumes_field, "no containers to mount the shared volume in");
        }
        for (path, container) in containers {
            let field = format!("{path}.volumeMounts");
            let mounts = container.get("volumeMounts").map(Node::items).unwrap_or_default();
            let name_of = |m: &Node| m.get("name").and_then(Node::str).map(str::to_string);
            if let Some(at_path) = mounts.iter().find(|m| m.get("mountPath").and_then(Node::str) == Some(&self.mount_path)) {
                match name_of(at_path) {
                    Some(n) if n == volume => report.unchanged(&field, format!("already mounts {volume} at {}", self.mount_path)),
                    other => report.conflict(
                        &field,
                        format!("{} is taken by volume {}; left alone", self.mount_path, other.unwrap_or_default()),
                    ),
                }
            } else if mounts.iter().any(|m| name_of(m).as_deref() == Some(&volume)) {
                report.unchanged(&field, format!("already mounts {volume} at its own path"));
            } else if add_items(edits, container, "volumeMounts", vec![json!({"name": volume, "mountPath": self.mount_path})]) {
                report.changed(&field, format!("mounted {volume} at {}", self.mount_path));
                mounted_any = true;
            } else {
                report.conflict(&field, "not a list; left alone");
            }
        }

        if volume_exists {
            report.unchanged(&volumes_field, format!("volume {volume} already uses claim {}", self.claim));
        } else if mounted_any {
            let item = json!({"name": volume, "persistentVolumeClaim": {"claimName": self.claim}});
            add_items(edits, spec.node, "volumes", vec![item]);
            report.changed(&volumes_field, format!("added volume {volume} for claim {}", self.claim));
        }
    }
}
