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

from conftest import FIXTURES, config_path, run
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
