//! The fail-closed check: before a changed document is written, its new text must parse and
//! mean (under YAML 1.1 rules, as kubectl and Helm read it) exactly the old text with the
//! intended edits applied — each target holds its new value, and nothing else was added,
//! removed or changed. Text splicing is fast and keeps every byte we do not own, but a splice
//! in the wrong place is silent; this walk is what makes it safe in the release binary.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::Limits;
use super::edit::{Intent, Op};
use super::scalar::resolve;
use super::tree::{self, Node, Value};

/// Checks `after` (the edited text) against `before` (the tree the edits were computed on)
/// and the edits' intents. The error says what differs, for the report.
pub fn edited(before: &Node, intents: &[Intent], after: &str, limits: &Limits) -> Result<(), String> {
    // The edited text is read the way the input was, duplicates allowed or not.
    let after = tree::parse(after, limits).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let after = after.ok_or("the document became empty")?;
    let mut pending: HashMap<(usize, usize), Vec<&Op>> = HashMap::new();
    for intent in intents {
        pending.entry(intent.target).or_default().push(&intent.op);
    }
    let mut walk = Walk { pending, path: Vec::new() };
    walk.node(before, &after)?;
    match walk.pending.into_values().flatten().next() {
        Some(op) => Err(format!("an edit found no target: {op:?}")),
        None => Ok(()),
    }
}

struct Walk<'i> {
    pending: HashMap<(usize, usize), Vec<&'i Op>>,
    /// Where the walk is, for messages.
    path: Vec<String>,
}

impl Walk<'_> {
    fn differs(&self, what: &str) -> String {
        format!("{what} at {}", if self.path.is_empty() { "the root".into() } else { self.path.join(".") })
    }

    /// `old` with its intended edits must equal `new`.
    fn node(&mut self, old: &Node, new: &Node) -> Result<(), String> {
        let ops = self.pending.remove(&(old.start, old.depth)).unwrap_or_default();
        if let [Op::Replace(s)] = ops.as_slice() {
            return self.json(&Json::String(s.clone()), new);
        }
        match (&old.value, &new.value) {
            (Value::Scalar { text: a, style: sa, tag: ta }, Value::Scalar { text: b, style: sb, tag: tb })
                if ops.is_empty() =>
            {
                // Same spelling means same meaning (the common case, and free); otherwise compare types.
                let same = (a == b && sa == sb && ta == tb) || meaning(old) == meaning(new);
                same.then_some(()).ok_or_else(|| self.differs("a scalar changed"))
            }
            (Value::Alias, Value::Alias) if ops.is_empty() => Ok(()),
            (Value::Seq { items: old_items, .. }, Value::Seq { items: new_items, .. }) => {
                let appended: Vec<&Json> = ops
                    .iter()
                    .map(|op| match op {
                        Op::Append(item) => Ok(item),
                        other => Err(self.differs(&format!("a list edit that is not an append ({other:?})"))),
                    })
                    .collect::<Result<_, _>>()?;
                if new_items.len() != old_items.len() + appended.len() {
                    return Err(self.differs("the number of list items is not what the edits add"));
                }
                for (i, new_item) in new_items.iter().enumerate() {
                    self.path.push(i.to_string());
                    match old_items.get(i) {
                        Some(old_item) => self.node(old_item, new_item)?,
                        None => self.json(appended[i - old_items.len()], new_item)?,
                    }
                    self.path.pop();
                }
                Ok(())
            }
            (Value::Map { entries: old_entries, .. }, Value::Map { entries: new_entries, .. }) => {
                let mut puts: Vec<(&str, &Json)> = Vec::new();
                for op in &ops {
                    match op {
                        Op::Put { key, value } => puts.push((key, value)),
                        other => return Err(self.differs(&format!("a mapping edit that is not a put ({other:?})"))),
                    }
                }
                let filled = |key: &Node| {
                    let k = key.scalar()?;
                    puts.iter().find(|(p, _)| *p == k).map(|(_, v)| *v)
                };
                let added: Vec<_> = puts
                    .iter()
                    .filter(|(k, _)| !old_entries.iter().any(|(old_key, _)| old_key.scalar() == Some(k)))
                    .collect();
                if new_entries.len() != old_entries.len() + added.len() {
                    return Err(self.differs("the number of mapping keys is not what the edits add"));
                }
                for (i, (new_key, new_value)) in new_entries.iter().enumerate() {
                    match old_entries.get(i) {
                        Some((old_key, old_value)) => {
                            self.node(old_key, new_key)?;
                            self.path.push(old_key.scalar().unwrap_or("?").to_string());
                            match filled(old_key) {
                                Some(v) if old_value.is_null() => self.json(v, new_value)?,
                                Some(_) => return Err(self.differs("a put over an existing value")),
                                None => self.node(old_value, new_value)?,
                            }
                        }
                        None => {
                            let (key, value) = added[i - old_entries.len()];
                            self.json(&Json::String(key.to_string()), new_key)?;
                            self.path.push(key.to_string());
                            self.json(value, new_value)?;
                        }
                    }
                    self.path.pop();
                }
                Ok(())
            }
            _ => Err(self.differs("the node changed shape")),
        }
    }

    /// `new` must be what the edit wrote: `want`, read back as YAML 1.1.
    fn json(&mut self, want: &Json, new: &Node) -> Result<(), String> {
        let same = match (want, &new.value) {
            (Json::Object(map), Value::Map { entries, .. }) => {
                if map.len() != entries.len() {
                    return Err(self.differs("a written mapping reads back with other keys"));
                }
                for ((k, v), (nk, nv)) in map.iter().zip(entries) {
                    self.json(&Json::String(k.clone()), nk)?;
                    self.path.push(k.clone());
                    self.json(v, nv)?;
                    self.path.pop();
                }
                true
            }
            (Json::Array(items), Value::Seq { items: new_items, .. }) => {
                if items.len() != new_items.len() {
                    return Err(self.differs("a written list reads back with other items"));
                }
                for (i, (item, new_item)) in items.iter().zip(new_items).enumerate() {
                    self.path.push(i.to_string());
                    self.json(item, new_item)?;
                    self.path.pop();
                }
                true
            }
            (Json::Object(_) | Json::Array(_), _) => false,
            (scalar, Value::Scalar { .. }) => meaning(new) == *scalar,
            _ => false,
        };
        same.then_some(()).ok_or_else(|| self.differs("a written value reads back as something else"))
    }
}

fn meaning(node: &Node) -> Json {
    match &node.value {
        Value::Scalar { text, style, tag } => resolve(text, *style, tag.as_deref()),
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::edit::Edits;
    use serde_json::json;

    fn check(text: &str, f: impl FnOnce(&mut Edits, &Node)) -> Result<String, String> {
        let limits = Limits::default();
        let root = tree::parse(text, &limits).unwrap().unwrap();
        let mut e = Edits::new(text);
        f(&mut e, &root);
        let out = e.apply();
        edited(&root, e.intents(), &out, &limits).map(|()| out)
    }

    #[test]
    fn correct_edits_pass() {
        let out = check("a:\n  b: 1\nc: [x]\nd: old\n", |e, r| {
            e.put(r.get("a").unwrap(), "k", &json!({"m": ["v"]}));
            e.append(r.get("c").unwrap(), &json!("z"));
            e.replace_scalar(r.get("d").unwrap(), "new");
        });
        assert_eq!(out.unwrap(), "a:\n  b: 1\n  k:\n    m:\n      - v\nc: [x, z]\nd: new\n");
    }

    #[test]
    fn a_splice_that_changes_anything_else_fails() {
        let text = "a:\n  b: 1\nc: 2\n";
        let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
        let mut e = Edits::new(text);
        e.put(root.get("a").unwrap(), "k", &json!("v"));
        // The same intent, but text that lost `c` and changed `b`'s type.
        let err = edited(&root, e.intents(), "a:\n  b: \"1\"\n  k: v\nc: 2\n", &Limits::default()).unwrap_err();
        assert!(err.contains("a.b"), "{err}");
        let err = edited(&root, e.intents(), "a:\n  b: 1\n  k: v\nc: 2\nx: 1\n", &Limits::default()).unwrap_err();
        assert!(err.contains("number of mapping keys"), "{err}");
        let err = edited(&root, e.intents(), "a:\n  b: 1\n  k: w\nc: 2\n", &Limits::default()).unwrap_err();
        assert!(err.contains("a.k"), "{err}");
        let err = edited(&root, e.intents(), "a: [", &Limits::default()).unwrap_err();
        assert!(err.starts_with("line"), "{err}");
    }

    #[test]
    fn yaml_1_1_meaning_is_compared_not_text() {
        let text = "a: 0755\n";
        let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
        assert!(edited(&root, &[], "a: 0o755\n", &Limits::default()).is_err(), "0o755 is a string in YAML 1.1");
        assert!(edited(&root, &[], "a: 493\n", &Limits::default()).is_ok());
        let root = tree::parse("a: \"on\"\n", &Limits::default()).unwrap().unwrap();
        assert!(edited(&root, &[], "a: on\n", &Limits::default()).is_err());
    }
}
