//! `form new` and `form check`.

use base64::Engine;
use rand::RngCore;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{Map, Value as Json, json};

use crate::config::{Config, FORM_SECRET_KEYS, namespace_of};
use crate::stream::edit::block_document;

/// What `form new` is told.
#[derive(Debug, Default)]
pub struct Seed {
    pub group_id: String,
    pub subdomain: Option<String>,
    pub users: Vec<String>,
    pub gpu: usize,
    pub workspace_version: String,
    /// The cluster domain, to fill in `oauth_url`.
    pub domain: Option<String>,
    pub memory: [String; 2],
    pub cpu: [f64; 2],
    pub secrets: SecretMode,
}

/// Where the generated form keeps its secrets.
#[derive(Debug, Default, Clone)]
pub enum SecretMode {
    /// Fresh random values, written into the form.
    #[default]
    Generate,
    /// `{fromEnv: PREFIX_KEY}` references; nothing generated.
    Env(String),
    /// Fresh random values written to DIR/KEY (mode 0600), referenced as `{fromFile: ...}`.
    Files(std::path::PathBuf),
}

/// A complete group form, checked with the same rules as `form check`.
pub fn new_form(seed: &Seed) -> Result<String, String> {
    let ns = namespace_of(&seed.group_id);
    let subdomain = seed.subdomain.clone().unwrap_or_else(|| ns.clone());
    let mut form = Map::new();
    form.insert("group_ID".into(), json!(seed.group_id));
    form.insert("group_subdomain".into(), json!(subdomain));
    form.insert("maia_workspace_version".into(), json!(seed.workspace_version));
    form.insert("users".into(), json!(seed.users));
    form.insert("resources_limits".into(), json!({"memory": seed.memory, "cpu": seed.cpu}));
    form.insert("gpu_request".into(), json!(seed.gpu));
    if let Some(domain) = &seed.domain {
        form.insert("oauth_url".into(), json!(format!("{subdomain}.{domain}")));
    }
    for key in FORM_SECRET_KEYS {
        let value = match &seed.secrets {
            SecretMode::Generate => json!(generate(key)),
            SecretMode::Env(prefix) => json!({"fromEnv": format!("{prefix}_{}", key.to_ascii_uppercase())}),
            SecretMode::Files(dir) => {
                let path = dir.join(key);
                write_secret_file(&path, &generate(key))?;
                json!({"fromFile": path.to_string_lossy()})
            }
        };
        form.insert(key.to_string(), value);
    }
    let form = Json::Object(form);
    check(&form, None).map_err(|problems| problems.join("\n"))?;
    Ok(format!("# Group form for the MAIA workspace {ns}, written by `maia-krm form new`.\n{}", block_document(&form)))
}

/// A fresh secret for `key` from the OS-seeded CSPRNG: oauth2-proxy's cookie secret is 32 random
/// bytes in URL-safe base64 (what it decodes to an AES-256 key); the rest are 32 alphanumerics
/// (~190 bits), safe in URLs, env files and connection strings.
fn generate(key: &str) -> String {
    let mut rng = rand::rng();
    if key == "oauth2_cookie_secret" {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE.encode(bytes)
    } else {
        Alphanumeric.sample_string(&mut rng, if key == "minio_access_key" { 20 } else { 32 })
    }
}

fn write_secret_file(path: &std::path::Path, value: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e} (secret files are never overwritten)", path.display()))?;
    file.write_all(value.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every problem of a form (and, given one, its cluster config), each naming its key.
pub fn check(form: &Json, cluster: Option<&Json>) -> Result<String, Vec<String>> {
    config_of(form, cluster).map(|c| summary(&c, cluster.is_some()))
}

/// [`check`] for each form (problems named by file), then what no single form shows: two
/// workspaces of one cluster that would claim the same namespace, host, or path on a shared host
/// (`/<g>-hub` of group `g` is all of group `g-hub`'s apps).
pub fn check_all(forms: &[(String, Json)], cluster: Option<&Json>) -> Result<String, Vec<String>> {
    if let [(_, form)] = forms {
        return check(form, cluster);
    }
    let mut configs = Vec::new();
    let mut problems = Vec::new();
    for (file, form) in forms {
        match config_of(form, cluster) {
            Ok(c) => configs.push((file, c)),
            Err(p) => problems.extend(p.into_iter().map(|p| format!("{file}: {p}"))),
        }
    }
    for (i, (a_file, a)) in configs.iter().enumerate() {
        for (b_file, b) in &configs[i + 1..] {
            if let Some(what) = claimed_by_both(a, b) {
                problems.push(format!("{a_file} and {b_file} both claim {what}"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(configs
        .iter()
        .map(|(file, c)| format!("{file}: {}", summary(c, cluster.is_some())))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The namespace of a valid form, read as a render reads it (the cluster config plays no part).
pub fn namespace(form: &Json) -> Result<String, Vec<String>> {
    config_of(form, None).map(|c| c.namespace())
}

/// What two workspaces would both serve or own, if anything.
fn claimed_by_both(a: &Config, b: &Config) -> Option<String> {
    if a.namespace() == b.namespace() {
        return Some(format!("namespace {}", a.namespace()));
    }
    match (a.workspace_paths(), b.workspace_paths()) {
        (Some(pa), Some(pb)) => {
            let under =
                |p: &String, q: &String| p.strip_prefix(q.as_str()).is_some_and(|r| r.is_empty() || r.starts_with('/'));
            pa.iter().find_map(|p| {
                pb.iter()
                    .find(|q| under(p, q) || under(q, p))
                    .map(|q| format!("path {p} (and {q}) on {}", a.workspace_host()))
            })
        }
        _ => (a.workspace_host() == b.workspace_host()).then(|| format!("host {}", a.workspace_host())),
    }
}

fn summary(c: &Config, with_cluster: bool) -> String {
    format!(
        "ok: group {} → namespace {}, {} user(s){}",
        c.form.group_id,
        c.namespace(),
        c.form.users.len(),
        if with_cluster { format!(", workspace host {}", c.workspace_host()) } else { String::new() }
    )
}

fn config_of(form: &Json, cluster: Option<&Json>) -> Result<Config, Vec<String>> {
    let mut data = Map::new();
    data.insert("group-form.yaml".into(), form.clone());
    // Without a cluster config, check the form alone: a stand-in domain satisfies the cluster's
    // required key and is never reported.
    data.insert("cluster.yaml".into(), cluster.cloned().unwrap_or_else(|| json!({"domain": "cluster.invalid"})));
    Config::from_data(&data).map_err(|problems| problems.split("\n  ").map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_yaml;

    fn seed() -> Seed {
        Seed {
            group_id: "Demo_Group".into(),
            users: vec!["alice@example.com".into()],
            workspace_version: "2.0".into(),
            domain: Some("maia.example.com".into()),
            memory: ["1G".into(), "2G".into()],
            cpu: [1.0, 2.0],
            ..Seed::default()
        }
    }

    fn secrets_of(form: &str) -> Vec<String> {
        let v = parse_yaml(form).unwrap();
        FORM_SECRET_KEYS.iter().map(|k| v[k].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_new_form_passes_check_and_has_fresh_secrets_of_the_right_shape() {
        let (a, b) = (new_form(&seed()).unwrap(), new_form(&seed()).unwrap());
        assert!(check(&parse_yaml(&a).unwrap(), None).is_ok());
        let (sa, sb) = (secrets_of(&a), secrets_of(&b));
        for (x, y) in sa.iter().zip(&sb) {
            assert_ne!(x, y, "two runs must differ");
        }
        let v = parse_yaml(&a).unwrap();
        let cookie =
            base64::engine::general_purpose::URL_SAFE.decode(v["oauth2_cookie_secret"].as_str().unwrap()).unwrap();
        assert_eq!(cookie.len(), 32);
        assert!(v["mysql_root_password"].as_str().unwrap().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(v["mysql_root_password"].as_str().unwrap().len(), 32);
        assert_eq!(v["oauth_url"], json!("demo-group.maia.example.com"));
    }

    #[test]
    fn secrets_can_be_env_references() {
        let form = new_form(&Seed { secrets: SecretMode::Env("DEMO".into()), ..seed() }).unwrap();
        let v = parse_yaml(&form).unwrap();
        assert_eq!(v["mysql_password"], json!({"fromEnv": "DEMO_MYSQL_PASSWORD"}));
    }

    #[test]
    fn secrets_can_be_files_that_are_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("maia-krm-form-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let form = new_form(&Seed { secrets: SecretMode::Files(dir.clone()), ..seed() }).unwrap();
        let v = parse_yaml(&form).unwrap();
        let path = v["mlflow_password"]["fromFile"].as_str().unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!form.contains(&std::fs::read_to_string(path).unwrap()));
        assert!(
            new_form(&Seed { secrets: SecretMode::Files(dir.clone()), ..seed() })
                .unwrap_err()
                .contains("never overwritten")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn check_lists_every_problem_at_once() {
        let bad = json!({"group_ID": "Bad Group", "users": ["not-an-email", "a@b.org", "a@b.org"], "gpu_request": -1,
                         "resources_limits": {"memory": ["lots"], "cpu": [1, 2]}, "oauth2_cookie_secret": "short"});
        let problems = check(&bad, None).unwrap_err();
        for needle in [
            "`group_ID`",
            "`users[0]`",
            "`users[2]`",
            "`gpu_request`",
            "`resources_limits.memory`",
            "`oauth2_cookie_secret`",
        ] {
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle} missing from {problems:?}");
        }
        assert!(!problems.iter().any(|p| p.contains("short")), "secret values are never echoed");
    }
}
