#!/usr/bin/env bash
# Builds a portable, fully static CPython 3.11 for mxcp to embed (issue 15, step 2):
#   - sources are Debian bookworm's source packages (apt-get source through a private apt
#     configuration; apt checks them against the signed indexes, dpkg-source applies Debian's
#     patches), because python.org and GitHub are not reachable here;
#   - every C file is compiled by zig for x86_64-linux-gnu.2.28, so nothing needs a glibc
#     symbol newer than 2.28;
#   - zlib, bzip2, xz, libffi, sqlite3, libuuid and OpenSSL 3.0 become static libraries, and
#     the standard library's extension modules are built into libpython3.11.a, so nothing in
#     lib-dynload needs vendoring or patchelf.
# Output: $MXCP_TOOLS_DIR/cpython-<recipe hash>/ (lib/libpython3.11.a + the dependency .a
# files, include/, lib/python3.11/ the pure-Python stdlib, bin/python3.11). It is built once
# per machine: a second run with the same recipe prints the path and does nothing.
# Usage: scripts/build-cpython.sh [--print-prefix] [ARCH]
#   prints the prefix on stdout (progress on stderr); --print-prefix only prints where this
#   recipe's prefix is (complete when it holds .complete), building nothing.
#   ARCH: x86_64 or aarch64, default the build machine's. Another architecture is a cross
#   build: the build machine's own prefix (built first) is its --with-build-python, and the
#   final check runs the interpreter under qemu-ARCH-static.
set -euo pipefail

TOOLS="${MXCP_TOOLS_DIR:-$HOME/.cache/mxcp-tools}"
ZIG_VERSION=0.15.2
BUILD_ARCH="$(uname -m)"
PRINT_ONLY=""
[ "${1:-}" != --print-prefix ] || { PRINT_ONLY=1; shift; }
ARCH="${1:-$BUILD_ARCH}"
case "$ARCH" in x86_64|aarch64) ;; *) echo "error: unknown architecture '$ARCH' (x86_64 or aarch64)" >&2; exit 2 ;; esac
TARGET="$ARCH-linux-gnu.2.28"
# configure's cross-compilation options (empty for a native build)
HOST_ARGS=()
if [ "$ARCH" != "$BUILD_ARCH" ]; then
  HOST_ARGS=(--host="$ARCH-linux-gnu" --build="$BUILD_ARCH-linux-gnu")
  # sqlite's Makefile then runs its lemon parser generator built for the build machine
  export CROSS_BUILDING=yes
fi
JOBS="${MXCP_BUILD_JOBS:-2}"
# Debian source packages, pinned (bookworm and bookworm-security indexes as of 2026-12).
# The security pool lacked the .dsc of python3.11 deb12u9 and openssl 3.0.22, so these are
# the newest complete ones.
SOURCES=(
  "zlib=1:1.2.13.dfsg-1"
  "bzip2=1.0.8-5"
  "xz-utils=5.4.1-1+deb12u2"
  "libffi=3.4.4-1"
  "sqlite3=3.40.1-2+deb12u2"
  "util-linux=2.38.1-5+deb12u3"
  "openssl=3.0.20-1~deb12u2"
  "python3.11=3.11.2-6+deb12u8"
)

say() { echo "==> $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
# -O2 also keeps zig from enabling its debug-mode UBSan traps (CPython has benign UB);
# -fPIC because mxcp is a PIE executable; -g0 because zig cc emits DWARF by default (it was
# 36 of libpython3.11.a's 50 MB).
export CFLAGS="-O2 -fPIC -fno-sanitize=undefined -g0"
# The dependencies' symbols are hidden: they still link into libpython statically, but an
# executable linked with -rdynamic (so that C-extension wheels find the Py* API) then exports
# only CPython's API, not ~8000 OpenSSL/sqlite symbols a wheel's own copies could bind to.
DEPS_CFLAGS="$CFLAGS -fvisibility=hidden"
PY_CFLAGS="$CFLAGS"
export SOURCE_DATE_EPOCH=1764547200   # 2025-12-01: reproducible __DATE__/__TIME__

# --- sources -----------------------------------------------------------------------------------
APT="$TOOLS/apt-src"
APTOPTS=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
         -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "APT::Sandbox::User=root")
fetch_sources() {   # fetch_sources PKG...: downloads all pinned sources, extracts PKG...
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/src"
  # deb-src only in this private list: /etc/apt stays untouched
  cat >"$APT/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
  apt-get "${APTOPTS[@]}" update
  # apt checks each file against the hashes of the signed Sources index; files already in
  # $APT/src are re-checked, not downloaded again
  (cd "$APT/src" && apt-get "${APTOPTS[@]}" source --download-only "${SOURCES[@]}")
  local s pkg ver
  for s in "${SOURCES[@]}"; do
    pkg="${s%%=*}"; ver="${s#*=}"; ver="${ver#*:}"   # the .dsc name has no epoch
    [[ " $* " == *" $pkg "* ]] || continue
    # dpkg-source checks the .dsc's checksums again and applies Debian's patch series
    dpkg-source --no-copy -x "$APT/src/${pkg}_${ver}.dsc" "$WORK/src/$pkg"
  done
}
# --- dependencies, static --------------------------------------------------------------------
# Debian's patches touch configure.ac/Makefile.am, and make would then rerun automake, which
# is not installed: mark the shipped generated files as newer, in dependency order.
no_autoreconf() {
  local f
  for f in aclocal.m4 configure config.h.in; do [ -f "$f" ] && touch "$f"; done
  find . -name Makefile.in -exec touch {} +
}
build_zlib() {
  cd "$WORK/src/zlib"
  ./configure --static --prefix="$DEPS"
  make -j"$JOBS" libz.a
  make install DESTDIR="$ROOT"
}
build_bzip2() {
  # bzip2 has no configure and no .pc file: build the library and copy it
  cd "$WORK/src/bzip2"
  make -j"$JOBS" libbz2.a CC=cc AR=ar RANLIB=ranlib CFLAGS="$CFLAGS -D_FILE_OFFSET_BITS=64"
  cp libbz2.a "$D/lib/" && cp bzlib.h "$D/include/"
}
build_xz() {
  cd "$WORK/src/xz-utils"
  ./configure "${HOST_ARGS[@]}" --prefix="$DEPS" --disable-shared --enable-static --with-pic --disable-nls \
    --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo --disable-lzma-links \
    --disable-scripts --disable-doc
  make -j"$JOBS"
  make install DESTDIR="$ROOT"
}
build_libffi() {
  cd "$WORK/src/libffi"
  # libffi 3.4.4's tramp.c calls open_temp_exec_file() before declaring it (int, so the
  # implicit declaration is ABI-correct); clang >= 16 makes that an error
  CFLAGS="$CFLAGS -Wno-error=implicit-function-declaration" ./configure "${HOST_ARGS[@]}" --prefix="$DEPS" --disable-shared --enable-static --with-pic --disable-docs \
    --disable-multi-os-directory
  make -j"$JOBS"
  make install DESTDIR="$ROOT"
}
build_sqlite() {
  # Debian ships sqlite's full source tree: tclsh (host) generates the amalgamation, with
  # helper programs (lemon, mkkeywordhash) compiled for the build machine by BUILD_CC
  cd "$WORK/src/sqlite3"
  command -v tclsh >/dev/null || { echo "sqlite's source tree needs tclsh (apt-get install tcl)"; return 1; }
  CFLAGS="$CFLAGS -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE \
    -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_SECURE_DELETE" \
    BUILD_CC="$ZIG cc" ./configure "${HOST_ARGS[@]}" --prefix="$DEPS" --disable-shared --enable-static --disable-tcl \
      --disable-readline --disable-editline --enable-threadsafe
  make -j"$JOBS" libsqlite3.la
  cp .libs/libsqlite3.a "$D/lib/" && cp sqlite3.h src/sqlite3ext.h "$D/include/" && cp sqlite3.pc "$D/lib/pkgconfig/"
}
build_uuid() {
  # only libuuid out of util-linux
  cd "$WORK/src/util-linux"
  no_autoreconf
  ./configure "${HOST_ARGS[@]}" --prefix="$DEPS" --disable-shared --enable-static --with-pic \
    --disable-all-programs --enable-libuuid --disable-nls --disable-bash-completion \
    --without-python --without-systemd --without-udev --without-ncursesw --without-tinfo \
    --disable-asciidoc --disable-poman
  make -j"$JOBS" libuuid.la
  cp .libs/libuuid.a "$D/lib/" && mkdir -p "$D/include/uuid" && cp libuuid/src/uuid.h "$D/include/uuid/"
  # configure leaves uuid.pc out with --disable-all-programs; CPython finds libuuid through it
  printf 'Name: uuid\nDescription: libuuid\nVersion: 2.38.1\nLibs: -L%s/lib -luuid\nCflags: -I%s/include -I%s/include/uuid\n' \
    "$DEPS" "$DEPS" "$DEPS" >"$D/lib/pkgconfig/uuid.pc"
}
build_openssl() {
  cd "$WORK/src/openssl"
  # no-module: the providers (also legacy) live inside libcrypto.a, nothing is dlopen'ed.
  # --openssldir=/etc/ssl: the target system's CA store (Debian/Ubuntu, and RHEL's symlinks).
  ./Configure "linux-$ARCH" no-shared no-module no-tests --prefix="$DEPS" --libdir=lib \
    --openssldir=/etc/ssl $CFLAGS
  make -j"$JOBS" build_libs
  cp libssl.a libcrypto.a "$D/lib/" && cp -r include/openssl "$D/include/"
}
# --- CPython -----------------------------------------------------------------------------------
# MODULE_BUILDTYPE=static makes the generated Modules/Setup.stdlib list every module as static
# (what the WASM ports use); see below for how it is used. _ctypes is not in it in 3.11 (setup.py
# builds it), so Setup.local adds it.
# Left out, on purpose: _tkinter, _curses, _curses_panel, readline, _dbm, _gdbm, nis (no such
# libraries here and no use for them in a server), _crypt (needs libcrypt.so.1, which is not in
# the allowed set, and the module is deprecated), and the xxlimited examples (setup.py would
# build them as .so files despite --disable-test-modules).
# OPT: CPython's default has -g (a far bigger archive; -g0 for zig's default too) and zig turns __DATE__ (getbuildinfo.c)
# into an error; SOURCE_DATE_EPOCH below pins that date.
build_python() {
  cd "$WORK/src/python3.11"
  # (no "=" in a module line: makesetup would take the whole line for a variable definition)
  cat >Modules/Setup.local <<EOF
*static*
_ctypes _ctypes/_ctypes.c _ctypes/callbacks.c _ctypes/callproc.c _ctypes/stgdict.c _ctypes/cfield.c -DHAVE_FFI_PREP_CIF_VAR -DHAVE_FFI_PREP_CLOSURE_LOC -DHAVE_FFI_CLOSURE_ALLOC -I$DEPS/include -L$DEPS/lib -lffi -ldl
EOF
  # a cross build runs the build machine's interpreter of the same version for the build steps;
  # /dev/ptmx and /dev/ptc cannot be probed for the target
  local cross=()
  [ "$ARCH" = "$BUILD_ARCH" ] || cross=("${HOST_ARGS[@]}" --with-build-python="$BUILD_PYTHON" \
    ac_cv_file__dev_ptmx=yes ac_cv_file__dev_ptc=no ac_cv_buggy_getaddrinfo=no READELF="$(command -v readelf)")
  MODULE_BUILDTYPE=static \
  py_cv_module__tkinter=n/a py_cv_module_nis=n/a py_cv_module__gdbm=n/a py_cv_module__crypt=n/a \
  py_cv_module_xxlimited=n/a py_cv_module_xxlimited_35=n/a \
  ./configure "${cross[@]}" --prefix="$PREFIX" --disable-shared --with-openssl="$DEPS" --with-openssl-rpath=no \
    --with-ensurepip=no --disable-test-modules --without-readline --with-system-ffi \
    LIBFFI_CFLAGS="-I$DEPS/include" LIBFFI_LIBS="-L$DEPS/lib -lffi" \
    OPT="-DNDEBUG -fwrapv -O2 -g0 -Wall -Wno-error=date-time"
  # configure passes Setup.stdlib to makesetup only for WASM; on Linux setup.py would build
  # its modules, as shared ones. Appended to Setup.local (it starts with *static*, and its
  # lines for modules configure found missing or disabled are commented out) they are built in.
  cat Modules/Setup.stdlib >>Modules/Setup.local
  make -j"$JOBS"
  # cross builds name the generated sysconfig data after the build's _PYTHON_SYSCONFIGDATA_NAME
  # (with the platform), while Debian's install rule wants the multiarch-only name
  local bdir; bdir="$(cat pybuilddir.txt)"
  [ -f "$bdir/_sysconfigdata__$ARCH-linux-gnu.py" ] \
    || cp "$bdir/_sysconfigdata__linux_$ARCH-linux-gnu.py" "$bdir/_sysconfigdata__$ARCH-linux-gnu.py"
  make install DESTDIR="$ROOT"
  # python links the bundled expat and libmpdec as separate archives, which make install
  # leaves out: merged into libpython3.11.a (renamed, since libmpdec's context.o would replace
  # CPython's own), so that one archive is all an embedder needs
  local o lib="$P/lib/libpython3.11.a"
  mkdir -p "$WORK/merge"
  for o in expat:Modules/expat/libexpat.a mpdec:Modules/_decimal/libmpdec/libmpdec.a; do
    (mkdir -p "$WORK/merge/${o%%:*}" && cd "$WORK/merge/${o%%:*}" && ar x "$OLDPWD/${o#*:}" \
      && for f in *.o; do mv "$f" "${o%%:*}_$f"; done)
  done
  ar rs "$lib" "$WORK"/merge/*/*.o
  # make install puts a second copy of the archive into config-3.11-*/: a link is enough
  local cfg; cfg="$(echo "$P"/lib/python3.11/config-3.11-*)"
  rm -f "$cfg/libpython3.11.a" && ln -s ../../libpython3.11.a "$cfg/libpython3.11.a"
  # the prefix is self-contained: the dependency archives and headers go along
  cp "$DEPS"/lib/*.a "$P/lib/" && cp -r "$DEPS"/include/. "$P/include/"
}
# --- checks, then the atomic move ----------------------------------------------------------
verify() {
  local py=("$P/bin/python3.11")
  [ "$ARCH" = "$BUILD_ARCH" ] || py=("qemu-$ARCH-static" -L "$QEMU_SYSROOT" "$P/bin/python3.11")
  # built-in means: no extension module file on disk at all
  local dyn; dyn="$(find "$P/lib/python3.11/lib-dynload" -name '*.so' 2>/dev/null | sort)"
  [ -z "$dyn" ] || { echo "extension modules left shared in lib-dynload:"; echo "$dyn"; return 1; }
  PYTHONHOME="$P" "${py[@]}" - <<'EOF'
import sys
need = """_asyncio _bisect _blake2 _bz2 _codecs_cn _contextvars _csv _ctypes _datetime _decimal
_elementtree _hashlib _heapq _json _lsprof _lzma _md5 _multibytecodec _multiprocessing _opcode
_pickle _posixshmem _posixsubprocess _queue _random _sha1 _sha256 _sha3 _sha512 _socket _sqlite3
_ssl _statistics _struct _typing _uuid _zoneinfo array binascii cmath fcntl grp math mmap pyexpat
resource select syslog termios unicodedata zlib""".split()
missing = [m for m in need if m not in sys.builtin_module_names]
print(sys.version)
print(len(sys.builtin_module_names), "built-in modules")
sys.exit(f"not built in: {missing}" if missing else 0)
EOF
  ls -l "$P/lib/"*.a
}
# Two cached prefixes, each keyed by its recipe, each built in a temp dir and renamed into
# place: the static dependencies (cpython-deps-*), then CPython (cpython-*), so that changing
# the CPython recipe does not rebuild OpenSSL.
DEPS_RECIPE="$( { declare -f fetch_sources no_autoreconf build_zlib build_bzip2 build_xz build_libffi \
  build_sqlite build_uuid build_openssl; printf '%s\n' "${SOURCES[@]}" "$ZIG_VERSION" "$TARGET" "$DEPS_CFLAGS"; } \
  | sha256sum | cut -c1-16)"
DEPS="$TOOLS/cpython-deps-$DEPS_RECIPE"
# The recipe: this whole script (flags, steps) + pinned versions + zig + target.
RECIPE="$( { cat "$SELF"; printf '%s\n' "${SOURCES[@]}" "$ZIG_VERSION" "$TARGET"; } | sha256sum | cut -c1-16)"
PREFIX="$TOOLS/cpython-$RECIPE"
if [ -n "$PRINT_ONLY" ]; then echo "$PREFIX"; exit 0; fi
if [ -f "$PREFIX/.complete" ]; then
  say "static CPython already built (recipe $RECIPE)"
  echo "$PREFIX"
  exit 0
fi

# host tools: dpkg-source (dpkg-dev) unpacks and patches the sources, tclsh (tcl) generates
# sqlite's amalgamation; installed from Debian when missing
missing=()
command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
command -v tclsh >/dev/null || missing+=(tcl)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq "${missing[@]}" >&2 || { $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq "${missing[@]}" >&2; } \
    || die "cannot install ${missing[*]}"
fi

# a cross build needs the build machine's interpreter of this recipe first (its own lock)
BUILD_PYTHON=""
if [ "$ARCH" != "$BUILD_ARCH" ]; then
  command -v "qemu-$ARCH-static" >/dev/null || die "a cross build checks the result under qemu-$ARCH-static (apt-get install qemu-user-static)"
  BUILD_PYTHON="$("$SELF" "$BUILD_ARCH")/bin/python3.11" || die "the build machine's CPython failed"
  # the target's glibc for qemu, to run the result (the arm64 Debian 11 root)
  [ "$ARCH" = aarch64 ] || die "no $ARCH root to check the result in"
  QEMU_SYSROOT="$(MXCP_ROOT_ARCH=arm64 "$(dirname "$SELF")/bullseye-root.sh")" || die "no arm64 root for qemu"
fi

# Heavy but polite: the machine is shared, so only idle CPU and disk time are used.
renice -n 19 $$ >/dev/null 2>&1 || true
ionice -c3 -p $$ >/dev/null 2>&1 || true

mkdir -p "$TOOLS"
exec 9>"$TOOLS/cpython-build.lock"
flock 9 || die "cannot lock $TOOLS/cpython-build.lock"
if [ -f "$PREFIX/.complete" ]; then echo "$PREFIX"; exit 0; fi   # built while we waited
T0=$SECONDS
TIMINGS=()

# step NAME COMMAND...: runs COMMAND with its output in $LOGS/NAME.log, timed.
step() {
  local name="$1"; shift
  local t=$SECONDS
  say "$name (log: $LOGS/$name.log)"
  # in the background, because bash ignores set -e inside anything tested by if/||
  ( "$@" ) >"$LOGS/$name.log" 2>&1 &
  if ! wait $!; then
    echo "error: step '$name' failed; last lines of $LOGS/$name.log:" >&2
    tail -n 40 "$LOGS/$name.log" >&2
    echo "error: work dir kept for inspection: $WORK (deleted by the next run)" >&2
    exit 1
  fi
  TIMINGS+=("$(printf '%-10s %5ss' "$name" $((SECONDS - t)))")
  say "$name done in $((SECONDS - t))s"
}

# begin NAME FINAL: a fresh work dir for building the prefix FINAL ($P is FINAL under DESTDIR)
begin() {
  LOGS="$TOOLS/logs/$1"
  rm -rf "$LOGS" "$TOOLS/$1".tmp.*          # leftovers of a failed run
  mkdir -p "$LOGS"
  WORK="$(mktemp -d "$TOOLS/$1.tmp.XXXXXX")"
  ROOT="$WORK/root"
  P="$ROOT$2"
  mkdir -p "$P/lib/pkgconfig" "$P/include" "$WORK/src" "$WORK/bin"
  # Wrappers so autoconf, OpenSSL's Configure and CPython's Makefile see plain tool names.
  local t
  for t in cc:"cc -target $TARGET" c++:"c++ -target $TARGET" ar:ar ranlib:ranlib; do
    printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$ZIG" "${t#*:}" >"$WORK/bin/${t%%:*}"
    chmod +x "$WORK/bin/${t%%:*}"
  done
}
# finish FINAL: marks the staged prefix complete and renames it into place, atomically
finish() {
  touch "$P/.complete"
  mv -T "$P" "$1"
  rm -rf "$WORK"
}

# --- zig, from PyPI --------------------------------------------------------------------------
ZIGVENV="$TOOLS/zig-$ZIG_VERSION"
if ! { [ -x "$ZIGVENV/bin/python" ] && "$ZIGVENV/bin/python" -c 'import ziglang' 2>/dev/null; }; then
  say "installing ziglang==$ZIG_VERSION into $ZIGVENV"
  { [ -x "$ZIGVENV/bin/python" ] || python3 -m venv "$ZIGVENV"; } && "$ZIGVENV/bin/pip" install -q "ziglang==$ZIG_VERSION" >&2 \
    || die "cannot install ziglang==$ZIG_VERSION from PyPI"
fi
ZIG="$("$ZIGVENV/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
[ "$("$ZIG" version)" = "$ZIG_VERSION" ] || die "$ZIG is not zig $ZIG_VERSION"
export ZIG_GLOBAL_CACHE_DIR="$TOOLS/zig-cache" ZIG_LOCAL_CACHE_DIR="$TOOLS/zig-cache"
export CC=cc CXX=c++ AR=ar RANLIB=ranlib
export PKG_CONFIG_PATH=""
PATH0="$PATH"

if [ -f "$DEPS/.complete" ]; then
  say "static dependencies already built: $DEPS"
else
  begin "cpython-deps-$DEPS_RECIPE" "$DEPS"
  D="$P"
  export PATH="$WORK/bin:$PATH0" PKG_CONFIG_LIBDIR="$D/lib/pkgconfig" CFLAGS="$DEPS_CFLAGS"
  step sources fetch_sources zlib bzip2 xz-utils libffi sqlite3 util-linux openssl
  step zlib build_zlib
  step bzip2 build_bzip2
  step xz build_xz
  step libffi build_libffi
  step sqlite3 build_sqlite
  step libuuid build_uuid
  step openssl build_openssl
  finish "$DEPS"
fi

begin "cpython-$RECIPE" "$PREFIX"
# Only our own headers, libraries and .pc files: nothing of the host may leak in.
export PATH="$WORK/bin:$PATH0" CPPFLAGS="-I$DEPS/include" LDFLAGS="-L$DEPS/lib" PKG_CONFIG_LIBDIR="$DEPS/lib/pkgconfig" CFLAGS="$PY_CFLAGS"
step pysource fetch_sources python3.11
step python build_python
step verify verify
{
  echo "recipe $RECIPE (dependencies $DEPS_RECIPE)"
  echo "target $TARGET (zig $ZIG_VERSION)"
  printf 'source %s\n' "${SOURCES[@]}"
  printf 'time   %s\n' "${TIMINGS[@]}"
} >"$P/BUILD-INFO"
finish "$PREFIX"
say "timings:"; printf '    %s\n' "${TIMINGS[@]}" >&2
say "static CPython built in $((SECONDS - T0))s: $PREFIX"
echo "$PREFIX"
