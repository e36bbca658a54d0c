"""Helm: the real Helm 4 engine (libhelm from PyPI) running maia-krm as its `postrenderer/v1`
plugin from functions/helm/, and Helm 3's executable contract on the corpus's Helm 3 framing."""

import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys

import pytest

from conftest import BIN, ROOT, FIXTURES, config_path, corpus_files, oracle_config, run
from oracle import check_promises, load, pod_sites, split_documents

HERE = pathlib.Path(__file__).parent
CHARTS = FIXTURES / "charts"


@pytest.fixture
def plugins(tmp_path):
    """HELM_PLUGINS with functions/helm installed as `maia-krm`, bin/ holding a recorder that
    saves what Helm sent and what the real binary answered (the release hides hook manifests)."""
    plugin = tmp_path / "plugins" / "maia-krm"
    (plugin / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "functions" / "helm" / "plugin.yaml", plugin / "plugin.yaml")
    record = tmp_path / "record"
    record.mkdir()
    wrapper = plugin / "bin" / "maia-krm"
    wrapper.write_text(f"#!/usr/bin/env bash\nset -o pipefail\n"
                       f"tee {record}/in.yaml | {BIN} \"$@\" | tee {record}/out.yaml\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return tmp_path / "plugins", record


def helm4_install(chart, release, plugins_dir, args, check=True):
    proc = subprocess.run([sys.executable, str(HERE / "helm4_install.py"), str(CHARTS / chart), release, *args],
                          capture_output=True, text=True, env={**os.environ, "HELM_PLUGINS": str(plugins_dir)}, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("chart", ["webapp", "batch"])
def test_helm4_plugin_patches_and_helm_maps_every_document_back(chart, plugins):
    plugins_dir, record = plugins
    manifest = helm4_install(chart, "demo", plugins_dir, [f"--config={config_path('nginx')}"]).stdout
    docs = [load(d) for d in split_documents(manifest)]
    sources = [l for l in manifest.splitlines() if l.startswith("# Source: ")]
    assert sources and all(s.startswith(f"# Source: {chart}/templates/") for s in sources), sources
    assert "generated-by-postrender" not in manifest
    assert "postrenderer.helm.sh/postrender-filename" not in manifest, "Helm strips its annotation after mapping back"
    pod_specs = {"Deployment": ["spec", "template", "spec"], "StatefulSet": ["spec", "template", "spec"],
                 "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"]}
    for d in docs:
        spec = d
        for key in pod_specs.get(d["kind"], []):
            spec = spec[key]
        if d["kind"] in pod_specs:
            assert {"name": "maia-docker-registry-secret"} in spec["imagePullSecrets"]
            assert all({"name": "shared", "mountPath": "/home/maia-user/shared"} in c["volumeMounts"] for c in spec["containers"])
        if d["kind"] == "Ingress":
            assert d["spec"]["rules"][0]["host"] == "demo-group.maia.example.com"
            assert d["spec"]["tls"] == [{"hosts": ["demo-group.maia.example.com"], "secretName": "demo-group.maia.example.com-tls"}]
            assert d["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "on"
    if chart == "batch":
        sts = next(d for d in docs if d["kind"] == "StatefulSet")
        assert sts["spec"]["template"]["spec"]["imagePullSecrets"][0] == {"name": "other-registry"}, "existing entries stay first"
        assert "volumeMounts" not in sts["spec"]["template"]["spec"]["initContainers"][0]
    if chart == "webapp":
        assert "defaultMode: 0755" in manifest


def test_helm4_plugin_patches_kubeflow_notebooks_and_training_jobs(plugins):
    plugins_dir, _ = plugins
    manifest = helm4_install("mlwork", "demo", plugins_dir, [f"--config={config_path('nginx')}"]).stdout
    docs = {d["kind"]: d for d in (load(t) for t in split_documents(manifest))}
    assert docs.keys() == {"Notebook", "PyTorchJob"}
    cfg = oracle_config("nginx")
    for d in docs.values():
        check_promises(d, cfg)
    sites = {".".join(at): pod for at, pod, _, _ in pod_sites(docs["PyTorchJob"])}
    assert sites.keys() == {"spec.pytorchReplicaSpecs.Master.template.spec", "spec.pytorchReplicaSpecs.Worker.template.spec"}
    assert sites["spec.pytorchReplicaSpecs.Master.template.spec"]["imagePullSecrets"] == [
        {"name": "other-registry"}, {"name": "maia-docker-registry-secret"}]
    worker = sites["spec.pytorchReplicaSpecs.Worker.template.spec"]
    assert [c["volumeMounts"] for c in worker["containers"]] == [[{"name": "shared", "mountPath": "/home/maia-user/shared"}]] * 2
    notebook = docs["Notebook"]["spec"]["template"]["spec"]
    assert notebook["containers"][0]["volumeMounts"][-1] == {"name": "shared", "mountPath": "/home/maia-user/shared"}
    assert [v["name"] for v in notebook["volumes"]] == ["dshm", "workspace", "shared"]


def test_helm4_plugin_routes_an_ingress_route_and_an_http_route_into_the_workspace(plugins):
    plugins_dir, _ = plugins
    manifest = helm4_install("traefikapp", "demo", plugins_dir, [f"--config={config_path('traefik')}"]).stdout
    docs = [load(d) for d in split_documents(manifest)]
    route = next(d for d in docs if d["kind"] == "IngressRoute")
    app, oauth2 = route["spec"]["routes"]
    assert app["match"] == "Host(`demo-group.maia.example.com`) && PathPrefix(`/`)"
    assert app["middlewares"] == [{"name": "oauth2-proxy-auth", "namespace": "demo-group"}]
    assert "middlewares" not in oauth2, "oauth2-proxy's own route stays unguarded"
    assert route["spec"]["tls"] == {"certResolver": "letsencrypt"} and route["spec"]["entryPoints"] == ["websecure"]
    middleware = next(d for d in docs if d["kind"] == "Middleware")
    assert middleware["spec"]["forwardAuth"]["address"].startswith("http://demo-group-oauth2-proxy.demo-group.svc")
    check_promises(route, oracle_config("traefik"))
    http = next(d for d in docs if d["kind"] == "HTTPRoute")
    assert http["spec"]["hostnames"] == ["demo-group.maia.example.com"]
    assert http["spec"]["parentRefs"] == [{"name": "traefik-gateway", "namespace": "traefik"}]
    assert http["spec"]["rules"][0]["filters"] == [
        {"type": "ExtensionRef", "extensionRef": {"group": "traefik.io", "kind": "Middleware", "name": "oauth2-proxy-auth"}}]
    check_promises(http, oracle_config("traefik"))


def test_helm4_hooks_reach_the_plugin_and_get_the_pull_secret_only(plugins):
    plugins_dir, record = plugins
    helm4_install("webapp", "demo", plugins_dir, [f"--config={config_path('nginx')}"])
    sent = [load(d) for d in split_documents((record / "in.yaml").read_text())]
    answered = [load(d) for d in split_documents((record / "out.yaml").read_text())]
    assert len(sent) == len(answered)
    hook = next(d for d in answered if d["kind"] == "Job")
    assert hook["metadata"]["annotations"]["helm.sh/hook"].startswith("pre-install")
    spec = hook["spec"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "maia-docker-registry-secret"}]
    assert "volumes" not in spec, "hooks get no shared volume unless shared_hooks"
    assert all(d["metadata"]["annotations"]["postrenderer.helm.sh/postrender-filename"] for d in answered)


def test_helm4_install_fails_when_maia_krm_fails(plugins, tmp_path):
    plugins_dir, _ = plugins
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\ndata:\n  group_ID: 'Not A Namespace!'\n  domain: maia.example.com\n")
    proc = helm4_install("webapp", "demo", plugins_dir, [f"--config={bad}"], check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "post-render" in proc.stderr or "maia-krm" in proc.stderr, proc.stderr


@pytest.mark.parametrize("path", corpus_files("helm3"), ids=lambda p: p.name)
def test_helm3_contract_same_output_for_each_way_of_passing_the_config(path):
    text = path.read_text()
    cfg = config_path("nginx")
    outputs = {
        run(["--config", cfg], text).stdout,
        run([f"--config={cfg}"], text).stdout,
        run([], text, env={"MAIA_KRM_CONFIG": cfg}).stdout,
    }
    assert len(outputs) == 1
    out = outputs.pop().decode()
    assert out.startswith("---\n# Source: ")
    assert [l for l in out.splitlines() if l.startswith("# Source: ")] == [l for l in text.splitlines() if l.startswith("# Source: ")]


def test_helm4_install_fails_when_a_route_cannot_get_the_login(plugins, tmp_path):
    # The chart sends its Ingress's login elsewhere: maia-krm refuses, and the real Helm 4 engine
    # installs nothing. (libhelm keeps a plugin's stderr to itself; the helm CLI shows it.)
    plugins_dir, record = plugins
    chart = tmp_path / "webapp"
    shutil.copytree(CHARTS / "webapp", chart)
    ingress = chart / "templates" / "ingress.yaml"
    ingress.write_text(ingress.read_text().replace(
        "  annotations:\n", "  annotations:\n    nginx.ingress.kubernetes.io/auth-url: http://elsewhere/\n"))
    proc = helm4_install(str(chart), "demo", plugins_dir, [f"--config={config_path('nginx')}"], check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert 'post-renderer plugin "maia-krm"' in proc.stderr, proc.stderr
    # What Helm sent, run again: the reason maia-krm gave.
    again = run(["--config", config_path("nginx")], (record / "in.yaml").read_bytes(), check=False)
    assert again.returncode == 1 and "served without the group's login" in again.stderr.decode()
