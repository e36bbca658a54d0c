//! The route patches (`ingress-tls`, `oauth`) together on Traefik IngressRoutes and Gateway API
//! HTTPRoutes, run through the whole pipeline.

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
        json!([{"name": "oauth2-proxy-auth", "namespace": "demo-group"}, {"name": "strip"}]),
        "the login first: a middleware before it could answer for it"
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
    let (out, changes) =
        run(&route(APP), &config(&[("nginx_cluster_issuer", ""), ("ingress_class", "traefik"), ("oauth", "false")]));
    assert!(!out.contains("tls:"), "{out}");
    assert!(messages(&changes, Outcome::Conflict).iter().any(|m| m.contains("no certificate source")), "{changes:?}");
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
    let (out, _) =
        run(&qualified, &config(&[("nginx_cluster_issuer", ""), ("traefik_resolver", "le"), ("ingress_tls", "false")]));
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
