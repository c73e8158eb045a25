//! The mxcp runtime: what every `mxcp` executable runs.
//!
//! Flow, one module per stage; a stage imports only earlier ones:
//! [`load`] reads a project (site and user configuration, endpoint files decoded from the
//! positioned YAML tree) → [`check`] reports what is wrong with it, as [`diagnostics`] →
//! [`exec`] runs endpoints (arguments, policies, SQL or Python or a prompt, result shaping)
//! and the `mxcp test` runner → [`serve`] offers them over MCP (stdio, streamable HTTP) →
//! [`bundle`] is what a built executable carries and where it is extracted. Beside the flow,
//! [`drift`] snapshots what `check` and the test runner report, with the database's tables,
//! and compares snapshots.
//! The adapters: [`db`] is the only module that talks to DuckDB, [`python`] the only one that
//! talks to pyo3. Neither imports `check`, `exec` or `serve`: `db` binds plain data and knows
//! nothing of the endpoint model; `python` reads the loaded model's parameter types, and
//! calls back into the executor and the server through its ports (`python::Services`,
//! `python::CallEvents`). [`iso8601`] is a leaf both the model and `db` use.
//! Concerns beside the flow, each behind a small interface the server calls: [`auth`]
//! (who is calling over HTTP: access tokens checked as an OAuth resource server), [`limits`]
//! (rates, concurrency caps with a queue, result size, per-address requests), [`audit`] (the
//! audit log the server writes and `mxcp log` reads, through `db`).

#![allow(clippy::collapsible_if)] // nested `if let`s read better than long let-chains here

pub mod audit;
pub mod auth;
pub mod bundle;
pub mod check;
pub mod db;
pub mod diagnostics;
pub mod drift;
pub mod exec;
mod fetch;
pub mod iso8601;
pub mod limits;
pub mod load;
pub mod python;
pub mod serve;
pub mod telemetry;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This executable's path: `/proc/self/exe`, else (no /proc, as in a bare chroot) `argv[0]`
/// when it names a file.
/// `mxcp --version`: this version and what is linked in (the embedded CPython with its build,
/// DuckDB), so a report names the exact interpreter and database engine.
pub fn long_version() -> String {
    format!("{VERSION} (CPython {}; DuckDB {})", python::embedded_version(), db::library_version())
}

pub fn this_executable() -> std::io::Result<std::path::PathBuf> {
    std::env::current_exe().or_else(|e| {
        let argv0 = std::path::PathBuf::from(std::env::args_os().next().ok_or(e)?);
        if argv0.components().count() > 1 && argv0.is_file() {
            std::path::absolute(argv0)
        } else {
            Err(std::io::Error::other("cannot find this executable: no /proc/self/exe and argv[0] is not a path"))
        }
    })
}
