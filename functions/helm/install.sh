#!/usr/bin/env bash
# Installs maia-krm for Helm: as the Helm 4 post-renderer plugin `maia-krm` (binary in the
# plugin's bin/) and on PATH for Helm 3, so one command line works with both:
#   helm install ... --post-renderer maia-krm --post-renderer-args --config=FILE
# MAIA_KRM_BIN picks the binary (default: this checkout's release build, wherever cargo puts it:
# CARGO_TARGET_DIR and .cargo/config.toml can move it, so ask cargo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MAIA_KRM_BIN:-}" ]; then
  target=$(cd "$here/../.." && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p') || true
  MAIA_KRM_BIN=${target:-$here/../../target}/release/maia-krm
fi
bin=$MAIA_KRM_BIN
[ -x "$bin" ] || { echo "no maia-krm binary at $bin: run 'cargo build --release' or set MAIA_KRM_BIN" >&2; exit 1; }
mkdir -p "$here/bin"
cp "$bin" "$here/bin/maia-krm"
if helm version --template '{{.Version}}' 2>/dev/null | grep -q '^v4'; then
  helm plugin install "$here"
fi
install -m 0755 "$bin" "${PREFIX:-/usr/local}/bin/maia-krm"
