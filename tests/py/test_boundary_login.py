"""The login's exemptions and stand-ins, attacked (found in review, /tmp/attack of the review): a
backend named like oauth2-proxy that is not its Service, oauth2-proxy's own route made to rewrite or
answer in its place, a SecurityPolicy or Middleware that asks oauth2-proxy something that always
says yes, nginx annotations that take a route over (canary) or replace the login's answer
(custom-http-errors), and a Traefik middleware before the login. Each must be refused (exit 1,
nothing on stdout) or leave protected, read with PyYAML; the controls must still pass."""

import pytest

from conftest import FIXTURES, run
from test_boundary import (BOTH, ENVOY_ROUTE, HOST, LOGIN_EXT_AUTH, MIDDLEWARE_REF, NGINX, annotations,
                           config_with, envoy_config, ingress, ingress_route, passed, protected, refused,
                           security_policy)

TRAEFIK = str(FIXTURES / "config-traefik.yaml")
PROXY = "demo-group-oauth2-proxy"
SERVICE_URL = f"http://{PROXY}.demo-group.svc.cluster.local"
NGINX_ = "nginx.ingress.kubernetes.io/"


def traefik_gateway(tmp_path):
    return config_with(tmp_path, TRAEFIK, gateway="{name: public, namespace: gateways}", gateway_auth="traefik")


def http_route(rule):
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app}}
spec:
  parentRefs: [{{name: public, namespace: gateways}}]
  hostnames: [{HOST}]
  rules:
  - {rule}
"""


TRAEFIK_SERVICE = f"""apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata: {{name: {PROXY}}}
spec:
  weighted:
    services: [{{name: web, port: 80, weight: 1}}]
---
"""


def own_route(middlewares="", service=f"{{name: {PROXY}, port: 80}}"):
    return f"""apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {{name: own}}
spec:
  entryPoints: [websecure]
  routes:
  - kind: Rule
    match: Host(`{HOST}`) && PathPrefix(`/oauth2`){middlewares}
    services: [{service}]
  tls: {{certResolver: letsencrypt}}
"""


# --- 3: oauth2-proxy is its core Service, and its own route is left as it is -------------------

def test_a_traefik_service_named_like_oauth2_proxy_is_not_oauth2_proxy():
    # a1: a TraefikService of oauth2-proxy's name, weighted to the app, took the exemption.
    text = TRAEFIK_SERVICE + own_route(service=f"{{name: {PROXY}, kind: TraefikService}}")
    refused(text, BOTH, reason="served without the group's login")


def test_an_http_route_backend_of_another_kind_named_like_oauth2_proxy_is_not_oauth2_proxy(tmp_path):
    # h1: `{group: traefik.io, kind: TraefikService, name: <oauth2-proxy>}` took the exemption.
    rule = ("matches: [{path: {type: PathPrefix, value: /oauth2}}]\n"
            f"    backendRefs: [{{group: traefik.io, kind: TraefikService, name: {PROXY}, port: 80}}]")
    refused(TRAEFIK_SERVICE + http_route(rule), traefik_gateway(tmp_path), reason="served without the group's login")


def test_a_security_policy_asking_a_lookalike_backend_is_not_the_login(tmp_path):
    ext_auth = f"extAuth: {{http: {{backendRefs: [{{group: traefik.io, kind: TraefikService, name: {PROXY}}}]}}}}"
    refused(ENVOY_ROUTE + "---\n" + security_policy("app-oauth2-proxy-auth", "app", ext_auth), envoy_config(tmp_path))


@pytest.mark.parametrize("backend", [f"{{name: {PROXY}, port: 80}}", f"{{name: {PROXY}, kind: Service, port: 80}}",
                                     f"{{group: '', kind: Service, name: {PROXY}, port: 80}}"])
def test_oauth2_proxys_core_service_keeps_its_exemption(tmp_path, backend):
    docs, _ = passed(own_route(service=backend), BOTH)
    assert "middlewares" not in docs[0]["spec"]["routes"][0], docs
    rule = f"matches: [{{path: {{type: PathPrefix, value: /oauth2}}}}]\n    backendRefs: [{backend}]"
    docs, _ = passed(http_route(rule), traefik_gateway(tmp_path))
    assert "filters" not in docs[0]["spec"]["rules"][0], docs


def test_middlewares_on_oauth2_proxys_own_ingress_route_are_refused():
    # a16: an `errors` middleware on the exempt route answers in oauth2-proxy's place.
    catch = ("apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: catch404}\nspec:\n"
             "  errors: {status: ['400-599'], service: {name: web, port: 80}, query: '/{url}'}\n---\n")
    text = catch + own_route(middlewares="\n    middlewares: [{name: catch404}]")
    refused(text, BOTH, reason="oauth2-proxy's own route")


@pytest.mark.parametrize("kind,filter", [
    ("URLRewrite", "{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}"),
    ("ExtensionRef", "{type: ExtensionRef, extensionRef: {group: traefik.io, kind: Middleware, name: catch}}"),
    ("RequestMirror", "{type: RequestMirror, requestMirror: {backendRef: {name: web, port: 80}}}"),
])
def test_rewriting_filters_on_oauth2_proxys_own_http_route_rule_are_refused(tmp_path, kind, filter):
    rule = (f"matches: [{{path: {{type: PathPrefix, value: /oauth2}}}}]\n    filters: [{filter}]\n"
            f"    backendRefs: [{{name: {PROXY}, port: 80}}]")
    refused(http_route(rule), traefik_gateway(tmp_path), reason="oauth2-proxy's own route")


@pytest.mark.parametrize("annotation", [
    f"{NGINX_}custom-http-errors: '404,403,401,400,500'",
    f"{NGINX_}default-backend: web",
    f"{NGINX_}mirror-target: https://web.example.org$request_uri",
])
def test_annotations_that_intercept_oauth2_proxys_own_ingress_are_refused(annotation):
    # a2: custom-http-errors and default-backend on oauth2-proxy's own Ingress hand its answers
    # (and, while it has no endpoints, its /oauth2/callback) to the group's backend.
    text = ingress(host=HOST, path="/oauth2", service=PROXY, annotations="{" + annotation + "}")
    refused(text, reason="oauth2-proxy's own route")


def test_oauth2_proxys_own_ingress_as_its_chart_writes_it_passes():
    text = ingress(host=HOST, path="/oauth2", service=PROXY,
                   annotations="{cert-manager.io/cluster-issuer: cluster-issuer, "
                               f"{NGINX_}proxy-buffer-size: 16k}}")
    [doc], _ = passed(text)
    assert f"{NGINX_}auth-url" not in annotations(doc)


# --- 5: a stand-in must ask oauth2-proxy exactly what maia-krm asks it -----------------------------

@pytest.mark.parametrize("fail_open", ["true", "True", "TRUE", "on", "On", "yes", "y", "'false'", "1", "'true'"])
def test_a_security_policy_that_fails_open_in_any_spelling_is_not_the_login(tmp_path, fail_open):
    # e1, e1b: only the text "true" was read as failing open; Kubernetes reads YAML 1.1.
    ext_auth = LOGIN_EXT_AUTH.replace("{http:", f"{{failOpen: {fail_open}, http:")
    refused(ENVOY_ROUTE + "---\n" + security_policy("app-oauth2-proxy-auth", "app", ext_auth), envoy_config(tmp_path))


@pytest.mark.parametrize("fail_open", ["false", "False", "off", "no"])
def test_a_security_policy_that_fails_closed_is_the_login(tmp_path, fail_open):
    ext_auth = LOGIN_EXT_AUTH.replace("{http:", f"{{failOpen: {fail_open}, http:")
    docs, _ = passed(ENVOY_ROUTE + "---\n" + security_policy("app-oauth2-proxy-auth", "app", ext_auth),
                     envoy_config(tmp_path))
    assert [d["kind"] for d in docs] == ["HTTPRoute", "SecurityPolicy"], "the chart's policy is the login: no second"


@pytest.mark.parametrize("path", ["/ping", "/", "''"])
def test_a_security_policy_that_asks_oauth2_proxy_another_path_is_not_the_login(tmp_path, path):
    # e3: oauth2-proxy's /ping answers 200 to anyone.
    ext_auth = LOGIN_EXT_AUTH.replace("{http: {", f"{{http: {{path: {path}, ")
    refused(ENVOY_ROUTE + "---\n" + security_policy("app-oauth2-proxy-auth", "app", ext_auth), envoy_config(tmp_path))


def test_a_security_policy_that_also_asks_another_backend_is_not_the_login(tmp_path):
    # e2: with a second backend (weight 1) Envoy may ask a yes-man instead.
    ext_auth = ("extAuth: {http: {backendRefs: [{name: demo-group-oauth2-proxy, port: 80, weight: 0}, "
                "{name: yes-man, port: 80, weight: 1}]}}")
    refused(ENVOY_ROUTE + "---\n" + security_policy("app-oauth2-proxy-auth", "app", ext_auth), envoy_config(tmp_path))


@pytest.mark.parametrize("address", [f"{SERVICE_URL}/ping", f"{SERVICE_URL}/oauth2/sign_in", f"{SERVICE_URL}//"])
def test_a_forward_auth_to_another_path_of_oauth2_proxy_is_not_the_login(address):
    # t1: /ping answers 200 to anyone; only the address maia-krm writes is the login.
    fake = ("apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: oauth2-proxy-auth}\n"
            f"spec:\n  forwardAuth:\n    address: {address}\n---\n")
    refused(fake + ingress_route(f"Host(`{HOST}`)"), BOTH, reason="Middleware named like the group's login")


@pytest.mark.parametrize("address", [SERVICE_URL, f"{SERVICE_URL}/"])
def test_the_forward_auth_maia_krm_writes_is_the_login(address):
    mine = ("apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: oauth2-proxy-auth}\n"
            f"spec:\n  forwardAuth:\n    address: {address}\n---\n")
    docs, _ = passed(mine + ingress_route(f"Host(`{HOST}`)"), BOTH)
    assert docs[1]["spec"]["routes"][0]["middlewares"][0]["name"] == "oauth2-proxy-auth", docs


# --- 6: an nginx canary takes the main Ingress's route, login or not --------------------------------

@pytest.mark.parametrize("value", ["'true'", "'True'", "'TRUE'", "'t'", "'T'", "'1'"])
@pytest.mark.parametrize("path,service", [("/", "web"), ("/oauth2", "web")], ids=["hub-root", "oauth2"])
def test_a_canary_ingress_is_refused_in_every_spelling_nginx_reads_as_true(value, path, service):
    # a4b, a4c: a canary uses the main Ingress's config; its own auth-url does nothing.
    text = ingress(host=HOST, path=path, service=service,
                   annotations=f"{{{NGINX_}canary: {value}, {NGINX_}canary-weight: '100'}}")
    refused(text, reason="canary")


@pytest.mark.parametrize("value", ["'false'", "'0'", "'F'"])
def test_an_ingress_that_is_not_a_canary_passes(value):
    [doc], _ = passed(ingress(host=HOST, annotations=f"{{{NGINX_}canary: {value}}}"))
    protected(doc)


# --- 7: nothing replaces the login's answer -----------------------------------------------------------

@pytest.mark.parametrize("codes", ["401", "403", "404,403", "500", "502, 503", "599"])
def test_custom_http_errors_covering_the_logins_answers_are_refused(codes):
    # a2, a13: the login's 401/403 (or a 5xx while oauth2-proxy is down) replaced by the group's page.
    text = ingress(host=HOST, annotations=f"{{{NGINX_}custom-http-errors: '{codes}', {NGINX_}default-backend: web}}")
    refused(text, reason="custom-http-errors")


def test_custom_http_errors_the_login_never_answers_pass():
    [doc], _ = passed(ingress(host=HOST, annotations=f"{{{NGINX_}custom-http-errors: '404,418'}}"))
    protected(doc)


ERRORS_MIDDLEWARE = """apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: catch}
spec:
  errors:
    status: ["300-599"]
    service: {name: web, port: 80}
    query: "/{status}"
---
"""


def test_the_login_goes_before_the_charts_own_middlewares():
    # a6: an `errors` middleware listed before the login answered its 401/302 with the app.
    route = ingress_route(f"Host(`{HOST}`) && PathPrefix(`/app`)").replace(
        "    services:", "    middlewares: [{name: catch}]\n    services:")
    ing = ingress(host=HOST, path="/app2", annotations="{traefik.ingress.kubernetes.io/router.middlewares: "
                                                       "demo-group-catch@kubernetescrd}")
    docs, _ = passed(ERRORS_MIDDLEWARE + route + "---\n" + ing, BOTH)
    by_kind = {d["kind"]: d for d in docs}
    assert [m["name"] for m in by_kind["IngressRoute"]["spec"]["routes"][0]["middlewares"]] == \
        ["oauth2-proxy-auth", "catch"], by_kind["IngressRoute"]
    listed = annotations(by_kind["Ingress"])["traefik.ingress.kubernetes.io/router.middlewares"]
    assert listed.split(",") == [MIDDLEWARE_REF, "demo-group-catch@kubernetescrd"], listed


def test_the_login_goes_first_in_a_block_list_too():
    route = ingress_route(f"Host(`{HOST}`) && PathPrefix(`/app`)").replace(
        "    services:", "    middlewares:\n    # the chart's\n    - name: catch\n    services:")
    docs, _ = passed(ERRORS_MIDDLEWARE + route, BOTH)
    assert [m["name"] for m in docs[1]["spec"]["routes"][0]["middlewares"]] == ["oauth2-proxy-auth", "catch"]


def test_a_login_listed_after_another_middleware_is_refused():
    route = ingress_route(f"Host(`{HOST}`) && PathPrefix(`/app`)").replace(
        "    services:", "    middlewares: [{name: catch}, {name: oauth2-proxy-auth}]\n    services:")
    refused(ERRORS_MIDDLEWARE + route, BOTH, reason="before the login")
    ing = ingress(host=HOST, annotations="{traefik.ingress.kubernetes.io/router.middlewares: "
                                         f"'demo-group-catch@kubernetescrd,{MIDDLEWARE_REF}'}}")
    refused(ERRORS_MIDDLEWARE + ing, BOTH, reason="before the login")


# --- 12: what copies or pins the session, and nginx's boolean spellings -----------------------------

@pytest.mark.parametrize("annotation,reason", [
    (f"{NGINX_}mirror-target: https://collector.example.org$request_uri", "mirror-target"),
    (f"{NGINX_}auth-proxy-set-headers: demo-group/shared-session", "auth-proxy-set-headers"),
])
def test_annotations_that_copy_or_pin_the_session_are_refused(annotation, reason):
    refused(ingress(host=HOST, annotations="{" + annotation + "}"), reason=reason)


@pytest.mark.parametrize("value", ["'False'", "'FALSE'", "'0'", "'f'", "'F'"])
def test_enable_global_auth_off_in_every_spelling_nginx_reads_is_refused(value):
    refused(ingress(host=HOST, annotations=f"{{{NGINX_}enable-global-auth: {value}}}"), reason="enable-global-auth")


@pytest.mark.parametrize("value", ["'true'", "'True'", "'1'", "'t'"])
def test_use_regex_in_every_spelling_nginx_reads_as_true_is_read_as_a_regex(tmp_path, value):
    # On a shared host, `/demo-group/.*|/` is inside the workspace as a prefix and everything as a regex.
    text = FIXTURES.joinpath("config-workspace.yaml").read_text().replace("url_type: subdomain", "url_type: subpath")
    config = tmp_path / "subpath.yaml"
    config.write_text(text)
    route = ingress(host="maia.example.com", path="/demo-group/.*|/",
                    annotations=f"{{{NGINX_}use-regex: {value}}}").replace("Prefix", "ImplementationSpecific")
    refused(route, str(config), reason="outside the workspace's paths")
