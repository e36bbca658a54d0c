"""Custom resources with pods, before and after maia-krm, against the upstream schemas that exist
in a form usable offline (tests/fixtures/schemas/, each with a .source naming repo, path, commit):
Argo Workflows' own JSON schema, and the Kubeflow training-operator and mpi-operator swagger
definitions, whose pod templates are completed with the Kubernetes 1.33 strict schemas that
kubernetes-validate ships (so the fields maia-krm writes are checked strictly). The other CRDs
run from 125 kB to 1.5 MB each and are not carried; their pod specs are checked by
test_pod_templates against the core schemas."""

import json
import lzma

import jsonschema
import kubernetes_validate
import pytest
from importlib import resources
from referencing import Registry, Resource

from conftest import FIXTURES, ROUTES_CONFIG, config_path, run
from oracle import load, split_documents

SCHEMAS = FIXTURES / "schemas"
PODS = FIXTURES / "pod-templates"
K8S = "https://kubernetes.io/api/_definitions.json#/$defs/"

# kind/apiVersion -> (schema file, definition)
ARGO = "argo-workflows.schema.json"  # carried as .xz: 298 kB of JSON
TRAINING = "kubeflow-training-operator.swagger.json"
MPI = "mpi-operator-v2beta1.swagger.json"
CASES = {
    "workflow.yaml": (ARGO, "io.argoproj.workflow.v1alpha1.Workflow"),
    "workflow-containerset-mounts.yaml": (ARGO, "io.argoproj.workflow.v1alpha1.Workflow"),
    "workflowtemplate.yaml": (ARGO, "io.argoproj.workflow.v1alpha1.WorkflowTemplate"),
    "clusterworkflowtemplate.yaml": (ARGO, "io.argoproj.workflow.v1alpha1.ClusterWorkflowTemplate"),
    "cronworkflow.yaml": (ARGO, "io.argoproj.workflow.v1alpha1.CronWorkflow"),
    "pytorchjob.yaml": (TRAINING, "kubeflow.org.v1.PyTorchJob"),
    "tfjob.yaml": (TRAINING, "kubeflow.org.v1.TFJob"),
    "xgboostjob.yaml": (TRAINING, "kubeflow.org.v1.XGBoostJob"),
    "paddlejob.yaml": (TRAINING, "kubeflow.org.v1.PaddleJob"),
    "mpijob.yaml": (TRAINING, "kubeflow.org.v1.MPIJob"),
    "mpijob-v2beta1.yaml": (MPI, "v2beta1.MPIJob"),
}

# What the swagger files name but leave to the Kubernetes API's own definitions.
SWAGGER_EXTERNAL = {
    "v1.PodTemplateSpec": {"$ref": K8S + "io.k8s.api.core.v1.PodTemplateSpec"},
    "v1.ObjectMeta": {"$ref": K8S + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
    "v1.ListMeta": {"$ref": K8S + "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"},
    "v1.LabelSelector": {"$ref": K8S + "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"},
    "v1.Time": {"type": "string"},
    ".Quantity": {"$ref": K8S + "io.k8s.apimachinery.pkg.api.resource.Quantity"},
    "resource.Quantity": {"$ref": K8S + "io.k8s.apimachinery.pkg.api.resource.Quantity"},
    "k8s.io.api.autoscaling.v2beta2.MetricSpec": {},  # only in elastic policies; not in these examples
}


def k8s_definitions():
    path = resources.files(kubernetes_validate) / "kubernetes-json-schema" / "v1.33.0-local-strict" / "_definitions.json"
    return json.loads(path.read_text())


def schema_text(name):
    xz = SCHEMAS / f"{name}.xz"
    return lzma.decompress(xz.read_bytes()).decode() if xz.exists() else (SCHEMAS / name).read_text()


def validator(schema_file, definition):
    schema = json.loads(schema_text(schema_file))
    definitions = {**schema["definitions"]}
    if schema_file != ARGO:
        definitions.update({k: v for k, v in SWAGGER_EXTERNAL.items() if k not in definitions})
    root = {"$id": "https://maia-krm.test/schema.json", "$ref": f"#/definitions/{definition}", "definitions": definitions}
    registry = Registry().with_resource("https://kubernetes.io/api/_definitions.json", Resource.from_contents(k8s_definitions()))
    return jsonschema.Draft202012Validator(root, registry=registry)


def test_every_schema_names_its_source():
    for f in (ARGO, TRAINING, MPI):
        repo, path, commit, chars = (SCHEMAS / f"{f}.source").read_text().split()
        assert len(commit) == 40 and len(schema_text(f)) == int(chars), f


def errors(check, doc):
    return {(e.json_path, e.message) for e in check.iter_errors(doc)}


# Upstream's examples are a little older or newer than the schema versions stored here; these
# complaints are about the examples, the same before and after maia-krm.
SKEW = {
    "cronworkflow.yaml": {("$.spec", "'schedule' is a required property")},  # the example uses `schedules`
    **{n: {("$.spec", "'runPolicy' is a required property")} for n in ("paddlejob.yaml", "pytorchjob.yaml", "xgboostjob.yaml")},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_maia_krm_adds_no_schema_error_to_upstream_examples(name):
    check = validator(*CASES[name])
    text = (PODS / name).read_text()
    before = [load(d) for d in split_documents(text)]
    after = [load(d) for d in split_documents(run(["--config", config_path("nginx")], text).stdout.decode())]
    assert before != after, f"{name}: maia-krm changed nothing"
    for b, a in zip(before, after):
        assert errors(check, b) == SKEW.get(name, set()), f"{name}: the input itself"
        assert errors(check, a) == errors(check, b), f"{name}: maia-krm's output"


def test_the_schemas_catch_a_mistake_of_the_kind_maia_krm_could_make():
    """A pull secret written as a bare string, or a mount without a path, is an error beyond the
    example's own: the comparison above is strict where maia-krm writes."""
    for name, path in (("pytorchjob.yaml", "$.spec.pytorchReplicaSpecs.Master.template.spec.imagePullSecrets[0]"),
                       ("workflow.yaml", "$.spec.templates[2].script.volumeMounts[0]")):
        check = validator(*CASES[name])
        doc = load(run(["--config", config_path("nginx")], (PODS / name).read_text()).stdout.decode())
        baseline = errors(check, doc)
        if name == "pytorchjob.yaml":
            doc["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["imagePullSecrets"] = ["maia-docker-registry-secret"]
        else:
            doc["spec"]["templates"][2]["script"]["volumeMounts"] = [{"name": "shared"}]
        new = errors(check, doc) - baseline
        assert new and all(p.startswith(path) for p, _ in new), new


# --- routes: the CRDs themselves (structural OpenAPI schemas) ---------------------------------

import yaml  # noqa: E402  (kept with the code that needs it)

ROUTES = FIXTURES / "routes"
CRDS = {
    ("traefik.io", "IngressRoute"): "traefik.io_ingressroutes.yaml",
    ("traefik.containo.us", "IngressRoute"): "traefik.io_ingressroutes.yaml",  # the same schema, older group
    ("gateway.networking.k8s.io", "HTTPRoute"): "gateway.networking.k8s.io_httproutes.yaml",
}


def strict(schema):
    """The schema with unknown fields refused: the API server silently prunes fields a structural
    schema doesn't name, so a field maia-krm wrote there would be lost without a word."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-validations")}
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        schema.pop("nullable", None)
        return schema
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    return schema


def crd_validator(doc):
    """A validator for the document's kind from its CRD, or None when no CRD is carried for it."""
    group, version = doc["apiVersion"].rsplit("/", 1)
    name = CRDS.get((group, doc["kind"]))
    if not name:
        return None
    crd = next(d for d in yaml.safe_load_all(schema_text(name)) if d and d.get("kind") == "CustomResourceDefinition")
    served = {v["name"]: v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"]}
    schema = strict(served.get(version) or served[next(iter(served))])
    # metadata is the API server's: its own schema, not the CRD's.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return jsonschema.Draft202012Validator(schema)




def routed(name, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(ROUTES_CONFIG)
    text = (ROUTES / name).read_text()
    before = [load(d) for d in split_documents(text)]
    after = [load(d) for d in split_documents(run(["--config", str(config)], text).stdout.decode())]
    return before, after


@pytest.mark.parametrize("name", sorted(p.name for p in ROUTES.glob("*.yaml")))
def test_routes_get_only_fields_their_crds_know(name, tmp_path):
    """Traefik's IngressRoute CRD (traefik/traefik docs, v3.4 era) and Gateway API's standard-channel
    HTTPRoute CRD (v1.2.0; from rtribotte/gateway-api, a Traefik maintainer's fork, since the index
    holds no upstream copy that serves v1): every route before and after maia-krm, strictly (an
    unknown field is an error: the API server would prune it). CEL rules are not evaluated."""
    before, after = routed(name, tmp_path)
    routes = [(b, a) for b, a in zip(before, after) if (a["apiVersion"].rsplit("/", 1)[0], a["kind"]) in CRDS]
    assert routes, f"{name}: no route with a CRD here"
    for b, a in routes:
        check = crd_validator(a)
        assert errors(check, b) == set(), f"{name}: the upstream example itself"
        assert errors(check, a) == set(), f"{name}: maia-krm's output"
        assert a != b, f"{name}: maia-krm changed nothing"


def test_the_route_crds_refuse_a_field_they_do_not_know(tmp_path):
    _, after = routed("httproute-filter.yaml", tmp_path)
    route = after[0]
    check = crd_validator(route)
    route["spec"]["rules"][0]["filters"][-1]["extensionRef"]["namespace"] = "elsewhere"
    assert any(p.endswith("extensionRef") for p, _ in errors(check, route)), errors(check, route)
    _, after = routed("ingressroute-simple.yaml", tmp_path)
    route = after[0]
    route["spec"]["routes"][0]["middlewares"] = [{"name": "x", "scope": "y"}]
    assert errors(crd_validator(route), route)


WRITES_EVERYTHING = """apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: web, namespace: default}
spec:
  routes:
  - match: PathPrefix(`/`)
    kind: Rule
    services: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 80}]
"""


def test_every_field_maia_krm_writes_on_routes_is_one_the_crds_know(tmp_path):
    """Routes with nothing of their own: hostnames, parentRefs (with sectionName), the ExtensionRef
    filter, the Host guard, certResolver, entry points and the Middleware reference all written."""
    (tmp_path / "config.yaml").write_text(ROUTES_CONFIG)
    out = run(["--config", str(tmp_path / "config.yaml")], WRITES_EVERYTHING).stdout.decode()
    docs = [load(d) for d in split_documents(out)]
    ingress_route, http_route = docs[0], docs[1]
    assert ingress_route["spec"]["tls"] == {"certResolver": "letsencrypt"}
    assert ingress_route["spec"]["routes"][0]["middlewares"] == [{"name": "oauth2-proxy-auth", "namespace": "default"}]
    assert http_route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateways", "sectionName": "websecure"}]
    assert http_route["spec"]["rules"][0]["filters"][0]["type"] == "ExtensionRef"
    for doc in (ingress_route, http_route):
        assert errors(crd_validator(doc), doc) == set(), doc["kind"]
