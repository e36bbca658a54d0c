//! The configuration: the group's registration form, the cluster config, and option keys.
//!
//! All three arrive through one shape, a ConfigMap-like `data` map: `group-form.yaml` and
//! `cluster.yaml` hold the two upstream files as text, and any other key is a flat override of a
//! form key, a cluster key or an option. The same loader serves `--config FILE`, `--form/--cluster`,
//! `MAIA_KRM_CONFIG`, a KRM functionConfig and kpt's `function-input` ConfigMap.

mod cluster;
mod fields;
mod form;
mod options;
mod secret;
pub mod validate;

pub use cluster::{Cluster, GatewayAuth, GatewayRef, Keycloak, PortType, UrlType};
pub use form::{Form, FormSecrets, ResourceLimits, SECRET_KEYS as FORM_SECRET_KEYS, jupyterhub_escape};
pub use secret::Secret;

pub use options::{HostPolicy, MiddlewareMode, OPTION_KEYS, Options, PodTemplate};

use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::stream::{Limits, scalar::to_json, tree};

/// Everything a run needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub form: Form,
    pub cluster: Cluster,
    pub options: Options,
}

pub const FORM_FILE_KEY: &str = "group-form.yaml";

/// The components served under a path of their own on a shared host (`url_type: subpath`).
pub const COMPONENT_PATHS: &[&str] = &["hub", "mlflow", "minio-console", "label-studio", "orthanc", "ohif", "kubeflow"];
pub const CLUSTER_FILE_KEY: &str = "cluster.yaml";

impl Config {
    /// The workspace namespace: `group_ID` lower-cased with `_` turned into `-`.
    pub fn namespace(&self) -> String {
        namespace_of(&self.form.group_id)
    }

    /// Whether workspaces share one host (`url_type: subpath`) and are told apart by path.
    pub fn subpath(&self) -> bool {
        self.cluster.url_type == UrlType::Subpath
    }

    /// The path a component is served at on the workspace host: `/<component>` on its own host,
    /// `/<group_subdomain>-<component>` on a shared one (upstream MAIA's layout: `/<g>-hub`,
    /// `/<g>-mlflow`, `/<g>-minio-console`).
    pub fn component_path(&self, component: &str) -> String {
        if self.subpath() { format!("/{}-{component}", self.form.group_subdomain) } else { format!("/{component}") }
    }

    /// oauth2-proxy's `proxy_prefix`: `/oauth2`, or `/oauth2-<group_subdomain>` on a shared host.
    pub fn oauth2_prefix(&self) -> String {
        if self.subpath() { format!("/oauth2-{}", self.form.group_subdomain) } else { "/oauth2".into() }
    }

    /// The paths a workspace's routes may serve on a shared host (None on a host of its own): its
    /// apps' `/<g>`, each component's `/<g>-<component>`, and its login's `/oauth2-<g>`. Only
    /// these, not every `/<g>-…`: that would reach into the paths of a group named `<g>-x`.
    pub fn workspace_paths(&self) -> Option<Vec<String>> {
        self.subpath().then(|| {
            let mut paths = vec![format!("/{}", self.form.group_subdomain), self.oauth2_prefix()];
            paths.extend(COMPONENT_PATHS.iter().map(|c| self.component_path(c)));
            paths
        })
    }

    /// Whether the group's login goes in front of its apps: option `oauth`, and somewhere to sign
    /// in (the form's `oauth_url`; on a shared host, the host itself under the group's prefix).
    pub fn login_wanted(&self) -> bool {
        self.options.oauth && (self.form.oauth_url.is_some() || self.subpath())
    }

    /// The host oauth2-proxy is served on: the form's `oauth_url`, else the workspace host.
    pub fn oauth_url(&self) -> String {
        match self.subpath() {
            true => self.workspace_host(),
            false => self.form.oauth_url.clone().unwrap_or_else(|| self.workspace_host()),
        }
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
        let at = |e: String| format!("{}: {e}", path.display());
        // The API server takes `ConfigMap` only: a file kubectl would refuse is a mistake, and a
        // form or a manifest here would otherwise fail on its keys, not on what it is.
        match obj.get("kind").and_then(Json::as_str) {
            Some("ConfigMap") => {}
            _ if obj.get("group_ID").is_some() => {
                return Err(at("this is a group form, not a ConfigMap: pass it as --form FILE --cluster FILE".into()));
            }
            Some(kind) => {
                return Err(at(format!(
                    "expected a ConfigMap (kind: ConfigMap, data: group-form.yaml, cluster.yaml, options), \
                     found kind `{kind}`; manifests to patch go on stdin"
                )));
            }
            None => {
                return Err(at("expected a ConfigMap (kind: ConfigMap, data: group-form.yaml, cluster.yaml, \
                               options); the file has no kind"
                    .into()));
            }
        }
        Config::from_object(&obj).map_err(at)
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
        // The cluster file is the admin's, like the options: an option written there counts (the
        // Argo CD sidecar's cluster.yaml is the only admin file that plugin reads). Not so the form's.
        for key in OPTION_KEYS.iter().map(|(k, _, _)| *k) {
            if let Some(value) = cluster.remove(key) {
                options.insert(key.to_string(), flat_value(&value));
            }
        }
        for (key, value) in data {
            let target = if key == FORM_FILE_KEY || key == CLUSTER_FILE_KEY {
                continue;
            } else if form::is_key(key) {
                &mut form
            } else if cluster::KEYS.contains(&key.as_str()) {
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
            form: form::read(&form, &mut errors),
            cluster: cluster::read(&cluster, &mut errors),
            options: options::read_options(&options, &mut errors),
        };
        if errors.is_empty() { Ok(config) } else { Err(errors.join("\n  ")) }
    }
}

pub fn namespace_of(group_id: &str) -> String {
    group_id.to_lowercase().replace('_', "-")
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

/// Parses one YAML document to JSON with YAML 1.1 typing. A repeated key is an error: in a
/// config file it is a mistake whose consequence (which value wins) should not be guessed.
pub fn parse_yaml(text: &str) -> Result<Json, String> {
    match tree::parse(text, &Limits { strict_duplicate_keys: true, ..Limits::default() }) {
        Ok(Some(node)) => Ok(to_json(&node)),
        Ok(None) => Ok(Json::Null),
        Err(e) => Err(format!("line {}: {}", e.line, e.message)),
    }
}

/// Reads one YAML file as JSON (YAML 1.1 typing); errors name the file.
pub fn read_yaml_file(path: &Path) -> Result<Json, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_yaml(&text).map_err(|e| {
        let several = text.split('\n').skip(1).any(|l| l.starts_with("---"));
        let hint = if several { " (a config file is one YAML document: manifests to patch go on stdin)" } else { "" };
        format!("{}: {e}{hint}", path.display())
    })
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
        let c = Config::from_data(&data(
            json!({"group_ID": "Demo_Group", "domain": "maia.example.com", "url_type": "subpath"}),
        ))
        .unwrap();
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
            "group_ID",
            "group_subdomain",
            "oauth_url",
            "domain",
            "nginx_cluster_issuer",
            "traefik_resolver",
            "ingress_class",
            "imagePullSecrets",
            "oauth2_proxy_service",
            "middleware_name",
            "shared_claim",
            "shared_volume_name",
            "shared_mount_path",
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
        let err =
            Config::from_data(&data(json!({"group_ID": ["s3cret-token"], "domain": "maia.example.com"}))).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("`group_ID`: expected a string, got a list"), "{err}");
    }

    #[test]
    fn missing_required_keys() {
        let err = Config::from_data(&Map::new()).unwrap_err();
        assert!(err.contains("`group_ID`: is required") && err.contains("`domain`: is required"), "{err}");
    }

    #[test]
    fn pod_templates_from_yaml_text_or_a_list_and_every_bad_entry_named() {
        let base = json!({"group_ID": "Demo_Group", "domain": "maia.example.com"});
        let with = |value: Json| {
            let mut d = data(base.clone());
            d.insert("pod_templates".into(), value);
            Config::from_data(&d)
        };
        let text = "- group: example.com\n  kind: Trainer\n  paths: [spec.pods.*.template.spec]\n";
        let c = with(json!(text)).unwrap();
        assert_eq!(
            c.options.pod_templates,
            [PodTemplate {
                group: "example.com".into(),
                kind: "Trainer".into(),
                paths: vec!["spec.pods.*.template.spec".into()]
            }]
        );
        assert_eq!(
            with(json!([{"group": "", "kind": "PodTemplate", "paths": ["template.spec"]}]))
                .unwrap()
                .options
                .pod_templates
                .len(),
            1
        );
        let err = with(json!([
            {"group": "example.com", "kind": "Trainer", "paths": ["spec..x"]},
            {"group": "Bad Group", "kind": "Trainer", "paths": ["spec"]},
            {"kind": "Trainer", "paths": ["spec"]},
            {"group": "example.com", "kind": "trainer", "paths": ["spec"]},
            {"group": "example.com", "kind": "Trainer", "paths": []},
            {"group": "example.com", "kind": "Trainer", "paths": ["spec"], "version": "v1"},
            "Trainer",
        ]))
        .unwrap_err();
        for entry in 1..=7 {
            assert!(err.contains(&format!("`pod_templates`: entry {entry}:")), "entry {entry} missing from: {err}");
        }
        assert!(with(json!("- [unclosed")).unwrap_err().contains("`pod_templates`"));
        assert!(with(json!({"group": "x"})).unwrap_err().contains("`pod_templates`: expected a list"));
    }

    #[test]
    fn the_gateway_key_names_each_problem() {
        let base = json!({"group_ID": "Demo_Group", "domain": "maia.example.com"});
        let with = |value: Json| {
            let mut d = data(base.clone());
            d.insert("gateway".into(), value);
            Config::from_data(&d)
        };
        let c = with(json!("{name: public, namespace: gateways}")).unwrap();
        assert_eq!(c.cluster.gateway.unwrap().namespace.as_deref(), Some("gateways"));
        let err = with(json!({"namespace": "Bad NS", "sectionName": "web_secure", "port": 443})).unwrap_err();
        for needle in
            ["`gateway.name`: is required", "`gateway.namespace`", "`gateway.sectionName`", "unknown key `port`"]
        {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }
}
