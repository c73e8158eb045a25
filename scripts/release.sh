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
  scripts/prune-cpython.sh mark "$prefix"
  cfg="$MXCP_TOOLS_DIR/pyo3-portable-$(basename "$prefix").cfg"
  python3 scripts/pyo3_config.py "$cfg" "$prefix"
  # a cross build has a target dir of its own, so that it never waits for the dev build's lock
  target_dir="$CARGO_TARGET_DIR"
  [ "$arch" = "$(uname -m)" ] || target_dir="$CARGO_TARGET_DIR-$arch"
  echo "==> mxcp for $triple (glibc $MXCP_GLIBC_FLOOR), release profile, in $target_dir" >&2
  # the packing interpreter stays the build machine's (MXCP_BUILD_PYTHON); the standard library
  # packed is the target's (MXCP_CPYTHON_PREFIX)
  # (the standard library blob at zstd's highest level: 0.26 MB smaller than -19, 13 s longer)
  CARGO_TARGET_DIR="$target_dir" PYO3_CONFIG_FILE="$cfg" MXCP_CPYTHON_PREFIX="$prefix" MXCP_STDLIB_ZSTD_LEVEL=22 \
    cargo zigbuild --release --target "$triple.$MXCP_GLIBC_FLOOR" --bin mxcp
  cp "$target_dir/$triple/release/mxcp" "$out/mxcp-$arch-linux.tmp" && mv "$out/mxcp-$arch-linux.tmp" "$out/mxcp-$arch-linux"
  python3 scripts/check-portable.py --glibc-floor "$MXCP_GLIBC_FLOOR" "$out/mxcp-$arch-linux"
  echo "==> $out/mxcp-$arch-linux: $(stat -c %s "$out/mxcp-$arch-linux" | awk '{printf "%.1f MB", $1/1e6}')" >&2
done
echo "==> built in $((SECONDS - t0)) s" >&2
[[ " ${archs[*]} " == *" x86_64 "* && " ${archs[*]} " == *" aarch64 "* ]] || exit 0

# --- the aarch64 smoke test, under qemu ---------------------------------------------------------
# The Debian 11 proof of the test suite (tests/build.rs), for aarch64: this machine's mxcp builds
# pydeps + tests/fixtures/portable-proof with `--target aarch64-linux` onto the release runtime
# (markupsafe's aarch64 wheel), and the MCP client checks tools/list, the SQL tool, the C library
# (glibc 2.31) and the C-extension tool, with the server running in the arm64 root under qemu.
echo "==> aarch64 smoke test: a server built for aarch64-linux, served in an arm64 Debian 11 root (qemu)" >&2
MXCP_ROOT_ARCH=arm64 scripts/bullseye-root.sh >/dev/null
t=$SECONDS
MXCP_TEST_BULLSEYE=1 MXCP_TEST_PROOF_RUNTIME_AARCH64="$out/mxcp-aarch64-linux" \
  cargo-zigbuild test --target "$MXCP_CARGO_TARGET" --test build a_built_server_answers_in_a_debian_11_root -- --exact --nocapture
echo "==> aarch64 smoke test passed in $((SECONDS - t)) s" >&2
