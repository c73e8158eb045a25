//! Link settings of the mxcp executable.
fn main() {
    // The embedded CPython is linked statically; extension modules (the standard library's
    // lib-dynload and wheels) resolve `Py*` symbols from this executable, so they are exported.
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=Py*");
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=_Py*");
    // Not position-independent: a PIE of this size carries ~2.6 MB of load-time relocations
    // (DuckDB's and CPython's tables of pointers) that every start pays for; the libraries,
    // heap and stack stay randomised.
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
