"""maia-krm runs confined as its KRM and CMP hosts run it: an unprivileged user, a read-only
filesystem, no HOME, no environment, no network — and produces the same output as unconfined."""

import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN, config_path, corpus_files

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create namespaces and drop to nobody")


@pytest.fixture(scope="module")
def confined():
    # A world-readable copy of the binary and config: the checkout may be private.
    where = pathlib.Path(tempfile.mkdtemp(prefix="maia-krm-confined-"))
    where.chmod(0o755)
    shutil.copy(BIN, where / "maia-krm")
    shutil.copy(config_path("both"), where / "config.yaml")
    for p in where.iterdir():
        p.chmod(0o755)
    # New mount and network namespaces; / remounted read-only inside; then nobody, empty env.
    script = ("mount --bind / / && mount -o remount,bind,ro / && "
              f"exec setpriv --reuid=nobody --regid=nogroup --clear-groups env -i {where}/maia-krm --config {where}/config.yaml")
    yield ["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script]
    shutil.rmtree(where)


@pytest.mark.parametrize("path", corpus_files("helm4")[:4], ids=lambda p: p.name)
def test_confined_output_equals_unconfined(confined, path):
    text = path.read_bytes()
    free = subprocess.run([BIN, "--config", config_path("both")], input=text, capture_output=True, check=True)
    jail = subprocess.run(confined, input=text, capture_output=True)
    assert jail.returncode == 0, jail.stderr.decode()
    assert jail.stdout == free.stdout


def test_the_confinement_is_real(confined):
    probe = [*confined[:-1], confined[-1].replace("env -i", "env -i sh -c 'touch /tmp/x 2>/dev/null && echo writable; id -u; echo ${HOME:-nohome}' #")]
    out = subprocess.run(probe, capture_output=True, text=True)
    assert out.stdout.split() == ["65534", "nohome"], out.stdout + out.stderr
