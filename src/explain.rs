//! `--explain`: a per-resource account, on stderr, of every change made and every change
//! skipped and why. Messages carry names, hosts and paths only, never secret values.

use std::fmt::Write;

use crate::patch::{Change, Outcome};

/// Renders changes grouped by document and resource, in stream order.
pub fn render(changes: &[Change]) -> String {
    let mut out = String::new();
    let mut current = None;
    for c in changes {
        let key = (c.document, &c.resource);
        if current != Some(key) {
            let _ = writeln!(out, "document {}: {}", c.document, c.resource);
            current = Some(key);
        }
        let what = match c.outcome {
            Outcome::Changed => "changed",
            Outcome::Unchanged => "kept",
            Outcome::Conflict => "CONFLICT",
            Outcome::Disabled => "disabled",
            Outcome::Notice => "note",
        };
        let field = if c.field.is_empty() { String::new() } else { format!("{}: ", c.field) };
        let _ = writeln!(out, "  {what:<8} {:<13} {field}{}", c.patch, c.message);
    }
    out
}
