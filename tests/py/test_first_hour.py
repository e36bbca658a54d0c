"""What a new admin meets in the first hour: commands that work as written, and errors and notes
that say what to do. Each test here failed before its fix."""

import os
import pathlib
import pty
import shutil
import subprocess

import yaml

from conftest import BIN, FIXTURES, ROOT, run

NGINX = str(FIXTURES / "config-nginx.yaml")
CHART = (ROOT / "kustomization" / "rendered" / "jupyterhub.yaml").read_bytes()


def test_explain_into_a_closed_pipe_is_no_crash():
    # `--explain 2>&1 | head`: the reader goes after one line. Enough input that the report is
    # larger than a pipe's buffer, so maia-krm is still writing when the pipe closes.
    stream = CHART * 40
    proc = subprocess.Popen([BIN, "--explain", "--config", NGINX], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc.stdin.write(stream)
    proc.stdin.close()
    assert proc.stderr.readline()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0


def test_helm_install_script_finds_the_binary_where_cargo_put_it(tmp_path):
    # CARGO_TARGET_DIR moves cargo's output; the script asks cargo rather than assume ./target.
    target = tmp_path / "elsewhere"
    (target / "release").mkdir(parents=True)
    marker = "#!/bin/sh\necho built-elsewhere\n"
    (target / "release" / "maia-krm").write_text(marker)
    (target / "release" / "maia-krm").chmod(0o755)
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    # No helm on PATH: the script installs for Helm 3 only (on PATH), which is what is checked.
    path = ":".join(d for d in os.environ["PATH"].split(":") if not (pathlib.Path(d) / "helm").exists())
    env = {**os.environ, "CARGO_TARGET_DIR": str(target), "PREFIX": str(prefix), "PATH": path}
    env.pop("MAIA_KRM_BIN", None)
    script = ROOT / "functions" / "helm" / "install.sh"
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, timeout=120)
    shutil.rmtree(ROOT / "functions" / "helm" / "bin", ignore_errors=True)
    assert proc.returncode == 0, proc.stderr.decode()
    assert (prefix / "bin" / "maia-krm").read_text() == marker


def test_audit_names_the_file_it_cannot_read():
    proc = run(["audit", "--config", NGINX, "no-such-chart.yaml"], b"", check=False)
    assert proc.returncode == 2
    assert b"no-such-chart.yaml" in proc.stderr


def test_config_that_is_not_a_config_map_says_what_was_expected(tmp_path):
    form = tmp_path / "group-form.yaml"
    form.write_text("group_ID: demo\ngroup_subdomain: demo\n")
    cases = {
        form: "--form FILE --cluster FILE",
        ROOT / "kustomization" / "rendered" / "jupyterhub.yaml": "manifests to patch go on stdin",
    }
    lower = tmp_path / "configmap.yaml"
    lower.write_text(open(NGINX).read().replace("kind: ConfigMap", "kind: Configmap"))
    cases[lower] = "found kind `Configmap`"
    for path, says in cases.items():
        proc = run(["--config", str(path)], CHART, check=False)
        assert proc.returncode == 2 and proc.stdout == b"", path
        assert says in proc.stderr.decode(), proc.stderr.decode()


def test_an_empty_maia_krm_config_is_unset():
    # Unset, a manifest stream has no config: the error says where one comes from, not that
    # `--config` lacks a value.
    proc = run([], CHART, env={"MAIA_KRM_CONFIG": ""}, check=False)
    assert proc.returncode == 2
    assert b"no config" in proc.stderr and b"a value is required" not in proc.stderr
    # And a KRM call carries its own config, which now applies.
    items = list(yaml.safe_load_all(CHART))
    rl = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [i for i in items if i],
          "functionConfig": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fc"},
                             "data": {"group_ID": "demo-group", "domain": "maia.example.com",
                                      "imagePullSecrets": "regcred", "oauth": "false"}}}
    proc = run([], yaml.safe_dump(rl), env={"MAIA_KRM_CONFIG": ""}, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    out = yaml.safe_load(proc.stdout)
    assert any("regcred" in str(i) for i in out["items"])


def test_a_values_file_or_chart_yaml_on_stdin_is_said():
    for text in (b"replicaCount: 1\nimage: {tag: x}\n", b"apiVersion: v2\nname: demo\nversion: 0.1.0\n"):
        proc = run(["--config", NGINX], text)
        assert proc.stdout == text
        assert b"no Kubernetes object" in proc.stderr
    # A stream with objects gets no such note.
    assert b"no Kubernetes object" not in run(["--config", NGINX], CHART).stderr


def test_stdin_on_a_terminal_says_what_it_waits_for():
    leader, follower = pty.openpty()
    proc = subprocess.Popen([BIN, "--config", NGINX], stdin=follower, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(follower)
    os.write(leader, b"\x04")  # Ctrl-D: end of input on a terminal
    _, err = proc.communicate(timeout=30)
    os.close(leader)
    assert b"reading manifests from the terminal" in err and b"Ctrl-D" in err


def test_two_values_of_one_flag_as_the_help_shows_them():
    help_text = run(["form", "new", "--help"], b"").stdout.decode()
    assert "--memory <GUARANTEE,LIMIT>" in help_text
    form = yaml.safe_load(run(["form", "new", "--group", "Demo", "--memory", "4G,16G", "--cpu", "2,8"], b"").stdout)
    limits = form["resources_limits"]
    assert limits["memory"] == ["4G", "16G"] and limits["cpu"] == [2.0, 8.0]
    bad = run(["form", "new", "--group", "Demo", "--memory", "4G"], b"", check=False)
    assert bad.returncode == 2 and b"GUARANTEE,LIMIT" in bad.stderr


def test_help_documents_every_argument_and_shows_examples():
    check = run(["form", "check", "--help"], b"").stdout.decode()
    forms_line = next(line for line in check.splitlines() if line.strip().startswith("<FORMS>"))
    assert forms_line.strip() != "<FORMS>..."
    cluster_line = next(line for line in check.splitlines() if "--cluster <CLUSTER>" in line)
    assert cluster_line.strip() != "--cluster <CLUSTER>"
    for command in ([], ["audit"], ["plan"], ["form", "new"], ["form", "check"]):
        text = run([*command, "--help"], b"").stdout.decode()
        assert "\nExamples:\n" in text, command
        assert "maia-krm" in text.split("\nExamples:\n")[1], command
