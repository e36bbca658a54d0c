//! `audit`: a workspace's exposure at a glance. One row per route (host, path, backend, TLS,
//! login) and one per pod template (pull secret, shared volume), read from rendered manifests or
//! from what `kubectl get -o yaml` prints; then every gap, with the patch that closes it.
//!
//! The gaps are not a second opinion: they are what the patches themselves report on a dry run
//! (the same driver, the same rule books), so `audit` can't disagree with what maia-krm would
//! change. The rows read the same rule books for what a route or a pod is and who logs in where.

use serde_json::{Value as Json, json};

use crate::config::Config;
use crate::error::{Error, InputError};
use crate::patch::{self, Change, Outcome};
use crate::pipeline;
use crate::policy::{NO_LOGIN, NO_TLS, NOT_WORKSPACE_HOST, NOT_WORKSPACE_PATH, PodRow, Policy, RouteRow};
use crate::resource::{self, ResourceId};
use crate::rules::routes::Routes;
use crate::stream;
use crate::stream::tree;

/// What maia-krm would change (`closes`), or has to leave alone and warns about.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub source: String,
    pub change: Change,
    pub closes: bool,
}

/// A resource of the workspace that could take the login's place ([`Policy::stands_in_for_login`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StandIn {
    pub source: String,
    pub document: usize,
    pub resource: ResourceId,
    pub problem: String,
}

#[derive(Debug, Default)]
pub struct Audit {
    pub routes: Vec<RouteRow>,
    pub pods: Vec<PodRow>,
    pub stand_ins: Vec<StandIn>,
    pub gaps: Vec<Gap>,
    /// Resources in other namespaces (`kubectl get -A`): not the workspace's, not audited.
    pub outside: usize,
    /// Cluster-scoped resources: an admin's chart may hold them, a group's own render may not.
    pub cluster_scoped: usize,
}

impl Audit {
    /// The workspace policy holds: no route without TLS or login, no pod without the secret.
    pub fn ok(&self) -> bool {
        self.routes.iter().all(|r| r.problems.is_empty())
            && self.pods.iter().all(|p| p.problems.is_empty())
            && self.stand_ins.is_empty()
    }
}

/// Audits one input (`source` names it in the rows): a manifest stream, a `List`, or a ResourceList.
/// The dry run uses `jobs` threads.
pub fn audit(source: &str, input: &str, config: &Config, jobs: usize, audit: &mut Audit) -> Result<(), Error> {
    let dry_run = pipeline::run(input, Some(Ok(config.clone())), jobs)?;
    if let Some(error) = dry_run.failed {
        return Err(Error::Config(error.into()));
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
    // Read as the run reads them (merge keys expanded where they matter); the dry run read every
    // document already, so these parses can't fail where it did not.
    let patches = patch::enabled(config);
    let texts = docs.iter().map(|d| pipeline::text_as_read(d, &patches, &limits)).collect::<Result<Vec<_>, _>>()?;
    let mut parsed = Vec::new();
    for (doc, text) in docs.iter().zip(&texts) {
        match tree::parse(text, &limits).map_err(|e| doc.error(e.line, e.message))? {
            Some(root) => parsed.push((doc.index, root)),
            None => continue,
        }
    }
    let mut resources = Vec::new();
    for (index, root) in &parsed {
        let list = resource::resources_of(root).map_err(|m| InputError {
            document: *index,
            file: None,
            line: root.line,
            message: m,
        })?;
        resources.extend(list.into_iter().map(|r| (*index, r)));
    }
    let policy = Policy::new(config, source, Policy::guarded(config, resources.iter().map(|(_, r)| r)));
    for (document, res) in &resources {
        if !policy.in_workspace(&res.id) {
            audit.outside += 1;
            continue;
        }
        if res.id.namespace.is_none() && policy.place(&res.id).is_some() {
            audit.cluster_scoped += 1;
        }
        policy.routes(*document, res, &mut audit.routes);
        policy.pods(*document, res, &mut audit.pods);
        if let Some(problem) = policy.stands_in_for_login(res) {
            let (source, document, resource) = (source.to_string(), *document, res.id.clone());
            audit.stand_ins.push(StandIn { source, document, resource, problem });
        }
    }
    Ok(())
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
        "cluster_scoped": audit.cluster_scoped,
        "stand_ins": audit.stand_ins.iter().map(|s| json!({
            "source": s.source, "document": s.document, "resource": id(&s.resource), "problem": s.problem,
        })).collect::<Vec<_>>(),
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
    for s in &audit.stand_ins {
        results.push(with_severity(crate::krm::result(&problem(&s.resource, s.problem.clone())), "error"));
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
            1 => problems.iter().any(|p| p == NOT_WORKSPACE_HOST),
            2 => problems.iter().any(|p| p.starts_with(NOT_WORKSPACE_PATH)),
            4 => problems.iter().any(|p| p == NO_TLS),
            5 => problems.iter().any(|p| p.starts_with(NO_LOGIN)),
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
        let problems = &audit.pods[row].problems;
        let bad = match col {
            2 => !audit.pods[row].pull_secret && !problems.is_empty(),
            3 => problems.iter().any(|p| p.contains("shared volume")),
            _ => false,
        };
        if bad { paint(cell.to_string(), "31;1") } else { cell.to_string() }
    }));
    out.push('\n');
    for s in &audit.stand_ins {
        out.push_str(&format!("{} {}: {}\n", paint("stand-in".into(), "31;1"), s.resource, s.problem));
    }
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
    if audit.cluster_scoped > 0 {
        out.push_str(&format!(
            "\n{} cluster-scoped resource(s): an admin's chart may hold them, a group's own render (--tenant) may not\n",
            audit.cluster_scoped
        ));
    }
    let verdict = if audit.ok() { paint("policy holds".into(), "32") } else { paint("POLICY BROKEN".into(), "31;1") };
    out.push_str(&format!(
        "\n{verdict}: {} route(s), {exposed} without the workspace host, TLS or login; {} pod template(s), {unsecreted} without the pull secret or shared volume; {} gap(s), {closable} closed by maia-krm{}\n",
        audit.routes.len(),
        audit.pods.len(),
        audit.gaps.len(),
        match audit.stand_ins.len() {
            0 => String::new(),
            n => format!("; {n} stand-in(s) for the login"),
        }
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
    use crate::policy::{DEFAULT_CERTIFICATE, NONE};
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
        let route = "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: r, namespace: demo-group}\nspec:\n  routes:\n  - match: Host(`a.demo-group.maia.example.com`) && PathPrefix(`/x`)\n    kind: Rule\n    services: [{name: a, port: 80}]\n";
        let row = &report(route, &[("nginx_cluster_issuer", ""), ("ingress_class", "traefik")]).routes[0];
        assert_eq!(row.host, "a.demo-group.maia.example.com");
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
            assert!(report(&ingress(other), &[]).routes[0].login.starts_with(NONE), "{other}");
        }
        let ours = "traefik.ingress.kubernetes.io/router.middlewares: demo-group-oauth2-proxy-auth@kubernetescrd";
        let traefik = &[("nginx_cluster_issuer", ""), ("traefik_resolver", "letsencrypt")];
        assert_eq!(report(&ingress(ours), traefik).routes[0].login, "oauth2-proxy (Traefik Middleware)");
        // ingress-nginx reads no Traefik annotation: on its cluster the Middleware guards nothing.
        assert!(report(&ingress(ours), &[]).routes[0].login.starts_with(NONE));
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
