//! Loading a project: find `mxcp-site.yml`, read the site and user configuration, pick the
//! profile, discover and decode every endpoint file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{Diagnostic, Findings, Reporter, Severity};
use crate::load::decode::Decoder;
use crate::load::endpoint::{Endpoint, EndpointKind};
use crate::load::endpoint_decode::{self, Decoded, FileContext};
use crate::load::site::{self, SiteConfig};
use crate::load::user_config::UserConfig;
use crate::load::yaml;

pub const SITE_FILE: &str = "mxcp-site.yml";

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("No {SITE_FILE} found in {} or any parent directory", .0.display())]
    NotFound(PathBuf),
    #[error("the project configuration has errors")]
    Invalid(Findings),
    /// The database could not be placed under `LoadOptions::data_root`.
    #[error("{0}")]
    Database(String),
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub profile: Option<String>,
    pub config_path: Option<PathBuf>,
    pub readonly: bool,
    /// Where databases live when not beside the project (a built server's project is a
    /// read-only payload); see [`Project::place_database`].
    pub data_root: Option<PathBuf>,
}

/// One discovered endpoint file.
#[derive(Debug, Clone)]
pub struct EndpointFile {
    pub path: PathBuf,
    /// Relative to the project root.
    pub rel: PathBuf,
    /// The directory kind it was found under.
    pub dir_kind: EndpointKind,
    /// `None` when the file could not be decoded (its findings say why).
    pub endpoint: Option<Endpoint>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub site: SiteConfig,
    pub profile: String,
    pub user_config: UserConfig,
    pub readonly: bool,
    pub files: Vec<EndpointFile>,
    pub findings: Findings,
    /// Where relative database paths resolve (a built server keeps its database outside the
    /// read-only payload); `None`: the project root.
    pub data_root: Option<PathBuf>,
    /// A built server's data directory (`LoadOptions::data_root`), even when its database is
    /// opened in place: where what it writes goes (the audit log). `None`: the project root.
    pub data_dir: Option<PathBuf>,
}

/// Walks up from `start` to the first directory holding `mxcp-site.yml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    start.ancestors().find(|d| d.join(SITE_FILE).is_file()).map(Path::to_path_buf)
}

impl Project {
    /// Finds the project from `start` and loads it. Findings in endpoint files do not fail
    /// the load (they are in `findings`); a broken site or user configuration does. Loading
    /// reports only what decoding finds: the checks are the `check` stage's.
    pub fn discover(start: &Path, opts: &LoadOptions) -> Result<Project, ProjectError> {
        let root = find_root(start).ok_or_else(|| ProjectError::NotFound(start.to_path_buf()))?;
        Self::load(&root, opts)
    }

    pub fn load(root: &Path, opts: &LoadOptions) -> Result<Project, ProjectError> {
        let mut findings = Findings::default();
        let site_path = root.join(SITE_FILE);
        let rel_site = PathBuf::from(SITE_FILE);
        let text: Arc<str> = match std::fs::read_to_string(&site_path) {
            Ok(t) => t.into(),
            Err(e) => {
                findings
                    .diagnostics
                    .push(Diagnostic::whole_file_error(&rel_site, format!("cannot read {SITE_FILE}: {e}")));
                return Err(ProjectError::Invalid(findings));
            }
        };
        findings.sources.insert(rel_site.clone(), text.clone());
        let site = {
            let mut rep = Reporter { display: &rel_site, out: &mut findings.diagnostics };
            parse_document(&text, &mut rep).and_then(|root_node| {
                let mut d = Decoder { rep: &mut rep };
                site::decode(&root_node, &mut d)
            })
        };
        let site = match site {
            Some(s) if findings.errors() == 0 => s,
            _ => {
                if findings.errors() == 0 {
                    findings.diagnostics.push(Diagnostic::whole_file_error(&rel_site, format!("{SITE_FILE} is empty")));
                }
                return Err(ProjectError::Invalid(findings));
            }
        };
        let profile = opts
            .profile
            .clone()
            .or_else(|| std::env::var("MXCP_PROFILE").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| site.profile.clone());
        let user_config = match UserConfig::load(&site.project, &profile, opts.config_path.as_deref()) {
            Ok(c) => c,
            Err(diags) => {
                for d in &diags {
                    if let Ok(t) = std::fs::read_to_string(&d.file) {
                        findings.sources.insert(d.file.clone(), t.into());
                    }
                }
                findings.diagnostics.extend(diags);
                return Err(ProjectError::Invalid(findings));
            }
        };
        let readonly = opts.readonly
            || env_flag("MXCP_READONLY")
            || site.profiles.get(&profile).is_some_and(|p| p.duckdb_readonly);
        let mut project = Project {
            root: root.to_path_buf(),
            site,
            profile,
            user_config,
            readonly,
            files: Vec::new(),
            findings,
            data_root: None,
            data_dir: opts.data_root.clone(),
        };
        project.discover_endpoints();
        if let Some(d) = &opts.data_root {
            project.place_database(d).map_err(ProjectError::Database)?;
        }
        Ok(project)
    }

    /// Keeps the database under `data_root`: a database shipped in the project is copied
    /// there on first use, or opened in place when read-only (and not overridden).
    fn place_database(&mut self, data_root: &Path) -> Result<(), String> {
        let packed = self.duckdb_path();
        if self.readonly && packed.is_file() && duckdb_path_from_env().is_none() {
            return Ok(());
        }
        self.data_root = Some(data_root.to_path_buf());
        let target = self.duckdb_path();
        if packed.is_file() && !target.exists() {
            let dir = target.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let tmp = dir.join(format!(".copy-{}", std::process::id()));
            if let Err(e) = std::fs::copy(&packed, &tmp).and_then(|_| std::fs::rename(&tmp, &target)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(format!("cannot copy the packed database to {}: {e}", target.display()));
            }
        }
        Ok(())
    }

    fn discover_endpoints(&mut self) {
        let dirs = [
            (EndpointKind::Tool, self.site.paths.tools.clone()),
            (EndpointKind::Resource, self.site.paths.resources.clone()),
            (EndpointKind::Prompt, self.site.paths.prompts.clone()),
        ];
        for (kind, dir) in dirs {
            let mut paths = Vec::new();
            collect_yaml(&self.root.join(&dir), &mut paths);
            paths.sort();
            for path in paths {
                let file = self.load_endpoint_file(&path, kind);
                self.files.push(file);
            }
        }
    }

    fn load_endpoint_file(&mut self, path: &Path, dir_kind: EndpointKind) -> EndpointFile {
        let rel = path.strip_prefix(&self.root).unwrap_or(path).to_path_buf();
        let mut file = EndpointFile { path: path.to_path_buf(), rel: rel.clone(), dir_kind, endpoint: None };
        let text: Arc<str> = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t.into(),
                Err(e) => {
                    self.findings
                        .diagnostics
                        .push(Diagnostic::whole_file_error(&rel, format!("file is not valid UTF-8: {e}")));
                    return file;
                }
            },
            Err(e) => {
                self.findings.diagnostics.push(Diagnostic::whole_file_error(&rel, format!("cannot read file: {e}")));
                return file;
            }
        };
        self.findings.sources.insert(rel.clone(), text.clone());
        file.endpoint = decode_endpoint_text(&text, path, &rel, &self.root, dir_kind, &mut self.findings.diagnostics);
        file
    }

    /// Enabled endpoints that loaded, in discovery order.
    pub fn endpoints(&self) -> impl Iterator<Item = (&EndpointFile, &Endpoint)> {
        self.files.iter().filter_map(|f| f.endpoint.as_ref().filter(|e| e.enabled).map(|e| (f, e)))
    }

    /// The endpoint's source file relative to the project root, if it has one.
    pub fn source_rel(&self, file: &EndpointFile) -> Option<PathBuf> {
        match &file.endpoint.as_ref()?.source.as_ref()?.body {
            crate::load::endpoint::SourceBody::File { resolved, .. } => {
                Some(resolved.strip_prefix(&self.root).unwrap_or(resolved).to_path_buf())
            }
            _ => None,
        }
    }

    /// Whether a finding is about this endpoint file: its YAML or its SQL source file.
    pub fn owns(&self, file: &EndpointFile, d: &Diagnostic) -> bool {
        d.file == file.rel || self.source_rel(file).is_some_and(|s| d.file == s)
    }

    /// Endpoint files with an error among `findings` (including errors in their SQL files).
    pub fn failed_files(&self, findings: &Findings) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter(|f| findings.diagnostics.iter().any(|d| d.is_error() && self.owns(f, d)))
            .map(|f| f.rel.clone())
            .collect()
    }

    /// The DuckDB file of the active profile: `MXCP_DUCKDB_PATH`, the profile's
    /// `duckdb.path` (relative to the project root), else `data/db-<profile>.duckdb`.
    pub fn duckdb_path(&self) -> PathBuf {
        if let Some(p) = duckdb_path_from_env() {
            return p;
        }
        let base = self.data_root.as_ref().unwrap_or(&self.root);
        match self.site.profiles.get(&self.profile).and_then(|p| p.duckdb_path.as_ref()) {
            Some(p) => base.join(p),
            None => base.join(&self.site.paths.data).join(format!("db-{}.duckdb", self.profile)),
        }
    }

    /// The drift snapshot of the active profile: the profile's `drift.path` (relative to the
    /// project root), else `drift-<profile>.json` in `paths.drift`.
    pub fn drift_path(&self) -> PathBuf {
        match self.site.profiles.get(&self.profile).and_then(|p| p.drift_path.as_ref()) {
            Some(p) => self.root.join(p),
            None => self.root.join(&self.site.paths.drift).join(format!("drift-{}.json", self.profile)),
        }
    }
}

/// `MXCP_DUCKDB_PATH`, which overrides every profile's database path.
pub fn duckdb_path_from_env() -> Option<PathBuf> {
    std::env::var_os("MXCP_DUCKDB_PATH").filter(|p| !p.is_empty()).map(PathBuf::from)
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Parses YAML, reporting syntax errors and duplicate keys. `None` for an empty or broken file.
pub fn parse_document(text: &str, rep: &mut Reporter) -> Option<yaml::Node> {
    let mut dups = Vec::new();
    let parsed = yaml::parse(text, &mut |pos, path, first| dups.push((pos, path.to_string(), first)));
    for (pos, path, first) in dups {
        let key = path.rsplit(['.', ']']).next().unwrap_or(&path).to_string();
        // PyYAML, which the reference reads with, keeps the last value silently
        rep.warning(
            pos,
            &path,
            format!("duplicate key '{key}' (first defined on line {first}); the last value is used"),
        );
    }
    match parsed {
        Ok(node) => node,
        Err(e) => {
            rep.error(e.pos, "", format!("invalid YAML: {}", e.message));
            None
        }
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() || (ft.is_symlink() && path.is_dir()) {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(path);
        }
    }
}

/// Decodes one endpoint file's text (no I/O besides checking that source files exist), adding
/// its findings to `out`. `None` when it is not a usable endpoint of the directory's kind.
pub fn decode_endpoint_text(
    text: &str,
    path: &Path,
    rel: &Path,
    root: &Path,
    dir_kind: EndpointKind,
    out: &mut Vec<Diagnostic>,
) -> Option<Endpoint> {
    let mut rep = Reporter { display: rel, out };
    let before = rep.out.len();
    let Some(node) = parse_document(text, &mut rep) else {
        if rep.out.len() == before {
            rep.error(crate::diagnostics::Pos::default(), "", "Endpoint file is empty");
        }
        return None;
    };
    let yaml_dir = path.parent().unwrap_or(root).to_path_buf();
    let ctx = FileContext { project_root: root, yaml_dir: &yaml_dir };
    let mut d = Decoder { rep: &mut rep };
    let Decoded::Endpoint(e) = endpoint_decode::decode(&node, &mut d, &ctx) else {
        return None;
    };
    if e.kind != dir_kind {
        rep.push(
            Severity::Warning,
            e.pos,
            e.kind.as_str(),
            format!("a {} definition under {}s/ is skipped", e.kind.as_str(), dir_kind.as_str()),
            Some(format!("move it under {}s/", e.kind.as_str())),
        );
        return None;
    }
    Some(*e)
}
