"""An oracle that shares nothing with maia-krm's implementation.

It reads input and output with PyYAML (YAML 1.1 rules, as kubectl, Helm and Argo CD read them),
removes from the output exactly what maia-krm is allowed to add, and requires the rest to equal
the input. Separately, `check_promises` asserts the patches' positive promises on the output.
"""

import copy
import re

import yaml

SEPARATOR = re.compile(r"^(?:\ufeff)?---(?:[ \t\r].*)?$")

# Where each kind keeps its pods, written down again from the upstream CRD schemas (not shared
# with maia-krm): (api group, or None for any; kind) -> [(path to the pod's own fields,
# container paths, init container paths)]. "*" is every map value or list item.
_POD = (["containers.*"], ["initContainers.*"])
_ARGO = (["templates.*.container", "templates.*.script", "templates.*.containerSet.containers.*",
          "templates.*.sidecars.*"], ["templates.*.initContainers.*"])
_KSERVE_MODELS = ["model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface",
                  "pmml", "lightgbm", "paddle"]
_RAY = ["headGroupSpec.template.spec", "workerGroupSpecs.*.template.spec"]
POD_SITES = {
    (None, "Pod"): [("spec", *_POD)],
    **{(None, k): [("spec.template.spec", *_POD)]
       for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job")},
    (None, "CronJob"): [("spec.jobTemplate.spec.template.spec", *_POD)],
    ("kubeflow.org", "Notebook"): [("spec.template.spec", *_POD)],
    **{("kubeflow.org", k): [(f"spec.{r}ReplicaSpecs.*.template.spec", *_POD)]
       for k, r in (("PyTorchJob", "pytorch"), ("TFJob", "tf"), ("MPIJob", "mpi"), ("XGBoostJob", "xgb"),
                    ("PaddleJob", "paddle"), ("JAXJob", "jax"))},
    **{("trainer.kubeflow.org", k): [("spec.template.spec.replicatedJobs.*.template.spec.template.spec", *_POD)]
       for k in ("TrainingRuntime", "ClusterTrainingRuntime")},
    ("jobset.x-k8s.io", "JobSet"): [("spec.replicatedJobs.*.template.spec.template.spec", *_POD)],
    ("ray.io", "RayCluster"): [(f"spec.{p}", *_POD) for p in _RAY],
    ("ray.io", "RayJob"): [(f"spec.rayClusterSpec.{p}", *_POD) for p in _RAY] + [("spec.submitterPodTemplate.spec", *_POD)],
    ("ray.io", "RayService"): [(f"spec.rayClusterConfig.{p}", *_POD) for p in _RAY],
    ("ray.io", "RayCronJob"): [(f"spec.jobTemplate.rayClusterSpec.{p}", *_POD) for p in _RAY]
                              + [("spec.jobTemplate.submitterPodTemplate.spec", *_POD)],
    **{("serving.kserve.io", k): [("spec", _POD[0], []), ("spec.workerSpec", _POD[0], [])]
       for k in ("ServingRuntime", "ClusterServingRuntime")},
    ("serving.kserve.io", "InferenceService"): [
        ("spec.predictor", _POD[0] + _KSERVE_MODELS, _POD[1]),
        ("spec.predictor.workerSpec", *_POD),
        ("spec.transformer", *_POD),
        ("spec.explainer", _POD[0] + ["art"], _POD[1]),
    ],
    ("argoproj.io", "Rollout"): [("spec.template.spec", *_POD)],
    **{("argoproj.io", k): [("spec", *_ARGO)] for k in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate")},
    ("argoproj.io", "CronWorkflow"): [("spec.workflowSpec", *_ARGO)],
}
# Cluster-wide templates: their pods run in other namespaces, so they get no claim.
CLUSTER_WIDE = {"ClusterTrainingRuntime", "ClusterServingRuntime", "ClusterWorkflowTemplate"}
# Knative (KServe's default mode) refuses PVC volumes; a runtime's volumes reach every predictor.
KSERVE_RAW = ("RawDeployment", "Standard")


def gets_claim(doc):
    kind = doc.get("kind")
    if kind in CLUSTER_WIDE or kind in ("ServingRuntime", "Tenant"):
        return False
    if kind == "InferenceService":
        return get(doc, ["metadata", "annotations", "serving.kserve.io/deploymentMode"]) in KSERVE_RAW
    return True
# MinIO's Tenant takes one pull secret object, and no shared volume.
SINGLE_SECRET = {("minio.min.io", "Tenant"): "spec.imagePullSecret"}


def _expand(obj, pattern, at=()):
    """(concrete path, value) for every match of a dotted pattern; None counts as absent."""
    if obj is None:
        return []
    if not pattern:
        return [(at, obj)]
    step, rest = pattern[0], pattern[1:]
    if step == "*":
        if isinstance(obj, dict):
            return [m for k, v in obj.items() for m in _expand(v, rest, at + (k,))]
        if isinstance(obj, list):
            return [m for i, v in enumerate(obj) for m in _expand(v, rest, at + (i,))]
        return []
    return _expand(obj.get(step), rest, at + (step,)) if isinstance(obj, dict) else []


def _at(obj, path):
    for step in path:
        if isinstance(step, int):
            obj = obj[step] if isinstance(obj, list) and step < len(obj) else None
        else:
            obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def _key(doc):
    api = doc.get("apiVersion")
    group = api.rsplit("/", 1)[0] if isinstance(api, str) and "/" in api else ""
    return group, doc.get("kind")


def pod_sites(doc):
    """[(pod path, pod, [(container path, container)] , [(init path, init container)])] of a document."""
    group, kind = _key(doc)
    sites = POD_SITES.get((group, kind)) or POD_SITES.get((None, kind)) or []
    found = []
    for path, containers, inits in sites:
        for at, pod in _expand(doc, path.split(".")):
            if isinstance(pod, dict):
                each = lambda paths: [(at + p, c) for cp in paths for p, c in _expand(pod, cp.split(".")) if isinstance(c, dict)]
                found.append((at, pod, each(containers), each(inits)))
    return found


def effective_mounts(doc, c_at, c):
    """A container's mounts as the pod gets them: Argo adds a containerSet's own `volumeMounts`
    to each container of the set, and merges `templateDefaults.container` (or `.script`) into
    each template's `container` (or `script`)."""
    mounts = list(c.get("volumeMounts") or [])
    if len(c_at) >= 3 and c_at[-3] == "containerSet":
        mounts += _at(doc, c_at[:-2] + ("volumeMounts",)) or []
    if len(c_at) >= 3 and c_at[-3] == "templates" and c_at[-1] in ("container", "script"):
        paths = {m.get("mountPath") for m in mounts}
        defaults = _at(doc, c_at[:-3] + ("templateDefaults", c_at[-1], "volumeMounts")) or []
        mounts += [m for m in defaults if m.get("mountPath") not in paths]  # merged by path
    return mounts


def single_secret_path(doc):
    path = SINGLE_SECRET.get(_key(doc))
    return path.split(".") if path else None

MIDDLEWARES = "traefik.ingress.kubernetes.io/router.middlewares"
MANAGED_ANNOTATIONS = {
    "cert-manager.io/cluster-issuer",
    "traefik.ingress.kubernetes.io/router.entrypoints",
    "traefik.ingress.kubernetes.io/router.tls",
    "traefik.ingress.kubernetes.io/router.tls.certresolver",
    "nginx.ingress.kubernetes.io/auth-url",
    "nginx.ingress.kubernetes.io/auth-signin",
    "nginx.ingress.kubernetes.io/auth-response-headers",
}


def split_documents(text):
    """Document texts, cut at `---` lines (kept with the document they open)."""
    docs, current, content = [], [], False
    # Lines end at "\n" only: str.splitlines would also cut at "\r", U+2028, U+0085 inside scalars.
    for line in re.findall(r"[^\n]*\n|[^\n]+\Z", text):
        if content and SEPARATOR.match(line.rstrip("\n")):
            docs.append("".join(current))
            current, content = [], False
        current.append(line)
        stripped = line.strip()
        content = content or bool(stripped and not stripped.startswith("#"))
    if current:
        docs.append("".join(current))
    return docs


class LOADER(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """libyaml's parser when PyYAML has it (about 10x faster on the wide corpus), else PyYAML's own.
    Both build values with PyYAML's SafeConstructor and resolver: YAML 1.1 rules either way."""


# YAML 1.1's "value" type: a plain `=` (a CRD enum in kube-prometheus). SafeConstructor has no
# constructor for it; Go's readers (yaml.v2, yaml.v3) read it as the string "=".
LOADER.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def load(text):
    return yaml.load(text, Loader=LOADER)


def repeats_a_key(text):
    """True when a mapping in the document repeats a key. PyYAML (like Go's readers) keeps the
    last one silently, and so does maia-krm; kustomize refuses it. Found here with PyYAML's own
    composer."""
    def walk(node):
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
            if len(keys) != len(set(keys)):
                return True
            return any(walk(v) for _, v in node.value)
        if isinstance(node, yaml.SequenceNode):
            return any(walk(v) for v in node.value)
        return False
    try:
        return walk(yaml.compose(text, Loader=LOADER))
    except yaml.YAMLError:
        return False


def get(obj, path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _drop_added(out_parent, in_parent, key, added):
    """Remove from out_parent[key] the items `added(item)` that the input did not have."""
    if not isinstance(out_parent, dict) or not isinstance(out_parent.get(key), list):
        return
    before = in_parent.get(key) if isinstance(in_parent, dict) else None
    kept = [x for x in out_parent[key] if (isinstance(before, list) and x in before) or not added(x)]
    if kept or isinstance(before, list):
        out_parent[key] = kept
    elif isinstance(in_parent, dict) and key in in_parent:
        out_parent[key] = before
    else:
        del out_parent[key]


TRAEFIK_GROUPS = ("traefik.io/", "traefik.containo.us/")
# Traefik takes matcher names in any case, blanks before `(`, and v2's HostHeader.
HOST_MATCHER = re.compile(r"(?<![A-Za-z0-9])(?i:host(?:header)?)\s*\(([^)]*)\)")


def is_ingress_route(doc):
    return doc.get("kind") == "IngressRoute" and str(doc.get("apiVersion", "")).startswith(TRAEFIK_GROUPS)


def rule_hosts(rule):
    """The hosts a Traefik rule's `Host(...)` matchers name."""
    return [a.strip()[1:-1].lower() for args in HOST_MATCHER.findall(rule) for a in args.split(",")]


def _rule_without_hosts(rule, cfg):
    """A Traefik rule with its hosts blanked, and the workspace-host guard maia-krm may add removed."""
    guard = re.match(r"^Host\(`([^`]*)`\) && \((.*)\)$", rule)
    if guard and cfg["domain"] in guard.group(1) and not HOST_MATCHER.search(guard.group(2)):
        rule = guard.group(2)
    return HOST_MATCHER.sub("Host(*)", rule)


def _strip_ingress_route(out, inp, cfg):
    spec_out, spec_in = out.get("spec"), inp.get("spec") or {}
    if not isinstance(spec_out, dict):
        return
    for key in ("tls", "entryPoints"):
        if key not in spec_in:
            spec_out.pop(key, None)
    if isinstance(spec_out.get("tls"), dict) and "certResolver" not in (spec_in.get("tls") or {}):
        spec_out["tls"].pop("certResolver", None)
    ours = {"name": cfg["middleware"], "namespace": cfg["namespace"]}
    for r_out, r_in in zip(spec_out.get("routes") or [], spec_in.get("routes") or []):
        for r in (r_out, r_in):
            if isinstance(r.get("match"), str):
                r["match"] = _rule_without_hosts(r["match"], cfg)
        _drop_added(r_out, r_in, "middlewares", lambda m: m == ours)


def is_http_route(doc):
    return doc.get("kind") == "HTTPRoute" and str(doc.get("apiVersion", "")).startswith("gateway.networking.k8s.io/")


def in_domain(host, cfg):
    host = host.lower()
    return host == cfg["domain"] or host.endswith("." + cfg["domain"])


def _our_filter(f, cfg):
    return isinstance(f, dict) and f.get("type") == "ExtensionRef" and f.get("extensionRef") == {
        "group": "traefik.io", "kind": "Middleware", "name": cfg["middleware"]}


def _strip_http_route(out, inp, cfg):
    spec_out, spec_in = out.get("spec"), inp.get("spec") or {}
    if not isinstance(spec_out, dict):
        return
    hosts_in = spec_in.get("hostnames") or []
    hosts_out = spec_out.get("hostnames")
    if isinstance(hosts_out, list):
        if not hosts_in and len(hosts_out) == 1:
            # An absent or empty list (every host) was narrowed to the workspace host.
            if "hostnames" in spec_in:
                spec_out["hostnames"] = spec_in["hostnames"]
            else:
                del spec_out["hostnames"]
        else:
            spec_out["hostnames"] = [h_in if h_out != h_in and not in_domain(str(h_in), cfg) else h_out
                                     for h_out, h_in in zip(hosts_out, hosts_in)] + hosts_out[len(hosts_in):]
    if not spec_in.get("parentRefs") and isinstance(spec_out.get("parentRefs"), list) and len(spec_out["parentRefs"]) == 1:
        if "parentRefs" in spec_in:
            spec_out["parentRefs"] = spec_in["parentRefs"]
        else:
            del spec_out["parentRefs"]
    for r_out, r_in in zip(spec_out.get("rules") or [], spec_in.get("rules") or []):
        _drop_added(r_out, r_in, "filters", lambda f: _our_filter(f, cfg))


def strip_managed(out, inp, cfg):
    """Both documents with the fields maia-krm manages taken back to the input's state."""
    out, inp = copy.deepcopy(out), copy.deepcopy(inp)
    if not isinstance(out, dict) or not isinstance(inp, dict):
        return out, inp
    kind = out.get("kind")
    if is_ingress_route(out):
        _strip_ingress_route(out, inp, cfg)
    if is_http_route(out):
        _strip_http_route(out, inp, cfg)
    if kind == "Ingress":
        meta_in = inp.get("metadata") or {}
        ann_in = meta_in.get("annotations") or {}
        ann = get(out, ["metadata", "annotations"])
        if isinstance(ann, dict):
            for key in MANAGED_ANNOTATIONS - set(ann_in):
                ann.pop(key, None)
            if MIDDLEWARES in ann:
                refs = [r for r in ann[MIDDLEWARES].split(",") if r != cfg["middleware_ref"]]
                if refs:
                    ann[MIDDLEWARES] = ",".join(refs)
                else:
                    ann.pop(MIDDLEWARES)
            if not ann and not meta_in.get("annotations"):
                out["metadata"]["annotations"] = meta_in.get("annotations")
                if "annotations" not in meta_in:
                    del out["metadata"]["annotations"]
        for doc in (out, inp):
            spec = doc.get("spec")
            if isinstance(spec, dict):
                spec.pop("tls", None)
                for rule in spec.get("rules") or []:
                    if isinstance(rule, dict):
                        rule.pop("host", None)
        if "ingressClassName" not in (inp.get("spec") or {}):
            (out.get("spec") or {}).pop("ingressClassName", None)
    for at, ps_out, containers, inits in pod_sites(out):
        ps_in = _at(inp, at)
        ps_in = ps_in if isinstance(ps_in, dict) else {}
        _drop_added(ps_out, ps_in, "imagePullSecrets", lambda s: s == {"name": cfg["secret"]})
        _drop_added(ps_out, ps_in, "volumes", lambda v: get(v, ["persistentVolumeClaim", "claimName"]) == cfg["claim"])
        # Only lists hold containers; anything else in their place is compared as it is.
        for c_at, c in containers + inits:
            c_in = _at(inp, c_at)
            _drop_added(c, c_in if isinstance(c_in, dict) else {}, "volumeMounts",
                        lambda m: isinstance(m, dict) and m.get("mountPath") == cfg["mount"])
    single = single_secret_path(out)
    # Unset is absent, null, or an object without a name; maia-krm may fill in only that.
    if single and get(out, single) == {"name": cfg["secret"]} and not (get(inp, single) or {}).get("name"):
        parent, key = get(out, single[:-1]), single[-1]
        before = get(inp, single[:-1]) or {}
        if key in before:
            parent[key] = before[key]
        else:
            del parent[key]
    if kind == "ServiceAccount":
        _drop_added(out, inp, "imagePullSecrets", lambda s: s == {"name": cfg["secret"]})
    return out, inp


def is_hook(doc):
    return bool(get(doc, ["metadata", "annotations", "helm.sh/hook"]))


def serves_oauth2(doc):
    for rule in get(doc, ["spec", "rules"]) or []:
        for p in get(rule, ["http", "paths"]) or []:
            if str(p.get("path", "")).startswith("/oauth2"):
                return True
    return False


def check_promises(doc, cfg):
    """The positive promises of the README, for one output document."""
    if not isinstance(doc, dict):
        return
    kind, name = doc.get("kind"), get(doc, ["metadata", "name"])
    where = f"{kind} {name}"
    if is_http_route(doc) and get(doc, ["metadata", "namespace"]) in (None, "", cfg["namespace"]):
        spec = doc.get("spec") or {}
        hosts = spec.get("hostnames") or []
        assert hosts and all(in_domain(h, cfg) for h in hosts), f"{where}: hostnames {hosts}"
        if cfg.get("gateway"):
            assert spec.get("parentRefs"), f"{where}: attached to no Gateway"
        for r in spec.get("rules") or []:
            paths = [get(m, ["path", "value"]) for m in r.get("matches") or []]
            own = paths and all(isinstance(p, str) and (p == "/oauth2" or p.startswith("/oauth2/")) for p in paths)
            if cfg["resolver"] and not own:
                assert any(_our_filter(f, cfg) for f in r.get("filters") or []), f"{where}: a rule without the login"
    if is_ingress_route(doc) and get(doc, ["metadata", "namespace"]) in (None, cfg["namespace"]):
        spec = doc.get("spec") or {}
        for r in spec.get("routes") or []:
            hosts = rule_hosts(r.get("match", ""))
            assert hosts, f"{where}: a route without a Host rule"
            assert all(h == cfg["domain"] or h.endswith("." + cfg["domain"]) for h in hosts), f"{where}: {hosts}"
            own_route = re.search(r"Path(Prefix)?\([`\"]/oauth2(/|[`\"])", r.get("match", ""))
            if cfg["resolver"] and not own_route:
                assert {"name": cfg["middleware"], "namespace": cfg["namespace"]} in (r.get("middlewares") or []), \
                    f"{where}: a route without the group's login"
        entry_points = spec.get("entryPoints") or []
        if cfg["resolver"] and (not entry_points or "websecure" in entry_points):
            # (entry points without websecure get no TLS, and a report: it would serve TLS there)
            tls = spec.get("tls") or {}
            assert tls.get("certResolver") or tls.get("secretName"), f"{where}: no certificate source"
    for at, spec, containers, _ in pod_sites(doc):
        where_pod = f"{where} {'.'.join(map(str, at))}"
        assert {"name": cfg["secret"]} in (spec.get("imagePullSecrets") or []), f"{where_pod}: no pull secret"
        if is_hook(doc) or not containers or not gets_claim(doc):
            continue
        vols = {v["name"] for v in spec.get("volumes") or [] if get(v, ["persistentVolumeClaim", "claimName"]) == cfg["claim"]}
        assert vols, f"{where_pod}: no volume for claim {cfg['claim']}"
        for c_at, c in containers:
            if c.get("mirrorVolumeMounts") is True:
                continue  # Argo copies the main container's mounts into it
            mounts = effective_mounts(doc, c_at, c)
            paths = [m.get("mountPath") for m in mounts]
            assert len(paths) == len(set(paths)), f"{where_pod}: container {c.get('name')} mounts a path twice"
            assert any(m.get("name") in vols for m in mounts) or cfg["mount"] in paths, \
                f"{where_pod}: container {c.get('name')} does not mount the shared volume"
    single = single_secret_path(doc)
    if single:
        assert isinstance(get(doc, single), dict) and get(doc, single).get("name"), f"{where}: no pull secret"
    if kind == "ServiceAccount":
        assert {"name": cfg["secret"]} in (doc.get("imagePullSecrets") or []), f"{where}: no pull secret"
    if kind == "Ingress":
        spec = doc.get("spec") or {}
        ann = get(doc, ["metadata", "annotations"]) or {}
        covered = {h for t in spec.get("tls") or [] for h in t.get("hosts") or []}
        for rule in spec.get("rules") or []:
            host = rule.get("host")
            assert host, f"{where}: rule without host"
            assert host == cfg["domain"] or host.endswith("." + cfg["domain"]), f"{where}: host {host} outside domain"
            assert host in covered, f"{where}: host {host} has no TLS entry"
        secrets = [t.get("secretName") for t in spec.get("tls") or []]
        if cfg.get("issuer"):
            assert all(secrets), f"{where}: TLS entry without secretName under cert-manager"
            assert ann.get("cert-manager.io/cluster-issuer"), f"{where}: no cluster-issuer"
        assert len(secrets) == len(set(secrets)) or not all(secrets), f"{where}: two TLS entries share a secret"
        if cfg.get("resolver"):
            assert ann.get("traefik.ingress.kubernetes.io/router.tls") == "true", f"{where}: router.tls not the string true"
        labels = get(doc, ["metadata", "labels"]) or {}
        jupyterhub = "jupyterhub" in (labels.get("app"), labels.get("app.kubernetes.io/name"))  # z2jh, bitnami
        protected = not serves_oauth2(doc) and not jupyterhub
        if protected and cfg.get("issuer"):
            assert ann.get("nginx.ingress.kubernetes.io/auth-url"), f"{where}: no auth-url"
        if protected and cfg.get("resolver"):
            assert cfg["middleware_ref"] in ann.get(MIDDLEWARES, "").split(","), f"{where}: no middleware"
        if not protected:
            assert "nginx.ingress.kubernetes.io/auth-url" not in ann and cfg["middleware_ref"] not in ann.get(MIDDLEWARES, ""), \
                f"{where}: auth in front of oauth2-proxy or JupyterHub"
