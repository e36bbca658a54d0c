//! The last resort for a document whose anchors, aliases or merge keys stand where an edit must
//! go: the document written anew in plain block style, every alias and merge expanded, meaning
//! kept. Its comments and quoting are lost, so the pipeline does this only where an edit would
//! otherwise be refused, and reports it.

use std::collections::{HashMap, HashSet};

use saphyr_parser::ScalarStyle;
use serde_json::{Map, Value as Json};

use super::Limits;
use super::edit::block_document;
use super::scalar::{resolve, to_json};
use super::tree::{self, Node, Value};

/// Why a document can't be written anew without changing what it means.
pub type Unwritable = &'static str;

/// The document's text up to its root node (`---`, comments, directives), then the root's meaning
/// in plain block style. The new text is read back and must mean what the old one meant.
pub fn plain_block(text: &str, root: &Node, limits: &Limits) -> Result<String, Unwritable> {
    let mut anchors = HashMap::new();
    collect(root, &mut anchors);
    // Expansion is bounded: an alias bomb stays what it is (refused), not a huge document.
    let mut budget = limits.max_document_bytes;
    let meaning = expand(root, &anchors, &mut budget)?;
    if meaning.as_object().is_none_or(|m| m.is_empty()) {
        return Err("its root is not a mapping with entries");
    }
    let mut out = text[..root.start].to_string();
    if !out.is_empty() && !out.ends_with(['\n', '\r']) {
        out.push('\n'); // after `--- ` on the root's own line
    }
    out.push_str(&block_document(&meaning));
    let reread = tree::parse(&out, limits).ok().flatten().ok_or("its plain form does not parse")?;
    if to_json(&reread) != meaning {
        return Err("its plain form does not read back the same");
    }
    Ok(out)
}

fn collect<'n, 'a>(node: &'n Node<'a>, anchors: &mut HashMap<usize, &'n Node<'a>>) {
    if node.anchor != 0 {
        anchors.insert(node.anchor, node);
    }
    match &node.value {
        Value::Seq { items, .. } => items.iter().for_each(|i| collect(i, anchors)),
        Value::Map { entries, .. } => entries.iter().for_each(|(k, v)| {
            collect(k, anchors);
            collect(v, anchors)
        }),
        Value::Scalar { .. } | Value::Alias(_) => {}
    }
}

const TOO_BIG: Unwritable = "its aliases expand past max_document_bytes";

/// What a node means with every alias and merge key expanded, as a YAML 1.1 reader sees it.
fn expand(node: &Node, anchors: &HashMap<usize, &Node>, budget: &mut usize) -> Result<Json, Unwritable> {
    *budget = budget.checked_sub(16).ok_or(TOO_BIG)?;
    match &node.value {
        Value::Scalar { text, style, tag } => {
            if tag.as_deref().is_some_and(|t| !t.starts_with("tag:yaml.org,2002:")) {
                return Err("it uses a tag of its own, which plain style would drop");
            }
            let value = resolve(text, *style, tag.as_deref());
            // A plain string maia-krm's YAML 1.1 reading types as a string may be a number or a date
            // to yaml.v3 or yaml.v2 (`1e3`, `0o7`, `08`, `2001-12-14`): written back only if plain
            // style can keep it as it was, or the readers could disagree about the rewrite.
            if *style == ScalarStyle::Plain && tag.is_none() && value.as_str().is_some_and(typed_elsewhere) {
                return Err("a plain scalar that readers may type differently would have to be quoted");
            }
            *budget = budget.checked_sub(text.len()).ok_or(TOO_BIG)?;
            Ok(value)
        }
        Value::Alias(id) => expand(anchors.get(id).ok_or("an alias names no anchor before it")?, anchors, budget),
        Value::Seq { items, .. } => {
            items.iter().map(|i| expand(i, anchors, budget)).collect::<Result<_, _>>().map(Json::Array)
        }
        Value::Map { entries, .. } => {
            let is_merge = |k: &Node| matches!(&k.value, Value::Scalar { text, style: ScalarStyle::Plain, tag: None } if text == "<<");
            // Explicit keys win over merged ones wherever they stand; of merged maps the first wins.
            let explicit: HashSet<&str> =
                entries.iter().filter(|(k, _)| !is_merge(k)).filter_map(|(k, _)| k.scalar()).collect();
            let mut map = Map::new();
            let mut before = HashSet::new();
            for (k, v) in entries {
                if is_merge(k) {
                    let sources = match expand(v, anchors, budget)? {
                        Json::Object(m) => vec![m],
                        Json::Array(items) => items
                            .into_iter()
                            .map(|i| if let Json::Object(m) = i { Ok(m) } else { Err(BAD_MERGE) })
                            .collect::<Result<_, _>>()?,
                        _ => return Err(BAD_MERGE),
                    };
                    for (key, value) in sources.into_iter().flatten() {
                        if before.contains(key.as_str()) {
                            // yaml.v2 (Helm 3) lets the merge win over a key set before it; yaml.v3 does not.
                            return Err("a key set before a merge key (`<<`) that also merges it: readers disagree");
                        }
                        if !explicit.contains(key.as_str()) && !map.contains_key(&key) {
                            map.insert(key, value);
                        }
                    }
                } else {
                    let key = match &k.value {
                        Value::Scalar { text, .. } => text.to_string(),
                        _ => return Err("a key that is not a scalar"),
                    };
                    before.insert(key.clone());
                    map.insert(key, expand(v, anchors, budget)?); // a repeated key: the last one wins
                }
            }
            Ok(Json::Object(map))
        }
    }
}

const BAD_MERGE: Unwritable = "a merge key (`<<`) whose value is not a mapping or a list of them";

/// Plain text another reader may type though maia-krm reads it as a string: anything that starts
/// like a number (`1e3`, `0o7`, `08`, `+.5`), `.inf`/`.nan`, timestamps (`2001-12-14`) and base-60
/// numbers (`1:30`). Quoted, it would read as a string everywhere.
fn typed_elsewhere(s: &str) -> bool {
    let b = s.as_bytes();
    let numeric = match b {
        [d, ..] if d.is_ascii_digit() => true,
        [b'+' | b'-' | b'.', d, ..] => d.is_ascii_digit() || *d == b'.' || s.to_ascii_lowercase().ends_with("inf"),
        _ => false,
    };
    let special = matches!(s.to_ascii_lowercase().as_str(), ".inf" | "+.inf" | "-.inf" | ".nan");
    numeric || special || dated_or_base60(s)
}

fn dated_or_base60(s: &str) -> bool {
    let b = s.as_bytes();
    let date = b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit();
    let base60 = s.contains(':')
        && s.trim_start_matches(['-', '+']).starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|c| c.is_ascii_digit() || matches!(c, b':' | b'.' | b'_' | b'-' | b'+'));
    date || base60
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(text: &str) -> Result<String, Unwritable> {
        let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
        plain_block(text, &root, &Limits::default())
    }

    #[test]
    fn aliases_and_merges_are_expanded_in_plain_block_style() {
        let text = "---\n# Source: c/pod.yaml\nkind: Pod\nspec:\n  containers:\n  - &c {name: a, image: busybox, args: [\"on\", 0755]}\n  - <<: *c\n    name: b\n";
        let out = rewrite(text).unwrap();
        assert_eq!(
            out,
            "---\n# Source: c/pod.yaml\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: busybox\n      args:\n        - \"on\"\n        - 493\n    - image: busybox\n      args:\n        - \"on\"\n        - 493\n      name: b\n"
        );
    }

    #[test]
    fn explicit_keys_win_over_merged_ones_and_the_first_merged_map_wins() {
        let out = rewrite("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n").unwrap();
        let root = tree::parse(&out, &Limits::default()).unwrap().unwrap();
        assert_eq!(to_json(root.get("c").unwrap()), serde_json::json!({"z": 3, "x": 1, "y": 1}));
    }

    #[test]
    fn what_plain_style_would_change_is_refused() {
        assert!(rewrite("a: !custom x\n").is_err());
        assert!(rewrite("a: 2001-12-14\n").is_err());
        assert!(rewrite("a: 1:30\n").is_err());
        // Found in review: yaml.v3 reads these as numbers, maia-krm's YAML 1.1 typing as strings.
        for odd in ["1e3", "1e-3", "0o7", "08"] {
            assert!(rewrite(&format!("a: {odd}\n")).is_err(), "{odd}");
        }
        assert!(rewrite("b: &b {k: 1}\nc: {k: 2, <<: *b}\n").is_err(), "yaml.v2 lets the merge win");
        assert!(rewrite("<<: [1]\n").is_err());
        let mut bomb = String::from("l0: &l0 [lol]\n");
        for level in 1..12 {
            bomb.push_str(&format!("l{level}: &l{level} [{}]\n", vec![format!("*l{}", level - 1); 10].join(", ")));
        }
        assert_eq!(rewrite(&bomb), Err(TOO_BIG));
    }
}
