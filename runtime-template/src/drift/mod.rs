//! Drift: a snapshot of what a project is (the tables of the database's `main` schema, and per
//! endpoint file its validation result, test results and definition) and its comparison with
//! a baseline snapshot (`mxcp drift-snapshot`, `mxcp drift-check`).
//!
//! The JSON layouts are the reference's, so snapshots written by either implementation can be
//! checked by the other. A snapshot is built from the other stages: [`crate::check`] for
//! validation, [`crate::exec::test_runner`] for the tests, [`crate::db`] for the tables.

mod compare;
mod definition;
mod pyjson;
mod text;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::Digest;

use crate::db::DbError;
use crate::diagnostics::Findings;
use crate::exec::executor::Runtime;
use crate::exec::test_runner::{self, EndpointReport, Status};
use crate::load::endpoint::Endpoint;
use crate::load::project::EndpointFile;

pub use compare::{ColumnChange, DriftReport, ResourceChange, Summary, TableChange, compare};
pub use text::render;

/// The snapshot format version (`version` in the file).
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// The reference's wording (scripts match on it).
    #[error("Drift snapshot already exists at {}. Use --force to overwrite.", .0.display())]
    Exists(PathBuf),
    #[error("Failed to load baseline snapshot: Snapshot file not found: {}", .0.display())]
    BaselineNotFound(PathBuf),
    #[error("Failed to load baseline snapshot: {}: {message}", .path.display())]
    BaselineInvalid { path: PathBuf, message: String },
    #[error("cannot read the database's tables: {0}")]
    Database(#[from] DbError),
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// One snapshot: `drift/drift-<profile>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub generated_at: String,
    pub tables: Vec<Table>,
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
}

/// One endpoint file. A file that did not load has only its validation result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub validation_results: Validation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_results: Option<TestResults>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Json>,
    /// The file's `metadata:`, also kept beside the definition (as the reference does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Json>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// `ok` or `error`.
    pub status: String,
    /// Relative to the project root: what snapshots are matched by.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResults {
    /// `ok`, `failed` or `error`.
    pub status: String,
    pub tests_run: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<TestResult>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_tests: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `passed`, `failed` or `error`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds, kept as the number's text: serde's float parsing is not exact, and the hash
    /// of a baseline must be computed from the digits written.
    #[serde(default = "zero")]
    pub time: serde_json::Number,
}

fn zero() -> serde_json::Number {
    0.into()
}

impl Resource {
    pub fn path(&self) -> &str {
        &self.validation_results.path
    }

    /// `tool/name`, `resource/uri`, `prompt/name`, read from the definition.
    pub fn endpoint_id(&self) -> Option<String> {
        let d = self.definition.as_ref()?;
        [("tool", "name"), ("resource", "uri"), ("prompt", "name")]
            .into_iter()
            .find_map(|(kind, key)| Some(format!("{kind}/{}", d.get(kind)?.get(key)?.as_str()?)))
    }
}

impl Snapshot {
    /// The file's text, as the reference writes it (`json.dump(indent=2)`, ASCII only, no
    /// final newline).
    pub fn to_file_text(&self) -> String {
        pyjson::dumps(&self.to_json(), Some(2), false)
    }

    /// The reference's `drift_hash`: SHA-256 of `json.dumps(snapshot, sort_keys=True)`.
    pub fn hash(&self) -> String {
        let digest = sha2::Sha256::digest(pyjson::dumps(&self.to_json(), None, true).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).expect("a snapshot serializes")
    }

    pub fn read(path: &Path) -> Result<Snapshot, DriftError> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DriftError::BaselineNotFound(path.to_path_buf()),
            _ => DriftError::BaselineInvalid { path: path.to_path_buf(), message: e.to_string() },
        })?;
        let invalid = |message: String| DriftError::BaselineInvalid { path: path.to_path_buf(), message };
        let snapshot: Snapshot = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(invalid(format!(
                "snapshot format version {} is not supported (expected {SNAPSHOT_VERSION})",
                snapshot.version
            )));
        }
        Ok(snapshot)
    }

    /// Writes the snapshot to `path` (creating its directory); an existing file is replaced
    /// only when `overwrite`, and then atomically.
    pub fn write(&self, path: &Path, overwrite: bool) -> Result<(), DriftError> {
        let failed = |source| DriftError::Write { path: path.to_path_buf(), source };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(failed)?;
        let text = self.to_file_text();
        if !overwrite {
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    DriftError::Exists(path.to_path_buf())
                } else {
                    failed(e)
                }
            })?;
            return f.write_all(text.as_bytes()).map_err(failed);
        }
        let tmp =
            dir.join(format!(".{}.tmp-{}", path.file_name().unwrap_or_default().to_string_lossy(), std::process::id()));
        let written = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(failed)
    }
}

/// The project's snapshot now: its tables, and every endpoint file validated, tested and
/// dumped (disabled endpoints and files of another kind's directory are left out).
pub fn snapshot(rt: &Runtime) -> Result<Snapshot, DriftError> {
    let generated_at = now();
    let db = rt.db_for_checks()?;
    let tables = db
        .tables_of_schema("main")?
        .into_iter()
        .map(|t| Table {
            name: t.name,
            columns: t.columns.into_iter().map(|(name, data_type)| Column { name, data_type }).collect(),
        })
        .collect();
    let findings = crate::check::check(&rt.project, || Ok(db.clone()));
    let resources = rt.project.files.iter().filter_map(|f| resource(rt, &findings, f)).collect();
    Ok(Snapshot { version: SNAPSHOT_VERSION, generated_at, tables, resources })
}

fn resource(rt: &Runtime, findings: &Findings, file: &EndpointFile) -> Option<Resource> {
    let project = &rt.project;
    if file.endpoint.as_ref().is_some_and(|e| !e.enabled) {
        return None;
    }
    let errors: Vec<&str> = findings
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && project.owns(file, d))
        .map(|d| d.message.as_str())
        .collect();
    if file.endpoint.is_none() && errors.is_empty() {
        // another kind's definition, skipped with a warning
        return None;
    }
    let validation_results = Validation {
        status: if errors.is_empty() { "ok" } else { "error" }.into(),
        path: file.rel.to_string_lossy().replace('\\', "/"),
        message: (!errors.is_empty()).then(|| errors.join("; ")),
    };
    // a file that did not decode has no model to test or dump (the reference's load errors)
    let loaded = file.endpoint.as_ref().filter(|_| project.findings.file_errors(&file.rel).is_empty());
    let Some(e) = loaded else {
        return Some(Resource { validation_results, test_results: None, definition: None, metadata: None });
    };
    let document =
        project.findings.sources.get(&file.rel).and_then(|text| {
            crate::load::yaml::parse(text, &mut |_, _, _| {}).ok().flatten().map(|node| node.to_json())
        });
    let definition = document.map(|doc| definition::definition(&doc, e));
    let metadata = definition.as_ref().and_then(|d| d.get("metadata")).cloned();
    // run even when a check failed, as the reference does: which tests break is the news
    let report = test_runner::run_endpoint(rt, e, None, None);
    Some(Resource { validation_results, test_results: Some(test_results(e, report)), definition, metadata })
}

fn test_results(e: &Endpoint, report: EndpointReport) -> TestResults {
    if report.no_tests {
        return TestResults { status: status_name(Status::Ok), tests_run: 0, tests: None, no_tests: Some(true) };
    }
    let defs = e.tests.as_deref().unwrap_or_default();
    let tests = report
        .tests
        .into_iter()
        .enumerate()
        .map(|(i, t)| TestResult {
            name: t.name,
            description: defs.get(i).and_then(|d| d.description.clone()),
            status: status_name(t.status),
            error: t.error,
            time: serde_json::Number::from_f64(t.time).unwrap_or_else(zero),
        })
        .collect();
    TestResults { status: status_name(report.status), tests_run: report.tests_run, tests: Some(tests), no_tests: None }
}

fn status_name(s: Status) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// Now, as Python's `datetime.now(timezone.utc).isoformat()` writes it.
pub(crate) fn now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}
