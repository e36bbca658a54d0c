"""The workspace boundary under random attack: seeded random routes of every HTTP route API (Ingress,
IngressRoute, HTTPRoute) — host spellings inside and outside the workspace, Traefik rule syntax,
oauth2-proxy's paths and look-alikes, JupyterHub's labels, annotations that would undo the login,
other namespaces — each run through maia-krm. The oracle below is written from the policy as the
README states it, reads the output with PyYAML, and shares no code with maia-krm:

- a refused run (exit 1) writes nothing and names a document;
- a passed run (exit 0) leaves every route on the workspace host or below it, with TLS, in the
  workspace namespace, and with the group's login in front of every path that is not oauth2-proxy's
  own (an Ingress path under /oauth2 to oauth2-proxy; a Traefik or Gateway rule that leads only to
  oauth2-proxy, which reaches no app) or JupyterHub's (its labels and every backend the hub's
  Service); and with none of the annotations that undo the login.

Set MAIA_FUZZ_CASES for a longer run (the quick tier runs a few dozen per API)."""

import os
import random
import re

import pytest
import yaml

from conftest import config_path, run

CONFIG = config_path("both")  # nginx and Traefik annotations, a resolver: every route API patched
WS = "demo-group.maia.example.com"
NS = "demo-group"
OAUTH2 = "demo-group-oauth2-proxy"
HUB = "proxy-public"
AUTH_URL = f"http://{OAUTH2}.{NS}.svc.cluster.local/oauth2/auth"
SIGN_IN = f"https://{WS}/oauth2/start"
MIDDLEWARE = "oauth2-proxy-auth"
MIDDLEWARE_REF = f"{NS}-{MIDDLEWARE}@kubernetescrd"
CASES = int(os.environ.get("MAIA_FUZZ_CASES", "60"))

OWN_HOSTS = [WS, f"app.{WS}", f"a.b.{WS}", WS.upper(), f"App.{WS}", f"*.{WS}", "app.example.org"]
HOSTS = [
    *OWN_HOSTS,
    "other-group.maia.example.com", "maia.example.com", "iam.maia.example.com", "*.maia.example.com",
    f"evil-{WS}", f"{WS}.evil.com", "app.example.org", "chart-example.local", "localhost",
    f"x.other-group.maia.example.com", "MAIA.EXAMPLE.COM", "*",
]
PATHS = ["/", "/app", "/oauth2", "/oauth2/", "/oauth2/start", "/oauth2-x", "/oauth2x", "/oauth", "/api/oauth2"]
BACKENDS = ["web", "web", "web", OAUTH2, HUB, "other"]
ANNOTATIONS = [
    {}, {}, {},
    {"nginx.ingress.kubernetes.io/auth-url": ""},
    {"nginx.ingress.kubernetes.io/auth-url": "http://evil.example.org/auth"},
    {"nginx.ingress.kubernetes.io/configuration-snippet": "auth_request off;"},
    {"nginx.ingress.kubernetes.io/server-snippet": "location / { }"},
    {"nginx.ingress.kubernetes.io/satisfy": "any"},
    {"nginx.ingress.kubernetes.io/enable-global-auth": "false"},
    {"nginx.ingress.kubernetes.io/auth-cache-key": "$remote_user"},
    {"nginx.ingress.kubernetes.io/auth-signin": "https://evil.example.org/start"},
    {"nginx.ingress.kubernetes.io/server-alias": "other-group.maia.example.com"},
    {"maia-krm.io/skip": "all"},
    {"maia-krm.io/skip": "oauth,ingress-tls"},
    {"traefik.ingress.kubernetes.io/router.middlewares": "default-open@kubernetescrd"},
]
LABELS = [{}, {}, {"app.kubernetes.io/name": "jupyterhub"}, {"app": "jupyterhub"}]
NAMESPACES = [None, None, None, NS, "", "other-group", "kube-system"]


def in_workspace(host):
    host = host.lower()  # DNS names are case-blind
    return host == WS or host.endswith("." + WS)


def oauth2_path(path):
    return path == "/oauth2" or path.startswith("/oauth2/")


# --- generators ------------------------------------------------------------------------------------

def host(rng):
    """Mostly hosts a workspace may serve (or that get rewritten to one), so that both outcomes occur."""
    return rng.choice(OWN_HOSTS if rng.random() < 0.7 else HOSTS)


def metadata(rng, name):
    meta = {"name": name, "labels": rng.choice(LABELS),
            "annotations": dict(rng.choice(ANNOTATIONS)) if rng.random() < 0.4 else {}}
    namespace = rng.choice(NAMESPACES) if rng.random() < 0.3 else None
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def gen_ingress(rng):
    rules = []
    for _ in range(rng.randint(1, 3)):
        rule = {"http": {"paths": [
            {"path": rng.choice(PATHS) if rng.random() < 0.5 else "/", "pathType": rng.choice(["Prefix", "Exact", "ImplementationSpecific"]),
             "backend": {"service": {"name": rng.choice(BACKENDS), "port": {"number": 80}}}}
            for _ in range(rng.randint(1, 3))]}}
        if rng.random() < 0.85:
            rule["host"] = host(rng)
        rules.append(rule)
    spec = {"rules": rules}
    if rng.random() < 0.1:
        spec["defaultBackend"] = {"service": {"name": rng.choice(BACKENDS), "port": {"number": 80}}}
    if rng.random() < 0.3:
        spec["tls"] = [{"hosts": [host(rng)], "secretName": "own-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata(rng, "app"), "spec": spec}


def traefik_match(rng):
    def quoted(value):
        return rng.choice(["`{}`", '"{}"']).format(value)

    host_ = lambda: f"{rng.choice(['Host', 'host', 'HOST'])}({quoted(host(rng))})"  # noqa: E731
    path = lambda: f"PathPrefix({quoted(rng.choice(PATHS))})"  # noqa: E731
    shapes = [
        lambda: host_(),
        lambda: f"{host_()} && {path()}",
        lambda: path(),
        lambda: f"{host_()} || {host_()}",
        lambda: f"({host_()} || {path()}) && {path()}",
        lambda: f"{host_()} && !{path()}",
        lambda: f"HostRegexp({quoted('.+')})",
        lambda: f"{host_()}&&{path()}",
    ]
    return rng.choice(shapes)()


def gen_ingress_route(rng):
    routes = []
    for _ in range(rng.randint(1, 3)):
        route = {"kind": "Rule", "match": traefik_match(rng),
                 "services": [{"name": rng.choice(BACKENDS), "port": 80} for _ in range(rng.randint(1, 2))]}
        if rng.random() < 0.2:
            route["middlewares"] = [{"name": rng.choice([MIDDLEWARE, "open", "headers"])}]
        routes.append(route)
    spec = {"routes": routes}
    if rng.random() < 0.7:
        spec["entryPoints"] = [rng.choice(["websecure", "web"])]
    return {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": metadata(rng, "app"), "spec": spec}


def gen_http_route(rng):
    rules = []
    for _ in range(rng.randint(1, 3)):
        rule = {"backendRefs": [{"name": rng.choice(BACKENDS), "port": 80}]}
        if rng.random() < 0.7:
            rule["matches"] = [{"path": {"type": rng.choice(["PathPrefix", "Exact", "RegularExpression"]),
                                         "value": rng.choice(PATHS)}}]
        rules.append(rule)
    spec = {"parentRefs": [{"name": "gw", "namespace": "gateways"}], "rules": rules}
    if rng.random() < 0.8:
        spec["hostnames"] = [host(rng) for _ in range(rng.randint(1, 2))]
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": metadata(rng, "app"),
            "spec": spec}


# --- the oracle --------------------------------------------------------------------------------------

def check_namespace(doc):
    assert doc["metadata"].get("namespace") in (None, "", NS), doc["metadata"]


def hub(doc, backends):
    labels = doc["metadata"].get("labels") or {}
    return "jupyterhub" in (labels.get("app"), labels.get("app.kubernetes.io/name")) and \
        bool(backends) and all(b == HUB for b in backends)


def check_ingress(doc):
    check_namespace(doc)
    notes = doc["metadata"].get("annotations") or {}
    spec = doc["spec"]
    assert "defaultBackend" not in spec, "a default backend answers every host"
    hosts = [r.get("host") for r in spec["rules"]]
    assert all(h and in_workspace(h) for h in hosts), hosts
    tls_hosts = {h for t in spec.get("tls", []) for h in t.get("hosts", [])}
    assert all(in_workspace(h) for h in tls_hosts), tls_hosts
    assert set(hosts) <= tls_hosts, (hosts, tls_hosts)
    secrets = [t["secretName"] for t in spec.get("tls", []) if "secretName" in t]
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", s) for s in secrets), secrets
    for key, value in notes.items():
        assert not key.endswith("-snippet"), key
        assert key != "nginx.ingress.kubernetes.io/auth-cache-key", key
        assert key != "nginx.ingress.kubernetes.io/server-alias" or all(
            in_workspace(a.strip()) for a in str(value).split(",")), value
    assert str(notes.get("nginx.ingress.kubernetes.io/satisfy", "")).lower() != "any"
    assert str(notes.get("nginx.ingress.kubernetes.io/enable-global-auth", "")).lower() != "false"
    paths = [p for r in spec["rules"] for p in r["http"]["paths"]]
    backends = [p["backend"]["service"]["name"] for p in paths]
    own = all(oauth2_path(p["path"]) and p["backend"]["service"]["name"] == OAUTH2 for p in paths)
    if not own and not hub(doc, backends):
        assert notes.get("nginx.ingress.kubernetes.io/auth-url") == AUTH_URL, notes
        assert str(notes.get("nginx.ingress.kubernetes.io/auth-signin", "")).startswith(SIGN_IN), notes
        middlewares = [m.strip() for m in str(notes.get("traefik.ingress.kubernetes.io/router.middlewares", "")).split(",")]
        assert MIDDLEWARE_REF in middlewares, notes


def match_hosts(match):
    return [h.lower() for h in re.findall(r"(?i)\bhost\(\s*[`\"]([^`\"]*)[`\"]\s*\)", match)]


def branches(match):
    """The `||` branches of a rule without parentheses beyond its calls; one branch (the whole rule,
    which then can't be judged here) when it has any."""
    bare = re.sub(r"\w+\(\s*[`\"][^`\"]*[`\"]\s*\)", "CALL", match)
    return [match] if "(" in bare else match.split("||")


def needs_host(branch):
    """A conjunction that can't match without one of its (not negated) Hosts."""
    return "||" not in branch and "(" not in re.sub(r"\w+\(\s*[`\"][^`\"]*[`\"]\s*\)", "", branch) \
        and re.search(r"(?i)(^|&&)\s*host\(", branch) is not None


def check_ingress_route(doc):
    check_namespace(doc)
    spec = doc["spec"]
    assert "websecure" in spec.get("entryPoints", []) and "web" not in spec.get("entryPoints", []), spec
    assert spec.get("tls", {}).get("certResolver") == "letsencrypt", spec
    for route in spec["routes"]:
        match = route["match"]
        assert "hostregexp" not in match.lower(), match
        hosts = match_hosts(match)
        assert hosts and all(in_workspace(h) for h in hosts), match
        # Every match must need one of its Hosts: a rule that can match without one answers every host.
        # maia-krm narrows such a rule to `Host(ws) && (...)`; the oracle accepts only that form or a
        # rule without `||` and `!Host`.
        narrowed = match.startswith(f"Host(`{WS}`) && (")
        assert narrowed or all(needs_host(branch) for branch in branches(match)), match
        services = [s["name"] for s in route["services"]]
        # A route that leads only to oauth2-proxy reaches no app, whatever its path.
        own = all(s == OAUTH2 for s in services)
        if not own and not hub(doc, services):
            names = [(m.get("name"), m.get("namespace")) for m in route.get("middlewares", [])]
            assert (MIDDLEWARE, NS) in names or (MIDDLEWARE, None) in names or (MIDDLEWARE_REF, None) in names, route


def check_http_route(doc):
    check_namespace(doc)
    spec = doc["spec"]
    hostnames = spec.get("hostnames")
    assert hostnames and all(in_workspace(h.lower()) for h in hostnames), hostnames
    for rule in spec["rules"]:
        matches = rule.get("matches") or [{}]
        services = [b["name"] for b in rule.get("backendRefs", [])]
        own = all(m.get("path", {}).get("type", "PathPrefix") != "RegularExpression"
                  and oauth2_path(m.get("path", {}).get("value", "/")) for m in matches) \
            and all(s == OAUTH2 for s in services)
        if not own and not hub(doc, services):
            refs = [f.get("extensionRef", {}) for f in rule.get("filters", []) if f.get("type") == "ExtensionRef"]
            assert any(r.get("kind") == "Middleware" and r.get("name") == MIDDLEWARE for r in refs), rule


CHECKS = {"Ingress": check_ingress, "IngressRoute": check_ingress_route, "HTTPRoute": check_http_route}


@pytest.mark.parametrize("generate", [gen_ingress, gen_ingress_route, gen_http_route], ids=lambda g: g.__name__[4:])
def test_random_routes_leave_confined_and_protected_or_are_refused(generate):
    rng = random.Random(f"maia-krm boundary {generate.__name__}")
    outcomes = {"passed": 0, "refused": 0}
    for case in range(CASES):
        doc = generate(rng)
        text = yaml.safe_dump(doc, sort_keys=False)
        proc = run(["--config", CONFIG], text, check=False)
        where = f"case {case}:\n{text}\nstderr: {proc.stderr.decode()}"
        if proc.returncode != 0:
            assert proc.returncode == 1 and proc.stdout == b"", where
            assert b"maia-krm: refused: document 1" in proc.stderr, where
            outcomes["refused"] += 1
            continue
        out = [d for d in yaml.safe_load_all(proc.stdout) if d]
        routes = [d for d in out if d.get("kind") == doc["kind"]]
        assert len(routes) == 1, where
        try:
            CHECKS[doc["kind"]](routes[0])
        except AssertionError as e:
            raise AssertionError(f"{where}\noutput:\n{proc.stdout.decode()}\n{e}") from e
        outcomes["passed"] += 1
    # The generator must reach both sides, or the oracle checks nothing.
    assert outcomes["passed"] >= CASES // 10 and outcomes["refused"] >= CASES // 10, outcomes
