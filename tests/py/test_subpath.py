"""`url_type: subpath`: workspaces that share one host, each under its own paths with its own login,
laid out as upstream MAIA lays them out (minnelab/MAIA `MAIA/maia_fn.py` @03afbab6 and
`MAIA_scripts/MAIA_create_JupyterHub_config.py` @00e0d98d). Values are read with PyYAML; the
shipped chart is rendered by the real Helm 4 engine."""

import json

import pytest
import yaml

from conftest import FIXTURES, run
from oracle import load, split_documents
from test_generate import ENV, helm_render

DOMAIN = "maia.example.com"


def subpath_config(tmp_path, base="config-workspace.yaml", group=("Demo_Group", "demo-group")):
    text = (FIXTURES / base).read_text().replace("url_type: subdomain", "url_type: subpath")
    text = text.replace("group_ID: Demo_Group", f"group_ID: {group[0]}").replace("group_subdomain: demo-group", f"group_subdomain: {group[1]}")
    path = tmp_path / f"{group[1]}-{base}"
    path.write_text(text)
    return str(path)


def values(config, component):
    out = run(["values", component, "--config", config], b"", env=ENV).stdout.decode()
    return json.loads(out) if component in ("mysql", "mlflow") else yaml.safe_load(out)


def test_values_follow_upstreams_subpath_layout(tmp_path):
    cfg = subpath_config(tmp_path)
    oauth = values(cfg, "oauth2-proxy")
    conf = oauth["config"]["configFile"]
    # maia_fn.py: proxy_prefix = "/oauth2-{group_subdomain}", redirect_url = "https://{domain}/oauth2-{group_subdomain}/callback"
    assert 'proxy_prefix = "/oauth2-demo-group"' in conf
    assert f'redirect_url = "https://{DOMAIN}/oauth2-demo-group/callback"' in conf
    assert 'cookie_name = "_oauth2_proxy_demo_group"' in conf, "one cookie per workspace on the shared host"
    assert oauth["ingress"]["path"] == "/oauth2-demo-group" and oauth["ingress"]["hosts"] == [DOMAIN]
    hub = values(cfg, "jupyterhub")
    # MAIA_create_JupyterHub_config.py: hub.baseUrl = f"/{group_subdomain}-hub"; z2jh serves the
    # callback below the base URL, at <base>/hub/oauth_callback.
    assert hub["hub"]["baseUrl"] == "/demo-group-hub"
    assert hub["hub"]["config"]["GenericOAuthenticator"]["oauth_callback_url"] == f"https://{DOMAIN}/demo-group-hub/hub/oauth_callback"
    assert hub["ingress"]["hosts"] == [DOMAIN]
    # maia_fn.py: MLFLOW_PATH = "{group_subdomain}-mlflow"
    assert values(cfg, "mlflow")["env_variables"]["PATH_PREFIX"] == "/demo-group-mlflow"
    minio = values(cfg, "minio")
    env = {e["name"]: e["value"] for e in minio["tenant"]["env"]}
    assert env["MINIO_BROWSER_REDIRECT_URL"] == f"https://{DOMAIN}/demo-group-minio-console"
    assert minio["ingress"]["console"]["path"] == "/demo-group-minio-console" and minio["ingress"]["api"] == {"enabled": False}
    studio = values(cfg, "label-studio")
    assert studio["global"]["extraEnvironmentVars"]["LABEL_STUDIO_HOST"] == f"https://{DOMAIN}/demo-group-label-studio"
    assert values(cfg, "orthanc")["ingress"]["path"] == "/demo-group-orthanc"


COMPONENTS = ["oauth2-proxy", "minio", "jupyterhub", "label-studio", "orthanc", "addons"]


def test_one_certificate_for_the_shared_host_none_per_workspace(tmp_path):
    cfg = subpath_config(tmp_path)
    for component in COMPONENTS:
        text = yaml.safe_dump(values(cfg, component))
        assert "secretName" not in text, f"{component}: a certificate of its own on the shared host"
        assert "cert-manager.io" not in text, f"{component}: cert-manager would request the shared host's certificate again"
    plan = run(["plan", "--config", cfg], b"", env=ENV).stdout.decode()
    assert f"one certificate for {DOMAIN}" in plan and "/oauth2-demo-group" in plan


def served_paths(cfg):
    """Every path a workspace's ingresses serve: from each component's values, and from the
    add-ons chart rendered by Helm 4."""
    paths = set()
    paths.add(values(cfg, "oauth2-proxy")["ingress"]["path"])
    paths.add(values(cfg, "minio")["ingress"]["console"]["path"])
    paths.add(values(cfg, "jupyterhub")["hub"]["baseUrl"])
    paths.add(values(cfg, "label-studio")["app"]["ingress"]["path"])
    orthanc = values(cfg, "orthanc")
    paths |= {orthanc["ingress"]["path"], orthanc["ohif"]["path"]}
    text, docs = helm_render("maia-addons", values(cfg, "addons"), "maia-addons")
    for d in docs:
        if d["kind"] == "Ingress":
            paths |= {p["path"] for r in d["spec"]["rules"] for p in r["http"]["paths"]}
    return paths, text


def test_two_workspaces_on_one_host_share_no_path_and_each_passes_its_own_policy(tmp_path):
    ours, text = served_paths(subpath_config(tmp_path))
    theirs, _ = served_paths(subpath_config(tmp_path, group=("Other_Group", "other-group")))
    under = lambda path, roots: any(path == r or path.startswith(r + "/") for r in roots)
    assert not [p for p in ours if under(p, theirs)] and not [p for p in theirs if under(p, ours)], (ours, theirs)
    assert all(p.startswith(("/demo-group", "/oauth2-demo-group")) for p in ours), ours
    # The add-ons chart, rendered for the workspace, through maia-krm with the subpath config.
    cfg = subpath_config(tmp_path, base="config-nginx.yaml")
    out = run(["--config", cfg], text).stdout.decode()
    [ingress] = [d for d in map(load, split_documents(out)) if d and d["kind"] == "Ingress"]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/auth-url"].endswith("/oauth2-demo-group/auth")
    assert notes["nginx.ingress.kubernetes.io/auth-signin"].startswith(f"https://{DOMAIN}/oauth2-demo-group/start?rd=")
    assert ingress["spec"]["tls"] == [{"hosts": [DOMAIN]}]
    assert not any(k.startswith("cert-manager.io") for k in notes)
    assert run(["--config", cfg], out).stdout.decode() == out


INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
spec:
  rules:
  - host: chart-example.local
    http:
      paths:
      - path: {path}
        pathType: Prefix
        backend: {{service: {{name: {backend}, port: {{number: 80}}}}}}
"""


@pytest.mark.parametrize("path", ["/demo-group", "/demo-group/app", "/demo-group-mlflow/", "/demo-group-hub/user/alice/proxy"])
def test_a_route_under_the_workspaces_paths_gets_the_shared_host_tls_and_the_login(tmp_path, path):
    cfg = subpath_config(tmp_path, base="config-nginx.yaml")
    out = load(run(["--config", cfg], INGRESS.format(name="app", path=path, backend="web")).stdout.decode())
    assert out["spec"]["rules"][0]["host"] == DOMAIN
    assert out["spec"]["tls"] == [{"hosts": [DOMAIN]}]
    assert out["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"] == \
        "http://demo-group-oauth2-proxy.demo-group.svc.cluster.local/oauth2-demo-group/auth"


@pytest.mark.parametrize("path", ["/app", "/", "/other-group/app", "/demo-group-x", "/demo-groupie", "/oauth2", "/oauth2-other-group"])
def test_a_route_outside_the_workspaces_paths_is_refused_naming_the_path_to_use(tmp_path, path):
    cfg = subpath_config(tmp_path, base="config-nginx.yaml")
    proc = run(["--config", cfg], INGRESS.format(name="app", path=path, backend="demo-group-oauth2-proxy"), check=False)
    assert proc.returncode == 1 and proc.stdout == b""
    err = proc.stderr.decode()
    assert "outside the workspace's paths on the shared host" in err and "serve it under /demo-group/" in err, err
    report = run(["audit", "--config", cfg, "-o", "json"], INGRESS.format(name="app", path=path, backend="web"), check=False)
    assert report.returncode == 1
    assert any("outside the workspace's paths" in p for r in json.loads(report.stdout)["routes"] for p in r["problems"])


def test_oauth2_proxys_own_route_is_the_one_under_the_workspaces_prefix(tmp_path):
    cfg = subpath_config(tmp_path, base="config-nginx.yaml")
    own = INGRESS.format(name="oauth2-proxy", path="/oauth2-demo-group", backend="demo-group-oauth2-proxy")
    out = load(run(["--config", cfg], own).stdout.decode())
    assert "nginx.ingress.kubernetes.io/auth-url" not in (out["metadata"].get("annotations") or {})
    assert out["spec"]["rules"][0]["host"] == DOMAIN


def test_traefik_and_gateway_routes_are_held_to_the_paths_too(tmp_path):
    cfg = subpath_config(tmp_path, base="config-traefik.yaml")
    route = """\
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {{name: app}}
spec:
  entryPoints: [websecure]
  routes:
  - kind: Rule
    match: Host(`x.example.org`) && PathPrefix(`{path}`)
    services: [{{name: web, port: 80}}]
"""
    ok = load(run(["--config", cfg], route.format(path="/demo-group/app")).stdout.decode())
    assert f"Host(`{DOMAIN}`)" in ok["spec"]["routes"][0]["match"]
    assert {"name": "oauth2-proxy-auth", "namespace": "demo-group"} in ok["spec"]["routes"][0]["middlewares"]
    refused = run(["--config", cfg], route.format(path="/app"), check=False)
    assert refused.returncode == 1 and b"outside the workspace's paths" in refused.stderr


def test_form_check_finds_two_workspaces_that_would_claim_one_path(tmp_path):
    # Upstream's layout has a trap: group `demo`'s JupyterHub at /demo-hub is all of group
    # `demo-hub`'s apps. A form check over the repository's forms finds it, and a plain clash.
    # Forms and a cluster config complete for every step of the runbook (form check checks those too).
    workspace = yaml.safe_load((FIXTURES / "config-workspace.yaml").read_text())["data"]
    runbook = {k: v for k, v in yaml.safe_load(workspace["group-form.yaml"]).items() if k not in ("group_ID", "group_subdomain", "oauth_url", "users")}
    runbook["mysql_password"] = "db-password"
    admin = yaml.safe_dump({k: v for k, v in yaml.safe_load(workspace["cluster.yaml"]).items() if k not in ("domain", "url_type", "nginx_cluster_issuer")})
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(f"domain: {DOMAIN}\nurl_type: subpath\nnginx_cluster_issuer: cluster-issuer\n{admin}")
    forms = []
    for group in ["demo", "demo-hub", "other"]:
        form = tmp_path / f"{group}.yaml"
        form.write_text(f"group_ID: {group.replace('-', '_')}\ngroup_subdomain: {group}\nusers: [a@example.com]\n{yaml.safe_dump(runbook)}")
        forms.append(str(form))
    proc = run(["form", "check", *forms, "--cluster", str(cluster)], b"", check=False)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "demo.yaml and " in err and "demo-hub.yaml both claim path /demo-hub" in err, err
    assert "other.yaml" not in err
    ok = run(["form", "check", forms[0], forms[2], "--cluster", str(cluster)], b"")
    assert ok.stdout.decode().count("ok: group") == 2
    # On subdomain clusters the host is the boundary: two forms with one group_subdomain clash.
    cluster.write_text(f"domain: {DOMAIN}\nnginx_cluster_issuer: cluster-issuer\n{admin}")
    twin = tmp_path / "twin.yaml"
    twin.write_text(f"group_ID: Twin\ngroup_subdomain: demo\nusers: [a@example.com]\n{yaml.safe_dump(runbook)}")
    proc = run(["form", "check", forms[0], str(twin), "--cluster", str(cluster)], b"", check=False)
    assert proc.returncode == 2 and b"both claim host demo.maia.example.com" in proc.stderr


REGEX = "  annotations: {nginx.ingress.kubernetes.io/use-regex: \"true\"}\n"


@pytest.mark.parametrize("path,path_type,regex,inside", [
    # Found in review: string prefixes and regular expressions read as the router reads them.
    ("/demo-group", "ImplementationSpecific", False, False),   # nginx: a string prefix, /demo-groupie too
    ("/demo-group/", "ImplementationSpecific", False, True),
    ("/demo-group-mlflow(/|$)(.*)", "ImplementationSpecific", True, True),  # the usual rewrite pattern
    ("/demo-group/(.*)", "ImplementationSpecific", True, True),
    ("/demo-group/|/", "ImplementationSpecific", True, False),
    ("/demo-group/(.*)|/other-group-hub(.*)", "ImplementationSpecific", True, False),
    ("/demo-group(.*)", "ImplementationSpecific", True, False),
    ("/demo-group", "Exact", False, True),
])
def test_nginx_paths_are_read_as_nginx_matches_them(tmp_path, path, path_type, regex, inside):
    cfg = subpath_config(tmp_path, base="config-nginx.yaml")
    text = INGRESS.format(name="app", path=f"'{path}'", backend="web").replace("pathType: Prefix", f"pathType: {path_type}")
    if regex:
        text = text.replace("  name: app\n", "  name: app\n" + REGEX)
    proc = run(["--config", cfg], text, check=False)
    assert (proc.returncode == 0) == inside, proc.stderr.decode()


@pytest.mark.parametrize("rule,inside", [
    ("PathPrefix(`/demo-group`)", False),  # Traefik's PathPrefix is a string prefix: /demo-group-x too
    ("PathPrefix(`/demo-group/`)", True),
    ("Path(`/demo-group`)", True),
    ("PathPrefix(`/demo-group-hub/`) || PathPrefix(`/other-group/`)", False),
])
def test_traefik_path_prefixes_are_string_prefixes(tmp_path, rule, inside):
    cfg = subpath_config(tmp_path, base="config-traefik.yaml")
    route = ("apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: app}\nspec:\n  entryPoints: [websecure]\n"
             f"  routes:\n  - kind: Rule\n    match: Host(`x.example.org`) && ({rule})\n    services: [{{name: web, port: 80}}]\n")
    proc = run(["--config", cfg], route, check=False)
    assert (proc.returncode == 0) == inside, proc.stderr.decode()


def test_on_a_shared_host_the_login_needs_no_oauth_url(tmp_path):
    # Found in review: the sign-in lives on the shared host under the group's prefix, so a form
    # without `oauth_url` must not leave the group's apps without a login.
    text = (FIXTURES / "config-nginx.yaml").read_text().replace("url_type: subdomain", "url_type: subpath")
    text = text.replace("    oauth_url: demo-group.maia.example.com\n", "")
    (tmp_path / "c.yaml").write_text(text)
    out = load(run(["--config", str(tmp_path / "c.yaml")], INGRESS.format(name="app", path="/demo-group/", backend="web")).stdout.decode())
    assert out["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-signin"].startswith(f"https://{DOMAIN}/oauth2-demo-group/start")
