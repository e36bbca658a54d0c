"""Shared fixtures: the maia-krm binary, the corpus, the configs, and a runner."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MAIA_KRM", str(ROOT / "target" / "release" / "maia-krm"))
CORPUS = pathlib.Path(os.environ.get("MAIA_CORPUS", ROOT.parent / "shared" / "corpus"))
FIXTURES = ROOT / "tests" / "fixtures"

# What the fixture configs say, for the oracle (kept independent of maia-krm's own parsing).
FLAVOURS = {
    "nginx": {"issuer": "cluster-issuer", "resolver": None},
    "traefik": {"issuer": None, "resolver": "letsencrypt"},
    "both": {"issuer": "cluster-issuer", "resolver": "letsencrypt"},
}


def oracle_config(flavour):
    return {
        **FLAVOURS[flavour],
        "domain": "maia.example.com",
        "secret": "maia-docker-registry-secret",
        "claim": "shared",
        "mount": "/home/maia-user/shared",
        "middleware_ref": "demo-group-oauth2-proxy-auth@kubernetescrd",
    }


def corpus_files(framing):
    """Corpus streams: Helm 3 framing (`NAME.yaml`, `NAME.hooks.yaml`) or Helm 4 (`NAME.helm4.yaml`)."""
    if not CORPUS.is_dir():
        pytest.fail(f"corpus not found at {CORPUS} (set MAIA_CORPUS)")
    files = sorted(p for p in CORPUS.glob("*.yaml") if not p.name.endswith(".values.yaml"))
    helm4 = [p for p in files if p.name.endswith(".helm4.yaml")]
    return helm4 if framing == "helm4" else [p for p in files if p not in helm4]


def run(args, stdin, env=None, check=True):
    """Runs maia-krm; returns the CompletedProcess (bytes)."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([BIN, *args], input=stdin, capture_output=True, env=full_env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"maia-krm {args} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc


def config_path(flavour):
    return str(FIXTURES / f"config-{flavour}.yaml")
