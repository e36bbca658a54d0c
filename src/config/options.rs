//! Option keys: behaviour switches that are neither form nor cluster keys.

use serde_json::{Map, Value as Json};

use super::fields::{self, Fields};
use super::validate;
use crate::stream::Limits;

/// Which Ingress rule hosts get the workspace host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostPolicy {
    /// Empty hosts and hosts outside `domain`.
    OutsideDomain,
    /// Only empty hosts.
    EmptyOnly,
    /// Never touch rule hosts.
    Keep,
}

/// Where the Traefik forwardAuth Middleware comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MiddlewareMode {
    /// Emitted by the stream that holds oauth2-proxy's own Ingress, so exactly one Helm release owns it.
    Auto,
    Always,
    Never,
}

/// Behaviour switches; every key is documented in [`OPTION_KEYS`] and the README.
#[derive(Debug, Clone)]
pub struct Options {
    pub ingress_tls: bool,
    pub oauth: bool,
    pub pull_secret: bool,
    pub shared_volume: bool,
    pub host_policy: HostPolicy,
    pub oauth_jupyterhub: bool,
    /// The Services JupyterHub's route may lead to: only such a route is JupyterHub's own.
    pub jupyterhub_services: Vec<String>,
    /// The patches `maia-krm.io/skip` may switch off (and the policy then waives); the admin's
    /// choice, since the annotation is the chart's to write.
    pub skip_allowed: Vec<String>,
    /// The input is a group's own (Argo CD plugin): resources outside the workspace namespace and
    /// cluster-scoped kinds are refused, not only reported.
    pub tenant: bool,
    /// Namespaces besides the workspace's whose resources (routes included) a render may hold.
    pub allowed_namespaces: Vec<String>,
    /// Cluster-scoped kinds a tenant render may hold.
    pub allowed_cluster_kinds: Vec<String>,
    /// Hosts in the cluster's domain a workspace may serve besides its own and those below it.
    pub extra_hosts: Vec<String>,
    pub oauth_response_headers: bool,
    pub oauth2_proxy_service: String,
    pub middleware: MiddlewareMode,
    pub middleware_name: String,
    pub shared_claim: String,
    pub shared_volume_name: String,
    pub shared_mount_path: String,
    pub shared_init_containers: bool,
    pub shared_hooks: bool,
    /// A route or pod spec that can't be given what the policy requires fails the run (true), or
    /// passes as it is with a warning (`on_unpatchable: warn`).
    pub fail_closed: bool,
    /// Pod templates in custom resources that admins declare, beside the built-in ones.
    pub pod_templates: Vec<PodTemplate>,
    pub limits: Limits,
}

/// An admin-declared kind that holds pod specs: kustomize's field specs, for pods.
#[derive(Debug, Clone, PartialEq)]
pub struct PodTemplate {
    /// API group (`""` for the core group); matched regardless of version.
    pub group: String,
    pub kind: String,
    /// Dotted paths from the object root to pod specs; `*` matches every map value or list item.
    pub paths: Vec<String>,
}

/// Option keys: (key, default, meaning). The single list behind unknown-key errors and the README.
pub const OPTION_KEYS: &[(&str, &str, &str)] = &[
    (
        "ingress_tls",
        "true",
        "Ingress hosts, TLS entries, ingressClassName and issuer/resolver annotations; IngressRoute hosts and TLS",
    ),
    ("oauth", "true", "oauth2-proxy in front of Ingresses and IngressRoutes (needs `oauth_url` in the form)"),
    ("pull_secret", "true", "registry pull secret on every pod template and ServiceAccount"),
    ("shared_volume", "true", "the group's shared PVC mounted in every container"),
    ("host_policy", "outside-domain", "which rule hosts become the workspace host: outside-domain, empty-only, keep"),
    ("oauth_jupyterhub", "false", "also put oauth2-proxy in front of JupyterHub (it logs in through Keycloak itself)"),
    (
        "jupyterhub_services",
        "proxy-public",
        "the Services JupyterHub's route leads to (comma-separated; z2jh's `proxy-public`, bitnami's `<release>-proxy-public`): only a route with JupyterHub's labels whose every backend is one of them counts as JupyterHub's, with its own login",
    ),
    (
        "skip_allowed",
        "pod-templates",
        "the patches the annotation maia-krm.io/skip may switch off, comma-separated (any of ingress-tls, oauth, pull-secret, shared-volume, pod-templates, or all); the policy then waives what that patch gives. Elsewhere the annotation is not honoured (a note says so)",
    ),
    (
        "tenant",
        "false",
        "the input is a group's own (the Argo CD plugin sets it with --tenant): resources outside the workspace namespace and cluster-scoped kinds fail the run instead of being noted",
    ),
    (
        "allowed_namespaces",
        "",
        "namespaces besides the workspace's that a render may hold resources (routes included) in, comma-separated; their routes are left alone",
    ),
    ("allowed_cluster_kinds", "", "cluster-scoped kinds a tenant render may hold, comma-separated (e.g. `Profile`)"),
    (
        "extra_hosts",
        "",
        "hosts in the cluster's domain a workspace's routes may serve besides its own host and those below it, comma-separated",
    ),
    ("oauth_response_headers", "true", "nginx: pass X-Auth-Request-User and -Email to the app"),
    ("oauth2_proxy_service", "oauth2-proxy", "Service name of oauth2-proxy in the workspace namespace"),
    ("middleware", "auto", "Traefik Middleware: auto (emit it with oauth2-proxy's own Ingress), always, never"),
    ("middleware_name", "oauth2-proxy-auth", "name of the Traefik forwardAuth Middleware"),
    ("shared_claim", "shared", "PersistentVolumeClaim name of the shared volume"),
    ("shared_volume_name", "shared", "pod volume name used when a pod does not mount the claim yet"),
    ("shared_mount_path", "/home/maia-user/shared", "where containers see the shared volume"),
    ("shared_init_containers", "false", "mount the shared volume in init containers too"),
    ("shared_hooks", "false", "mount the shared volume in Helm hook pods too"),
    (
        "on_unpatchable",
        "fail",
        "a route or pod spec that can't be given the workspace host, TLS, login, pull secret or shared volume: fail (exit 1, nothing written) or warn (written as it is, a warning on stderr)",
    ),
    (
        "pod_templates",
        "[]",
        "more kinds that hold pod specs: a YAML list of `{group, kind, paths}`, each path dotted from the object root to a pod spec, `*` for every map value or list item",
    ),
    ("max_depth", "256", "deepest collection nesting accepted in a document"),
    ("max_document_bytes", "33554432", "largest document accepted, in bytes"),
    ("max_stream_bytes", "1073741824", "largest input accepted, in bytes"),
    (
        "strict_duplicate_keys",
        "false",
        "refuse a mapping that repeats a key (default: read the last one, as Helm does, patch that one, and warn)",
    ),
];

pub fn read_options(obj: &Map<String, Json>, errors: &mut Vec<String>) -> Options {
    let mut f = Fields::new(obj, "option", errors);
    let default = |key: &str| OPTION_KEYS.iter().find(|(k, _, _)| *k == key).map(|(_, d, _)| *d).unwrap_or_default();
    let name = |f: &mut Fields, key: &str, check| f.checked(key, check).unwrap_or_else(|| default(key).to_string());
    let oauth2_proxy_service = name(&mut f, "oauth2_proxy_service", validate::dns_label);
    let jupyterhub_services = list(&mut f, "jupyterhub_services", validate::dns_label);
    let middleware_name = name(&mut f, "middleware_name", validate::dns_subdomain);
    let shared_claim = name(&mut f, "shared_claim", validate::dns_subdomain);
    let shared_volume_name = name(&mut f, "shared_volume_name", validate::dns_label);
    let shared_mount_path = name(&mut f, "shared_mount_path", validate::mount_path);
    let limits = Limits::default();
    let skip_allowed = list(&mut f, "skip_allowed", |p| match p {
        "all" | "ingress-tls" | "oauth" | "pull-secret" | "shared-volume" | "pod-templates" => Ok(()),
        other => Err(format!(
            "{other:?} is not a patch (ingress-tls, oauth, pull-secret, shared-volume, pod-templates, all)"
        )),
    });
    Options {
        ingress_tls: f.bool("ingress_tls", true),
        oauth: f.bool("oauth", true),
        pull_secret: f.bool("pull_secret", true),
        shared_volume: f.bool("shared_volume", true),
        host_policy: match f.choice("host_policy", &["outside-domain", "empty-only", "keep"], "outside-domain") {
            "empty-only" => HostPolicy::EmptyOnly,
            "keep" => HostPolicy::Keep,
            _ => HostPolicy::OutsideDomain,
        },
        oauth_jupyterhub: f.bool("oauth_jupyterhub", false),
        jupyterhub_services,
        skip_allowed,
        tenant: f.bool("tenant", false),
        allowed_namespaces: list(&mut f, "allowed_namespaces", validate::dns_label),
        allowed_cluster_kinds: list(&mut f, "allowed_cluster_kinds", validate::kind),
        extra_hosts: list(&mut f, "extra_hosts", validate::host),
        oauth_response_headers: f.bool("oauth_response_headers", true),
        oauth2_proxy_service,
        middleware: match f.choice("middleware", &["auto", "always", "never"], "auto") {
            "always" => MiddlewareMode::Always,
            "never" => MiddlewareMode::Never,
            _ => MiddlewareMode::Auto,
        },
        middleware_name,
        shared_claim,
        shared_volume_name,
        shared_mount_path,
        shared_init_containers: f.bool("shared_init_containers", false),
        shared_hooks: f.bool("shared_hooks", false),
        fail_closed: f.choice("on_unpatchable", &["fail", "warn"], "fail") == "fail",
        pod_templates: pod_templates(&mut f),
        limits: Limits {
            max_depth: f.uint("max_depth", limits.max_depth),
            max_document_bytes: f.uint("max_document_bytes", limits.max_document_bytes),
            max_stream_bytes: f.uint("max_stream_bytes", limits.max_stream_bytes),
            strict_duplicate_keys: f.bool("strict_duplicate_keys", false),
        },
    }
}

/// A list option: comma-separated (ConfigMap data values are strings) or a YAML list; every
/// item checked, the default's when absent.
fn list(f: &mut Fields, key: &str, check: impl Fn(&str) -> Result<(), String>) -> Vec<String> {
    let default = OPTION_KEYS.iter().find(|(k, _, _)| *k == key).map_or("", |(_, d, _)| *d);
    let items: Vec<String> = match f.raw(key) {
        Some(Json::Array(_)) => f.strings(key),
        Some(_) => f.string(&[key]).unwrap_or_default().split(',').map(|s| s.trim().to_string()).collect(),
        None => default.split(',').map(str::to_string).collect(),
    };
    let items: Vec<String> = items.into_iter().filter(|i| !i.is_empty()).collect();
    for item in &items {
        if let Err(e) = check(item) {
            f.fail(key, e);
        }
    }
    items
}

/// The `pod_templates` option: a list, or its YAML text (ConfigMap data values are strings).
/// Every bad entry is reported with its position; none is half-used.
fn pod_templates(f: &mut Fields) -> Vec<PodTemplate> {
    const KEY: &str = "pod_templates";
    let parsed = match f.raw(KEY) {
        None => return Vec::new(),
        Some(Json::String(text)) => super::parse_yaml(text),
        Some(other) => Ok(other.clone()),
    };
    let entries = match parsed {
        Ok(Json::Array(entries)) => entries,
        Ok(Json::Null) => return Vec::new(),
        Ok(_) => {
            f.fail(KEY, "expected a list of {group, kind, paths}");
            return Vec::new();
        }
        Err(e) => {
            f.fail(KEY, e);
            return Vec::new();
        }
    };
    let mut templates = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match pod_template(entry) {
            Ok(t) => templates.push(t),
            Err(e) => f.fail(KEY, format!("entry {}: {e}", i + 1)),
        }
    }
    templates
}

fn pod_template(entry: &Json) -> Result<PodTemplate, String> {
    let obj = entry.as_object().ok_or("expected a mapping with group, kind and paths")?;
    const KEYS: [&str; 3] = ["group", "kind", "paths"];
    if let Some(unknown) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(fields::unknown_key(unknown, &KEYS));
    }
    let group = match obj.get("group") {
        None | Some(Json::Null) => return Err("`group` is required (\"\" for the core group)".into()),
        Some(Json::String(g)) if g.is_empty() => String::new(),
        Some(Json::String(g)) => {
            validate::dns_subdomain(g).map_err(|e| format!("`group`: {e}"))?;
            g.clone()
        }
        Some(_) => return Err("`group` must be a string".into()),
    };
    let kind = match obj.get("kind") {
        Some(Json::String(k)) if validate::kind(k).is_ok() => k.clone(),
        _ => return Err("`kind` must be a Kubernetes kind such as `TrainJob`".into()),
    };
    let paths = match obj.get("paths") {
        Some(Json::Array(paths)) if !paths.is_empty() => paths
            .iter()
            .map(|p| {
                p.as_str().filter(|p| valid_path(p)).map(str::to_string).ok_or_else(|| {
                    "`paths` must be dotted field paths such as `spec.workers.*.template.spec`".to_string()
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("`paths` must be a non-empty list".into()),
    };
    Ok(PodTemplate { group, kind, paths })
}

/// `spec.replicaSpecs.*.template.spec`: field names (as Kubernetes spells them) or `*`.
fn valid_path(path: &str) -> bool {
    path.split('.').all(|step| {
        step == "*" || (!step.is_empty() && step.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    })
}
