#!/usr/bin/env python3
"""Fails when an ELF file would not run on an old Linux (issue 15, step 3).

    scripts/check-portable.py [--glibc-floor 2.28] [--allow LIB]... PATH...

PATH is an executable, a shared object or a directory (searched for ELF files). A file fails
when it needs
  - a GLIBC_ symbol version newer than the floor (the symbols are listed), or
  - a library outside the allowed set: libc, libm, libdl, libpthread, libutil, librt and the
    dynamic loader. A libstdc++ or libgcc_s NEEDED is a failure too; GLIBCXX_, CXXABI_ and
    GCC_ versions are reported so the C++ runtime that leaked in is visible.
This is what python-build-standalone's validation.rs does for its distributions. Only binutils'
readelf and objdump are used (stdlib only, no pyelftools).
"""
import argparse
import os
import re
import subprocess
import sys

ALLOWED = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "libutil.so.1",
    # part of glibc like the others: before 2.34 shm_open/shm_unlink (_posixshmem) live there
    "librt.so.1",
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
}
# objdump -T: "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.35) hypot"
# (older binutils print the version without parentheses)
UND = re.compile(r"\*UND\*\s+\S+\s+\(?([A-Z]+_[0-9][0-9.]*)\)?\s+(\S+)\s*$")
VERNEED = re.compile(r"Name:\s+([A-Z]+_[0-9][0-9.]*)\s")


def run(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed: {p.stderr.strip()}")
    return p.stdout


def vkey(v):
    return tuple(int(x) for x in v.split("_", 1)[1].split(".") if x)


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def elf_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for d, _, names in os.walk(p):
                for n in sorted(names):
                    f = os.path.join(d, n)
                    if not os.path.islink(f) and is_elf(f):
                        yield f
        elif is_elf(p):
            yield p
        else:
            sys.exit(f"error: {p} is not an ELF file or a directory")


def check(path, floor, allowed):
    """Returns (report lines, problems) for one file."""
    dyn = run("readelf", "-d", "-W", path)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", run("readelf", "-l", "-W", path))
    if "There is no dynamic section" in dyn or not dyn.strip():
        return [f"  static (no dynamic section)"], []
    # every version the file requires, by family, from .gnu.version_r
    versions = {}
    for v in VERNEED.findall(run("readelf", "-V", "-W", path)):
        versions.setdefault(v.split("_", 1)[0], set()).add(v)
    # which undefined symbols ask for which version, to name the offenders
    by_version = {}
    for line in run("objdump", "-T", "-w", path).splitlines():
        m = UND.search(line)
        if m:
            by_version.setdefault(m.group(1), []).append(m.group(2))
    lines, problems = [], []
    lines.append(f"  interpreter: {interp.group(1) if interp else '-'}")
    lines.append(f"  NEEDED: {' '.join(needed) or '-'}")
    for fam in sorted(versions):
        top = max(versions[fam], key=vkey)
        lines.append(f"  max {fam}: {top}")
    for lib in needed:
        if lib not in allowed:
            problems.append(f"needs {lib} (not in the allowed set)")
    too_new = sorted((v for v in versions.get("GLIBC", ()) if vkey(v) > floor), key=vkey)
    for v in too_new:
        syms = sorted(set(by_version.get(v, [])))
        problems.append(f"needs {v}: {' '.join(syms) or '(version reference only)'}")
    for fam in ("GLIBCXX", "CXXABI", "GCC"):
        if fam in versions and not any(l.startswith(("libstdc++", "libgcc_s")) for l in needed):
            problems.append(f"has {fam} version references without a C++ runtime NEEDED")
    return lines, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", metavar="PATH")
    ap.add_argument("--glibc-floor", default="2.28", help="newest GLIBC_ version allowed (default 2.28)")
    ap.add_argument("--allow", action="append", default=[], metavar="LIB",
                    help="another library allowed as NEEDED (repeatable)")
    a = ap.parse_args()
    floor = vkey("GLIBC_" + a.glibc_floor)
    allowed = ALLOWED | set(a.allow)
    failed = 0
    files = list(elf_files(a.paths))
    if not files:
        sys.exit("error: no ELF file found")
    for f in files:
        lines, problems = check(f, floor, allowed)
        print(f"{'FAIL' if problems else 'ok  '} {f}")
        for l in lines:
            print(l)
        for p in problems:
            print(f"  ! {p}")
        failed += bool(problems)
    print(f"{len(files) - failed} passed, {failed} failed (glibc floor {a.glibc_floor})")
    sys.exit(1 if failed else 0)


main()
