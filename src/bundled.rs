//! A built server (`mxcp build` output): this executable carries a project payload and
//! becomes that project's server. The payload is extracted once into the cache (verified
//! first); the database lives in a data directory outside it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use mxcp_runtime::bundle::manifest::{Manifest, ManifestError};
use mxcp_runtime::bundle::payload::{MANIFEST, PROJECT_DIR, Payload};

use crate::cli::{ServerCli, ServerCommand};
use crate::commands::{self, BundledProject};

pub fn main(payload: Payload, args: Vec<OsString>) -> ExitCode {
    match run(&payload, args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The manifest read from the payload itself (it is the archive's first member).
fn packed_manifest(payload: &Payload) -> anyhow::Result<Manifest> {
    let bytes = payload.read_member(MANIFEST)?.ok_or(ManifestError::Missing)?;
    Ok(Manifest::parse(&bytes)?)
}

/// The manifest of the extracted payload.
fn manifest(app: &Path) -> anyhow::Result<Manifest> {
    let bytes = std::fs::read(app.join(MANIFEST)).map_err(|_| ManifestError::Missing)?;
    Ok(Manifest::parse(&bytes)?)
}

fn run(payload: &Payload, mut args: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let cache = mxcp_runtime::bundle::cache::root()?;
    if args.len() == 1 {
        args.push("serve".into()); // `./my-server` serves
    }
    let name = args[0].clone();
    let name = Path::new(&name).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if matches!(args[1].to_str(), Some("--version" | "-V")) {
        let m = packed_manifest(payload)?;
        println!(
            "{} (mxcp {}, payload sha256 {})",
            m.project,
            mxcp_runtime::long_version(),
            payload.trailer.sha256_hex()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let cmd = ServerCli::command().name(&*name.clone().leak()).bin_name(name);
    let cli = ServerCli::from_arg_matches(&cmd.get_matches_from(args)).unwrap_or_else(|e| e.exit());
    let command = cli.command.expect("defaulted to serve");
    if let ServerCommand::Materialize { dir } = &command {
        return materialize(payload, dir);
    }
    if let ServerCommand::Inspect = &command {
        return inspect(payload);
    }
    let app = payload.extract(&cache)?;
    let project = manifest(&app)?.project;
    commands::use_bundled_project(BundledProject {
        root: app.join(PROJECT_DIR),
        data_root: data_root(&project, &cache),
    });
    match command {
        ServerCommand::Serve(a) => commands::serve::run(a),
        ServerCommand::List(a) => commands::list::run(a),
        ServerCommand::Run(a) => commands::run::run(a),
        ServerCommand::Test(a) => commands::test::run(a),
        ServerCommand::Log(a) => commands::log::run(a),
        ServerCommand::LogCleanup(a) => commands::log::cleanup(a),
        ServerCommand::Python(a) => {
            Ok(commands::python::main_with(commands::python::argv(a.args), payload_dependencies(&app)))
        }
        ServerCommand::Inspect | ServerCommand::Materialize { .. } => unreachable!("handled above"),
    }
}

/// site-packages of the dependencies packed with the project.
pub fn payload_dependencies(app: &Path) -> Vec<PathBuf> {
    mxcp_runtime::exec::python_start::dependency_dirs(&app.join(PROJECT_DIR))
}

/// `MXCP_DATA_DIR`, else `$XDG_DATA_HOME/mxcp/<project>`, else `~/.local/share/mxcp/<project>`,
/// else beside the cache.
fn data_root(project: &str, cache: &Path) -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env("MXCP_DATA_DIR") {
        return d;
    }
    if let Some(d) = env("XDG_DATA_HOME") {
        return d.join("mxcp").join(project);
    }
    if let Some(h) = env("HOME") {
        return h.join(".local/share/mxcp").join(project);
    }
    cache.join("data").join(project)
}

fn materialize(payload: &Payload, dir: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir)?;
    let dir = std::path::absolute(dir)?;
    let stdlib = mxcp_runtime::python::stdlib_home(&dir)?;
    let app = payload.extract(&dir)?;
    let exe = mxcp_runtime::this_executable()?;
    let link = mxcp_runtime::bundle::cache::python_link(&dir, &exe, "python3");
    eprintln!("materialized into {}:\n  {}\n  {}", dir.display(), stdlib.display(), app.display());
    if link.is_none() {
        eprintln!("warning: could not create the python3 link for subprocesses in {}", dir.display());
    }
    eprintln!("start with MXCP_CACHE_DIR={} (nothing is written to it then)", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn inspect(payload: &Payload) -> anyhow::Result<ExitCode> {
    let files = payload.list()?;
    let manifest = packed_manifest(payload)?;
    let deps = &manifest.dependencies;
    let e = &manifest.endpoints;
    println!("project:      {}", manifest.project);
    println!(
        "built with:   mxcp {} (payload format {}, Python {})",
        manifest.mxcp_version, manifest.format, manifest.python
    );
    println!("payload:      sha256 {} ({} bytes compressed)", payload.trailer.sha256_hex(), payload.trailer.len);
    println!("endpoints:    {} tool(s), {} resource(s), {} prompt(s)", e.tools, e.resources, e.prompts);
    println!("dependencies: {}", if deps.is_empty() { "none".to_string() } else { deps.join(", ") });
    println!("files ({}):", files.len());
    for (path, size) in files {
        println!("  {path}  {size}");
    }
    Ok(ExitCode::SUCCESS)
}
