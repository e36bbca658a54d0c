"""Argo CD: runs functions/argocd/plugin.yaml's discover, init and generate the way the CMP
server does — app directory as cwd, Argo CD's env (ARGOCD_APP_*, KUBE_*, PARAM_*, ARGOCD_ENV_*)
— and checks the sidecar component and ApplicationSet render into valid objects."""

import fnmatch
import json
import os
import pathlib
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from conftest import BIN, ROOT, oracle_config
from oracle import check_promises, load, split_documents

ARGOCD = ROOT / "functions" / "argocd"
PLUGIN = yaml.safe_load((ARGOCD / "plugin.yaml").read_text())
FORM = "group_ID: Demo_Group\ngroup_subdomain: demo-group\noauth_url: demo-group.maia.example.com\nusers: [alice@example.com]\n"
CLUSTER = ("domain: maia.example.com\nnginx_cluster_issuer: cluster-issuer\ningress_class: nginx\n"
           "imagePullSecrets: maia-docker-registry-secret\n")


@pytest.fixture
def app(tmp_path):
    app = tmp_path / "repo" / "workspaces" / "demo-group"
    app.mkdir(parents=True)
    charts = ["oauth2-proxy-7.7.8-maia.yaml", "minio-tenant.yaml", "maia-filebrowser.yaml"]
    for chart in charts:
        shutil.copy(ROOT / "kustomization" / "rendered" / chart, app / chart)
    (app / "kustomization.yaml").write_text("resources:\n" + "".join(f"- {c}\n" for c in charts))
    (app / "group-form.yaml").write_text(FORM)
    sidecar = tmp_path / "sidecar"
    sidecar.mkdir()
    (sidecar / "cluster.yaml").write_text(CLUSTER + "oauth2_proxy_service: demo-group-oauth2-proxy\n")
    return app, sidecar / "cluster.yaml"


def argocd_env(cluster, **params):
    params = {"form": "group-form.yaml", "cluster": str(cluster), **params}
    env = {
        "PATH": f"{pathlib.Path(BIN).parent}:{os.environ['PATH']}",
        "ARGOCD_APP_NAME": "argocd_maia-demo-group",
        "ARGOCD_APP_NAMESPACE": "demo-group",
        "ARGOCD_APP_REVISION": "0123456789abcdef",
        "ARGOCD_APP_SOURCE_PATH": "workspaces/demo-group",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/maia/workspaces.git",
        "KUBE_VERSION": "1.33.0",
        "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1,networking.k8s.io/v1,traefik.io/v1alpha1",
        "ARGOCD_ENV_TEAM": "demo",
        "ARGOCD_APP_PARAMETERS": json.dumps([{"name": k, "string": v} for k, v in params.items()]),
    }
    env.update({f"PARAM_{k.upper()}": v for k, v in params.items()})
    return env


def run_step(step, app_dir, env):
    spec = PLUGIN["spec"][step]
    return subprocess.run([*spec["command"], *spec["args"]], cwd=app_dir, env=env, capture_output=True, text=True, timeout=90)


def test_discover_matches_workspace_directories_only(app, tmp_path):
    pattern = PLUGIN["spec"]["discover"]["fileName"]
    app_dir, _ = app
    assert any(fnmatch.fnmatch(f"./{p.name}", pattern) for p in app_dir.iterdir())
    assert not any(fnmatch.fnmatch(f"./{p.name}", pattern) for p in (ROOT / "kustomization" / "rendered").iterdir())


def test_generate_renders_the_workspace_patched(app):
    app_dir, cluster = app
    env = argocd_env(cluster)
    assert run_step("init", app_dir, env).returncode == 0
    proc = run_step("generate", app_dir, env)
    assert proc.returncode == 0, proc.stderr
    docs = [load(d) for d in split_documents(proc.stdout)]
    assert len(docs) > 20
    for d in docs:
        check_promises(d, oracle_config("nginx"))


def test_a_component_app_reads_the_workspace_form_one_level_up(app):
    """`maia-krm plan --argocd` apps live in workspaces/<ns>/<component> with the form beside them."""
    app_dir, cluster = app
    component = app_dir / "minio"
    component.mkdir()
    shutil.copy(ROOT / "kustomization" / "rendered" / "minio-tenant.yaml", component)
    (component / "kustomization.yaml").write_text("resources: [minio-tenant.yaml]\n")
    env = {**argocd_env(cluster, form="../group-form.yaml"), "ARGOCD_APP_SOURCE_PATH": "workspaces/demo-group/minio"}
    proc = run_step("generate", component, env)
    assert proc.returncode == 0, proc.stderr
    assert "cert-manager.io/cluster-issuer" in proc.stdout


@pytest.mark.parametrize("breakage", ["render", "empty-render", "form", "form-outside", "cluster"])
def test_a_failure_anywhere_in_the_pipe_fails_generate(app, breakage, tmp_path):
    app_dir, cluster = app
    env = argocd_env(cluster)
    if breakage == "render":
        (app_dir / "kustomization.yaml").write_text("resources:\n- missing.yaml\n")
    elif breakage == "empty-render":
        # maia-krm passes an empty stream through; generate keeps its own guard against it.
        (app_dir / "kustomization.yaml").write_text("resources: []\n")
    elif breakage == "form":
        (app_dir / "group-form.yaml").write_text("group_ID: 'Bad Group!'\n")
    elif breakage == "form-outside":
        (tmp_path / "elsewhere.yaml").write_text(FORM)
        env = argocd_env(cluster, form="../../../elsewhere.yaml")
    else:
        env = argocd_env(tmp_path / "no-such-cluster.yaml")
    proc = run_step("generate", app_dir, env)
    assert proc.returncode != 0
    assert proc.stdout == "", "Argo CD must never get a partial or empty manifest with exit 0"


def test_sidecar_component_renders_into_a_valid_repo_server(tmp_path):
    base = tmp_path / "argocd"
    base.mkdir()
    (base / "repo-server.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-repo-server\nspec:\n"
        "  selector: {matchLabels: {app: repo}}\n  template:\n    metadata: {labels: {app: repo}}\n    spec:\n"
        "      containers:\n      - name: argocd-repo-server\n        image: quay.io/argoproj/argocd:v3.0.0\n"
        "      volumes:\n      - name: var-files\n        emptyDir: {}\n      - name: plugins\n        emptyDir: {}\n")
    shutil.copytree(ARGOCD, base / "maia-krm")
    (base / "kustomization.yaml").write_text("resources: [repo-server.yaml]\ncomponents: [maia-krm]\n")
    proc = subprocess.run(["kubectl", "kustomize", str(base)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(proc.stdout)}
    assert yaml.safe_load(docs["ConfigMap"]["data"]["plugin.yaml"]) == PLUGIN
    sidecar = next(c for c in docs["Deployment"]["spec"]["template"]["spec"]["containers"] if c["name"] == "maia-krm")
    assert sidecar["securityContext"]["runAsUser"] == 999
    assert {"name": "maia-krm-cmp", "mountPath": "/home/argocd/cmp-server/config/plugin.yaml", "subPath": "plugin.yaml"} in sidecar["volumeMounts"]
    for d in docs.values():
        kubernetes_validate.validate(d, "1.33.0", strict=True)


def test_applicationset_uses_the_plugin_by_its_versioned_name():
    appset = yaml.safe_load((ARGOCD / "applicationset.yaml").read_text())
    plugin = appset["spec"]["template"]["spec"]["source"]["plugin"]
    assert plugin["name"] == f"{PLUGIN['metadata']['name']}-{PLUGIN['spec']['version']}"
    assert {p["name"] for p in plugin["parameters"]} <= {p["name"] for p in PLUGIN["spec"]["parameters"]["static"]}
    assert appset["spec"]["generators"][0]["git"]["files"][0]["path"].endswith("group-form.yaml")
