"""kpt: `kpt fn eval --exec` with a functionConfig file and with `-- key=value` flags, and
`kpt fn render` with the Kptfile pipeline from functions/kpt/. Files, paths and comments must
survive: each run is compared with a baseline run whose patches are all switched off, so kpt's
own re-serialisation cancels out and only maia-krm's changes remain."""

import os
import pathlib
import shutil
import subprocess

from conftest import BIN, FIXTURES, ROOT, oracle_config
from oracle import check_promises, load, split_documents, strip_managed

RENDERED = ROOT / "kustomization" / "rendered"
OFF = {"ingress_tls": "false", "oauth": "false", "pull_secret": "false", "shared_volume": "false"}


POD_TEMPLATES = FIXTURES / "pod-templates"


def package(path, files=("oauth2-proxy-7.7.8-maia.yaml", "label-studio.yaml", "minio-tenant.yaml"), pods=()):
    """A kpt package of rendered charts, plus upstream custom resources that hold pods."""
    path.mkdir()
    for f in files:
        shutil.copy(RENDERED / f, path / f)
    for f in pods:
        shutil.copy(POD_TEMPLATES / f, path / f)
    return path


def kpt(*args, cwd=None):
    env = {**os.environ, "PATH": f"{pathlib.Path(BIN).parent}:{os.environ['PATH']}"}
    return subprocess.run(["kpt", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def with_options(config_text, options):
    return config_text + "".join(f'  {k}: "{v}"\n' for k, v in options.items())


def files_of(pkg):
    """The package's resource files (the config differs between baseline and patched by design)."""
    return {p.relative_to(pkg).as_posix(): p.read_text() for p in sorted(pkg.rglob("*.yaml")) if p.name != "maia-krm-config.yaml"}


def assert_only_managed_changes(base, patched, flavour="nginx"):
    base_files, patched_files = files_of(base), files_of(patched)
    assert base_files.keys() == patched_files.keys(), "kpt must write resources back to the same files"
    cfg = oracle_config(flavour)
    for name, text in patched_files.items():
        before, after = split_documents(base_files[name]), split_documents(text)
        assert len(before) == len(after), name
        comments = lambda t: [l for l in t.splitlines() if l.lstrip().startswith("#")]
        assert comments(base_files[name]) == comments(text), f"{name}: comments changed"
        for b, a in zip(before, after):
            out, inp = strip_managed(load(a), load(b), cfg)
            assert out == inp, name
            check_promises(load(a), cfg)


def test_fn_eval_with_fn_config_file(tmp_path):
    config = (ROOT / "functions" / "kpt" / "maia-krm-config.yaml").read_text()
    (tmp_path / "on.yaml").write_text(config)
    (tmp_path / "off.yaml").write_text(with_options(config, OFF))
    ml = ("notebook.yaml", "pytorchjob.yaml")
    base, patched = package(tmp_path / "base", pods=ml), package(tmp_path / "patched", pods=ml)
    assert kpt("fn", "eval", str(base), "--exec", BIN, "--fn-config", str(tmp_path / "off.yaml")).returncode == 0
    proc = kpt("fn", "eval", str(patched), "--exec", BIN, "--fn-config", str(tmp_path / "on.yaml"), "--truncate-output=false")
    assert proc.returncode == 0, proc.stderr
    assert "[info]" in proc.stderr and "pull-secret: added maia-docker-registry-secret" in proc.stderr
    assert_only_managed_changes(base, patched)
    job = load((patched / "pytorchjob.yaml").read_text())
    for role in ("Master", "Worker"):
        spec = job["spec"]["pytorchReplicaSpecs"][role]["template"]["spec"]
        assert spec["imagePullSecrets"] == [{"name": "maia-docker-registry-secret"}], role
        assert spec["containers"][0]["volumeMounts"][-1] == {"name": "shared", "mountPath": "/home/maia-user/shared"}
    notebook = load((patched / "notebook.yaml").read_text())
    assert notebook["spec"]["template"]["spec"]["volumes"][-1]["persistentVolumeClaim"] == {"claimName": "shared"}


def test_fn_eval_with_key_value_arguments(tmp_path):
    pkg = package(tmp_path / "pkg", files=("minio-tenant.yaml",))
    proc = kpt("fn", "eval", str(pkg), "--exec", BIN, "--", "group_ID=Demo_Group", "domain=maia.example.com",
               "traefik_resolver=letsencrypt", "oauth_url=demo-group.maia.example.com")
    assert proc.returncode == 0, proc.stderr
    docs = [load(d) for d in split_documents((pkg / "minio-tenant.yaml").read_text())]
    ingress = next(d for d in docs if isinstance(d, dict) and d.get("kind") == "Ingress")
    assert ingress["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.tls.certresolver"] == "letsencrypt"


def test_fn_eval_without_config_fails_and_changes_no_file(tmp_path):
    pkg = package(tmp_path / "pkg", files=("minio-tenant.yaml",))
    before = files_of(pkg)
    proc = kpt("fn", "eval", str(pkg), "--exec", BIN)
    assert proc.returncode != 0
    assert "no config" in proc.stderr
    assert files_of(pkg) == before


def test_fn_render_with_the_kptfile_pipeline(tmp_path):
    config = (ROOT / "functions" / "kpt" / "maia-krm-config.yaml").read_text()
    base, patched = package(tmp_path / "base"), package(tmp_path / "patched")
    for pkg, cfg in ((base, with_options(config, OFF)), (patched, config)):
        shutil.copy(ROOT / "functions" / "kpt" / "Kptfile", pkg / "Kptfile")
        (pkg / "maia-krm-config.yaml").write_text(cfg)
        proc = kpt("fn", "render", str(pkg), "--allow-exec")
        assert proc.returncode == 0, proc.stderr
    assert (patched / "maia-krm-config.yaml").read_text() == config, "the local config object is left alone"
    assert_only_managed_changes(base, patched)


INGRESS_ROUTE = """apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: web
  namespace: demo-group
spec:
  routes:
  # the app
  - match: Host(`web.local`) && PathPrefix(`/`)
    kind: Rule
    services:
    - name: web
      port: 80
"""


HTTP_ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
  namespace: demo-group
spec:
  hostnames: [web.local]
  rules:
  - backendRefs: [{name: web, port: 80}]
"""


def test_fn_eval_routes_an_ingress_route_and_an_http_route_through_traefik(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "route.yaml").write_text(INGRESS_ROUTE)
    (pkg / "httproute.yaml").write_text(HTTP_ROUTE)
    proc = kpt("fn", "eval", str(pkg), "--exec", BIN, "--", "group_ID=Demo_Group", "domain=maia.example.com",
               "traefik_resolver=letsencrypt", "oauth_url=demo-group.maia.example.com",
               "gateway={name: public, namespace: gateways}")
    assert proc.returncode == 0, proc.stderr
    http = load((pkg / "httproute.yaml").read_text())
    assert http["spec"]["hostnames"] == ["demo-group.maia.example.com"]
    assert http["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateways"}]
    assert http["spec"]["rules"][0]["filters"][0]["extensionRef"]["name"] == "oauth2-proxy-auth"
    cfg = {**oracle_config("traefik"), "gateway": True}
    out, inp = strip_managed(http, load(HTTP_ROUTE), cfg)
    assert out == inp
    check_promises(http, cfg)
    text = (pkg / "route.yaml").read_text()
    assert "# the app" in text, "comments survive"
    route = load(text)
    assert route["spec"]["routes"][0]["match"] == "Host(`demo-group.maia.example.com`) && PathPrefix(`/`)"
    assert route["spec"]["routes"][0]["middlewares"] == [{"name": "oauth2-proxy-auth", "namespace": "demo-group"}]
    assert route["spec"]["tls"] == {"certResolver": "letsencrypt"}
    cfg = oracle_config("traefik")
    out, inp = strip_managed(route, load(INGRESS_ROUTE), cfg)
    assert out == inp
    check_promises(route, cfg)


def test_fn_eval_adds_a_security_policy_and_a_certificate_once(tmp_path):
    """Envoy Gateway and cert-manager without a resolver: the documents maia-krm adds beside the
    routes come out as kpt files of their own, and a second run adds none."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "route.yaml").write_text(INGRESS_ROUTE)
    (pkg / "httproute.yaml").write_text(HTTP_ROUTE)
    args = ["fn", "eval", str(pkg), "--exec", BIN, "--", "group_ID=Demo_Group", "domain=maia.example.com",
            "nginx_cluster_issuer=letsencrypt", "ingress_class=traefik", "oauth_url=demo-group.maia.example.com",
            "gateway={name: public, namespace: gateways}", "gateway_auth=envoy-gateway"]
    assert kpt(*args).returncode == 0
    docs = [load(d) for p in sorted(pkg.rglob("*.yaml")) for d in split_documents(p.read_text())]
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["Certificate", "HTTPRoute", "IngressRoute", "SecurityPolicy"], kinds
    route = next(d for d in docs if d["kind"] == "IngressRoute")
    certificate = next(d for d in docs if d["kind"] == "Certificate")
    assert route["spec"]["tls"] == {"secretName": certificate["spec"]["secretName"]}
    assert certificate["spec"]["dnsNames"] == ["demo-group.maia.example.com"]
    policy = next(d for d in docs if d["kind"] == "SecurityPolicy")
    assert policy["spec"]["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "web"}]
    files = {p: p.read_text() for p in pkg.rglob("*.yaml")}
    assert kpt(*args).returncode == 0
    assert {p: p.read_text() for p in pkg.rglob("*.yaml")} == files, "a second run changes nothing"
