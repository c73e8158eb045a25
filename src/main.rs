//! The `mxcp` command.

mod bundled;
mod cli;
mod commands;
mod log;
mod output;

use std::process::ExitCode;

// mimalloc replaces malloc process-wide ("override"): DuckDB allocates and frees heavily while
// setting up every query, and glibc's malloc was ~15 % of a small call's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    log::init();
    // mimalloc's arenas on transparent huge pages raised a small server's peak RSS from 40 to
    // 56 MB (2 MB pages, partly touched); without them the speed-up stays and the RSS does not
    // SAFETY: a process attribute, no pointers involved
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    // Python mode: started as `python3` (sys.executable of the embedded interpreter, so pip,
    // subprocess and multiprocessing re-enter here) or as `mxcp python ARGS...`
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // a built server carries its project in a payload after the executable
    let built = mxcp_runtime::bundle::payload::is_built();
    let payload = match mxcp_runtime::this_executable()
        .map_err(|e| e.to_string())
        .and_then(|exe| mxcp_runtime::bundle::payload::find(&exe, built).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let argv0_is_python = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n.to_string_lossy().starts_with("python"));
    if argv0_is_python {
        if let Some(p) = &payload {
            // a subprocess of the server's Python: the payload's dependencies are importable
            let extra = mxcp_runtime::bundle::cache::root()
                .ok()
                .and_then(|root| p.extract(&root).ok())
                .map(|app| bundled::payload_dependencies(&app))
                .unwrap_or_default();
            return commands::python::main_with(args, extra);
        }
        return commands::python::main(args);
    }
    if let Some(p) = payload {
        return bundled::main(p, args);
    }
    // before clap: python's own options (-c, -m, -X ...) must not be parsed as mxcp's
    if args.get(1).is_some_and(|a| a == "python") {
        return commands::python::main(commands::python::argv(args[2..].to_vec()));
    }
    let cli = {
        use clap::{CommandFactory, FromArgMatches};
        let version: &'static str = mxcp_runtime::long_version().leak();
        let matches = cli::Cli::command().version(version).get_matches();
        cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    };
    if !matches!(cli.command, cli::Command::Serve(_)) {
        // `mxcp list --json-output | head` ends quietly, as other tools do, instead of
        // panicking on the closed pipe; a server keeps ignoring SIGPIPE (a client may go away)
        // SAFETY: restores the default disposition of one signal before any thread starts
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    if let Some(dir) = &cli.project_dir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!("error: cannot change to {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
