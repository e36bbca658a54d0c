//! The group's registration form (upstream keys), validated.

use serde_json::{Map, Value as Json};

use super::fields::Fields;
use super::{Secret, namespace_of, validate};

/// One research group's workspace, as its registration form describes it.
#[derive(Debug, Clone)]
pub struct Form {
    pub group_id: String,
    pub group_subdomain: String,
    /// Workspace image tag.
    pub maia_workspace_version: Option<String>,
    pub users: Vec<String>,
    pub resources_limits: Option<ResourceLimits>,
    /// `nvidia.com/gpu` per user pod; 0 is none.
    pub gpu_request: usize,
    pub oauth_url: Option<String>,
    pub minio_console_service: Option<String>,
    pub mlflow_service: Option<String>,
    pub secrets: FormSecrets,
}

/// `[guarantee, limit]` pairs, as upstream writes them (`"1G"`, `1.0`, `"500m"`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceLimits {
    pub memory: [Json; 2],
    pub cpu: [Json; 2],
}

/// The workspace's secrets: upstream's MinIO keys plus the ones `form new` generates.
#[derive(Debug, Clone, Default)]
pub struct FormSecrets {
    pub minio_access_key: Option<Secret>,
    pub minio_secret_key: Option<Secret>,
    pub oauth2_cookie_secret: Option<Secret>,
    pub mysql_root_password: Option<Secret>,
    pub mysql_password: Option<Secret>,
    pub mlflow_password: Option<Secret>,
}

impl FormSecrets {
    /// Each secret the form holds, with its key.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Secret)> {
        let all = [
            &self.minio_access_key,
            &self.minio_secret_key,
            &self.oauth2_cookie_secret,
            &self.mysql_root_password,
            &self.mysql_password,
            &self.mlflow_password,
        ];
        SECRET_KEYS.iter().zip(all).filter_map(|(k, s)| s.as_ref().map(|s| (*k, s)))
    }
}

/// Form keys whose values are secrets (literal, `{fromEnv: X}` or `{fromFile: P}`).
pub const SECRET_KEYS: &[&str] = &[
    "minio_access_key",
    "minio_secret_key",
    "oauth2_cookie_secret",
    "mysql_root_password",
    "mysql_password",
    "mlflow_password",
];

/// Every other form key.
const PLAIN_KEYS: &[&str] = &[
    "group_ID",
    "group_subdomain",
    "namespace_hub_address",
    "maia_workspace_version",
    "users",
    "resources_limits",
    "gpu_request",
    "oauth_url",
    "minio_console_service",
    "mlflow_service",
];

/// Every key a group form may hold. Upstream MAIA's forms hold no others (its docs' form and
/// `maia-namespace.yaml`), so, unlike the cluster config, there is no list of upstream keys to ignore.
pub fn keys() -> impl Iterator<Item = &'static str> {
    PLAIN_KEYS.iter().chain(SECRET_KEYS).copied()
}

/// True for any key a group form may hold.
pub fn is_key(key: &str) -> bool {
    keys().any(|k| k == key)
}

pub fn read(obj: &Map<String, Json>, errors: &mut Vec<String>) -> Form {
    let mut f = Fields::new(obj, "group form", errors);
    let group_id = f.required_string("group_ID");
    if let Some(Err(e)) = group_id.as_deref().map(|g| validate::dns_label(&namespace_of(g))) {
        f.fail("group_ID", format!("gives namespace {e}"));
    }
    let group_id = group_id.unwrap_or_default();
    let group_subdomain =
        f.string(&["group_subdomain", "namespace_hub_address"]).unwrap_or_else(|| namespace_of(&group_id));
    if let Err(e) = validate::dns_label(&group_subdomain) {
        f.fail("group_subdomain", e);
    }
    let oauth_url = f.checked("oauth_url", validate::host);
    let maia_workspace_version = f.checked("maia_workspace_version", validate::image_tag);
    let minio_console_service = f.checked("minio_console_service", validate::dns_label);
    let mlflow_service = f.checked("mlflow_service", validate::dns_label);
    let users = f.strings("users");
    for (i, user) in users.iter().enumerate() {
        if let Err(e) = validate::email(user) {
            f.fail(&format!("users[{i}]"), e);
        }
        if users[..i].contains(user) {
            f.fail(&format!("users[{i}]"), format!("{user:?} is listed twice"));
        }
    }
    let resources_limits = resource_limits(&mut f);
    let gpu_request = f.uint("gpu_request", 0);
    let mut secret = |key: &str| f.secret(key);
    let secrets = FormSecrets {
        minio_access_key: secret("minio_access_key"),
        minio_secret_key: secret("minio_secret_key"),
        oauth2_cookie_secret: secret("oauth2_cookie_secret"),
        mysql_root_password: secret("mysql_root_password"),
        mysql_password: secret("mysql_password"),
        mlflow_password: secret("mlflow_password"),
    };
    if let Some(Secret::Literal(cookie)) = &secrets.oauth2_cookie_secret
        && let Err(e) = validate::cookie_secret(cookie)
    {
        f.fail("oauth2_cookie_secret", e);
    }
    Form {
        group_id,
        group_subdomain,
        maia_workspace_version,
        users,
        resources_limits,
        gpu_request,
        oauth_url,
        minio_console_service,
        mlflow_service,
        secrets,
    }
}

fn resource_limits(f: &mut Fields) -> Option<ResourceLimits> {
    let obj = f.object("resources_limits")?;
    let mut pair = |name: &str, check: fn(&Json) -> bool, expected: &str| -> Option<[Json; 2]> {
        let key = format!("resources_limits.{name}");
        match obj.get(name) {
            Some(Json::Array(a)) if a.len() == 2 && a.iter().all(check) => Some([a[0].clone(), a[1].clone()]),
            Some(_) => {
                f.fail(&key, format!("expected [guarantee, limit] with {expected}"));
                None
            }
            None => {
                f.fail(&key, "is required in resources_limits");
                None
            }
        }
    };
    let memory = pair("memory", validate::memory_quantity, "memory quantities like \"1G\" or \"16Gi\"");
    let cpu = pair("cpu", validate::cpu_quantity, "CPU amounts like 1.0 or \"500m\"");
    Some(ResourceLimits { memory: memory?, cpu: cpu? })
}

/// JupyterHub's escaping of user names into pod labels and object names (kubespawner's
/// escapism with `[a-z0-9]` safe and `-` as escape): `alice@example.com` → `alice-40example-2ecom`.
pub fn jupyterhub_escape(user: &str) -> String {
    let mut out = String::with_capacity(user.len() * 2);
    for b in user.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            out.push(b as char);
        } else {
            out.push_str(&format!("-{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_jupyterhub() {
        assert_eq!(jupyterhub_escape("alice@example.com"), "alice-40example-2ecom");
        assert_eq!(jupyterhub_escape("demo.user@example.com"), "demo-2euser-40example-2ecom");
        assert_eq!(jupyterhub_escape("a-b"), "a-2db");
        assert_eq!(jupyterhub_escape("Bob"), "-42ob");
    }
}
