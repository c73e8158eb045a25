//! Python mode: this executable behaves as `python3`, with the project's dependencies (if run
//! inside a project) importable.

use std::ffi::OsString;
use std::process::ExitCode;

/// `python3 ARGS...`: the argv of Python mode for `mxcp python ARGS...`.
pub fn argv(args: Vec<OsString>) -> Vec<OsString> {
    std::iter::once(OsString::from("python3")).chain(args).collect()
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let extra = std::env::current_dir()
        .ok()
        .and_then(|d| mxcp_runtime::load::project::find_root(&d))
        .map(|root| mxcp_runtime::exec::python_start::dependency_dirs(&root))
        .unwrap_or_default();
    main_with(args, extra)
}

/// Python mode with `extra` directories importable (a built server's dependencies).
pub fn main_with(args: Vec<OsString>, extra: Vec<std::path::PathBuf>) -> ExitCode {
    let code = mxcp_runtime::python::python_main(&args, extra);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
