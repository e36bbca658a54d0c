//! The resource model every stage shares: what a document holds (itself, or a list's items),
//! each resource's node and identity, and the questions any rule asks of one (its labels,
//! annotations, namespace, whether it asks to skip a patch).

use crate::stream::tree::{Node, Value};

/// Annotation that switches patches off for one resource: `all`, `true`, or a comma-separated
/// list of patch names (`oauth,shared-volume`).
pub const SKIP_ANNOTATION: &str = "maia-krm.io/skip";

/// Identifies a resource in reports (and KRM `resourceRef`s).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResourceId {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// kpt/kustomize's file annotations, for KRM `results[].file`.
    pub file: Option<(String, Option<u64>)>,
}

impl ResourceId {
    /// The namespace the resource names, if any: one without (or with an empty one) goes to the
    /// release's namespace (Helm's `-n`, kustomize's `namespace:`), which is the workspace's.
    pub fn named_namespace(&self) -> Option<&str> {
        named_namespace(self.namespace.as_deref())
    }
}

/// [`ResourceId::named_namespace`] of a `metadata.namespace` as written.
pub fn named_namespace(namespace: Option<&str>) -> Option<&str> {
    namespace.filter(|ns| !ns.is_empty())
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
}

impl<'n, 'a> Resource<'n, 'a> {
    pub fn new(node: &'n Node<'a>) -> Self {
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
        Resource { node, id }
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

    /// The resource asks (annotation `maia-krm.io/skip`) that this patch leave it alone.
    pub fn asks_to_skip(&self, patch: &str) -> bool {
        self.annotation(SKIP_ANNOTATION)
            .is_some_and(|v| v.split(',').map(str::trim).any(|p| p == patch || p == "all" || p == "true"))
    }

    /// The resource asks to skip this patch and the admin lets it (option `skip_allowed`): the
    /// annotation is the chart's to write, so by default it can't take the login or host off.
    pub fn skips(&self, patch: &str, allowed: &[String]) -> bool {
        self.asks_to_skip(patch) && allowed.iter().any(|a| a == patch || a == "all")
    }
}

/// Where a list's items are an alias, or one of them is (`items: *all`, `- *ingress`), at any
/// depth of lists inside lists: the line.
pub fn aliased_item(root: &Node) -> Option<usize> {
    let items = root.get("items")?;
    if matches!(items.value, Value::Alias(_)) {
        return Some(items.line);
    }
    items.items().iter().find_map(|i| if matches!(i.value, Value::Alias(_)) { Some(i.line) } else { aliased_item(i) })
}

/// The resources a document holds: itself, or the items of a list (of lists, at any depth).
pub fn resources_of<'n, 'a>(root: &'n Node<'a>) -> Result<Vec<Resource<'n, 'a>>, String> {
    let what = match &root.value {
        Value::Map { .. } => None,
        Value::Seq { .. } => Some("a sequence"),
        Value::Scalar { .. } => Some("a scalar"),
        Value::Alias(_) => Some("an alias"),
    };
    if let Some(what) = what {
        return Err(format!("the document is {what}, not a mapping (a Kubernetes object)"));
    }
    if let Some(line) = aliased_item(root) {
        return Err(format!(
            "an item of this list is an alias (line {line}): what it holds can't be read or patched here"
        ));
    }
    let mut out = Vec::new();
    if root.get("kind").and_then(Node::str) == Some("ResourceList") {
        // kpt hands functions the Kptfile and the function's own config too: they are not workspace resources.
        let local = |i: &Node| {
            i.get("kind").and_then(Node::str) == Some("Kptfile")
                || i.at(&["metadata", "annotations", "config.kubernetes.io/local-config"]).and_then(Node::str)
                    == Some("true")
        };
        let items = root.get("items").map(Node::items).unwrap_or_default();
        items.iter().filter(|i| i.is_map() && !local(i)).for_each(|i| flatten(i, &mut out));
    } else {
        flatten(root, &mut out);
    }
    Ok(out)
}

/// kubectl and Helm take any object with an `items` list for a list of objects, whatever its
/// kind, and a list among the items for more objects (cli-runtime's `FlattenListVisitor`: found
/// in review, a List inside a List hid an Ingress from every rule); an item without a kind is
/// one of the list's (`IngressList`).
fn flatten<'n, 'a>(node: &'n Node<'a>, out: &mut Vec<Resource<'n, 'a>>) {
    let Some(items) = node.get("items").filter(|i| i.is_seq()) else {
        out.push(Resource::new(node));
        return;
    };
    let kind = node.get("kind").and_then(Node::str).unwrap_or_default();
    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
    let api_version = node.get("apiVersion").and_then(Node::str).unwrap_or_default();
    for item in items.items().iter().filter(|i| i.is_map()) {
        if item.get("items").is_some_and(Node::is_seq) {
            flatten(item, out);
            continue;
        }
        let mut res = Resource::new(item);
        if let (true, Some(k)) = (res.id.kind.is_empty(), item_kind) {
            res.id.kind = k.to_string();
            if res.id.api_version.is_empty() {
                res.id.api_version = api_version.to_string();
            }
        }
        out.push(res);
    }
}
