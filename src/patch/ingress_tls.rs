//! Ingress TLS: every `networking.k8s.io/v1` Ingress serves the workspace over TLS (Traefik
//! IngressRoutes too: hosts in their rules, the resolver's TLS; see `ingress_route`).
//!
//! - Rule hosts: an empty host (and, with `host_policy: outside-domain`, a host outside `domain`,
//!   like a chart's `chart-example.local`) becomes the workspace host; TLS entries naming a
//!   rewritten host follow it. `empty-only` and `keep` narrow this.
//! - `spec.tls`: every rule host gets covered. Existing entries are kept; a new host goes into the
//!   entry whose secret is already `<host>-tls`, else into a new entry `{hosts: [host], secretName:
//!   <host>-tls}`. With cert-manager (`nginx_cluster_issuer`) every entry needs a secretName (it
//!   ignores entries without one), so a missing one is filled in; Traefik-only setups leave new
//!   entries without one for the certresolver. Never makes two entries share a secretName.
//! - `ingressClassName` from `ingress_class` when absent. Never overrides a class already chosen.
//! - Annotations: `cert-manager.io/cluster-issuer` with `nginx_cluster_issuer`; Traefik's
//!   entrypoints/tls/certresolver with `traefik_resolver`; both sets when both are set. An
//!   annotation the chart already sets to another value is kept and reported.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::objects;
use super::{Patch, Report, add_items, annotate};
use crate::config::{Config, GatewayRef};
use crate::resource::Resource;
use crate::rules::routes::{self, Api, HostChange, Routes, RuleHosts};
use crate::rules::traefik_rule;
use crate::stream::edit::Edits;
use crate::stream::tree::Node;

pub struct IngressTls {
    routes: Routes,
    /// Workspaces share one host (`url_type: subpath`): its certificate is the platform's.
    shared_host: bool,
    cert_manager: bool,
    issuer: Option<String>,
    resolver: Option<String>,
    gateway: Option<GatewayRef>,
    ingress_class: Option<String>,
    annotations: Vec<(String, String)>,
}

impl IngressTls {
    pub fn new(config: &Config) -> Self {
        let c = &config.cluster;
        let flavour = c.flavour();
        IngressTls {
            routes: Routes::new(config),
            shared_host: config.subpath(),
            cert_manager: flavour.cert_manager_issuer.is_some(),
            issuer: flavour.cert_manager_issuer.clone(),
            resolver: flavour.traefik_resolver.clone(),
            gateway: c.gateway.clone(),
            ingress_class: c.ingress_class.clone(),
            annotations: flavour.tls_annotations(),
        }
    }

    /// Sets rule hosts per policy; returns every rule host after the change and the rewrites made.
    fn rule_hosts(&self, spec: &Node, edits: &mut Edits, report: &mut Report) -> (Vec<String>, Vec<(String, String)>) {
        let (mut hosts, mut rewrites) = (Vec::new(), Vec::new());
        let mut seen = HashSet::new();
        for (i, rule) in spec.get("rules").map(Node::items).unwrap_or_default().iter().enumerate() {
            if !rule.is_map() {
                continue;
            }
            let field = format!("spec.rules[{i}].host");
            if rule.get("host").is_some_and(|h| h.scalar().is_none()) {
                report.conflict(&field, "not a string; rule left alone");
                continue;
            }
            let ws = &self.routes.host;
            let current = rule.get("host").and_then(Node::str);
            let host = match self.routes.host_change(current) {
                HostChange::FillEmpty => {
                    let written = match rule.get("host") {
                        Some(h) if !h.is_null() => {
                            edits.replace_scalar(h, ws);
                            Ok(())
                        }
                        _ => edits.put(rule, "host", &json!(ws)),
                    };
                    if let Err(why) = written {
                        report.conflict(&field, format!("{why}; rule left alone"));
                        continue;
                    }
                    report.changed(&field, format!("set empty host to {ws}"));
                    ws.clone()
                }
                HostChange::Replace => {
                    let h = current.unwrap_or_default();
                    edits.replace_scalar(rule.get("host").expect("host was read"), ws);
                    report.changed(&field, self.routes.outside_message(h));
                    rewrites.push((h.to_string(), ws.clone()));
                    ws.clone()
                }
                HostChange::Keep => match current.filter(|h| !h.is_empty()) {
                    Some(h) => h.to_string(),
                    None => continue,
                },
            };
            if seen.insert(host.clone()) {
                hosts.push(host);
            }
        }
        (hosts, rewrites)
    }

    fn tls(
        &self,
        spec: &Node,
        hosts: &[String],
        rewrites: &[(String, String)],
        edits: &mut Edits,
        report: &mut Report,
    ) {
        let entries: Vec<&Node> =
            spec.get("tls").map(Node::items).unwrap_or_default().iter().filter(|e| e.is_map()).collect();
        let secret_of = |e: &Node| e.get("secretName").and_then(Node::str).map(str::to_string);
        // Entry by secret name, looked up once per entry and per host: linear however many entries.
        let mut by_secret: HashMap<String, &Node> = HashMap::new();
        for e in entries.iter().rev() {
            if let Some(s) = secret_of(e) {
                by_secret.insert(s, e);
            }
        }
        let rewrite: HashMap<&str, &str> = rewrites.iter().rev().map(|(f, t)| (f.as_str(), t.as_str())).collect();
        let mut secrets: HashSet<String> = HashSet::new();
        let mut covered: HashSet<String> = HashSet::new();
        for (i, entry) in entries.iter().enumerate() {
            let field = format!("spec.tls[{i}]");
            let entry_hosts = entry.get("hosts").map(Node::items).unwrap_or_default();
            for h in entry_hosts {
                let Some(old) = h.str() else { continue };
                match rewrite.get(old) {
                    Some(&new) => {
                        edits.replace_scalar(h, new);
                        report.changed(&format!("{field}.hosts"), format!("followed rule host {old} to {new}"));
                        covered.insert(new.to_string());
                    }
                    None => {
                        covered.insert(old.to_string());
                    }
                }
            }
            match secret_of(entry) {
                Some(s) if !secrets.insert(s.clone()) => report.conflict(
                    &format!("{field}.secretName"),
                    format!("{s} is shared with another TLS entry; cert-manager rejects that"),
                ),
                Some(_) => {}
                None if self.cert_manager => {
                    let first = entry_hosts.first().and_then(Node::str);
                    match first.map(|h| tls_secret(rewrite.get(h).unwrap_or(&h))) {
                        Some(name) if !by_secret.contains_key(&name) && !secrets.contains(&name) => {
                            if let Err(why) = edits.put(entry, "secretName", &json!(name)) {
                                report.conflict(&format!("{field}.secretName"), format!("{why}; left alone"));
                                continue;
                            }
                            report.changed(
                                &format!("{field}.secretName"),
                                format!("set to {name}: cert-manager ignores entries without one"),
                            );
                            secrets.insert(name);
                        }
                        Some(name) => report.conflict(
                            &format!("{field}.secretName"),
                            format!("missing, and {name} is taken by another entry"),
                        ),
                        None => report.conflict(
                            &format!("{field}.secretName"),
                            "entry without hosts or secretName; cert-manager ignores it",
                        ),
                    }
                }
                None => {}
            }
        }
        let (mut new_entries, mut added) = (Vec::new(), Vec::new());
        for host in hosts.iter().filter(|h| !covered.contains(*h)) {
            let name = tls_secret(host);
            if let Some(entry) = by_secret.get(&name) {
                match add_items(edits, entry, "hosts", vec![json!(host)]) {
                    Ok(()) => report.changed("spec.tls", format!("added {host} to the entry for secret {name}")),
                    Err(why) => report.conflict("spec.tls", format!("the hosts of the entry for secret {name}: {why}")),
                }
            } else if self.cert_manager {
                new_entries.push(json!({"hosts": [host], "secretName": name}));
                added.push(format!("added entry for {host} with secret {name}"));
            } else {
                new_entries.push(json!({"hosts": [host]}));
                added.push(match (&self.resolver, self.shared_host) {
                    (Some(_), _) => format!("added entry for {host} (certificate from the Traefik resolver)"),
                    (None, true) => format!(
                        "added entry for {host} (the controller's default certificate: one for the shared host, \
                         the platform's, set up once)"
                    ),
                    (None, false) => format!("added entry for {host} (the controller's default certificate)"),
                });
            }
        }
        if new_entries.is_empty() {
            if !hosts.is_empty() && hosts.iter().all(|h| covered.contains(h)) {
                report.unchanged("spec.tls", "every rule host is already covered");
            }
            return;
        }
        // The shape of `spec.tls` was checked in apply(); its text may still refuse a new line.
        match add_items(edits, spec, "tls", new_entries) {
            Ok(()) => added.into_iter().for_each(|message| report.changed("spec.tls", message)),
            Err(why) => report.conflict("spec.tls", format!("{why}; no entry added")),
        }
    }

    fn ingress_class(&self, spec: &Node, res: &Resource, edits: &mut Edits, report: &mut Report) {
        let Some(class) = &self.ingress_class else { return };
        let field = "spec.ingressClassName";
        match spec.get("ingressClassName").and_then(Node::str) {
            Some(c) if c == class => report.unchanged(field, format!("already {class}")),
            Some(c) => report.unchanged(field, format!("kept the chart's class {c} (ingress_class is {class})")),
            None if res.annotation("kubernetes.io/ingress.class").is_some() => report.unchanged(
                field,
                "class chosen by the kubernetes.io/ingress.class annotation; not adding a second one",
            ),
            None => match edits.put(spec, "ingressClassName", &json!(class)) {
                Ok(()) => report.changed(field, format!("set to {class}")),
                Err(why) => report.conflict(field, format!("{why}; left alone")),
            },
        }
    }
}

/// The spec of an Ingress both Ingress patches can work on, or the field that is malformed.
/// A malformed Ingress is left alone by every patch, not half-patched.
pub fn ingress_spec<'n, 'a>(res: &Resource<'n, 'a>) -> Result<&'n Node<'a>, (&'static str, String)> {
    if res.id.api_version != "networking.k8s.io/v1" {
        return Err(("apiVersion", format!("{} Ingress not patched (only networking.k8s.io/v1)", res.id.api_version)));
    }
    let spec = res.node.get("spec").filter(|s| s.is_map()).ok_or(("spec", "missing or not a mapping".to_string()))?;
    for list in ["rules", "tls"] {
        if spec.get(list).is_some_and(|r| !r.is_seq() && !r.is_null()) {
            return Err((
                if list == "rules" { "spec.rules" } else { "spec.tls" },
                "not a list; Ingress left alone".into(),
            ));
        }
    }
    Ok(spec)
}

impl Patch for IngressTls {
    fn name(&self) -> &'static str {
        "ingress-tls"
    }

    fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        routes::api(api_version, kind).is_some()
    }

    fn apply(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        if let Some(why) = self.routes.outside_workspace(res) {
            return report.conflict("metadata.namespace", why);
        }
        match routes::api(&res.id.api_version, &res.id.kind) {
            Some(Api::IngressRoute) => return self.ingress_route(res, edits, report),
            Some(Api::HttpRoute | Api::GrpcRoute) if routes::is_mesh_route(res) => {
                return report.notice("spec.parentRefs", "a mesh route (attached to a Service): left alone");
            }
            Some(Api::HttpRoute) => return self.http_route(res, edits, report),
            Some(Api::GrpcRoute) => {
                return report
                    .notice("spec.hostnames", "GRPCRoutes are not patched: hostnames as the chart wrote them");
            }
            _ => {}
        }
        let spec = match ingress_spec(res) {
            Ok(spec) => spec,
            Err((field, why)) => return report.conflict(field, why),
        };
        let (hosts, rewrites) = self.rule_hosts(spec, edits, report);
        self.tls(spec, &hosts, &rewrites, edits, report);
        self.ingress_class(spec, res, edits, report);
        annotate(res, &self.annotations, edits, report);
    }
}

impl IngressTls {
    /// A Gateway API HTTPRoute: `spec.hostnames` follow the host policy (none, or an empty list,
    /// answers every host of the Gateway and gets the workspace host), and a route that attaches
    /// to no Gateway gets the cluster's `gateway`. TLS is the Gateway listener's business.
    fn http_route(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        let Some(spec) = res.node.get("spec").filter(|s| s.is_map()) else {
            return report.conflict("spec", "missing or not a mapping; HTTPRoute left alone");
        };
        let ws = &self.routes.host;
        let field = "spec.hostnames";
        // The route's hostnames once this patch is done (none: every host of its listener).
        let mut hostnames: Vec<&str> = Vec::new();
        match spec.get("hostnames").filter(|h| !h.is_null()) {
            Some(list) if !list.is_seq() => report.conflict(field, "not a list; left alone"),
            Some(list) if !list.items().is_empty() => {
                hostnames = list.items().iter().filter_map(Node::str).collect();
                for (i, host) in list.items().iter().enumerate() {
                    let Some(h) = host.str() else { continue };
                    if self.routes.host_change(Some(h)) != HostChange::Replace {
                        continue;
                    }
                    let field = format!("{field}[{i}]");
                    if hostnames.contains(&ws.as_str()) {
                        report.conflict(
                            &field,
                            format!("{h} is outside the domain, and {ws} is listed already; left alone"),
                        );
                    } else {
                        edits.replace_scalar(host, ws);
                        report.changed(&field, self.routes.outside_message(h));
                        hostnames.iter_mut().filter(|n| **n == h).for_each(|n| *n = ws);
                    }
                }
            }
            _ if self.routes.host_change(None) == HostChange::Keep => {}
            Some(_) => match add_items(edits, spec, "hostnames", vec![json!(ws)]) {
                Ok(()) => report.changed(field, format!("no hostnames (every host of the Gateway); set to {ws}")),
                Err(why) => report.conflict(field, format!("{why}; left alone")),
            },
            None => match edits.put(spec, "hostnames", &json!([ws])) {
                Ok(()) => report.changed(field, format!("no hostnames (every host of the Gateway); set to {ws}")),
                Err(why) => report.conflict(field, format!("{why}; left alone")),
            },
        }
        let field = "spec.parentRefs";
        let refs = spec.get("parentRefs").filter(|r| !r.is_null());
        if refs.is_some_and(|r| !r.items().is_empty()) {
            return report.unchanged(field, "kept the route's parentRefs");
        }
        let Some(gateway) = &self.gateway else {
            return report.conflict(field, "the route attaches to no Gateway; set the cluster key gateway");
        };
        if !self.routes.gateway_login_possible() {
            return report.conflict(
                field,
                "not attached to the Gateway: the group's login can't be added here (set the cluster key gateway_auth)",
            );
        }
        if gateway.listener_set {
            // The workspace's listener answers its host only; another host would attach and never serve.
            let other: Vec<&str> = hostnames.into_iter().filter(|h| !h.eq_ignore_ascii_case(ws)).collect();
            if !other.is_empty() {
                return report.conflict(
                    field,
                    format!(
                        "not attached: the workspace's ListenerSet serves {ws} only, not {}; give the route parentRefs",
                        other.join(", ")
                    ),
                );
            }
        }
        let (parent, message) = objects::parent_ref(gateway);
        match add_items(edits, spec, "parentRefs", vec![parent]) {
            Ok(()) => report.changed(field, message),
            Err(why) => report.conflict(field, format!("{why}; left alone")),
        }
    }

    /// A Traefik IngressRoute: each route's `Host` rules follow the host policy, and `spec.tls`
    /// gets a certificate source on the `websecure` entry point: the resolver (Traefik then
    /// certifies every host of the routes), or, on a cert-manager-only cluster, a secret with a
    /// `Certificate` for the routes' hosts added beside the route (cert-manager does not read
    /// IngressRoutes). TLS the route already has is kept, and reported when it was made for
    /// hosts the route no longer routes; so are entry points that would serve TLS elsewhere.
    fn ingress_route(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        let Some(spec) = res.node.get("spec").filter(|s| s.is_map()) else {
            return report.conflict("spec", "missing or not a mapping; IngressRoute left alone");
        };
        let mut rewrote = false;
        // Every host the routes answer once rewritten, or why they can't all be known.
        let mut hosts: Result<Vec<String>, String> = Ok(Vec::new());
        for (i, route) in spec.get("routes").map(Node::items).unwrap_or_default().iter().enumerate() {
            let field = format!("spec.routes[{i}].match");
            let Some(rule) = route.get("match").filter(|m| m.scalar().is_some()) else {
                report.conflict(&field, "missing or not a string; route left alone");
                hosts = Err(format!("{field} is missing"));
                continue;
            };
            let rule_text = rule.str().unwrap_or_default();
            let routed = match self.routes.rule_hosts(rule_text) {
                RuleHosts::Kept => {
                    report.unchanged(&field, "hosts kept");
                    rule_text.to_string()
                }
                RuleHosts::Changed { rule: new, changes } => {
                    edits.replace_scalar(rule, &new);
                    changes.into_iter().for_each(|c| report.changed(&field, c));
                    rewrote = true;
                    new
                }
                RuleHosts::Unreadable(why) => {
                    report.conflict(&field, format!("{why}; route left alone"));
                    rule_text.to_string()
                }
            };
            if let (Ok(all), found) = (&mut hosts, traefik_rule::hosts(&routed)) {
                match found {
                    Ok(found) => all.extend(found.into_iter().filter(|h| !all.contains(h)).collect::<Vec<_>>()),
                    Err(why) => hosts = Err(format!("{field}: {why}")),
                }
            }
        }
        if self.resolver.is_none() && self.issuer.is_none() {
            if spec.get("tls").is_none_or(Node::is_null) {
                report.conflict(
                    "spec.tls",
                    "no certificate source: set traefik_resolver or nginx_cluster_issuer, \
                     or give the route a tls.secretName with a Certificate of its own",
                );
            }
            return;
        }
        let tls = spec.get("tls").filter(|t| !t.is_null());
        if tls.is_some_and(|t| !t.is_map()) {
            return report.conflict("spec.tls", "not a mapping; left alone");
        }
        let own = tls.and_then(|t| {
            ["certResolver", "secretName", "domains"].into_iter().find(|k| t.get(k).is_some_and(|v| !v.is_null()))
        });
        let entry_points: Vec<&str> =
            spec.get("entryPoints").map(Node::items).unwrap_or_default().iter().filter_map(Node::str).collect();
        let (key, value) = match (own, &self.resolver) {
            (Some(key), _) if rewrote => {
                return report.conflict(
                    &format!("spec.tls.{key}"),
                    format!("set for the route's old hosts; check it covers {}", self.routes.host),
                );
            }
            (Some(key), _) => return report.unchanged("spec.tls", format!("certificate from the route's own {key}")),
            _ if !entry_points.is_empty() && !entry_points.contains(&"websecure") => {
                return report.conflict(
                    "spec.entryPoints",
                    format!("{} without websecure: no TLS added (it would serve TLS there)", entry_points.join(", ")),
                );
            }
            (None, Some(resolver)) => ("certResolver", resolver.clone()),
            (None, None) => match self.certificate(res, hosts, report) {
                Some(secret) => ("secretName", secret),
                None => return,
            },
        };
        let written = match tls {
            None => edits.put(spec, "tls", &json!({ key: value })),
            Some(tls) => edits.put(tls, key, &json!(value)),
        };
        match written {
            Ok(()) => report.changed(&format!("spec.tls.{key}"), format!("set to {value}")),
            Err(why) => return report.conflict("spec.tls", format!("{why}; left alone")),
        }
        // Traefik reads no entry points (absent or empty) as all of them, plain `web` included.
        let field = "spec.entryPoints";
        let written = match spec.get("entryPoints").filter(|e| !e.is_null()) {
            Some(_) if !entry_points.is_empty() => return report.unchanged(field, "kept the route's entry points"),
            Some(list) if list.is_seq() => add_items(edits, spec, "entryPoints", vec![json!("websecure")]),
            Some(_) => return report.conflict(field, "not a list; left alone"),
            None => edits.put(spec, "entryPoints", &json!(["websecure"])),
        };
        match written {
            Ok(()) => report.changed(field, "set to [websecure]"),
            Err(why) => report.conflict(field, format!("{why}; left alone")),
        }
    }

    /// The `Certificate` an IngressRoute's TLS secret comes from on a cert-manager cluster,
    /// asked for beside the route; its secret's name, or `None` (reported) when the hosts to
    /// certify are not all known or can't be certified by an HTTP-01 issuer.
    fn certificate(&self, res: &Resource, hosts: Result<Vec<String>, String>, report: &mut Report) -> Option<String> {
        let issuer = self.issuer.as_ref()?;
        let name = format!("{}-ingressroute-tls", res.id.name);
        let why = match hosts {
            _ if name.len() > 253 => "the route's name is too long to name a Certificate after it".to_string(),
            Ok(hosts) if hosts.is_empty() => "the routes name no host".to_string(),
            Ok(hosts) if hosts.iter().any(|h| h.starts_with("*.")) => {
                "a wildcard host needs a DNS-01 issuer; give the route a tls.secretName".to_string()
            }
            Ok(hosts) => {
                report.want(
                    objects::certificate(&name, res.id.namespace.as_deref(), &hosts, issuer),
                    format!("added for IngressRoute {}: cert-manager does not read IngressRoutes", res.id.name),
                );
                return Some(name);
            }
            Err(why) => why,
        };
        report.conflict("spec.tls", format!("no Certificate added: {why}"));
        None
    }
}

/// The Secret cert-manager writes a host's certificate to: a Secret's name is a lower-case DNS
/// name (the API server refuses `App.example.com-tls` or `*.example.com-tls`), while a host may
/// be spelled in any case (DNS ignores it) or be a wildcard.
fn tls_secret(host: &str) -> String {
    format!("{}-tls", host.to_ascii_lowercase().replace('*', "wildcard"))
}

#[cfg(test)]
mod tests {
    use crate::patch::Outcome;
    use crate::testutil::{config, docs, messages, run};
    use serde_json::json;

    const WS: &str = "demo-group.maia.example.com";

    fn ingress(spec: &str) -> String {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: app\n  labels:\n    app: x\nspec:\n{spec}"
        )
    }

    fn tls_only() -> Vec<(&'static str, &'static str)> {
        vec![("oauth", "false")]
    }

    #[test]
    fn an_empty_host_gets_the_workspace_host_and_a_cert_manager_secret() {
        let (out, _) = run(&ingress("  rules:\n  - http:\n      paths: []\n"), &config(&tls_only()));
        let d = &docs(&out)[0];
        assert_eq!(d["spec"]["rules"][0]["host"], json!(WS));
        assert_eq!(d["spec"]["tls"], json!([{"hosts": [WS], "secretName": format!("{WS}-tls")}]));
        assert_eq!(d["metadata"]["annotations"]["cert-manager.io/cluster-issuer"], json!("cluster-issuer"));
    }

    #[test]
    fn a_host_outside_the_domain_is_rewritten_and_its_tls_entry_follows() {
        let spec = "  rules:\n  - host: chart-example.local\n  tls:\n  - hosts:\n    - chart-example.local\n    secretName: chart-example-tls\n";
        let (out, _) = run(&ingress(spec), &config(&tls_only()));
        let d = &docs(&out)[0];
        assert_eq!(d["spec"]["rules"][0]["host"], json!(WS));
        assert_eq!(d["spec"]["tls"], json!([{"hosts": [WS], "secretName": "chart-example-tls"}]));
    }

    #[test]
    fn host_policies_narrow_what_is_rewritten() {
        let spec = "  rules:\n  - host: chart-example.local\n  - http: {}\n";
        let (out, _) = run(&ingress(spec), &config(&[("oauth", "false"), ("host_policy", "empty-only")]));
        let d = &docs(&out)[0];
        assert_eq!(d["spec"]["rules"][0]["host"], json!("chart-example.local"));
        assert_eq!(d["spec"]["rules"][1]["host"], json!(WS));
        let (out, _) = run(&ingress(spec), &config(&[("oauth", "false"), ("host_policy", "keep")]));
        assert!(docs(&out)[0]["spec"]["rules"][1].get("host").is_none());
    }

    #[test]
    fn hosts_inside_the_domain_keep_their_coverage() {
        let spec =
            format!("  rules:\n  - host: minio.{WS}\n  tls:\n  - hosts: [\"minio.{WS}\"]\n    secretName: minio-tls\n");
        let (out, changes) = run(&ingress(&spec), &config(&tls_only()));
        assert_eq!(
            docs(&out)[0]["spec"]["tls"],
            json!([{"hosts": [format!("minio.{WS}")], "secretName": "minio-tls"}])
        );
        assert!(messages(&changes, Outcome::Unchanged).iter().any(|m| m.contains("already covered")));
    }

    #[test]
    fn a_cert_manager_entry_without_secret_gets_one() {
        let spec = format!("  rules:\n  - host: {WS}\n  tls:\n  - hosts:\n    - {WS}\n");
        let (out, _) = run(&ingress(&spec), &config(&tls_only()));
        assert_eq!(docs(&out)[0]["spec"]["tls"], json!([{"hosts": [WS], "secretName": format!("{WS}-tls")}]));
    }

    #[test]
    fn a_new_host_joins_the_entry_that_already_owns_its_secret_name() {
        let spec = format!(
            "  rules:\n  - host: a.{WS}\n  - host: {WS}\n  tls:\n  - hosts:\n    - a.{WS}\n    secretName: {WS}-tls\n"
        );
        let (out, _) = run(&ingress(&spec), &config(&tls_only()));
        assert_eq!(
            docs(&out)[0]["spec"]["tls"],
            json!([{"hosts": [format!("a.{WS}"), WS], "secretName": format!("{WS}-tls")}])
        );
    }

    #[test]
    fn shared_secret_names_are_reported() {
        let spec = format!(
            "  rules:\n  - host: a.{WS}\n  - host: b.{WS}\n  tls:\n  - hosts: [a.{WS}]\n    secretName: s\n  - hosts: [b.{WS}]\n    secretName: s\n"
        );
        let (_, changes) = run(&ingress(&spec), &config(&tls_only()));
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("shared with another TLS entry")));
    }

    #[test]
    fn traefik_only_leaves_the_secret_to_the_resolver() {
        let cfg = config(&[("oauth", "false"), ("nginx_cluster_issuer", ""), ("traefik_resolver", "letsencrypt")]);
        let (out, _) = run(&ingress("  rules:\n  - http: {}\n"), &cfg);
        let d = &docs(&out)[0];
        assert_eq!(d["spec"]["tls"], json!([{"hosts": [WS]}]));
        let a = &d["metadata"]["annotations"];
        assert_eq!(a["traefik.ingress.kubernetes.io/router.entrypoints"], json!("websecure"));
        assert_eq!(a["traefik.ingress.kubernetes.io/router.tls"], json!("true"), "must stay a string");
        assert_eq!(a["traefik.ingress.kubernetes.io/router.tls.certresolver"], json!("letsencrypt"));
        assert!(a.get("cert-manager.io/cluster-issuer").is_none());
    }

    #[test]
    fn both_flavours_get_both_annotation_sets() {
        let (out, _) =
            run(&ingress("  rules:\n  - http: {}\n"), &config(&[("oauth", "false"), ("traefik_resolver", "le")]));
        let a = &docs(&out)[0]["metadata"]["annotations"];
        assert_eq!(a["cert-manager.io/cluster-issuer"], json!("cluster-issuer"));
        assert_eq!(a["traefik.ingress.kubernetes.io/router.tls.certresolver"], json!("le"));
    }

    #[test]
    fn a_chart_annotation_with_another_value_is_kept_and_reported() {
        let input = ingress("  rules: []\n")
            .replace("  labels:", "  annotations:\n    cert-manager.io/cluster-issuer: other\n  labels:");
        let (out, changes) = run(&input, &config(&tls_only()));
        assert_eq!(out, input);
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("kept the chart's value \"other\"")));
    }

    #[test]
    fn ingress_class_only_when_absent() {
        let (out, _) = run(&ingress("  rules: []\n"), &config(&[("oauth", "false"), ("ingress_class", "traefik")]));
        assert_eq!(docs(&out)[0]["spec"]["ingressClassName"], json!("traefik"));
        let (out, _) =
            run(&ingress("  ingressClassName: nginx\n"), &config(&[("oauth", "false"), ("ingress_class", "traefik")]));
        assert_eq!(docs(&out)[0]["spec"]["ingressClassName"], json!("nginx"));
    }

    #[test]
    fn rules_that_are_not_a_list_are_reported_not_crashed() {
        let input = ingress("  rules: \"oops\"\n");
        let (out, changes) = run(&input, &config(&tls_only()));
        assert_eq!(out, input);
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.starts_with("spec.rules")));
    }

    #[test]
    fn older_ingress_api_versions_are_reported() {
        let input = ingress("  rules: []\n").replace("networking.k8s.io/v1", "extensions/v1beta1");
        let (out, changes) = run(&input, &config(&tls_only()));
        assert_eq!(out, input);
        assert_eq!(messages(&changes, Outcome::Conflict).len(), 1);
    }
}
