//! `mxcp build`: check the whole project, then write one executable that serves it.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use mxcp_bundler::build::{BuildOptions, build};
use mxcp_bundler::target::Target;
use mxcp_runtime::exec::executor::Runtime;

use crate::cli::BuildArgs;
use crate::commands::load_project;

pub fn run(args: BuildArgs) -> Result<ExitCode> {
    let start = Instant::now();
    let project = match load_project(&args.project, true, false) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    eprintln!("==> checking {} ({} endpoint file(s))", project.site.project, project.files.len());
    let runtime = Runtime::new(project, 1);
    let findings = mxcp_runtime::check::check(&runtime.project, || runtime.db_for_checks());
    if findings.errors() > 0 {
        eprint!("{}", findings.render());
        eprintln!("error: the project has {} error(s); nothing was built", findings.errors());
        return Ok(ExitCode::FAILURE);
    }
    let project = &runtime.project;
    let output = args.output.unwrap_or_else(|| project.root.join("dist").join(&project.site.project));
    let opts = BuildOptions {
        output,
        pip: super::pip_options(&args.pip, true),
        requirements: args.pip.requirements,
        include_data: args.include_data,
        level: args.compression_level,
        target: match args.target.as_deref() {
            Some(t) => Target::parse(t)?,
            None => Target::host(),
        },
        runtime: args.runtime,
    };
    let summary = match build(project, &opts, &mut |line| eprintln!("==> {line}")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("nothing was written to {}", opts.output.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!(
        "built {} for {} in {:.1} s\n  runtime:      {}\n  size:         {:.1} MB (payload {:.1} MB, {} files)\n  endpoints:    {} tool(s), {} resource(s), {} prompt(s)\n  dependencies: {}\n  payload:      sha256 {}",
        summary.output.display(),
        summary.target.name(),
        start.elapsed().as_secs_f64(),
        summary.runtime.display(),
        mb(summary.size),
        mb(summary.payload_size),
        summary.files,
        summary.tools,
        summary.resources,
        summary.prompts,
        if summary.dependencies.is_empty() { "none".to_string() } else { summary.dependencies.join(", ") },
        summary.sha256
    );
    Ok(ExitCode::SUCCESS)
}
