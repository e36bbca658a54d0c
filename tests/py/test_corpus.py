"""maia-krm over every real rendered chart of the corpus, in Helm 3 and Helm 4 framing, checked
against readers that share nothing with it: PyYAML (YAML 1.1), kubernetes-validate, kubectl kustomize."""

import subprocess
import tempfile
import pathlib

import kubernetes_validate
import pytest

from conftest import FLAVOURS, config_path, corpus_files, oracle_config, run
from oracle import check_promises, load, split_documents, strip_managed

CASES = [(f, fl) for framing in ("helm3", "helm4") for f in corpus_files(framing) for fl in FLAVOURS]


def ids(case):
    return f"{case[0].name}-{case[1]}"


@pytest.fixture(scope="module", params=CASES, ids=ids)
def rendered(request):
    path, flavour = request.param
    text = path.read_text()
    out = run(["--config", config_path(flavour)], text).stdout.decode()
    return path, flavour, text, out


def test_every_document_keeps_its_meaning_outside_managed_fields(rendered):
    path, flavour, text, out = rendered
    cfg = oracle_config(flavour)
    ins, outs = split_documents(text), split_documents(out)
    assert len(outs) >= len(ins)
    for i, (t_in, t_out) in enumerate(zip(ins, outs)):
        d_in, d_out = load(t_in), load(t_out)
        stripped_out, stripped_in = strip_managed(d_out, d_in, cfg)
        assert stripped_out == stripped_in, f"{path.name} document {i + 1} changed outside managed fields"
        if d_in == d_out:
            assert t_in == t_out, f"{path.name} document {i + 1}: unchanged meaning but different bytes"
    for t_new in outs[len(ins):]:
        assert load(t_new)["kind"] == "Middleware"


def test_patch_promises_hold_on_every_document(rendered):
    path, flavour, _, out = rendered
    for doc in split_documents(out):
        check_promises(load(doc), oracle_config(flavour))


def test_second_run_is_byte_identical(rendered):
    _, flavour, _, out = rendered
    assert run(["--config", config_path(flavour)], out).stdout.decode() == out


def test_source_lines_and_helm4_filenames_survive(rendered):
    path, _, text, out = rendered
    for marker in ("# Source: ", "postrenderer.helm.sh/postrender-filename: "):
        assert [l for l in text.splitlines() if l.lstrip().startswith(marker)] == \
               [l for l in out.splitlines() if l.lstrip().startswith(marker)]


def test_kubernetes_validate_passes_wherever_it_passed_on_input(rendered):
    path, _, text, out = rendered
    for i, (t_in, t_out) in enumerate(zip(split_documents(text), split_documents(out))):
        d_in = load(t_in)
        if not isinstance(d_in, dict):
            continue
        try:
            kubernetes_validate.validate(d_in, "1.33.0", strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError):
            continue
        kubernetes_validate.validate(load(t_out), "1.33.0", strict=True)


def test_kubectl_kustomize_reads_the_output(rendered):
    path, _, _, out = rendered
    docs = [load(d) for d in split_documents(out)]
    ids = [(d.get("apiVersion"), d.get("kind"), (d.get("metadata") or {}).get("namespace"), (d.get("metadata") or {}).get("name"))
           for d in docs if isinstance(d, dict)]
    if len(ids) != len(set(ids)):
        pytest.skip("Helm 4 sends hooks and templates together; kustomize refuses duplicate ids by design")
    with tempfile.TemporaryDirectory() as tmp:
        pathlib.Path(tmp, "out.yaml").write_text(out)
        pathlib.Path(tmp, "kustomization.yaml").write_text("resources:\n- out.yaml\n")
        proc = subprocess.run(["kubectl", "kustomize", tmp], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
