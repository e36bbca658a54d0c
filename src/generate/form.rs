//! `form new` and `form check`.

use base64::Engine;
use rand::RngCore;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{Map, Value as Json, json};

use std::path::{Component, Path, PathBuf};

use super::needs;
use crate::config::{Config, ConfigError, FORM_SECRET_KEYS, Source, folder_of, namespace_of};
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
    /// Fresh random values written to DIR/KEY (mode 0600), referenced as `{fromFile: DIR/KEY}`
    /// relative to the working directory, where the form is to be saved: a form's paths are read
    /// from its own folder. DIR must lie below it.
    Files(PathBuf),
}

/// A complete group form, checked with the same rules as `form check`.
pub fn new_form(seed: &Seed) -> Result<String, ConfigError> {
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
                let reference = below_working_directory(dir)?.join(key);
                write_secret_file(&dir.join(key), &generate(key))?;
                json!({"fromFile": reference.to_string_lossy()})
            }
        };
        form.insert(key.to_string(), value);
    }
    let form = Json::Object(form);
    // Checked as `form check` without a cluster would, but with the env prefix asked for: which
    // prefix forms may use is the cluster config's to say, and `form check --cluster` checks it.
    let cluster = match &seed.secrets {
        SecretMode::Env(prefix) => Some(json!({"domain": "cluster.invalid", "form_secret_env_prefix": prefix})),
        _ => None,
    };
    let problems = |p: Vec<String>| p.join("\n");
    config_of(&form, cluster.as_ref(), &Source::default()).map_err(problems)?;
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

/// `dir` as a relative path without `..`, for a form saved in the working directory.
fn below_working_directory(dir: &Path) -> Result<PathBuf, String> {
    let outside = || {
        format!(
            "--secrets-dir {}: must be below the working directory, where the form is saved (a form's secret files are read from its own folder)",
            dir.display()
        )
    };
    let relative = if dir.is_absolute() {
        let cwd = std::env::current_dir().map_err(|e| format!("the working directory: {e}"))?;
        dir.strip_prefix(&cwd).map_err(|_| outside())?.to_path_buf()
    } else {
        dir.to_path_buf()
    };
    if relative.components().any(|c| c == Component::ParentDir) {
        return Err(outside());
    }
    Ok(relative.components().filter(|c| *c != Component::CurDir).collect())
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

/// Every problem of each form (and, given one, of the cluster config), each naming its key and,
/// given several forms, its file; then what no single form shows: two workspaces of one cluster
/// that would claim the same namespace, host, or path on a shared host (`/<g>-hub` of group `g` is
/// all of group `g-hub`'s apps).
pub fn check_all(forms: &[(PathBuf, Json)], cluster: Option<(&Path, &Json)>) -> Result<String, Vec<String>> {
    let mut configs = Vec::new();
    let mut problems = Vec::new();
    for (file, form) in forms {
        let source = match cluster {
            Some((cluster_file, _)) => Source::files(file, cluster_file),
            // The stand-in cluster config (see config_of) is never reported on.
            None => Source {
                form: format!("group form {}", file.display()),
                cluster: "cluster config".into(),
                form_folder: folder_of(file),
            },
        };
        let name = file.display().to_string();
        // What the runbook's steps will need, too; without a cluster config, the form's part of it.
        let config = config_of(form, cluster.map(|(_, c)| c), &source).and_then(|c| {
            let missing: Vec<String> = needs::all(&c)
                .into_iter()
                .filter(|m| cluster.is_some() || m.file == needs::File::Form)
                .map(|m| match (m.file, cluster) {
                    (needs::File::Cluster, Some((cluster_file, _))) => format!("{m} (in {})", cluster_file.display()),
                    _ => format!("{m} (in {name})"),
                })
                .collect();
            if missing.is_empty() { Ok(c) } else { Err(missing) }
        });
        match config {
            Ok(c) => configs.push((name, c)),
            Err(p) if forms.len() == 1 => problems.extend(p),
            Err(p) => problems.extend(p.into_iter().map(|p| format!("{name}: {p}"))),
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
    let summaries: Vec<String> =
        configs.iter().map(|(file, c)| summary(file, c, cluster.is_some(), forms.len())).collect();
    Ok(summaries.join("\n"))
}

/// The namespace of a valid form, read as a render reads it (the cluster config plays no part).
pub fn namespace(form: &Json, file: &Path) -> Result<String, Vec<String>> {
    let source = Source {
        form: format!("group form {}", file.display()),
        cluster: "cluster config".into(),
        form_folder: folder_of(file),
    };
    config_of(form, None, &source).map(|c| c.namespace())
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

fn summary(file: &str, c: &Config, with_cluster: bool, forms: usize) -> String {
    format!(
        "{}ok: group {} → namespace {}, {} user(s){}",
        if forms > 1 { format!("{file}: ") } else { String::new() },
        c.form.group_id,
        c.namespace(),
        c.form.users.len(),
        if with_cluster { format!(", workspace host {}", c.workspace_host()) } else { String::new() }
    )
}

fn config_of(form: &Json, cluster: Option<&Json>, source: &Source) -> Result<Config, Vec<String>> {
    let mut data = Map::new();
    data.insert("group-form.yaml".into(), form.clone());
    // Without a cluster config, check the form alone: a stand-in domain satisfies the cluster's
    // required key and is never reported.
    data.insert("cluster.yaml".into(), cluster.cloned().unwrap_or_else(|| json!({"domain": "cluster.invalid"})));
    Config::from_source(&data, source).map_err(|problems| problems.0)
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

    fn check(form: &Json) -> Result<String, Vec<String>> {
        check_all(&[(PathBuf::from("group-form.yaml"), form.clone())], None)
    }

    fn secrets_of(form: &str) -> Vec<String> {
        let v = parse_yaml(form).unwrap();
        FORM_SECRET_KEYS.iter().map(|k| v[k].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_new_form_passes_check_and_has_fresh_secrets_of_the_right_shape() {
        let (a, b) = (new_form(&seed()).unwrap(), new_form(&seed()).unwrap());
        assert!(check(&parse_yaml(&a).unwrap()).is_ok());
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
    fn secrets_can_be_files_that_are_never_overwritten_and_resolve_from_the_forms_folder() {
        // Relative to the working directory (the package root under `cargo test`), where the
        // form is saved: its references are read from there.
        let dir = PathBuf::from(format!("target/maia-krm-form-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let form = new_form(&Seed { secrets: SecretMode::Files(dir.clone()), ..seed() }).unwrap();
        let v = parse_yaml(&form).unwrap();
        let path = v["mlflow_password"]["fromFile"].as_str().unwrap();
        assert_eq!(Path::new(path), dir.join("mlflow_password"), "relative, as given");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600);
        let value = std::fs::read_to_string(path).unwrap();
        assert!(!form.contains(&value));
        let cwd = std::env::current_dir().unwrap();
        let source = Source { form_folder: cwd.clone(), ..Source::default() };
        let c = config_of(&v, None, &source).unwrap();
        let secret = c.form.secrets.mlflow_password.as_ref().unwrap();
        assert_eq!(c.form_secret(secret, "mlflow_password").unwrap(), value);
        // An absolute --secrets-dir below the working directory is written relative to it too.
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let form = new_form(&Seed { secrets: SecretMode::Files(cwd.join(&dir)), ..seed() }).unwrap();
        assert_eq!(parse_yaml(&form).unwrap()["mysql_password"]["fromFile"], json!(dir.join("mysql_password")));
        assert!(
            new_form(&Seed { secrets: SecretMode::Files(dir.clone()), ..seed() })
                .unwrap_err()
                .to_string()
                .contains("never overwritten")
        );
        std::fs::remove_dir_all(&dir).unwrap();
        for outside in [std::env::temp_dir(), PathBuf::from("../elsewhere")] {
            let err = new_form(&Seed { secrets: SecretMode::Files(outside), ..seed() }).unwrap_err().to_string();
            assert!(err.contains("must be below the working directory"), "{err}");
        }
    }

    #[test]
    fn env_references_outside_the_form_prefix_fail_form_check() {
        let form = new_form(&Seed { secrets: SecretMode::Env("DEMO".into()), ..seed() }).unwrap();
        let problems = check(&parse_yaml(&form).unwrap()).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("fromEnv DEMO_MYSQL_PASSWORD does not start with MAIA_FORM_")));
        let form = new_form(&Seed { secrets: SecretMode::Env("MAIA_FORM_DEMO".into()), ..seed() }).unwrap();
        assert!(check(&parse_yaml(&form).unwrap()).is_ok());
    }

    #[test]
    fn check_lists_every_problem_at_once() {
        let bad = json!({"group_ID": "Bad Group", "users": ["not-an-email", "a@b.org", "a@b.org"], "gpu_request": -1,
                         "resources_limits": {"memory": ["lots"], "cpu": [1, 2]}, "oauth2_cookie_secret": "short"});
        let problems = check(&bad).unwrap_err();
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
