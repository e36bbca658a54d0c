"""An oracle that shares nothing with maia-krm's implementation.

It reads input and output with PyYAML (YAML 1.1 rules, as kubectl, Helm and Argo CD read them),
removes from the output exactly what maia-krm is allowed to add, and requires the rest to equal
the input. Separately, `check_promises` asserts the patches' positive promises on the output.
"""

import copy
import re

import yaml

SEPARATOR = re.compile(r"^(?:\ufeff)?---(?:[ \t\r].*)?$")

POD_SPEC = {
    "Pod": ["spec"],
    "Deployment": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"],
    "DaemonSet": ["spec", "template", "spec"],
    "ReplicaSet": ["spec", "template", "spec"],
    "ReplicationController": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

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
    last one silently; maia-krm reads it the same way but leaves such a resource alone, since an
    edit could land on the occurrence nobody reads. Found here with PyYAML's own composer."""
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


def strip_managed(out, inp, cfg):
    """Both documents with the fields maia-krm manages taken back to the input's state."""
    out, inp = copy.deepcopy(out), copy.deepcopy(inp)
    if not isinstance(out, dict) or not isinstance(inp, dict):
        return out, inp
    kind = out.get("kind")
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
    if kind in POD_SPEC:
        ps_out, ps_in = get(out, POD_SPEC[kind]), get(inp, POD_SPEC[kind]) or {}
        if isinstance(ps_out, dict):
            _drop_added(ps_out, ps_in, "imagePullSecrets", lambda s: s == {"name": cfg["secret"]})
            _drop_added(ps_out, ps_in, "volumes", lambda v: get(v, ["persistentVolumeClaim", "claimName"]) == cfg["claim"])
            for group in ("containers", "initContainers"):
                # Only lists hold containers; anything else in their place is compared as it is.
                c_outs, c_ins = ps_out.get(group), ps_in.get(group) if isinstance(ps_in, dict) else None
                if not isinstance(c_outs, list):
                    continue
                c_ins = c_ins if isinstance(c_ins, list) else []
                for i, c in enumerate(c_outs):
                    c_in = c_ins[i] if i < len(c_ins) else {}
                    _drop_added(c, c_in, "volumeMounts", lambda m: isinstance(m, dict) and m.get("mountPath") == cfg["mount"])
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
    if kind in POD_SPEC:
        spec = get(doc, POD_SPEC[kind])
        assert {"name": cfg["secret"]} in (spec.get("imagePullSecrets") or []), f"{where}: no pull secret"
        if not is_hook(doc):
            vols = {v["name"] for v in spec.get("volumes") or [] if get(v, ["persistentVolumeClaim", "claimName"]) == cfg["claim"]}
            assert vols, f"{where}: no volume for claim {cfg['claim']}"
            for c in spec.get("containers") or []:
                mounts = c.get("volumeMounts") or []
                assert any(m.get("name") in vols for m in mounts) or any(m.get("mountPath") == cfg["mount"] for m in mounts), \
                    f"{where}: container {c.get('name')} does not mount the shared volume"
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
