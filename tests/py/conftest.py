"""Shared fixtures: the maia-krm binary, the corpus, the configs, and a runner."""

import importlib.util
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MAIA_KRM", str(ROOT / "target" / "release" / "maia-krm"))
_spec = importlib.util.spec_from_file_location("corpus_unpack", ROOT / "tests" / "corpus" / "unpack.py")
unpack = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(unpack)
# The corpora travel in tests/corpus/*.tar.xz and are unpacked into target/corpus/ once per session
# (again only when an archive changes); MAIA_CORPUS / MAIA_CORPUS_WIDE point at another copy instead.
CORPUS = pathlib.Path(os.environ.get("MAIA_CORPUS") or unpack.ensure("corpus"))
CORPUS_WIDE = pathlib.Path(os.environ.get("MAIA_CORPUS_WIDE") or unpack.ensure("corpus-wide"))
CORPORA = {"small": CORPUS, "wide": CORPUS_WIDE}
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
        "namespace": "demo-group",
        "middleware": "oauth2-proxy-auth",
    }


def corpus_files(framing, corpus="small"):
    """Corpus streams: Helm 3 framing (`NAME.yaml`, `NAME.hooks.yaml`, `NAME.crds.yaml`) or Helm 4
    (`NAME.helm4.yaml`), of the small corpus (charts MAIA installs) or the wide one (bitnami)."""
    root = CORPORA[corpus]
    if not root.is_dir():
        pytest.fail(f"corpus not found at {root} (set MAIA_CORPUS / MAIA_CORPUS_WIDE)")
    files = sorted(p for p in root.glob("*.yaml") if not p.name.endswith(".values.yaml"))
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


# A workspace whose namespace is `default`, the namespace of the upstream route examples, on the
# Traefik flavour with a Gateway for HTTPRoutes. The upstream examples include routes on plain-HTTP
# entry points only (`web`), which the policy refuses: these tests are about the edits, so those
# pass with a warning here (test_unprotected.py checks they are refused by default).
ROUTES_CONFIG = """apiVersion: v1
kind: ConfigMap
metadata: {name: maia-krm-config}
data:
  group_ID: Default
  group_subdomain: team
  oauth_url: team.maia.example.com
  domain: maia.example.com
  traefik_resolver: letsencrypt
  gateway: "{name: public, namespace: gateways, sectionName: websecure}"
  on_unpatchable: warn
"""
