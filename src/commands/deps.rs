//! `mxcp deps install`: the project's requirements, installed by the embedded pip into the
//! project-local site-packages that every mxcp command puts on `sys.path`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use mxcp_bundler::vendor;
use mxcp_runtime::exec::python_start::DEPS_DIR;

use crate::cli::{DepsCommand, DepsInstallArgs};

pub fn run(cmd: DepsCommand) -> Result<ExitCode> {
    match cmd {
        DepsCommand::Install(args) => install(args),
    }
}

fn install(args: DepsInstallArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let Some(root) = mxcp_runtime::load::project::find_root(&cwd) else {
        bail!("no mxcp-site.yml here or in a parent directory: run inside a project");
    };
    let opts = super::pip_options(&args.pip, !args.allow_sdist);
    let requirements = args.pip.requirements.unwrap_or_else(|| vendor::requirements_of(&root));
    if !requirements.is_file() {
        bail!("{} does not exist: list the project's Python dependencies there", requirements.display());
    }
    let target = root.join(DEPS_DIR);
    let installed = vendor::install_requirements(&requirements, &target, &opts)
        .with_context(|| format!("installing {}", requirements.display()))?;
    eprintln!(
        "installed {} package(s) into {}",
        installed.len(),
        target.strip_prefix(&root).unwrap_or(&target).display()
    );
    for p in &installed {
        eprintln!("  {p}");
    }
    Ok(ExitCode::SUCCESS)
}
