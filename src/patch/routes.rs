//! The rule book of routes: which objects route traffic into a workspace, and what each needs —
//! the workspace host, TLS, the group's login. Both route patches (`ingress-tls`, `oauth`) ask
//! here for every route API (Ingress, Traefik's IngressRoute), so the answers can't drift apart.

use crate::config::{Config, HostPolicy};

use super::Resource;
use super::pods::group_of;

/// The route APIs maia-krm patches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Api {
    /// Any `Ingress`; only `networking.k8s.io/v1` is patched, the others are reported.
    Ingress,
    /// Traefik's `IngressRoute` (`traefik.io`, and the older `traefik.containo.us`).
    IngressRoute,
    /// Gateway API's `HTTPRoute`: recognised and reported, not patched yet.
    HttpRoute,
}

pub fn api(api_version: &str, kind: &str) -> Option<Api> {
    match (group_of(api_version), kind) {
        (_, "Ingress") => Some(Api::Ingress),
        ("traefik.io" | "traefik.containo.us", "IngressRoute") => Some(Api::IngressRoute),
        ("gateway.networking.k8s.io", "HTTPRoute") => Some(Api::HttpRoute),
        _ => None,
    }
}

/// What becomes of a route's host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostChange {
    Keep,
    /// No host (the route answers every host): it gets the workspace host.
    FillEmpty,
    /// A host outside the cluster's domain (a chart's `chart-example.local`) gets the workspace host.
    Replace,
}

/// The workspace's route policy, from the config.
pub struct Routes {
    pub host: String,
    domain: String,
    policy: HostPolicy,
    namespace: String,
    jupyterhub: bool,
}

impl Routes {
    pub fn new(config: &Config) -> Self {
        Routes {
            host: config.workspace_host(),
            domain: config.cluster.domain.clone(),
            policy: config.options.host_policy,
            namespace: config.namespace(),
            jupyterhub: config.options.oauth_jupyterhub,
        }
    }

    pub fn host_change(&self, host: Option<&str>) -> HostChange {
        match host.filter(|h| !h.is_empty()) {
            None if self.policy != HostPolicy::Keep => HostChange::FillEmpty,
            Some(h) if self.policy == HostPolicy::OutsideDomain && !self.in_domain(h) => HostChange::Replace,
            _ => HostChange::Keep,
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn in_domain(&self, host: &str) -> bool {
        host == self.domain || host.strip_suffix(&self.domain).is_some_and(|rest| rest.ends_with('.'))
    }

    /// Why every route patch leaves a route alone: it lives in another namespace. The workspace
    /// host and login there would expose that namespace's service under the group's name, and a
    /// Middleware reference across namespaces works only where Traefik allows it.
    pub fn outside_workspace(&self, res: &Resource) -> Option<String> {
        let ns = res.id.namespace.as_deref().filter(|ns| *ns != self.namespace)?;
        Some(format!("in namespace {ns}, outside the workspace namespace {}: route left alone", self.namespace))
    }

    /// Why the group's login does not go in front of a route that is not oauth2-proxy's own.
    pub fn skips_login(&self, res: &Resource) -> Option<&'static str> {
        let jupyterhub = [res.label("app"), res.label("app.kubernetes.io/name")].contains(&Some("jupyterhub"));
        (jupyterhub && !self.jupyterhub)
            .then_some("JupyterHub logs in through Keycloak itself (option oauth_jupyterhub)")
    }
}

/// oauth2-proxy's own path: a login in front of it would redirect to itself.
pub fn is_oauth2_path(path: &str) -> bool {
    path == "/oauth2" || path.starts_with("/oauth2/")
}

/// A Traefik rule (`Host(`a`) && PathPrefix(`/x`)`) with its hosts set per policy.
#[derive(Debug, PartialEq)]
pub enum RuleHosts {
    /// Nothing to change; the rule's hosts.
    Kept(Vec<String>),
    /// The new rule text, its hosts, and what changed (for the report).
    Changed { rule: String, hosts: Vec<String>, changes: Vec<String> },
    /// Hosts given by a pattern (`HostRegexp`), or a rule this reader can't follow: left alone.
    Unreadable(&'static str),
}

impl Routes {
    /// The hosts of a Traefik rule set per policy. `Host` takes one or more quoted hosts
    /// (backquotes or double quotes); a rule without any answers every host and, like an empty
    /// Ingress host, is narrowed to the workspace host.
    pub fn rule_hosts(&self, rule: &str) -> RuleHosts {
        let mut out = String::with_capacity(rule.len());
        let (mut hosts, mut changes) = (Vec::new(), Vec::new());
        let mut rest = rule;
        while let Some(at) = find_matcher(rest) {
            let (before, from_name) = rest.split_at(at);
            out.push_str(before);
            if from_name.starts_with("HostRegexp") {
                return RuleHosts::Unreadable("hosts given by HostRegexp");
            }
            if !from_name.starts_with("Host(") {
                // HostSNI and friends: another matcher that happens to start with `Host`.
                out.push_str(&from_name[..4]);
                rest = &from_name[4..];
                continue;
            }
            out.push_str("Host(");
            let args = &from_name["Host(".len()..];
            let Some(close) = args.find(')') else { return RuleHosts::Unreadable("a Host( without its `)`") };
            for (i, arg) in args[..close].split(',').enumerate() {
                let arg = arg.trim();
                let quoted = arg.len() >= 2
                    && ((arg.starts_with('`') && arg.ends_with('`')) || (arg.starts_with('"') && arg.ends_with('"')));
                if !quoted {
                    return RuleHosts::Unreadable("a Host argument that is not a quoted host");
                }
                let host = &arg[1..arg.len() - 1];
                let new = match self.host_change(Some(host)) {
                    HostChange::Keep => host,
                    _ => {
                        changes.push(format!("host {host} is outside {}; set to {}", self.domain, self.host));
                        &self.host
                    }
                };
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&format!("`{new}`"));
                if !hosts.contains(&new.to_string()) {
                    hosts.push(new.to_string());
                }
            }
            out.push(')');
            rest = &args[close + 1..];
        }
        out.push_str(rest);
        if hosts.is_empty() {
            if self.host_change(None) == HostChange::Keep {
                return RuleHosts::Kept(hosts);
            }
            let rule = format!("Host(`{}`) && ({})", self.host, rule.trim());
            let changes = vec![format!("no Host in the rule; narrowed to {}", self.host)];
            return RuleHosts::Changed { rule, hosts: vec![self.host.clone()], changes };
        }
        if changes.is_empty() { RuleHosts::Kept(hosts) } else { RuleHosts::Changed { rule: out, hosts, changes } }
    }
}

/// Where the next matcher named `Host…` starts (not inside another word such as `MyHost`).
fn find_matcher(rule: &str) -> Option<usize> {
    let bytes = rule.as_bytes();
    rule.match_indices("Host").map(|(i, _)| i).find(|&i| i == 0 || !(bytes[i - 1].is_ascii_alphanumeric()))
}

/// Whether a Traefik rule routes oauth2-proxy's own paths.
pub fn rule_serves_oauth2(rule: &str) -> bool {
    ["PathPrefix(", "Path("].iter().any(|matcher| {
        rule.match_indices(matcher).any(|(i, m)| {
            let arg = rule[i + m.len()..].trim_start();
            let quote = arg.chars().next();
            matches!(quote, Some('`' | '"')) && arg[1..].split(quote.unwrap_or('`')).next().is_some_and(is_oauth2_path)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::config;

    fn routes(extra: &[(&str, &str)]) -> Routes {
        Routes::new(&config(extra))
    }

    #[test]
    fn traefik_rule_hosts_follow_the_host_policy() {
        let r = routes(&[]);
        assert_eq!(
            r.rule_hosts("Host(`app.demo-group.maia.example.com`) && PathPrefix(`/x`)"),
            RuleHosts::Kept(vec!["app.demo-group.maia.example.com".into()])
        );
        let RuleHosts::Changed { rule, hosts, .. } =
            r.rule_hosts("Host(`chart-example.local`, \"a.maia.example.com\") && PathPrefix(`/`)")
        else {
            panic!()
        };
        assert_eq!(rule, "Host(`demo-group.maia.example.com`, `a.maia.example.com`) && PathPrefix(`/`)");
        assert_eq!(hosts, ["demo-group.maia.example.com", "a.maia.example.com"]);
        let RuleHosts::Changed { rule, .. } = r.rule_hosts("Host(`x.local`) || Host(`y.local`)") else { panic!() };
        assert_eq!(rule, "Host(`demo-group.maia.example.com`) || Host(`demo-group.maia.example.com`)");
        let RuleHosts::Changed { rule, .. } = r.rule_hosts("PathPrefix(`/api`) || Path(`/x`)") else { panic!() };
        assert_eq!(rule, "Host(`demo-group.maia.example.com`) && (PathPrefix(`/api`) || Path(`/x`))");
        assert!(matches!(r.rule_hosts("HostRegexp(`{sub:[a-z]+}.local`)"), RuleHosts::Unreadable(_)));
        assert!(matches!(r.rule_hosts("Host(x.local)"), RuleHosts::Unreadable(_)));
        assert_eq!(routes(&[("host_policy", "keep")]).rule_hosts("PathPrefix(`/`)"), RuleHosts::Kept(vec![]));
        assert_eq!(
            routes(&[("host_policy", "empty-only")]).rule_hosts("Host(`x.local`)"),
            RuleHosts::Kept(vec!["x.local".into()])
        );
    }

    #[test]
    fn oauth2_proxy_rules_are_recognised() {
        assert!(rule_serves_oauth2("Host(`a`) && PathPrefix(`/oauth2`)"));
        assert!(rule_serves_oauth2("Host(`a`) && Path(\"/oauth2/callback\")"));
        assert!(!rule_serves_oauth2("Host(`a`) && PathPrefix(`/oauth2x`)"));
        assert!(!rule_serves_oauth2("Host(`a`)"));
    }
}

#[cfg(test)]
mod ingress_route_tests {
    use crate::patch::Outcome;
    use crate::testutil::{config, docs, messages, run};
    use serde_json::json;

    const TRAEFIK: &[(&str, &str)] = &[("nginx_cluster_issuer", ""), ("traefik_resolver", "letsencrypt")];

    fn route(routes: &str) -> String {
        format!(
            "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata:\n  name: app\n  namespace: demo-group\nspec:\n  routes:\n{routes}"
        )
    }

    const APP: &str = "  - match: Host(`chart-example.local`) && PathPrefix(`/`)\n    kind: Rule\n    middlewares:\n    - name: strip\n    services:\n    - name: app\n      port: 80\n";
    const OAUTH2: &str = "  - match: Host(`demo-group.maia.example.com`) && PathPrefix(`/oauth2`)\n    kind: Rule\n    services:\n    - name: oauth2-proxy\n      port: 80\n";

    #[test]
    fn an_ingress_route_gets_host_tls_entry_point_and_login_except_on_oauth2_proxys_route() {
        let (out, changes) = run(&route(&format!("{APP}{OAUTH2}")), &config(TRAEFIK));
        let doc = &docs(&out)[0];
        let routes = &doc["spec"]["routes"];
        assert_eq!(routes[0]["match"], "Host(`demo-group.maia.example.com`) && PathPrefix(`/`)");
        assert_eq!(
            routes[0]["middlewares"],
            json!([{"name": "strip"}, {"name": "oauth2-proxy-auth", "namespace": "demo-group"}])
        );
        assert!(routes[1].get("middlewares").is_none(), "{out}");
        assert_eq!(doc["spec"]["tls"], json!({"certResolver": "letsencrypt"}));
        assert_eq!(doc["spec"]["entryPoints"], json!(["websecure"]));
        // oauth2-proxy's own route is in the stream: the Middleware comes with it.
        assert_eq!(docs(&out)[1]["kind"], "Middleware");
        assert!(messages(&changes, Outcome::Conflict).is_empty(), "{changes:?}");
        let (again, changes) = run(&out, &config(TRAEFIK));
        assert_eq!(again, out);
        assert!(changes.iter().all(|c| c.outcome == Outcome::Unchanged), "{changes:?}");
    }

    #[test]
    fn host_regexp_routes_and_existing_tls_are_left_alone() {
        let input =
            route("  - match: HostRegexp(`{sub:[a-z]+}.local`)\n    kind: Rule\n    services: [{name: a, port: 80}]\n")
                + "  tls:\n    secretName: own-cert\n  entryPoints: [web]\n";
        let (out, changes) =
            run(&input, &config(&[("nginx_cluster_issuer", ""), ("traefik_resolver", "le"), ("oauth", "false")]));
        assert_eq!(out, input);
        assert!(messages(&changes, Outcome::Conflict)[0].contains("HostRegexp"), "{changes:?}");
    }

    #[test]
    fn without_a_resolver_an_ingress_route_without_tls_is_reported() {
        let (out, changes) = run(&route(APP), &config(&[("ingress_class", "traefik"), ("oauth", "false")]));
        assert!(!out.contains("tls:"), "{out}");
        assert!(
            messages(&changes, Outcome::Conflict)
                .iter()
                .any(|m| m.contains("cert-manager does not read IngressRoutes"))
        );
    }

    #[test]
    fn routes_outside_the_workspace_namespace_are_left_alone_and_reported() {
        for input in [
            route(APP).replace("namespace: demo-group", "namespace: default"),
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\n  namespace: default\nspec:\n  rules:\n  - host: chart-example.local\n".to_string(),
        ] {
            let (out, changes) = run(&input, &config(TRAEFIK));
            assert_eq!(out, input);
            let conflicts = messages(&changes, Outcome::Conflict);
            assert_eq!(conflicts.len(), 2, "{changes:?}");
            assert!(conflicts.iter().all(|m| m.contains("outside the workspace namespace demo-group")), "{conflicts:?}");
        }
    }

    #[test]
    fn an_http_route_is_reported_not_patched() {
        let input = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: web\nspec:\n  hostnames: [web.local]\n";
        let (out, changes) = run(input, &config(TRAEFIK));
        assert_eq!(out, input);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].outcome, Outcome::Notice);
        assert!(changes[0].message.contains("not patched yet"));
    }

    #[test]
    fn the_older_traefik_group_is_a_route_too() {
        let input = route(APP).replace("traefik.io/v1alpha1", "traefik.containo.us/v1alpha1");
        let (out, _) = run(&input, &config(TRAEFIK));
        assert!(out.contains("oauth2-proxy-auth") && out.contains("certResolver"), "{out}");
    }
}
