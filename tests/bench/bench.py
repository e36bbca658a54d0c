"""Benchmark: maia-krm against kubectl kustomize and a PyYAML script doing the same patches.

Builds a >= 20 MB stream from the corpus (Helm 3 framing, each copy renamed into its own
namespace), then measures, side by side in one run:
  - maia-krm: throughput (best of N), peak RSS, and startup on a tiny input;
  - kubectl kustomize applying the equivalent annotation and imagePullSecrets patches;
  - a PyYAML load -> patch -> dump script doing the same patches.
Prints a table and checks the targets from the issue. Not a test: numbers vary by machine.

Every changed document goes through the fail-closed check (src/stream/check.rs), so these figures
include it; compare with a build of an older commit (MAIA_KRM=...) to see what it costs.

Usage: target/venv/bin/python tests/bench/bench.py [--mb 20] [--runs 5]
"""

import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MAIA_KRM", str(ROOT / "target" / "release" / "maia-krm"))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))
import unpack  # noqa: E402  (tests/corpus/unpack.py: the in-repo corpus, unpacked into target/corpus/)

CORPUS = pathlib.Path(os.environ.get("MAIA_CORPUS") or unpack.ensure("corpus"))
CONFIG = ROOT / "tests" / "fixtures" / "config-nginx.yaml"
SECRET = "maia-docker-registry-secret"
POD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]
ANNOTATIONS = {
    "cert-manager.io/cluster-issuer": "cluster-issuer",
    "nginx.ingress.kubernetes.io/auth-url": "http://demo-group-oauth2-proxy.demo-group.svc.cluster.local/oauth2/auth",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "IngressClass", "ValidatingWebhookConfiguration",
                  "MutatingWebhookConfiguration", "CustomResourceDefinition", "Namespace"}


def in_namespace(doc, ns):
    """One Helm 3 document moved into namespace `ns`, by text so it stays as Helm rendered it."""
    doc = doc.replace("demo-group", ns)
    kind = re.search(r"^kind: (\S+)", doc, re.M)
    meta = re.search(r"^metadata:\n((?:[ \t].*\n|\n)*)", doc, re.M)
    if not kind or not meta:
        return doc
    indent = re.match(r" *", meta.group(1)).group(0) or "  "
    if kind.group(1) in CLUSTER_SCOPED:  # no namespace to tell copies apart: rename instead
        block = re.sub(rf"^({indent}name: )(.*)$", rf"\g<1>{ns}-\g<2>", meta.group(1), count=1, flags=re.M)
        return doc[:meta.start(1)] + block + doc[meta.end(1):]
    if re.search(rf"^{indent}namespace: ", meta.group(1), re.M):
        return doc  # its namespace was renamed with everything else
    return doc[:meta.start(1)] + f"{indent}namespace: {ns}\n" + doc[meta.start(1):]


def build_stream(megabytes):
    files = sorted(p for p in CORPUS.glob("*.yaml") if re.fullmatch(r"[^.]+(\.\d+\.\d+\.\d+-maia)?\.yaml", p.name))
    docs = [d for f in files for d in re.split(r"(?m)^(?=---\n)", f.read_text()) if d.strip()]
    out, n = [], 0
    while sum(map(len, out)) < megabytes * 1_000_000:
        out.extend(in_namespace(d, f"ws-{n}") for d in docs)
        n += 1
    return "".join(out), n


def timed(cmd, stdin_path, runs):
    """Best and median wall time, and peak RSS (KiB), of `cmd` reading `stdin_path`.

    Peak RSS comes from /usr/bin/time: the rusage of a child forked from this (large) Python
    process would count the parent's pages it inherited before exec."""
    times, peak = [], 0
    for _ in range(runs):
        with open(stdin_path, "rb") as stdin:
            start = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdin=stdin, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"{cmd} failed: {proc.stderr.decode()}")
            peak = max(peak, int(proc.stderr.decode().split()[-1]))
    return min(times), statistics.median(times), peak


def kustomization(dirpath):
    patches = ["patches:"]
    ann = "\n".join(f"      {k}: {v}" for k, v in ANNOTATIONS.items())
    patches.append(f"- target: {{kind: Ingress}}\n  patch: |-\n    apiVersion: networking.k8s.io/v1\n    kind: Ingress\n"
                   f"    metadata:\n      name: any\n      annotations:\n{ann}")
    for kind in POD_KINDS:
        patches.append(f"- target: {{kind: {kind}}}\n  patch: |-\n    apiVersion: apps/v1\n    kind: {kind}\n    metadata:\n"
                       f"      name: any\n    spec:\n      template:\n        spec:\n          imagePullSecrets:\n"
                       f"          - name: {SECRET}")
    patches.append(f"- target: {{kind: ServiceAccount}}\n  patch: |-\n    apiVersion: v1\n    kind: ServiceAccount\n"
                   f"    metadata:\n      name: any\n    imagePullSecrets:\n    - name: {SECRET}")
    (dirpath / "kustomization.yaml").write_text("resources:\n- stream.yaml\n" + "\n".join(patches) + "\n")


PYYAML_SCRIPT = f"""
import sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
docs = list(yaml.load_all(sys.stdin, Loader=Loader))
for d in docs:
    if not isinstance(d, dict): continue
    k = d.get("kind")
    if k == "Ingress":
        d.setdefault("metadata", {{}}).setdefault("annotations", {{}}).update({ANNOTATIONS!r})
    spec = d.get("spec", {{}}).get("template", {{}}).get("spec") if k in {POD_KINDS!r} else (d if k == "ServiceAccount" else None)
    if isinstance(spec, dict):
        ps = spec.setdefault("imagePullSecrets", []) or []
        if {{"name": "{SECRET}"}} not in ps: ps.append({{"name": "{SECRET}"}})
        spec["imagePullSecrets"] = ps
yaml.dump_all(docs, sys.stdout, Dumper=Dumper)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--kustomize-mb", type=float, default=None,
                    help="give kubectl kustomize a smaller slice (it needs ~14 min for 20 MB here); "
                         "its time is then scaled linearly to the full input, and marked so")
    args = ap.parse_args()
    stream, copies = build_stream(args.mb)
    size = len(stream.encode())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "stream.yaml").write_text(stream)
        (tmp / "tiny.yaml").write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n")
        kust_mb = args.kustomize_mb or args.mb
        kust_dir = tmp / "kustomize"
        kust_dir.mkdir()
        kust_stream = stream if kust_mb >= args.mb else build_stream(kust_mb)[0]
        (kust_dir / "stream.yaml").write_text(kust_stream)
        kust_scale = size / len(kust_stream.encode())
        kustomization(kust_dir)
        (tmp / "pyyaml_patch.py").write_text(PYYAML_SCRIPT)

        cat = timed(["cat"], tmp / "stream.yaml", args.runs)
        krm = timed([BIN, "--config", str(CONFIG)], tmp / "stream.yaml", args.runs)
        krm1 = timed([BIN, "--config", str(CONFIG), "--jobs", "1"], tmp / "stream.yaml", args.runs)
        startup = timed([BIN, "--config", str(CONFIG)], tmp / "tiny.yaml", 30)
        kust = timed(["kubectl", "kustomize", str(kust_dir)], tmp / "tiny.yaml", 1)
        kust = (kust[0] * kust_scale, kust[1] * kust_scale, kust[2])
        pyy = timed([sys.executable, str(tmp / "pyyaml_patch.py")], tmp / "stream.yaml", 1)

    mb = size / 1e6
    print(f"input: {mb:.1f} MB, {copies} renamed copies of the corpus (Helm 3 framing), {os.cpu_count()} cores\n")
    print(f"{'tool':<34}{'best s':>9}{'median s':>10}{'MB/s':>9}{'peak RSS MB':>13}")
    kust_name = "kubectl kustomize (same patches)" if kust_scale == 1 else f"kubectl kustomize (x{kust_scale:.1f} scaled)"
    rows = [("cat (the floor)", cat), ("maia-krm (all cores)", krm), ("maia-krm --jobs 1", krm1), (kust_name, kust),
            ("PyYAML load/patch/dump", pyy)]
    for name, (best, med, rss) in rows:
        print(f"{name:<34}{best:>9.3f}{med:>10.3f}{mb / best:>9.1f}{rss / 1024:>13.1f}")
    print(f"{'maia-krm startup, tiny input':<34}{startup[0] * 1000:>8.2f}ms{startup[1] * 1000:>8.2f}ms")

    checks = [
        ("throughput >= 100 MB/s", mb / krm[0] >= 100, f"{mb / krm[0]:.0f} MB/s"),
        ("30x faster than kubectl kustomize", kust[0] / krm[0] >= 30, f"{kust[0] / krm[0]:.0f}x"),
        ("startup < 5 ms", startup[1] < 0.005, f"{startup[1] * 1000:.2f} ms median"),
        ("peak memory < 3x input + 20 MB", krm[2] * 1024 < 3 * size + 20e6, f"{krm[2] / 1024:.0f} MB vs {(3 * size + 20e6) / 1e6:.0f} MB"),
    ]
    print(f"\nspeed-up: {kust[0] / krm[0]:.0f}x over kubectl kustomize, {pyy[0] / krm[0]:.0f}x over PyYAML; "
          f"{krm[0] / cat[0]:.0f}x the time of cat")
    for name, ok, value in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {name}: {value}")


if __name__ == "__main__":
    main()
