//! Command logic, one module per command.

mod build;
mod deps;
mod drift;
mod init;
mod lint;
pub mod list;
pub mod log;
pub mod python;
mod query;
pub mod run;
pub mod serve;
pub mod test;
mod validate;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use mxcp_runtime::load::project::{LoadOptions, Project, ProjectError};

use crate::cli::{Command, ProjectArgs};
use crate::output;

pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Init(args) => init::run(args),
        Command::List(args) => list::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Run(args) => run::run(args),
        Command::Query(args) => query::run(args),
        Command::Test(args) => test::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Serve(args) => serve::run(args),
        Command::DriftSnapshot(args) => drift::snapshot(args),
        Command::DriftCheck(args) => drift::check(args),
        Command::Log(args) => log::run(args),
        Command::LogCleanup(args) => log::cleanup(args),
        Command::Deps(args) => deps::run(args),
        Command::Build(args) => build::run(args),
        // reached with global options first (`mxcp -C DIR python ...`)
        Command::Python(args) => Ok(python::main(python::argv(args.args))),
    }
}

/// A built server's project: extracted from its payload, its database kept outside it.
pub struct BundledProject {
    pub root: std::path::PathBuf,
    pub data_root: std::path::PathBuf,
}

static BUNDLED: std::sync::OnceLock<BundledProject> = std::sync::OnceLock::new();

/// Makes every command use the built server's project instead of the current directory's.
pub fn use_bundled_project(p: BundledProject) {
    let _ = BUNDLED.set(p);
}

/// Loads the project around the current directory (or a built server's own). On failure
/// prints the findings (text or JSON) and returns the exit code to use.
pub fn load_project(args: &ProjectArgs, readonly: bool, json: bool) -> std::result::Result<Project, ExitCode> {
    match discover_project(args, readonly) {
        Ok(p) => Ok(p),
        Err(ProjectError::Invalid(findings)) => {
            if json {
                let diags = serde_json::to_value(&findings.diagnostics).expect("serializable");
                // the first error's own words, as the reference reports it (scripts match on it)
                let first = findings.diagnostics.iter().find(|d| d.is_error()).map(|d| d.message.as_str());
                output::error(
                    first.unwrap_or("the project configuration has errors"),
                    Some(serde_json::json!({ "diagnostics": diags })),
                );
            } else {
                eprint!("{}", findings.render());
                eprintln!("error: the project configuration has {} error(s)", findings.errors());
            }
            Err(ExitCode::FAILURE)
        }
        Err(ProjectError::Database(e)) => {
            report_error(json, &e, None);
            Err(ExitCode::FAILURE)
        }
        Err(e @ ProjectError::NotFound(_)) => {
            report_error(json, &e.to_string(), Some("create one with `mxcp init`, or run inside a project"));
            Err(ExitCode::FAILURE)
        }
    }
}

/// Loads the project around the current directory (or a built server's own), reporting nothing.
pub fn discover_project(args: &ProjectArgs, readonly: bool) -> std::result::Result<Project, ProjectError> {
    let opts = LoadOptions {
        profile: args.profile.clone(),
        config_path: args.config.clone(),
        readonly,
        data_root: BUNDLED.get().map(|b| b.data_root.clone()),
    };
    let start = match BUNDLED.get() {
        Some(b) => b.root.clone(),
        None => std::env::current_dir()
            .map_err(|e| ProjectError::Database(format!("cannot read the current directory: {e}")))?,
    };
    Project::discover(&start, &opts)
}

pub fn report_error(json: bool, message: &str, help: Option<&str>) {
    if json {
        output::error(message, None);
    } else {
        eprintln!("error: {message}");
        if let Some(h) = help {
            eprintln!("  = help: {h}");
        }
    }
}

/// `--find-links`/`--no-index` as the embedded pip's options.
pub fn pip_options(args: &crate::cli::PipArgs, only_binary: bool) -> mxcp_bundler::vendor::PipOptions {
    mxcp_bundler::vendor::PipOptions {
        find_links: args.find_links.clone(),
        no_index: args.no_index,
        only_binary,
        unchecked_pyc: false,
        platforms: Vec::new(),
    }
}

/// `--param NAME=VALUE` pairs: VALUE stays text (the type system converts it), `@file.json`
/// reads a JSON value.
pub fn parse_params(params: &[String]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut out = serde_json::Map::new();
    for p in params {
        let Some((name, value)) = p.split_once('=') else {
            bail!("invalid --param '{p}': expected NAME=VALUE");
        };
        let value = match value.strip_prefix('@') {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {path} (from --param {name})"))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{path} (from --param {name}) is not valid JSON"))?
            }
            None => serde_json::Value::String(value.to_string()),
        };
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

/// `--user-context` as inline JSON or `@file.json`.
pub fn parse_user_context(arg: Option<&str>) -> Result<Option<serde_json::Value>> {
    let Some(arg) = arg else { return Ok(None) };
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
        None => arg.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(&text).context("--user-context is not valid JSON")?;
    if !v.is_object() {
        bail!("--user-context must be a JSON object");
    }
    Ok(Some(v))
}

/// `--request-headers` as inline JSON or `@file.json`: an object of header names and values.
pub fn parse_request_headers(
    arg: Option<&str>,
) -> Result<Option<std::sync::Arc<mxcp_runtime::exec::identity::Request>>> {
    let Some(arg) = arg else { return Ok(None) };
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
        None => arg.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(&text).context("--request-headers is not valid JSON")?;
    let Some(headers) = v.as_object() else { bail!("--request-headers must be a JSON object") };
    Ok(Some(std::sync::Arc::new(mxcp_runtime::exec::identity::Request::from_json(headers))))
}

/// Runs `f`, printing its error in the command's output style; `Ok(code)` either way.
pub fn envelope(
    json: bool,
    f: impl FnOnce() -> Result<serde_json::Value>,
    print_text: impl FnOnce(&serde_json::Value),
) -> Result<ExitCode> {
    match f() {
        Ok(v) => {
            if json {
                output::ok(v);
            } else {
                print_text(&v);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            report_error(json, &format!("{e:#}"), None);
            Ok(ExitCode::FAILURE)
        }
    }
}
