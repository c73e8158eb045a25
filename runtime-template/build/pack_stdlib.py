"""Packs the portable CPython 3.11's pure-Python standard library for embedding in mxcp.

Usage: pack_stdlib.py OUT.tar MXCP_PY_DIR [STDLIB_DIR]

STDLIB_DIR defaults to the running interpreter's; a cross build names the target's (its
_sysconfigdata is the target's). Writes a deterministic tar (sorted, mtime 0, root-owned)
with a real-install layout:
  lib/python3.11/...                 sources + unchecked-hash .pyc in __pycache__
                                     (no lib-dynload: the extension modules are built in)
  lib/mxcp/...                       mxcp's own Python package (mxcp.runtime, mxcp.plugins)
Unchecked-hash pycs never go stale whatever the extracted mtimes, so nothing is recompiled.
"""
import importlib._bootstrap_external as bext
import importlib.util
import io
import os
import sys
import sysconfig
import tarfile
import zipfile

# distutils is deprecated (gone in 3.12; setuptools provides it when a package needs it);
# pydoc_data only serves help() topics
EXCLUDED_DIRS = {"test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "lib2to3", "site-packages",
                 "__pycache__", "_bundled_setuptools", "distutils", "pydoc_data"}
# pure-Python twins of C modules that are always present
EXCLUDED_FILES = {"_pydecimal.py"}


def stored_wheel(data):
    """The same wheel with its members stored, not deflated: the blob's zstd then compresses
    pip's sources (0.7 MB less than the deflated wheel). Member names, order, dates and
    contents are unchanged, so the wheel's RECORD still holds."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            member = src.read(info)  # read before the info says "stored"
            info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, member)
    return out.getvalue()


def pyc_bytes(source, name):
    code = compile(source, name, "exec", dont_inherit=True, optimize=0)
    return bext._code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)


class Tar:
    def __init__(self):
        self.entries = {}

    def add(self, name, data, mode=0o644):
        self.entries[name] = (data, mode)

    def write(self, out):
        with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
            dirs = set()
            for name in self.entries:
                parts = name.split("/")
                for i in range(1, len(parts)):
                    dirs.add("/".join(parts[:i]))
            for name in sorted(dirs | set(self.entries)):
                info = tarfile.TarInfo(name)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if name in self.entries:
                    data, mode = self.entries[name]
                    info.size = len(data)
                    info.mode = mode
                    t.addfile(info, io.BytesIO(data))
                else:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    t.addfile(info)


def add_python_tree(tar, root, prefix, exclude_dirs=EXCLUDED_DIRS):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in exclude_dirs and not d.startswith("config-3"))
        rel_dir = os.path.relpath(dirpath, root)
        for f in sorted(filenames):
            path = os.path.join(dirpath, f)
            rel = os.path.normpath(os.path.join(prefix, rel_dir, f))
            if f in EXCLUDED_FILES and rel_dir == ".":
                continue
            if f.endswith(".py"):
                src = open(path, "rb").read()
                tar.add(rel, src)
                try:
                    pyc = pyc_bytes(src, rel)
                except SyntaxError:
                    continue  # source that is not valid Python 3.11 (test data): shipped without a pyc
                stem = f[:-3]
                tar.add(os.path.normpath(os.path.join(prefix, rel_dir, "__pycache__", f"{stem}.cpython-311.pyc")), pyc)
            elif f.endswith((".pyc", ".pyo", ".so", ".a", ".o")):
                continue
            elif rel_dir.endswith("ensurepip/_bundled"):
                # only pip's wheel: mxcp installs binary wheels, never builds sdists
                if f.startswith("pip-") and f.endswith(".whl"):
                    tar.add(rel, stored_wheel(open(path, "rb").read()))
            else:
                tar.add(rel, open(path, "rb").read())


def main(out, mxcp_py_dir, stdlib=None):
    stdlib = stdlib or sysconfig.get_path("stdlib")
    dynload = os.path.join(stdlib, "lib-dynload")
    shared = sorted(f for f in os.listdir(dynload) if f.endswith(".so")) if os.path.isdir(dynload) else []
    if shared:
        # a shared extension module would need its libraries vendored and a glibc that is not
        # the portable build's (issue 15): only the static CPython of build-cpython.sh is packed
        sys.exit(f"error: {dynload} holds extension modules ({', '.join(shared[:5])}...): mxcp embeds the "
                 "portable CPython of scripts/build-cpython.sh, whose modules are built in (source scripts/env.sh)")
    tar = Tar()
    add_python_tree(tar, stdlib, "lib/python3.11")
    add_python_tree(tar, mxcp_py_dir, "lib/mxcp", exclude_dirs={"__pycache__"})
    # where the embedded OpenSSL looks for CA certificates by default (its build's OPENSSLDIR),
    # so that start-up can tell without loading OpenSSL whether it must point elsewhere. The
    # packing interpreter is the same recipe's (host) build, with the same OPENSSLDIR.
    import ssl

    paths = ssl.get_default_verify_paths()
    info = (f'"""Facts about the build machine, written by pack_stdlib.py."""\n'
            f"OPENSSL_CAFILE = {paths.openssl_cafile!r}\nOPENSSL_CAPATH = {paths.openssl_capath!r}\n")
    tar.add("lib/mxcp/mxcp/_build.py", info.encode())
    tar.add("lib/mxcp/mxcp/__pycache__/_build.cpython-311.pyc", pyc_bytes(info.encode(), "lib/mxcp/mxcp/_build.py"))
    tar.write(out)
    print(f"packed {len(tar.entries)} files from {stdlib}", file=sys.stderr)


main(*sys.argv[1:])
