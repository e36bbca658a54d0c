//! Secret values in a form or cluster config: literal, or a reference to an environment
//! variable or a file, for teams that keep secrets out of git. Never printed: `Debug` redacts,
//! and there is deliberately no `Display`.

use std::fmt;

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

    /// The secret's value, reading the environment or the file it refers to.
    pub fn resolve(&self, key: &str) -> Result<String, String> {
        match self {
            Secret::Literal(s) => Ok(s.clone()),
            Secret::FromEnv(name) => {
                std::env::var(name).map_err(|_| format!("`{key}`: environment variable {name} is not set"))
            }
            Secret::FromFile(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| format!("`{key}`: cannot read {path}: {e}")),
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
        assert_eq!(file.resolve("k").unwrap(), "from-file");
        let env = Secret::from_json(&json!({"fromEnv": "MAIA_KRM_TEST_UNSET_VARIABLE"})).unwrap();
        assert!(env.resolve("k").unwrap_err().contains("MAIA_KRM_TEST_UNSET_VARIABLE is not set"));
        assert!(Secret::from_json(&json!({"fromVault": "x"})).is_err());
    }
}
