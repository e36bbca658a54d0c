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
    for f in (ARGO, TRAINING, MPI, *sorted(set(CRDS.values()))):
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
    # main after v1.5.0 (ListenerSet is standard since v1.5.0); carried as .xz.
    ("gateway.networking.k8s.io", "ListenerSet"): "gateway.networking.k8s.io_listenersets.yaml",
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


# --- what maia-krm adds beside routes -------------------------------------------------------------
# No CRD of these is carried (Envoy Gateway's SecurityPolicy CRD alone is 335 kB; Gateway API's
# ExternalAuth is in the experimental HTTPRoute CRD only). These strict schemas are written by hand
# from the upstream Go types, at the commits named, for exactly the fields maia-krm writes.

REF = {"type": "object", "additionalProperties": False, "required": ["name"],
       "properties": {"group": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
                      "namespace": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 65535}}}
HEADERS = {"type": "array", "items": {"type": "string"}, "maxItems": 64, "uniqueItems": True}
# envoyproxy/gateway api/v1alpha1/securitypolicy_types.go, ext_auth_types.go, policy_helpers.go
# (v1.1.0 and later: targetRefs, backendRefs; release-notes/v1.1.0.yaml @8b9b1adb).
SECURITY_POLICY_SPEC = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "targetRefs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["group", "kind", "name"],
            "properties": {"group": {"const": "gateway.networking.k8s.io"}, "kind": {"enum": ["Gateway", "HTTPRoute", "GRPCRoute"]},
                           "name": {"type": "string"}, "sectionName": {"type": "string"}}}},
        "extAuth": {"type": "object", "additionalProperties": False,
                    "oneOf": [{"required": ["http"]}, {"required": ["grpc"]}],
                    "properties": {
                        "headersToExtAuth": HEADERS,
                        "http": {"type": "object", "additionalProperties": False, "required": ["backendRefs"],
                                 "properties": {"backendRefs": {"type": "array", "minItems": 1, "maxItems": 16, "items": REF},
                                                "path": {"type": "string"}, "headersToBackend": HEADERS}}}},
    },
}
# kubernetes-sigs/gateway-api apis/v1/httproute_types.go @03775165 (HTTPExternalAuthFilter, experimental since v1.4.0).
EXTERNAL_AUTH_FILTER = {
    "type": "object", "additionalProperties": False, "required": ["type", "externalAuth"],
    "properties": {
        "type": {"const": "ExternalAuth"},
        "externalAuth": {"type": "object", "additionalProperties": False, "required": ["protocol", "backendRef"],
                         "properties": {
                             "protocol": {"enum": ["HTTP", "GRPC"]},
                             "backendRef": REF,
                             "http": {"type": "object", "additionalProperties": False,
                                      "properties": {"path": {"type": "string"}, "allowedHeaders": HEADERS,
                                                     "allowedResponseHeaders": HEADERS}}}},
    },
}
# cert-manager/cert-manager pkg/apis/certmanager/v1/types_certificate.go (CertificateSpec; cmmeta.ObjectReference).
CERTIFICATE_SPEC = {
    "type": "object", "additionalProperties": False, "required": ["secretName", "issuerRef"],
    "properties": {
        "secretName": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
        "dnsNames": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}},
        "issuerRef": {"type": "object", "additionalProperties": False, "required": ["name"],
                      "properties": {"name": {"type": "string"}, "kind": {"enum": ["Issuer", "ClusterIssuer"]},
                                     "group": {"const": "cert-manager.io"}}},
    },
}


def patched(config_text, manifest, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(config_text)
    return [load(d) for d in split_documents(run(["--config", str(config)], manifest).stdout.decode())]


def check_schema(schema, value):
    found = sorted(e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(value))
    assert found == [], found


def test_on_envoy_gateway_the_security_policy_has_only_fields_upstream_defines(tmp_path):
    envoy = ROUTES_CONFIG.replace("traefik_resolver: letsencrypt", "gateway_auth: envoy-gateway")
    docs = patched(envoy, WRITES_EVERYTHING.split("---\n")[1], tmp_path)
    route, policy = docs
    assert errors(crd_validator(route), route) == set()
    assert "filters" not in route["spec"]["rules"][0]
    assert policy["apiVersion"] == "gateway.envoyproxy.io/v1alpha1" and policy["kind"] == "SecurityPolicy"
    assert policy["metadata"]["namespace"] == route["metadata"]["namespace"] == "default"
    check_schema(SECURITY_POLICY_SPEC, policy["spec"])
    assert policy["spec"]["targetRefs"][0]["name"] == route["metadata"]["name"]
    # The schema catches what it should: a namespace in targetRefs went away in v1.1.
    policy["spec"]["targetRefs"][0]["namespace"] = "default"
    assert list(jsonschema.Draft202012Validator(SECURITY_POLICY_SPEC).iter_errors(policy["spec"]))


def test_the_external_auth_filter_has_only_fields_upstream_defines(tmp_path):
    standard = ROUTES_CONFIG.replace("traefik_resolver: letsencrypt", "gateway_auth: external-auth")
    route = patched(standard, WRITES_EVERYTHING.split("---\n")[1], tmp_path)[0]
    (added,) = route["spec"]["rules"][0]["filters"]
    check_schema(EXTERNAL_AUTH_FILTER, added)


def test_on_a_cert_manager_cluster_an_ingress_route_gets_a_certificate(tmp_path):
    cert_manager = ROUTES_CONFIG.replace("traefik_resolver: letsencrypt", "nginx_cluster_issuer: letsencrypt-prod\n  ingress_class: traefik")
    route, certificate = patched(cert_manager, WRITES_EVERYTHING.split("---\n")[0], tmp_path)
    assert errors(crd_validator(route), route) == set()
    assert route["spec"]["tls"] == {"secretName": "web-ingressroute-tls"}
    assert certificate["apiVersion"] == "cert-manager.io/v1" and certificate["kind"] == "Certificate"
    check_schema(CERTIFICATE_SPEC, certificate["spec"])
    assert certificate["spec"]["secretName"] == route["spec"]["tls"]["secretName"]
    assert certificate["spec"]["dnsNames"] == ["team.maia.example.com"]


def test_the_workspace_listener_set_and_the_routes_on_it_match_their_crds(tmp_path):
    listeners = ROUTES_CONFIG.replace("sectionName: websecure}", "listenerSet: true}") + \
        "  docker_server: registry.example.com\n  docker_username: robot\n"
    (tmp_path / "config.yaml").write_text(listeners)
    out = run(["namespace", "--config", str(tmp_path / "config.yaml")], b"", env={"MAIA_REGISTRY_PASSWORD": "pw"})
    docs = [load(d) for d in split_documents(out.stdout.decode())]
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Namespace", "Secret", "PersistentVolumeClaim", "ListenerSet"], kinds  # no issuer: no Certificate
    listener_set = docs[3]
    assert errors(crd_validator(listener_set), listener_set) == set()
    assert listener_set["spec"]["listeners"][0]["hostname"] == "team.maia.example.com"
    route = patched(listeners, WRITES_EVERYTHING.split("---\n")[1], tmp_path)[0]
    assert errors(crd_validator(route), route) == set()
    (parent,) = route["spec"]["parentRefs"]
    assert (parent["kind"], parent["name"]) == ("ListenerSet", listener_set["metadata"]["name"])
    # The CRD refuses what it should: a listener without a port.
    del listener_set["spec"]["listeners"][0]["port"]
    assert errors(crd_validator(listener_set), listener_set)
