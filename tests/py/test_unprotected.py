"""Never silently unprotected: every spelling Helm's reader (Go yaml.v3) accepts is patched; what
can't be protected fails the run — exit 1, nothing on stdout, one line per resource on stderr — in
every mode (Helm's stdin, a KRM function through kpt, `audit`); `on_unpatchable: warn` lets it
through, said loudly. Outputs are read with PyYAML and yaml.v3, never with maia-krm's own reader."""

import copy
import io
import json
import os
import pathlib
import random
import re
import subprocess

import pytest
import yaml

from conftest import BIN, CORPUS, FIXTURES, config_path, corpus_files, oracle_config, run
from oracle import LOADER, check_promises, load, split_documents, strip_managed

NGINX = config_path("nginx")
CFG = oracle_config("nginx")
AUTH_URL = "http://demo-group-oauth2-proxy.demo-group.svc.cluster.local/oauth2/auth"
HOST = "demo-group.maia.example.com"
SECRET = {"name": "maia-docker-registry-secret"}
YAMLV3 = pathlib.Path(os.environ.get("YAMLV3", pathlib.Path(__file__).resolve().parents[2] / "target" / "go" / "yamlv3"))


def warn_config(tmp_path, base=NGINX):
    path = tmp_path / "warn.yaml"
    path.write_text(pathlib.Path(base).read_text() + "  on_unpatchable: warn\n")
    return str(path)


def read_all(text):
    """Every document's meaning, by PyYAML and (when built) by yaml.v3; the two must agree."""
    docs = [d for d in yaml.load_all(text, Loader=LOADER) if d is not None]
    if YAMLV3.is_file():
        proc = subprocess.run([str(YAMLV3), "json"], input=text.encode(), capture_output=True)
        assert proc.returncode == 0, proc.stderr.decode()
        go = [d for d in map(json.loads, proc.stdout.decode().splitlines()) if d is not None]
        assert json.loads(json.dumps(docs, default=str)) == go, "PyYAML and yaml.v3 read the output differently"
    return docs


# --- every spelling of each route API and pod-spec kind is patched ------------------------------

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  labels:
    app: web
spec:
  rules:
  - host: app.example.org
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx
        resources:
          limits:
            cpu: 1
      - name: side
        image: busybox
"""

CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  labels:
    app: web
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: job
            image: busybox
"""

INGRESS_ROUTE = """\
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: app
  labels:
    app: web
spec:
  entryPoints:
  - websecure
  routes:
  - kind: Rule
    match: Host(`app.example.org`)
    services:
    - name: web
      port: 80
"""

HTTP_ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: app
  labels:
    app: web
spec:
  parentRefs:
  - name: public
    namespace: gateways
  hostnames:
  - app.example.org
  rules:
  - backendRefs:
    - name: web
      port: 80
"""

BASES = {"Ingress": INGRESS, "Deployment": DEPLOYMENT, "CronJob": CRONJOB, "IngressRoute": INGRESS_ROUTE,
         "HTTPRoute": HTTP_ROUTE}
ROUTE_CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: maia-krm-config}
data:
  group_ID: Demo_Group
  group_subdomain: demo-group
  oauth_url: demo-group.maia.example.com
  domain: maia.example.com
  traefik_resolver: letsencrypt
  gateway: "{name: public, namespace: gateways, sectionName: websecure}"
"""


def json_document(text):
    return json.dumps(yaml.safe_load(text), separators=(",", ":")) + "\n"


def anchored_labels(text):
    # An anchor on the labels and an alias of it elsewhere: the edits are nowhere near either.
    text = text.replace("  labels:\n    app: web\n", "  labels: &labels\n    app: web\n", 1)
    if "matchLabels:\n      app: web\n" in text:
        text = text.replace("    matchLabels:\n      app: web\n", "    matchLabels: *labels\n")
    return text


def repeated_keys(text):
    # Readers keep the last occurrence: an earlier, different one is what an edit must not touch.
    text = text.replace("metadata:\n  name: ", "metadata:\n  name: first\n  name: ", 1)
    return text.replace("        resources:\n", "        resources: {}\n        resources:\n")


def explicit_keys(text):
    return text.replace("\nmetadata:\n", "\n? metadata\n:\n", 1).replace("\nspec:\n", "\n? spec\n:\n", 1)


def tagged_collections(text):
    return text.replace("\nmetadata:\n", "\nmetadata: !!map\n", 1).replace("\nspec:\n", "\nspec: !!map\n", 1)


def flow_spec(text):
    # Block metadata, a flow spec: edits into either must be written in its own style.
    head = text[: text.index("\nspec:\n") + 1]
    return head + "spec: " + json.dumps(yaml.safe_load(text)["spec"]) + "\n"


def bom_directive(text):
    return "\ufeff%YAML 1.1\n---\n" + text


SPELLINGS = {
    "anchored-labels": anchored_labels,
    "repeated-keys": repeated_keys,
    "explicit-keys": explicit_keys,
    "tagged-collections": tagged_collections,
    "flow-spec": flow_spec,
    "json": json_document,
    "bom-directive": bom_directive,
}


def protected(doc):
    """The policy, read from the output by PyYAML: what each kind must carry."""
    kind = doc["kind"]
    if kind == "Ingress":
        assert doc["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"] == AUTH_URL
        assert [r["host"] for r in doc["spec"]["rules"]] == [HOST]
        assert {"hosts": [HOST], "secretName": f"{HOST}-tls"} in doc["spec"]["tls"]
    elif kind == "IngressRoute":
        for route in doc["spec"]["routes"]:
            assert {"name": "oauth2-proxy-auth", "namespace": "demo-group"} in route["middlewares"]
            assert f"`{HOST}`" in route["match"]
        assert doc["spec"]["tls"]["certResolver"] == "letsencrypt"
    elif kind == "HTTPRoute":
        assert doc["spec"]["hostnames"] == [HOST]
        for rule in doc["spec"]["rules"]:
            assert any(f.get("type") == "ExtensionRef" and f["extensionRef"]["name"] == "oauth2-proxy-auth"
                       for f in rule["filters"]), rule
    else:
        spec = doc["spec"]["template"]["spec"] if kind == "Deployment" else doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert SECRET in spec["imagePullSecrets"]
        assert {"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}} in spec["volumes"]
        for c in spec["containers"]:
            assert {"name": "shared", "mountPath": "/home/maia-user/shared"} in c["volumeMounts"], c


CASES = [(k, s) for k in BASES for s in SPELLINGS]


@pytest.mark.parametrize("kind,spelling", CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_every_spelling_helm_reads_is_patched(tmp_path, kind, spelling):
    text = SPELLINGS[spelling](BASES[kind])
    assert text != BASES[kind]
    assert read_all(text) == read_all(BASES[kind]) or spelling == "repeated-keys", "the spelling changed the meaning"
    config = NGINX
    if kind in ("IngressRoute", "HTTPRoute"):
        config = tmp_path / "traefik.yaml"
        config.write_text(ROUTE_CONFIG)
        config = str(config)
    out = run(["--config", config], text).stdout.decode()
    [doc] = [d for d in read_all(out) if d["kind"] == kind]
    protected(doc)
    [before] = read_all(text)
    cfg = {**oracle_config("traefik" if config != NGINX else "nginx"), "namespace": "demo-group"}
    stripped_out, stripped_in = strip_managed(doc, before, cfg)
    assert stripped_out == stripped_in, "changed outside the fields maia-krm owns"
    assert run(["--config", config], out).stdout.decode() == out, "a second run changes it again"
    if spelling == "json":
        assert json.loads(out) == doc, "a JSON document must stay JSON"


def test_json_from_kubectl_round_trips_through_kubectl(tmp_path):
    # `kubectl get -o json | maia-krm | kubectl apply -f -`: the edited document is strict JSON,
    # and kubectl's own reader (kustomize) takes it.
    out = run(["--config", NGINX], json_document(DEPLOYMENT)).stdout.decode()
    doc = json.loads(out)
    protected(doc)
    (tmp_path / "out.json").write_text(out)
    (tmp_path / "kustomization.yaml").write_text("resources:\n- out.json\n")
    proc = subprocess.run(["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout) == doc


# --- what can't be protected fails the run, in every mode ----------------------------------------

# Anchors, aliases and merge keys where an edit must go: the document is written anew in plain
# block style (every alias and merge expanded), then patched; its meaning is kept.
REWRITTEN = {
    "anchored-container": """\
apiVersion: v1
kind: Pod
metadata:
  name: merged
spec:
  containers:
  - &c {name: a, image: busybox}
  - <<: *c
    name: b
""",
    "aliased-pod-template": """\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: a}
  spec:
    selector: {matchLabels: {app: a}}
    template: &t
      metadata: {labels: {app: a}}
      spec: {containers: [{name: a, image: busybox}]}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: b}
  spec:
    selector: {matchLabels: {app: a}}
    template: *t
""",
    # The anchor is nowhere an edit goes; only its alias is (the pod spec itself).
    "pod-spec-is-an-alias": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    x-pod: &pod
      containers: [{name: a, image: busybox}]
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: *pod
""",
    "aliased-containers": """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec:
    containers: &c [{name: a, image: busybox}]
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec:
    containers: *c
""",
    "merged-metadata": """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  <<: {annotations: {team: a}}
  name: app
spec:
  tls: [{hosts: [demo-group.maia.example.com], secretName: x}]
  rules:
  - host: demo-group.maia.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
""",
}


def resources_of(docs):
    out = []
    for d in docs:
        out.extend(d["items"] if d.get("kind") == "List" else [d])
    return out


@pytest.mark.parametrize("case", REWRITTEN)
def test_anchors_where_an_edit_goes_are_written_anew_and_patched(case):
    text = "# Source: chart/templates/x.yaml\n" + REWRITTEN[case]
    proc = run(["--config", NGINX, "--explain"], text)
    out = proc.stdout.decode()
    assert "written anew in plain block style" in proc.stderr.decode()
    assert out.startswith("# Source: chart/templates/x.yaml\n"), "the document's head is kept"
    assert not re.search(r"[&*]\w|<<", out), "anchors, aliases and merge keys expanded"
    before, after = resources_of(read_all(text)), resources_of(read_all(out))
    for b, a in zip(before, after, strict=True):
        if a["kind"] == "Ingress":
            assert a["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"] == AUTH_URL
            assert a["metadata"]["annotations"]["team"] == "a", "the merged annotation is kept"
        else:
            spec = a["spec"]["template"]["spec"] if a["kind"] == "Deployment" else a["spec"]
            assert SECRET in spec["imagePullSecrets"]
            assert all({"name": "shared", "mountPath": "/home/maia-user/shared"} in c["volumeMounts"] for c in spec["containers"])
        stripped_out, stripped_in = strip_managed(a, b, CFG)
        assert stripped_out == stripped_in, "the rewrite changed more than the fields maia-krm owns"
    assert run(["--config", NGINX], out).stdout.decode() == out, "a second run changes it again"


REFUSED = {
    # Anchors where an edit goes, and a tag of the chart's own that plain style would drop.
    "anchors-and-a-custom-tag": (["Pod merged"], "containers without the shared volume", REWRITTEN["anchored-container"].replace(
        "  name: merged\n", "  name: merged\n  annotations: {note: !custom x}\n")),
    # oauth2-proxy's path beside an app's: the exemption is per path, not per Ingress.
    "oauth2-path-beside-an-app": (["Ingress app"], "served without the group's login", INGRESS.replace(
        "      - path: /\n", "      - path: /oauth2\n        pathType: Prefix\n        backend:\n          service:\n"
        "            name: demo-group-oauth2-proxy\n            port:\n              number: 80\n      - path: /\n")),
    # An `/oauth2` path that leads somewhere else is no login of ours.
    "oauth2-path-to-another-service": (["Ingress app"], "served without the group's login",
                                       INGRESS.replace("      - path: /\n", "      - path: /oauth2/start\n")),
    # A default backend answers every host: no workspace host can be given to it.
    "default-backend": (["Ingress app"], "not on the workspace host", """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
spec:
  defaultBackend:
    service: {name: web, port: {number: 80}}
"""),
    # nginx annotations that undo the login whatever auth-url says (found in review).
    "satisfy-any": (["Ingress app"], "satisfy: any", INGRESS.replace(
        "  labels:\n", "  annotations:\n    nginx.ingress.kubernetes.io/satisfy: any\n"
        "    nginx.ingress.kubernetes.io/whitelist-source-range: 0.0.0.0/0\n  labels:\n")),
    "snippet": (["Ingress app"], "snippet", INGRESS.replace(
        "  labels:\n", "  annotations:\n    nginx.ingress.kubernetes.io/configuration-snippet: 'auth_request off;'\n  labels:\n")),
    "foreign-sign-in": (["Ingress app"], "sign-in page", INGRESS.replace(
        "  labels:\n", "  annotations:\n    nginx.ingress.kubernetes.io/auth-signin: https://evil.example.com/login\n  labels:\n")),
    # The chart points the login at something else.
    "foreign-login": (["Ingress app"], "served without the group's login",
                      INGRESS.replace("  labels:\n", "  annotations:\n    nginx.ingress.kubernetes.io/auth-url: http://elsewhere/\n  labels:\n")),
    # A volume of the shared volume's name for something else.
    "taken-volume-name": (["Deployment web"], "containers without the shared volume",
                          DEPLOYMENT.replace("      containers:\n", "      volumes: [{name: shared, emptyDir: {}}]\n      containers:\n")),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_cannot_be_protected_fails_the_run_naming_it(tmp_path, case):
    resources, problem, text = REFUSED[case]
    stream = "---\n# Source: chart/templates/ok.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n# Source: chart/templates/bad.yaml\n" + text
    proc = run(["--config", NGINX], stream, check=False)
    assert proc.returncode == 1 and proc.stdout == b"", proc.stderr.decode()
    err = proc.stderr.decode()
    refused = [line for line in err.splitlines() if line.startswith("maia-krm: refused: ")]
    assert len(refused) == len(resources), err
    for line, resource in zip(refused, resources):
        assert line.startswith("maia-krm: refused: document 2 (chart/templates/bad.yaml), line ") and \
            f": {resource}: " in line and problem in line, line
        assert "on_unpatchable: warn" in line, "the line says what the admin can do"
    # Under `on_unpatchable: warn` it goes out as it came, with a warning on stderr.
    lenient = run(["--config", warn_config(tmp_path)], stream)
    warned = lenient.stderr.decode()
    assert "on_unpatchable: warn" in warned and all(r in warned for r in resources)
    # The audit of the input names the same problem, and exits 1.
    report = run(["audit", "--config", NGINX, "-o", "json"], stream, check=False)
    assert report.returncode == 1
    rows = json.loads(report.stdout)
    for resource in resources:
        named = [r for r in rows["routes"] + rows["pods"] if resource.split(" ")[1] == r["resource"]["name"] and r["problems"]]
        assert any(problem in p for r in named for p in r["problems"]), (resource, rows)


def test_a_krm_function_call_fails_with_error_results(tmp_path):
    _, problem, text = REFUSED["taken-volume-name"]
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "web.yaml").write_text(text)
    (pkg / "sa.yaml").write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n")
    env = {**os.environ, "PATH": f"{pathlib.Path(BIN).parent}:{os.environ['PATH']}"}
    before = {p.name: p.read_text() for p in pkg.iterdir()}
    proc = subprocess.run(["kpt", "fn", "eval", str(pkg), "--exec", BIN, "--fn-config", NGINX, "--truncate-output=false"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0, proc.stderr
    assert "[error]" in proc.stderr and problem in proc.stderr, proc.stderr
    assert {p.name: p.read_text() for p in pkg.iterdir()} == before, "kpt writes nothing back from a failed function"


def test_a_group_cannot_switch_the_refusal_off_from_a_resource(tmp_path):
    # The skip annotation is honoured only where the admin lets it (skip_allowed); a skipped
    # patch the policy still requires fails the run.
    text = INGRESS.replace("  labels:\n", "  annotations:\n    maia-krm.io/skip: all\n  labels:\n")
    config = tmp_path / "c.yaml"
    config.write_text(pathlib.Path(NGINX).read_text() + "  skip_allowed: ingress-tls\n")
    proc = run(["--config", str(config)], text)
    assert load(proc.stdout.decode())["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"] == AUTH_URL


def test_warnings_reach_stderr_without_explain_and_quiet_silences_them():
    text = INGRESS.replace("metadata:\n  name: app\n", "metadata:\n  name: app\n  name: app\n")
    proc = run(["--config", NGINX], text)
    err = proc.stderr.decode().splitlines()
    assert err[0].startswith("maia-krm: warning: document 1: Ingress app: read: key \"name\" is repeated")
    assert re.match(r"maia-krm: 1 warning\(s\) on 1 resource\(s\)", err[-1]), err
    assert run(["--config", NGINX, "--quiet"], text).stderr == b""
    assert run(["--config", NGINX, "-q"], text).stdout == proc.stdout


# --- property: random anchors, repeats and explicit keys never yield an unprotected exit 0 --------

def corpus_documents():
    """Documents of the small corpus that the policy covers (routes and pod templates)."""
    docs = []
    for path in corpus_files("helm3"):
        for text in split_documents(path.read_text()):
            doc = load(text)
            if isinstance(doc, dict) and doc.get("kind") in ("Ingress", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"):
                docs.append(text)
    return docs


def mutate(text, rng):
    """The same document with 1-3 random anchors/aliases, repeated keys (the earlier occurrence a
    copy, so the meaning is kept) or explicit keys, serialised by PyYAML's own emitter."""
    root = yaml.compose(text)
    nodes, maps = [], []

    def walk(node, depth):
        nodes.append((node, depth))
        if isinstance(node, yaml.MappingNode):
            maps.append(node)
            for _, v in node.value:
                walk(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v, depth + 1)

    walk(root, 0)
    for _ in range(rng.randint(1, 3)):
        what = rng.choice(["alias", "repeat", "repeat"])
        if what == "alias":
            node, _ = rng.choice(nodes[1:])
            target = rng.choice(maps)
            below = []
            walk_nodes = [node]
            while walk_nodes:
                n = walk_nodes.pop()
                below.append(n)
                if isinstance(n, yaml.MappingNode):
                    walk_nodes.extend(v for _, v in n.value)
                elif isinstance(n, yaml.SequenceNode):
                    walk_nodes.extend(n.value)
            if target in below:
                continue
            target.value.append((yaml.ScalarNode("tag:yaml.org,2002:str", f"x-alias-{rng.randint(0, 999)}"), node))
        else:
            m = rng.choice(maps)
            if m.value:
                i = rng.randrange(len(m.value))
                k, v = m.value[i]
                m.value.insert(i, (copy.deepcopy(k), copy.deepcopy(v)))
    out = io.StringIO()
    yaml.serialize(root, out)
    text = out.getvalue()
    if rng.random() < 0.5:
        lines = text.splitlines(keepends=True)
        plain = [i for i, l in enumerate(lines) if re.match(r"^( *)([A-Za-z][\w.-]*):( .*)?\n$", l)]
        for i in rng.sample(plain, min(len(plain), 2)):
            m = re.match(r"^( *)([A-Za-z][\w.-]*):( .*)?\n$", lines[i])
            lines[i] = f"{m[1]}? {m[2]}\n{m[1]}:{m[3] or ''}\n"
        text = "".join(lines)
    return text


def test_random_spellings_never_exit_zero_unprotected():
    rng = random.Random(17)
    docs = corpus_documents()
    assert docs
    outcomes = {"patched": 0, "refused": 0, "unreadable": 0}
    for case in range(150):
        original = rng.choice(docs)
        text = mutate(original, rng)
        try:
            if yaml.safe_load(text) != yaml.safe_load(original) and not re.search(r"x-alias-", text):
                outcomes["unreadable"] += 1
                continue
        except yaml.YAMLError:
            outcomes["unreadable"] += 1
            continue
        proc = run(["--config", NGINX], text, check=False)
        if proc.returncode == 0:
            outcomes["patched"] += 1
            for doc in read_all(proc.stdout.decode()):
                try:
                    check_promises(doc, CFG)
                except AssertionError as e:
                    # A login in front of JupyterHub whose route the mutation hid behind an alias
                    # is one login too many, never an open door: the hub is recognised only by
                    # where its route provably leads.
                    if "auth in front of oauth2-proxy or JupyterHub" not in str(e):
                        raise
        else:
            assert proc.returncode == 1 and proc.stdout == b"", f"case {case}: {proc.stderr.decode()}\n{text}"
            assert "maia-krm: refused: document 1" in proc.stderr.decode(), f"case {case}: {proc.stderr.decode()}"
            outcomes["refused"] += 1
            print(f"refused: {proc.stderr.decode().splitlines()[0][:300]}")
    print(f"random spellings: {outcomes}")
    assert outcomes["patched"] > 50, outcomes


def test_a_resource_list_on_stdin_cannot_replace_the_admins_config():
    # Found in review: the stream is the group's; a functionConfig in it that switches the login
    # off (or names another group) must count for nothing when the admin gave --config.
    item = "".join("    " + line + "\n" for line in INGRESS.splitlines())
    stream = ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  -\n" + item +
              "functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n"
              "  data: {group_ID: Someone_Else, domain: maia.example.com, oauth: 'false'}\n")
    out = yaml.safe_load(run(["--config", NGINX], stream).stdout)
    [ingress] = out["items"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"] == AUTH_URL


@pytest.mark.parametrize("host", [
    "other-group.maia.example.com",      # another workspace's host
    "app.other-group.maia.example.com",  # below it
    "maia.example.com",                  # the bare domain
    "iam.maia.example.com",              # a platform host
    "IAM.maia.example.com.",             # the same, spelled otherwise
])
def test_a_route_cannot_reach_another_workspaces_or_the_platforms_host(host):
    # Found in review: hosts inside the domain were kept, with TLS and a certificate request for
    # them in the group's namespace, and (with the /oauth2 exemption) a way to another group's login.
    text = INGRESS.replace("app.example.org", f"'{host}'")
    proc = run(["--config", NGINX], text, check=False)
    assert proc.returncode == 1 and proc.stdout == b"", proc.stderr.decode()
    assert "not on the workspace host" in proc.stderr.decode()
    tls = INGRESS.replace("  rules:\n", f"  tls: [{{hosts: ['{host}'], secretName: x}}]\n  rules:\n")
    assert run(["--config", NGINX], tls, check=False).returncode == 1, "a certificate for it is the host too"


@pytest.mark.parametrize("host", ["demo-group.maia.example.com", "app.demo-group.maia.example.com", "*.demo-group.maia.example.com"])
def test_the_workspace_host_and_those_below_it_are_served(host):
    doc = load(run(["--config", NGINX], INGRESS.replace("app.example.org", f"'{host}'")).stdout.decode())
    assert doc["spec"]["rules"][0]["host"] == host


def test_a_wildcard_over_every_workspace_becomes_the_workspace_host():
    doc = load(run(["--config", NGINX], INGRESS.replace("app.example.org", "'*.maia.example.com'")).stdout.decode())
    assert doc["spec"]["rules"][0]["host"] == "demo-group.maia.example.com"


def test_jupyterhubs_label_on_an_app_does_not_exempt_it_from_the_login():
    # Found in review: a label is the chart's to write. Only a route to the hub's Service (option
    # jupyterhub_services) is JupyterHub's, which logs in through Keycloak itself.
    labelled = INGRESS.replace("    app: web\n", "    app.kubernetes.io/name: jupyterhub\n")
    doc = load(run(["--config", NGINX], labelled).stdout.decode())
    assert doc["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"] == AUTH_URL
    hub = load(run(["--config", NGINX], labelled.replace("name: web", "name: proxy-public")).stdout.decode())
    assert "nginx.ingress.kubernetes.io/auth-url" not in (hub["metadata"].get("annotations") or {})
