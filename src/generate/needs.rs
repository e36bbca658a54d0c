//! What each runbook step needs from the config beyond what loading it checks, in one place: each
//! step refuses to run without it (`values`, `namespace`), and `form check` and `plan` report it
//! before any step runs, so a config they accept is one every step of the plan accepts.

use std::fmt;

use crate::config::{Config, ConfigError, PortType};

/// Which file a need is met in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum File {
    /// The group's form.
    Form,
    /// The admin's cluster config.
    Cluster,
}

/// One thing a step needs and the config lacks: the key, the file it belongs in, and the fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub file: File,
    pub key: &'static str,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = match self.file {
            File::Form => "group form",
            File::Cluster => "cluster config",
        };
        write!(f, "{file} key `{}`: {}; {}", self.key, self.problem, self.fix)
    }
}

/// The default `port_range`, as upstream's cluster config writes it.
pub const DEFAULT_PORT_RANGE: (u16, u16) = (2022, 2122);

/// What `step` (a `plan` step: `namespace` or a `values` component) needs and the config lacks.
pub fn missing(step: &str, c: &Config) -> Vec<Missing> {
    let mut out = Vec::new();
    match step {
        "namespace" => {
            for key in ["docker_server", "docker_username"] {
                let set = if key == "docker_server" { &c.cluster.docker_server } else { &c.cluster.docker_username };
                if set.is_none() {
                    out.push(cluster(key, "is required for the registry pull secret", "set it to the registry's"));
                }
            }
        }
        "oauth2-proxy" => {
            keycloak(c, &mut out);
            secrets(c, &["oauth2_cookie_secret"], &mut out);
        }
        "minio" => {
            keycloak(c, &mut out);
            secrets(c, &["minio_access_key", "minio_secret_key"], &mut out);
        }
        "mysql" => secrets(c, &["mysql_root_password", "mysql_password"], &mut out),
        "mlflow" => {
            secrets(c, &["mysql_password", "mlflow_password", "minio_access_key", "minio_secret_key"], &mut out)
        }
        "jupyterhub" => {
            keycloak(c, &mut out);
            if c.form.resources_limits.is_none() {
                out.push(Missing {
                    file: File::Form,
                    key: "resources_limits",
                    problem: "is required for JupyterHub's user pods".into(),
                    fix: "add resources_limits: {memory: [guarantee, limit], cpu: [guarantee, limit]}".into(),
                });
            }
        }
        "addons" => ports(c, &mut out),
        _ => {}
    }
    out
}

/// [`missing`] as the error the step fails with.
pub fn require(step: &str, c: &Config) -> Result<(), ConfigError> {
    let missing = missing(step, c);
    if missing.is_empty() {
        return Ok(());
    }
    Err(ConfigError(missing.iter().map(Missing::to_string).collect()))
}

/// What the steps of `plan` need and the config lacks, each once, in plan order.
pub fn all(c: &Config) -> Vec<Missing> {
    let mut out: Vec<Missing> = Vec::new();
    for step in super::plan::step_names() {
        for m in missing(step, c) {
            if !out.iter().any(|o| o.file == m.file && o.key == m.key) {
                out.push(m);
            }
        }
    }
    out
}

fn cluster(key: &'static str, problem: &str, fix: &str) -> Missing {
    Missing { file: File::Cluster, key, problem: problem.into(), fix: fix.into() }
}

fn keycloak(c: &Config, out: &mut Vec<Missing>) {
    match &c.cluster.keycloak {
        None => out.push(cluster(
            "keycloak",
            "is required for the workspace's logins",
            "add keycloak: {issuer_url, client_id, client_secret}",
        )),
        Some(kc) if kc.client_secret.is_none() => out.push(cluster(
            "keycloak.client_secret",
            "is required for the workspace's logins",
            "add the Keycloak client's secret (a string, {fromEnv: NAME} or {fromFile: PATH})",
        )),
        Some(_) => {}
    }
}

fn secrets(c: &Config, keys: &[&'static str], out: &mut Vec<Missing>) {
    for key in keys {
        if !c.form.secrets.iter().any(|(k, _)| k == *key) {
            out.push(Missing {
                file: File::Form,
                key,
                problem: "is missing".into(),
                fix: "`maia-krm form new` writes every secret a workspace needs".into(),
            });
        }
    }
}

/// The add-ons give each user an SSH port from `port_range`: enough of them, and on NodePort
/// Services inside Kubernetes' NodePort range (upstream's default [2022, 2122] is not).
fn ports(c: &Config, out: &mut Vec<Missing>) {
    let (first, last) = c.cluster.port_range.unwrap_or(DEFAULT_PORT_RANGE);
    let which = if c.cluster.port_range.is_some() { "" } else { " (the default)" };
    let users = c.form.users.len();
    if users > usize::from(last - first) + 1 {
        out.push(cluster(
            "port_range",
            &format!("[{first}, {last}]{which} has {} ports for {users} users", last - first + 1),
            "widen port_range (one SSH port per user)",
        ));
    }
    if c.cluster.ssh_port_type == PortType::NodePort && (first < 30000 || last > 32767) {
        out.push(cluster(
            "port_range",
            &format!("NodePort SSH ports must lie in 30000-32767, but port_range is [{first}, {last}]{which}"),
            "set port_range: [30022, 30122], or ssh_port_type: LoadBalancer",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{namespace, plan, values};
    use crate::testutil::config;

    /// A complete workspace: every step runs.
    const COMPLETE: &[(&str, &str)] = &[
        ("docker_server", "registry.example.com"),
        ("docker_username", "robot"),
        ("keycloak", "{issuer_url: https://iam.maia.example.com/realms/maia, client_id: maia, client_secret: kc}"),
        ("port_range", "[30022, 30122]"),
        ("users", "[alice@example.com]"),
        ("resources_limits", "{memory: [1G, 2G], cpu: [1, 2]}"),
        ("minio_access_key", "minio"),
        ("minio_secret_key", "minio-secret"),
        ("oauth2_cookie_secret", "VGhpcnR5VHdvQnl0ZXNPZkNvb2tpZVNlY3JldCEhISE="),
        ("mysql_root_password", "root-pw"),
        ("mysql_password", "db-pw"),
        ("mlflow_password", "mlflow-pw"),
    ];

    /// Runs one step of the plan as its command would.
    fn run_step(step: &str, c: &Config) -> Result<(), ConfigError> {
        match step {
            "namespace" => namespace::resources(c, "registry-password").map(drop),
            component => values::values(component, c).map(drop),
        }
    }

    #[test]
    fn what_form_check_and_plan_accept_every_step_of_the_plan_accepts_and_the_reverse() {
        // The complete workspace, and each variant that drops one key or breaks the ports.
        let mut variants: Vec<Vec<(&str, &str)>> = vec![COMPLETE.to_vec()];
        for i in 0..COMPLETE.len() {
            let mut v = COMPLETE.to_vec();
            v.remove(i);
            variants.push(v);
        }
        let keycloak_without_secret = "{issuer_url: https://iam.maia.example.com/realms/maia, client_id: maia}";
        for overrides in [
            vec![("port_range", "[30022, 30022]"), ("users", "[alice@example.com, bob@example.com]")],
            vec![("port_range", "")],
            vec![("ssh_port_type", "LoadBalancer"), ("port_range", "")],
            vec![("keycloak", keycloak_without_secret)],
        ] {
            let mut v: Vec<(&str, &str)> =
                COMPLETE.iter().filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k)).copied().collect();
            v.extend(overrides);
            variants.push(v);
        }
        let mut rejected = 0;
        for variant in &variants {
            let c = config(variant);
            let accepted = all(&c).is_empty();
            rejected += usize::from(!accepted);
            for step in plan::steps(&c, &[]) {
                let ran = run_step(step.component, &c);
                assert_eq!(
                    ran.is_ok(),
                    missing(step.component, &c).is_empty(),
                    "{}: {ran:?} with {variant:?}",
                    step.component
                );
                if accepted {
                    assert!(ran.is_ok(), "{} refused what plan accepts: {ran:?}", step.component);
                }
            }
        }
        // Accepted: the complete one, the one without users, and LoadBalancer SSH on the default ports.
        assert_eq!(rejected, variants.len() - 3);
    }

    #[test]
    fn each_need_names_its_key_its_file_and_the_fix() {
        let c = config(&[("users", "[alice@example.com]")]);
        let messages: Vec<String> = all(&c).iter().map(Missing::to_string).collect();
        for needle in [
            "cluster config key `docker_username`: is required for the registry pull secret",
            "cluster config key `keycloak`: is required for the workspace's logins; add keycloak: {issuer_url, client_id, client_secret}",
            "group form key `oauth2_cookie_secret`: is missing; `maia-krm form new` writes every secret",
            "group form key `resources_limits`: is required for JupyterHub's user pods",
            "cluster config key `port_range`: NodePort SSH ports must lie in 30000-32767, but port_range is [2022, 2122] (the default); set port_range: [30022, 30122], or ssh_port_type: LoadBalancer",
        ] {
            assert!(messages.iter().any(|m| m.starts_with(needle)), "{needle} missing from {messages:#?}");
        }
        assert_eq!(messages.iter().filter(|m| m.contains("`minio_access_key`")).count(), 1, "each need once");
    }
}
