//! Append-by-name merges every patch shares: add what is missing, report what is there, and
//! never replace a value or a list the chart wrote.

use serde_json::Value as Json;

use super::{Report, Resource};
use crate::stream::edit::{Edits, Refused};
use crate::stream::tree::Node;

/// Adds annotations the resource does not set yet; reports the ones it sets otherwise.
pub fn annotate(res: &Resource, wanted: &[(String, String)], edits: &mut Edits, report: &mut Report) {
    let mut missing = Vec::new();
    for (key, value) in wanted {
        let field = format!("metadata.annotations.{key}");
        match res.node.at(&["metadata", "annotations", key]).filter(|n| !n.is_null()) {
            Some(n) if n.str() == Some(value) => report.unchanged(&field, format!("already {value}")),
            Some(n) => match n.str() {
                Some(v) => report.conflict(&field, format!("kept the chart's value {v:?} (wanted {value:?})")),
                None => report.conflict(&field, "holds something that is not a string; left alone"),
            },
            None => missing.push((key.clone(), value.clone())),
        }
    }
    let fields: Vec<_> = missing.iter().map(|(k, v)| (format!("metadata.annotations.{k}"), v.clone())).collect();
    let written = match res.node.get("metadata") {
        Some(meta) if meta.is_map() => add_entries(edits, meta, "annotations", missing),
        _ => Err("metadata is not a mapping"),
    };
    match written {
        Ok(()) => fields.into_iter().for_each(|(field, value)| report.changed(&field, format!("set to {value}"))),
        Err(why) => report.conflict("metadata.annotations", format!("{why}; left alone")),
    }
}

/// Sets entries of a string map under `parent.key` (annotations, labels), creating the map if
/// needed. Entries whose key already exists are left to the caller, who has reported them.
/// Refuses when `parent.key` holds something that is not a map, or an entry can't be written
/// (the document's check then refuses whatever half was written).
pub fn add_entries(edits: &mut Edits, parent: &Node, key: &str, entries: Vec<(String, String)>) -> Result<(), Refused> {
    match parent.get(key) {
        Some(map) if map.is_map() => entries.into_iter().try_for_each(|(k, v)| edits.put(map, &k, &Json::String(v))),
        Some(other) if !other.is_null() => Err("not a mapping"),
        _ if entries.is_empty() => Ok(()),
        _ => {
            let map = entries.into_iter().map(|(k, v)| (k, Json::String(v))).collect();
            edits.put(parent, key, &Json::Object(map))
        }
    }
}

/// Appends items to the list under `parent.key`, creating the list if it is absent or null.
/// Refuses when `parent.key` holds something that is not a list, or the list's text can't be
/// extended safely.
pub fn add_items(edits: &mut Edits, parent: &Node, key: &str, items: Vec<Json>) -> Result<(), Refused> {
    match parent.get(key) {
        Some(seq) if seq.is_seq() => items.iter().try_for_each(|item| edits.append(seq, item)),
        Some(other) if !other.is_null() => Err("not a list"),
        _ if items.is_empty() => Ok(()),
        _ => edits.put(parent, key, &Json::Array(items)),
    }
}
