//! `mxcp build`: a checked project → one executable. Stages the project's files and its
//! vendored dependencies, compiles Python to unchecked-hash pycs, packs deterministically,
//! compresses, and writes the executable.

use std::path::{Path, PathBuf};
use std::time::Instant;

use mxcp_runtime::bundle::manifest::{EndpointCounts, MANIFEST_VERSION, Manifest};
use mxcp_runtime::load::endpoint::EndpointKind;
use mxcp_runtime::load::project::Project;

use crate::target::{Target, TargetError};
use crate::vendor::{self, PipOptions, VendorError};
use crate::write::{self, WriteError};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Vendor(#[from] VendorError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let context = context.into();
    move |source| BuildError::Io { context, source }
}

pub struct BuildOptions {
    pub output: PathBuf,
    /// `None`: the project's requirements.txt, if it has one.
    pub requirements: Option<PathBuf>,
    /// Where pip looks (wheels only and unchecked-hash pycs are forced).
    pub pip: PipOptions,
    pub include_data: bool,
    pub level: i32,
    /// The machine the executable is for (default: this one).
    pub target: Target,
    /// The runtime to append the payload to (`--runtime`; default: see [`Target::runtime`]).
    pub runtime: Option<PathBuf>,
}

#[derive(Debug)]
pub struct BuildSummary {
    pub output: PathBuf,
    pub target: Target,
    pub runtime: PathBuf,
    pub size: u64,
    pub payload_size: u64,
    pub sha256: String,
    pub files: usize,
    pub tools: usize,
    pub resources: usize,
    pub prompts: usize,
    pub dependencies: Vec<String>,
}

/// Builds `project` (already checked by the caller). `progress` receives one line per step.
pub fn build(
    project: &Project,
    opts: &BuildOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BuildSummary, BuildError> {
    // the runtime first: a build for a target with none fails before any work
    let runtime = opts.target.runtime(opts.runtime.as_deref())?;
    let out_dir = opts.output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(out_dir).map_err(io(format!("creating {}", out_dir.display())))?;
    let stage = tempfile::Builder::new()
        .prefix(".mxcp-build-")
        .tempdir_in(out_dir)
        .map_err(io(format!("creating a staging directory in {}", out_dir.display())))?;
    let staged_project = stage.path().join(mxcp_runtime::bundle::payload::PROJECT_DIR);

    // 1. the project's own files
    let files = project_files(project, opts.include_data, &opts.output);
    for (rel, src) in &files {
        let dst = staged_project.join(rel);
        std::fs::create_dir_all(dst.parent().expect("has a parent")).map_err(io("staging"))?;
        std::fs::copy(src, &dst).map_err(io(format!("copying {}", src.display())))?;
    }
    progress(&format!("staged {} project file(s)", files.len()));

    // 2. dependencies, with the embedded pip (wheels only)
    let requirements = opts.requirements.clone().or_else(|| {
        let r = vendor::requirements_of(&project.root);
        r.is_file().then_some(r)
    });
    let mut dependencies = Vec::new();
    if let Some(req) = &requirements {
        let start = Instant::now();
        progress(&format!("installing the dependencies in {}", req.display()));
        let pip = PipOptions {
            only_binary: true,
            unchecked_pyc: true,
            platforms: opts.target.wheel_platforms(),
            ..opts.pip.clone()
        };
        let target = staged_project.join(mxcp_runtime::exec::python_start::DEPS_DIR);
        dependencies = vendor::install_requirements(req, &target, &pip)?;
        progress(&format!("installed {} package(s) in {:.1} s", dependencies.len(), start.elapsed().as_secs_f64()));
    }

    // 3. the project's Python as unchecked-hash pycs (never stale, never rewritten)
    let py_dirs: Vec<PathBuf> = [&project.site.paths.python, &project.site.paths.plugins]
        .iter()
        .map(|d| staged_project.join(d))
        .filter(|d| d.is_dir())
        .collect();
    if !py_dirs.is_empty() {
        vendor::compile_pyc(&py_dirs)?;
    }

    // 4. manifest, pack, compress
    let mut counts = [0usize; 3];
    for (_, e) in project.endpoints() {
        counts[match e.kind {
            EndpointKind::Tool => 0,
            EndpointKind::Resource => 1,
            EndpointKind::Prompt => 2,
        }] += 1;
    }
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        project: project.site.project.clone(),
        mxcp_version: mxcp_runtime::VERSION.into(),
        format: mxcp_runtime::bundle::payload::FORMAT_VERSION,
        python: mxcp_runtime::python::PYTHON_VERSION.into(),
        endpoints: EndpointCounts { tools: counts[0], resources: counts[1], prompts: counts[2] },
        dependencies: dependencies.clone(),
        include_data: opts.include_data,
    };
    let manifest_path = stage.path().join(mxcp_runtime::bundle::payload::MANIFEST);
    std::fs::write(&manifest_path, manifest.to_json()).map_err(io("manifest"))?;
    let entries = crate::pack::files_under(stage.path()).map_err(io("listing the staged files"))?;
    let tar = crate::pack::tar(&entries).map_err(io("packing"))?;
    let start = Instant::now();
    let mut last = 0;
    let compressed = crate::pack::compress(&tar, opts.level, &mut |done, total| {
        let pct = done * 100 / total.max(1);
        if pct >= last + 25 || done == total {
            last = pct;
            progress(&format!("compressing: {pct}% of {:.1} MB", total as f64 / 1e6));
        }
    })
    .map_err(io("compressing"))?;
    progress(&format!(
        "compressed {:.1} MB to {:.1} MB (zstd level {}) in {:.1} s",
        tar.len() as f64 / 1e6,
        compressed.len() as f64 / 1e6,
        opts.level,
        start.elapsed().as_secs_f64()
    ));

    // 5. the executable
    let trailer = write::write_executable(&opts.output, &runtime, &compressed)?;
    let size = std::fs::metadata(&opts.output).map_err(io("reading the output"))?.len();
    Ok(BuildSummary {
        output: opts.output.clone(),
        target: opts.target,
        runtime,
        size,
        payload_size: compressed.len() as u64,
        sha256: trailer.sha256_hex(),
        files: entries.len(),
        tools: counts[0],
        resources: counts[1],
        prompts: counts[2],
        dependencies,
    })
}

/// What a built server needs of the project: the site file, every file under the endpoint,
/// SQL, Python and plugin directories, endpoint sources elsewhere, and (only when asked) the
/// profile's database. Never the user configuration, caches, or the output itself.
fn project_files(project: &Project, include_data: bool, output: &Path) -> Vec<(PathBuf, PathBuf)> {
    let root = &project.root;
    let mut out: Vec<(PathBuf, PathBuf)> = vec![(
        PathBuf::from(mxcp_runtime::load::project::SITE_FILE),
        root.join(mxcp_runtime::load::project::SITE_FILE),
    )];
    let p = &project.site.paths;
    // hidden files, bytecode caches and databases stay behind
    let keep = |name: &str| {
        !(name.starts_with('.') || name == "__pycache__" || name.contains(".duckdb") || name.ends_with(".pyc"))
    };
    for dir in [&p.tools, &p.resources, &p.prompts, &p.sql, &p.python, &p.plugins] {
        let dir = root.join(dir);
        if dir.is_dir() {
            for (rel, abs) in crate::pack::files_under_where(&dir, &keep).unwrap_or_default() {
                out.push((abs.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| rel.into()), abs));
            }
        }
    }
    // endpoint sources outside those directories
    for (f, _) in project.endpoints() {
        if let Some(rel) = project.source_rel(f).filter(|r| r.is_relative()) {
            out.push((rel.clone(), root.join(rel)));
        }
    }
    if include_data {
        let db = project.duckdb_path();
        if let Ok(rel) = db.strip_prefix(root) {
            if db.is_file() {
                out.push((rel.to_path_buf(), db.clone()));
            }
        }
    }
    let output = std::path::absolute(output).unwrap_or_else(|_| output.to_path_buf());
    out.retain(|(_, abs)| std::path::absolute(abs).map(|a| a != output).unwrap_or(true));
    out.sort();
    out.dedup();
    out
}
