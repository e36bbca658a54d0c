//! The group's login as routes and policies refer to it: oauth2-proxy's Service, its path
//! prefix, the Traefik Middleware and the sign-in page. One definition of "this is the
//! workspace's login" for the oauth patch, the policy and `audit`.

use crate::config::Config;
use crate::resource::Resource;
use saphyr_parser::ScalarStyle;
use serde_json::Value as Json;

use crate::stream::scalar::resolve_plain;
use crate::stream::tree::{Node, Value};

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

    /// An Ingress's `router.middlewares` list names the Middleware first: a middleware before it
    /// sees, and can answer, every request before the login does (found in review).
    pub fn first_in_middleware_list(&self, list: &str) -> bool {
        list.split(',').next().is_some_and(|m| m.trim() == self.middleware_ref())
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

    /// A Middleware is the login: only a forwardAuth to oauth2-proxy's Service at the address
    /// maia-krm writes (its root, which asks for a session): found in review, any path of it
    /// passed, and `/ping` answers 200 to anyone.
    pub fn is_middleware(&self, res: &Resource) -> bool {
        let spec = res.node.get("spec").map(Node::entries).unwrap_or_default();
        let address = res.node.at(&["spec", "forwardAuth", "address"]).and_then(Node::str).unwrap_or_default();
        let url = self.service_url();
        spec.len() == 1
            && spec[0].0.scalar() == Some("forwardAuth")
            && address.strip_prefix(&url).is_some_and(|rest| rest.is_empty() || rest == "/")
    }

    /// An HTTPRoute filter asks oauth2-proxy: Traefik's ExtensionRef to the Middleware, or Gateway
    /// API's ExternalAuth to the Service (routes outside the workspace namespace are never ours).
    pub fn is_filter(&self, filter: &Node) -> bool {
        let at = |path: &[&str]| filter.at(path).and_then(Node::str);
        let middleware = at(&["extensionRef", "kind"]) == Some("Middleware")
            && at(&["extensionRef", "name"]) == Some(&self.middleware);
        let external = filter.at(&["externalAuth", "backendRef"]).is_some_and(|b| self.is_service(b));
        middleware || external
    }

    /// A backend reference (`{name, namespace}`: HTTPRoute `backendRefs`, IngressRoute `services`,
    /// a SecurityPolicy's) names the group's oauth2-proxy: its core Service, not a TraefikService
    /// or another kind of the same name (found in review: one weighted to the app took the
    /// exemption).
    pub fn is_service(&self, backend: &Node) -> bool {
        let core = backend.get("group").and_then(Node::str).is_none_or(str::is_empty)
            && backend.get("kind").and_then(Node::str).is_none_or(|k| k == "Service");
        core && backend.get("name").and_then(Node::str) == Some(self.service.as_str())
            && backend.get("namespace").and_then(Node::str).is_none_or(|ns| ns == self.namespace)
    }

    /// The HTTPRoutes an Envoy Gateway SecurityPolicy of the workspace guards with oauth2-proxy.
    pub fn policy_targets(&self, res: &Resource) -> Vec<String> {
        let in_workspace = res.id.named_namespace().is_none_or(|ns| ns == self.namespace);
        if res.id.kind != "SecurityPolicy" || !in_workspace {
            return Vec::new();
        }
        let http = res.node.at(&["spec", "extAuth", "http"]);
        let backends = http.and_then(|h| h.get("backendRefs")).map(Node::items).unwrap_or_default();
        let deprecated = http.and_then(|h| h.get("backendRef"));
        // Found in review: every backend must be oauth2-proxy (with a second one Envoy may ask a
        // yes-man), asked at the path maia-krm asks (none: oauth2-proxy's `/ping` says yes to anyone).
        let mut asked = backends.iter().chain(deprecated).peekable();
        let asks = asked.peek().is_some() && asked.all(|b| self.is_service(b));
        let path = http.and_then(|h| h.get("path"));
        // `failOpen` lets every request through while oauth2-proxy is down; Kubernetes reads it
        // as YAML 1.1 (`True`, `on`, `yes`), so only an explicit false (or none) fails closed.
        let fails_open = res.node.at(&["spec", "extAuth", "failOpen"]).is_some_and(|f| !is_false(f));
        if !asks || path.is_some() || fails_open {
            return Vec::new();
        }
        let refs = res.node.at(&["spec", "targetRefs"]).map(Node::items).unwrap_or_default();
        refs.iter()
            .filter(|r| r.get("kind").and_then(Node::str) == Some("HTTPRoute"))
            .filter_map(|r| r.get("name").and_then(Node::str).map(str::to_string))
            .collect()
    }
}

/// A YAML 1.1 boolean false: a plain `false`/`no`/`off`… (or one tagged `!!bool`), never a quoted string.
fn is_false(node: &Node) -> bool {
    match &node.value {
        Value::Scalar { text, style: ScalarStyle::Plain, tag } => {
            tag.as_deref().is_none_or(|t| t == "tag:yaml.org,2002:bool") && resolve_plain(text) == Json::Bool(false)
        }
        _ => false,
    }
}

/// oauth2-proxy's own path (under its `prefix`): a login in front of it would redirect to itself.
pub fn is_oauth2_path(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
