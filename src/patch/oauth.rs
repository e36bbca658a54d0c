//! OAuth: puts oauth2-proxy (served at `https://<oauth_url>/oauth2`) in front of every route (see
//! `routes`): Ingress as below; an IngressRoute gets the Middleware on each route; an HTTPRoute
//! gets it the way its Gateway implementation takes it (`gateway_auth`: Traefik's ExtensionRef,
//! Gateway API's ExternalAuth filter, or an Envoy Gateway SecurityPolicy beside the route).
//!
//! - nginx (`nginx_cluster_issuer` set, or an nginx `ingress_class`): `auth-url` pointing at the
//!   oauth2-proxy Service, `auth-signin` at `oauth_url`, and (option `oauth_response_headers`)
//!   `auth-response-headers`. Never any `*-snippet` annotation.
//! - Traefik (`traefik_resolver` set, or a traefik `ingress_class`): a reference to the namespace's
//!   forwardAuth Middleware put first in `router.middlewares` (a comma-separated list: the chart's
//!   entries kept after it, never replaced), and the Middleware itself after the stream (option
//!   `middleware`). First, because a middleware before the login sees, and can answer, every
//!   request before it does (an `errors` middleware turns its 401 into the app's page).
//! - Never on oauth2-proxy's own Ingress (a path under `/oauth2`): it would redirect to itself.
//! - Not on JupyterHub's Ingress unless `oauth_jupyterhub` is set: it logs in through Keycloak.
//!
//! Every value written is built from validated DNS names, so no form value reaches an annotation raw.

use serde_json::json;

use super::ingress_tls::ingress_spec;
use super::objects;
use super::{Change, NewDocument, Outcome, Patch, Report, StreamSummary, add_items, annotate};
use crate::config::{Config, GatewayAuth, MiddlewareMode};
use crate::resource::{Resource, ResourceId};
use crate::rules::login::Login;
use crate::rules::routes::{self, Api, Routes, RuleRole};
use crate::rules::traefik_rule;
use crate::stream::edit::Edits;
use crate::stream::tree::Node;

const MIDDLEWARES: &str = "traefik.ingress.kubernetes.io/router.middlewares";
const OAUTH2_PROXY_INGRESS: &str = "oauth2-proxy-ingress";

pub struct OAuth {
    routes: Routes,
    login: Login,
    nginx: Vec<(String, String)>,
    /// `<ns>-<middleware>@kubernetescrd`, when the Traefik flavour is on.
    middleware_ref: Option<String>,
    middleware_mode: MiddlewareMode,
}

impl OAuth {
    pub fn new(config: &Config) -> Self {
        let (c, o) = (&config.cluster, &config.options);
        let flavour = c.flavour();
        let login = Login::new(config);
        let mut nginx = Vec::new();
        if flavour.nginx {
            nginx.push(("nginx.ingress.kubernetes.io/auth-url".into(), login.auth_url()));
            nginx.push((
                "nginx.ingress.kubernetes.io/auth-signin".into(),
                format!("{}?rd=$scheme://$host$escaped_request_uri", login.sign_in),
            ));
            if o.oauth_response_headers {
                nginx.push((
                    "nginx.ingress.kubernetes.io/auth-response-headers".into(),
                    "X-Auth-Request-User,X-Auth-Request-Email".into(),
                ));
            }
        }
        OAuth {
            routes: Routes::new(config),
            middleware_ref: flavour.traefik.then(|| login.middleware_ref()),
            login,
            nginx,
            middleware_mode: o.middleware,
        }
    }

    fn middleware_reference(&self, reference: &str, res: &Resource, edits: &mut Edits, report: &mut Report) {
        let field = format!("metadata.annotations.{MIDDLEWARES}");
        let node = res.node.at(&["metadata", "annotations", MIDDLEWARES]);
        // The chart's list is kept exactly as written (spaces too); the reference goes before it
        // (found in review: an `errors` middleware before the login answered its 401 with the app).
        // A list that names it later is left for the policy to refuse.
        match node.and_then(Node::str).filter(|v| !v.trim().is_empty()) {
            Some(list) if self.login.in_middleware_list(list) => {
                report.unchanged(&field, format!("already lists {reference}"))
            }
            Some(list) => {
                edits.replace_scalar(node.expect("value was read"), &format!("{reference},{list}"));
                report.changed(&field, format!("put {reference} first"));
            }
            None => annotate(res, &[(MIDDLEWARES.to_string(), reference.to_string())], edits, report),
        }
    }

    fn middleware(&self) -> serde_json::Value {
        json!({
            "apiVersion": "traefik.io/v1alpha1",
            "kind": "Middleware",
            "metadata": {
                "name": self.login.middleware,
                "namespace": self.login.namespace,
                "labels": objects::managed_by(),
            },
            "spec": {"forwardAuth": {
                // oauth2-proxy runs auth-only (`upstreams = static://200`): an authenticated request
                // gets 200, an anonymous one the sign-in page, which Traefik passes to the browser.
                "address": format!("{}/", self.login.service_url()),
                "trustForwardHeader": true,
                "authResponseHeaders": AUTH_RESPONSE_HEADERS,
            }},
        })
    }
}

/// Headers oauth2-proxy answers with that the app may use (who is logged in).
const AUTH_RESPONSE_HEADERS: [&str; 3] = ["X-Auth-Request-User", "X-Auth-Request-Email", "Authorization"];
/// Headers an external-auth check must carry to oauth2-proxy beyond the defaults (host, method,
/// path, authorization): the session cookie, and the scheme for the sign-in redirect.
const AUTH_REQUEST_HEADERS: [&str; 2] = ["cookie", "x-forwarded-proto"];

impl OAuth {
    /// A Gateway API HTTPRoute, the way its implementation (`gateway_auth`) takes a login: a
    /// filter on every rule but oauth2-proxy's own and redirects (Traefik's `ExtensionRef` to the
    /// forwardAuth Middleware; Gateway API's `ExternalAuth`), or Envoy Gateway's route-wide
    /// `SecurityPolicy`, added beside the route.
    fn http_route(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        let Some(auth) = self.routes.gateway_auth() else {
            return report.conflict(
                "spec.rules",
                "login not added: set the cluster key gateway_auth (traefik, envoy-gateway, external-auth)",
            );
        };
        let rules = res.node.at(&["spec", "rules"]).filter(|r| r.is_seq() && !r.items().is_empty());
        let Some(rules) = rules else {
            return report.conflict("spec.rules", "no rules to put the login on; left alone");
        };
        if auth == GatewayAuth::EnvoyGateway {
            return self.security_policy(res, rules, report);
        }
        for (i, rule) in rules.items().iter().enumerate().filter(|(_, r)| r.is_map()) {
            let field = format!("spec.rules[{i}].filters");
            match routes::rule_role(rule, &self.login.prefix) {
                RuleRole::OAuth2Proxy => {
                    report.mark(OAUTH2_PROXY_INGRESS);
                    report.unchanged(&field, "oauth2-proxy's own rule: no auth in front of it (it would loop)");
                    continue;
                }
                RuleRole::Redirect => {
                    report.unchanged(&field, "a redirect forwards nothing: no login in front of it");
                    continue;
                }
                RuleRole::App => {}
            }
            let filters = rule.get("filters").map(Node::items).unwrap_or_default();
            let (filter, what) = self.gateway_filter(auth);
            if filters.iter().any(|f| self.login.is_filter(f)) {
                report.unchanged(&field, format!("already has {what}"));
                continue;
            }
            match add_items(edits, rule, "filters", vec![filter]) {
                Ok(()) => report.changed(&field, format!("added {what}")),
                Err(why) => report.conflict(&field, format!("{why}; left alone")),
            }
        }
    }

    /// The filter that puts the login in front of a rule, and how the report names it.
    fn gateway_filter(&self, auth: GatewayAuth) -> (serde_json::Value, String) {
        if auth == GatewayAuth::ExternalAuth {
            let filter = json!({
                "type": "ExternalAuth",
                "externalAuth": {
                    "protocol": "HTTP",
                    "backendRef": {"name": self.login.service, "port": 80},
                    "http": {"allowedHeaders": AUTH_REQUEST_HEADERS, "allowedResponseHeaders": AUTH_RESPONSE_HEADERS},
                },
            });
            return (filter, format!("an ExternalAuth filter to Service {}", self.login.service));
        }
        let filter = json!({
            "type": "ExtensionRef",
            "extensionRef": {"group": "traefik.io", "kind": "Middleware", "name": self.login.middleware},
        });
        (filter, format!("an ExtensionRef to Middleware {}", self.login.middleware))
    }

    /// Envoy Gateway: a `SecurityPolicy` whose `extAuth` asks oauth2-proxy, one per route, added
    /// beside it (a policy covers the whole route, so a route that mixes oauth2-proxy's own rules
    /// with an app's is reported rather than locked in a login loop).
    fn security_policy(&self, res: &Resource, rules: &Node, report: &mut Report) {
        let roles: Vec<RuleRole> =
            rules.items().iter().filter(|r| r.is_map()).map(|r| routes::rule_role(r, &self.login.prefix)).collect();
        let apps = roles.iter().filter(|r| matches!(r, RuleRole::App)).count();
        let own = roles.iter().any(|r| matches!(r, RuleRole::OAuth2Proxy));
        if own {
            report.mark(OAUTH2_PROXY_INGRESS);
        }
        match (apps, own) {
            (0, true) => {
                return report
                    .unchanged("spec.rules", "oauth2-proxy's own route: no auth in front of it (it would loop)");
            }
            (0, false) => return report.unchanged("spec.rules", "the route only redirects: no login in front of it"),
            (_, true) => {
                return report.conflict(
                    "spec.rules",
                    "login not added: the route serves oauth2-proxy's /oauth2 beside the app, and a SecurityPolicy \
                     covers a whole route; give oauth2-proxy a route of its own",
                );
            }
            _ => {}
        }
        let name = format!("{}-{}", res.id.name, self.login.middleware);
        if name.len() > 253 {
            return report.conflict(
                "spec.rules",
                "login not added: the route's name is too long to name a SecurityPolicy after it",
            );
        }
        report.want(
            json!({
                "apiVersion": "gateway.envoyproxy.io/v1alpha1",
                "kind": "SecurityPolicy",
                "metadata": objects::beside(&name, res.id.namespace.as_deref()),
                "spec": {
                    "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": res.id.name}],
                    "extAuth": {
                        "headersToExtAuth": AUTH_REQUEST_HEADERS,
                        "http": {
                            "backendRefs": [{"name": self.login.service, "port": 80}],
                            "headersToBackend": AUTH_RESPONSE_HEADERS,
                        },
                    },
                },
            }),
            format!("the group's login (oauth2-proxy) for HTTPRoute {}", res.id.name),
        );
    }

    /// A Traefik IngressRoute: the namespace's forwardAuth Middleware is put first in every
    /// route's `middlewares` (before the chart's own, which could answer in its place), except
    /// oauth2-proxy's own routes.
    fn ingress_route(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        if self.middleware_ref.is_none() {
            return report.conflict(
                "spec.routes",
                "an IngressRoute needs Traefik's forwardAuth Middleware: set traefik_resolver or a traefik ingress_class",
            );
        }
        let routes = res.node.at(&["spec", "routes"]).map(Node::items).unwrap_or_default();
        for (i, route) in routes.iter().enumerate().filter(|(_, r)| r.is_map()) {
            let field = format!("spec.routes[{i}].middlewares");
            if route
                .get("match")
                .and_then(Node::str)
                .is_some_and(|m| traefik_rule::serves_only_oauth2(m, &self.login.prefix))
            {
                report.mark(OAUTH2_PROXY_INGRESS);
                report.unchanged(&field, "oauth2-proxy's own route: no auth in front of it (it would loop)");
                continue;
            }
            let listed = route.get("middlewares").map(Node::items).unwrap_or_default();
            if listed.iter().any(|m| self.login.is_route_middleware(m)) {
                report.unchanged(&field, format!("already lists {}", self.login.middleware));
                continue;
            }
            let reference = json!({"name": self.login.middleware, "namespace": self.login.namespace});
            let added = match route.get("middlewares").filter(|m| m.is_seq() && !m.items().is_empty()) {
                Some(seq) => edits.prepend(seq, &reference),
                None => add_items(edits, route, "middlewares", vec![reference]),
            };
            match added {
                Ok(()) => {
                    report.changed(&field, format!("put {}/{} first", self.login.namespace, self.login.middleware))
                }
                Err(why) => report.conflict(&field, format!("{why}; left alone")),
            }
        }
    }
}

impl Patch for OAuth {
    fn name(&self) -> &'static str {
        "oauth"
    }

    fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        routes::api(api_version, kind).is_some()
    }

    fn apply(&self, res: &Resource, edits: &mut Edits, report: &mut Report) {
        if let Some(why) = self.routes.outside_workspace(res) {
            return report.conflict("metadata.namespace", why);
        }
        let api = routes::api(&res.id.api_version, &res.id.kind);
        if let Some(why) = self.routes.skips_login(res) {
            let field = if api == Some(Api::IngressRoute) { "spec.routes" } else { "metadata.annotations" };
            return report.unchanged(field, why);
        }
        match api {
            Some(Api::IngressRoute) => return self.ingress_route(res, edits, report),
            Some(Api::HttpRoute | Api::GrpcRoute) if routes::is_mesh_route(res) => return,
            Some(Api::HttpRoute) => return self.http_route(res, edits, report),
            Some(Api::GrpcRoute) => {
                return report.conflict("spec.rules", "login not added: GRPCRoutes are not patched");
            }
            _ => {}
        }
        if let Err((field, why)) = ingress_spec(res) {
            return report.conflict(field, why);
        }
        if routes::ingress_serves_oauth2(res, &self.login.prefix) {
            report.mark(OAUTH2_PROXY_INGRESS);
            return report.unchanged(
                "metadata.annotations",
                "oauth2-proxy's own Ingress: no auth in front of it (it would loop)",
            );
        }
        if self.nginx.is_empty() && self.middleware_ref.is_none() {
            return report.conflict(
                "metadata.annotations",
                "cannot tell nginx from Traefik: set nginx_cluster_issuer, traefik_resolver or ingress_class",
            );
        }
        annotate(res, &self.nginx, edits, report);
        if let Some(reference) = &self.middleware_ref {
            self.middleware_reference(reference, res, edits, report);
        }
    }

    fn new_documents(&self, stream: &StreamSummary) -> Vec<NewDocument> {
        if self.middleware_ref.is_none() && self.routes.gateway_auth() != Some(GatewayAuth::Traefik) {
            return Vec::new();
        }
        let wanted = match self.middleware_mode {
            MiddlewareMode::Never => false,
            MiddlewareMode::Always => true,
            MiddlewareMode::Auto => stream.marks.contains(&OAUTH2_PROXY_INGRESS),
        };
        if !wanted || stream.holds("Middleware", &self.login.middleware, Some(&self.login.namespace)) {
            return Vec::new();
        }
        let resource = ResourceId {
            api_version: "traefik.io/v1alpha1".into(),
            kind: "Middleware".into(),
            name: self.login.middleware.clone(),
            namespace: Some(self.login.namespace.clone()),
            file: None,
        };
        vec![NewDocument {
            value: self.middleware(),
            change: Change {
                outcome: Outcome::Changed,
                patch: "oauth",
                resource,
                document: stream.documents + 1,
                field: String::new(),
                message: format!("added the forwardAuth Middleware to {}", self.login.service_url()),
            },
        }]
    }
}

#[cfg(test)]
mod tests {
    use crate::patch::Outcome;
    use crate::testutil::{config, docs, messages, run};
    use serde_json::json;

    fn ingress(name: &str, path: &str, extra_annotations: &str) -> String {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  annotations:\n    x: y{extra_annotations}\nspec:\n  rules:\n  - host: demo-group.maia.example.com\n    http:\n      paths:\n      - path: {path}\n        pathType: Prefix\n        backend: {{service: {{name: s, port: {{number: 80}}}}}}\n"
        )
    }

    #[test]
    fn nginx_apps_get_auth_url_and_signin_and_never_a_snippet() {
        let (out, _) = run(&ingress("app", "/", ""), &config(&[("ingress_tls", "false")]));
        let a = &docs(&out)[0]["metadata"]["annotations"];
        assert_eq!(
            a["nginx.ingress.kubernetes.io/auth-url"],
            json!("http://oauth2-proxy.demo-group.svc.cluster.local/oauth2/auth")
        );
        assert_eq!(
            a["nginx.ingress.kubernetes.io/auth-signin"],
            json!("https://demo-group.maia.example.com/oauth2/start?rd=$scheme://$host$escaped_request_uri")
        );
        assert_eq!(
            a["nginx.ingress.kubernetes.io/auth-response-headers"],
            json!("X-Auth-Request-User,X-Auth-Request-Email")
        );
        assert!(!out.contains("snippet"));
        assert!(out.contains("\n    x: y\n"), "the chart's `x: y` (true under YAML 1.1) is written as it was");
        assert_eq!(a["x"], json!(true));
    }

    #[test]
    fn oauth2_proxy_own_ingress_is_never_protected() {
        let input = ingress("oauth2-proxy", "/oauth2", "");
        let (out, changes) = run(&input, &config(&[("ingress_tls", "false")]));
        assert_eq!(out, input);
        assert!(messages(&changes, Outcome::Unchanged).iter().any(|m| m.contains("would loop")));
    }

    #[test]
    fn jupyterhub_only_when_asked() {
        let labelled =
            ingress("jupyterhub", "/", "").replace("  annotations:", "  labels:\n    app: jupyterhub\n  annotations:");
        // The label alone is anyone's to write: only a route to the hub's Service is the hub's.
        let (out, _) = run(&labelled, &config(&[("ingress_tls", "false")]));
        assert!(out.contains("auth-url"), "{out}");
        let input = labelled.replace("name: s,", "name: proxy-public,");
        let (out, _) = run(&input, &config(&[("ingress_tls", "false")]));
        assert_eq!(out, input);
        let (out, _) = run(&input, &config(&[("ingress_tls", "false"), ("oauth_jupyterhub", "true")]));
        assert!(out.contains("auth-url"));
    }

    #[test]
    fn traefik_middleware_goes_first_in_an_existing_list() {
        let cfg = config(&[("ingress_tls", "false"), ("nginx_cluster_issuer", ""), ("traefik_resolver", "le")]);
        let input = ingress(
            "app",
            "/",
            "\n    traefik.ingress.kubernetes.io/router.middlewares: kube-system-headers@kubernetescrd",
        );
        let (out, _) = run(&input, &cfg);
        assert_eq!(
            docs(&out)[0]["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.middlewares"],
            json!("demo-group-oauth2-proxy-auth@kubernetescrd,kube-system-headers@kubernetescrd")
        );
        assert_eq!(
            docs(&out).len(),
            1,
            "no Middleware without oauth2-proxy's Ingress in the stream (middleware: auto)"
        );
    }

    #[test]
    fn the_middleware_comes_with_oauth2_proxy_once() {
        let cfg = config(&[("ingress_tls", "false"), ("nginx_cluster_issuer", ""), ("traefik_resolver", "le")]);
        let input = format!("{}---\n{}", ingress("oauth2-proxy", "/oauth2", ""), ingress("app", "/", ""));
        let (out, _) = run(&input, &cfg);
        let d = docs(&out);
        assert_eq!(d.len(), 3);
        assert_eq!(d[2]["kind"], json!("Middleware"));
        assert_eq!(d[2]["apiVersion"], json!("traefik.io/v1alpha1"));
        assert_eq!(d[2]["metadata"]["namespace"], json!("demo-group"));
        assert_eq!(d[2]["spec"]["forwardAuth"]["address"], json!("http://oauth2-proxy.demo-group.svc.cluster.local/"));
        let (again, _) = run(&out, &cfg);
        assert_eq!(again, out, "a second run adds no second Middleware");
    }

    #[test]
    fn middleware_modes() {
        let base = [("ingress_tls", "false"), ("nginx_cluster_issuer", ""), ("traefik_resolver", "le")];
        let app = ingress("app", "/", "");
        let (out, _) = run(&app, &config(&[base.as_slice(), &[("middleware", "always")]].concat()));
        assert_eq!(docs(&out).len(), 2);
        let both = format!("{}---\n{app}", ingress("oauth2-proxy", "/oauth2", ""));
        let (out, _) = run(&both, &config(&[base.as_slice(), &[("middleware", "never")]].concat()));
        assert_eq!(docs(&out).len(), 2);
    }

    #[test]
    fn without_oauth_url_there_is_no_oauth_patch() {
        let input = ingress("app", "/", "");
        let (out, _) = run(&input, &config(&[("ingress_tls", "false"), ("oauth_url", "")]));
        assert_eq!(out, input);
    }
}
