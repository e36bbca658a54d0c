//! Lenient typed reads from a JSON object that collect every problem instead of stopping at the
//! first: admins fix a form in one pass. Values may arrive typed (from a YAML file) or as the
//! strings a ConfigMap `data` map or `kpt fn eval -- key=value` carries.

use serde_json::{Map, Value as Json};

pub struct Fields<'a> {
    obj: &'a Map<String, Json>,
    /// Where these keys came from, for messages: "group form", "cluster config", "options".
    origin: &'static str,
    pub errors: &'a mut Vec<String>,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Json>, origin: &'static str, errors: &'a mut Vec<String>) -> Self {
        Fields { obj, origin, errors }
    }

    fn value<'k>(&self, keys: &[&'k str]) -> Option<(&'k str, &'a Json)> {
        let obj = self.obj;
        keys.iter().find_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
    }

    /// The value under `key`, for readers of shapes this file does not know.
    pub fn raw(&self, key: &str) -> Option<&'a Json> {
        self.value(&[key]).map(|(_, v)| v)
    }

    pub fn fail(&mut self, key: &str, problem: impl std::fmt::Display) {
        self.errors.push(format!("{} key `{key}`: {problem}", self.origin));
    }

    /// A string; numbers are accepted as their text (`maia_workspace_version: 2.0`).
    /// The first of `keys` present wins (for upstream aliases).
    pub fn string(&mut self, keys: &[&str]) -> Option<String> {
        match self.value(keys)? {
            (_, Json::String(s)) => Some(s.clone()),
            (_, Json::Number(n)) => Some(n.to_string()),
            (k, other) => {
                self.fail(k, format!("expected a string, got {}", kind_of(other)));
                None
            }
        }
    }

    /// A string that must pass `check`; a failure is reported under `key`.
    pub fn checked(&mut self, key: &str, check: fn(&str) -> Result<(), String>) -> Option<String> {
        let v = self.string(&[key]);
        if let Some(Err(e)) = v.as_deref().map(check) {
            self.fail(key, e);
        }
        v
    }

    pub fn required_string(&mut self, key: &str) -> Option<String> {
        let v = self.string(&[key]);
        if v.is_none() && !self.obj.contains_key(key) {
            self.fail(key, "is required");
        }
        v
    }

    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.value(&[key]) {
            None => default,
            Some((_, Json::Bool(b))) => *b,
            Some((_, Json::String(s))) if matches!(s.as_str(), "true" | "false") => s == "true",
            Some((k, other)) => {
                self.fail(k, format!("expected true or false, got {}", kind_of(other)));
                default
            }
        }
    }

    pub fn uint(&mut self, key: &str, default: usize) -> usize {
        match self.value(&[key]) {
            None => default,
            Some((_, Json::Number(n))) if n.as_u64().is_some() => n.as_u64().unwrap_or_default() as usize,
            Some((_, Json::String(s))) if s.parse::<usize>().is_ok() => s.parse().unwrap_or(default),
            Some((k, other)) => {
                self.fail(k, format!("expected a whole number, got {}", kind_of(other)));
                default
            }
        }
    }

    /// A list of strings (absent: empty).
    pub fn strings(&mut self, key: &str) -> Vec<String> {
        match self.value(&[key]) {
            None => Vec::new(),
            Some((_, Json::Array(items))) if items.iter().all(Json::is_string) => {
                items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect()
            }
            Some((k, other)) => {
                self.fail(k, format!("expected a list of strings, got {}", kind_of(other)));
                Vec::new()
            }
        }
    }

    /// A list of whole numbers.
    pub fn uints(&mut self, key: &str) -> Option<Vec<u64>> {
        match self.value(&[key])? {
            (_, Json::Array(items)) if items.iter().all(|i| i.as_u64().is_some()) => {
                Some(items.iter().filter_map(Json::as_u64).collect())
            }
            (k, other) => {
                self.fail(k, format!("expected a list of whole numbers, got {}", kind_of(other)));
                None
            }
        }
    }

    /// A nested mapping.
    pub fn object(&mut self, key: &str) -> Option<&'a Map<String, Json>> {
        match self.value(&[key])? {
            (_, Json::Object(m)) => Some(m),
            (k, other) => {
                self.fail(k, format!("expected a mapping, got {}", kind_of(other)));
                None
            }
        }
    }

    /// A secret: literal or reference; its value never appears in a message.
    pub fn secret(&mut self, key: &str) -> Option<super::Secret> {
        let (k, v) = self.value(&[key])?;
        super::Secret::from_json(v).map_err(|e| self.fail(k, e)).ok()
    }

    /// One of a fixed set of words.
    pub fn choice(&mut self, key: &str, choices: &[&'static str], default: &'static str) -> &'static str {
        match self.string(&[key]) {
            None => default,
            Some(s) => choices.iter().copied().find(|c| *c == s).unwrap_or_else(|| {
                self.fail(key, format!("{s:?} is not one of {}", choices.join(", ")));
                default
            }),
        }
    }
}

/// What a value is, for messages: never the value itself, which may be a secret.
fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "nothing",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

/// The one message for a key nobody reads, wherever keys are checked: with the nearest known key
/// when one is close enough to be a typo (`oauth_ur` → `oauth_url`), else the keys there are. A
/// misspelt key silently ignored would leave a setting at its default without a word.
pub fn unknown_key(key: &str, known: &[&str]) -> String {
    match suggestion(key, known) {
        Some(near) => format!("unknown key `{key}` (did you mean `{near}`?)"),
        None => format!("unknown key `{key}` (expected one of {})", known.join(", ")),
    }
}

/// The known key nearest to `key` by edit distance (case-insensitive: `imagepullsecrets` is a
/// typo too), if it is at most 2 edits away (3 for keys of 9 characters or more; a swapped pair
/// of letters is 2): any further, a suggestion is more likely noise than help.
fn suggestion<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (key.chars().count() / 3).clamp(2, 3);
    known
        .iter()
        .map(|k| (edit_distance(&key.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters (one row of the table at a time).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_nearest_key_and_a_stranger_the_list() {
        let known = ["oauth_url", "nginx_cluster_issuer", "imagePullSecrets", "users"];
        assert_eq!(unknown_key("oauth_ur", &known), "unknown key `oauth_ur` (did you mean `oauth_url`?)");
        assert!(unknown_key("nginx_cluster_isuer", &known).contains("did you mean `nginx_cluster_issuer`?"));
        assert!(unknown_key("imagePullSecret", &known).contains("did you mean `imagePullSecrets`?"));
        assert!(unknown_key("imagepullsecrets", &known).contains("did you mean `imagePullSecrets`?"));
        assert!(unknown_key("usres", &known).contains("did you mean `users`?"));
        let far = unknown_key("colour", &known);
        assert!(!far.contains("did you mean") && far.contains("expected one of oauth_url, "), "{far}");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
