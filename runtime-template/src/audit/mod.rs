//! The audit log: one JSONL record per tool, resource and prompt call the server answers, in
//! the reference's layout, files and rotation (`audit/logs-<profile>-<time>.jsonl`, a schema
//! registry beside them), with what the reference leaves empty filled in: the policies that
//! ran and their decision, a SHA-256 chain over the records and optional Ed25519 signatures.
//!
//! Writing ([`AuditLog`]) never waits on the disk: records go through a bounded queue to one
//! writer thread. Reading ([`query`], [`export`]), verifying ([`verify`]) and retention
//! ([`cleanup`]) work on the files alone. `mxcp run` and `mxcp test` do not audit.

mod chain;
mod cleanup;
mod files;
mod query;
mod record;
mod redact;
mod verify;
mod writer;

use std::path::PathBuf;
use std::time::Duration;

pub use chain::{Signer, Verifier};
pub use cleanup::{CleanupReport, cleanup};
pub use query::{ExportFormat, Filter, Found, export, parse_since, query};
pub use record::{CallRecord, OperationType};
pub use redact::{REDACTED, redact_arguments, redact_output};
pub use verify::{Finding, VerifyReport, verify};
pub use writer::{AuditLog, AuditStats};

use crate::load::project::Project;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot write the audit log in {}: {source}", dir.display())]
    Unwritable { dir: PathBuf, source: std::io::Error },
    /// A signing or verification key that cannot be used.
    #[error("{0}")]
    Key(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cannot read the audit log: {0}")]
    Db(#[from] crate::db::DbError),
}

/// How a project's audit log is written.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    /// The configured log path, `<dir>/<stem>.jsonl`: records go to `<stem>-<time>.jsonl`
    /// files beside it.
    pub path: PathBuf,
    /// A file is rotated before it would grow past this.
    pub max_file_size: u64,
    /// Refuse calls while records cannot be written (site `audit.fail_closed`).
    pub fail_closed: bool,
    /// PEM Ed25519 private key records are signed with (user config `audit.signing_key`).
    pub signing_key: Option<String>,
    /// PEM public key `log verify` checks signatures with (user config `audit.verify_key`;
    /// else the signing key's public half).
    pub verify_key: Option<String>,
    /// Records the queue holds before calls' records are dropped (or calls wait, failing closed).
    pub queue_capacity: usize,
    /// A pause before each write, for fault-injection tests (`MXCP_AUDIT_TEST_DELAY_MS`).
    pub test_delay: Duration,
}

/// The reference's default `max_file_size` (50 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 50 * 1024 * 1024;

impl AuditConfig {
    /// The project's audit log, or `None` when auditing is off for its profile.
    pub fn for_project(project: &Project) -> Option<AuditConfig> {
        enabled(project).then(|| AuditConfig::of(project))
    }

    /// The profile's audit log, enabled or not.
    pub fn of(project: &Project) -> AuditConfig {
        let profile = project.site.profiles.get(&project.profile);
        let base = project.data_dir.as_ref().unwrap_or(&project.root);
        let path = match profile.and_then(|p| p.audit_path.as_ref()) {
            Some(p) => base.join(p),
            None => base.join(&project.site.paths.audit).join(format!("logs-{}.jsonl", project.profile)),
        };
        let keys = &project.user_config.active_profile()["audit"];
        let key = |k: &str| keys[k].as_str().filter(|s| !s.trim().is_empty()).map(str::to_string);
        let delay = std::env::var("MXCP_AUDIT_TEST_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        AuditConfig {
            path,
            max_file_size: profile.and_then(|p| p.audit_max_file_size).unwrap_or(DEFAULT_MAX_FILE_SIZE),
            fail_closed: profile.is_some_and(|p| p.audit_fail_closed),
            signing_key: key("signing_key"),
            verify_key: key("verify_key"),
            queue_capacity: 4096,
            test_delay: Duration::from_millis(delay),
        }
    }

    /// The key `log verify` checks signatures with, if one is configured.
    pub fn verification_key(&self) -> Option<&str> {
        self.verify_key.as_deref().or(self.signing_key.as_deref())
    }
}

/// Whether the profile audits: `MXCP_AUDIT_ENABLED` (true/1/yes, false/0/no) overrides the
/// site's `profiles.<p>.audit.enabled`.
pub fn enabled(project: &Project) -> bool {
    match std::env::var("MXCP_AUDIT_ENABLED").ok().map(|v| v.to_ascii_lowercase()) {
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes") => true,
        Some(v) if matches!(v.as_str(), "0" | "false" | "no") => false,
        _ => project.site.profiles.get(&project.profile).is_some_and(|p| p.audit_enabled),
    }
}
