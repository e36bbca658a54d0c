//! The rule book of routes: which objects route traffic into a workspace, and what each needs —
//! the workspace host, TLS, the group's login. Both route patches (`ingress-tls`, `oauth`), the
//! policy and `audit` ask here for every route API (Ingress, Traefik's IngressRoute, Gateway API's
//! HTTPRoute), so the answers can't drift apart.

use crate::config::{Config, GatewayAuth, HostPolicy};
use crate::resource::{Resource, named_namespace};
use crate::stream::tree::Node;

use super::login::is_oauth2_path;
use super::pods::group_of;
use super::traefik_rule;

/// The route APIs maia-krm patches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Api {
    /// Any `Ingress`; only `networking.k8s.io/v1` is patched, the others are reported.
    Ingress,
    /// Traefik's `IngressRoute` (`traefik.io`, and the older `traefik.containo.us`).
    IngressRoute,
    /// Gateway API's `HTTPRoute`.
    HttpRoute,
    /// Gateway API's `GRPCRoute`: recognised and reported, not patched.
    GrpcRoute,
}

pub fn api(api_version: &str, kind: &str) -> Option<Api> {
    match (group_of(api_version), kind) {
        (_, "Ingress") => Some(Api::Ingress),
        ("traefik.io" | "traefik.containo.us", "IngressRoute") => Some(Api::IngressRoute),
        ("gateway.networking.k8s.io", "HTTPRoute") => Some(Api::HttpRoute),
        ("gateway.networking.k8s.io", "GRPCRoute") => Some(Api::GrpcRoute),
        _ => None,
    }
}

/// Routes below HTTP (Traefik's IngressRouteTCP/UDP, Gateway API's TLSRoute/TCPRoute/UDPRoute):
/// no patch can give them the login, so the policy refuses them (and reads their hosts).
pub fn is_l4_route(api_version: &str, kind: &str) -> bool {
    matches!(
        (group_of(api_version), kind),
        ("traefik.io" | "traefik.containo.us", "IngressRouteTCP" | "IngressRouteUDP")
            | ("gateway.networking.k8s.io", "TLSRoute" | "TCPRoute" | "UDPRoute")
    )
}

/// Kinds a group could use to stand in for its login: a Traefik Middleware (routes name the
/// login's by name) and an Envoy Gateway SecurityPolicy (one applies per route).
pub fn may_stand_in_for_login(api_version: &str, kind: &str) -> bool {
    matches!(
        (group_of(api_version), kind),
        ("traefik.io" | "traefik.containo.us", "Middleware") | ("gateway.envoyproxy.io", "SecurityPolicy")
    )
}

/// Kinds the policy reads for the host and the login, whatever patches run: routes of every
/// API (those below HTTP included), what could stand in for the login, and certificates (their
/// names are hosts too).
pub fn read_by_policy(api_version: &str, kind: &str) -> bool {
    api(api_version, kind).is_some()
        || is_l4_route(api_version, kind)
        || may_stand_in_for_login(api_version, kind)
        || is_certificate(api_version, kind)
}

/// cert-manager's `Certificate`: its names are hosts the workspace gets a certificate for, and
/// the cluster's issuer signs what it is asked (found in review).
pub fn is_certificate(api_version: &str, kind: &str) -> bool {
    group_of(api_version) == "cert-manager.io" && kind == "Certificate"
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
    /// Workspaces share the host (`url_type: subpath`): none has a host below it.
    shared: bool,
    domain: String,
    policy: HostPolicy,
    namespace: String,
    jupyterhub: bool,
    jupyterhub_services: Vec<String>,
    /// Hosts in the domain the admin lets the workspace serve besides its own (`extra_hosts`).
    extra_hosts: Vec<String>,
    /// The group's login is wanted (`oauth` on, `oauth_url` set) and how a Gateway API route can
    /// get it (`gateway_auth`, or Traefik's way on the Traefik flavour).
    login_wanted: bool,
    gateway_auth: Option<GatewayAuth>,
}

impl Routes {
    pub fn new(config: &Config) -> Self {
        Routes {
            host: config.workspace_host(),
            shared: config.subpath(),
            domain: config.cluster.domain.clone(),
            policy: config.options.host_policy,
            namespace: config.namespace(),
            jupyterhub: config.options.oauth_jupyterhub,
            jupyterhub_services: config.options.jupyterhub_services.clone(),
            extra_hosts: config.options.extra_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            login_wanted: config.login_wanted(),
            gateway_auth: config.cluster.flavour().gateway_auth,
        }
    }

    pub fn host_change(&self, host: Option<&str>) -> HostChange {
        match host.filter(|h| !h.is_empty()) {
            None if self.policy != HostPolicy::Keep => HostChange::FillEmpty,
            Some(h) if self.policy == HostPolicy::OutsideDomain && !self.own_host(h) => HostChange::Replace,
            _ => HostChange::Keep,
        }
    }

    /// In the domain, and a wildcard only under the workspace host: `*.<domain>` on a shared
    /// Gateway or controller would answer every other group's hosts.
    fn own_host(&self, host: &str) -> bool {
        match host.strip_prefix("*.") {
            Some(base) => {
                let base = base.to_ascii_lowercase();
                base == self.host || base.ends_with(&format!(".{}", self.host))
            }
            None => self.in_domain(host),
        }
    }

    /// Whether a Gateway API route can be given the group's login here; `false` when it is
    /// wanted and no supported way exists (the route must then not be attached to a Gateway).
    pub fn gateway_login_possible(&self) -> bool {
        !self.login_wanted || self.gateway_auth.is_some()
    }

    pub fn gateway_auth(&self) -> Option<GatewayAuth> {
        self.gateway_auth
    }

    /// Hosts compare case-insensitively, as DNS and Traefik compare them, and a trailing dot
    /// (the root) names the same host.
    fn in_domain(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        host == self.domain || host.strip_suffix(&self.domain).is_some_and(|rest| rest.ends_with('.'))
    }

    /// Whether a route may serve this host: the workspace host or one below it (on a shared host,
    /// that host only), or a host outside the cluster's domain that the admin's `host_policy`
    /// keeps, or one the admin lists (`extra_hosts`). Another workspace's host, the bare domain or a platform host (`iam.<domain>`) is
    /// not the workspace's to serve, nor to get a certificate for.
    pub fn may_serve(&self, host: &str) -> bool {
        if !self.in_domain(host.trim_start_matches("*.")) {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let base = host.strip_prefix("*.").unwrap_or(&host);
        base == self.host
            || (!self.shared && base.ends_with(&format!(".{}", self.host)))
            || self.extra_hosts.contains(&host)
    }

    /// Why every route patch leaves a route alone: it lives in another namespace. The workspace
    /// host and login there would expose that namespace's service under the group's name, and a
    /// Middleware reference across namespaces works only where Traefik allows it.
    pub fn outside_workspace(&self, res: &Resource) -> Option<String> {
        let ns = res.id.namespace.as_deref().filter(|ns| !self.in_workspace(Some(ns)))?;
        Some(format!("in namespace {ns}, outside the workspace namespace {}: route left alone", self.namespace))
    }

    /// A resource in this namespace is the workspace's; one without (or with an empty one) is the
    /// release's, which is the workspace's.
    pub fn in_workspace(&self, namespace: Option<&str>) -> bool {
        named_namespace(namespace).is_none_or(|ns| ns == self.namespace)
    }

    /// Why the group's login does not go in front of a route that is not oauth2-proxy's own.
    /// JupyterHub's route is recognised by its chart's labels *and* by where it leads: every
    /// backend the admin-named hub Services (option `jupyterhub_services`). A label alone is the
    /// chart's to write, and any app could wear it (found in review).
    pub fn skips_login(&self, res: &Resource) -> Option<&'static str> {
        let jupyterhub = [res.label("app"), res.label("app.kubernetes.io/name")].contains(&Some("jupyterhub"));
        let backends = backend_services(res);
        let to_hub = !backends.is_empty() && backends.iter().all(|b| self.jupyterhub_services.iter().any(|s| s == b));
        (jupyterhub && to_hub && !self.jupyterhub)
            .then_some("JupyterHub logs in through Keycloak itself (option oauth_jupyterhub)")
    }
}

/// The Services a route leads to, for every route API (Ingress paths and default backend,
/// IngressRoute services, HTTPRoute backendRefs).
fn backend_services<'n>(res: &Resource<'n, '_>) -> Vec<&'n str> {
    let spec = res.node.get("spec");
    let list = |n: Option<&'n Node>, key: &str| n.and_then(|n| n.get(key)).map(Node::items).unwrap_or_default();
    let mut out = Vec::new();
    for rule in list(spec, "rules") {
        let paths = rule.at(&["http", "paths"]).map(Node::items).unwrap_or_default();
        out.extend(paths.iter().map(|p| p.at(&["backend", "service", "name"]).and_then(Node::str).unwrap_or("")));
        out.extend(list(Some(rule), "backendRefs").iter().map(|b| b.get("name").and_then(Node::str).unwrap_or("")));
    }
    if let Some(default) = spec.and_then(|s| s.get("defaultBackend")).filter(|b| !b.is_null()) {
        out.push(default.at(&["service", "name"]).and_then(Node::str).unwrap_or(""));
    }
    for route in list(spec, "routes") {
        out.extend(list(Some(route), "services").iter().map(|s| s.get("name").and_then(Node::str).unwrap_or("")));
    }
    out
}

/// A Traefik rule with its hosts set per policy.
#[derive(Debug, PartialEq)]
pub enum RuleHosts {
    Kept,
    /// The new rule text, and what changed (for the report).
    Changed {
        rule: String,
        changes: Vec<String>,
    },
    /// A rule this reader won't rewrite (hosts by pattern, a negated host, unreadable): left alone.
    Unreadable(String),
}

impl Routes {
    /// The hosts of a Traefik rule set per policy, in place (quotes and spacing kept). A rule that
    /// can match without one of its `Host`s (no `Host` at all, or a `||` branch without one)
    /// answers other hosts too and, like an empty Ingress host, is narrowed to the workspace host.
    pub fn rule_hosts(&self, rule: &str) -> RuleHosts {
        let expr = match traefik_rule::parse(rule) {
            Ok(expr) => expr,
            Err(why) => return RuleHosts::Unreadable(format!("rule not readable ({why})")),
        };
        let calls = expr.calls();
        if calls.iter().any(|(name, _, _)| *name == "hostregexp") {
            return RuleHosts::Unreadable("hosts given by HostRegexp".into());
        }
        // A negated Host only narrows a rule: it is never rewritten.
        let mut edits = Vec::new();
        for (_, args, _) in calls.iter().filter(|(name, _, negated)| traefik_rule::is_host(name) && !negated) {
            if args.is_empty() {
                return RuleHosts::Unreadable("a Host without hosts".into());
            }
            for arg in *args {
                if arg.escaped || arg.value.is_empty() {
                    return RuleHosts::Unreadable(format!("a Host argument {:?} this reader won't rewrite", arg.value));
                }
                if self.host_change(Some(&arg.value)) == HostChange::Replace {
                    edits.push((arg.inner.clone(), self.outside_message(&arg.value)));
                }
            }
        }
        edits.sort_by_key(|(range, _)| range.start);
        let mut text = String::with_capacity(rule.len());
        let mut from = 0;
        for (range, _) in &edits {
            text.push_str(&rule[from..range.start]);
            text.push_str(&self.host);
            from = range.end;
        }
        text.push_str(&rule[from..]);
        let mut changes: Vec<String> = edits.into_iter().map(|(_, message)| message).collect();
        if self.host_change(None) != HostChange::Keep && !expr.requires(&|name, _| traefik_rule::is_host(name)) {
            text = format!("Host(`{}`) && ({})", self.host, text.trim());
            changes.push(format!("the rule answers hosts without a Host of its own; narrowed to {}", self.host));
        }
        if changes.is_empty() { RuleHosts::Kept } else { RuleHosts::Changed { rule: text, changes } }
    }

    /// The report of a host outside the domain set to the workspace host (Ingress and IngressRoute).
    pub fn outside_message(&self, host: &str) -> String {
        format!("host {host} is outside {}; set to {}", self.domain, self.host)
    }
}

/// A Gateway API route attached only to Services (a mesh route, GAMMA; `ServiceImport` across
/// clusters): a mesh can't resolve a Traefik Middleware, and the workspace host means nothing there.
pub fn is_mesh_route(res: &Resource) -> bool {
    let refs = res.node.at(&["spec", "parentRefs"]).map(Node::items).unwrap_or_default();
    // Every parent a Service: one Gateway among them and the route is exposed (found in review).
    // Any other parent kind (an experimental `XListenerSet`, a kind of tomorrow) may be a listener
    // that publishes the route: only a Service or ServiceImport counts (found in review).
    !refs.is_empty()
        && refs.iter().all(|r| matches!(r.get("kind").and_then(Node::str), Some("Service" | "ServiceImport")))
}

/// Gateway API kinds that open listeners (Gateway, ListenerSet and the experimental
/// XListenerSet): a listener of a group's own could claim any host, so they are the admin's.
pub fn is_listener_kind(api_version: &str, kind: &str) -> bool {
    matches!(
        (group_of(api_version), kind),
        ("gateway.networking.k8s.io", "Gateway" | "ListenerSet")
            | ("gateway.networking.x-k8s.io", "XListenerSet" | "ListenerSet" | "Gateway")
    )
}

/// An HTTPRoute rule that only redirects forwards nothing, and a login before a redirect (to
/// https, say) would only get in its way.
fn http_rule_only_redirects(rule: &Node) -> bool {
    let filters = rule.get("filters").map(Node::items).unwrap_or_default();
    filters.iter().any(|f| f.get("type").and_then(Node::str) == Some("RequestRedirect"))
        && rule.get("backendRefs").is_none_or(|b| b.items().is_empty())
}

/// What a Gateway API rule is to the login.
pub enum RuleRole {
    /// oauth2-proxy's own: no login in front of it (it would loop).
    OAuth2Proxy,
    /// Forwards nothing: a login before a redirect would only get in its way.
    Redirect,
    App,
}

pub fn rule_role(rule: &Node, prefix: &str) -> RuleRole {
    if http_rule_serves_only_oauth2(rule, prefix) {
        RuleRole::OAuth2Proxy
    } else if http_rule_only_redirects(rule) {
        RuleRole::Redirect
    } else {
        RuleRole::App
    }
}

/// oauth2-proxy's own HTTPRoute rule: every match needs a path under `/oauth2` (a rule without
/// matches matches every path).
fn http_rule_serves_only_oauth2(rule: &Node, prefix: &str) -> bool {
    let matches = rule.get("matches").map(Node::items).unwrap_or_default();
    !matches.is_empty()
        && matches.iter().all(|m| {
            let kind = m.at(&["path", "type"]).and_then(Node::str).unwrap_or("PathPrefix");
            kind != "RegularExpression"
                && m.at(&["path", "value"]).and_then(Node::str).is_some_and(|p| is_oauth2_path(p, prefix))
        })
}

/// oauth2-proxy's own Ingress: it routes a path under its prefix.
pub fn ingress_serves_oauth2(res: &Resource, prefix: &str) -> bool {
    let rules = res.node.at(&["spec", "rules"]).map(Node::items).unwrap_or_default();
    rules
        .iter()
        .flat_map(|r| r.at(&["http", "paths"]).map(Node::items).unwrap_or_default())
        .any(|p| p.get("path").and_then(Node::str).is_some_and(|p| is_oauth2_path(p, prefix)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::config;

    fn routes(extra: &[(&str, &str)]) -> Routes {
        Routes::new(&config(extra))
    }

    fn changed(r: &Routes, rule: &str) -> String {
        match r.rule_hosts(rule) {
            RuleHosts::Changed { rule, .. } => rule,
            other => panic!("{rule}: {other:?}"),
        }
    }

    #[test]
    fn traefik_rule_hosts_follow_the_host_policy() {
        let r = routes(&[]);
        for kept in [
            "Host(`app.demo-group.maia.example.com`) && PathPrefix(`/x`)",
            "Host(`A.MAIA.EXAMPLE.COM`)",
            "Host(`a.maia.example.com`) || (Host(`b.maia.example.com`) && Path(`/x`))",
            "Host(`a.maia.example.com`) && Header(`X`, \"Host(`c.local`)\")",
            "Host(`a.maia.example.com`) && PathPrefix(`/Host(x)`)",
        ] {
            assert_eq!(r.rule_hosts(kept), RuleHosts::Kept, "{kept}");
        }
        assert_eq!(
            changed(&r, "Host(`chart-example.local`, \"a.maia.example.com\") && PathPrefix(`/`)"),
            "Host(`demo-group.maia.example.com`, \"a.maia.example.com\") && PathPrefix(`/`)"
        );
        assert_eq!(
            changed(&r, "host ( `x.local` ) || HostHeader(`y.local`)"),
            "host ( `demo-group.maia.example.com` ) || HostHeader(`demo-group.maia.example.com`)"
        );
        assert_eq!(
            changed(&r, "PathPrefix(`/api`) || Path(`/x`)"),
            "Host(`demo-group.maia.example.com`) && (PathPrefix(`/api`) || Path(`/x`))"
        );
        // A `||` branch without a Host answers every host.
        assert_eq!(
            changed(&r, "Host(`a.maia.example.com`) || PathPrefix(`/x`)"),
            "Host(`demo-group.maia.example.com`) && (Host(`a.maia.example.com`) || PathPrefix(`/x`))"
        );
        let narrowed = changed(&r, "PathPrefix(`/api`)");
        assert_eq!(r.rule_hosts(&narrowed), RuleHosts::Kept, "idempotent");
        // A negated Host only narrows: never rewritten, and the rule still needs a Host of ours.
        assert_eq!(changed(&r, "!Host(`b.local`)"), "Host(`demo-group.maia.example.com`) && (!Host(`b.local`))");
        assert_eq!(r.rule_hosts("Host(`a.maia.example.com`) && !Host(`b.local`)"), RuleHosts::Kept);
        // A wildcard over the whole domain would answer every other group's hosts.
        assert_eq!(changed(&r, "Host(`*.maia.example.com`)"), "Host(`demo-group.maia.example.com`)");
        assert_eq!(r.rule_hosts("Host(`*.demo-group.maia.example.com`)"), RuleHosts::Kept);
        for unreadable in
            ["HostRegexp(`{sub:[a-z]+}.local`)", "Host(x.local)", "Host()", "Host(``)", "Host(\"a\\x2elocal\")"]
        {
            assert!(matches!(r.rule_hosts(unreadable), RuleHosts::Unreadable(_)), "{unreadable}");
        }
        assert_eq!(routes(&[("host_policy", "keep")]).rule_hosts("PathPrefix(`/`)"), RuleHosts::Kept);
        assert_eq!(routes(&[("host_policy", "empty-only")]).rule_hosts("Host(`x.local`)"), RuleHosts::Kept);
    }
}
