//! Vendoring Python dependencies with the embedded pip: this executable runs itself in Python
//! mode on the pip wheel that ships inside the embedded standard library, so no Python needs
//! to be installed on the building machine.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    #[error("{0}")]
    Setup(String),
    #[error(
        "no installable wheel for {package}{}: mxcp bundles binary wheels only; provide a wheel (--find-links DIR) or pin a version that has one for CPython 3.11 on this platform",
        if *.offline { " (offline: looked only in --find-links)" } else { "" }
    )]
    NoWheel { package: String, offline: bool },
    #[error("pip failed (exit status {status}):\n{tail}")]
    Pip { status: i32, tail: String },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

#[derive(Debug, Clone, Default)]
pub struct PipOptions {
    pub find_links: Vec<PathBuf>,
    pub no_index: bool,
    /// `--only-binary=:all:` (what a self-contained executable can carry).
    pub only_binary: bool,
    /// Compile with unchecked-hash pycs (reproducible, never recompiled) instead of timestamps.
    pub unchecked_pyc: bool,
    /// Wheel platform tags to accept (pip `--platform`; empty: this machine's).
    pub platforms: Vec<String>,
}

/// A project's requirements file.
pub fn requirements_of(root: &Path) -> PathBuf {
    root.join("requirements.txt")
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> VendorError {
    let context = context.into();
    move |source| VendorError::Io { context, source }
}

/// The pip wheel inside the extracted standard library.
fn pip_wheel() -> Result<PathBuf, VendorError> {
    let root = mxcp_runtime::bundle::cache::root().map_err(|e| VendorError::Setup(e.to_string()))?;
    let home = mxcp_runtime::python::stdlib_home(&root).map_err(|e| VendorError::Setup(e.to_string()))?;
    let bundled = home.join("lib/python3.11/ensurepip/_bundled");
    std::fs::read_dir(&bundled)
        .map_err(io(format!("reading {}", bundled.display())))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("pip-")))
        .ok_or_else(|| {
            VendorError::Setup(format!("the embedded standard library has no pip wheel in {}", bundled.display()))
        })
}

/// `python ARGS` run by this executable in Python mode; output is echoed to stderr (pip's
/// progress) and its last lines kept for the error message.
fn run_python(args: &[&std::ffi::OsStr]) -> Result<(i32, Vec<String>), VendorError> {
    let exe = mxcp_runtime::this_executable().map_err(io("finding this executable"))?;
    let mut child = Command::new(exe)
        .arg("python")
        .args(args)
        .env("PYTHONNOUSERSITE", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("starting the embedded Python"))?;
    let (out, err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let echo = |r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                tracing::info!("  {line}");
                lines.push(line);
            }
            lines
        })
    };
    let (a, b) = (echo(Box::new(out)), echo(Box::new(err)));
    let status = child.wait().map_err(io("waiting for pip"))?;
    let mut lines = a.join().unwrap_or_default();
    lines.extend(b.join().unwrap_or_default());
    Ok((status.code().unwrap_or(-1), lines))
}

/// Installs `requirements` into `target` (replaced only when everything succeeded) and
/// returns the installed distributions as `name version`.
pub fn install_requirements(requirements: &Path, target: &Path, opts: &PipOptions) -> Result<Vec<String>, VendorError> {
    let wheel = pip_wheel()?;
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = fill(&wheel, requirements, &staging, opts);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let installed = distributions(&staging);
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if target.exists() {
        std::fs::rename(target, &old).map_err(io(format!("replacing {}", target.display())))?;
    }
    std::fs::rename(&staging, target).map_err(io(format!("moving the new packages to {}", target.display())))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(installed)
}

fn fill(wheel: &Path, requirements: &Path, staging: &Path, opts: &PipOptions) -> Result<(), VendorError> {
    let pip = wheel.join("pip");
    let mut args: Vec<std::ffi::OsString> = vec![
        pip.into(),
        "install".into(),
        "--target".into(),
        staging.into(),
        "--no-input".into(),
        "--no-compile".into(),
        "--no-warn-script-location".into(),
        "--progress-bar".into(),
        "off".into(),
    ];
    if opts.only_binary {
        args.push("--only-binary=:all:".into());
    }
    for tag in &opts.platforms {
        args.push("--platform".into());
        args.push(tag.into());
    }
    for d in &opts.find_links {
        args.push("--find-links".into());
        args.push(d.into());
    }
    if opts.no_index {
        args.push("--no-index".into());
    }
    args.push("-r".into());
    args.push(requirements.into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (status, lines) = run_python(&refs)?;
    if status != 0 {
        if let Some(pkg) = lines.iter().find_map(|l| l.strip_prefix("ERROR: No matching distribution found for ")) {
            return Err(VendorError::NoWheel { package: pkg.trim().to_string(), offline: opts.no_index });
        }
        let tail = lines.iter().rev().take(15).rev().cloned().collect::<Vec<_>>().join("\n");
        return Err(VendorError::Pip { status, tail });
    }
    std::fs::create_dir_all(staging).map_err(io(format!("creating {}", staging.display())))?;
    compile(&[staging.to_path_buf()], opts.unchecked_pyc)
}

/// Compiles the Python files under `dirs` to unchecked-hash pycs, with paths recorded relative
/// to each directory (so the output does not depend on where it was staged).
pub fn compile_pyc(dirs: &[PathBuf]) -> Result<(), VendorError> {
    compile(dirs, true)
}

fn compile(dirs: &[PathBuf], unchecked: bool) -> Result<(), VendorError> {
    for dir in dirs {
        let mode = if unchecked { "unchecked-hash" } else { "timestamp" };
        let args: Vec<std::ffi::OsString> = vec![
            "-m".into(),
            "compileall".into(),
            "-q".into(),
            "--invalidation-mode".into(),
            mode.into(),
            "-s".into(),
            dir.into(),
            dir.into(),
        ];
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (status, lines) = run_python(&refs)?;
        if status != 0 {
            return Err(VendorError::Pip { status, tail: lines.join("\n") });
        }
    }
    Ok(())
}

/// `name version` of each `*.dist-info` directory.
pub fn distributions(site: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(site)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let stem = n.strip_suffix(".dist-info")?;
            let (name, version) = stem.rsplit_once('-')?;
            Some(format!("{name} {version}"))
        })
        .collect();
    out.sort();
    out
}
