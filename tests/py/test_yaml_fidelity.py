"""Hand-made cases for every row of yaml.md's table and the stream rules, read back with PyYAML
(YAML 1.1) and kubectl kustomize (Go) — plus proof that the oracle catches each failure mode."""

import pathlib
import subprocess
import tempfile

import pytest

from conftest import config_path, oracle_config, run
from test_unprotected import REWRITTEN

# A ConfigMap with anchors, an alias and a tag no edit touches, and a Pod whose container is
# anchored and merged into the next one.
ANCHORS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: anchors
data:
  base: &b "shared"
  copy: *b
  tagged: !!str 0755
---
""" + REWRITTEN["anchored-container"]
from oracle import load, split_documents, strip_managed

DEPLOYMENT = """\
---
# Source: chart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  annotations:
    nginx.ingress.kubernetes.io/proxy-buffering: "on"
    unquoted-on: on
    x: y
    version-quoted: "1.10"
    version-plain: 1.10
    template: "{{ .Values.x }}"
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels:
        app: app
    spec:
      containers:
      - name: app
        image: busybox
        env:
        - name: A
          value: "yes"
        - name: B
          value: "on"
        - name: C
          value: "y"
        - name: D
          value: "off"
        - name: E
          value: 'no'
        volumeMounts:
        - name: scripts
          mountPath: /scripts
      volumes:
      - name: scripts
        configMap:
          name: scripts
          defaultMode: 0755
"""

LINES_THAT_MUST_SURVIVE = [
    "    nginx.ingress.kubernetes.io/proxy-buffering: \"on\"",
    "    unquoted-on: on",
    "    x: y",
    "    version-quoted: \"1.10\"",
    "    version-plain: 1.10",
    "          value: \"yes\"",
    "          value: \"on\"",
    "          value: \"y\"",
    "          value: \"off\"",
    "          value: 'no'",
    "          defaultMode: 0755",
    "    template: \"{{ .Values.x }}\"",
]


def transform(text, flavour="nginx", args=()):
    return run(["--config", config_path(flavour), *args], text).stdout.decode()


def assert_same_meaning(text, out, flavour="nginx"):
    cfg = oracle_config(flavour)
    for t_in, t_out in zip(split_documents(text), split_documents(out)):
        a, b = strip_managed(load(t_out), load(t_in), cfg)
        assert a == b


def kustomize_reads(text):
    with tempfile.TemporaryDirectory() as tmp:
        pathlib.Path(tmp, "m.yaml").write_text(text)
        pathlib.Path(tmp, "kustomization.yaml").write_text("resources:\n- m.yaml\n")
        proc = subprocess.run(["kubectl", "kustomize", tmp], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout


def test_every_yaml_md_row_keeps_its_spelling_and_meaning():
    out = transform(DEPLOYMENT)
    for line in LINES_THAT_MUST_SURVIVE:
        assert line in out.splitlines(), f"lost: {line!r}"
    assert_same_meaning(DEPLOYMENT, out)
    doc = load(out)
    assert doc["spec"]["template"]["spec"]["volumes"][0]["configMap"]["defaultMode"] == 0o755
    assert [e["value"] for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]] == ["yes", "on", "y", "off", "no"]
    assert doc["metadata"]["annotations"]["unquoted-on"] is True  # YAML 1.1 meaning kept, not "fixed"


def test_kubectl_reads_the_patched_document_like_the_original():
    out = transform(DEPLOYMENT.replace("    unquoted-on: on\n    x: y\n", ""))
    built = load(kustomize_reads(out))
    assert built["spec"]["template"]["spec"]["volumes"][0]["configMap"]["defaultMode"] == 493
    assert built["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "on"


@pytest.mark.parametrize("naive, wise", [
    ("defaultMode: '0755'", "defaultMode: 0755"),
    ("value: yes", "value: \"yes\""),
    ("proxy-buffering: on", "proxy-buffering: \"on\""),
    ("defaultMode: 755", "defaultMode: 0755"),
    ("version-quoted: 1.10", "version-quoted: \"1.10\""),
])
def test_the_oracle_catches_what_naive_serialisers_do(naive, wise):
    """Each yaml.md failure mode, applied by hand to a good output, must fail the oracle."""
    out = transform(DEPLOYMENT)
    broken = out.replace(wise, naive, 1)
    assert broken != out
    with pytest.raises(AssertionError):
        assert_same_meaning(DEPLOYMENT, broken)


def test_anchors_aliases_tags_and_merge_keys_are_kept_unless_an_edit_goes_into_them():
    text = ANCHORS
    # The ConfigMap needs no edit: its anchors, alias and tag stay byte for byte. The Pod's mount
    # would go into the anchored container (and its alias): the Pod is written anew in plain
    # block style, the alias and merge expanded, and then patched.
    proc = run(["--config", config_path("nginx"), "--explain"], text)
    out = proc.stdout.decode()
    configmap, pod = out.split("---\n")
    assert configmap == text.split("---\n")[0]
    assert "written anew in plain block style" in proc.stderr.decode()
    containers = load(pod)["spec"]["containers"]
    assert [c["name"] for c in containers] == ["a", "b"] and all(c["image"] == "busybox" for c in containers)
    assert "&" not in pod and "*" not in pod and "<<" not in pod


def test_crlf_long_lines_and_comment_only_documents():
    long_value = "x" * 27000
    text = (
        "---\r\n# Source: c/templates/cm.yaml\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: big\r\n"
        f"data:\r\n  dashboard.json: '{long_value}'\r\n"
        "---\n# Source: c/templates/empty.yaml\n"
        "---\r\n# Source: c/templates/sa.yaml\r\napiVersion: v1\r\nkind: ServiceAccount\r\nmetadata:\r\n  name: sa\r\n"
    )
    out = transform(text)
    assert out.startswith(text.split("---\r\n# Source: c/templates/sa.yaml")[0])
    assert out.endswith("  name: sa\r\nimagePullSecrets:\r\n  - name: maia-docker-registry-secret\r\n")
    assert_same_meaning(text, out)


def test_duplicate_kind_name_pairs_are_both_kept_and_both_patched():
    sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: same\n"
    hook = sa.replace("  name: same\n", "  name: same\n  annotations:\n    helm.sh/hook: pre-install\n")
    out = transform(sa + "---\n" + hook)
    docs = [load(d) for d in split_documents(out)]
    assert len(docs) == 2 and all(d["imagePullSecrets"] == [{"name": "maia-docker-registry-secret"}] for d in docs)


def test_list_kind_items_are_patched_in_place():
    text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    name: a\n"
    out = load(transform(text))
    assert out["items"][0]["imagePullSecrets"] == [{"name": "maia-docker-registry-secret"}]


def test_unknown_kinds_and_crds_pass_through_byte_for_byte():
    text = "apiVersion: example.com/v2\nkind: Tenant\nmetadata:\n  name: t\nspec:\n  pools: [{servers: 4}]\n"
    assert transform(text) == text
