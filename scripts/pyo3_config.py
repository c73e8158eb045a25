"""Writes the PYO3_CONFIG_FILE that links this CPython 3.11 statically into mxcp.

Requirements checked here, with a clear message: CPython 3.11, a libpython3.11.a (or the
Debian -pic variant), built as position-independent code (mxcp is a PIE executable).
"""
import os
import subprocess
import sys
import sysconfig


def fail(msg):
    sys.exit(f"error: {msg}")


def main(out):
    if sys.version_info[:2] != (3, 11):
        fail(f"mxcp embeds CPython 3.11, but {sys.executable} is {sys.version.split()[0]}")
    libpl = sysconfig.get_config_var("LIBPL")
    candidates = [("python3.11-pic", "libpython3.11-pic.a"), ("python3.11", "libpython3.11.a")]
    found = [(name, os.path.join(libpl, f)) for name, f in candidates if os.path.exists(os.path.join(libpl, f))]
    if not found:
        fail(f"no static libpython3.11.a in {libpl}: build CPython with --enable-shared (pyenv: "
             "PYTHON_CONFIGURE_OPTS=--enable-shared) or install Debian's libpython3.11-dev")
    lib_name, archive = found[0]
    text = "\n".join([
        "implementation=CPython", "version=3.11", "shared=false", "abi3=false",
        f"lib_name={lib_name}", f"lib_dir={libpl}", f"executable={sys.executable}",
        "pointer_width=64", "build_flags=", "suppress_build_script_link_lines=true",
        f"extra_build_script_line=cargo:rustc-link-search=native={libpl}",
        f"extra_build_script_line=cargo:rustc-link-lib=static:+whole-archive,-bundle={lib_name}",
        "extra_build_script_line=cargo:rustc-link-lib=dylib=m",
        "extra_build_script_line=cargo:rustc-link-lib=dylib=dl",
    ] + ([] if lib_name == "python3.11" else [
        "extra_build_script_line=cargo:rustc-link-lib=dylib=expat",
        "extra_build_script_line=cargo:rustc-link-lib=dylib=z",
    ])) + "\n"
    if os.path.exists(out) and open(out).read() == text:
        return
    # PIC check once per new config: absolute 32-bit relocations cannot be linked into a PIE.
    relocs = subprocess.run(["readelf", "-r", "-W", archive], capture_output=True, text=True)
    section, absolute = "", False
    for line in relocs.stdout.splitlines() if relocs.returncode == 0 else []:
        if line.startswith("Relocation section"):
            section = line.split("'")[1]
        elif not section.startswith(".rela.debug") and (" R_X86_64_32 " in line or " R_X86_64_32S " in line):
            absolute = True
            break
    if absolute:
        fail(f"{archive} is not position-independent code; mxcp needs a PIC libpython "
             "(CPython configured with --enable-shared, or Debian's libpython3.11-pic.a)")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "w") as f:
        f.write(text)
    os.replace(out + ".tmp", out)
    print(f"==> pyo3 links {archive} statically (config {out})", file=sys.stderr)


main(sys.argv[1])
