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

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::stream::{Limits, scalar::to_json, tree};

/// Everything a run needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub form: Form,
    pub cluster: Cluster,
    pub options: Options,
    /// The folder the form's `fromFile` paths are relative to (and, unless the cluster config
    /// says `form_secret_files: anywhere`, confined to): the form file's, the ConfigMap file's,
    /// or the working directory for a config that came without a file (a KRM functionConfig).
    pub form_folder: PathBuf,
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

    /// A secret of the group's form, read as the cluster config allows (see [`Secret::resolve`]).
    pub fn form_secret(&self, secret: &Secret, key: &str) -> Result<String, ConfigError> {
        Ok(secret.resolve(key, &self.form_folder, !self.cluster.form_secret_files_anywhere)?)
    }

    /// A secret of the admin's cluster config: paths relative to the working directory, as they
    /// always were, and any file or variable (the admin's own).
    pub fn cluster_secret(&self, secret: &Secret, key: &str) -> Result<String, ConfigError> {
        Ok(secret.resolve(key, Path::new("."), false)?)
    }

    /// The host every workspace app is served on.
    pub fn workspace_host(&self) -> String {
        match self.cluster.url_type {
            UrlType::Subdomain => format!("{}.{}", self.form.group_subdomain, self.cluster.domain),
            UrlType::Subpath => self.cluster.domain.clone(),
        }
    }

    /// Loads a ConfigMap file (`--config`).
    pub fn from_config_map_file(path: &Path) -> Result<Config, ConfigError> {
        let obj = read_yaml_file(path)?;
        let at = |problem: String| ConfigError::from(problem).at(path.display());
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
        let data = data_of(&obj).map_err(at)?;
        Config::from_source(&data, &Source { form_folder: folder_of(path), ..Source::default() })
            .map_err(|e| e.at(path.display()))
    }

    /// Loads the two files admins keep (`--form`, `--cluster`).
    pub fn from_files(form: &Path, cluster: &Path) -> Result<Config, ConfigError> {
        let mut data = Map::new();
        data.insert(FORM_FILE_KEY.into(), read_yaml_file(form)?);
        data.insert(CLUSTER_FILE_KEY.into(), read_yaml_file(cluster)?);
        Config::from_source(&data, &Source::files(form, cluster))
    }

    /// From a ConfigMap-like object: its `data` map (kpt's `function-input` is one too).
    pub fn from_object(obj: &Json) -> Result<Config, ConfigError> {
        Config::from_data(&data_of(obj)?)
    }

    /// From a `data` map: the two embedded files plus flat overrides.
    pub fn from_data(data: &Map<String, Json>) -> Result<Config, ConfigError> {
        Config::from_source(data, &Source::default())
    }

    /// From a `data` map whose form and cluster came from `source`. Every key is read or refused:
    /// an unknown one is an error with the nearest known key, never silently ignored.
    pub fn from_source(data: &Map<String, Json>, source: &Source) -> Result<Config, ConfigError> {
        let mut errors = Vec::new();
        let mut form = embedded(data, FORM_FILE_KEY, &mut errors);
        let mut cluster = embedded(data, CLUSTER_FILE_KEY, &mut errors);
        errors.extend(form.keys().filter_map(|k| form_key_problem(k).map(|p| format!("{}: {p}", source.form))));
        errors
            .extend(cluster.keys().filter_map(|k| cluster_key_problem(k).map(|p| format!("{}: {p}", source.cluster))));
        // Keys the form may not hold are reported above and read from nowhere.
        form.retain(|k, _| form::is_key(k));
        let mut options = Map::new();
        // The cluster file is the admin's, like the options: an option written there counts (the
        // Argo CD sidecar's cluster.yaml is the only admin file that plugin reads). Not so the form's.
        for key in option_keys() {
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
            } else if option_keys().any(|k| k == key) {
                &mut options
            } else {
                let known: Vec<&str> = form::keys().chain(cluster::KEYS.iter().copied()).chain(option_keys()).collect();
                errors.push(format!("ConfigMap data: {}", fields::unknown_key(key, &known)));
                continue;
            };
            target.insert(key.clone(), flat_value(value));
        }
        let config = Config {
            form: form::read(&form, &mut errors),
            cluster: cluster::read(&cluster, &mut errors),
            options: options::read_options(&options, &mut errors),
            form_folder: source.form_folder.clone(),
        };
        let (anywhere, prefix) = (config.cluster.form_secret_files_anywhere, &config.cluster.form_secret_env_prefix);
        for (key, secret) in config.form.secrets.iter() {
            if let Some(problem) = secret.form_problem(anywhere, prefix) {
                errors.push(format!("group form key `{key}`: {problem}"));
            }
        }
        if errors.is_empty() { Ok(config) } else { Err(ConfigError(errors)) }
    }
}

/// Where a config's form and cluster came from, for messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// "group form FILE", or where in a ConfigMap.
    pub form: String,
    pub cluster: String,
    /// Where the form's `fromFile` paths start.
    pub form_folder: PathBuf,
}

impl Default for Source {
    /// The two files embedded in a ConfigMap's `data`.
    fn default() -> Self {
        Source {
            form: format!("group form (`{FORM_FILE_KEY}`)"),
            cluster: format!("cluster config (`{CLUSTER_FILE_KEY}`)"),
            form_folder: PathBuf::from("."),
        }
    }
}

impl Source {
    /// The two files of `--form` and `--cluster`.
    pub fn files(form: &Path, cluster: &Path) -> Self {
        Source {
            form: format!("group form {}", form.display()),
            cluster: format!("cluster config {}", cluster.display()),
            form_folder: folder_of(form),
        }
    }
}

/// The folder a file is in (`.` for a bare file name).
pub fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A ConfigMap-like object's `data` map.
fn data_of(obj: &Json) -> Result<Map<String, Json>, String> {
    match obj.get("data") {
        Some(Json::Object(data)) => Ok(data.clone()),
        Some(Json::Null) | None => Ok(Map::new()),
        Some(_) => Err("`data` must be a map of keys to strings".into()),
    }
}

fn option_keys() -> impl Iterator<Item = &'static str> {
    OPTION_KEYS.iter().map(|(k, _, _)| *k)
}

/// Why the group form may not hold `key`, if it may not. Options and cluster keys are the
/// admin's: the form is the group's, and must not switch the login off or move the workspace.
fn form_key_problem(key: &str) -> Option<String> {
    if form::is_key(key) {
        None
    } else if option_keys().any(|k| k == key) {
        Some(format!(
            "`{key}` is an option, the admin's to set (in the cluster config or the ConfigMap), not the group form's"
        ))
    } else if cluster::KEYS.contains(&key) || cluster::UPSTREAM_IGNORED.contains(&key) {
        Some(format!("`{key}` is a cluster config key, the admin's to set, not the group form's"))
    } else {
        Some(fields::unknown_key(key, &form::keys().collect::<Vec<_>>()))
    }
}

/// Why the cluster config may not hold `key`, if it may not: cluster keys, options and the
/// upstream keys maia-krm does not use are fine.
fn cluster_key_problem(key: &str) -> Option<String> {
    if cluster::KEYS.contains(&key) || cluster::UPSTREAM_IGNORED.contains(&key) || option_keys().any(|k| k == key) {
        None
    } else if form::is_key(key) {
        Some(format!("`{key}` is a group form key: write it in the group form"))
    } else {
        // Form keys are candidates too: `oauth_ur` in the cluster file is most likely `oauth_url`
        // in the wrong file, which the message for that key then says.
        let known: Vec<&str> = cluster::KEYS.iter().copied().chain(option_keys()).chain(form::keys()).collect();
        Some(fields::unknown_key(key, &known))
    }
}

/// What is wrong with a config, a form or a command's inputs: every problem found at once, each
/// naming its key and file (a person fixes them in one pass, not one run per typo).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub Vec<String>);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n  "))
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The same problems, said to be in `place` (a file, `functionConfig`) on the report's first line.
    pub fn at(mut self, place: impl std::fmt::Display) -> Self {
        if let Some(first) = self.0.first_mut() {
            *first = format!("{place}: {first}");
        }
        self
    }
}

impl From<String> for ConfigError {
    fn from(problem: String) -> Self {
        ConfigError(vec![problem])
    }
}

impl From<&str> for ConfigError {
    fn from(problem: &str) -> Self {
        ConfigError(vec![problem.to_string()])
    }
}

impl From<Vec<String>> for ConfigError {
    fn from(problems: Vec<String>) -> Self {
        ConfigError(problems)
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
pub fn read_yaml_file(path: &Path) -> Result<Json, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::from(e.to_string()).at(path.display()))?;
    parse_yaml(&text).map_err(|e| {
        let several = text.split('\n').skip(1).any(|l| l.starts_with("---"));
        let hint = if several { " (a config file is one YAML document: manifests to patch go on stdin)" } else { "" };
        ConfigError::from(format!("{e}{hint}")).at(path.display())
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
        .unwrap_err()
        .to_string();
        for key in ["group_ID", "domain", "oauth_url", "traefik_resolver", "middleware", "typo_key"] {
            assert!(err.contains(&format!("`{key}`")), "{key} missing from: {err}");
        }
    }

    fn embedded(form: &str, cluster: &str) -> Result<Config, crate::config::ConfigError> {
        Config::from_data(&data(json!({"group-form.yaml": form, "cluster.yaml": cluster})))
    }

    const FORM: &str = "group_ID: Demo_Group\noauth_url: demo-group.maia.example.com\n";
    const CLUSTER: &str = "domain: maia.example.com\nnginx_cluster_issuer: cluster-issuer\n";

    #[test]
    fn an_admins_typo_is_an_error_naming_the_key_the_file_and_the_nearest_key() {
        for (typo, near) in [
            ("nginx_cluster_isuer", "nginx_cluster_issuer"),
            ("imagePullSecret", "imagePullSecrets"),
            ("oauth_ur", "oauth_url"),
            ("shared_hook", "shared_hooks"),
        ] {
            let err = embedded(FORM, &format!("{CLUSTER}{typo}: x\n")).unwrap_err().to_string();
            let want = format!("cluster config (`cluster.yaml`): unknown key `{typo}` (did you mean `{near}`?)");
            assert!(err.contains(&want), "{want} missing from: {err}");
            let err = Config::from_data(&data(json!({"group-form.yaml": FORM, "cluster.yaml": CLUSTER, typo: "x"})))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("ConfigMap data: unknown key `{typo}` (did you mean `{near}`?)")), "{err}");
        }
        let err = embedded("group_ID: Demo_Group\nusres: [a@example.com]\n", CLUSTER).unwrap_err().to_string();
        assert!(err.contains("group form (`group-form.yaml`): unknown key `usres` (did you mean `users`?)"), "{err}");
        let err =
            embedded(FORM, &format!("{CLUSTER}keycloak: {{issuer_url: https://iam.example.com, clinet_id: maia}}\n"))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("cluster config key `keycloak`: unknown key `clinet_id` (did you mean `client_id`?)"),
            "{err}"
        );
    }

    #[test]
    fn a_form_key_in_the_cluster_file_and_a_cluster_key_in_the_form_are_named_as_such() {
        let err = embedded(FORM, &format!("{CLUSTER}oauth_url: x.maia.example.com\n")).unwrap_err().to_string();
        assert!(err.contains("`oauth_url` is a group form key: write it in the group form"), "{err}");
        let err = embedded(&format!("{FORM}domain: evil.example.com\n"), CLUSTER).unwrap_err().to_string();
        assert!(err.contains("group form (`group-form.yaml`): `domain` is a cluster config key"), "{err}");
    }

    #[test]
    fn an_option_in_the_groups_form_is_an_error_and_in_the_admins_cluster_file_it_counts() {
        for option in ["oauth: false", "on_unpatchable: warn", "skip_allowed: all", "tenant: false"] {
            let err = embedded(&format!("{FORM}{option}\n"), CLUSTER).unwrap_err().to_string();
            let key = option.split(':').next().unwrap();
            assert!(
                err.contains(&format!("group form (`group-form.yaml`): `{key}` is an option, the admin's")),
                "{err}"
            );
        }
        let c = embedded(FORM, &format!("{CLUSTER}oauth: false\non_unpatchable: warn\n")).unwrap();
        assert!(!c.options.oauth && !c.options.fail_closed);
    }

    #[test]
    fn an_upstream_cluster_file_loads_with_the_keys_maia_krm_does_not_use() {
        // The cluster file of upstream MAIA's docs (MAIA Namespace Deployment from CLI, and the
        // dashboard's cluster entry), with its placeholders filled in.
        let upstream = "api: https://rancher.example.com/k8s/clusters/c-1
argocd_destination_cluster_address: https://rancher.example.com/k8s/clusters/c-1
cluster_name: maia-demo
docker_email: admin@example.com
docker_password: registry-password
docker_server: registry.maia.example.com
docker_username: robot
domain: maia.example.com
imagePullSecrets: maia-docker-registry-secret
ingress_class: maia-core-traefik
maia_metallb_ip: ''
metallb_shared_ip: ''
metallb_ip_pool: ''
keycloak:
  authorize_url: https://iam.maia.example.com/realms/maia/protocol/openid-connect/auth
  client_id: maia
  client_secret: keycloak-client-secret
  issuer_url: https://iam.maia.example.com/realms/maia
  token_url: https://iam.maia.example.com/realms/maia/protocol/openid-connect/token
  userdata_url: https://iam.maia.example.com/realms/maia/protocol/openid-connect/userinfo
port_range: [2022, 2122]
shared_storage_class: nfs
ssh_hostname: maia.example.com
ssh_port_type: LoadBalancer
storage_class: local-path
traefik_resolver: maiaresolver
nginx_cluster_issuer: cluster-issuer
url_type: subdomain
hub_storage_class: maia-storage
hub_image: maia-hub
hub_tag: latest
admins: [admin@example.com]
minio_url: minio.maia.example.com
minio_access_key: minio-access-key
minio_secret_key: minio-secret-key
minio_secure: true
bucket_name: maia-bucket
maia_dashboard: {enabled: true, token: ''}
services: {argocd: N/A, keycloak: N/A}
traefik_dashboard_password: ''
ingress_resolver_email: admin@example.com
k8s_distribution: rke2
nfs_server: nfs.example.com
nfs_path: /nfs
";
        let c = embedded(FORM, upstream).unwrap();
        assert_eq!(c.cluster.keycloak.unwrap().client_id, "maia");
        assert!(c.form.secrets.minio_access_key.is_none(), "the cluster's MinIO keys are not the workspace's");
    }

    #[test]
    fn form_secret_references_are_held_to_the_cluster_configs_rules() {
        let form = |secret: &str| format!("{FORM}mysql_password: {secret}\n");
        for bad in ["{fromFile: /etc/shadow}", "{fromFile: ../cluster-secret}", "{fromEnv: AWS_SECRET_ACCESS_KEY}"] {
            let err = embedded(&form(bad), CLUSTER).unwrap_err().to_string();
            assert!(err.contains("group form key `mysql_password`: from"), "{bad}: {err}");
        }
        let admin = format!("{CLUSTER}form_secret_files: anywhere\nform_secret_env_prefix: AWS_\n");
        for ok in ["{fromFile: /etc/shadow}", "{fromFile: ../cluster-secret}", "{fromEnv: AWS_SECRET_ACCESS_KEY}"] {
            embedded(&form(ok), &admin).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        embedded(&form("{fromEnv: MAIA_FORM_MYSQL_PASSWORD}"), CLUSTER).unwrap();
        let err = embedded(FORM, &format!("{CLUSTER}form_secret_env_prefix: ''\nform_secret_files: everywhere\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`form_secret_env_prefix`") && err.contains("`form_secret_files`"), "{err}");
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
                let err = Config::from_data(&d).err().unwrap_or_else(|| panic!("{key} accepted {bad:?}")).to_string();
                assert!(err.contains(&format!("`{key}`")), "{key} / {bad:?}: {err}");
            }
        }
    }

    #[test]
    fn type_errors_do_not_echo_values() {
        let err = Config::from_data(&data(json!({"group_ID": ["s3cret-token"], "domain": "maia.example.com"})))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("`group_ID`: expected a string, got a list"), "{err}");
    }

    #[test]
    fn missing_required_keys() {
        let err = Config::from_data(&Map::new()).unwrap_err().to_string();
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
        .unwrap_err()
        .to_string();
        for entry in 1..=7 {
            assert!(err.contains(&format!("`pod_templates`: entry {entry}:")), "entry {entry} missing from: {err}");
        }
        assert!(with(json!("- [unclosed")).unwrap_err().to_string().contains("`pod_templates`"));
        assert!(with(json!({"group": "x"})).unwrap_err().to_string().contains("`pod_templates`: expected a list"));
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
        let err =
            with(json!({"namespace": "Bad NS", "sectionName": "web_secure", "port": 443})).unwrap_err().to_string();
        for needle in
            ["`gateway.name`: is required", "`gateway.namespace`", "`gateway.sectionName`", "unknown key `port`"]
        {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }
}
