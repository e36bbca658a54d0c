//! `--explain`: a per-resource account, on stderr, of every change made and every change
//! skipped and why. Messages carry names, hosts and paths only, never secret values.

use std::fmt::Write;

use crate::patch::{Change, Outcome};

/// The short account every run prints to stderr (unless `--quiet`): one line per resource a
/// patch had to leave alone or that was skipped by annotation, then the counts.
/// Helm shows a post-renderer's stderr only this way: `--explain` is for when you ask.
pub fn warnings(changes: &[Change]) -> String {
    let mut out = String::new();
    let mut lines: Vec<((usize, &crate::resource::ResourceId), Vec<String>)> = Vec::new();
    let mut count = 0;
    for c in changes {
        let what = match c.outcome {
            Outcome::Conflict => "",
            Outcome::Disabled => "skipped: ",
            Outcome::Changed | Outcome::Unchanged | Outcome::Notice | Outcome::Unprotected => continue,
        };
        count += 1;
        let field = if c.field.is_empty() { String::new() } else { format!("{}: ", c.field) };
        let text = format!("{what}{}: {field}{}", c.patch, c.message);
        let key = (c.document, &c.resource);
        match lines.iter_mut().find(|(k, _)| *k == key) {
            Some((_, texts)) => texts.push(text),
            None => lines.push((key, vec![text])),
        }
    }
    let outside: Vec<&Change> =
        changes.iter().filter(|c| c.outcome == Outcome::Notice && c.patch == crate::policy::POLICY).collect();
    if !outside.is_empty() {
        let _ = writeln!(
            out,
            "maia-krm: note: {} resource(s) outside the workspace (other namespaces, cluster-scoped kinds): \
             --explain lists them; a group's own render (--tenant) may hold none",
            outside.len()
        );
    }
    if count == 0 {
        return out;
    }
    for ((document, resource), texts) in &lines {
        let _ = writeln!(out, "maia-krm: warning: document {document}: {resource}: {}", texts.join("; "));
    }
    let _ = writeln!(
        out,
        "maia-krm: {count} warning(s) on {} resource(s); --explain for the full report, --quiet for none",
        lines.len()
    );
    out
}

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
            Outcome::Unprotected => "REFUSED",
        };
        let field = if c.field.is_empty() { String::new() } else { format!("{}: ", c.field) };
        let _ = writeln!(out, "  {what:<8} {:<13} {field}{}", c.patch, c.message);
    }
    out
}
