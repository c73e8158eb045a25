//! Link settings of the mxcp executable.
fn main() {
    // The embedded CPython is linked statically; C-extension wheels resolve `Py*` symbols
    // from this executable, so they are exported. zig's linker takes neither
    // --export-dynamic-symbol nor --dynamic-list, hence -rdynamic; the C and C++ libraries are
    // compiled with hidden visibility (scripts/env.sh, build-cpython.sh), so what it exports
    // is CPython's API and Rust's own symbols.
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    // Not position-independent: a PIE of this size carries ~2.6 MB of load-time relocations
    // (DuckDB's and CPython's tables of pointers) that every start pays for; the libraries,
    // heap and stack stay randomised.
    println!("cargo:rustc-link-arg-bins=-no-pie");
    // without it cargo reruns this script, and relinks mxcp (fat LTO in release), whenever any
    // file of the package changes (README, docs)
    println!("cargo:rerun-if-changed=build.rs");
}
