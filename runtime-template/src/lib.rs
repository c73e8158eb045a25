//! The mxcp runtime: what every `mxcp` executable runs.
//!
//! Flow: [`project`] loads a project (site config, user config, endpoint files decoded by
//! [`endpoint`] from the positioned [`yaml`] tree) → [`checks`] and [`sql_checks`] report what
//! is wrong, as [`diagnostics`] → [`exec`] runs endpoints (SQL through [`db`], the type system
//! in [`types`], [`policy`]) → [`testing`] and [`lint`] build on those.

#![allow(clippy::collapsible_if)] // nested `if let`s read better than long let-chains here

pub mod bundle;
pub mod check;
pub mod db;
pub mod diagnostics;
pub mod exec;
pub mod iso8601;
pub mod load;
pub mod python;
pub mod serve;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This executable's path: `/proc/self/exe`, else (no /proc, as in a bare chroot) `argv[0]`
/// when it names a file.
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
