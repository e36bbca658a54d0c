//! Secret values in a form or cluster config: literal, or a reference to an environment
//! variable or a file, for teams that keep secrets out of git. Never printed: `Debug` redacts,
//! and there is deliberately no `Display`.

use std::fmt;
use std::path::{Component, Path};

use serde_json::{Value as Json, json};

#[derive(Clone, PartialEq)]
pub enum Secret {
    Literal(String),
    /// `{fromEnv: NAME}`
    FromEnv(String),
    /// `{fromFile: PATH}`
    FromFile(String),
}

impl Secret {
    /// Reads a secret from its form/cluster value; `Err` says what shape was expected.
    pub fn from_json(v: &Json) -> Result<Secret, &'static str> {
        match v {
            Json::String(s) if !s.is_empty() => Ok(Secret::Literal(s.clone())),
            Json::Number(n) => Ok(Secret::Literal(n.to_string())),
            Json::Object(m) if m.len() == 1 => match m.iter().next() {
                Some((k, Json::String(v))) if k == "fromEnv" && !v.is_empty() => Ok(Secret::FromEnv(v.clone())),
                Some((k, Json::String(v))) if k == "fromFile" && !v.is_empty() => Ok(Secret::FromFile(v.clone())),
                _ => Err("expected a string, {fromEnv: NAME} or {fromFile: PATH}"),
            },
            _ => Err("expected a string, {fromEnv: NAME} or {fromFile: PATH}"),
        }
    }

    /// The value as it is written into a form: the literal, or the reference itself.
    pub fn to_json(&self) -> Json {
        match self {
            Secret::Literal(s) => json!(s),
            Secret::FromEnv(n) => json!({ "fromEnv": n }),
            Secret::FromFile(p) => json!({ "fromFile": p }),
        }
    }

    /// The secret's value, reading the environment or the file it refers to. A file path is
    /// relative to `folder`; `confined`, it must also lead (through any symlinks) to a file inside
    /// `folder`: a group's form must not read the admin's files into values output.
    pub fn resolve(&self, key: &str, folder: &Path, confined: bool) -> Result<String, String> {
        match self {
            Secret::Literal(s) => Ok(s.clone()),
            Secret::FromEnv(name) => {
                std::env::var(name).map_err(|_| format!("`{key}`: environment variable {name} is not set"))
            }
            Secret::FromFile(path) => {
                let file = folder.join(path);
                let cannot = |e: std::io::Error| format!("`{key}`: cannot read {}: {e}", file.display());
                if confined {
                    let inside = file.canonicalize().map_err(cannot)?;
                    let root = folder.canonicalize().map_err(cannot)?;
                    if !inside.starts_with(&root) {
                        return Err(format!(
                            "`{key}`: {path} leads outside the form's folder {} (through a symlink); form secret files stay inside it unless the cluster config sets form_secret_files: anywhere",
                            folder.display()
                        ));
                    }
                }
                std::fs::read_to_string(&file).map(|s| s.trim_end_matches(['\n', '\r']).to_string()).map_err(cannot)
            }
        }
    }

    /// Why a group form may not hold this reference, if it may not: a file path that is
    /// absolute or climbs out with `..` (unless `files_anywhere`), or an environment variable
    /// without `env_prefix` (the admin's environment, e.g. AWS_SECRET_ACCESS_KEY, is not the
    /// group's to read). Checked when the config is read; symlinks when the file is.
    pub fn form_problem(&self, files_anywhere: bool, env_prefix: &str) -> Option<String> {
        match self {
            Secret::Literal(_) => None,
            Secret::FromEnv(name) if !name.starts_with(env_prefix) => Some(format!(
                "fromEnv {name} does not start with {env_prefix}: a form reads only variables meant for forms (the cluster config's form_secret_env_prefix)"
            )),
            Secret::FromEnv(_) => None,
            Secret::FromFile(path) if !files_anywhere => {
                let path = Path::new(path);
                let outside = path.is_absolute() || path.components().any(|c| c == Component::ParentDir);
                outside.then(|| format!(
                    "fromFile {} must be a path inside the form's folder (relative, without `..`), unless the cluster config sets form_secret_files: anywhere",
                    path.display()
                ))
            }
            Secret::FromFile(_) => None,
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Literal(_) => f.write_str("Secret(<redacted>)"),
            Secret::FromEnv(n) => write!(f, "Secret(fromEnv {n})"),
            Secret::FromFile(p) => write!(f, "Secret(fromFile {p})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_literal() {
        assert_eq!(format!("{:?}", Secret::Literal("hunter2".into())), "Secret(<redacted>)");
    }

    #[test]
    fn references_resolve_from_env_and_file() {
        let dir = std::env::temp_dir().join(format!("maia-krm-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s"), "from-file\n").unwrap();
        let file = Secret::from_json(&json!({"fromFile": dir.join("s").to_str().unwrap()})).unwrap();
        assert_eq!(file.resolve("k", Path::new("."), false).unwrap(), "from-file");
        let env = Secret::from_json(&json!({"fromEnv": "MAIA_KRM_TEST_UNSET_VARIABLE"})).unwrap();
        assert!(
            env.resolve("k", Path::new("."), false).unwrap_err().contains("MAIA_KRM_TEST_UNSET_VARIABLE is not set")
        );
        assert!(Secret::from_json(&json!({"fromVault": "x"})).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_form_file_is_read_relative_to_its_folder_and_never_through_a_symlink_out_of_it() {
        let root = std::env::temp_dir().join(format!("maia-krm-confined-{}", std::process::id()));
        let form_dir = root.join("forms");
        std::fs::create_dir_all(form_dir.join("sec")).unwrap();
        std::fs::write(form_dir.join("sec/pw"), "inside\n").unwrap();
        std::fs::write(root.join("admin-secret"), "outside\n").unwrap();
        std::os::unix::fs::symlink(root.join("admin-secret"), form_dir.join("sec/link")).unwrap();
        let file = |p: &str| Secret::FromFile(p.into());
        assert_eq!(file("sec/pw").resolve("k", &form_dir, true).unwrap(), "inside");
        let err = file("sec/link").resolve("k", &form_dir, true).unwrap_err();
        assert!(err.contains("leads outside the form's folder") && !err.contains("outside\n"), "{err}");
        assert_eq!(file("sec/link").resolve("k", &form_dir, false).unwrap(), "outside", "the admin's choice");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_form_may_not_name_absolute_or_climbing_paths_or_foreign_variables() {
        let file = |p: &str| Secret::FromFile(p.into());
        for bad in ["/etc/shadow", "../cluster-secret", "sec/../../x"] {
            assert!(file(bad).form_problem(false, "MAIA_FORM_").is_some(), "{bad}");
            assert!(file(bad).form_problem(true, "MAIA_FORM_").is_none(), "{bad} with form_secret_files: anywhere");
        }
        assert!(file("sec/pw").form_problem(false, "MAIA_FORM_").is_none());
        let env = |n: &str| Secret::FromEnv(n.into());
        assert!(env("AWS_SECRET_ACCESS_KEY").form_problem(false, "MAIA_FORM_").unwrap().contains("MAIA_FORM_"));
        assert!(env("MAIA_FORM_DB").form_problem(false, "MAIA_FORM_").is_none());
        assert!(env("GROUP_DB").form_problem(false, "GROUP_").is_none());
        assert!(Secret::Literal("x".into()).form_problem(false, "MAIA_FORM_").is_none());
    }
}
