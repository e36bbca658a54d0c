"""`maia-krm audit`, `--check` and `--diff`: golden output per format, every exit code, colour only
on a terminal, a `kubectl get -o yaml` List, and the property that the audit and the patches agree,
on every stream of both corpora."""

import json
import os
import pty
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import BIN, FIXTURES, CORPUS, config_path, corpus_files, run

AUDIT = FIXTURES / "audit"
NGINX = config_path("nginx")
TRAEFIK = config_path("traefik")


def audit(*args, stdin=b"", env=None):
    return run(["audit", *args], stdin, env=env, check=False)


def explained_changes(config, text):
    """(document, resource, patch, field and message) of every `changed` line of --explain."""
    err = run(["--config", config, "--explain"], text).stderr.decode()
    changes, head = [], None
    for line in err.splitlines():
        if m := re.match(r"document (\d+): (.*)$", line):
            head = (int(m[1]), m[2])
        elif m := re.match(r"  changed  (\S+)\s+(.*)$", line):
            changes.append((*head, m[1], m[2]))
    return sorted(changes)


def resource_text(r):
    return f"{r['kind']} {r['namespace']}/{r['name']}" if r.get("namespace") is not None else f"{r['kind']} {r['name']}"


def gap_text(g):
    return f"{g['field']}: {g['message']}" if g["field"] else g["message"]


WORKSPACE_NS = "demo-group"
RESPONSIBLE = {"served without TLS": "ingress-tls", "served without the group's login": "oauth",
               "not on the workspace host": "ingress-tls"}


def pod_patch(problem):
    return "shared-volume" if "shared volume" in problem else "pull-secret"


def check_consistency(config, text, name):
    report = json.loads(audit("--config", config, "-o", "json", stdin=text).stdout)
    closable = sorted((g["document"], resource_text(g["resource"]), g["patch"], gap_text(g))
                      for g in report["gaps"] if g["closed_by_maia_krm"])
    # The audit leaves other namespaces out (counted in outside_workspace).
    in_workspace = lambda c: "/" not in c[1] or c[1].split(" ", 1)[1].split("/")[0] == WORKSPACE_NS
    assert closable == [c for c in explained_changes(config, text) if in_workspace(c)], \
        f"{name}: audit and --explain disagree"
    # Every broken rule the rows show (read from the fields) is a gap a patch reports (from its run).
    gaps = {(resource_text(g["resource"]), g["patch"]) for g in report["gaps"]}
    for row in report["routes"]:
        for problem in row["problems"]:
            responsible = next(patch for text, patch in RESPONSIBLE.items() if problem.startswith(text))
            assert (resource_text(row["resource"]), responsible) in gaps, f"{name}: {row}"
    for row in report["pods"]:
        for problem in row["problems"]:
            assert (resource_text(row["resource"]), pod_patch(problem)) in gaps, f"{name}: {row}"
    return report


CORPUS_CASES = [(c, f) for f in corpus_files("helm3") + corpus_files("helm4") for c in (NGINX, TRAEFIK)] + \
    [(NGINX, f) for f in corpus_files("helm3", "wide") + corpus_files("helm4", "wide")]


@pytest.mark.parametrize("config,path", CORPUS_CASES, ids=lambda v: getattr(v, "name", os.path.basename(str(v))))
def test_the_audit_lists_what_maia_krm_changes_and_its_output_audits_clean(config, path):
    text = path.read_bytes()
    before = check_consistency(config, text, path.name)
    output = run(["--config", config], text).stdout  # exit 0: no legitimate chart is refused
    after = check_consistency(config, output, path.name + " (output)")
    # One decision: maia-krm exits 0 only when its output holds the policy the audit checks.
    assert after["ok"], f"{path.name}: exit 0, but the audit of the output finds {[r for r in after['routes'] + after['pods'] if r['problems']]}"
    assert not [g for g in after["gaps"] if g["closed_by_maia_krm"]], f"{path.name}: maia-krm's output still has gaps it closes"
    # What's left broken after maia-krm is what it reported it couldn't fix.
    left = [r for r in after["routes"] + after["pods"] if r["problems"]]
    assert all(any(g["resource"] == r["resource"] and not g["closed_by_maia_krm"] for g in after["gaps"]) for r in left)
    if before["gaps"] and not left:
        assert after["ok"] and audit("--config", config, stdin=output).returncode == 0


# --- golden output per format, on a corpus chart ------------------------------------------------

GOLDEN = [("table", "minio-tenant.audit.txt"), ("json", "minio-tenant.audit.json"), ("krm", "minio-tenant.audit.krm.yaml")]


@pytest.mark.parametrize("fmt,golden", GOLDEN)
def test_golden_output_per_format(fmt, golden):
    proc = audit("--config", NGINX, "-o", fmt, str(CORPUS / "minio-tenant.yaml"))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.decode() == (AUDIT / golden).read_text().replace("CORPUS", str(CORPUS))


def test_the_formats_say_the_same():
    report = json.loads(audit("--config", NGINX, "-o", "json", str(CORPUS / "minio-tenant.yaml")).stdout)
    krm = yaml.safe_load(audit("--config", NGINX, "-o", "krm", str(CORPUS / "minio-tenant.yaml")).stdout)
    assert krm["kind"] == "ResourceList" and krm["items"] == []
    errors = [r for r in krm["results"] if r["severity"] == "error"]
    assert len(errors) == sum(len(r["problems"]) for r in report["routes"] + report["pods"])
    assert len(krm["results"]) - len(errors) == len(report["gaps"])
    assert {e["resourceRef"]["name"] for e in errors} == {"demo-group-minio", "demo-group-minio-console"}


# --- exit codes --------------------------------------------------------------------------------

def test_every_exit_code():
    chart = (CORPUS / "minio-tenant.yaml").read_bytes()
    assert audit("--config", NGINX, stdin=chart).returncode == 1
    fixed = run(["--config", NGINX], chart).stdout
    assert audit("--config", NGINX, stdin=fixed).returncode == 0
    bad_yaml = audit("--config", NGINX, stdin=b"a: [\n")
    assert bad_yaml.returncode == 2 and b"line" in bad_yaml.stderr
    assert audit("--config", str(AUDIT / "missing.yaml"), stdin=chart).returncode == 2
    assert audit(stdin=chart, env={"MAIA_KRM_CONFIG": ""}).returncode == 2
    assert audit("--config", NGINX, "-o", "xml", stdin=chart).returncode == 2


def test_several_files_make_one_report_in_argument_order(tmp_path):
    fixed = tmp_path / "fixed.yaml"
    fixed.write_bytes(run(["--config", NGINX], (CORPUS / "minio-tenant.yaml").read_bytes()).stdout)
    report = json.loads(audit("--config", NGINX, "-o", "json", str(fixed), str(CORPUS / "oauth2-proxy.yaml")).stdout)
    for rows in (report["routes"], report["pods"]):
        sources = [r["source"] for r in rows]
        assert sources == sorted(sources, key=lambda s: s != str(fixed)) and len(set(sources)) == 2
    assert not report["ok"]


# --- kubectl get -o yaml ------------------------------------------------------------------------

def test_a_kubectl_get_list_with_status_and_managed_fields():
    path = AUDIT / "kubectl-get-oauth2-proxy.yaml"
    proc = audit("--config", NGINX, "-o", "json", str(path))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    listed = yaml.safe_load(path.read_text())["items"]
    workloads = [i for i in listed if i["kind"] in ("Deployment", "StatefulSet", "Pod")]
    assert [(p["resource"]["kind"], p["resource"]["name"]) for p in report["pods"]] == \
        [(w["kind"], w["metadata"]["name"]) for w in workloads]
    assert all(not p["pull_secret"] and p["problems"] for p in report["pods"])
    (route,) = report["routes"]
    assert (route["path"], route["login"]) == ("/oauth2", "oauth2-proxy itself")
    # Status and managedFields are the cluster's: reported on, never the reason for a gap.
    assert not [g for g in report["gaps"] if "status" in g["field"] or "managedFields" in g["field"]]


# --- colour only on a terminal ------------------------------------------------------------------

def on_terminal(env):
    main, secondary = pty.openpty()
    proc = subprocess.run([BIN, "audit", "--config", NGINX, str(CORPUS / "minio-tenant.yaml")],
                          stdout=secondary, stderr=subprocess.PIPE, env={**os.environ, **env}, timeout=60)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    return proc.returncode, out


def test_colour_only_on_a_terminal_and_never_with_no_color():
    piped = audit("--config", NGINX, str(CORPUS / "minio-tenant.yaml")).stdout
    assert b"\x1b[" not in piped
    code, out = on_terminal({})
    assert code == 1 and b"\x1b[31;1mNONE\x1b[0m" in out
    code, out = on_terminal({"NO_COLOR": "1"})
    assert code == 1 and b"\x1b[" not in out and b"NONE" in out


# --- --check and --diff -------------------------------------------------------------------------

def test_check_and_diff_on_a_changed_and_an_unchanged_stream():
    chart = (CORPUS / "minio-tenant.yaml").read_bytes()
    check = run(["--config", NGINX, "--check"], chart, check=False)
    assert (check.returncode, check.stdout) == (1, b"") and b"would differ" in check.stderr
    fixed = run(["--config", NGINX], chart).stdout
    check = run(["--config", NGINX, "--check"], fixed, check=False)
    assert (check.returncode, check.stdout, check.stderr) == (0, b"", b"")
    diff = run(["--config", NGINX, "--diff"], chart).stdout.decode()
    headers = [l for l in diff.splitlines() if l.startswith("+++ ")]
    assert headers == [
        "+++ b/tenant/templates/api-ingress.yaml (Ingress demo-group-minio)",
        "+++ b/tenant/templates/console-ingress.yaml (Ingress demo-group-minio-console)",
        "+++ b/tenant/templates/tenant.yaml (Tenant demo-group-minio)",
    ], headers
    assert run(["--config", NGINX, "--diff"], fixed).stdout == b""
    both = run(["--config", NGINX, "--diff", "--check"], chart, check=False)
    assert both.returncode == 1 and both.stdout.decode() == diff


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed (tests/run installs it as root)")
def test_the_diff_applies_with_patch_to_give_the_output(tmp_path):
    """GNU patch, not maia-krm, reads the diff: each part, applied to the document it heads, gives
    maia-krm's output for that document; the added documents come last, against /dev/null."""
    chart = (CORPUS / "oauth2-proxy.yaml").read_text()
    out = run(["--config", TRAEFIK], chart).stdout.decode()
    diff = run(["--config", TRAEFIK, "--diff"], chart).stdout.decode()
    parts = re.split(r"(?m)^(?=--- )", diff)[1:]
    split = lambda text: re.split(r"(?m)^---\n", text)
    docs, expected = split(chart), split(out)
    changed = [(d, e) for d, e in zip(docs, expected) if d != e]
    assert changed and len(parts) == len(changed) + len(expected) - len(docs)
    for (doc, want), part in zip(changed, parts):
        source = re.search(r"^# Source: (.*)$", doc, re.M)[1]
        assert part.startswith(f"--- a/{source} ("), part[:200]
        f = tmp_path / "doc.yaml"
        f.write_text(doc)
        subprocess.run(["patch", "-s", "-F0", str(f)], input=part.encode(), check=True)
        assert f.read_text() == want
    for part, want in zip(parts[len(changed):], expected[len(docs):]):
        assert part.startswith("--- /dev/null\n+++ b/(added) ")
        f = tmp_path / "new.yaml"
        f.write_text("")
        subprocess.run(["patch", "-s", "-F0", str(f)], input=part.encode(), check=True)
        assert f.read_text() == want
