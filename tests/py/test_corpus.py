"""maia-krm over every stream of both chart corpora (tests/corpus/: the charts MAIA installs, and 116
bitnami charts), Helm 3 framing (NAME.yaml, NAME.hooks.yaml, NAME.crds.yaml) and Helm 4 framing
(NAME.helm4.yaml), checked against readers that share nothing with it: PyYAML (YAML 1.1), Go's
yaml.v3 (Helm 4's reader), kubernetes-validate's schemas, kubectl kustomize.

maia-krm runs once per (stream, flavour) in a module-scope fixture; every test below names both."""

import concurrent.futures
import functools
import pathlib
import re
import subprocess
import tempfile
import warnings

import jsonschema
import kubernetes_validate
import pytest
import referencing
from kubernetes_validate import utils as kv_utils

from conftest import FLAVOURS, ROOT, config_path, corpus_files, oracle_config, run
from oracle import repeats_a_key, LOADER, check_promises, load, split_documents, strip_managed

YAMLV3 = ROOT / "target" / "go" / "yamlv3"
K8S_VERSION = "1.33.0"
WIDE_FLAVOURS = ("nginx", "traefik")  # `both` stays on the small corpus: it adds no reader the two lack

CASES = [("small", f, fl) for framing in ("helm3", "helm4") for f in corpus_files(framing) for fl in FLAVOURS] + \
        [("wide", f, fl) for framing in ("helm3", "helm4") for f in corpus_files(framing, "wide") for fl in WIDE_FLAVOURS]

if not YAMLV3.is_file():
    warnings.warn(f"Go yaml.v3 checker {YAMLV3} is missing: corpus outputs are NOT checked with Helm 4's "
                  f"reader (build it from tests/differential/yamlv3)")


def case_id(case):
    corpus, path, flavour = case
    return f"{corpus}/{path.name}-{flavour}"


def external_checks(corpus, path, flavour):
    """The subprocess work of one case: maia-krm, yaml.v3 and kubectl kustomize on its output.

    Runs on a worker thread a few cases ahead of the tests (see `rendered`), so Go's start-up and
    reading overlap the Python oracle on the other core; results are kept per case, so a failure
    still names its file and flavour."""
    data = path.read_bytes()  # bytes, as Helm sends them (CRLF lines included)
    res = {"data": data, "proc": run(["--config", config_path(flavour)], data, check=False)}
    if res["proc"].returncode != 0:
        return res
    out = res["proc"].stdout
    if YAMLV3.is_file():
        res["yamlv3"] = subprocess.run([str(YAMLV3), "check"], input=out, capture_output=True, timeout=120)
    if corpus == "wide":
        # kustomize over all of the wide corpus would take ~100 s of the budget: it reads the
        # documents maia-krm changed or added; the others are Helm's own bytes, and yaml.v3 reads
        # the whole stream above.
        ins = split_documents(data.decode())
        outs = split_documents(out.decode())
        # kustomize refuses a repeated key outright (Helm and kubectl read the last one): such a
        # document is read by yaml.v3 above, and by the oracle.
        changed = [t for i, t in enumerate(outs) if (i >= len(ins) or ins[i] != t) and not repeats_a_key(t)]
        if not changed:
            res["kustomize"] = "maia-krm changed no document: the output is the input, byte for byte"
            return res
        out = "".join(changed).encode()
    with tempfile.TemporaryDirectory() as tmp:
        pathlib.Path(tmp, "out.yaml").write_bytes(out)
        pathlib.Path(tmp, "kustomization.yaml").write_text("resources:\n- out.yaml\n")
        res["kustomize"] = subprocess.run(["kubectl", "kustomize", tmp], capture_output=True, text=True, timeout=120)
    return res


# CPython forks its children with vfork; doing that from this worker thread while the main thread
# runs has failed here with EFAULT ("Bad address") now and then. fork+exec is slower but sound.
subprocess._USE_VFORK = False

LOOKAHEAD = 6
_worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus")
_jobs = {}


@pytest.fixture(scope="module", autouse=True)
def _stop_worker():
    yield
    _worker.shutdown(wait=True, cancel_futures=True)


class Rendered:
    """One maia-krm run: input and output bytes and texts, each document's text and meaning."""

    def __init__(self, corpus, path, flavour, checks):
        self.corpus, self.path, self.flavour = corpus, path, flavour
        self.checks = checks
        self.data = checks["data"]
        self.text = self.data.decode()
        self.proc = checks["proc"]
        self._outs = None

    def output(self):
        """The output text; fails the test when maia-krm did not exit 0 (test_exits_zero says why)."""
        if self.proc.returncode != 0:
            first = (self.proc.stderr.decode(errors="replace").strip().splitlines() or [""])[0]
            pytest.fail(f"nothing to check: maia-krm exited {self.proc.returncode} ({first[:300]})", pytrace=False)
        return self.proc.stdout.decode()

    def ins(self):
        return parsed_input(self.path)

    def outs(self):
        """[(text, meaning)] of the output; a document with its input's exact bytes reuses its meaning."""
        if self._outs is None:
            known = {t: d for t, d in self.ins()}
            self._outs = [(t, known[t] if t in known else load(t)) for t in split_documents(self.output())]
        return self._outs


@functools.lru_cache(maxsize=4)  # cases come file by file, flavours in a row: each input is read once
def parsed_input(path):
    return [(t, load(t)) for t in split_documents(path.read_bytes().decode())]


@pytest.fixture(scope="module", params=range(len(CASES)), ids=[case_id(c) for c in CASES])
def rendered(request):
    i = request.param
    for j in range(i, min(i + LOOKAHEAD, len(CASES))):
        if j not in _jobs:
            _jobs[j] = _worker.submit(external_checks, *CASES[j])
    return Rendered(*CASES[i], _jobs.pop(i).result())


def typed(value):
    """The value with every scalar's type attached: Python's `1 == True == 1.0` must not hide a change."""
    if isinstance(value, dict):
        return {typed(k): typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return type(value).__name__, repr(value) if isinstance(value, float) else value


def test_the_oracle_reads_yaml_1_1():
    assert load("a: 0755\nb: on\nc: '0755'\nd: 1_000\ne: 0x1F\n") == {"a": 493, "b": True, "c": "0755", "d": 1000, "e": 31}, LOADER


def test_exits_zero(rendered):
    r = rendered
    assert r.proc.returncode == 0, \
        f"{r.path.name} ({r.flavour}): maia-krm exited {r.proc.returncode}: {r.proc.stderr.decode(errors='replace')}"
    if any(d is not None for _, d in r.ins()):
        assert r.proc.stdout.strip(), f"{r.path.name} ({r.flavour}): empty output for a stream with resources"


def test_every_document_keeps_its_meaning_outside_managed_fields(rendered):
    r = rendered
    cfg = oracle_config(r.flavour)
    ins, outs = r.ins(), r.outs()
    assert len(outs) >= len(ins), f"{r.path.name}: {len(ins)} documents in, {len(outs)} out"
    for i, ((t_in, d_in), (t_out, d_out)) in enumerate(zip(ins, outs)):
        if t_in == t_out:
            continue
        where = f"{r.path.name} document {i + 1} ({(d_in or {}).get('kind') if isinstance(d_in, dict) else d_in!r})"
        assert typed(d_in) != typed(d_out), f"{where}: unchanged meaning but different bytes"
        stripped_out, stripped_in = strip_managed(d_out, d_in, cfg)
        assert typed(stripped_out) == typed(stripped_in), f"{where}: changed outside managed fields"
    for t_new, d_new in outs[len(ins):]:
        assert isinstance(d_new, dict) and d_new.get("kind") == "Middleware", f"{r.path.name}: unexpected new document {t_new[:200]!r}"


def test_patch_promises_hold_on_every_document(rendered):
    cfg = oracle_config(rendered.flavour)
    for text, doc in rendered.outs():
        # A repeated key is read as Helm and kubectl read it (the last one), by PyYAML here too,
        # and the resource is patched there like any other.
        check_promises(doc, cfg)


def test_second_run_is_byte_identical(rendered):
    out = rendered.output().encode()
    assert run(["--config", config_path(rendered.flavour)], out).stdout == out


def test_source_lines_and_helm4_filenames_survive(rendered):
    out = rendered.output()
    for marker in ("# Source: ", "postrenderer.helm.sh/postrender-filename: "):
        assert [l for l in rendered.text.splitlines() if l.lstrip().startswith(marker)] == \
               [l for l in out.splitlines() if l.lstrip().startswith(marker)]


def test_go_yaml_v3_reads_the_output(rendered):
    rendered.output()
    if "yamlv3" not in rendered.checks:
        pytest.skip(f"NOT CHECKED: Go yaml.v3 checker {YAMLV3} missing (build it from tests/differential/yamlv3)")
    proc = rendered.checks["yamlv3"]
    assert proc.returncode == 0, \
        f"{rendered.path.name} ({rendered.flavour}): yaml.v3 refuses the output: {proc.stderr.decode(errors='replace')}"


# --- kubernetes-validate --strict, its schemas and validator built once per kind (as validate() does per call)


@functools.lru_cache(maxsize=None)
def _validator(kind, api_version):
    """kubernetes_validate.validate(doc, K8S_VERSION, strict=True)'s validator; None without a schema."""
    mm = kv_utils.major_minor
    version = [v for v in kv_utils.all_versions() if mm(v) <= mm(K8S_VERSION)][-1]
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"kubernetes-json-schema/v{version}-local-strict"
    try:
        schema = kv_utils.schema_contents(f"{schema_dir}/{kind.lower()}-{api}.json", K8S_VERSION)
    except (FileNotFoundError, kubernetes_validate.InvalidSchemaError):
        return None
    definitions = kv_utils.schema_contents(f"{schema_dir}/_definitions.json", K8S_VERSION)
    registry = referencing.Resource.from_contents(definitions) @ (referencing.Resource.from_contents(schema) @ referencing.Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def k8s_errors(doc):
    """None when no schema applies; else the list of schema errors (empty = valid)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or not isinstance(doc.get("apiVersion"), str):
        return None
    validator = _validator(doc["kind"], doc["apiVersion"])
    if validator is None:
        return None
    return [e.message for e in validator.iter_errors(doc)]


def test_validator_is_kubernetes_validates():
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": 1}, "extra": True}
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1"}}
    assert k8s_errors(bad) and k8s_errors(good) == []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    kubernetes_validate.validate(good, K8S_VERSION, strict=True)


@functools.lru_cache(maxsize=4)
def input_valid(path):
    return [k8s_errors(d) == [] for _, d in parsed_input(path)]


def test_kubernetes_validate_passes_wherever_it_passed_on_input(rendered):
    r = rendered
    for i, ((t_in, _), (t_out, d_out), valid) in enumerate(zip(r.ins(), r.outs(), input_valid(r.path))):
        if valid and t_in != t_out:
            errors = k8s_errors(d_out)
            assert not errors, f"{r.path.name} document {i + 1} ({d_out.get('kind')}): kubernetes-validate --strict: {errors}"


def test_kubectl_kustomize_reads_the_output(rendered):
    """The whole output on the small corpus; on the wide one, the documents maia-krm changed or added."""
    r = rendered
    r.output()
    proc = r.checks["kustomize"]
    if isinstance(proc, str):
        pytest.skip(proc)
    if proc.returncode != 0:
        ins = r.ins()
        docs = [d for i, (t, d) in enumerate(r.outs()) if r.corpus == "small" or i >= len(ins) or ins[i][0] != t]
        ids = [(d.get("apiVersion"), d.get("kind"), (d.get("metadata") or {}).get("namespace"), (d.get("metadata") or {}).get("name"))
               for d in docs if isinstance(d, dict)]
        if len(ids) != len(set(ids)):
            pytest.skip("duplicate resource ids (Helm 4 sends hooks and templates together): kustomize refuses them by design")
    assert proc.returncode == 0, f"{r.path.name} ({r.flavour}): {proc.stderr}"
