//! The rule book of pods: which kinds hold pod specs, where, which of their objects are
//! containers, and whether the shared volume may go into them. The pull-secret and
//! shared-volume patches and the notice about undeclared pod specs all ask here, so a kind is
//! covered the same way by each.
//!
//! Paths were read from the upstream Go types and CRDs; the README names the commits checked.

use crate::config::PodTemplate;
use crate::stream::tree::{ALIASED, Node, Value};

use crate::resource::Resource;

/// Where a pod keeps its pull secrets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PullSecrets {
    /// A list of `{name}` (every pod spec).
    List(&'static str),
    /// One `{name}` object (MinIO's Tenant).
    Single(&'static str),
}

/// Containers: every node at `each` below every node at `group` (`""`: the pod itself). Mounts
/// the container gets without listing them count as its own: its group's `group_mounts` (Argo
/// mounts a containerSet's `volumeMounts` in every container of the set) and the pod-level
/// `defaults` (Argo merges `templateDefaults.container` into each template's `container`).
#[derive(Debug)]
pub struct Containers {
    group: &'static str,
    each: &'static str,
    group_mounts: Option<&'static str>,
    defaults: Option<&'static str>,
}

const fn each(path: &'static str) -> Containers {
    Containers { group: "", each: path, group_mounts: None, defaults: None }
}

/// The fields of a pod-spec-like object; paths are relative to it, `*` for every item.
#[derive(Debug)]
pub struct Shape {
    containers: &'static [Containers],
    init_containers: &'static [Containers],
    /// Volume lists that end up in the same pod as `volumes` (Argo's per-template volumes,
    /// template defaults and volume claim templates): a name taken there is taken.
    other_volume_names: &'static [&'static str],
    pub pull_secrets: PullSecrets,
}

const POD_SPEC: Shape = Shape {
    containers: &[each("containers.*")],
    init_containers: &[each("initContainers.*")],
    other_volume_names: &[],
    pull_secrets: PullSecrets::List("imagePullSecrets"),
};

/// KServe inlines the pod spec in each component, and the model server is a container of its own
/// under a key named after its framework.
const KSERVE_PREDICTOR: Shape = Shape {
    containers: &[
        each("containers.*"),
        each("model"),
        each("sklearn"),
        each("xgboost"),
        each("tensorflow"),
        each("pytorch"),
        each("triton"),
        each("onnx"),
        each("huggingface"),
        each("pmml"),
        each("lightgbm"),
        each("paddle"),
    ],
    ..POD_SPEC
};

const KSERVE_EXPLAINER: Shape = Shape { containers: &[each("containers.*"), each("art")], ..POD_SPEC };

/// A ServingRuntime's pod spec has no init containers.
const KSERVE_RUNTIME: Shape = Shape { init_containers: &[], ..POD_SPEC };

/// An Argo workflow: pull secrets and volumes are workflow-wide, containers live in its templates.
const ARGO_WORKFLOW: Shape = Shape {
    containers: &[
        Containers { defaults: Some("templateDefaults.container.volumeMounts"), ..each("templates.*.container") },
        Containers { defaults: Some("templateDefaults.script.volumeMounts"), ..each("templates.*.script") },
        Containers {
            group: "templates.*.containerSet",
            each: "containers.*",
            group_mounts: Some("volumeMounts"),
            defaults: None,
        },
        each("templates.*.sidecars.*"),
    ],
    init_containers: &[each("templates.*.initContainers.*")],
    other_volume_names: &[
        "templates.*.volumes.*.name",
        "templateDefaults.volumes.*.name",
        "volumeClaimTemplates.*.metadata.name",
    ],
    ..POD_SPEC
};

const MINIO_TENANT: Shape =
    Shape { containers: &[], init_containers: &[], pull_secrets: PullSecrets::Single("imagePullSecret"), ..POD_SPEC };

/// Whether the shared volume goes into a kind's pods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mounts {
    Yes,
    /// Never, and why.
    No(&'static str),
    /// Only when the annotation `key` holds one of `values`; otherwise the admin is told why.
    WhenAnnotated {
        key: &'static str,
        values: &'static [&'static str],
        why: &'static str,
    },
}

const CLUSTER_WIDE: Mounts =
    Mounts::No("a cluster-wide template: its pods run in namespaces that may lack the claim; not mounted");

/// One place in a kind where a pod's fields live.
#[derive(Debug)]
struct Site {
    path: String,
    shape: &'static Shape,
    /// A missing required site is reported; optional ones (worker groups, a KServe transformer)
    /// are often absent by design.
    required: bool,
}

#[derive(Debug)]
struct Rule {
    /// API groups the kind is matched in; empty for the built-in workloads, which charts also
    /// write with old or no apiVersion (any Kubernetes group, never a custom one).
    groups: Vec<String>,
    kind: String,
    sites: Vec<Site>,
    mounts: Mounts,
}

type Sites = &'static [(&'static str, &'static Shape, bool)];

struct BuiltIn {
    groups: &'static [&'static str],
    kind: &'static str,
    sites: Sites,
    mounts: Mounts,
}

const fn kind(groups: &'static [&'static str], kind: &'static str, sites: Sites) -> BuiltIn {
    BuiltIn { groups, kind, sites, mounts: Mounts::Yes }
}

const KUBEFLOW: &[&str] = &["kubeflow.org"];
const TRAINER: &[&str] = &["trainer.kubeflow.org"];
const RAY: &[&str] = &["ray.io"];
const KSERVE: &[&str] = &["serving.kserve.io"];
const ARGO: &[&str] = &["argoproj.io"];
const TEMPLATE: Sites = &[("spec.template.spec", &POD_SPEC, true)];
const RAY_CLUSTER: Sites = &[
    ("spec.headGroupSpec.template.spec", &POD_SPEC, true),
    ("spec.workerGroupSpecs.*.template.spec", &POD_SPEC, false),
];
const TRAINING_RUNTIME: Sites =
    &[("spec.template.spec.replicatedJobs.*.template.spec.template.spec", &POD_SPEC, false)];
const WORKFLOW: Sites = &[("spec", &ARGO_WORKFLOW, true)];
const SERVING_RUNTIME: Sites = &[("spec", &KSERVE_RUNTIME, true), ("spec.workerSpec", &KSERVE_RUNTIME, false)];

const BUILT_IN: &[BuiltIn] = &[
    kind(&[], "Pod", &[("spec", &POD_SPEC, true)]),
    kind(&[], "Deployment", TEMPLATE),
    kind(&[], "StatefulSet", TEMPLATE),
    kind(&[], "DaemonSet", TEMPLATE),
    kind(&[], "ReplicaSet", TEMPLATE),
    kind(&[], "ReplicationController", TEMPLATE),
    kind(&[], "Job", TEMPLATE),
    kind(&[], "CronJob", &[("spec.jobTemplate.spec.template.spec", &POD_SPEC, true)]),
    kind(KUBEFLOW, "Notebook", TEMPLATE),
    kind(KUBEFLOW, "PyTorchJob", &[("spec.pytorchReplicaSpecs.*.template.spec", &POD_SPEC, false)]),
    kind(KUBEFLOW, "TFJob", &[("spec.tfReplicaSpecs.*.template.spec", &POD_SPEC, false)]),
    kind(KUBEFLOW, "MPIJob", &[("spec.mpiReplicaSpecs.*.template.spec", &POD_SPEC, false)]),
    kind(KUBEFLOW, "XGBoostJob", &[("spec.xgbReplicaSpecs.*.template.spec", &POD_SPEC, false)]),
    kind(KUBEFLOW, "PaddleJob", &[("spec.paddleReplicaSpecs.*.template.spec", &POD_SPEC, false)]),
    kind(KUBEFLOW, "JAXJob", &[("spec.jaxReplicaSpecs.*.template.spec", &POD_SPEC, false)]),
    kind(TRAINER, "TrainingRuntime", TRAINING_RUNTIME),
    BuiltIn { mounts: CLUSTER_WIDE, ..kind(TRAINER, "ClusterTrainingRuntime", TRAINING_RUNTIME) },
    kind(&["jobset.x-k8s.io"], "JobSet", &[("spec.replicatedJobs.*.template.spec.template.spec", &POD_SPEC, false)]),
    kind(RAY, "RayCluster", RAY_CLUSTER),
    kind(
        RAY,
        "RayJob",
        &[
            ("spec.rayClusterSpec.headGroupSpec.template.spec", &POD_SPEC, false),
            ("spec.rayClusterSpec.workerGroupSpecs.*.template.spec", &POD_SPEC, false),
            ("spec.submitterPodTemplate.spec", &POD_SPEC, false),
        ],
    ),
    kind(
        RAY,
        "RayService",
        &[
            ("spec.rayClusterConfig.headGroupSpec.template.spec", &POD_SPEC, true),
            ("spec.rayClusterConfig.workerGroupSpecs.*.template.spec", &POD_SPEC, false),
        ],
    ),
    kind(
        RAY,
        "RayCronJob",
        &[
            ("spec.jobTemplate.rayClusterSpec.headGroupSpec.template.spec", &POD_SPEC, false),
            ("spec.jobTemplate.rayClusterSpec.workerGroupSpecs.*.template.spec", &POD_SPEC, false),
            ("spec.jobTemplate.submitterPodTemplate.spec", &POD_SPEC, false),
        ],
    ),
    // KServe's default (Serverless) mode runs pods through Knative, whose webhook refuses PVC
    // volumes unless the cluster enables them: only raw deployments get the claim.
    BuiltIn {
        mounts: Mounts::WhenAnnotated {
            key: "serving.kserve.io/deploymentMode",
            values: &["RawDeployment", "Standard"],
            why: "KServe's default Serverless mode runs it on Knative, which refuses PVC volumes unless \
                  the cluster enables them; annotate serving.kserve.io/deploymentMode: RawDeployment to mount",
        },
        ..kind(
            KSERVE,
            "InferenceService",
            &[
                ("spec.predictor", &KSERVE_PREDICTOR, true),
                ("spec.predictor.workerSpec", &POD_SPEC, false),
                ("spec.transformer", &POD_SPEC, false),
                ("spec.explainer", &KSERVE_EXPLAINER, false),
            ],
        )
    },
    // A runtime's volumes go into every predictor that uses it, Serverless ones included.
    BuiltIn {
        mounts: Mounts::No(
            "KServe puts a runtime's volumes into every predictor using it, and Knative (Serverless \
             mode) refuses PVC volumes; not mounted",
        ),
        ..kind(KSERVE, "ServingRuntime", SERVING_RUNTIME)
    },
    BuiltIn { mounts: CLUSTER_WIDE, ..kind(KSERVE, "ClusterServingRuntime", SERVING_RUNTIME) },
    // A Rollout may take its pods from a Deployment (`workloadRef`) instead.
    kind(ARGO, "Rollout", &[("spec.template.spec", &POD_SPEC, false)]),
    kind(ARGO, "Workflow", WORKFLOW),
    kind(ARGO, "WorkflowTemplate", WORKFLOW),
    BuiltIn { mounts: CLUSTER_WIDE, ..kind(ARGO, "ClusterWorkflowTemplate", WORKFLOW) },
    kind(ARGO, "CronWorkflow", &[("spec.workflowSpec", &ARGO_WORKFLOW, true)]),
    BuiltIn {
        mounts: Mounts::No("the operator's pods hold the data themselves; not mounted"),
        ..kind(&["minio.min.io"], "Tenant", &[("spec", &MINIO_TENANT, true)])
    },
];

/// Every kind known to hold pods: the declared ones first, so an admin can replace a built-in
/// rule (with plain pod-spec paths).
#[derive(Debug)]
pub struct PodRules {
    rules: Vec<Rule>,
}

/// A pod found in a resource: the object holding its pod-level fields, and where it is.
pub struct Pod<'n, 'a> {
    pub node: &'n Node<'a>,
    /// Dotted path for reports, e.g. `spec.workerGroupSpecs[1].template.spec`.
    pub path: String,
    pub shape: &'static Shape,
}

/// A site a resource should have but doesn't: (dotted path, why).
pub type Missing = (String, String);

impl PodRules {
    pub fn new(declared: &[PodTemplate]) -> Self {
        let declared = declared.iter().map(|t| Rule {
            groups: vec![t.group.clone()],
            kind: t.kind.clone(),
            sites: t.paths.iter().map(|p| Site { path: p.clone(), shape: &POD_SPEC, required: false }).collect(),
            mounts: Mounts::Yes,
        });
        let built_in = BUILT_IN.iter().map(|b| Rule {
            groups: b.groups.iter().map(|g| g.to_string()).collect(),
            kind: b.kind.to_string(),
            sites: b
                .sites
                .iter()
                .map(|(path, shape, required)| Site { path: path.to_string(), shape, required: *required })
                .collect(),
            mounts: b.mounts,
        });
        PodRules { rules: declared.chain(built_in).collect() }
    }

    /// Whether a rule covers this kind in this group.
    pub fn holds_pods(&self, api_version: &str, kind: &str) -> bool {
        self.rule(api_version, kind).is_some()
    }

    /// Whether the shared volume may go into the resource's pods: `Err` says why not, and
    /// whether that is worth a notice (the admin can change it) or goes without saying.
    pub fn mounts(&self, res: &Resource) -> Result<(), (&'static str, bool)> {
        match self.rule(&res.id.api_version, &res.id.kind).map_or(Mounts::Yes, |r| r.mounts) {
            Mounts::Yes => Ok(()),
            Mounts::No(why) => Err((why, false)),
            Mounts::WhenAnnotated { key, values, why } => match res.annotation(key) {
                Some(v) if values.contains(&v) => Ok(()),
                _ => Err((why, true)),
            },
        }
    }

    /// Whether a resource may hold pod specs no rule names: a custom resource of a kind no
    /// rule covers.
    pub fn may_hide_pods(&self, api_version: &str, kind: &str) -> bool {
        !is_built_in_group(group_of(api_version)) && !self.holds_pods(api_version, kind)
    }

    fn rule(&self, api_version: &str, kind: &str) -> Option<&Rule> {
        let group = group_of(api_version);
        self.rules.iter().find(|r| {
            r.kind == kind
                && if r.groups.is_empty() { is_built_in_group(group) } else { r.groups.iter().any(|g| g == group) }
        })
    }

    /// The pods of a resource, and the required sites it lacks.
    pub fn pods<'n, 'a>(&self, res: &Resource<'n, 'a>) -> (Vec<Pod<'n, 'a>>, Vec<Missing>) {
        let (mut pods, mut missing) = (Vec::new(), Vec::new());
        let sites = self.rule(&res.id.api_version, &res.id.kind).map(|r| r.sites.as_slice()).unwrap_or_default();
        for site in sites {
            let found = resolve(res.node, &site.path, String::new());
            if found.is_empty() && site.required {
                missing.push((site.path.clone(), "is missing".to_string()));
            }
            for (path, node) in found {
                match node.value {
                    Value::Map { .. } => pods.push(Pod { node, path, shape: site.shape }),
                    Value::Alias(_) => missing.push((path, ALIASED.to_string())),
                    _ => missing.push((path, "is not a mapping".to_string())),
                }
            }
        }
        (pods, missing)
    }

    /// Paths of what looks like a pod spec (a `containers` list holding an `image`) in a custom
    /// resource no rule covers: worth telling the admin, who can declare it.
    pub fn undeclared(&self, res: &Resource) -> Vec<String> {
        if !self.may_hide_pods(&res.id.api_version, &res.id.kind) {
            return Vec::new();
        }
        let mut found = Vec::new();
        for (key, value) in res.node.entries() {
            match key.scalar() {
                Some("metadata" | "status") | None => {}
                Some(key) => find_pod_specs(value, key.to_string(), &mut found),
            }
        }
        found
    }
}

/// A container of a pod, and the mounts it gets from elsewhere.
pub struct Container<'n, 'a> {
    pub path: String,
    pub node: &'n Node<'a>,
    /// Mount lists the container gets without listing them (containerSet, templateDefaults).
    pub inherited_mounts: Vec<&'n Node<'a>>,
}

impl<'n, 'a> Container<'n, 'a> {
    /// Argo copies the main container's mounts into a sidecar or init container that asks.
    pub fn mirrors_mounts(&self) -> bool {
        self.node.get("mirrorVolumeMounts").and_then(Node::scalar) == Some("true")
    }

    /// Its own mounts and the inherited ones.
    pub fn mounts(&self) -> impl Iterator<Item = &'n Node<'a>> + '_ {
        let own = self.node.get("volumeMounts").map(Node::items).unwrap_or_default();
        own.iter().chain(self.inherited_mounts.iter().flat_map(|m| m.items()))
    }
}

impl<'n, 'a> Pod<'n, 'a> {
    /// The pod's containers (init containers first, if asked).
    pub fn containers(&self, with_init: bool) -> Vec<Container<'n, 'a>> {
        let init = if with_init { self.shape.init_containers } else { &[] };
        let mut out = Vec::new();
        for list in init.iter().chain(self.shape.containers) {
            let defaults = list.defaults.and_then(|p| resolve(self.node, p, String::new()).pop()).map(|(_, n)| n);
            for (group_path, group) in resolve(self.node, list.group, self.path.clone()) {
                let group_mounts = list.group_mounts.and_then(|m| group.get(m));
                // An aliased container stays a container: nothing can be mounted into it, which the
                // patch reports and the policy refuses, rather than a container nobody counts.
                let containers = resolve(group, list.each, group_path).into_iter();
                for (path, node) in containers.filter(|(_, c)| c.is_map() || matches!(c.value, Value::Alias(_))) {
                    let inherited = defaults.into_iter().chain(group_mounts).collect();
                    out.push(Container { path, node, inherited_mounts: inherited });
                }
            }
        }
        out
    }

    /// The pod's volumes, wherever they are declared (claim templates are not volumes).
    pub fn volumes(&self) -> Vec<&'n Node<'a>> {
        let listed = self.node.get("volumes").map(Node::items).unwrap_or_default();
        let elsewhere = self
            .shape
            .other_volume_names
            .iter()
            .filter_map(|p| p.strip_suffix(".*.name").filter(|p| p.ends_with("volumes")))
            .flat_map(|p| resolve(self.node, p, String::new()))
            .flat_map(|(_, list)| list.items());
        listed.iter().chain(elsewhere).collect()
    }

    /// Names of the pod's volumes, wherever they are declared.
    pub fn volume_names(&self) -> Vec<&'n str> {
        let listed = self.node.get("volumes").map(Node::items).unwrap_or_default();
        let elsewhere = self.shape.other_volume_names.iter().flat_map(|p| resolve(self.node, p, String::new()));
        listed.iter().filter_map(|v| v.get("name")).chain(elsewhere.map(|(_, n)| n)).filter_map(Node::str).collect()
    }
}

/// The nodes at a dotted path below `node`, with their dotted paths after `prefix`. `*` takes
/// every value of a mapping or item of a list; null counts as absent.
fn resolve<'n, 'a>(node: &'n Node<'a>, path: &str, prefix: String) -> Vec<(String, &'n Node<'a>)> {
    let mut out = Vec::new();
    let steps: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('.').collect() };
    walk(node, &steps, prefix, &mut out);
    out
}

fn walk<'n, 'a>(node: &'n Node<'a>, steps: &[&str], at: String, out: &mut Vec<(String, &'n Node<'a>)>) {
    if node.is_null() {
        return;
    }
    if matches!(node.value, Value::Alias(_)) {
        // What lies below an alias is its anchor's: it is found, and can't be written, here.
        out.push((at, node));
        return;
    }
    let Some((step, rest)) = steps.split_first() else {
        out.push((at, node));
        return;
    };
    let join = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
    match (*step, &node.value) {
        ("*", Value::Map { entries, .. }) => {
            for (key, value) in entries {
                walk(value, rest, join(key.scalar().unwrap_or_default()), out);
            }
        }
        ("*", Value::Seq { items, .. }) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, rest, format!("{at}[{i}]"), out);
            }
        }
        ("*", _) => {}
        (key, _) => {
            if let Some(child) = node.get(key) {
                walk(child, rest, join(key), out);
            }
        }
    }
}

/// Depth-first search for pod specs; a pod spec's own insides are not searched again.
fn find_pod_specs(node: &Node, at: String, found: &mut Vec<String>) {
    let holds_image = |c: &Node| c.get("image").is_some();
    if node.get("containers").is_some_and(|c| c.items().iter().any(holds_image)) {
        found.push(at);
        return;
    }
    match &node.value {
        Value::Map { entries, .. } => {
            for (key, value) in entries {
                find_pod_specs(value, format!("{at}.{}", key.scalar().unwrap_or_default()), found);
            }
        }
        Value::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                find_pod_specs(item, format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// `apps/v1` → `apps`; `v1` → `` (the core group).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Kubernetes' own API groups (`apps`, `batch`, `networking.k8s.io`): their kinds are known, and
/// none but the built-in workloads holds pods.
fn is_built_in_group(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::resources_of;
    use crate::stream::{Limits, tree};

    fn pods_of(text: &str, rules: &PodRules) -> Option<(Vec<String>, Vec<Missing>)> {
        let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
        let resources = resources_of(&root).unwrap();
        let res = &resources[0];
        rules.holds_pods(&res.id.api_version, &res.id.kind).then(|| {
            let (pods, missing) = rules.pods(res);
            (pods.into_iter().map(|p| p.path).collect(), missing)
        })
    }

    #[test]
    fn wildcards_take_every_role_and_every_worker_group() {
        let rules = PodRules::new(&[]);
        let job = "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nspec:\n  pytorchReplicaSpecs:\n    Master:\n      template:\n        spec: {containers: []}\n    Worker:\n      template:\n        spec: {containers: []}\n";
        let (pods, missing) = pods_of(job, &rules).unwrap();
        assert_eq!(
            pods,
            ["spec.pytorchReplicaSpecs.Master.template.spec", "spec.pytorchReplicaSpecs.Worker.template.spec"]
        );
        assert!(missing.is_empty());
        let ray = "apiVersion: ray.io/v1\nkind: RayCluster\nspec:\n  workerGroupSpecs:\n  - template: {spec: {}}\n  - template: {spec: {}}\n";
        let (pods, missing) = pods_of(ray, &rules).unwrap();
        assert_eq!(pods, ["spec.workerGroupSpecs[0].template.spec", "spec.workerGroupSpecs[1].template.spec"]);
        assert_eq!(missing, [("spec.headGroupSpec.template.spec".to_string(), "is missing".to_string())]);
    }

    #[test]
    fn custom_kinds_match_by_group_built_in_workloads_by_kind_alone() {
        let rules = PodRules::new(&[]);
        assert!(pods_of("apiVersion: example.com/v1\nkind: Notebook\nspec: {}\n", &rules).is_none());
        assert!(pods_of("apiVersion: kubeflow.org/v1beta1\nkind: Notebook\nspec: {}\n", &rules).is_some());
        assert!(pods_of("apiVersion: extensions/v1beta1\nkind: Deployment\nspec: {}\n", &rules).is_some());
        assert!(pods_of("kind: Pod\nspec: {}\n", &rules).is_some());
    }

    #[test]
    fn declared_templates_come_first_and_match_their_group() {
        let declared = PodTemplate {
            group: "kubeflow.org".into(),
            kind: "Notebook".into(),
            paths: vec!["spec.pods.*.spec".into()],
        };
        let rules = PodRules::new(&[declared]);
        let nb =
            "apiVersion: kubeflow.org/v1\nkind: Notebook\nspec:\n  pods:\n    a: {spec: {}}\n  template: {spec: {}}\n";
        assert_eq!(pods_of(nb, &rules).unwrap().0, ["spec.pods.a.spec"]);
    }

    #[test]
    fn containers_of_an_argo_workflow_are_in_every_template_type() {
        let wf = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n  - name: a\n    container: {image: a}\n    initContainers: [{name: i, image: i}]\n  - name: b\n    script: {image: b, source: x}\n    sidecars: [{name: s, image: s}]\n  - name: c\n    containerSet:\n      containers: [{name: c1, image: c}, {name: c2, image: c}]\n  - name: d\n    steps: [[{name: x, template: a}]]\n";
        let root = tree::parse(wf, &Limits::default()).unwrap().unwrap();
        let resources = resources_of(&root).unwrap();
        let (pods, _) = PodRules::new(&[]).pods(&resources[0]);
        let paths = |init| pods[0].containers(init).into_iter().map(|c| c.path).collect::<Vec<_>>();
        assert_eq!(
            paths(false),
            [
                "spec.templates[0].container",
                "spec.templates[1].script",
                "spec.templates[2].containerSet.containers[0]",
                "spec.templates[2].containerSet.containers[1]",
                "spec.templates[1].sidecars[0]",
            ]
        );
        assert_eq!(paths(true)[0], "spec.templates[0].initContainers[0]");
    }

    #[test]
    fn undeclared_pod_specs_are_found_in_custom_resources_only() {
        let rules = PodRules::new(&[]);
        let find = |text: &str| {
            let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
            rules.undeclared(&resources_of(&root).unwrap()[0])
        };
        let cr = "apiVersion: example.com/v1\nkind: Trainer\nspec:\n  pods:\n  - template:\n      spec:\n        containers:\n        - image: x\n";
        assert_eq!(find(cr), ["spec.pods[0].template.spec"]);
        assert!(find(&cr.replace("example.com/v1", "v1")).is_empty(), "core group");
        assert!(find(&cr.replace("- image: x", "- name: x")).is_empty(), "no image: a schema, not a pod");
        assert!(find("apiVersion: kubeflow.org/v1\nkind: Notebook\nspec:\n  template:\n    spec:\n      containers:\n      - image: x\n").is_empty());
    }

    /// Follows `a.b[2].c` in a JSON value.
    fn at<'j>(json: &'j serde_json::Value, dotted: &str) -> &'j serde_json::Value {
        dotted.split('.').fold(json, |v, step| match step.split_once('[') {
            Some((key, index)) => &v[key][index.trim_end_matches(']').parse::<usize>().unwrap()],
            None => &v[step],
        })
    }

    /// (object, pod paths, container paths): every pod gets the secret and the volume, every
    /// container the mount; a second run changes nothing.
    const KINDS: &[(&str, &[&str], &[&str])] = &[
        (
            "apiVersion: kubeflow.org/v1\nkind: Notebook\nmetadata: {name: nb}\nspec:\n  template:\n    spec:\n      containers:\n      - name: nb\n        image: jupyter\n        volumeMounts:\n        - {name: dshm, mountPath: /dev/shm}\n      volumes:\n      - name: dshm\n        emptyDir: {medium: Memory}\n",
            &["spec.template.spec"],
            &["spec.template.spec.containers[0]"],
        ),
        (
            "apiVersion: kubeflow.org/v1\nkind: TFJob\nmetadata: {name: tf}\nspec:\n  tfReplicaSpecs:\n    PS:\n      replicas: 1\n      template:\n        spec:\n          imagePullSecrets: [{name: other}]\n          containers: [{name: tensorflow, image: tf}]\n    Worker:\n      replicas: 2\n      template:\n        spec:\n          containers:\n          - {name: tensorflow, image: tf}\n          - {name: sidecar, image: s}\n",
            &["spec.tfReplicaSpecs.PS.template.spec", "spec.tfReplicaSpecs.Worker.template.spec"],
            &[
                "spec.tfReplicaSpecs.PS.template.spec.containers[0]",
                "spec.tfReplicaSpecs.Worker.template.spec.containers[0]",
                "spec.tfReplicaSpecs.Worker.template.spec.containers[1]",
            ],
        ),
        (
            "apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: rj}\nspec:\n  entrypoint: python x.py\n  rayClusterSpec:\n    headGroupSpec:\n      template:\n        spec:\n          containers: [{name: head, image: ray}]\n    workerGroupSpecs:\n    - groupName: a\n      template:\n        spec:\n          containers: [{name: w, image: ray}]\n    - groupName: b\n      template:\n        spec:\n          containers: [{name: w, image: ray}]\n  submitterPodTemplate:\n    spec:\n      containers: [{name: submit, image: ray}]\n",
            &[
                "spec.rayClusterSpec.headGroupSpec.template.spec",
                "spec.rayClusterSpec.workerGroupSpecs[0].template.spec",
                "spec.rayClusterSpec.workerGroupSpecs[1].template.spec",
                "spec.submitterPodTemplate.spec",
            ],
            &[
                "spec.rayClusterSpec.headGroupSpec.template.spec.containers[0]",
                "spec.rayClusterSpec.workerGroupSpecs[0].template.spec.containers[0]",
                "spec.rayClusterSpec.workerGroupSpecs[1].template.spec.containers[0]",
                "spec.submitterPodTemplate.spec.containers[0]",
            ],
        ),
        (
            "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: isvc\n  annotations: {serving.kserve.io/deploymentMode: RawDeployment}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: sklearn}\n      storageUri: gs://x\n  transformer:\n    containers:\n    - name: kserve-container\n      image: transformer\n",
            &["spec.predictor", "spec.transformer"],
            &["spec.predictor.model", "spec.transformer.containers[0]"],
        ),
        (
            "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: cw}\nspec:\n  schedule: '* * * * *'\n  workflowSpec:\n    entrypoint: main\n    templates:\n    - name: main\n      steps: [[{name: a, template: a}]]\n    - name: a\n      container: {image: a}\n    - name: b\n      script: {image: b, source: x}\n",
            &["spec.workflowSpec"],
            &["spec.workflowSpec.templates[1].container", "spec.workflowSpec.templates[2].script"],
        ),
        (
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: a}]\n",
            &["spec.template.spec"],
            &["spec.template.spec.containers[0]"],
        ),
        (
            "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainingRuntime\nmetadata: {name: torch}\nspec:\n  template:\n    spec:\n      replicatedJobs:\n      - name: node\n        template:\n          spec:\n            template:\n              spec:\n                containers: [{name: node, image: torch}]\n",
            &["spec.template.spec.replicatedJobs[0].template.spec.template.spec"],
            &["spec.template.spec.replicatedJobs[0].template.spec.template.spec.containers[0]"],
        ),
    ];

    #[test]
    fn every_pod_of_every_custom_kind_gets_the_secret_and_every_container_the_mount() {
        use crate::testutil::{config, docs, run};
        let config = config(&[]);
        for (input, pods, containers) in KINDS {
            let (out, changes) = run(input, &config);
            let doc = &docs(&out)[0];
            for pod in *pods {
                let secrets = at(doc, &format!("{pod}.imagePullSecrets"));
                assert!(
                    secrets.as_array().unwrap().iter().any(|s| s["name"] == "maia-docker-registry-secret"),
                    "{pod}:\n{out}"
                );
                let volumes = at(doc, &format!("{pod}.volumes"));
                assert!(
                    volumes.as_array().unwrap().iter().any(|v| v["persistentVolumeClaim"]["claimName"] == "shared"),
                    "{pod}:\n{out}"
                );
            }
            for container in *containers {
                let mounts = at(doc, &format!("{container}.volumeMounts"));
                assert!(
                    mounts.as_array().unwrap().iter().any(|m| m["mountPath"] == "/home/maia-user/shared"),
                    "{container}:\n{out}"
                );
            }
            assert!(changes.iter().all(|c| c.outcome == crate::patch::Outcome::Changed), "{changes:?}");
            let (again, changes) = run(&out, &config);
            assert_eq!(again, out);
            assert!(changes.iter().all(|c| c.outcome == crate::patch::Outcome::Unchanged), "{changes:?}");
        }
    }

    #[test]
    fn a_minio_tenant_takes_one_secret_object() {
        use crate::patch::Outcome;
        use crate::testutil::{config, messages, run};
        let tenant =
            "apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: t}\nspec:\n  pools:\n  - servers: 4\n";
        let (out, _) = run(tenant, &config(&[]));
        assert_eq!(out, format!("{tenant}  imagePullSecret:\n    name: maia-docker-registry-secret\n"));
        let other = tenant.replace("spec:\n", "spec:\n  imagePullSecret: {name: other}\n");
        let (out, changes) = run(&other, &config(&[]));
        assert_eq!(out, other);
        assert!(messages(&changes, Outcome::Conflict)[0].contains("names other"), "{changes:?}");
    }

    #[test]
    fn a_rollout_from_a_workload_ref_and_a_job_without_roles_are_noted_not_flagged() {
        use crate::patch::Outcome;
        use crate::testutil::{config, run};
        for input in [
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: d}\n",
            "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: p}\nspec: {}\n",
        ] {
            let (out, changes) = run(input, &config(&[]));
            assert_eq!(out, input);
            assert!(changes.iter().all(|c| c.outcome == Outcome::Unchanged), "{changes:?}");
        }
    }

    #[test]
    fn argo_mounts_a_container_set_or_a_mirroring_sidecar_gets_are_not_added_again() {
        use crate::patch::Outcome;
        use crate::testutil::{config, messages, run};
        let wf = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  templates:\n  - name: set\n    containerSet:\n      volumeMounts:\n      - {name: shared, mountPath: /home/maia-user/shared}\n      containers:\n      - {name: a, image: a}\n      - {name: b, image: b}\n  - name: main\n    container: {image: m}\n    sidecars:\n    - {name: s, image: s, mirrorVolumeMounts: true}\n";
        let (out, changes) = run(wf, &config(&[]));
        let doc = &crate::testutil::docs(&out)[0];
        assert_eq!(doc["spec"]["templates"][0]["containerSet"]["containers"][0].get("volumeMounts"), None, "{out}");
        assert_eq!(doc["spec"]["templates"][1]["sidecars"][0].get("volumeMounts"), None, "{out}");
        assert_eq!(doc["spec"]["templates"][1]["container"]["volumeMounts"][0]["name"], "shared", "{out}");
        let kept = messages(&changes, Outcome::Unchanged);
        assert!(kept.iter().filter(|m| m.contains("already mounts shared")).count() == 2, "{kept:?}");
        assert!(kept.iter().any(|m| m.contains("mirrorVolumeMounts")), "{kept:?}");
    }

    #[test]
    fn a_volume_name_taken_by_a_claim_template_or_a_template_volume_blocks_the_mount() {
        use crate::patch::Outcome;
        use crate::testutil::{config, messages, run};
        for taken in [
            "  volumeClaimTemplates:\n  - metadata: {name: shared}\n",
            "  - name: t\n    volumes: [{name: shared, emptyDir: {}}]\n",
        ] {
            let wf = format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: w}}\nspec:\n  templates:\n  - name: main\n    container: {{image: m}}\n{taken}"
            );
            let (out, changes) = run(&wf, &config(&[("pull_secret", "false")]));
            assert_eq!(out, wf);
            assert!(messages(&changes, Outcome::Conflict)[0].contains("a volume named shared exists"), "{changes:?}");
        }
    }

    #[test]
    fn an_unset_tenant_secret_object_is_filled_in() {
        use crate::testutil::{config, run};
        // The operator reads an empty name as none.
        for unset in ["{ }", "{name: \"\"}", "{name: }"] {
            let tenant = format!(
                "apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {{name: t}}\nspec:\n  imagePullSecret: {unset}\n"
            );
            let (out, _) = run(&tenant, &config(&[]));
            let secret = &crate::testutil::docs(&out)[0]["spec"]["imagePullSecret"];
            assert_eq!(secret, &serde_json::json!({"name": "maia-docker-registry-secret"}), "{out}");
        }
    }

    #[test]
    fn cluster_wide_templates_get_the_pull_secret_but_not_the_claim() {
        use crate::testutil::{config, docs, run};
        let cwt = "apiVersion: argoproj.io/v1alpha1\nkind: ClusterWorkflowTemplate\nmetadata: {name: c}\nspec:\n  templates:\n  - name: main\n    container: {image: m}\n";
        let (out, changes) = run(cwt, &config(&[]));
        let doc = &docs(&out)[0];
        assert_eq!(doc["spec"]["imagePullSecrets"][0]["name"], "maia-docker-registry-secret");
        assert!(doc["spec"].get("volumes").is_none() && !out.contains("mountPath"), "{out}");
        assert!(changes.iter().any(|c| c.message.contains("cluster-wide template")), "{changes:?}");
    }

    #[test]
    fn kserve_pods_get_the_claim_only_outside_knative() {
        use crate::patch::Outcome;
        use crate::testutil::{config, docs, messages, run};
        let sr = "apiVersion: serving.kserve.io/v1alpha1\nkind: ServingRuntime\nmetadata: {name: s}\nspec:\n  containers: [{name: kserve-container, image: x}]\n  workerSpec:\n    containers: [{name: worker-container, image: x}]\n";
        let (out, _) = run(sr, &config(&[("shared_init_containers", "true")]));
        let doc = &docs(&out)[0];
        assert!(doc["spec"].get("initContainers").is_none() && !out.contains("volumeMounts"), "{out}");
        for pod in [&doc["spec"], &doc["spec"]["workerSpec"]] {
            assert_eq!(pod["imagePullSecrets"][0]["name"], "maia-docker-registry-secret", "{out}");
        }
        let isvc = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: i}\nspec:\n  predictor:\n    model: {modelFormat: {name: sklearn}}\n";
        let (out, changes) = run(isvc, &config(&[]));
        assert!(out.contains("imagePullSecrets") && !out.contains("volumeMounts"), "{out}");
        assert!(messages(&changes, Outcome::Notice)[0].contains("deploymentMode: RawDeployment"), "{changes:?}");
        let raw = isvc.replace("{name: i}", "{name: i, annotations: {serving.kserve.io/deploymentMode: Standard}}");
        assert!(run(&raw, &config(&[])).0.contains("volumeMounts"));
    }

    #[test]
    fn argo_template_defaults_reach_only_the_container_kind_they_name() {
        use crate::testutil::{config, docs, run};
        let wf = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  templateDefaults:\n    container:\n      volumeMounts: [{name: shared, mountPath: /home/maia-user/shared}]\n  volumes: [{name: shared, persistentVolumeClaim: {claimName: shared}}]\n  templates:\n  - {name: c, container: {image: c}}\n  - {name: s, script: {image: b, source: x}, sidecars: [{name: side, image: s}]}\n";
        let (out, _) = run(wf, &config(&[]));
        let doc = &docs(&out)[0];
        assert!(doc["spec"]["templates"][0]["container"].get("volumeMounts").is_none(), "{out}");
        assert_eq!(doc["spec"]["templates"][1]["script"]["volumeMounts"][0]["name"], "shared", "{out}");
        assert_eq!(doc["spec"]["templates"][1]["sidecars"][0]["volumeMounts"][0]["name"], "shared", "{out}");
    }

    #[test]
    fn a_job_of_a_custom_group_is_not_a_kubernetes_job() {
        use crate::patch::Outcome;
        use crate::testutil::{config, run};
        let vcjob = "apiVersion: batch.volcano.sh/v1alpha1\nkind: Job\nmetadata: {name: v}\nspec:\n  tasks:\n  - template:\n      spec:\n        containers: [{name: a, image: a}]\n";
        let (out, changes) = run(vcjob, &config(&[]));
        assert_eq!(out, vcjob);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!((changes[0].outcome, changes[0].field.as_str()), (Outcome::Notice, "spec.tasks[0].template.spec"));
    }
}
