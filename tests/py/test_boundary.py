"""The workspace boundary, attacked: a group's own manifests try to take the login off, reach
another workspace's hosts or namespace, or stand something in for the login. Each attack must end
in a refusal (exit 1, nothing on stdout, a reason on stderr) or in a confined, protected output —
read with PyYAML, never with maia-krm's own reader. Controls (oauth2-proxy's own route, JupyterHub's,
an app below the workspace host) must still pass."""

import pathlib
import subprocess

import pytest
import yaml

from conftest import BIN, config_path, run

NGINX = config_path("nginx")
BOTH = config_path("both")
HOST = "demo-group.maia.example.com"
AUTH_URL = "http://demo-group-oauth2-proxy.demo-group.svc.cluster.local/oauth2/auth"
MIDDLEWARE_REF = "demo-group-oauth2-proxy-auth@kubernetescrd"


def ingress(host="app.example.org", path="/", service="web", annotations="{}", namespace=None, labels="{}",
            spec=""):
    ns = f"\n  namespace: {namespace}" if namespace else ""
    rule_host = f"\n  - host: {host}\n    http:" if host else "\n  - http:"
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app{ns}
  labels: {labels}
  annotations: {annotations}
spec:{spec}
  rules:{rule_host}
      paths:
      - path: {path}
        pathType: Prefix
        backend:
          service: {{name: {service}, port: {{number: 80}}}}
"""


def ingress_route(match, service="web", name="app"):
    return f"""apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {{name: {name}}}
spec:
  entryPoints: [websecure]
  routes:
  - kind: Rule
    match: {match}
    services: [{{name: {service}, port: 80}}]
"""


def config_with(tmp_path, base, replace=(), **options):
    """The config `base` with its text edited (`replace`: (old, new) pairs) and options added."""
    text = pathlib.Path(base).read_text()
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    text += "".join(f"  {k}: {v!r}\n" if isinstance(v, str) else f"  {k}: {v}\n" for k, v in options.items())
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def refused(text, config=NGINX, args=(), reason=None):
    proc = run(["--config", config, *args], text, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 1, f"exit {proc.returncode}, not a refusal:\n{err}\n{proc.stdout.decode()}"
    assert proc.stdout == b"", "a refused run writes nothing"
    assert "maia-krm: refused: document" in err, err
    if reason:
        assert reason in err, err
    return err


def passed(text, config=NGINX, args=()):
    proc = run(["--config", config, *args], text)
    return [d for d in yaml.safe_load_all(proc.stdout.decode()) if d is not None], proc.stderr.decode()


def annotations(doc):
    return doc["metadata"].get("annotations") or {}


def protected(doc):
    """An Ingress that leaves with the workspace host, TLS for it and the group's login."""
    assert all(r["host"] == HOST for r in doc["spec"]["rules"]), doc
    assert any(HOST in t.get("hosts", []) for t in doc["spec"].get("tls", [])), doc
    assert annotations(doc).get("nginx.ingress.kubernetes.io/auth-url") == AUTH_URL, doc


# --- exemptions are earned ------------------------------------------------------------------------

def test_the_skip_annotation_cannot_take_the_login_or_the_host_off():
    [doc], _ = passed(ingress(annotations="{maia-krm.io/skip: all}"))
    protected(doc)
    err = run(["--config", NGINX, "--explain"], ingress(annotations="{maia-krm.io/skip: all}")).stderr.decode()
    assert "not honoured" in err, err


def test_the_admin_may_let_the_skip_annotation_waive_a_patch(tmp_path):
    config = config_with(tmp_path, NGINX, skip_allowed="oauth")
    [doc], _ = passed(ingress(host=HOST, annotations="{maia-krm.io/skip: oauth}"), config)
    assert "nginx.ingress.kubernetes.io/auth-url" not in annotations(doc)
    assert doc["spec"]["tls"][0]["hosts"] == [HOST], "only the login was waived"


@pytest.mark.parametrize("text", [
    ingress(path="/oauth2/x"),
    ingress(path="/oauth2", annotations="{nginx.ingress.kubernetes.io/use-regex: 'true'}"),
    ingress_route(f"Host(`{HOST}`) && PathPrefix(`/oauth2`)"),
    ingress_route(f"Host(`{HOST}`) && (PathPrefix(`/oauth2`) || PathPrefix(`/`))",
                  service="demo-group-oauth2-proxy"),
], ids=["ingress", "ingress-regex", "ingressroute", "ingressroute-or"])
def test_an_oauth2_path_to_anything_but_oauth2_proxy_needs_the_login(text):
    # Refused, or patched with the login; never exit 0 without it.
    proc = run(["--config", BOTH], text, check=False)
    if proc.returncode == 0:
        doc = yaml.safe_load(proc.stdout.decode())
        route = doc["spec"].get("routes", [{}])[0]
        assert (annotations(doc).get("nginx.ingress.kubernetes.io/auth-url") == AUTH_URL
                or route.get("middlewares")), doc
    else:
        assert proc.returncode == 1 and proc.stdout == b"", proc.stderr.decode()


def test_http_route_oauth2_path_to_another_backend_needs_the_login():
    text = f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app}}
spec:
  parentRefs: [{{name: public, namespace: gateways}}]
  hostnames: [{HOST}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /oauth2}}}}]
    backendRefs: [{{name: web, port: 80}}]
"""
    refused(text, reason="served without the group's login")


def test_oauth2_proxys_own_route_and_jupyterhubs_pass_without_the_login():
    [doc], _ = passed(ingress(host=HOST, path="/oauth2", service="demo-group-oauth2-proxy"))
    assert "nginx.ingress.kubernetes.io/auth-url" not in annotations(doc)
    hub = ingress(host=HOST, service="proxy-public", labels="{app.kubernetes.io/name: jupyterhub}")
    [doc], _ = passed(hub)
    assert "nginx.ingress.kubernetes.io/auth-url" not in annotations(doc)


def test_jupyterhubs_label_on_another_service_gets_the_login():
    [doc], _ = passed(ingress(labels="{app: jupyterhub, app.kubernetes.io/name: jupyterhub}"))
    protected(doc)


@pytest.mark.parametrize("annotation,reason", [
    ("nginx.ingress.kubernetes.io/auth-url: ''", "kept the chart's value"),
    ("nginx.ingress.kubernetes.io/auth-url: http://evil.example.org/ok", "kept the chart's value"),
    ("nginx.ingress.kubernetes.io/configuration-snippet: 'auth_request off;'", "snippet"),
    ("nginx.ingress.kubernetes.io/server-snippet: 'location / { }'", "snippet"),
    ("nginx.ingress.kubernetes.io/auth-snippet: 'return 200;'", "snippet"),
    ("nginx.ingress.kubernetes.io/enable-global-auth: 'false'", "enable-global-auth"),
    ("nginx.ingress.kubernetes.io/satisfy: any", "satisfy: any"),
    ("nginx.ingress.kubernetes.io/auth-cache-key: 'one'", "auth-cache-key"),
    ("nginx.ingress.kubernetes.io/auth-signin: https://evil.example.org/start", "auth-signin"),
], ids=lambda v: v.split(":")[0].rsplit("/", 1)[-1] if "/" in v else v[:12])
def test_annotations_that_defeat_the_login_are_refused(annotation, reason):
    refused(ingress(annotations="{" + annotation + "}"), reason=reason)


@pytest.mark.parametrize("url", ["http://evil.example.org/auth", "''"])
def test_a_chart_auth_url_is_refused_even_where_traefik_carries_the_login(url):
    # Found by test_boundary_fuzz: on a cluster with both controllers, the Traefik Middleware alone
    # passed an Ingress whose nginx auth-url asked the chart's own service (or nothing).
    annotation = "{nginx.ingress.kubernetes.io/auth-url: " + url + "}"
    refused(ingress(host=HOST, annotations=annotation), BOTH, reason="served without the group's login")


# --- nothing stands in for the login ----------------------------------------------------------------

FAKE_MIDDLEWARES = {
    "headers": "headers:\n    customRequestHeaders: {X-Auth-Request-User: admin}",
    "elsewhere": "forwardAuth:\n    address: http://evil.demo-group.svc.cluster.local/",
    "lookalike": "forwardAuth:\n    address: http://demo-group-oauth2-proxy.demo-group.svc.cluster.local.evil.org/",
    "chain": "chain:\n    middlewares: [{name: other}]",
}


@pytest.mark.parametrize("spec", FAKE_MIDDLEWARES.values(), ids=FAKE_MIDDLEWARES.keys())
def test_a_middleware_named_like_the_login_that_is_not_the_login_is_refused(spec):
    fake = f"apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {{name: oauth2-proxy-auth}}\nspec:\n  {spec}\n"
    text = fake + "---\n" + ingress_route(f"Host(`{HOST}`) && PathPrefix(`/x`)")
    refused(text, BOTH, reason="Middleware named like the group's login")


def test_the_middleware_maia_krm_writes_passes_its_own_check():
    # oauth2-proxy's own Ingress makes maia-krm emit the Middleware (middleware: auto); the output
    # run again must pass, Middleware and all.
    own = ingress(host=HOST, path="/oauth2", service="demo-group-oauth2-proxy")
    out = run(["--config", BOTH], own).stdout.decode()
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert [d["kind"] for d in docs] == ["Ingress", "Middleware"]
    assert run(["--config", BOTH], out).stdout.decode() == out


ENVOY_ROUTE = f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app}}
spec:
  parentRefs: [{{name: public, namespace: gateways}}]
  hostnames: [{HOST}]
  rules:
  - backendRefs: [{{name: web, port: 80}}]
"""


def envoy_config(tmp_path):
    return config_with(tmp_path, NGINX, gateway="{name: public, namespace: gateways}", gateway_auth="envoy-gateway")


def security_policy(name, target, ext_auth):
    return f"""apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {{name: {name}}}
spec:
  targetRefs: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, name: {target}}}]
  {ext_auth}
"""


LOGIN_EXT_AUTH = "extAuth: {http: {backendRefs: [{name: demo-group-oauth2-proxy, port: 80}]}}"


@pytest.mark.parametrize("policy", [
    security_policy("app-oauth2-proxy-auth", "other", LOGIN_EXT_AUTH),
    security_policy("app-oauth2-proxy-auth", "app", "basicAuth: {users: {name: htpasswd}}"),
    security_policy("mine", "app", "authorization: {defaultAction: Allow}"),
    security_policy("app-oauth2-proxy-auth", "app", LOGIN_EXT_AUTH.replace("{http:", "{failOpen: true, http:")),
], ids=["login-name-other-route", "login-name-basic-auth", "own-policy", "fail-open"])
def test_a_security_policy_cannot_take_the_logins_place(tmp_path, policy):
    refused(ENVOY_ROUTE + "---\n" + policy, envoy_config(tmp_path))


def test_the_security_policy_maia_krm_writes_is_the_login(tmp_path):
    config = envoy_config(tmp_path)
    out = run(["--config", config], ENVOY_ROUTE).stdout.decode()
    kinds = [d["kind"] for d in yaml.safe_load_all(out) if d]
    assert kinds == ["HTTPRoute", "SecurityPolicy"]
    assert run(["--config", config], out).stdout.decode() == out


# --- hosts ---------------------------------------------------------------------------------------

FOREIGN_HOSTS = ["other.maia.example.com", "OTHER.maia.example.com", "other.maia.example.com.",
                 "maia.example.com", "iam.maia.example.com", "x.other.maia.example.com",
                 "demo-group-x.maia.example.com"]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_another_workspaces_or_the_platforms_host_is_refused(host):
    refused(ingress(host=host), reason="not on the workspace host")


@pytest.mark.parametrize("host", ["'*.other.maia.example.com'", "'*.maia.example.com'"])
def test_a_wildcard_reaching_beyond_the_workspace_is_confined_to_its_host(host):
    [doc], _ = passed(ingress(host=host))
    protected(doc)


@pytest.mark.parametrize("match", [
    "Host(`other.maia.example.com`)",
    f"Host(`{HOST}`) || Host(`other.maia.example.com`)",
    f"HOST(`{HOST}`, `iam.maia.example.com`)",
    "Host(`maia.example.com`) && PathPrefix(`/`)",
    "HostRegexp(`.+`)",
])
def test_traefik_rules_for_hosts_not_the_workspaces_are_refused(match):
    refused(ingress_route(match), BOTH, reason="not on the workspace host")


def test_a_server_alias_or_tls_entry_for_another_host_is_refused():
    alias = ingress(host=HOST, annotations="{nginx.ingress.kubernetes.io/server-alias: 'other.maia.example.com'}")
    refused(alias, reason="not on the workspace host")
    tls = ingress(host=HOST) + "  tls:\n  - hosts: [other.maia.example.com]\n    secretName: stolen\n"
    refused(tls, reason="not on the workspace host")
    # Found by test_boundary_fuzz: a host outside the domain that no rule serves (so none is
    # rewritten) kept its TLS entry, and the cluster's issuer would sign for any name.
    outside = ingress(host=HOST) + "  tls:\n  - hosts: [www.example.org]\n    secretName: theirs\n"
    refused(outside, reason="not on the workspace host")


def test_a_host_in_capitals_gets_a_secret_name_the_api_server_takes():
    [doc], _ = passed(ingress(host=HOST.upper()))
    assert [t["secretName"] for t in doc["spec"]["tls"]] == [f"{HOST}-tls"], doc["spec"]["tls"]


def test_hosts_below_the_workspace_host_and_admin_listed_hosts_pass(tmp_path):
    [doc], _ = passed(ingress(host=f"app.{HOST}"))
    assert doc["spec"]["rules"][0]["host"] == f"app.{HOST}"
    config = config_with(tmp_path, NGINX, extra_hosts="www.maia.example.com")
    [doc], _ = passed(ingress(host="www.maia.example.com"), config)
    assert doc["spec"]["tls"][0]["hosts"] == ["www.maia.example.com"]
    refused(ingress(host="www2.maia.example.com"), config)


def test_catch_all_routes_get_the_workspace_host_or_are_refused():
    [doc], _ = passed(ingress(host=None))
    protected(doc)
    default_only = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
"""
    refused(default_only, reason="(defaultBackend)")


L4 = {
    "tcp-any-sni": """apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata: {name: db}
spec:
  entryPoints: [websecure]
  routes:
  - match: HostSNI(`*`)
    services: [{name: db, port: 3306}]
""",
    "tcp-own-host": f"""apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata: {{name: db}}
spec:
  routes:
  - match: HostSNI(`{HOST}`)
    services: [{{name: db, port: 3306}}]
  tls: {{passthrough: true}}
""",
    "udp": """apiVersion: traefik.io/v1alpha1
kind: IngressRouteUDP
metadata: {name: dns}
spec:
  routes:
  - services: [{name: dns, port: 53}]
""",
    "tlsroute-other-host": """apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: t}
spec:
  parentRefs: [{name: public, namespace: gateways}]
  hostnames: [other.maia.example.com]
  rules:
  - backendRefs: [{name: db, port: 443}]
""",
    "tcproute": """apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: t}
spec:
  parentRefs: [{name: public, namespace: gateways}]
  rules:
  - backendRefs: [{name: db, port: 3306}]
""",
}


@pytest.mark.parametrize("text", L4.values(), ids=L4.keys())
def test_routes_below_http_cannot_carry_the_login_and_are_refused(text):
    refused(text, BOTH, reason="can't carry the group's login")


# --- namespaces ----------------------------------------------------------------------------------

DEPLOYMENT_ELSEWHERE = """apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: app, namespace: demo-group}]
"""
CLUSTER_ROLE = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]
"""


def test_a_route_in_another_namespace_is_refused_unless_the_admin_allows_it(tmp_path):
    refused(ingress(namespace="other-group"), reason="outside the workspace namespace demo-group")
    config = config_with(tmp_path, NGINX, allowed_namespaces="monitoring")
    [doc], _ = passed(ingress(namespace="monitoring"), config)
    assert doc["spec"]["rules"][0]["host"] == "app.example.org", "an allowed namespace's route is left alone"


def test_what_reaches_beyond_the_workspace_is_noted_in_an_admins_render_and_refused_in_a_groups(tmp_path):
    text = DEPLOYMENT_ELSEWHERE + "---\n" + CLUSTER_ROLE
    docs, err = passed(text)
    assert [d["kind"] for d in docs] == ["RoleBinding", "ClusterRole"]
    assert "2 resource(s) outside the workspace" in err, err
    err = refused(text, args=["--tenant"])
    assert "RoleBinding kube-system/reader" in err and "cluster-scoped ClusterRole" in err, err
    config = config_with(tmp_path, NGINX, tenant="true", allowed_namespaces="kube-system",
                         allowed_cluster_kinds="ClusterRole")
    passed(text, config)


def test_a_groups_render_in_its_own_namespace_passes_in_tenant_mode():
    docs, _ = passed(ingress(namespace="demo-group"), args=["--tenant"])
    protected(docs[0])


# --- the admin's config wins ------------------------------------------------------------------------

def test_a_function_config_in_the_stream_cannot_switch_the_login_off():
    resource_list = f"""apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {{name: x}}
  data: {{oauth: "false", skip_allowed: all, tenant: "false"}}
items:
- {yaml.safe_load(ingress(host=HOST))!r}
""".replace("'", '"')
    proc = run(["--config", NGINX], resource_list)
    out = yaml.safe_load(proc.stdout.decode())
    assert annotations(out["items"][0]).get("nginx.ingress.kubernetes.io/auth-url") == AUTH_URL, out


def test_kpt_refuses_a_groups_package_that_reaches_another_namespace(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "ing.yaml").write_text(ingress(namespace="other-group"))
    before = (pkg / "ing.yaml").read_text()
    env = {"PATH": f"{pathlib.Path(BIN).parent}:/usr/local/bin:/usr/bin:/bin"}
    proc = subprocess.run(["kpt", "fn", "eval", str(pkg), "--exec", BIN, "--fn-config", NGINX,
                           "--truncate-output=false"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0 and "outside the workspace namespace" in proc.stderr, proc.stderr
    assert (pkg / "ing.yaml").read_text() == before


def test_audit_reports_a_stand_in_and_what_reaches_beyond_the_workspace(tmp_path):
    fake = ("apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: oauth2-proxy-auth}\n"
            "spec:\n  " + FAKE_MIDDLEWARES["headers"] + "\n")
    stream = tmp_path / "s.yaml"
    stream.write_text(fake + "---\n" + CLUSTER_ROLE)
    proc = run(["audit", "--config", BOTH, str(stream)], b"", check=False)
    out = proc.stdout.decode()
    assert proc.returncode == 1, out + proc.stderr.decode()
    assert "stand-in Middleware oauth2-proxy-auth: a Middleware named like" in out and "1 cluster-scoped resource(s)" in out, out


# --- what a document holds is read as Kubernetes reads it (found in review) -------------------------

HIDDEN = {
    "kind merged in": "<<: {apiVersion: networking.k8s.io/v1, kind: Ingress}\nmetadata: {name: ghost}\n"
                      "spec:\n  rules:\n  - host: other-group.maia.example.com\n    http:\n      paths:\n"
                      "      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n",
    "namespace merged in": "apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
                           "metadata: {name: ghost, <<: {namespace: other-group}}\n"
                           f"spec:\n  rules:\n  - host: {HOST}\n    http:\n      paths:\n"
                           "      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n",
    "snippet merged in": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: app\n  annotations:\n"
                         "    <<: {nginx.ingress.kubernetes.io/configuration-snippet: 'auth_request off;'}\n"
                         f"spec:\n  rules:\n  - host: {HOST}\n    http:\n      paths:\n"
                         "      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n",
    "list in a list": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n"
                      "  - apiVersion: networking.k8s.io/v1\n    kind: Ingress\n    metadata: {name: hidden}\n"
                      "    spec: {rules: [{host: other-group.maia.example.com, http: {paths: [{path: /, pathType: Prefix, "
                      "backend: {service: {name: web, port: {number: 80}}}}]}}]}\n",
    "list in a config map": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nitems:\n- kind: ConfigMapList\n"
                            "  apiVersion: v1\n  items:\n  - apiVersion: networking.k8s.io/v1\n    kind: Ingress\n"
                            "    metadata: {name: hidden}\n    spec: {rules: [{host: other-group.maia.example.com, "
                            "http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}\n",
}


@pytest.mark.parametrize("text", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_route_hidden_behind_a_merge_key_or_a_nested_list_is_read_and_refused(text):
    # kubectl, Helm and Argo CD resolve `<<` and unpack lists inside lists: so does every rule here.
    refused(text)
    refused(text, args=["--tenant"])
    # audit sees it for what it is too: a route with problems, or a resource in another namespace.
    report = subprocess.run([BIN, "audit", "--config", NGINX, "-o", "json"], input=text.encode(), capture_output=True)
    seen = yaml.safe_load(report.stdout)
    assert report.returncode == 1 or seen["outside_workspace"] == 1, report.stdout.decode()


def test_a_namespace_merged_in_is_refused_in_a_groups_render():
    binding = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
               "metadata: {name: take-over, <<: {namespace: other-group}}\n"
               "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}\n"
               "subjects: [{kind: ServiceAccount, name: default, namespace: demo-group}]\n")
    refused(binding, args=["--tenant"], reason="outside the workspace namespace")


def test_merge_keys_deep_in_what_no_rule_reads_are_left_as_they_came():
    crd_like = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                "data:\n  base: &b {x: '1'}\n  more:\n    <<: *b\n    y: 2021-01-01\n")
    proc = run(["--config", NGINX], crd_like)
    assert proc.stdout.decode() == crd_like
