//! Properties over generated manifests in the styles charts really use, and in the shapes where
//! splicing text is hard: flush/indented dashes, a dash alone on its line, null/empty/no-value/
//! flow/block lists, `!!seq`/`!!map`/`!!str` tags before edited nodes, flow collections with
//! trailing commas, spread over lines or holding only a comment, explicit `? ` keys, block
//! scalars (indentation indicators, keep/strip chomping) as the last value before an insertion
//! point, comments between items and after values, CRLF, a UTF-8 BOM, a last document without a
//! final newline, YAML-1.1-sensitive scalars, and an annotation maia-krm appends to whose value is
//! a mapping. For every generated stream:
//! - the output is read by an independent reader (libyaml, via `serde_norway`), and a second run
//!   leaves it byte-identical;
//! - every output document is its input byte for byte, or reads as the input plus only the
//!   fields maia-krm manages (appended list items, new annotations, Ingress hosts and TLS);
//! - documents no patch touches (the ConfigMap) come out byte for byte.
//!
//! The reader: `serde_norway` is built on `unsafe-libyaml-norway`, a port of libyaml (the
//! ancestor of Go's yaml.v3, which Helm 4 and kubectl use) that its author maintains as his own
//! upstream; `serde_yaml_ng` still sits on dtolnay's `unsafe-libyaml`, archived with serde_yaml.
//! saphyr-parser (maia-krm's parser) is a fork of yaml-rust2, so neither of those would be an
//! independent reader. libyaml types scalars by YAML 1.2-ish rules (`0755` is a string); both input
//! and output go through the same reader, so that cancels out. One limit: `serde_norway::from_str`
//! refuses a BOM followed by `---` (yaml.v3 reads it), so the BOM is checked byte-wise and taken
//! off before reading.
//!
//! With `YAMLV3=path/to/target/go/yamlv3` (see tests/differential/README.md) every generated input
//! must also be read by Go yaml.v3 (the generator makes only valid YAML) and so must every output.
//! With `PROPS_STRICT_CHECK=1`, a resource that maia-krm's own fail-closed check left alone (which it
//! asks users to report) fails the property too.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use maia_krm::config::Config;
use maia_krm::pipeline;
use maia_krm::stream;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

fn config() -> Config {
    let data = json!({
        "group_ID": "Demo_Group", "domain": "maia.example.com", "oauth_url": "demo-group.maia.example.com",
        "nginx_cluster_issuer": "ci", "traefik_resolver": "le", "ingress_class": "nginx", "middleware": "always",
    });
    Config::from_data(data.as_object().unwrap()).unwrap()
}

const WORKSPACE_HOST: &str = "demo-group.maia.example.com";
const MIDDLEWARES: &str = "traefik.ingress.kubernetes.io/router.middlewares";
const MIDDLEWARE_REF: &str = "demo-group-oauth2-proxy-auth@kubernetescrd";

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
    bom: bool,
    leading_separator: bool,
    final_newline: bool,
    /// Which document comes last in the stream (the one that may lack a final newline).
    rotate: usize,
}

fn style() -> impl Strategy<Value = Style> {
    (prop::sample::select(vec![2usize, 4]), any::<bool>(), any::<bool>(), any::<[bool; 3]>(), 0usize..4).prop_map(
        |(indent, flush_dashes, crlf, [bom, leading_separator, final_newline], rotate)| Style {
            indent,
            flush_dashes,
            crlf,
            bom,
            leading_separator,
            final_newline,
            rotate,
        },
    )
}

/// A block mapping's entries, each value written in flow or plain style.
type Item = Vec<(&'static str, &'static str)>;

fn flow_item(item: &Item) -> String {
    format!("{{{}}}", item.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
}

/// One block sequence item at `dash_pad`: `- {a: b}`, `- a: b` / `  c: d`, a dash alone on its
/// line with the mapping below, or a dash followed by a comment.
fn block_item(item: &Item, dash_pad: &str, dash: u8) -> String {
    let entries = |first: &str| {
        item.iter()
            .enumerate()
            .map(|(n, (k, v))| {
                format!("{}{k}: {v}\n", if n == 0 { first.to_string() } else { format!("{dash_pad}  ") })
            })
            .collect::<String>()
    };
    match dash % 4 {
        0 => format!("{dash_pad}- {}\n", flow_item(item)),
        1 => entries(&format!("{dash_pad}- ")),
        2 => format!("{dash_pad}-\n{}", entries(&format!("{dash_pad}  "))),
        _ => format!("{dash_pad}- # item\n{}", entries(&format!("{dash_pad}  "))),
    }
}

/// A list under `key` at `pad`, in one of the shapes charts (or yaml.v3 re-serialising them) emit.
fn list(key: &str, items: &[Item], shape: u8, dash: u8, pad: &str, s: &Style) -> String {
    let dash_pad = if s.flush_dashes { pad.to_string() } else { format!("{pad}{}", " ".repeat(s.indent)) };
    let inner = format!("{pad}{}", " ".repeat(s.indent));
    let flow = items.iter().map(flow_item).collect::<Vec<_>>();
    let block = |d: u8| items.iter().map(|i| block_item(i, &dash_pad, d)).collect::<String>();
    match (shape % 14, items.is_empty()) {
        (0, _) => String::new(),
        (1, _) => format!("{pad}{key}: null\n"),
        (2, _) | (3, true) | (4, true) | (8, true) | (12, true) => format!("{pad}{key}: []\n"),
        (3, false) => format!("{pad}{key}: [{}]\n", flow.join(", ")),
        (4, false) => format!("{pad}{key}:\n{}", block(dash)),
        // A key with no value: the shape that once produced invalid YAML when it was last.
        (5, _) => format!("{pad}{key}:\n"),
        (6, true) => format!("{pad}{key}: !!seq []\n"),
        (6, false) => format!("{pad}{key}: !!seq\n{}", block(dash)),
        (7, _) => format!("{pad}{key}: !!seq [{}]\n", flow.join(", ")),
        (8, false) => format!("{pad}{key}: [{},]\n", flow.join(", ")),
        // Spread over lines, the closing bracket back at the key's column.
        (9, _) => {
            format!("{pad}{key}: [\n{}{pad}]\n", flow.iter().map(|f| format!("{inner}{f},\n")).collect::<String>())
        }
        (10, _) => format!(
            "{pad}{key}: [\n{inner}# items\n{}{pad}]\n",
            flow.iter().map(|f| format!("{inner}{f}, # one\n")).collect::<String>()
        ),
        (11, _) => format!("{pad}? {key}\n{pad}: [{}]\n", flow.join(", ")),
        (12, false) => format!(
            "{pad}{key}: # the list\n{}",
            items
                .iter()
                .map(|i| format!("{dash_pad}# before an item\n{}", block_item(i, &dash_pad, dash)))
                .collect::<String>()
        ),
        _ => format!(
            "{pad}{key}: !!seq [\n{}{pad}]\n",
            flow.iter().map(|f| format!("{inner}{f},\n")).collect::<String>()
        ),
    }
}

/// A block scalar as the value of `key` at `pad`: indentation indicators, keep/strip/clip
/// chomping, literal and folded. maia-krm inserts lines right after these.
fn block_scalar(key: &str, pad: &str, variant: u8, s: &Style) -> String {
    let body = format!("{pad}{}", " ".repeat(s.indent));
    let two = format!("{pad}  "); // an indentation indicator counts from the key's column
    match variant % 7 {
        0 => format!("{pad}{key}: |\n{body}echo 0755\n"),
        1 => format!("{pad}{key}: |-\n{body}echo on\n{body}  indented\n"),
        2 => format!("{pad}{key}: |+\n{body}keep\n\n\n"),
        3 => format!("{pad}{key}: >-\n{body}folded\n{body}text\n"),
        4 => format!("{pad}{key}: |2-\n{two}  starts with spaces\n{two}x\n"),
        5 => format!("{pad}{key}: >2+\n{two}  kept\n{two}y\n\n"),
        _ => format!("{pad}{key}: |4\n{pad}      six\n{pad}    four\n"),
    }
}

#[derive(Debug, Clone)]
struct PodShapes {
    containers: usize,
    mounts: (u8, u8),
    volumes: (u8, u8),
    secrets: (u8, u8),
    secrets_first: bool,
    container_dash: u8,
    /// The last value of each container: 0 args with a literal item (as before), else a block scalar.
    container_tail: u8,
    /// A block scalar as the last value of the pod spec before volumes/imagePullSecrets (0: none).
    pod_tail: u8,
    comment: bool,
}

fn pod_shapes() -> impl Strategy<Value = PodShapes> {
    (0usize..3, any::<[(u8, u8); 3]>(), any::<bool>(), any::<(u8, u8, u8)>(), any::<bool>()).prop_map(
        |(
            containers,
            [mounts, volumes, secrets],
            secrets_first,
            (container_dash, container_tail, pod_tail),
            comment,
        )| {
            PodShapes {
                containers,
                mounts,
                volumes,
                secrets,
                secrets_first,
                container_dash,
                container_tail,
                pod_tail,
                comment,
            }
        },
    )
}

fn deployment(s: &Style, k: &PodShapes, value: &str) -> String {
    let p = |d: usize| " ".repeat(d * s.indent);
    let mut text = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n{}name: app # the app\n", p(1));
    text += &format!("spec:\n{}template:\n{}spec:\n", p(1), p(2));
    if k.comment {
        text += &format!("{}# containers follow\n", p(3));
    }
    text += &format!("{}containers:\n", p(3));
    let dash = if s.flush_dashes { p(3) } else { p(4) };
    let key = format!("{dash}  ");
    for c in 0..k.containers {
        text += &match k.container_dash % 3 {
            0 => format!("{dash}- name: c{c}\n"),
            1 => format!("{dash}-\n{key}name: c{c}\n"),
            _ => format!("{dash}- # container {c}\n{key}name: c{c}\n"),
        };
        text += &format!("{key}image: busybox # pinned\n{key}env: [{{name: V, value: {value}}}]\n");
        text += &list(
            "volumeMounts",
            &[vec![("name", "data"), ("mountPath", "/data")]],
            k.mounts.0,
            k.mounts.1,
            &key,
            &Style { flush_dashes: true, ..s.clone() },
        );
        // A block scalar last in the container: the next line is less indented, and maia-krm
        // inserts `volumeMounts` right after it.
        text += &match k.container_tail % 8 {
            0 => format!("{key}args:\n{key}- |\n{key}  echo {value}\n"),
            v => block_scalar("script", &key, v - 1, s),
        };
    }
    if !k.pod_tail.is_multiple_of(8) {
        text += &block_scalar("subdomain", &p(3), k.pod_tail % 8 - 1, s);
    }
    let volumes = list(
        "volumes",
        &[
            vec![("name", "data"), ("emptyDir", "{}")],
            vec![("name", "cfg"), ("configMap", "{name: c, defaultMode: 0755}")],
        ],
        k.volumes.0,
        k.volumes.1,
        &p(3),
        s,
    );
    let secrets = list("imagePullSecrets", &[vec![("name", "other")]], k.secrets.0, k.secrets.1, &p(3), s);
    text += &if k.secrets_first { secrets + &volumes } else { volumes + &secrets };
    text
}

#[derive(Debug, Clone)]
struct IngressShapes {
    host: u8,
    annotations: u8,
    middlewares: u8,
    tail: u8,
    rule_dash: bool,
    tls: (u8, u8),
}

fn ingress_shapes() -> impl Strategy<Value = IngressShapes> {
    (any::<(u8, u8, u8, u8)>(), any::<bool>(), any::<(u8, u8)>()).prop_map(
        |((host, annotations, middlewares, tail), rule_dash, tls)| IngressShapes {
            host,
            annotations,
            middlewares,
            tail,
            rule_dash,
            tls,
        },
    )
}

fn ingress(s: &Style, k: &IngressShapes, value: &str) -> String {
    let p = |d: usize| " ".repeat(d * s.indent);
    let rule_key = format!("{}  ", p(1));
    let host_value = match k.host % 7 {
        0 => WORKSPACE_HOST.to_string(),
        1 => "chart-example.local".into(),
        2 => "\"\"".into(),
        3 => "!!str \"x.example.org\"".into(),
        4 => format!(">-\n{rule_key}  x.example.org"),
        5 => format!("|-\n{rule_key}  x.example.org"),
        _ => "!!str app.maia.example.com # in the domain".into(),
    };
    let host = if k.host % 7 == 4 || k.host % 7 == 5 { "x.example.org" } else { "h.example.org" };
    // Annotation entries: `x`, perhaps the Traefik middlewares maia-krm appends to, perhaps a
    // block scalar last (maia-krm inserts new annotations after it).
    let a = p(2);
    let mut entries = vec![(format!("{a}x: {value}\n"), format!("x: {value}"))];
    match k.middlewares % 6 {
        0 => {}
        1 => entries
            .push((format!("{a}{MIDDLEWARES}: ns-a@kubernetescrd\n"), format!("{MIDDLEWARES}: ns-a@kubernetescrd"))),
        2 => entries.push((
            format!("{a}{MIDDLEWARES}: >-\n{a}{}ns-a@kubernetescrd\n", " ".repeat(s.indent)),
            format!("{MIDDLEWARES}: \"ns-a@kubernetescrd\""),
        )),
        3 => entries.push((
            format!("{a}{MIDDLEWARES}: !!str ns-a@kubernetescrd\n"),
            format!("{MIDDLEWARES}: !!str ns-a@kubernetescrd"),
        )),
        // A mapping where a string is expected: maia-krm must not overwrite it.
        4 => entries.push((format!("{a}{MIDDLEWARES}: {{a: b}}\n"), format!("{MIDDLEWARES}: {{a: b}}"))),
        _ => entries.push((
            format!("{a}{MIDDLEWARES}:\n{a}{}a: b\n", " ".repeat(s.indent)),
            format!("{MIDDLEWARES}: {{a: b}}"),
        )),
    }
    let tail = !k.tail.is_multiple_of(8);
    let block_entries = |with_tail: bool| {
        let mut t = entries.iter().map(|(b, _)| b.clone()).collect::<String>();
        if with_tail {
            t += &block_scalar("description", &a, k.tail % 8 - 1, s);
        }
        t
    };
    let flow = entries.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>().join(", ");
    let annotations = match k.annotations % 9 {
        0 => String::new(),
        1 => format!("{}annotations:\n", p(1)),
        2 => format!("{}annotations: {{}}\n", p(1)),
        3 => format!("{}annotations: !!map\n{}", p(1), block_entries(tail)),
        4 => format!("{}annotations: {{{flow},}}\n", p(1)),
        5 => format!("{}annotations: {{\n{a}# no annotations yet\n{}}}\n", p(1), p(1)),
        6 => format!("{}annotations: null\n", p(1)),
        7 => format!("{}annotations: {{\n{a}{flow}\n{}}}\n", p(1), p(1)),
        _ => format!("{}annotations: # chart annotations\n{}", p(1), block_entries(tail)),
    };
    let mut text =
        format!("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n{}name: web\n{annotations}", p(1));
    text += &format!("spec:\n{}rules:\n", p(1));
    text += &if k.rule_dash {
        format!("{}-\n{rule_key}host: {host_value}\n", p(1))
    } else {
        format!("{}- host: {host_value}\n", p(1))
    };
    text += &format!("{rule_key}http: {{paths: []}}\n");
    let tls_hosts = format!("[{host}]");
    text += &list("tls", &[vec![("hosts", tls_hosts.leak()), ("secretName", "web-tls")]], k.tls.0, k.tls.1, &p(1), s);
    text
}

fn service_account(s: &Style, secrets: (u8, u8)) -> String {
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n{}name: sa\n{}",
        " ".repeat(s.indent),
        list("imagePullSecrets", &[vec![("name", "other")]], secrets.0, secrets.1, "", s)
    )
}

fn configmap(s: &Style, value: &str, tail: u8) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n{}name: cm\ndata:\n{}k: {value}\n{}",
        " ".repeat(s.indent),
        " ".repeat(s.indent),
        block_scalar("script", &" ".repeat(s.indent), tail, s)
    )
}

#[derive(Debug, Clone)]
struct Manifest {
    text: String,
    /// Each input document's text, in stream order, and whether it is the ConfigMap.
    docs: Vec<(String, bool)>,
}

fn manifest() -> impl Strategy<Value = Manifest> {
    (style(), pod_shapes(), ingress_shapes(), tricky_scalar(), any::<(u8, (u8, u8))>()).prop_map(
        |(s, pod, ing, value, (cm_tail, sa_secrets))| {
            let mut docs = vec![
                (format!("# Source: chart/templates/a.yaml\n{}", configmap(&s, value, cm_tail)), true),
                (deployment(&s, &pod, value), false),
                (ingress(&s, &ing, value), false),
                (service_account(&s, sa_secrets), false),
            ];
            docs.rotate_left(s.rotate);
            let nl = |t: &str| if s.crlf { t.replace('\n', "\r\n") } else { t.to_string() };
            let mut docs: Vec<(String, bool)> = docs.into_iter().map(|(t, cm)| (nl(&t), cm)).collect();
            if !s.final_newline {
                let last = &mut docs.last_mut().unwrap().0;
                let trimmed = last.trim_end_matches(['\r', '\n']).len();
                // Keep-chomped block scalars keep their blank lines but the last one.
                let cut = if last.ends_with("\r\n") { last.len() - 2 } else { last.len() - 1 };
                last.truncate(cut.max(trimmed));
            }
            let sep = nl("---\n");
            let mut text = if s.bom { "\u{feff}".to_string() } else { String::new() };
            if s.leading_separator {
                text += &sep;
            }
            text += &docs.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(&sep);
            Manifest { text, docs }
        },
    )
}

struct Run {
    text: String,
    /// Resources maia-krm's fail-closed check left alone.
    check_failures: Vec<String>,
}

fn run(text: &str) -> Run {
    let out = pipeline::run(text, Some(Ok(config())), 1).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut bytes = Vec::new();
    stream::write(&mut bytes, &out.documents, &out.new_documents).unwrap();
    let check_failures = out
        .changes
        .iter()
        .filter(|c| c.patch == pipeline::CHECK)
        .map(|c| format!("{} {}: {}", c.resource.kind, c.resource.name, c.message))
        .collect();
    Run { text: String::from_utf8(bytes).unwrap(), check_failures }
}

/// The stream cut at its `---` lines (our generator writes no other document markers); the first
/// piece is what precedes the first marker (empty, a BOM, or the first document).
fn split(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "---" {
            pieces.push(&text[start..at]);
            start = at + line.len();
        }
        at += line.len();
    }
    pieces.push(&text[start..]);
    pieces
}

fn to_json(v: serde_norway::Value) -> Json {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Json::Null,
        Y::Bool(b) => Json::Bool(b),
        Y::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => json!(i),
            (_, Some(u), _) => json!(u),
            (_, _, Some(f)) if f.is_finite() => json!(f),
            _ => json!(format!("number {n}")),
        },
        Y::String(s) => Json::String(s),
        Y::Sequence(items) => Json::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => format!("key {}", serde_norway::to_string(&other).unwrap().trim_end()),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => json!({ format!("tag {}", t.tag): to_json(t.value) }),
    }
}

/// One document, read by libyaml. A BOM is checked byte-wise by the caller and taken off here.
fn read(doc: &str) -> Result<Json, String> {
    serde_norway::from_str::<serde_norway::Value>(doc.trim_start_matches('\u{feff}'))
        .map(to_json)
        .map_err(|e| format!("libyaml refuses it: {e}"))
}

/// The whole stream, read by libyaml as one stream of documents (stops at the first error: the
/// iterator would otherwise repeat it forever).
fn read_stream(text: &str) -> Result<usize, String> {
    let mut n = 0;
    for de in serde_norway::Deserializer::from_str(text.trim_start_matches('\u{feff}')) {
        serde_norway::Value::deserialize(de).map_err(|e| format!("libyaml refuses the stream: {e}"))?;
        n += 1;
    }
    Ok(n)
}

/// Takes off what maia-krm may have appended to the list `key` of `out` (items equal to one in
/// `added`), so that it reads like the same list of `input`; an absent or null input list may
/// have become a list of only added items.
fn strip_appended(out: &mut Json, input: &Json, key: &str, added: &[Json]) -> Result<(), String> {
    let (Some(o), i) = (out.as_object_mut(), input.get(key)) else { return Ok(()) };
    let Some(list) = o.get(key) else { return Ok(()) };
    if Some(list) == i {
        return Ok(());
    }
    let before: &[Json] = match i {
        None | Some(Json::Null) => &[],
        Some(Json::Array(a)) => a,
        Some(other) => return Err(format!("{key}: {other} became {list}")),
    };
    let after = list.as_array().ok_or_else(|| format!("{key}: became {list}"))?;
    if !after.starts_with(before) || !after[before.len()..].iter().all(|x| added.contains(x)) {
        return Err(format!("{key}: {} became {list}: only appending {added:?} is allowed", json!(before)));
    }
    match i {
        Some(i) => o.insert(key.into(), i.clone()),
        None => o.remove(key),
    };
    Ok(())
}

/// The output document with every addition maia-krm may make taken out, checked on the way:
/// lists only grow by the shared volume, its mount and the pull secret; annotations only gain
/// managed keys, and the middlewares list only gains our reference; an Ingress host becomes the
/// workspace host; `spec.tls` is managed (left out of both); a class is only added.
fn without_managed_fields(input: &Json, output: &Json) -> Result<(Json, Json), String> {
    let (mut input, mut out) = (input.clone(), output.clone());
    let secret = json!({"name": "maia-docker-registry-secret"});
    let volume = json!({"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}});
    let mount = json!({"name": "shared", "mountPath": "/home/maia-user/shared"});
    match input["kind"].as_str() {
        Some("Deployment") => {
            let (Some(i), Some(o)) = (input.pointer("/spec/template/spec"), out.pointer_mut("/spec/template/spec"))
            else {
                return Ok((input, out));
            };
            strip_appended(o, i, "imagePullSecrets", std::slice::from_ref(&secret))?;
            strip_appended(o, i, "volumes", std::slice::from_ref(&volume))?;
            let containers_in = i.get("containers").and_then(Json::as_array).cloned().unwrap_or_default();
            for (n, c) in o.get_mut("containers").and_then(Json::as_array_mut).into_iter().flatten().enumerate() {
                if let Some(ci) = containers_in.get(n) {
                    strip_appended(c, ci, "volumeMounts", std::slice::from_ref(&mount))?;
                }
            }
        }
        Some("ServiceAccount") => strip_appended(&mut out, &input.clone(), "imagePullSecrets", &[secret])?,
        Some("Ingress") => {
            for doc in [&mut input, &mut out] {
                if let Some(spec) = doc.pointer_mut("/spec").and_then(Json::as_object_mut) {
                    spec.remove("tls");
                }
            }
            let class_in = input.pointer("/spec/ingressClassName").is_some();
            let rules_in = input.pointer("/spec/rules").and_then(Json::as_array).cloned().unwrap_or_default();
            if let Some(spec) = out.pointer_mut("/spec").and_then(Json::as_object_mut) {
                if !class_in {
                    spec.remove("ingressClassName");
                }
                for (n, r) in spec.get_mut("rules").and_then(Json::as_array_mut).into_iter().flatten().enumerate() {
                    let was = rules_in.get(n).and_then(|r| r.get("host"));
                    if let (Some(r), Some(was)) = (r.as_object_mut(), was)
                        && r.get("host").is_some_and(|h| h != was && *h == json!(WORKSPACE_HOST))
                    {
                        r.insert("host".into(), was.clone());
                    }
                }
            }
            let ann_in = input.pointer("/metadata/annotations").cloned();
            let empty = Map::new();
            let before = ann_in.as_ref().and_then(Json::as_object).unwrap_or(&empty);
            if let Some(ann) = out.pointer_mut("/metadata/annotations").and_then(Json::as_object_mut) {
                let managed = |k: &str| {
                    k == "cert-manager.io/cluster-issuer"
                        || k.starts_with("traefik.ingress.kubernetes.io/router.")
                        || k.starts_with("nginx.ingress.kubernetes.io/auth-")
                };
                ann.retain(|k, _| before.contains_key(k) || !managed(k));
                if let (Some(Json::String(now)), Some(Json::String(was))) =
                    (ann.get(MIDDLEWARES), before.get(MIDDLEWARES))
                    && (*now == format!("{MIDDLEWARE_REF},{was}") || (was.trim().is_empty() && now == MIDDLEWARE_REF))
                {
                    ann.insert(MIDDLEWARES.into(), Json::String(was.clone()));
                }
                if ann.is_empty() && ann_in.as_ref().is_none_or(Json::is_null) {
                    let meta = out.pointer_mut("/metadata").and_then(Json::as_object_mut).unwrap();
                    match &ann_in {
                        Some(v) => meta.insert("annotations".into(), v.clone()),
                        None => meta.remove("annotations"),
                    };
                }
            }
        }
        _ => {}
    }
    Ok((input, out))
}

/// A running `yamlv3 batch` process: its handle, its input and its answers.
type Checker = (Child, ChildStdin, BufReader<ChildStdout>);

/// Go yaml.v3 (Helm 4's reader), when `YAMLV3` names the checker: one `batch` process for the run.
fn yamlv3(text: &str) -> Option<Result<(), String>> {
    static CHECKER: OnceLock<Option<Mutex<Checker>>> = OnceLock::new();
    let checker = CHECKER.get_or_init(|| {
        let path = std::env::var_os("YAMLV3")?;
        let mut child =
            Command::new(path).arg("batch").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("YAMLV3 runs");
        let (stdin, stdout) = (child.stdin.take().unwrap(), BufReader::new(child.stdout.take().unwrap()));
        Some(Mutex::new((child, stdin, stdout)))
    });
    let mut guard = checker.as_ref()?.lock().unwrap();
    let (_, stdin, stdout) = &mut *guard;
    write!(stdin, "{}\n{text}", text.len()).unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let answer: Json = serde_json::from_str(&line).unwrap();
    Some(if answer["ok"] == json!(true) { Ok(()) } else { Err(format!("yaml.v3: {}", answer["error"])) })
}

fn check(m: &Manifest) -> Result<(), TestCaseError> {
    let text = &m.text;
    if let Some(Err(e)) = yamlv3(text) {
        panic!("the generator made a stream yaml.v3 refuses ({e}):\n{text}");
    }
    read_stream(text).map_err(|e| TestCaseError::fail(format!("input: {e}")))?;
    let once = run(text);
    let twice = run(&once.text);
    prop_assert_eq!(&twice.text, &once.text, "a second run changed the output");
    if std::env::var_os("PROPS_STRICT_CHECK").is_some() {
        prop_assert!(
            once.check_failures.is_empty(),
            "maia-krm's check left resources alone: {:?}",
            once.check_failures
        );
    }
    let out = &once.text;
    if let Some(Err(e)) = yamlv3(out) {
        prop_assert!(false, "Go yaml.v3 refuses the output: {}\n--- output:\n{}", e, out);
    }
    read_stream(out).map_err(|e| TestCaseError::fail(format!("output: {e}\n--- output:\n{out}")))?;
    prop_assert_eq!(text.starts_with('\u{feff}'), out.starts_with('\u{feff}'), "the BOM was not kept");
    let (before, after) = (split(text), split(out));
    // One Middleware after the input, unless the input ends in a block scalar without a line
    // break: a document after it would change that text, so maia-krm reports it instead.
    let open_end = !text.ends_with(['\n', '\r']) && after.len() == before.len();
    prop_assert!(open_end || after.len() == before.len() + 1, "one Middleware added after the input");
    if open_end {
        let tail = &text[text.rfind(['\n', '\r']).unwrap_or(0)..];
        prop_assert!(
            text.rsplit_once("---").is_some_and(|(_, last)| last.contains(['|', '>'])),
            "no Middleware, but the stream does not end in a block scalar: {:?}",
            tail
        );
    }
    let last = before.len() - 1;
    let mut inputs = m.docs.iter();
    for (n, (t_in, t_out)) in before.iter().zip(&after).enumerate() {
        let d_in = read(t_in).map_err(|e| TestCaseError::fail(format!("input document {n}: {e}\n{t_in}")))?;
        let d_out = read(t_out).map_err(|e| TestCaseError::fail(format!("output document {n}: {e}\n{t_out}")))?;
        // The last document may gain the line end it lacked, so the Middleware can follow it; it
        // must still read the same (a block scalar ending the stream would gain a newline).
        let identical = t_out == t_in;
        let same_bytes = identical
            || (n == last && t_out.strip_suffix(['\n']).map(|t| t.strip_suffix('\r').unwrap_or(t)) == Some(t_in));
        if !t_in.trim_start_matches('\u{feff}').trim().is_empty() {
            let (generated, is_configmap) = inputs.next().unwrap();
            prop_assert!(t_in.ends_with(generated.as_str()), "the test's own split went wrong");
            if *is_configmap {
                prop_assert!(same_bytes, "an untouched document changed:\n{}\n--- became:\n{}", t_in, t_out);
            }
        }
        if identical {
            continue;
        }
        let (d_in, d_out) = without_managed_fields(&d_in, &d_out)
            .map_err(|e| TestCaseError::fail(format!("document {n}: {e}\n--- input:\n{t_in}\n--- output:\n{t_out}")))?;
        prop_assert_eq!(
            d_out,
            d_in,
            "document {} means something else:\n--- input:\n{}\n--- output:\n{}",
            n,
            t_in,
            t_out
        );
    }
    if !open_end {
        let middleware = read(after[before.len()]).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&middleware["kind"], "Middleware");
    }
    Ok(())
}

proptest! {
    // 1000 cases by default; PROPTEST_CASES=N for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn idempotent_and_faithful_outside_managed_fields(m in manifest()) {
        check(&m)?;
    }
}
