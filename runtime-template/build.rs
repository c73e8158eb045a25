//! Packs the portable CPython's standard library (plus mxcp's own Python package) into a zstd
//! blob that the runtime embeds and extracts once per machine.

use std::path::PathBuf;
use std::process::Command;

use sha2::Digest;

fn main() {
    // the benchmarks and the in-process server tests start the embedded Python too: its
    // extension modules resolve Py* symbols from the executable (the mxcp binary does this in
    // its own build.rs)
    for kind in ["benches", "tests"] {
        println!("cargo:rustc-link-arg-{kind}=-rdynamic");
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let packer = manifest.join("build/pack_stdlib.py");
    let py_dir = manifest.join("python");
    println!("cargo:rerun-if-changed={}", packer.display());
    // a directory: cargo watches every file under it
    println!("cargo:rerun-if-changed={}", py_dir.display());
    println!("cargo:rerun-if-env-changed=MXCP_BUILD_PYTHON");
    println!("cargo:rerun-if-env-changed=MXCP_CPYTHON_PREFIX");
    println!("cargo:rerun-if-env-changed=MXCP_STDLIB_ZSTD_LEVEL");

    let python = std::env::var("MXCP_BUILD_PYTHON").unwrap_or_else(|_| "python3.11".into());
    let tar = out.join("stdlib.tar");
    let mut cmd = Command::new(&python);
    cmd.arg(&packer).arg(&tar).arg(&py_dir);
    // the standard library of the CPython pyo3 links (a cross build's is not the packing
    // interpreter's own), and where that CPython comes from, for `mxcp --version`
    let mut build_info = String::new();
    if let Ok(prefix) = std::env::var("MXCP_CPYTHON_PREFIX") {
        let prefix = PathBuf::from(prefix);
        cmd.arg(prefix.join("lib/python3.11"));
        let info = std::fs::read_to_string(prefix.join("BUILD-INFO")).unwrap_or_default();
        let field = |key: &str| info.lines().find_map(|l| l.strip_prefix(key)).unwrap_or("?").trim().to_string();
        build_info = format!("Debian source {}, static, built for {}", field("source python3.11="), field("target "));
    }
    println!("cargo:rustc-env=MXCP_CPYTHON_BUILD={build_info}");
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run {python} to pack the standard library ({e}); source scripts/env.sh or set MXCP_BUILD_PYTHON")
    });
    assert!(status.success(), "packing the Python standard library failed");

    let raw = std::fs::read(&tar).unwrap();
    let level: i32 = std::env::var("MXCP_STDLIB_ZSTD_LEVEL").ok().and_then(|l| l.parse().ok()).unwrap_or(19);
    let blob = zstd::bulk::compress(&raw, level).unwrap();
    std::fs::remove_file(&tar).ok();
    let hash = sha2::Sha256::digest(&blob);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(out.join("stdlib.tar.zst"), &blob).unwrap();
    println!("cargo:rustc-env=MXCP_STDLIB_SHA256={hex}");
    println!("cargo:rustc-env=MXCP_STDLIB_RAW_SIZE={}", raw.len());
}
