//! `audit`: a workspace's exposure at a glance. One row per route (host, path, backend, TLS,
//! login) and one per pod template (pull secret, shared volume), read from rendered manifests or
//! from what `kubectl get -o yaml` prints; then every gap, with the patch that closes it.
//!
//! The gaps are not a second opinion: they are what the patches themselves report on a dry run
//! (the same driver, the same rule books), so `audit` can't disagree with what maia-krm would
//! change. The rows read the same rule books for what a route or a pod is and who logs in where.

use std::collections::HashSet;

use serde_json::{Value as Json, json};

use crate::config::Config;
use crate::error::{Error, InputError};
use crate::patch::pods::{PodRules, PullSecrets};
use crate::patch::routes::{self, Api, Login, Routes, RuleRole};
use crate::patch::{self, Change, Outcome, Resource, ResourceId, traefik_rule};
use crate::pipeline;
use crate::stream;
use crate::stream::tree::{self, Node};

/// One way into the workspace: a host and path of a route, and what guards it.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteRow {
    pub source: String,
    pub document: usize,
    pub resource: ResourceId,
    pub host: String,
    pub path: String,
    pub backend: String,
    pub tls: String,
    pub login: String,
    /// What breaks the workspace policy here: no TLS, no login.
    pub problems: Vec<String>,
}

/// One pod template, and whether its pods get the registry secret and the shared volume.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    pub source: String,
    pub document: usize,
    pub resource: ResourceId,
    pub pod: String,
    pub pull_secret: bool,
    pub shared_volume: String,
    pub problems: Vec<String>,
}

/// What maia-krm would change (`closes`), or has to leave alone and warns about.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub source: String,
    pub change: Change,
    pub closes: bool,
}

#[derive(Debug, Default)]
pub struct Audit {
    pub routes: Vec<RouteRow>,
    pub pods: Vec<PodRow>,
    pub gaps: Vec<Gap>,
    /// Resources in other namespaces (`kubectl get -A`): not the workspace's, not audited.
    pub outside: usize,
}

impl Audit {
    /// The workspace policy holds: no route without TLS or login, no pod without the secret.
    pub fn ok(&self) -> bool {
        self.routes.iter().all(|r| r.problems.is_empty()) && self.pods.iter().all(|p| p.problems.is_empty())
    }
}

/// Audits one input (`source` names it in the rows): a manifest stream, a `List`, or a ResourceList.
/// The dry run uses `jobs` threads.
pub fn audit(source: &str, input: &str, config: &Config, jobs: usize, audit: &mut Audit) -> Result<(), Error> {
    let dry_run = pipeline::run(input, Some(Ok(config.clone())), jobs)?;
    if let Some(error) = dry_run.failed {
        return Err(Error::Config(error));
    }
    let routes = Routes::new(config);
    let gap = |c: Change| {
        let closes = c.outcome == Outcome::Changed;
        Gap { source: source.to_string(), change: c, closes }
    };
    audit.gaps.extend(
        dry_run
            .changes
            .into_iter()
            .filter(|c| matches!(c.outcome, Outcome::Changed | Outcome::Conflict))
            .filter(|c| routes.in_workspace(c.resource.namespace.as_deref()))
            .map(gap),
    );
    let mut limits = config.options.limits.clone();
    limits.max_document_bytes = limits.max_stream_bytes; // a List is one document
    let docs = stream::documents(input);
    let mut parsed = Vec::new();
    for doc in &docs {
        // The dry run read every document already: these parses can't fail where it did not.
        match tree::parse(doc.text, &limits).map_err(|e| doc.error(e.line, e.message))? {
            Some(root) => parsed.push((doc.index, root)),
            None => continue,
        }
    }
    let mut resources = Vec::new();
    for (index, root) in &parsed {
        let list = patch::resources_of(root).map_err(|m| InputError {
            document: *index,
            file: None,
            line: root.line,
            message: m,
        })?;
        resources.extend(list.into_iter().map(|r| (*index, r)));
    }
    let login = Login::new(config);
    let guarded: HashSet<String> = resources.iter().flat_map(|(_, r)| login.policy_targets(r)).collect();
    let reader = Reader::new(config, source, guarded);
    for (document, res) in &resources {
        if !routes.in_workspace(res.id.namespace.as_deref()) {
            audit.outside += 1;
            continue;
        }
        reader.routes(*document, res, &mut audit.routes);
        reader.pods(*document, res, &mut audit.pods);
    }
    Ok(())
}

/// Reads rows the way the patches read resources.
struct Reader {
    source: String,
    routes: Routes,
    pods: PodRules,
    login_wanted: bool,
    pull_secret: String,
    pull_secret_wanted: bool,
    claim: String,
    login: Login,
    /// HTTPRoutes a SecurityPolicy in the input guards.
    guarded: HashSet<String>,
}

const NONE: &str = "NONE";
const NO_TLS: &str = "served without TLS";
const NO_LOGIN: &str = "served without the group's login";
/// TLS without a certificate of the route's own: the controller's default (often the platform's
/// wildcard certificate, else a self-signed one).
const DEFAULT_CERTIFICATE: &str = "the controller's default certificate";

impl Reader {
    fn new(config: &Config, source: &str, guarded: HashSet<String>) -> Self {
        let o = &config.options;
        Reader {
            source: source.to_string(),
            routes: Routes::new(config),
            pods: PodRules::new(&o.pod_templates),
            login_wanted: o.oauth && config.form.oauth_url.is_some(),
            pull_secret: config.cluster.image_pull_secret.clone(),
            pull_secret_wanted: o.pull_secret,
            claim: o.shared_claim.clone(),
            login: Login::new(config),
            guarded,
        }
    }

    /// A row from its cells: host, path, backend, TLS, login.
    fn route(&self, document: usize, res: &Resource, [host, path, backend, tls, login]: [String; 5]) -> RouteRow {
        let mut problems = Vec::new();
        if tls == NONE {
            problems.push(NO_TLS.to_string());
        }
        if login == NONE && self.login_wanted {
            problems.push(NO_LOGIN.to_string());
        }
        RouteRow {
            source: self.source.clone(),
            document,
            resource: res.id.clone(),
            host,
            path,
            backend,
            tls,
            login,
            problems,
        }
    }

    fn routes(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        match routes::api(&res.id.api_version, &res.id.kind) {
            Some(Api::Ingress) => self.ingress(document, res, rows),
            Some(Api::IngressRoute) => self.ingress_route(document, res, rows),
            Some(Api::HttpRoute | Api::GrpcRoute) if !routes::is_mesh_route(res) => {
                self.http_route(document, res, rows)
            }
            _ => {}
        }
    }

    /// Who logs in in front of a route that is not oauth2-proxy's own, when nothing guards it.
    fn unguarded(&self, res: &Resource) -> String {
        match self.routes.skips_login(res) {
            Some(_) => "app's own (Keycloak)".into(),
            None => NONE.into(),
        }
    }

    fn ingress(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        let spec = res.node.get("spec");
        let tls_entries = spec.and_then(|s| s.get("tls")).map(Node::items).unwrap_or_default();
        let resolver = res.annotation("traefik.ingress.kubernetes.io/router.tls.certresolver");
        let issuer = res.annotation("cert-manager.io/cluster-issuer").or(res.annotation("cert-manager.io/issuer"));
        let router_tls = res.annotation("traefik.ingress.kubernetes.io/router.tls") == Some("true");
        let middlewares = res.annotation("traefik.ingress.kubernetes.io/router.middlewares").unwrap_or_default();
        let login = if routes::ingress_serves_oauth2(res) {
            "oauth2-proxy itself".to_string()
        } else if res.annotation("nginx.ingress.kubernetes.io/auth-url") == Some(&self.login.auth_url()) {
            "oauth2-proxy (nginx auth-url)".into()
        } else if self.login.in_middleware_list(middlewares) {
            "oauth2-proxy (Traefik Middleware)".into()
        } else {
            self.unguarded(res)
        };
        for rule in spec.and_then(|s| s.get("rules")).map(Node::items).unwrap_or_default() {
            let host = rule.get("host").and_then(Node::str).filter(|h| !h.is_empty());
            let covering = tls_entries.iter().find(|e| {
                e.get("hosts").map(Node::items).unwrap_or_default().iter().any(|h| h.str().is_some() && h.str() == host)
            });
            let mut tls = match (covering, resolver) {
                (Some(entry), _) => match entry.get("secretName").and_then(Node::str) {
                    Some(secret) => format!("secret {secret}"),
                    None => resolver.map_or(DEFAULT_CERTIFICATE.into(), |r| format!("resolver {r}")),
                },
                (None, Some(r)) if router_tls => format!("resolver {r}"),
                (None, None) if router_tls => DEFAULT_CERTIFICATE.into(),
                _ => NONE.into(),
            };
            if let (Some(issuer), true) = (issuer, tls.starts_with("secret")) {
                tls.push_str(&format!(" (issuer {issuer})"));
            }
            let paths = rule.at(&["http", "paths"]).map(Node::items).unwrap_or_default();
            for p in paths {
                let service = p.at(&["backend", "service", "name"]).and_then(Node::str).unwrap_or("-");
                let port = p
                    .at(&["backend", "service", "port", "number"])
                    .or(p.at(&["backend", "service", "port", "name"]))
                    .and_then(Node::scalar)
                    .unwrap_or("-");
                let path = p.get("path").and_then(Node::str).unwrap_or("/").to_string();
                let cells = [host.unwrap_or("*").into(), path, format!("{service}:{port}"), tls.clone(), login.clone()];
                rows.push(self.route(document, res, cells));
            }
        }
    }

    fn ingress_route(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        let tls = res.node.at(&["spec", "tls"]).filter(|t| !t.is_null());
        let tls = match tls {
            None => NONE.to_string(),
            Some(t) => match (t.get("secretName").and_then(Node::str), t.get("certResolver").and_then(Node::str)) {
                (Some(secret), _) => format!("secret {secret}"),
                (None, Some(resolver)) => format!("resolver {resolver}"),
                (None, None) => DEFAULT_CERTIFICATE.into(),
            },
        };
        for route in res.node.at(&["spec", "routes"]).map(Node::items).unwrap_or_default() {
            let rule = route.get("match").and_then(Node::str).unwrap_or_default();
            let listed = route.get("middlewares").map(Node::items).unwrap_or_default();
            let login = if traefik_rule::serves_only_oauth2(rule) {
                "oauth2-proxy itself".to_string()
            } else if listed.iter().any(|m| self.login.is_route_middleware(m)) {
                "oauth2-proxy (Traefik Middleware)".into()
            } else {
                self.unguarded(res)
            };
            let hosts = traefik_rule::hosts(rule).map(|h| h.join(",")).unwrap_or_else(|why| why);
            let backend = backends(route.get("services"));
            rows.push(self.route(document, res, [hosts, format!("match {rule}"), backend, tls.clone(), login]));
        }
    }

    fn http_route(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        let spec = res.node.get("spec");
        let hostnames = spec.and_then(|s| s.get("hostnames")).map(Node::items).unwrap_or_default();
        let hosts: Vec<&str> = hostnames.iter().filter_map(Node::str).collect();
        let host = if hosts.is_empty() { "*".to_string() } else { hosts.join(",") };
        let parents: Vec<&str> = spec
            .and_then(|s| s.get("parentRefs"))
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.get("name").and_then(Node::str))
            .collect();
        if parents.is_empty() {
            return; // attached to nothing: serves nothing
        }
        let tls = format!("listener of {}", parents.join(","));
        let policy = self.guarded.contains(&res.id.name);
        for rule in spec.and_then(|s| s.get("rules")).map(Node::items).unwrap_or_default() {
            let filters = rule.get("filters").map(Node::items).unwrap_or_default();
            let login = match routes::rule_role(rule) {
                RuleRole::OAuth2Proxy => "oauth2-proxy itself".to_string(),
                RuleRole::Redirect => "redirect only".into(),
                RuleRole::App if filters.iter().any(|f| self.login.is_filter(f)) => "oauth2-proxy (filter)".into(),
                RuleRole::App if policy => "oauth2-proxy (SecurityPolicy)".into(),
                RuleRole::App if res.id.kind == "GRPCRoute" => NONE.into(),
                RuleRole::App => self.unguarded(res),
            };
            let matches = rule.get("matches").map(Node::items).unwrap_or_default();
            let paths: Vec<&str> =
                matches.iter().filter_map(|m| m.at(&["path", "value"]).and_then(Node::str)).collect();
            let path = if paths.is_empty() { "/".to_string() } else { paths.join(",") };
            let backend = backends(rule.get("backendRefs"));
            rows.push(self.route(document, res, [host.clone(), path, backend, tls.clone(), login]));
        }
    }

    fn pods(&self, document: usize, res: &Resource, rows: &mut Vec<PodRow>) {
        if !self.pods.holds_pods(&res.id.api_version, &res.id.kind) {
            return;
        }
        let (pods, _) = self.pods.pods(res);
        for pod in pods {
            let pull_secret = match pod.shape.pull_secrets {
                PullSecrets::List(key) => pod
                    .node
                    .get(key)
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .any(|s| s.get("name").and_then(Node::str) == Some(&self.pull_secret)),
                PullSecrets::Single(key) => pod.node.at(&[key, "name"]).and_then(Node::str) == Some(&self.pull_secret),
            };
            let shared_volume = match self.pods.mounts(res) {
                Err((why, _)) => format!("n/a ({why})"),
                Ok(()) => {
                    let volumes = pod.node.get("volumes").map(Node::items).unwrap_or_default();
                    let volume = volumes.iter().find(|v| {
                        v.at(&["persistentVolumeClaim", "claimName"]).and_then(Node::str) == Some(&self.claim)
                    });
                    match volume.and_then(|v| v.get("name")).and_then(Node::str) {
                        None => "no".into(),
                        Some(name) => {
                            let containers = pod.containers(false);
                            let mounted = containers
                                .iter()
                                .filter(|c| c.mounts().any(|m| m.get("name").and_then(Node::str) == Some(name)))
                                .count();
                            if mounted == containers.len() {
                                "yes".into()
                            } else {
                                format!("in {mounted} of {} containers", containers.len())
                            }
                        }
                    }
                }
            };
            let mut problems = Vec::new();
            if !pull_secret && self.pull_secret_wanted {
                problems.push(format!("pods without the pull secret {}", self.pull_secret));
            }
            rows.push(PodRow {
                source: self.source.clone(),
                document,
                resource: res.id.clone(),
                pod: pod.path,
                pull_secret,
                shared_volume,
                problems,
            });
        }
    }
}

/// `name:port` of each service in a list of them (IngressRoute `services`, HTTPRoute `backendRefs`).
fn backends(list: Option<&Node>) -> String {
    let list = list.map(Node::items).unwrap_or_default();
    let one = |b: &Node| {
        let port = b.get("port").and_then(Node::scalar).unwrap_or("-");
        format!("{}:{port}", b.get("name").and_then(Node::str).unwrap_or("-"))
    };
    list.iter().map(one).collect::<Vec<_>>().join(",")
}

/// The audit as JSON, for scripts.
pub fn to_json(audit: &Audit) -> Json {
    let id = |r: &ResourceId| {
        let mut id = json!({"apiVersion": r.api_version, "kind": r.kind, "name": r.name});
        if let Some(ns) = &r.namespace {
            id["namespace"] = json!(ns);
        }
        id
    };
    json!({
        "ok": audit.ok(),
        "outside_workspace": audit.outside,
        "routes": audit.routes.iter().map(|r| json!({
            "source": r.source, "document": r.document, "resource": id(&r.resource),
            "host": r.host, "path": r.path, "backend": r.backend, "tls": r.tls, "login": r.login, "problems": r.problems,
        })).collect::<Vec<_>>(),
        "pods": audit.pods.iter().map(|p| json!({
            "source": p.source, "document": p.document, "resource": id(&p.resource),
            "pod": p.pod, "pull_secret": p.pull_secret, "shared_volume": p.shared_volume, "problems": p.problems,
        })).collect::<Vec<_>>(),
        "gaps": audit.gaps.iter().map(|g| json!({
            "source": g.source, "document": g.change.document, "resource": id(&g.change.resource),
            "patch": g.change.patch, "field": g.change.field, "message": g.change.message, "closed_by_maia_krm": g.closes,
        })).collect::<Vec<_>>(),
    })
}

/// The audit as a KRM ResourceList whose results kpt prints: each policy problem an error, each
/// gap maia-krm closes a warning naming its patch, each gap it can't close a warning too.
pub fn to_krm(audit: &Audit) -> Json {
    let mut results = Vec::new();
    let problem = |resource: &ResourceId, message: String| Change {
        outcome: Outcome::Conflict,
        patch: "audit",
        resource: resource.clone(),
        document: 0,
        field: String::new(),
        message,
    };
    for r in &audit.routes {
        for p in &r.problems {
            let c = problem(&r.resource, format!("{} {}: {p}", r.host, r.path));
            results.push(with_severity(crate::krm::result(&c), "error"));
        }
    }
    for p in &audit.pods {
        for why in &p.problems {
            let mut c = problem(&p.resource, why.clone());
            c.field = p.pod.clone();
            results.push(with_severity(crate::krm::result(&c), "error"));
        }
    }
    for g in &audit.gaps {
        let mut c = g.change.clone();
        if g.closes {
            c.message = format!("maia-krm would change this: {}", c.message);
        }
        results.push(with_severity(crate::krm::result(&c), "warning"));
    }
    json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [], "results": results})
}

fn with_severity(result: Option<Json>, severity: &str) -> Json {
    let mut result = result.expect("conflicts are results");
    result["severity"] = json!(severity);
    result
}

/// The audit as tables for people; `colour` marks problems red and gaps yellow (ANSI).
pub fn to_table(audit: &Audit, colour: bool) -> String {
    let paint = |text: String, code: &str| if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text };
    let mut out = String::new();
    let route_rows: Vec<Vec<String>> = audit
        .routes
        .iter()
        .map(|r| {
            vec![
                r.resource.to_string(),
                r.host.clone(),
                r.path.clone(),
                r.backend.clone(),
                r.tls.clone(),
                r.login.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&["ROUTE", "HOST", "PATH", "BACKEND", "TLS", "LOGIN"], &route_rows, &|row, col, cell| {
        let problems = &audit.routes[row].problems;
        let bad = match col {
            4 => problems.iter().any(|p| p == NO_TLS),
            5 => problems.iter().any(|p| p == NO_LOGIN),
            _ => false,
        };
        if bad { paint(cell.to_string(), "31;1") } else { cell.to_string() }
    }));
    out.push('\n');
    let pod_rows: Vec<Vec<String>> = audit
        .pods
        .iter()
        .map(|p| {
            vec![
                p.resource.to_string(),
                p.pod.clone(),
                if p.pull_secret { "yes".into() } else { "no".into() },
                p.shared_volume.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&["WORKLOAD", "POD", "PULL SECRET", "SHARED VOLUME"], &pod_rows, &|row, col, cell| {
        let bad = col == 2 && !audit.pods[row].problems.is_empty();
        if bad { paint(cell.to_string(), "31;1") } else { cell.to_string() }
    }));
    out.push('\n');
    if audit.gaps.is_empty() {
        out.push_str("no gaps: maia-krm would change nothing\n");
    }
    for g in &audit.gaps {
        let c = &g.change;
        let field = if c.field.is_empty() { String::new() } else { format!("{}: ", c.field) };
        let by = if g.closes { format!("closed by patch {}", c.patch) } else { format!("{}, left alone", c.patch) };
        out.push_str(&format!("{} {}: {field}{} [{}]\n", paint("gap".into(), "33"), c.resource, c.message, by));
    }
    let exposed = audit.routes.iter().filter(|r| !r.problems.is_empty()).count();
    let unsecreted = audit.pods.iter().filter(|p| !p.problems.is_empty()).count();
    let closable = audit.gaps.iter().filter(|g| g.closes).count();
    if audit.outside > 0 {
        out.push_str(&format!(
            "\n{} resource(s) in other namespaces: not the workspace's, not audited\n",
            audit.outside
        ));
    }
    let verdict = if audit.ok() { paint("policy holds".into(), "32") } else { paint("POLICY BROKEN".into(), "31;1") };
    out.push_str(&format!(
        "\n{verdict}: {} route(s), {exposed} without TLS or login; {} pod template(s), {unsecreted} without the pull secret; {} gap(s), {closable} closed by maia-krm\n",
        audit.routes.len(),
        audit.pods.len(),
        audit.gaps.len(),
    ));
    out
}

/// Columns padded to their widest cell (padding counted before any colour is added).
fn table(head: &[&str], rows: &[Vec<String>], style: &dyn Fn(usize, usize, &str) -> String) -> String {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<(String, usize)>| {
        let mut text = String::new();
        for (i, (cell, len)) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.push_str(&" ".repeat(widths[i] - len + 2));
            }
        }
        text.push('\n');
        text
    };
    let mut out = line(head.iter().map(|h| (h.to_string(), h.chars().count())).collect());
    for (r, row) in rows.iter().enumerate() {
        out.push_str(&line(
            row.iter().enumerate().map(|(c, cell)| (style(r, c, cell), cell.chars().count())).collect(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::config;

    fn report(input: &str, extra: &[(&str, &str)]) -> Audit {
        let mut report = Audit::default();
        audit("-", input, &config(extra), 1, &mut report).expect("input is valid");
        report
    }

    const ENVOY: &[(&str, &str)] = &[("gateway", "{name: public}"), ("gateway_auth", "envoy-gateway")];
    const ROUTE: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: web, namespace: demo-group}\nspec:\n  parentRefs: [{name: public}]\n  hostnames: [demo-group.maia.example.com]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /app}}]\n    backendRefs: [{name: web, port: 8080}]\n";

    #[test]
    fn an_http_route_is_guarded_by_a_security_policy_in_the_input() {
        let before = report(ROUTE, ENVOY);
        let row = &before.routes[0];
        assert_eq!((row.path.as_str(), row.backend.as_str(), row.login.as_str()), ("/app", "web:8080", NONE));
        assert_eq!(row.tls, "listener of public");
        assert!(!before.ok() && before.gaps.iter().any(|g| g.closes && g.change.resource.kind == "SecurityPolicy"));
        let (out, _) = crate::testutil::run(ROUTE, &config(ENVOY));
        let after = report(&out, ENVOY);
        assert_eq!(after.routes[0].login, "oauth2-proxy (SecurityPolicy)");
        assert!(after.ok() && after.gaps.is_empty(), "{:?}", after.gaps);
    }

    #[test]
    fn jupyterhub_logs_in_itself_and_oauth_off_asks_for_no_login() {
        let hub = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: jupyterhub\n  labels: {app: jupyterhub}\nspec:\n  tls: [{hosts: [demo-group.maia.example.com], secretName: s}]\n  rules:\n  - host: demo-group.maia.example.com\n    http:\n      paths: [{path: /, backend: {service: {name: proxy-public, port: {number: 80}}}}]\n";
        let row = &report(hub, &[]).routes[0];
        assert_eq!((row.tls.as_str(), row.login.as_str()), ("secret s", "app's own (Keycloak)"));
        assert!(row.problems.is_empty());
        let app = hub.replace("app: jupyterhub", "app: web");
        assert_eq!(report(&app, &[]).routes[0].problems, ["served without the group's login"]);
        assert!(report(&app, &[("oauth", "false")]).routes[0].problems.is_empty());
    }

    #[test]
    fn an_ingress_route_without_tls_is_exposed() {
        let route = "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: r, namespace: demo-group}\nspec:\n  routes:\n  - match: Host(`a.maia.example.com`) && PathPrefix(`/x`)\n    kind: Rule\n    services: [{name: a, port: 80}]\n";
        let row = &report(route, &[("nginx_cluster_issuer", ""), ("ingress_class", "traefik")]).routes[0];
        assert_eq!(row.host, "a.maia.example.com");
        assert_eq!(row.problems, ["served without TLS", "served without the group's login"]);
    }

    #[test]
    fn only_the_workspaces_own_login_counts() {
        let policy = |ns: &str, backend: &str| {
            format!(
                "---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {{name: p, namespace: {ns}}}\nspec:\n  targetRefs: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}}]\n  extAuth:\n    http:\n      backendRefs: [{{name: {backend}, port: 80}}]\n"
            )
        };
        for (ns, backend) in [("other-group", "oauth2-proxy"), ("demo-group", "some-other-authz")] {
            let row = &report(&(ROUTE.to_string() + &policy(ns, backend)), ENVOY).routes[0];
            assert_eq!(row.login, NONE, "{ns} {backend}");
        }
        assert_eq!(
            report(&(ROUTE.to_string() + &policy("demo-group", "oauth2-proxy")), ENVOY).routes[0].login,
            "oauth2-proxy (SecurityPolicy)"
        );
        let ingress = |annotations: &str| {
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\n  annotations: {{{annotations}}}\nspec:\n  rules:\n  - host: demo-group.maia.example.com\n    http:\n      paths: [{{path: /, backend: {{service: {{name: a, port: {{number: 80}}}}}}}}]\n"
            )
        };
        for other in [
            "traefik.ingress.kubernetes.io/router.middlewares: other-group-oauth2-proxy-auth@kubernetescrd",
            "nginx.ingress.kubernetes.io/auth-url: http://oauth2-proxy.other-group.svc.cluster.local/oauth2/auth",
        ] {
            assert_eq!(report(&ingress(other), &[]).routes[0].login, NONE, "{other}");
        }
        let ours = "traefik.ingress.kubernetes.io/router.middlewares: demo-group-oauth2-proxy-auth@kubernetescrd";
        assert_eq!(report(&ingress(ours), &[]).routes[0].login, "oauth2-proxy (Traefik Middleware)");
        let route = |entry: &str| {
            format!(
                "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {{name: r}}\nspec:\n  tls: {{certResolver: le}}\n  routes:\n  - match: Host(`demo-group.maia.example.com`)\n    kind: Rule\n    middlewares: [{entry}]\n"
            )
        };
        assert_eq!(report(&route("{name: oauth2-proxy-auth, namespace: other-group}"), &[]).routes[0].login, NONE);
        let qualified = report(&route("{name: demo-group-oauth2-proxy-auth@kubernetescrd}"), &[]);
        assert_eq!(qualified.routes[0].login, "oauth2-proxy (Traefik Middleware)");
        assert!(qualified.ok(), "{:?}", qualified.routes);
    }

    #[test]
    fn other_namespaces_are_counted_not_audited() {
        let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: networking.k8s.io/v1\n  kind: Ingress\n  metadata: {name: grafana, namespace: monitoring}\n  spec:\n    rules:\n    - host: grafana.example.com\n      http:\n        paths: [{path: /, backend: {service: {name: g, port: {number: 80}}}}]\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: dns, namespace: kube-system}\n  spec:\n    containers: [{name: c, image: i}]\n";
        let r = report(list, &[]);
        assert!(r.routes.is_empty() && r.pods.is_empty() && r.gaps.is_empty(), "{r:?}");
        assert_eq!(r.outside, 2);
        assert!(r.ok());
    }

    #[test]
    fn tls_by_the_controllers_default_certificate_is_tls() {
        let ingress = |annotations: &str, tls: &str| {
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\n  annotations: {{{annotations}}}\nspec:\n{tls}  rules:\n  - host: demo-group.maia.example.com\n    http:\n      paths: [{{path: /, backend: {{service: {{name: a, port: {{number: 80}}}}}}}}]\n"
            )
        };
        let no_secret = ingress("", "  tls: [{hosts: [demo-group.maia.example.com]}]\n");
        assert_eq!(report(&no_secret, &[("oauth", "false")]).routes[0].tls, DEFAULT_CERTIFICATE);
        let router = ingress("traefik.ingress.kubernetes.io/router.tls: \"true\"", "");
        assert_eq!(report(&router, &[("oauth", "false")]).routes[0].tls, DEFAULT_CERTIFICATE);
        assert_eq!(report(&ingress("", ""), &[("oauth", "false")]).routes[0].problems, ["served without TLS"]);
    }
}
