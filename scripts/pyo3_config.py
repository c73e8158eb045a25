"""Writes the PYO3_CONFIG_FILE that links the portable CPython 3.11 statically into mxcp.

Usage: pyo3_config.py OUT PREFIX

PREFIX is a prefix of scripts/build-cpython.sh: its extension modules are built into
libpython3.11.a and its dependencies are static archives beside it, so only glibc's libraries
stay dynamic. It may be another architecture's build (cross builds): nothing of it is run.
Checked here, with a clear message: the archives are there, built as position-independent code
(the test and benchmark executables are PIEs).
"""
import os
import subprocess
import sys


def fail(msg):
    sys.exit(f"error: {msg}")


# the portable prefix's static dependencies, in link order (libssl before libcrypto), and the
# glibc libraries CPython needs (librt: shm_open lives there before glibc 2.34)
PORTABLE_STATIC = ["ssl", "crypto", "ffi", "sqlite3", "lzma", "bz2", "z", "uuid"]
PORTABLE_DYLIB = ["m", "dl", "pthread", "util", "rt"]


def portable_config(prefix):
    lib = os.path.join(prefix, "lib")
    missing = [f"lib{n}.a" for n in ["python3.11"] + PORTABLE_STATIC if not os.path.exists(os.path.join(lib, f"lib{n}.a"))]
    if missing:
        fail(f"{prefix} is not a portable CPython prefix of scripts/build-cpython.sh: no {', '.join(missing)} in {lib}")
    info = open(os.path.join(prefix, "BUILD-INFO")).read()
    target = next((l.split()[1] for l in info.splitlines() if l.startswith("target ")), "")
    lines = ["implementation=CPython", "version=3.11", "shared=false", "abi3=false",
             "lib_name=python3.11", f"lib_dir={lib}", f"executable={os.path.join(prefix, 'bin', 'python3.11')}",
             "pointer_width=64", "build_flags=", "suppress_build_script_link_lines=true",
             f"extra_build_script_line=cargo:rustc-link-search=native={lib}",
             "extra_build_script_line=cargo:rustc-link-lib=static:+whole-archive,-bundle=python3.11"]
    lines += [f"extra_build_script_line=cargo:rustc-link-lib=static:-bundle={n}" for n in PORTABLE_STATIC]
    lines += [f"extra_build_script_line=cargo:rustc-link-lib=dylib={n}" for n in PORTABLE_DYLIB]
    return "\n".join(lines) + "\n", os.path.join(lib, "libpython3.11.a"), target


def main(out, prefix):
    text, archive, target = portable_config(prefix)
    write(out, text, archive, f"the portable CPython for {target}")


def write(out, text, archive, what):
    if os.path.exists(out) and open(out).read() == text:
        return
    # PIC check once per new config: absolute 32-bit relocations cannot be linked into a PIE.
    relocs = subprocess.run(["readelf", "-r", "-W", archive], capture_output=True, text=True)
    section, absolute = "", False
    for line in relocs.stdout.splitlines() if relocs.returncode == 0 else []:
        if line.startswith("Relocation section"):
            section = line.split("'")[1]
        elif not section.startswith(".rela.debug") and any(
                f" {r} " in line for r in ("R_X86_64_32", "R_X86_64_32S", "R_AARCH64_ABS32")):
            absolute = True
            break
    if absolute:
        fail(f"{archive} is not position-independent code (scripts/build-cpython.sh compiles with -fPIC)")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "w") as f:
        f.write(text)
    os.replace(out + ".tmp", out)
    print(f"==> pyo3 links {archive} statically, {what} (config {out})", file=sys.stderr)


if len(sys.argv) != 3:
    fail("usage: pyo3_config.py OUT PREFIX (a prefix of scripts/build-cpython.sh)")
main(sys.argv[1], sys.argv[2])
