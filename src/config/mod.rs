//! The configuration: the group's registration form, the cluster config, and option keys.
//!
//! All three arrive through one shape, a ConfigMap-like `data` map: `group-form.yaml` and
//! `cluster.yaml` hold the two upstream files as text, and any other key is a flat override of a
//! form key, a cluster key or an option. The same loader serves `--config FILE`, `--form/--cluster`,
//! `MAIA_KRM_CONFIG`, a KRM functionConfig and kpt's `function-input` ConfigMap.

mod fields;
pub mod validate;

use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::stream::{scalar::to_json, tree, Limits};
use fields::Fields;

/// Everything a run needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub form: Form,
    pub cluster: Cluster,
    pub options: Options,
}

/// The group form (upstream keys).
#[derive(Debug, Clone)]
pub struct Form {
    pub group_id: String,
    pub group_subdomain: String,
    pub oauth_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UrlType {
    Subdomain,
    Subpath,
}

/// The cluster config (upstream keys).
#[derive(Debug, Clone)]
pub struct Cluster {
    pub domain: String,
    pub url_type: UrlType,
    pub nginx_cluster_issuer: Option<String>,
    pub traefik_resolver: Option<String>,
    pub ingress_class: Option<String>,
    /// The ONE registry pull secret name (upstream key `imagePullSecrets`).
    pub image_pull_secret: String,
}

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
    pub oauth_response_headers: bool,
    pub oauth2_proxy_service: String,
    pub middleware: MiddlewareMode,
    pub middleware_name: String,
    pub shared_claim: String,
    pub shared_volume_name: String,
    pub shared_mount_path: String,
    pub shared_init_containers: bool,
    pub shared_hooks: bool,
    pub limits: Limits,
}

/// Option keys: (key, default, meaning). The single list behind unknown-key errors and the README.
pub const OPTION_KEYS: &[(&str, &str, &str)] = &[
    ("ingress_tls", "true", "Ingress hosts, TLS entries, ingressClassName and issuer/resolver annotations"),
    ("oauth", "true", "oauth2-proxy in front of Ingresses (needs `oauth_url` in the form)"),
    ("pull_secret", "true", "registry pull secret on every pod template and ServiceAccount"),
    ("shared_volume", "true", "the group's shared PVC mounted in every container"),
    ("host_policy", "outside-domain", "which rule hosts become the workspace host: outside-domain, empty-only, keep"),
    ("oauth_jupyterhub", "false", "also put oauth2-proxy in front of JupyterHub (it logs in through Keycloak itself)"),
    ("oauth_response_headers", "true", "nginx: pass X-Auth-Request-User and -Email to the app"),
    ("oauth2_proxy_service", "oauth2-proxy", "Service name of oauth2-proxy in the workspace namespace"),
    ("middleware", "auto", "Traefik Middleware: auto (emit it with oauth2-proxy's own Ingress), always, never"),
    ("middleware_name", "oauth2-proxy-auth", "name of the Traefik forwardAuth Middleware"),
    ("shared_claim", "shared", "PersistentVolumeClaim name of the shared volume"),
    ("shared_volume_name", "shared", "pod volume name used when a pod does not mount the claim yet"),
    ("shared_mount_path", "/home/maia-user/shared", "where containers see the shared volume"),
    ("shared_init_containers", "false", "mount the shared volume in init containers too"),
    ("shared_hooks", "false", "mount the shared volume in Helm hook pods too"),
    ("max_depth", "256", "deepest collection nesting accepted in a document"),
    ("max_document_bytes", "33554432", "largest document accepted, in bytes"),
    ("max_stream_bytes", "1073741824", "largest input accepted, in bytes"),
];

const FORM_KEYS: &[&str] = &[
    "group_ID",
    "group_subdomain",
    "namespace_hub_address",
    "maia_workspace_version",
    "users",
    "resources_limits",
    "gpu_request",
    "oauth_url",
    "minio_console_service",
    "minio_access_key",
    "minio_secret_key",
    "mlflow_service",
];

const CLUSTER_KEYS: &[&str] = &[
    "domain",
    "url_type",
    "nginx_cluster_issuer",
    "traefik_resolver",
    "ingress_class",
    "storage_class",
    "shared_storage_class",
    "imagePullSecrets",
    "docker_server",
    "docker_username",
    "docker_password",
    "keycloak",
    "keycloack",
    "admins",
    "ssh_port_type",
    "port_range",
    "ssh_hostname",
];

pub const FORM_FILE_KEY: &str = "group-form.yaml";
pub const CLUSTER_FILE_KEY: &str = "cluster.yaml";

impl Config {
    /// The workspace namespace: `group_ID` lower-cased with `_` turned into `-`.
    pub fn namespace(&self) -> String {
        namespace_of(&self.form.group_id)
    }

    /// The host every workspace app is served on.
    pub fn workspace_host(&self) -> String {
        match self.cluster.url_type {
            UrlType::Subdomain => format!("{}.{}", self.form.group_subdomain, self.cluster.domain),
            UrlType::Subpath => self.cluster.domain.clone(),
        }
    }

    /// Loads a ConfigMap file (`--config`).
    pub fn from_config_map_file(path: &Path) -> Result<Config, String> {
        let obj = read_yaml_file(path)?;
        Config::from_object(&obj).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Loads the two files admins keep (`--form`, `--cluster`).
    pub fn from_files(form: &Path, cluster: &Path) -> Result<Config, String> {
        let mut data = Map::new();
        data.insert(FORM_FILE_KEY.into(), read_yaml_file(form)?);
        data.insert(CLUSTER_FILE_KEY.into(), read_yaml_file(cluster)?);
        Config::from_data(&data)
    }

    /// From a ConfigMap-like object: its `data` map (kpt's `function-input` is one too).
    pub fn from_object(obj: &Json) -> Result<Config, String> {
        match obj.get("data") {
            Some(Json::Object(data)) => Config::from_data(data),
            Some(Json::Null) | None => Config::from_data(&Map::new()),
            Some(_) => Err("`data` must be a map of keys to strings".into()),
        }
    }

    /// From a `data` map: the two embedded files plus flat overrides.
    pub fn from_data(data: &Map<String, Json>) -> Result<Config, String> {
        let mut errors = Vec::new();
        let mut form = embedded(data, FORM_FILE_KEY, &mut errors);
        let mut cluster = embedded(data, CLUSTER_FILE_KEY, &mut errors);
        let mut options = Map::new();
        for (key, value) in data {
            let target = if key == FORM_FILE_KEY || key == CLUSTER_FILE_KEY {
                continue;
            } else if FORM_KEYS.contains(&key.as_str()) {
                &mut form
            } else if CLUSTER_KEYS.contains(&key.as_str()) {
                &mut cluster
            } else if OPTION_KEYS.iter().any(|(k, _, _)| k == key) {
                &mut options
            } else {
                errors.push(format!(
                    "unknown key `{key}` (not a group form key, cluster key or option; options are {})",
                    OPTION_KEYS.iter().map(|(k, _, _)| *k).collect::<Vec<_>>().join(", ")
                ));
                continue;
            };
            target.insert(key.clone(), flat_value(value));
        }
        let config = Config {
            form: read_form(&form, &mut errors),
            cluster: read_cluster(&cluster, &mut errors),
            options: read_options(&options, &mut errors),
        };
        if errors.is_empty() { Ok(config) } else { Err(errors.join("\n  ")) }
    }
}

pub fn namespace_of(group_id: &str) -> String {
    group_id.to_lowercase().replace('_', "-")
}

fn read_form(obj: &Map<String, Json>, errors: &mut Vec<String>) -> Form {
    let mut f = Fields::new(obj, "group form", errors);
    let group_id = f.required_string("group_ID");
    if let Some(Err(e)) = group_id.as_deref().map(|g| validate::dns_label(&namespace_of(g))) {
        f.fail("group_ID", format!("gives namespace {e}"));
    }
    let group_id = group_id.unwrap_or_default();
    let group_subdomain = f.string(&["group_subdomain", "namespace_hub_address"]).unwrap_or_else(|| namespace_of(&group_id));
    // (an invalid group_ID was reported above; don't report its derived subdomain twice)
    if let Err(e) = validate::dns_label(&group_subdomain) {
        f.fail("group_subdomain", e);
    }
    let oauth_url = f.string(&["oauth_url"]);
    if let Some(Err(e)) = oauth_url.as_deref().map(validate::host) {
        f.fail("oauth_url", e);
    }
    Form { group_id, group_subdomain, oauth_url }
}

fn read_cluster(obj: &Map<String, Json>, errors: &mut Vec<String>) -> Cluster {
    let mut f = Fields::new(obj, "cluster config", errors);
    let domain = f.required_string("domain");
    if let Some(Err(e)) = domain.as_deref().map(validate::host) {
        f.fail("domain", e);
    }
    let domain = domain.unwrap_or_default();
    let url_type = match f.choice("url_type", &["subdomain", "subpath"], "subdomain") {
        "subpath" => UrlType::Subpath,
        _ => UrlType::Subdomain,
    };
    let subdomain_name = |f: &mut Fields, key: &str| {
        let v = f.string(&[key]);
        if let Some(Err(e)) = v.as_deref().map(validate::dns_subdomain) {
            f.fail(key, e);
        }
        v
    };
    let nginx_cluster_issuer = subdomain_name(&mut f, "nginx_cluster_issuer");
    let traefik_resolver = subdomain_name(&mut f, "traefik_resolver");
    let ingress_class = subdomain_name(&mut f, "ingress_class");
    let image_pull_secret = subdomain_name(&mut f, "imagePullSecrets").unwrap_or_else(|| "maia-docker-registry-secret".into());
    Cluster { domain, url_type, nginx_cluster_issuer, traefik_resolver, ingress_class, image_pull_secret }
}

fn read_options(obj: &Map<String, Json>, errors: &mut Vec<String>) -> Options {
    let mut f = Fields::new(obj, "option", errors);
    let default = |key: &str| OPTION_KEYS.iter().find(|(k, _, _)| *k == key).map(|(_, d, _)| *d).unwrap_or_default();
    let name = |f: &mut Fields, key: &str, check: fn(&str) -> Result<(), String>| {
        let v = f.string(&[key]).unwrap_or_else(|| default(key).to_string());
        if let Err(e) = check(&v) {
            f.fail(key, e);
        }
        v
    };
    let oauth2_proxy_service = name(&mut f, "oauth2_proxy_service", validate::dns_label);
    let middleware_name = name(&mut f, "middleware_name", validate::dns_subdomain);
    let shared_claim = name(&mut f, "shared_claim", validate::dns_subdomain);
    let shared_volume_name = name(&mut f, "shared_volume_name", validate::dns_label);
    let shared_mount_path = name(&mut f, "shared_mount_path", validate::mount_path);
    let limits = Limits::default();
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
        limits: Limits {
            max_depth: f.uint("max_depth", limits.max_depth),
            max_document_bytes: f.uint("max_document_bytes", limits.max_document_bytes),
            max_stream_bytes: f.uint("max_stream_bytes", limits.max_stream_bytes),
        },
    }
}

/// An embedded file under `key`: YAML text (ConfigMap data) or an already-parsed map.
fn embedded(data: &Map<String, Json>, key: &str, errors: &mut Vec<String>) -> Map<String, Json> {
    let parsed = match data.get(key) {
        None | Some(Json::Null) => return Map::new(),
        Some(Json::String(text)) => parse_yaml(text).map_err(|e| format!("`{key}`: {e}")),
        Some(other) => Ok(other.clone()),
    };
    match parsed {
        Ok(Json::Object(m)) => m,
        Ok(Json::Null) => Map::new(),
        Ok(_) => {
            errors.push(format!("`{key}` must be a YAML mapping"));
            Map::new()
        }
        Err(e) => {
            errors.push(e);
            Map::new()
        }
    }
}

/// A flat override as typed as it needs to be: `[a, b]` and `{k: v}` are YAML, the rest stays a
/// string so `group_ID: "0123"` is not read as an octal number.
fn flat_value(value: &Json) -> Json {
    match value {
        Json::String(s) if s.trim_start().starts_with(['[', '{']) => parse_yaml(s).unwrap_or_else(|_| value.clone()),
        _ => value.clone(),
    }
}

/// Parses one YAML document to JSON with YAML 1.1 typing.
pub fn parse_yaml(text: &str) -> Result<Json, String> {
    match tree::parse(text, &Limits::default()) {
        Ok(Some(node)) => Ok(to_json(&node)),
        Ok(None) => Ok(Json::Null),
        Err(e) => Err(format!("line {}: {}", e.line, e.message)),
    }
}

fn read_yaml_file(path: &Path) -> Result<Json, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: Json) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn config_map_with_embedded_files_and_flat_options() {
        let c = Config::from_data(&data(json!({
            "group-form.yaml": "group_ID: Demo_Group\nnamespace_hub_address: demo-group\noauth_url: demo-group.maia.example.com\n",
            "cluster.yaml": "domain: maia.example.com\nnginx_cluster_issuer: cluster-issuer\n",
            "shared_hooks": "true",
        })))
        .unwrap();
        assert_eq!(c.namespace(), "demo-group");
        assert_eq!(c.workspace_host(), "demo-group.maia.example.com");
        assert_eq!(c.cluster.image_pull_secret, "maia-docker-registry-secret");
        assert!(c.options.shared_hooks);
    }

    #[test]
    fn kpt_flat_keys_alone_are_a_config() {
        let c = Config::from_data(&data(json!({"group_ID": "Demo_Group", "domain": "maia.example.com", "url_type": "subpath"}))).unwrap();
        assert_eq!(c.workspace_host(), "maia.example.com");
        assert_eq!(c.form.group_subdomain, "demo-group");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let err = Config::from_data(&data(json!({
            "group_ID": "Demo Group!",
            "domain": "https://maia.example.com",
            "oauth_url": "x.example.com\"; more",
            "traefik_resolver": "Bad Resolver",
            "middleware": "sometimes",
            "typo_key": "1",
        })))
        .unwrap_err();
        for key in ["group_ID", "domain", "oauth_url", "traefik_resolver", "middleware", "typo_key"] {
            assert!(err.contains(&format!("`{key}`")), "{key} missing from: {err}");
        }
    }

    /// Strings that must never reach an annotation, a URL or an object name.
    const INJECTIONS: &[&str] = &[
        "x.example.com; rm -rf /",
        "x.example.com\nnginx.ingress.kubernetes.io/server-snippet: evil",
        "$host",
        "x\"y",
        "x'y",
        "x{y}",
        "x y",
        "",
        "https://x.example.com",
        "x.example.com/path?rd=$request_uri",
        "x.example.com:443",
        "`id`",
        "x\\y",
        "../../etc",
    ];

    #[test]
    fn injection_strings_are_refused_for_every_key_that_reaches_an_annotation_url_or_name() {
        let keys = [
            "group_ID", "group_subdomain", "oauth_url", "domain", "nginx_cluster_issuer", "traefik_resolver",
            "ingress_class", "imagePullSecrets", "oauth2_proxy_service", "middleware_name", "shared_claim",
            "shared_volume_name", "shared_mount_path",
        ];
        for key in keys {
            for bad in INJECTIONS {
                let mut d = data(json!({"group_ID": "Demo_Group", "domain": "maia.example.com"}));
                d.insert(key.to_string(), json!(bad));
                let err = Config::from_data(&d).err().unwrap_or_else(|| panic!("{key} accepted {bad:?}"));
                assert!(err.contains(&format!("`{key}`")), "{key} / {bad:?}: {err}");
            }
        }
    }

    #[test]
    fn type_errors_do_not_echo_values() {
        let err = Config::from_data(&data(json!({"group_ID": ["s3cret-token"], "domain": "maia.example.com"}))).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("`group_ID`: expected a string, got a list"), "{err}");
    }

    #[test]
    fn missing_required_keys() {
        let err = Config::from_data(&Map::new()).unwrap_err();
        assert!(err.contains("`group_ID`: is required") && err.contains("`domain`: is required"), "{err}");
    }
}
