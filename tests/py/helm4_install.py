"""Runs one `helm install --dry-run=client --post-renderer maia-krm` in the real Helm 4 engine.

A separate process per install: libhelm reads HELM_PLUGINS when it loads, so each test's plugin
directory must be in the environment before the import.
Usage: HELM_PLUGINS=DIR python helm4_install.py CHART RELEASE [POST_RENDERER_ARG...]
Prints the release manifest; exits 1 with Helm's error on stderr when the install fails.
"""

import json
import sys

from helm_python import Chart, Config, HelmError, _native

chart_dir, release, *args = sys.argv[1:]
cfg = Config(namespace="demo-group")
chart = Chart.load(chart_dir)
options = {"namespace": "demo-group", "dry_run": "client", "post_renderer": "maia-krm", "post_renderer_args": args}
try:
    payload = _native.call_string("helm_install", cfg._raw(), _native.HANDLE(0), chart._raw(), None, release,
                                  json.dumps({}), json.dumps(options))
except HelmError as e:
    sys.exit(f"helm install failed: {e}")
print(json.loads(payload)["manifest"], end="")
