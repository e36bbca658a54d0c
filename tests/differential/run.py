#!/usr/bin/env python3
"""Differential test: maia-krm against Go yaml.v3 (the reader of Helm 4, kubectl's kustomize/kyaml).

For every stream, with config-traefik and config-nginx:
  * yaml.v3 refuses the stream  ->  maia-krm must exit 1 with an empty stdout (and name a line);
  * yaml.v3 reads it            ->  maia-krm must exit 0, yaml.v3 must read the output, and each
    output document must mean what the input document meant outside the fields maia-krm manages
    (tests/py/oracle.py `strip_managed`); new documents may only be appended (Middleware).
Streams: first every fixture in tests/differential/fixtures/, then N generated ones: streams written
by yaml.v3's own Encoder (`yamlv3 gen`, what Helm 4 sends) and text mutations of real rendered
documents (seeds). Exit status 1 when anything disagrees.

    python3 tests/differential/run.py --streams 2000 [--seed 1] [--jobs 2] [--write-fixtures]
"""

import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import pathlib
import random
import re
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "py"))
try:
    import pytest  # noqa: F401  (conftest imports it; the runner itself needs only stdlib + PyYAML)
except ImportError:
    import types

    sys.modules["pytest"] = types.ModuleType("pytest")
from conftest import oracle_config  # noqa: E402  (read-only reuse: the oracle's notion of the configs)
from oracle import split_documents, strip_managed  # noqa: E402

MAIA_KRM = os.environ.get("MAIA_KRM", str(ROOT / "target" / "release" / "maia-krm"))
YAMLV3 = os.environ.get("YAMLV3", str(ROOT / "target" / "go" / "yamlv3"))
FLAVOURS = ("traefik", "nginx")


def _lenient(flavour):
    """The fixture config with `on_unpatchable: warn`: this test is about reading YAML as yaml.v3
    does, so a resource maia-krm can't protect (generated routes on odd hosts, say) must pass
    through, not fail the run; tests/py/test_unprotected.py holds the policy to account."""
    import tempfile

    text = (ROOT / "tests" / "fixtures" / f"config-{flavour}.yaml").read_text()
    path = pathlib.Path(tempfile.gettempdir()) / f"maia-krm-differential-{os.getpid()}-{flavour}.yaml"
    path.write_text(text + "  on_unpatchable: warn\n")
    return str(path)


CONFIGS = {f: _lenient(f) for f in FLAVOURS}
FIXTURES = HERE / "fixtures"
DEFAULT_SEEDS = [HERE / "seeds.yaml", *sorted((ROOT / "kustomization" / "rendered").glob("*.yaml"))]
APPENDED_KINDS = {"Middleware"}
GO_SOURCES = ROOT / "tests" / "differential" / "yamlv3"

CLASSES = [
    "refuses-valid",        # yaml.v3 reads the stream, maia-krm exits 1
    "accepts-invalid",      # yaml.v3 refuses the stream, maia-krm exits 0
    "broken-output",        # both accept, yaml.v3 cannot read maia-krm's output
    "changed-meaning",      # output means something else outside managed fields (or lost documents)
    "crash",                # exit 101, a signal, or an exit status other than 0/1
    "refusal-with-output",  # exit 1 but something on stdout
    "refusal-unlocated",    # exit 1 without naming a document and a line
]


# ---------------------------------------------------------------- yaml.v3 oracle


def build_yamlv3(out=YAMLV3):
    """Builds the Go checker offline (GOPATH mode, Debian's yaml.v3). Returns None or the reason it can't."""
    gopath = "/usr/share/gocode"
    outp = pathlib.Path(out)
    srcs = list(GO_SOURCES.glob("*.go"))
    if outp.is_file() and all(outp.stat().st_mtime >= s.stat().st_mtime for s in srcs):
        return None
    if not (pathlib.Path(gopath) / "src" / "gopkg.in" / "yaml.v3" / "yaml.go").is_file():
        return f"yaml.v3 sources not found under {gopath}/src/gopkg.in/yaml.v3 (apt-get install golang-gopkg-yaml.v3-dev)"
    try:
        subprocess.run(["go", "version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "the Go toolchain (`go`) is not installed (apt-get install golang-go)"
    outp.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": gopath, "GOCACHE": str(ROOT / "target" / "go" / "cache")}
    proc = subprocess.run(["go", "build", "-o", str(outp), "./tests/differential/yamlv3"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"building {out} failed:\n{proc.stderr}")
    return None


class YamlV3:
    """One `yamlv3 batch` process: length-prefixed streams in, one JSON answer line out."""

    def __init__(self):
        self.proc = subprocess.Popen([YAMLV3, "batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, data: bytes):
        self.proc.stdin.write(b"%d\n" % len(data) + data)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("yamlv3 batch died")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


_local = threading.local()


def v3():
    if not hasattr(_local, "v3"):
        _local.v3 = YamlV3()
        with _all_lock:
            _all_checkers.append(_local.v3)
    return _local.v3


_all_lock = threading.Lock()
_all_checkers = []


# ---------------------------------------------------------------- one verdict


def run_krm(stream: bytes, flavour: str):
    proc = subprocess.run([MAIA_KRM, "--config", CONFIGS[flavour]], input=stream, capture_output=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")


def first_diff(a, b, path="$"):
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return f"{path}: {a!r:.80} -> {b!r:.80}"
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b or k not in a:
                return f"{path}.{k}: {'dropped' if k not in b else 'added'}"
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: list of {len(a)} -> {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r:.80} -> {b!r:.80}"


def compare(inp_docs, out_docs, flavour):
    """None, or what changed: the output's documents against the input's, outside managed fields."""
    cfg = oracle_config(flavour)
    ins = [d for d in inp_docs if d is not None]
    outs = [d for d in out_docs if d is not None]
    if len(outs) < len(ins):
        return f"{len(ins)} documents in, {len(outs)} out"
    for i, (o, n) in enumerate(zip(outs, ins)):
        try:
            so, si = strip_managed(o, n, cfg)
        except Exception as e:  # the oracle could not take the edits back: demand plain equality
            so, si = o, n
            if so != si:
                return f"document {i + 1}: changed and oracle failed ({type(e).__name__}: {e})"
        if so != si:
            return f"document {i + 1}: " + (first_diff(si, so) or "differs")
    for o in outs[len(ins):]:
        if not isinstance(o, dict) or o.get("kind") not in APPENDED_KINDS:
            return f"unexpected appended document: {str(o)[:80]}"
    return None


LOCATED = re.compile(r"document \d+.*line \d+|line \d+.*document \d+", re.S)


def classify(stream: bytes, flavour: str, v3_in=None):
    """(class or None, detail, v3 answer for the input)."""
    if v3_in is None:
        v3_in = v3().read(stream)
    rc, out, err = run_krm(stream, flavour)
    first = err.strip().splitlines()[0][:200] if err.strip() else ""
    if rc < 0 or rc not in (0, 1):
        return "crash", f"exit {rc}: {err.strip()[-300:]}", v3_in
    if rc == 1:
        if out:
            return "refusal-with-output", f"{len(out)} bytes on stdout: {first}", v3_in
        if v3_in["ok"]:
            return "refuses-valid", first, v3_in
        if not LOCATED.search(err):
            return "refusal-unlocated", first, v3_in
        return None, "", v3_in
    if not v3_in["ok"]:
        return "accepts-invalid", v3_in["error"][:200], v3_in
    v3_out = v3().read(out)
    if not v3_out["ok"]:
        return "broken-output", v3_out["error"][:200], v3_in
    diff = compare(v3_in["docs"], v3_out["docs"], flavour)
    if diff:
        return "changed-meaning", diff, v3_in
    return None, "", v3_in


# ---------------------------------------------------------------- mutations of real documents

LINE_KV = re.compile(r"^( *)(- )?([A-Za-z0-9_./-]+):[ ]+(\S.*)$")
LINE_KEY = re.compile(r"^( *)(- )?([A-Za-z0-9_./-]+):$")
LINE_ITEM = re.compile(r"^( *)- ([^\s#:{}\[\],&*!|>'\"%@`][^#:{}\[\],]*)$")
POD_KEYS = ("containers:",)


def _lines(doc):
    return doc.split("\n")


def m_reindent(doc, r):
    f = r.choice([2, 3])
    return "\n".join(re.sub(r"^( +)", lambda m: " " * (len(m.group(1)) * f // 2 if f == 3 else len(m.group(1)) * 2), l)
                     for l in _lines(doc))


def m_flow_list(doc, r):
    ls = _lines(doc)
    starts = [i for i, l in enumerate(ls) if LINE_KEY.match(l)]
    r.shuffle(starts)
    for i in starts:
        ind = len(LINE_KEY.match(ls[i]).group(1)) + (2 if LINE_KEY.match(ls[i]).group(2) else 0)
        j, items = i + 1, []
        while j < len(ls):
            m = LINE_ITEM.match(ls[j])
            if not m or len(m.group(1)) < ind or len(m.group(1)) > ind + 2:
                break
            items.append(m.group(2).strip())
            j += 1
        if items:
            style = r.randrange(4)
            body = ", ".join(items) + ("," if style == 1 else "")
            if style == 2:  # continued on the next line at low indentation
                body = ",\n ".join(items)
            head = ls[i] + " [" + body + "]"
            if style == 3:
                head = ls[i] + " [\n" + " " * (ind + 2) + f"# items\n" + " " * (ind + 2) + ", ".join(items) + "\n" + " " * ind + "]"
            return "\n".join(ls[:i] + [head] + ls[j:])
    return doc


def m_flow_map(doc, r):
    ls = _lines(doc)
    starts = [i for i, l in enumerate(ls) if LINE_KEY.match(l)]
    r.shuffle(starts)
    for i in starts:
        m0 = LINE_KEY.match(ls[i])
        ind = len(m0.group(1)) + (2 if m0.group(2) else 0)
        j, pairs, cind = i + 1, [], None
        while j < len(ls):
            m = LINE_KV.match(ls[j])
            if not m or m.group(2) or len(m.group(1)) <= ind or (cind is not None and len(m.group(1)) != cind):
                break
            if re.search(r"[{}\[\],#]|^[|>]", m.group(4)):
                break
            cind = len(m.group(1))
            pairs.append(f"{m.group(3)}: {m.group(4)}")
            j += 1
        if pairs and (j == len(ls) or not ls[j].strip() or len(ls[j]) - len(ls[j].lstrip()) <= ind):
            style = r.randrange(3)
            if style == 0:
                head = ls[i] + " {" + ", ".join(pairs) + "}"
            elif style == 1:  # yaml.v3's flow mapping with a comment
                pad = " " * (ind + 2)
                head = ls[i] + " {\n" + pad + "# c\n" + pad + (",\n" + pad).join(pairs) + "}"
            else:
                head = ls[i] + " {" + ",\n".join(pairs) + ",\n}"
            return "\n".join(ls[:i] + [head] + ls[j:])
    return doc


def _pick(ls, r, rx=LINE_KV, pred=lambda m: True):
    cands = [i for i, l in enumerate(ls) if (m := rx.match(l)) and pred(m)]
    return r.choice(cands) if cands else None


def m_comment_after_quote(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, pred=lambda m: m.group(4)[0] in "\"'" and m.group(4)[-1] == m.group(4)[0])
    if i is None:
        i = _pick(ls, r)
        if i is None:
            return doc
        m = LINE_KV.match(ls[i])
        ls[i] = f"{m.group(1)}{m.group(2) or ''}{m.group(3)}: \"{m.group(4)}\""
    ls[i] += r.choice(["# c", " # c", "\t# c", "#"])
    return "\n".join(ls)


def m_tab_after_colon(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r)
    if i is not None:
        ls[i] = re.sub(r":[ ]+", r.choice([":\t", ": \t", ":\t "]), ls[i], count=1)
    return "\n".join(ls)


def m_directive(doc, r):
    body = doc[4:] if doc.startswith("---\n") else doc
    d = r.choice(["%YAML 1.2\n", "%YAML 1.1\n", "%TAG ! tag:example.com,2000:\n", "%TAG !e! tag:e.com,2000:\n%YAML 1.2\n"])
    return d + "---\n" + body


def m_doc_end(doc, r):
    # The last: a document after `...` with no `---`, which yaml.v3 refuses.
    return doc.rstrip("\n") + "\n" + r.choice(["...\n", "... # end\n", "...\n# trailing comment\n",
                                                "...\n# next\nbare: document\n"])


def m_explicit_key(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, pred=lambda m: not m.group(2) and m.group(4)[0] not in "|>")
    if i is not None:
        m = LINE_KV.match(ls[i])
        ls[i] = f"{m.group(1)}? {m.group(3)}\n{m.group(1)}: {m.group(4)}"
    return "\n".join(ls)


def m_key_no_value(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, rx=re.compile(r"^( *)(- )?(containers):\s*$"))
    if i is not None and r.random() < 0.8:
        ind = len(ls[i]) - len(ls[i].lstrip(" -"))
        j = i + 1
        while j < len(ls) and (not ls[j].strip() or len(ls[j]) - len(ls[j].lstrip()) > ind
                               or (ls[j].lstrip().startswith("- ") and len(ls[j]) - len(ls[j].lstrip()) == ind)):
            j += 1
        key = r.choice(["volumes:", "imagePullSecrets:", "volumes: ", "imagePullSecrets: # none", "volumes: null", "volumes: []"])
        ls.insert(j, " " * ind + key)
        return "\n".join(ls)
    i = _pick(ls, r, rx=LINE_KEY)
    if i is not None:
        ind = len(ls[i]) - len(ls[i].lstrip(" -")) + 2
        ls.insert(i + 1, " " * ind + r.choice(["empty:", "annotations:", "tls:", "host:"]))
    return "\n".join(ls)


def m_tag(doc, r):
    ls = _lines(doc)
    if r.random() < 0.5:
        i = _pick(ls, r, rx=re.compile(r"^( *)(- )?(annotations|containers|volumes|imagePullSecrets|tls|rules|spec|metadata|hosts):\s*$"))
        if i is not None:
            t = r.choice(["!!map", "!!seq", "&a", "!<tag:yaml.org,2002:map>", "!!map # c", "&x !!seq"])
            if "seq" in t and re.search(r"annotations|spec|metadata", ls[i]):
                t = t.replace("seq", "map")
            elif "map" in t and re.search(r"containers|volumes|Secrets|tls|rules|hosts", ls[i]):
                t = t.replace("map", "seq")
            ls[i] += " " + t
            return "\n".join(ls)
    i = _pick(ls, r, pred=lambda m: m.group(4)[0] not in "|>&!*")
    if i is not None:
        m = LINE_KV.match(ls[i])
        t = r.choice(["!!str", "!<tag:yaml.org,2002:str>", "&v", "!!str &v"])
        ls[i] = f"{m.group(1)}{m.group(2) or ''}{m.group(3)}: {t} {m.group(4)}"
    return "\n".join(ls)


def m_block_scalar(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, pred=lambda m: m.group(3) in ("host", "name", "image", "path", "secretName", "value")
              or "/" in m.group(3)) if r.random() < 0.7 else _pick(ls, r)
    if i is None:
        return doc
    m = LINE_KV.match(ls[i])
    val = m.group(4)
    if val[:1] in "\"'" and val[-1:] == val[:1]:
        val = val[1:-1]
    ind = len(m.group(1)) + (2 if m.group(2) else 0)
    ind_s = " " * (ind + 2)
    ind_ind = r.choice(["", "", "2", "4"]) if True else ""
    style = r.choice(["|", "|-", ">-", ">", "|+", ">+"])
    if ind_ind:
        ind_s = " " * (ind + int(ind_ind))
        style = style[0] + ind_ind + style[1:]
    body = [ind_s + val]
    if style.endswith("+"):
        body.append("")
    if r.random() < 0.2:
        body = ["", ind_s + val]
    ls[i:i + 1] = [f"{m.group(1)}{m.group(2) or ''}{m.group(3)}: {style}"] + body
    return "\n".join(ls)


def m_middleware_block(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, rx=re.compile(r"^( *)annotations:\s*$"))
    if i is None:
        i = _pick(ls, r, rx=re.compile(r"^( *)name: .*$"))
        if i is None:
            return doc
        ind = len(ls[i]) - len(ls[i].lstrip())
        ls.insert(i + 1, " " * ind + "annotations:")
        i += 1
    ind = len(ls[i]) - len(ls[i].lstrip()) + 2
    k = r.choice(["traefik.ingress.kubernetes.io/router.middlewares", "cert-manager.io/cluster-issuer",
                  "nginx.ingress.kubernetes.io/auth-url", "example.com/text"])
    v = r.choice(["a-b@kubernetescrd", "a@kubernetescrd,\n" + " " * (ind + 2) + "b@kubernetescrd", "x"])
    st = r.choice([">-", "|", "|-", ">", "|2-"])
    pad = " " * (ind + (2 if "2" not in st else 2))
    ls[i + 1:i + 1] = [" " * ind + f"{k}: {st}", pad + v.replace("\n" + " " * (ind + 2), "\n" + pad)]
    return "\n".join(ls)


def m_duplicate_key(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, pred=lambda m: not m.group(2) and m.group(4)[0] not in "|>")
    if i is not None:
        ls.insert(i + 1, ls[i] if r.random() < 0.5 else re.sub(r":\s.*$", ": dup", ls[i]))
    return "\n".join(ls)


def m_control(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r)
    if i is not None:
        c = r.choice(["\x01", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\x1b", "\x00", "\x08"])
        if r.random() < 0.5:
            ls[i] = ls[i][:-1] + c + ls[i][-1]
        else:
            m = LINE_KV.match(ls[i])
            ls[i] = f"{m.group(1)}{m.group(2) or ''}{m.group(3)}: \"{c}{m.group(4)}\""
    return "\n".join(ls)


def m_tab_block(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, pred=lambda m: not m.group(2))
    if i is not None:
        m = LINE_KV.match(ls[i])
        ind = " " * (len(m.group(1)) + 2)
        ls[i:i + 1] = [f"{m.group(1)}{m.group(3)}: {r.choice(['|', '|-', '>'])}",
                       ind + r.choice(["\t", "\tx", " \tx", "x\ty"]) + m.group(4), ind + "tail"]
    return "\n".join(ls)


def m_quoted_multiline(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, pred=lambda m: m.group(4)[0] not in "|>\"'&!*")
    if i is not None:
        m = LINE_KV.match(ls[i])
        q = r.choice(["'", '"'])
        ls[i] = f"{m.group(1)}{m.group(2) or ''}{m.group(3)}: {q}{m.group(4)}\n\n{q}" + r.choice(["", " # c"])
    return "\n".join(ls)


def m_drop_line(doc, r):
    ls = _lines(doc)
    if len(ls) > 2:
        i = r.randrange(len(ls))
        if r.random() < 0.5:
            del ls[i]
        else:
            ls.insert(i, ls[i])
    return "\n".join(ls)


def m_comments(doc, r):
    ls = _lines(doc)
    i = r.randrange(len(ls))
    ind = len(ls[i]) - len(ls[i].lstrip())
    ls.insert(i, " " * r.choice([0, ind, ind + 2]) + "# " + r.choice(["c", "- x", "key: v", "'"]))
    return "\n".join(ls)


def m_dash_alone(doc, r):
    ls = _lines(doc)
    i = _pick(ls, r, rx=re.compile(r"^( *)- ([A-Za-z].*)$"))
    if i is not None:
        m = re.match(r"^( *)- (.*)$", ls[i])
        ls[i:i + 1] = [m.group(1) + "-" + r.choice(["", " # c"]), m.group(1) + "  # head", m.group(1) + "  " + m.group(2)]
    return "\n".join(ls)


def m_colon_before_flow(doc, r):
    # `x: [b:]`, `{a:, b: 1}`: yaml.v3 reads a `:` before `,`, `]` or `}` as part of the plain scalar.
    spots = [m.start(2) for m in re.finditer(r"([^\s,\[\]{}:#'\"])([,\]}])", doc)]
    if not spots:
        return doc
    i = r.choice(spots)
    return doc[:i] + ":" + doc[i:]


DOC_MUTATIONS = [m_reindent, m_flow_list, m_flow_map, m_comment_after_quote, m_tab_after_colon, m_directive,
                 m_doc_end, m_explicit_key, m_key_no_value, m_tag, m_block_scalar, m_middleware_block,
                 m_duplicate_key, m_control, m_tab_block, m_quoted_multiline, m_drop_line, m_comments, m_dash_alone,
                 m_colon_before_flow]


def load_seeds(paths):
    docs = []
    for p in paths:
        text = pathlib.Path(p).read_text(encoding="utf-8")
        for d in split_documents(text):
            if "kind:" in d and len(d) < 6000:
                docs.append(d if d.endswith("\n") else d + "\n")
    return docs


WRITES = re.compile(r"kind: (Ingress|Deployment|StatefulSet|CronJob|Pod|DaemonSet|Job|ServiceAccount)\b")


def mutated_stream(seeds, r):
    writable = [d for d in seeds if WRITES.search(d)]
    parts = []
    for _ in range(r.choice([1, 1, 2, 3])):
        doc = r.choice(writable if writable and r.random() < 0.8 else seeds)
        for _ in range(r.choice([1, 1, 2, 3])):
            doc = r.choice(DOC_MUTATIONS)(doc, r)
        if not doc.startswith(("---", "%")):
            doc = "---\n" + doc
        if not doc.endswith("\n"):
            doc += "\n"
        parts.append(doc)
    text = "".join(parts)
    x = r.random()
    if x < 0.08:
        text = text.replace("\n", "\r\n")
    elif x < 0.16:
        text = text.rstrip("\n")
    return text.encode("utf-8")


def go_streams(seed, n):
    if n <= 0:
        return []
    data = subprocess.run([YAMLV3, "gen", str(seed), str(n)], capture_output=True, check=True).stdout
    out, pos = [], 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        size = int(data[pos:nl])
        out.append(data[nl + 1:nl + 1 + size])
        pos = nl + 1 + size
    return out


# ---------------------------------------------------------------- shrinking and fixtures


HEADER = b"# differential fixture\n# yaml.v3 verdict\n# maia-krm verdict\n"


def shrink(stream: bytes, flavour: str, sig: str, budget=500):
    """Line-level ddmin keeping the same disagreement (class and normalised message), header included."""
    lines = stream.splitlines(keepends=True)
    tries = [0]

    def bad(ls):
        tries[0] += 1
        cls, detail, _ = classify(HEADER + b"".join(ls), flavour)
        return cls is not None and signature(cls, detail) == sig

    n = 2
    while len(lines) >= 2 and tries[0] < budget:
        chunk = max(1, len(lines) // n)
        reduced = False
        for start in range(0, len(lines), chunk):
            cand = lines[:start] + lines[start + chunk:]
            if cand and bad(cand):
                lines, n, reduced = cand, max(n - 1, 2), True
                break
            if tries[0] >= budget:
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(lines), n * 2)
    return b"".join(lines)


def ascii_line(s):
    return re.sub(r"[^\x20-\x7e]", "?", s)[:160]


def signature(cls, detail):
    d = re.sub(r"\d+", "N", detail)
    d = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "Q", d)
    return cls + ":" + d[:60]


def write_fixture(stream, flavour, cls, detail):
    small = shrink(stream, flavour, signature(cls, detail))
    v3_ans = v3().read(small)
    rc, out, err = run_krm(small, flavour)
    said = "reads it" + (f" ({len([d for d in v3_ans['docs'] if d is not None])} mapping documents)" if v3_ans["ok"] else "")
    header = (f"# differential: {cls} (config-{flavour}): {ascii_line(classify(HEADER + small, flavour)[1])}\n"
              f"# yaml.v3: {said if v3_ans['ok'] else 'refuses: ' + ascii_line(v3_ans['error'])}\n"
              f"# maia-krm today: exit {rc}: {ascii_line(err.strip().splitlines()[0] if err.strip() else '')}\n").encode()
    name = f"{cls}-{hashlib.sha1(small).hexdigest()[:8]}.yaml"
    path = FIXTURES / name
    FIXTURES.mkdir(exist_ok=True)
    if not any(p.read_bytes().split(b"\n", 3)[-1] == small for p in FIXTURES.glob("*.yaml")):
        path.write_bytes(header + small)
    return path


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=1000, help="generated streams after the fixtures")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--go-share", type=float, default=0.5, help="share of streams written by yaml.v3's encoder")
    ap.add_argument("--seeds", nargs="*", help="seed manifest files for mutations (default: repository renders)")
    ap.add_argument("--write-fixtures", action="store_true", help="shrink new disagreements into fixtures/")
    ap.add_argument("--max-fixtures-per-class", type=int, default=4)
    ap.add_argument("--no-fixtures", action="store_true", help="skip replaying fixtures/")
    ap.add_argument("--show", type=int, default=3, help="examples to print per class")
    args = ap.parse_args(argv)

    reason = build_yamlv3()
    if reason:
        print(f"run.py: cannot run: {reason}", file=sys.stderr)
        return 2
    if not os.access(MAIA_KRM, os.X_OK):
        print(f"run.py: maia-krm binary not found at {MAIA_KRM} (cargo build --release, or set MAIA_KRM)", file=sys.stderr)
        return 2

    fixtures = [] if args.no_fixtures else sorted(FIXTURES.glob("*.yaml"))
    n_go = int(args.streams * args.go_share)
    r = random.Random(args.seed)
    seeds = load_seeds(args.seeds or DEFAULT_SEEDS)
    work = [(f"fixture {p.name}", p.read_bytes()) for p in fixtures]
    work += [(f"gen seed={args.seed} #{i}", s) for i, s in enumerate(go_streams(args.seed, n_go))]
    work += [(f"mutation seed={args.seed} #{i}", mutated_stream(seeds, r)) for i in range(args.streams - n_go)]

    counts = collections.Counter()
    v3_verdicts = collections.Counter()
    examples = collections.defaultdict(list)
    fixture_failures = []

    def one(item):
        label, stream = item
        res = []
        v3_in = None
        for fl in FLAVOURS:
            cls, detail, v3_in = classify(stream, fl, v3_in)
            res.append((fl, cls, detail))
        return label, stream, v3_in["ok"], res

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, work))
    elapsed = time.monotonic() - start

    found = []
    for label, stream, ok, res in results:
        v3_verdicts["reads" if ok else "refuses"] += 1
        for fl, cls, detail in res:
            if cls:
                counts[cls] += 1
                counts[f"{cls} [{fl}]"] += 1
                examples[cls].append(f"{label} ({fl}): {ascii_line(detail)}")
                found.append((label, stream, fl, cls, detail))
                if label.startswith("fixture"):
                    fixture_failures.append(label)

    total = sum(counts[c] for c in CLASSES)
    print(f"differential: {len(fixtures)} fixtures + {len(work) - len(fixtures)} generated streams "
          f"({n_go} by yaml.v3's encoder), x{len(FLAVOURS)} configs, in {elapsed:.1f}s "
          f"({len(work) / elapsed if elapsed else 0:.0f} streams/s, {args.jobs} jobs)")
    print(f"yaml.v3: reads {v3_verdicts['reads']}, refuses {v3_verdicts['refuses']}")
    for c in CLASSES:
        if counts[c]:
            print(f"  {c}: {counts[c]} (traefik {counts[c + ' [traefik]']}, nginx {counts[c + ' [nginx]']})")
            for e in examples[c][:args.show]:
                print(f"      {e}")
    print(f"fixtures failing: {len(set(fixture_failures))}/{len(fixtures)}")
    print(f"disagreements: {total}")

    if args.write_fixtures:
        per_class = collections.Counter(c for p in FIXTURES.glob("*.yaml") for c in CLASSES if p.name.startswith(c + "-"))
        seen = set()
        for label, stream, fl, cls, detail in found:
            if label.startswith("fixture"):
                continue
            sig = signature(cls, detail)
            if sig in seen or per_class[cls] >= args.max_fixtures_per_class:
                continue
            seen.add(sig)
            per_class[cls] += 1
            print(f"  wrote {write_fixture(stream, fl, cls, detail).name}  ({sig})")

    for c in _all_checkers:
        c.close()
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
