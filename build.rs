//! The embedded CPython is linked statically; extension modules (the standard library's
//! lib-dynload and wheels) resolve `Py*` symbols from this executable, so they are exported.
fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=Py*");
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=_Py*");
}
