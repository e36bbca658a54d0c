"""kustomize: `kubectl kustomize --enable-alpha-plugins` running maia-krm as a container
transformer (functions/kustomize/, and the complete example in kustomization/). There is no
Docker engine here, so a `docker` shim on PATH stands in for `docker run`: it checks that
kustomize asked for the maia-krm image with no network as nobody, then runs the local binary
exactly so confined — in a new network namespace, as nobody, with an empty environment (no HOME)."""

import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN, ROOT, oracle_config
from oracle import check_promises, load, split_documents

SHIM = """#!/bin/sh
[ "$1" = run ] || { echo "docker shim: only 'run' is supported" >&2; exit 97; }
case " $* " in *" --network none "*) ;; *) echo "docker shim: expected --network none" >&2; exit 98;; esac
case " $* " in *" --user nobody "*) ;; *) echo "docker shim: expected --user nobody" >&2; exit 98;; esac
for image; do :; done
case "$image" in ghcr.io/minnelab/maia-krm:*) ;; *) echo "docker shim: unexpected image $image" >&2; exit 99;; esac
if [ "$(id -u)" = 0 ]; then
  exec unshare --net setpriv --reuid=nobody --regid=nogroup --clear-groups env -i {bin}
fi
exec env -i {bin}
"""


@pytest.fixture
def docker_shim(tmp_path):
    # The "image": a copy of the binary where nobody can reach it (a checkout may sit in a
    # private directory, as a fresh CI clone in a `mktemp -d` folder does).
    image = pathlib.Path(tempfile.mkdtemp(prefix="maia-krm-image-"))
    image.chmod(0o755)
    shutil.copy(BIN, image / "maia-krm")
    (image / "maia-krm").chmod(0o755)
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    (shim_dir / "docker").write_text(SHIM.replace("{bin}", str(image / "maia-krm")))
    (shim_dir / "docker").chmod(0o755)
    yield {**os.environ, "PATH": f"{shim_dir}:{os.environ['PATH']}"}
    shutil.rmtree(image)


def kustomize(directory, env):
    return subprocess.run(["kubectl", "kustomize", "--enable-alpha-plugins", str(directory)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_the_bundled_example_workspace_builds_patched(docker_shim):
    proc = kustomize(ROOT / "kustomization", docker_shim)
    assert proc.returncode == 0, proc.stderr
    docs = [load(d) for d in split_documents(proc.stdout)]
    assert len(docs) > 50
    for d in docs:
        check_promises(d, oracle_config("nginx"))


def test_the_container_transformer_config_from_functions(docker_shim, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(ROOT / "kustomization" / "rendered" / "maia-filebrowser.yaml", app)
    shutil.copy(ROOT / "functions" / "kustomize" / "maia-krm-container.yaml", app)
    (app / "kustomization.yaml").write_text("resources: [maia-filebrowser.yaml]\ntransformers: [maia-krm-container.yaml]\n")
    proc = kustomize(app, docker_shim)
    assert proc.returncode == 0, proc.stderr
    deployment = next(d for d in map(load, split_documents(proc.stdout)) if d["kind"] == "Deployment")
    assert {"name": "maia-docker-registry-secret"} in deployment["spec"]["template"]["spec"]["imagePullSecrets"]


def test_a_bad_config_fails_the_build(docker_shim, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(ROOT / "kustomization" / "rendered" / "minio-tenant.yaml", app)
    bad = (ROOT / "functions" / "kustomize" / "maia-krm-container.yaml").read_text().replace("domain: maia.example.com", "domain: https://x")
    (app / "t.yaml").write_text(bad)
    (app / "kustomization.yaml").write_text("resources: [minio-tenant.yaml]\ntransformers: [t.yaml]\n")
    proc = kustomize(app, docker_shim)
    assert proc.returncode != 0
    assert "domain" in proc.stderr


def test_kubectl_kustomize_silently_skips_exec_functions(tmp_path):
    """Documents the trap the README warns about: the exec form needs standalone kustomize."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(ROOT / "kustomization" / "rendered" / "minio-tenant.yaml", app)
    shutil.copy(ROOT / "functions" / "kustomize" / "maia-krm-exec.yaml", app)
    (app / "kustomization.yaml").write_text("resources: [minio-tenant.yaml]\ntransformers: [maia-krm-exec.yaml]\n")
    proc = subprocess.run(["kubectl", "kustomize", "--enable-alpha-plugins", str(app)], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "cert-manager.io/cluster-issuer: cluster-issuer" not in proc.stdout.split("name: demo-group-minio\n")[0]
    assert "auth-url" not in proc.stdout
