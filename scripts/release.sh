#!/usr/bin/env bash
# ./dev release: the portable release executables, for x86_64 and aarch64 (glibc 2.28), in
# dist/release/ ($MXCP_RELEASE_DIR), each checked by check-portable.py; then the aarch64 one
# is proven under qemu: it builds nothing itself; the x86_64 mxcp builds a server for
# aarch64-linux (`mxcp build --target`), which answers over MCP inside an arm64 Debian 11 root.
#   scripts/release.sh [ARCH...]     (default: x86_64 aarch64; the smoke test needs both)
#   scripts/release.sh smoke         only the smoke test, on the executables already built
# Sourced environment: scripts/env.sh; MXCP_TEST_PYTHON (the MCP client) and MXCP_TEST_WHEELS.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${MXCP_RELEASE_DIR:-$PWD/dist/release}"
mkdir -p "$out"
archs=("$@"); [ ${#archs[@]} -gt 0 ] || archs=(x86_64 aarch64)
build=1
[ "${archs[*]}" != smoke ] || { build=0; archs=(x86_64 aarch64); }
t0=$SECONDS
for arch in "${archs[@]}"; do
  [ "$build" = 1 ] || break
  triple="$arch-unknown-linux-gnu"
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  prefix="$(scripts/build-cpython.sh "$arch")"
  cfg="$MXCP_TOOLS_DIR/pyo3-portable-$(basename "$prefix").cfg"
  python3 scripts/pyo3_config.py "$cfg" "$prefix"
  # a cross build has a target dir of its own, so that it never waits for the dev build's lock
  target_dir="$CARGO_TARGET_DIR"
  [ "$arch" = "$(uname -m)" ] || target_dir="$CARGO_TARGET_DIR-$arch"
  echo "==> mxcp for $triple (glibc $MXCP_GLIBC_FLOOR), release profile, in $target_dir" >&2
  # the packing interpreter stays the build machine's (MXCP_BUILD_PYTHON); the standard library
  # packed is the target's (MXCP_CPYTHON_PREFIX)
  CARGO_TARGET_DIR="$target_dir" PYO3_CONFIG_FILE="$cfg" MXCP_CPYTHON_PREFIX="$prefix" \
    cargo zigbuild --release --target "$triple.$MXCP_GLIBC_FLOOR" --bin mxcp
  cp "$target_dir/$triple/release/mxcp" "$out/mxcp-$arch-linux.tmp" && mv "$out/mxcp-$arch-linux.tmp" "$out/mxcp-$arch-linux"
  python3 scripts/check-portable.py --glibc-floor "$MXCP_GLIBC_FLOOR" "$out/mxcp-$arch-linux"
  echo "==> $out/mxcp-$arch-linux: $(stat -c %s "$out/mxcp-$arch-linux" | awk '{printf "%.1f MB", $1/1e6}')" >&2
done
echo "==> built in $((SECONDS - t0)) s" >&2
[[ " ${archs[*]} " == *" x86_64 "* && " ${archs[*]} " == *" aarch64 "* ]] || exit 0

# --- the aarch64 smoke test, under qemu ---------------------------------------------------------
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r examples/pydeps "$work/project" && cp -r tests/fixtures/portable-proof/. "$work/project/"
mkdir -p "$work/run/cache" "$work/run/data"
echo "==> mxcp build --target aarch64-linux (pydeps + an SQL tool, markupsafe's aarch64 wheel)" >&2
(cd "$work/project" && "$out/mxcp-x86_64-linux" build --target aarch64-linux -o "$work/run/server" \
  --no-index --find-links "$MXCP_TEST_WHEELS")
file "$work/run/server" >&2 || true
echo "==> serving it inside an arm64 Debian 11 root (qemu-aarch64-static, binfmt_misc)" >&2
MXCP_ROOT_ARCH=arm64 scripts/bullseye-root.sh >/dev/null
t=$SECONDS
report="$("$MXCP_TEST_PYTHON" tests/clients/mcp_call.py \
  --stdio "env MXCP_ROOT_ARCH=arm64 $PWD/scripts/bullseye-root.sh run --bind-rw $work/run:/proof -- MXCP_CACHE_DIR=/proof/cache MXCP_DATA_DIR=/proof/data /proof/server" \
  --call libc '{}' --call squares '{"n": 4}' --call stdlib_tour '{"text": "<b>"}')"
echo "$report"
python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
problems = []
if r["tools"] != ["libc", "squares", "stdlib_tour"]: problems.append(f"tools {r['tools']}")
if r["calls"][0]["structured"] != {"libc": "glibc", "version": "2.31"}: problems.append(f"libc {r['calls'][0]}")
if r["calls"][1]["texts"] != ["30"]: problems.append(f"squares {r['calls'][1]}")
tour = r["calls"][2]["structured"]
if (tour["escaped"], tour["c_extension"], tour["sqlite"]) != ("&lt;b&gt;", True, 42): problems.append(f"tour {tour}")
sys.exit("aarch64 smoke test FAILED: " + "; ".join(problems) if problems else 0)
PY
echo "==> aarch64 smoke test passed in $((SECONDS - t)) s under qemu: tools/list, an SQL tool, a Python tool with a C-extension wheel" >&2
