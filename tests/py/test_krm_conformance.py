"""KRM function conformance, with hand-made ResourceLists as kpt and kustomize send them
(functions spec: kubernetes-sigs/kustomize cmd/config/docs/api-conventions/functions-spec.md)."""

import pytest
import yaml

from conftest import config_path, run

SA = """\
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: sa
    annotations:
      config.kubernetes.io/path: 'sa.yaml'
      config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'sa.yaml'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/id: '3'
      internal.config.kubernetes.io/seqindent: 'compact'
      internal.config.kubernetes.io/package-path: 'pkg'
      internal.config.kubernetes.io/annotations-migration-resource-id: '3'
      config.k8s.io/id: '3'
      kustomize.config.k8s.io/id: |
        kind: ServiceAccount
        name: sa
        version: v1
"""
DEPLOY = """\
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    template:
      spec:
        containers: [{name: web, image: nginx}]
"""
KPT_INPUT = """\
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: function-input}
  data: {group_ID: Demo_Group, domain: maia.example.com, imagePullSecrets: regcred}
"""
KUSTOMIZE_CONFIG = """\
functionConfig:
  apiVersion: v1
  data:
    cluster.yaml: |
      domain: maia.example.com
    group-form.yaml: |
      group_ID: Demo_Group
  kind: ConfigMap
  metadata:
    annotations:
      config.kubernetes.io/function: |
        container:
          image: ghcr.io/minnelab/maia-krm:0.1.0
      config.kubernetes.io/local-config: 'true'
    name: maia-krm
"""


def resource_list(items, tail="", api="config.kubernetes.io/v1", kind="ResourceList"):
    return f"apiVersion: {api}\nkind: {kind}\nitems:\n{items}{tail}"


def krm(text, args=(), code=0):
    proc = run(list(args), text, check=False)
    assert proc.returncode == code, proc.stderr.decode()
    return proc


@pytest.mark.parametrize("api", ["config.kubernetes.io/v1", "config.kubernetes.io/v1alpha1"])
def test_both_resource_list_versions(api):
    out = yaml.safe_load(krm(resource_list(SA + DEPLOY, KPT_INPUT, api=api)).stdout)
    assert out["apiVersion"] == api and out["kind"] == "ResourceList"
    assert out["items"][0]["imagePullSecrets"] == [{"name": "regcred"}]
    assert out["items"][1]["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_a_list_input_is_answered_with_a_resource_list():
    out = yaml.safe_load(krm(resource_list(SA, KPT_INPUT, api="v1", kind="List")).stdout)
    assert (out["apiVersion"], out["kind"]) == ("config.kubernetes.io/v1", "ResourceList")


def test_kustomize_style_function_config():
    out = yaml.safe_load(krm(resource_list(SA, KUSTOMIZE_CONFIG)).stdout)
    assert out["items"][0]["imagePullSecrets"] == [{"name": "maia-docker-registry-secret"}]


def test_tool_annotations_are_kept_untouched_and_order_is_kept():
    text = resource_list(SA + DEPLOY, KPT_INPUT)
    out = yaml.safe_load(krm(text).stdout)
    inp = yaml.safe_load(text)
    assert out["items"][0]["metadata"] == inp["items"][0]["metadata"]
    assert [i["kind"] for i in out["items"]] == ["ServiceAccount", "Deployment"]


def test_local_config_and_kptfile_items_are_not_patched():
    local = SA.replace("    name: sa\n", "    name: local\n").replace("      config.kubernetes.io/path", "      config.kubernetes.io/local-config: 'true'\n      config.kubernetes.io/path", 1)
    kptfile = "- apiVersion: kpt.dev/v1\n  kind: Kptfile\n  metadata: {name: pkg}\n  pipeline: {mutators: [{exec: maia-krm}]}\n"
    out = yaml.safe_load(krm(resource_list(local + kptfile, KPT_INPUT)).stdout)
    assert "imagePullSecrets" not in out["items"][0]
    assert out["items"][1] == yaml.safe_load(kptfile)[0]


def test_empty_items_stay_empty_not_an_error():
    out = yaml.safe_load(krm("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n" + KPT_INPUT).stdout)
    assert out["items"] == []


def test_results_describe_each_change_conflict_and_refusal():
    # A volume `shared` for something else: the shared volume can't be added, so besides the
    # patch's warning the policy refuses the Deployment: an error result, and exit 1 (kpt and
    # kustomize then stop the pipeline).
    conflict = DEPLOY.replace("containers: [{name: web, image: nginx}]",
                              "containers: [{name: web, image: nginx}]\n        volumes: [{name: shared, emptyDir: {}}]")
    proc = krm(resource_list(SA + conflict, KPT_INPUT), code=1)
    out = yaml.safe_load(proc.stdout)
    by_severity = {}
    for r in out["results"]:
        by_severity.setdefault(r["severity"], []).append(r)
    info = by_severity["info"][0]
    assert info["resourceRef"] == {"apiVersion": "v1", "kind": "ServiceAccount", "name": "sa"}
    assert info["field"] == {"path": "imagePullSecrets"}
    assert info["file"] == {"path": "sa.yaml", "index": 0}
    warning = by_severity["warning"][0]
    assert warning["resourceRef"]["name"] == "web" and "left alone" in warning["message"]
    [error] = by_severity["error"]
    assert error["resourceRef"]["name"] == "web" and "without the shared volume" in error["message"]
    assert error["field"] == {"path": "spec.template.spec"}
    assert set(by_severity) == {"info", "warning", "error"}
    # Under `on_unpatchable: warn` the same is a warning, and the call succeeds.
    lenient = KPT_INPUT.replace("imagePullSecrets: regcred}", "imagePullSecrets: regcred, on_unpatchable: warn}")
    out = yaml.safe_load(krm(resource_list(SA + conflict, lenient)).stdout)
    assert {r["severity"] for r in out["results"]} == {"info", "warning"}
    assert any("on_unpatchable: warn" in r["message"] for r in out["results"])


def test_missing_config_is_an_error_result_with_exit_1_and_every_item_kept():
    empty_fc = "functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: function-input}}\n"
    proc = krm(resource_list(SA, empty_fc), code=1)
    out = yaml.safe_load(proc.stdout)
    assert out["results"] == [{"message": out["results"][0]["message"], "severity": "error"}]
    assert out["items"] == yaml.safe_load(resource_list(SA, empty_fc))["items"]
    assert b"no config" in proc.stderr


def test_an_invalid_config_is_an_error_result_naming_the_key():
    bad = KPT_INPUT.replace("domain: maia.example.com", "domain: 'https://x'")
    out = yaml.safe_load(krm(resource_list(SA, bad), code=1).stdout)
    assert "`domain`" in out["results"][0]["message"]


def test_a_broken_resource_list_is_exit_1_with_nothing_on_stdout():
    proc = krm(resource_list(SA + "- kind: Pod\n  metadata: {name: a\n", KPT_INPUT), code=1)
    assert proc.stdout == b""
    assert b"line" in proc.stderr


def test_an_item_that_repeats_a_key_is_patched_where_readers_look_with_a_warning():
    # Helm and kubectl read the last occurrence; maia-krm reads it so too, and edits only that.
    pod = "- kind: Pod\n  metadata: {name: a}\n  metadata: {name: b}\n  spec: {containers: [{name: c, image: x}]}\n"
    out = yaml.safe_load(krm(resource_list(SA + pod, KPT_INPUT)).stdout)
    item = out["items"][1]
    assert item["metadata"] == {"name": "b"}
    assert item["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert item["spec"]["containers"][0]["volumeMounts"] == [{"name": "shared", "mountPath": "/home/maia-user/shared"}]
    warnings = [r for r in out["results"] if r["severity"] == "warning" and r["resourceRef"]["name"] == "b"]
    assert any("repeated" in r["message"] for r in warnings), out["results"]


def test_config_from_the_command_line_when_function_config_is_empty():
    out = yaml.safe_load(krm(resource_list(SA), args=["--config", config_path("traefik")]).stdout)
    assert out["items"][0]["imagePullSecrets"] == [{"name": "maia-docker-registry-secret"}]
