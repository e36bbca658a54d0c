//! Where each pod-bearing kind keeps its pod spec, and the containers in it — the one place
//! both pod patches ask.

use crate::stream::tree::Node;

use super::Resource;

/// Path from the object root to the pod spec, per kind.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            Some(&["spec", "template", "spec"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// A located pod spec: its node and its dotted path for reports.
pub struct PodSpec<'n, 'a> {
    pub node: &'n Node<'a>,
    pub path: String,
}

/// The resource's pod spec, or why there is none to patch.
pub fn pod_spec<'n, 'a>(res: &Resource<'n, 'a>) -> Result<PodSpec<'n, 'a>, String> {
    let path = pod_spec_path(&res.id.kind).ok_or("not a pod-bearing kind")?;
    let dotted = path.join(".");
    match res.node.at(path) {
        Some(node) if node.is_map() => Ok(PodSpec { node, path: dotted }),
        Some(_) => Err(format!("{dotted} is not a mapping")),
        None => Err(format!("{dotted} is missing")),
    }
}

/// The containers (and, if asked, init containers) of a pod spec, with their dotted paths.
pub fn containers<'n, 'a>(spec: &PodSpec<'n, 'a>, with_init: bool) -> Vec<(String, &'n Node<'a>)> {
    let lists: &[&str] = if with_init { &["initContainers", "containers"] } else { &["containers"] };
    lists
        .iter()
        .flat_map(|list| {
            let items = spec.node.get(list).map(Node::items).unwrap_or_default();
            items
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_map())
                .map(move |(i, c)| (format!("{}.{list}[{i}]", spec.path), c))
        })
        .collect()
}
