//! `--diff`: a run's changes as a unified diff per changed document, headed by the chart file it
//! came from (Helm 3's `# Source:`, Helm 4's filename annotation) and its resource, so a
//! pull-request comment says where each change lands. Added documents diff against /dev/null.

use std::borrow::Cow;

use similar::TextDiff;

use crate::patch::{Change, Outcome};
use crate::pipeline::Transformed;
use crate::resource::ResourceId;
use crate::stream;

/// The diff of `input` against what the run made of it; empty when nothing changed.
pub fn unified(input: &str, out: &Transformed) -> String {
    let docs = stream::documents(input);
    let mut text = String::new();
    let last = out.documents.len().saturating_sub(1);
    for (i, (doc, new)) in docs.iter().zip(&out.documents).enumerate() {
        // Added documents need the last one to end its line (`stream::write` adds the break).
        let new: Cow<str> = match new.as_ref() {
            n if i == last && !out.new_documents.is_empty() && !n.is_empty() && !n.ends_with('\n') => {
                Cow::Owned(format!("{n}\n"))
            }
            n => Cow::Borrowed(n),
        };
        if doc.text == new {
            continue;
        }
        let name = doc.file().map_or_else(|| format!("document {}", doc.index), str::to_string);
        let what = changed_resources(&out.changes, doc.index);
        push_diff(&mut text, doc.text, &new, &format!("a/{name}{what}"), &format!("b/{name}{what}"));
    }
    let added = out.changes.iter().filter(|c| c.document == docs.len() + 1 && c.outcome == Outcome::Changed);
    for (new, change) in out.new_documents.iter().zip(added) {
        push_diff(&mut text, "", new, "/dev/null", &format!("b/(added) {}", change.resource));
    }
    text
}

/// ` (Kind ns/name, …)`: the resources of a document that changed.
fn changed_resources(changes: &[Change], document: usize) -> String {
    let mut ids: Vec<&ResourceId> = Vec::new();
    for c in changes.iter().filter(|c| c.document == document && c.outcome == Outcome::Changed) {
        if !ids.contains(&&c.resource) {
            ids.push(&c.resource);
        }
    }
    if ids.is_empty() {
        return String::new();
    }
    format!(" ({})", ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(", "))
}

fn push_diff(out: &mut String, old: &str, new: &str, from: &str, to: &str) {
    let diff = TextDiff::from_lines(old, new);
    out.push_str(&diff.unified_diff().context_radius(3).header(from, to).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline;
    use crate::testutil::config;

    #[test]
    fn each_changed_document_is_headed_by_its_file_and_resource() {
        let input = "# Source: app/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
        let out = pipeline::run(input, Some(Ok(config(&[]))), 1).unwrap();
        let diff = unified(input, &out);
        assert_eq!(
            diff,
            "--- a/app/templates/sa.yaml (ServiceAccount app)\n+++ b/app/templates/sa.yaml (ServiceAccount app)\n\
             @@ -3,3 +3,5 @@\n kind: ServiceAccount\n metadata:\n   name: app\n+imagePullSecrets:\n+  - name: maia-docker-registry-secret\n"
        );
        let output = out.documents.concat();
        let again = pipeline::run(&output, Some(Ok(config(&[]))), 1).unwrap();
        assert_eq!(unified(&output, &again), "", "nothing left to change");
    }

    #[test]
    fn the_line_break_before_an_added_document_is_in_the_diff() {
        let cfg = config(&[("gateway", "{name: g}"), ("gateway_auth", "envoy-gateway")]);
        let input = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: web}\nspec:\n  hostnames: [demo-group.maia.example.com]\n  parentRefs: [{name: g}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]";
        let out = pipeline::run(input, Some(Ok(cfg)), 1).unwrap();
        let diff = unified(input, &out);
        assert!(diff.starts_with("--- a/document 1\n+++ b/document 1\n"), "{diff}");
        assert!(
            diff.contains("\\ No newline at end of file\n+  rules: [{backendRefs: [{name: web, port: 80}]}]\n"),
            "{diff}"
        );
        assert!(diff.contains("--- /dev/null\n+++ b/(added) SecurityPolicy web-oauth2-proxy-auth\n"), "{diff}");
    }
}
