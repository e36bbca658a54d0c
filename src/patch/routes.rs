//! The rule book of routes: which objects route traffic into a workspace, and what each needs —
//! the workspace host, TLS, the group's login. Both route patches (`ingress-tls`, `oauth`) ask
//! here for every route API (Ingress, Traefik's IngressRoute, Gateway API's HTTPRoute), so the
//! answers can't drift apart.

use serde_json::{Value as Json, json};

use crate::config::{Config, GatewayAuth, GatewayRef, HostPolicy};

use super::pods::group_of;
use super::{Resource, traefik_rule};
use crate::stream::tree::Node;

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
        namespace.is_none_or(|ns| ns.is_empty() || ns == self.namespace)
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

/// The group's login (oauth2-proxy) as routes refer to it: the one definition of "this route is
/// guarded by the workspace's oauth2-proxy", for the oauth patch and for `audit`.
pub struct Login {
    pub namespace: String,
    /// The forwardAuth Middleware's name (option `middleware_name`).
    pub middleware: String,
    /// oauth2-proxy's Service (option `oauth2_proxy_service`), port 80.
    pub service: String,
    /// oauth2-proxy's `proxy_prefix` (`/oauth2`, or `/oauth2-<group>` on a shared host).
    pub prefix: String,
    /// Where a browser signs in: oauth2-proxy's `start` on the group's `oauth_url`, or on the
    /// shared host under the group's prefix.
    pub sign_in: String,
}

impl Login {
    pub fn new(config: &Config) -> Self {
        let o = &config.options;
        Login {
            namespace: config.namespace(),
            middleware: o.middleware_name.clone(),
            service: o.oauth2_proxy_service.clone(),
            prefix: config.oauth2_prefix(),
            sign_in: format!("https://{}{}/start", config.oauth_url(), config.oauth2_prefix()),
        }
    }

    pub fn service_url(&self) -> String {
        format!("http://{}.{}.svc.cluster.local", self.service, self.namespace)
    }

    /// Where nginx asks (`auth-url`).
    pub fn auth_url(&self) -> String {
        format!("{}{}/auth", self.service_url(), self.prefix)
    }

    /// Traefik's provider-qualified name of the Middleware.
    pub fn middleware_ref(&self) -> String {
        format!("{}-{}@kubernetescrd", self.namespace, self.middleware)
    }

    /// An Ingress's `router.middlewares` list names the Middleware.
    pub fn in_middleware_list(&self, list: &str) -> bool {
        let reference = self.middleware_ref();
        list.split(',').any(|m| m.trim() == reference)
    }

    /// An IngressRoute `middlewares` entry names the Middleware (by name in the workspace
    /// namespace, or by its qualified name).
    pub fn is_route_middleware(&self, entry: &Node) -> bool {
        match entry.get("name").and_then(Node::str) {
            Some(name) if name == self.middleware_ref() => true,
            Some(name) => {
                name == self.middleware
                    && entry.get("namespace").and_then(Node::str).is_none_or(|ns| ns == self.namespace)
            }
            None => false,
        }
    }

    /// A Middleware is the login: only a forwardAuth to oauth2-proxy's Service.
    pub fn is_middleware(&self, res: &Resource) -> bool {
        let spec = res.node.get("spec").map(Node::entries).unwrap_or_default();
        let address = res.node.at(&["spec", "forwardAuth", "address"]).and_then(Node::str).unwrap_or_default();
        let url = self.service_url();
        spec.len() == 1
            && spec[0].0.scalar() == Some("forwardAuth")
            && address.strip_prefix(&url).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// An HTTPRoute filter asks oauth2-proxy: Traefik's ExtensionRef to the Middleware, or Gateway
    /// API's ExternalAuth to the Service (routes outside the workspace namespace are never ours).
    pub fn is_filter(&self, filter: &Node) -> bool {
        let at = |path: &[&str]| filter.at(path).and_then(Node::str);
        let middleware = at(&["extensionRef", "kind"]) == Some("Middleware")
            && at(&["extensionRef", "name"]) == Some(&self.middleware);
        let external = at(&["externalAuth", "backendRef", "name"]) == Some(&self.service)
            && at(&["externalAuth", "backendRef", "namespace"]).is_none_or(|ns| ns == self.namespace);
        middleware || external
    }

    /// A backend reference (`{name, namespace}`: HTTPRoute `backendRefs`, IngressRoute `services`,
    /// a SecurityPolicy's) names the group's oauth2-proxy.
    pub fn is_service(&self, backend: &Node) -> bool {
        backend.get("name").and_then(Node::str) == Some(self.service.as_str())
            && backend.get("namespace").and_then(Node::str).is_none_or(|ns| ns == self.namespace)
    }

    /// The HTTPRoutes an Envoy Gateway SecurityPolicy of the workspace guards with oauth2-proxy.
    pub fn policy_targets(&self, res: &Resource) -> Vec<String> {
        let in_workspace = res.id.namespace.as_deref().is_none_or(|ns| ns.is_empty() || ns == self.namespace);
        if res.id.kind != "SecurityPolicy" || !in_workspace {
            return Vec::new();
        }
        let http = res.node.at(&["spec", "extAuth", "http"]);
        let backends = http.and_then(|h| h.get("backendRefs")).map(Node::items).unwrap_or_default();
        let deprecated = http.and_then(|h| h.get("backendRef"));
        let asks = backends.iter().chain(deprecated).any(|b| self.is_service(b));
        // `failOpen` lets every request through while oauth2-proxy is down.
        let fails_open = res.node.at(&["spec", "extAuth", "failOpen"]).and_then(Node::scalar) == Some("true");
        if !asks || fails_open {
            return Vec::new();
        }
        let refs = res.node.at(&["spec", "targetRefs"]).map(Node::items).unwrap_or_default();
        refs.iter()
            .filter(|r| r.get("kind").and_then(Node::str) == Some("HTTPRoute"))
            .filter_map(|r| r.get("name").and_then(Node::str).map(str::to_string))
            .collect()
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

/// oauth2-proxy's own path (under its `prefix`): a login in front of it would redirect to itself.
pub fn is_oauth2_path(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
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

/// The workspace's own listeners on the cluster's Gateway (cluster key `gateway.listenerSet`),
/// emitted by `maia-krm namespace`; its routes attach to them rather than to the Gateway.
pub const LISTENER_SET: &str = "workspace-https";

/// Where an HTTPRoute without `parentRefs` attaches: the workspace's ListenerSet, or the Gateway.
pub fn parent_ref(gateway: &GatewayRef) -> (Json, String) {
    if gateway.listener_set {
        let parent = json!({"group": "gateway.networking.k8s.io", "kind": "ListenerSet", "name": LISTENER_SET});
        return (parent, format!("attached to the workspace's ListenerSet {LISTENER_SET} on Gateway {}", gateway.name));
    }
    (gateway.reference(), format!("attached to Gateway {}", gateway.name))
}

/// A cert-manager `Certificate` from the cluster's issuer, for what cert-manager does not read
/// on its own (IngressRoutes; ListenerSets before its Gateway support covers them).
pub fn certificate(name: &str, namespace: Option<&str>, hosts: &[String], issuer: &str) -> Json {
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": beside(name, namespace),
        "spec": {
            "secretName": name,
            "dnsNames": hosts,
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
        },
    })
}

/// The metadata of an object maia-krm adds beside another: in that one's namespace, or, like it,
/// in the release's when it names none (a policy or secret elsewhere would not reach it).
pub fn beside(name: &str, namespace: Option<&str>) -> Json {
    let mut metadata = json!({"name": name, "labels": {"app.kubernetes.io/managed-by": "maia-krm"}});
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        metadata["namespace"] = json!(ns);
    }
    metadata
}

/// The workspace's ListenerSet (Gateway API v1.5): an HTTPS listener for the workspace host,
/// and, with cert-manager, the Certificate for its secret (an explicit one: cert-manager's own
/// ListenerSet support is alpha and off by default). The Gateway must allow ListenerSets from
/// the namespace (`allowedListeners`).
pub fn listener_set(config: &Config) -> Vec<Json> {
    let Some(gateway) = config.cluster.gateway.as_ref().filter(|g| g.listener_set) else { return Vec::new() };
    // A ListenerSet's parent is the whole Gateway: no sectionName.
    let mut parent = json!({"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.name});
    if let Some(ns) = &gateway.namespace {
        parent["namespace"] = json!(ns);
    }
    let (ns, host, secret) = (config.namespace(), config.workspace_host(), format!("{LISTENER_SET}-tls"));
    let mut resources = vec![json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "ListenerSet",
        "metadata": {"name": LISTENER_SET, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "maia-krm"}},
        "spec": {
            "parentRef": parent,
            "listeners": [{
                "name": "https",
                "hostname": host,
                "port": 443,
                "protocol": "HTTPS",
                "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": secret}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }],
        },
    })];
    if let Some(issuer) = &config.cluster.flavour().cert_manager_issuer {
        resources.push(certificate(&secret, Some(&ns), &[host], issuer));
    }
    resources
}

/// A Gateway API route attached only to something other than Gateways (Services: a mesh route, GAMMA):
/// a mesh can't resolve a Traefik Middleware, and the workspace host means nothing there.
pub fn is_mesh_route(res: &Resource) -> bool {
    let refs = res.node.at(&["spec", "parentRefs"]).map(Node::items).unwrap_or_default();
    // Every parent a Service: one Gateway among them and the route is exposed (found in review).
    !refs.is_empty()
        && refs.iter().all(|r| !matches!(r.get("kind").and_then(Node::str), None | Some("Gateway" | "ListenerSet")))
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
    fn on_a_cert_manager_cluster_an_ingress_route_gets_a_certificate_of_its_own() {
        let cfg = config(&[("ingress_class", "traefik"), ("oauth", "false")]);
        let two_hosts = route(APP)
            + "  - match: Host(`Minio.demo-group.maia.example.com`) || Host(`demo-group.maia.example.com`)\n    kind: Rule\n";
        let (out, changes) = run(&two_hosts, &cfg);
        let d = docs(&out);
        assert_eq!(d[0]["spec"]["tls"], json!({"secretName": "app-ingressroute-tls"}));
        assert_eq!(d[0]["spec"]["entryPoints"], json!(["websecure"]));
        assert_eq!(d[1]["kind"], "Certificate");
        assert_eq!(
            d[1]["spec"],
            json!({
                "secretName": "app-ingressroute-tls",
                "dnsNames": ["demo-group.maia.example.com", "minio.demo-group.maia.example.com"],
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "cluster-issuer"},
            })
        );
        assert_eq!(d[1]["metadata"]["namespace"], "demo-group");
        assert!(messages(&changes, Outcome::Conflict).is_empty(), "{changes:?}");
        let (again, changes) = run(&out, &cfg);
        assert_eq!(again, out, "the Certificate is not added twice");
        assert!(changes.iter().all(|c| c.outcome == Outcome::Unchanged), "{changes:?}");
        // Hosts that can't be known or certified over HTTP-01 get no Certificate.
        for (rule, why) in
            [("HostRegexp(`{a:[a-z]+}.x`)", "HostRegexp"), ("Host(`*.demo-group.maia.example.com`)", "wildcard")]
        {
            let input = route(&format!("  - match: {rule}\n    kind: Rule\n"));
            let (out, changes) = run(&input, &cfg);
            assert!(!out.contains("Certificate") && !out.contains("tls:"), "{out}");
            assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains(why)), "{changes:?}");
        }
        // Neither cert-manager nor a resolver: reported.
        let (out, changes) = run(
            &route(APP),
            &config(&[("nginx_cluster_issuer", ""), ("ingress_class", "traefik"), ("oauth", "false")]),
        );
        assert!(!out.contains("tls:"), "{out}");
        assert!(
            messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("no certificate source")),
            "{changes:?}"
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

    const HTTP_ROUTE: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: web\nspec:\n  rules:\n  - matches:\n    - path: {type: PathPrefix, value: /}\n    filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier: {set: [{name: X, value: y}]}\n    backendRefs: [{name: web, port: 80}]\n  - matches:\n    - path: {type: PathPrefix, value: /oauth2}\n    backendRefs: [{name: oauth2-proxy, port: 80}]\n";

    #[test]
    fn an_http_route_gets_the_workspace_host_its_gateway_and_the_login_on_traefik() {
        let gateway = ("gateway", "{name: public, namespace: gateways, sectionName: websecure}");
        let (out, changes) = run(HTTP_ROUTE, &config(&[TRAEFIK[0], TRAEFIK[1], gateway]));
        let doc = &docs(&out)[0];
        assert_eq!(doc["spec"]["hostnames"], json!(["demo-group.maia.example.com"]));
        assert_eq!(
            doc["spec"]["parentRefs"],
            json!([{"name": "public", "namespace": "gateways", "sectionName": "websecure"}])
        );
        assert_eq!(
            doc["spec"]["rules"][0]["filters"][1]["extensionRef"],
            json!({"group": "traefik.io", "kind": "Middleware", "name": "oauth2-proxy-auth"})
        );
        assert!(doc["spec"]["rules"][1].get("filters").is_none(), "oauth2-proxy's own rule stays unguarded");
        assert_eq!(docs(&out)[1]["kind"], "Middleware");
        assert!(messages(&changes, Outcome::Conflict).is_empty(), "{changes:?}");
        let (again, changes) = run(&out, &config(&[TRAEFIK[0], TRAEFIK[1], gateway]));
        assert_eq!(again, out);
        assert!(changes.iter().all(|c| c.outcome == Outcome::Unchanged), "{changes:?}");
    }

    #[test]
    fn http_route_hostnames_follow_the_policy_and_gaps_are_reported() {
        let hosts = HTTP_ROUTE.replace(
            "spec:\n",
            "spec:\n  hostnames: [chart-example.local, a.maia.example.com]\n  parentRefs: [{name: own}]\n",
        );
        let (out, _) = run(&hosts, &config(&[("oauth", "false")]));
        let doc = &docs(&out)[0];
        assert_eq!(doc["spec"]["hostnames"], json!(["demo-group.maia.example.com", "a.maia.example.com"]));
        assert_eq!(doc["spec"]["parentRefs"], json!([{"name": "own"}]));
        // nginx flavour, no gateway key: nothing to attach to, no supported login.
        let (out, changes) = run(HTTP_ROUTE, &config(&[]));
        assert!(!out.contains("parentRefs") && !out.contains("ExtensionRef"), "{out}");
        let conflicts = messages(&changes, Outcome::Conflict);
        assert!(conflicts.iter().any(|m| m.contains("set the cluster key gateway")), "{conflicts:?}");
        assert!(conflicts.iter().any(|m| m.contains("login not added")), "{conflicts:?}");
    }

    #[test]
    fn gateway_routes_that_cant_get_the_login_or_are_not_the_gateways_are_left_alone() {
        let gateway = ("gateway", "{name: public, namespace: gateways}");
        // nginx flavour: attaching the route would publish it without a login.
        let (out, changes) = run(HTTP_ROUTE, &config(&[gateway]));
        assert!(!out.contains("parentRefs"), "{out}");
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("not attached to the Gateway")));
        // With OAuth off, the admin chose no login: the route is attached.
        let (out, _) = run(HTTP_ROUTE, &config(&[gateway, ("oauth", "false")]));
        assert!(out.contains("parentRefs"), "{out}");
        // A mesh route (attached to a Service) is not the Gateway's.
        let mesh = HTTP_ROUTE.replace("spec:\n", "spec:\n  parentRefs: [{group: \"\", kind: Service, name: web}]\n");
        let (out, changes) = run(&mesh, &config(&[TRAEFIK[0], TRAEFIK[1], gateway]));
        assert_eq!(out, mesh);
        assert_eq!(changes.len(), 1, "{changes:?}");
        // A GRPCRoute is reported, not patched; its missing login is a warning.
        let grpc = "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g}\nspec:\n  hostnames: [g.local]\n";
        let (out, changes) = run(grpc, &config(TRAEFIK));
        assert_eq!(out, grpc);
        assert_eq!(changes.iter().map(|c| c.outcome).collect::<Vec<_>>(), [Outcome::Notice, Outcome::Conflict]);
    }

    #[test]
    fn on_envoy_gateway_each_route_gets_a_security_policy_of_its_own() {
        let envoy = [("gateway", "{name: public, namespace: gateways}"), ("gateway_auth", "envoy-gateway")];
        let app = HTTP_ROUTE.replace("  - matches:\n    - path: {type: PathPrefix, value: /oauth2}\n    backendRefs: [{name: oauth2-proxy, port: 80}]\n", "");
        let (out, changes) = run(&app, &config(&envoy));
        let d = docs(&out);
        assert_eq!(d[0]["spec"]["parentRefs"], json!([{"name": "public", "namespace": "gateways"}]));
        assert!(d[0]["spec"]["rules"][0]["filters"].as_array().unwrap().len() == 1, "the route itself gets no filter");
        assert_eq!(d[1]["kind"], "SecurityPolicy");
        assert_eq!(d[1]["metadata"]["name"], "web-oauth2-proxy-auth");
        assert_eq!(
            d[1]["spec"],
            json!({
                "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "web"}],
                "extAuth": {
                    "headersToExtAuth": ["cookie", "x-forwarded-proto"],
                    "http": {
                        "backendRefs": [{"name": "oauth2-proxy", "port": 80}],
                        "headersToBackend": ["X-Auth-Request-User", "X-Auth-Request-Email", "Authorization"],
                    },
                },
            })
        );
        assert_eq!(d.len(), 2, "no Traefik Middleware on Envoy Gateway");
        assert!(messages(&changes, Outcome::Conflict).is_empty(), "{changes:?}");
        let (again, changes) = run(&out, &config(&envoy));
        assert_eq!(again, out, "one policy per route, however often it runs");
        assert!(changes.iter().all(|c| c.outcome == Outcome::Unchanged), "{changes:?}");
        // A policy covers the whole route: oauth2-proxy's /oauth2 beside an app would loop.
        let (out, changes) = run(HTTP_ROUTE, &config(&envoy));
        assert!(!out.contains("SecurityPolicy"), "{out}");
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("a route of its own")), "{changes:?}");
        // oauth2-proxy's own route gets none.
        let own = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: oauth2-proxy}\nspec:\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /oauth2}}]\n";
        let (out, _) = run(own, &config(&envoy));
        assert!(!out.contains("SecurityPolicy"), "{out}");
    }

    #[test]
    fn the_standard_external_auth_filter_goes_on_every_app_rule() {
        let cfg = config(&[("gateway", "{name: public}"), ("gateway_auth", "external-auth")]);
        let (out, changes) = run(HTTP_ROUTE, &cfg);
        let d = docs(&out);
        assert_eq!(
            d[0]["spec"]["rules"][0]["filters"][1],
            json!({"type": "ExternalAuth", "externalAuth": {
                "protocol": "HTTP",
                "backendRef": {"name": "oauth2-proxy", "port": 80},
                "http": {
                    "allowedHeaders": ["cookie", "x-forwarded-proto"],
                    "allowedResponseHeaders": ["X-Auth-Request-User", "X-Auth-Request-Email", "Authorization"],
                },
            }})
        );
        assert!(d[0]["spec"]["rules"][1].get("filters").is_none(), "oauth2-proxy's own rule stays unguarded");
        assert_eq!(d.len(), 1);
        assert!(messages(&changes, Outcome::Conflict).is_empty(), "{changes:?}");
        let (again, _) = run(&out, &cfg);
        assert_eq!(again, out);
    }

    #[test]
    fn with_a_listener_set_routes_attach_to_the_workspaces_listeners() {
        let gateway = ("gateway", "{name: public, namespace: gateways, listenerSet: true}");
        let (out, _) = run(HTTP_ROUTE, &config(&[TRAEFIK[0], TRAEFIK[1], gateway]));
        assert_eq!(
            docs(&out)[0]["spec"]["parentRefs"],
            json!([{"group": "gateway.networking.k8s.io", "kind": "ListenerSet", "name": "workspace-https"}])
        );
        for bad in ["{name: g, listenerSet: 3}", "{name: g, listeners: true}"] {
            let err = crate::testutil::config_error(&[("gateway", bad)]);
            assert!(err.contains("gateway"), "{err}");
        }
    }

    #[test]
    fn a_listener_set_takes_only_routes_for_the_workspace_host() {
        let gateway = ("gateway", "{name: public, listenerSet: true}");
        let other = HTTP_ROUTE.replace("spec:\n", "spec:\n  hostnames: [labelstudio.demo-group.maia.example.com]\n");
        let (out, changes) = run(&other, &config(&[TRAEFIK[0], TRAEFIK[1], gateway]));
        assert!(!out.contains("parentRefs"), "{out}");
        assert!(
            messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("serves demo-group.maia.example.com only"))
        );
        // A host rewritten to the workspace host in the same run is the workspace's.
        let rewritten = HTTP_ROUTE.replace("spec:\n", "spec:\n  hostnames: [chart-example.local]\n");
        let (out, _) = run(&rewritten, &config(&[TRAEFIK[0], TRAEFIK[1], gateway]));
        assert!(out.contains("kind: ListenerSet"), "{out}");
        let err = crate::testutil::config_error(&[gateway, ("url_type", "subpath")]);
        assert!(err.contains("gateway.listenerSet"), "{err}");
    }

    #[test]
    fn a_redirect_only_rule_gets_no_login() {
        let redirect = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  parentRefs: [{name: g}]\n  hostnames: [demo-group.maia.example.com]\n  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect: {scheme: https, statusCode: 301}\n";
        let (out, _) = run(redirect, &config(TRAEFIK));
        assert!(!out.contains("ExtensionRef"), "{out}");
    }

    #[test]
    fn tls_is_not_added_where_it_would_serve_the_wrong_hosts_or_port() {
        let opts = &[("nginx_cluster_issuer", ""), ("traefik_resolver", "le"), ("oauth", "false")];
        // Entry points without websecure: TLS there would move the route off port 80 and nowhere else.
        let web = route("  - match: Host(`a.maia.example.com`)\n    kind: Rule\n") + "  entryPoints: [web]\n";
        let (out, changes) = run(&web, &config(opts));
        assert_eq!(out, web);
        assert!(messages(&changes, Outcome::Conflict)[0].contains("without websecure"), "{changes:?}");
        // No entry points (absent or empty) means all of them, plain web included.
        let empty = route("  - match: Host(`a.maia.example.com`)\n    kind: Rule\n") + "  entryPoints: []\n";
        let (out, _) = run(&empty, &config(opts));
        assert_eq!(docs(&out)[0]["spec"]["entryPoints"], json!(["websecure"]));
        // A certificate made for the old host does not cover the new one.
        let own = route(APP) + "  tls:\n    secretName: app-tls\n";
        let (_, changes) = run(&own, &config(opts));
        assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("old hosts")), "{changes:?}");
    }

    #[test]
    fn only_oauth2_proxys_own_routes_go_without_login() {
        for rule in ["PathPrefix(`/oauth2`) || PathPrefix(`/`)", "!PathPrefix(`/oauth2`)"] {
            let input = route(&format!("  - match: Host(`demo-group.maia.example.com`) && ({rule})\n    kind: Rule\n"));
            let (out, _) = run(&input, &config(TRAEFIK));
            assert!(out.contains("oauth2-proxy-auth") && !out.contains("kind: Middleware"), "{rule}:\n{out}");
        }
        let qualified = route(
            "  - match: Host(`demo-group.maia.example.com`)\n    kind: Rule\n    middlewares:\n    - name: demo-group-oauth2-proxy-auth@kubernetescrd\n",
        );
        let (out, _) = run(
            &qualified,
            &config(&[("nginx_cluster_issuer", ""), ("traefik_resolver", "le"), ("ingress_tls", "false")]),
        );
        assert_eq!(out, qualified, "the provider-qualified reference is ours");
    }

    #[test]
    fn an_empty_namespace_is_the_releases() {
        let input = route(APP).replace("namespace: demo-group", "namespace: \"\"");
        let (out, _) = run(&input, &config(TRAEFIK));
        assert!(out.contains("oauth2-proxy-auth"), "{out}");
    }

    #[test]
    fn the_older_traefik_group_is_a_route_too() {
        let input = route(APP).replace("traefik.io/v1alpha1", "traefik.containo.us/v1alpha1");
        let (out, _) = run(&input, &config(TRAEFIK));
        assert!(out.contains("oauth2-proxy-auth") && out.contains("certResolver"), "{out}");
    }
}
