//! Properties over generated manifests in the styles charts really use (block and flow lists,
//! indented or flush `-`, null lists, comments, CRLF, YAML-1.1-sensitive values):
//! - the output parses and a second run leaves it byte-identical;
//! - with the fields maia-krm manages removed, every document means what it meant before;
//! - documents no patch touches come out byte for byte.

use maia_krm::config::Config;
use maia_krm::pipeline;
use maia_krm::stream::{self, Limits, scalar::to_json, tree};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

fn config() -> Config {
    let data = json!({
        "group_ID": "Demo_Group", "domain": "maia.example.com", "oauth_url": "demo-group.maia.example.com",
        "nginx_cluster_issuer": "ci", "traefik_resolver": "le", "ingress_class": "nginx", "middleware": "always",
    });
    Config::from_data(data.as_object().unwrap()).unwrap()
}

/// Values that a YAML 1.1 reader and a naive writer disagree about, written as charts write them.
fn tricky_scalar() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "\"on\"",
        "on",
        "\"yes\"",
        "y",
        "0755",
        "'0644'",
        "\"1.10\"",
        "1.10",
        "~",
        "\"\"",
        "plain",
        "'it''s'",
        "\"a: b\"",
        "\"{{ x }}\"",
    ])
}

#[derive(Debug, Clone)]
struct Style {
    indent: usize,
    flush_dashes: bool,
    crlf: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (prop::sample::select(vec![2usize, 4]), any::<bool>(), any::<bool>())
        .prop_map(|(indent, flush_dashes, crlf)| Style { indent, flush_dashes, crlf })
}

/// A list under `key` at `depth`, in one of the shapes charts emit: absent, null, empty flow,
/// flow with items, or block with items.
fn list(key: &str, items: &[String], shape: u8, depth: usize, s: &Style) -> String {
    let pad = " ".repeat(depth * s.indent);
    let dash_pad = if s.flush_dashes { pad.clone() } else { " ".repeat((depth + 1) * s.indent) };
    match (shape % 5, items.is_empty()) {
        (0, _) => String::new(),
        (1, _) => format!("{pad}{key}: null\n"),
        (2, _) | (3, true) | (4, true) => format!("{pad}{key}: []\n"),
        (3, false) => format!("{pad}{key}: [{}]\n", items.join(", ")),
        _ => format!("{pad}{key}:\n{}", items.iter().map(|i| format!("{dash_pad}- {i}\n")).collect::<String>()),
    }
}

fn deployment(s: &Style, containers: usize, shapes: (u8, u8, u8), value: &str, comment: bool) -> String {
    let p = |d: usize| " ".repeat(d * s.indent);
    let mut text = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n{}name: app # the app\n", p(1));
    text += &format!("spec:\n{}template:\n{}spec:\n", p(1), p(2));
    if comment {
        text += &format!("{}# containers follow\n", p(3));
    }
    text += &format!("{}containers:\n", p(3));
    let dash = if s.flush_dashes { p(3) } else { p(4) };
    for c in 0..containers {
        text += &format!("{dash}- name: c{c}\n{dash}  image: busybox\n{dash}  env: [{{name: V, value: {value}}}]\n");
        text += &list("volumeMounts", &["{name: data, mountPath: /data}".into()], shapes.0, 0, s)
            .lines()
            .map(|l| format!("{dash}  {l}\n"))
            .collect::<String>();
        // A block literal last in the container: the next line is less indented, where the
        // parser's end marker for the literal lies past that line's indentation.
        text += &format!("{dash}  args:\n{dash}  - |\n{dash}    echo {value}\n");
    }
    text += &list(
        "volumes",
        &["{name: data, emptyDir: {}}".into(), "{name: cfg, configMap: {name: c, defaultMode: 0755}}".into()],
        shapes.1,
        3,
        s,
    );
    text += &list("imagePullSecrets", &["{name: other}".into()], shapes.2, 3, s);
    text
}

fn ingress(s: &Style, host: &str, tls_shape: u8, value: &str) -> String {
    let p = |d: usize| " ".repeat(d * s.indent);
    let mut text = format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n{}name: web\n{}annotations:\n{}x: {value}\n",
        p(1),
        p(1),
        p(2)
    );
    text += &format!("spec:\n{}rules:\n{}- host: {host}\n{}  http: {{paths: []}}\n", p(1), p(1), p(1));
    text += &list("tls", &[format!("{{hosts: [{host}], secretName: web-tls}}")], tls_shape, 1, s);
    text
}

fn configmap(s: &Style, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n{}name: cm\ndata:\n{}k: {value}\n{}script: |\n{}echo 0755\n",
        " ".repeat(s.indent),
        " ".repeat(s.indent),
        " ".repeat(s.indent),
        " ".repeat(2 * s.indent)
    )
}

fn manifest() -> impl Strategy<Value = String> {
    (
        style(),
        0usize..3,
        any::<(u8, u8, u8)>(),
        tricky_scalar(),
        any::<bool>(),
        prop::sample::select(vec!["demo-group.maia.example.com", "chart-example.local", "\"\""]),
        any::<u8>(),
    )
        .prop_map(|(s, containers, shapes, value, comment, host, tls_shape)| {
            let docs = [
                configmap(&s, value),
                deployment(&s, containers, shapes, value, comment),
                ingress(&s, host, tls_shape, value),
            ];
            let text = format!("---\n# Source: chart/templates/a.yaml\n{}", docs.join("---\n"));
            if s.crlf { text.replace('\n', "\r\n") } else { text }
        })
}

fn run(text: &str) -> String {
    let out = pipeline::run(text, Some(Ok(config())), 1).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut bytes = Vec::new();
    stream::write(&mut bytes, &out.documents, &out.new_documents).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn documents(text: &str) -> Vec<(String, Json)> {
    stream::documents(text)
        .iter()
        .map(|d| {
            (d.text.to_string(), tree::parse(d.text, &Limits::default()).unwrap().map_or(Json::Null, |n| to_json(&n)))
        })
        .collect()
}

/// The document with every field maia-krm may set taken out.
fn without_managed_fields(mut doc: Json) -> Json {
    let pod_spec = match doc["kind"].as_str() {
        Some("Deployment") => Some("/spec/template/spec"),
        _ => None,
    };
    if let Some(spec) = pod_spec.and_then(|p| doc.pointer_mut(p)).and_then(Json::as_object_mut) {
        spec.remove("imagePullSecrets");
        spec.remove("volumes");
        for c in spec.get_mut("containers").and_then(Json::as_array_mut).into_iter().flatten() {
            c.as_object_mut().map(|c| c.remove("volumeMounts"));
        }
    }
    if doc["kind"] == "Ingress" {
        if let Some(spec) = doc.pointer_mut("/spec").and_then(Json::as_object_mut) {
            spec.remove("tls");
            spec.remove("ingressClassName");
            for r in spec.get_mut("rules").and_then(Json::as_array_mut).into_iter().flatten() {
                r.as_object_mut().map(|r| r.remove("host"));
            }
        }
        if let Some(a) = doc.pointer_mut("/metadata/annotations").and_then(Json::as_object_mut) {
            a.retain(|k, _| k == "x");
        }
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn idempotent_and_faithful_outside_managed_fields(text in manifest()) {
        let once = run(&text);
        let twice = run(&once);
        prop_assert_eq!(&twice, &once, "a second run changed the output");
        let (before, after) = (documents(&text), documents(&once));
        prop_assert_eq!(after.len(), before.len() + 1, "one Middleware added after the input");
        for ((t_in, d_in), (t_out, d_out)) in before.iter().zip(&after) {
            prop_assert_eq!(without_managed_fields(d_out.clone()), without_managed_fields(d_in.clone()));
            if d_in["kind"] == "ConfigMap" {
                prop_assert_eq!(t_out, t_in, "an untouched document changed");
            }
        }
    }
}
