//! `mxcp log-cleanup`: records older than their schema's retention (the registry's
//! `retention_days`, 90 for `mxcp.endpoints`) are removed: files holding only such records
//! are deleted, others rewritten without them (under the writer's lock, keeping their
//! modification time). What was removed is noted in `<stem>_retention.jsonl`, so that
//! `log verify` accepts the chain starting after it.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::AuditError;
use super::files::{self, LogPaths};
use super::record::{RETENTION_DAYS, SCHEMA_NAME, timestamp};
use super::writer::FileLock;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanupReport {
    /// Records removed (or that would be) per `schema:vN`.
    pub deleted: IndexMap<String, u64>,
    pub files_deleted: usize,
    pub files_rewritten: usize,
}

impl CleanupReport {
    pub fn total(&self) -> u64 {
        self.deleted.values().sum()
    }
}

/// The fields cleanup reads of each record.
#[derive(serde::Deserialize)]
struct Head {
    timestamp: Option<String>,
    schema_name: Option<String>,
    schema_version: Option<u64>,
    record_hash: Option<String>,
}

/// Removes the records older than their retention at `now` (only counts with `dry_run`).
pub fn cleanup(configured: &Path, now: SystemTime, dry_run: bool) -> Result<CleanupReport, AuditError> {
    let paths = LogPaths::new(configured);
    let retention = retention_days(&paths);
    let mut report = CleanupReport::default();
    let mut notes = Vec::new();
    for file in paths.list()? {
        // held from reading to rewriting: the server cannot append in between
        let handle = std::fs::OpenOptions::new().read(true).append(true).open(&file.path)?;
        let _lock = if dry_run { None } else { Some(FileLock::exclusive(&handle)?) };
        let mut keep: Vec<u8> = Vec::new();
        let mut removed = 0u64;
        let mut last_removed: Option<String> = None;
        let mut counts: IndexMap<String, u64> = IndexMap::new();
        files::for_each_line(&file.path, |line| {
            let head: Option<Head> = serde_json::from_slice(&line.text).ok();
            let expired = head.as_ref().and_then(|h| {
                let name = h.schema_name.as_deref().unwrap_or(SCHEMA_NAME);
                let days = retention.get(name).copied().unwrap_or(RETENTION_DAYS);
                let cutoff = timestamp(now.checked_sub(Duration::from_secs(days * 86_400))?);
                Some((h.timestamp.as_deref()? < cutoff.as_str(), format!("{name}:v{}", h.schema_version.unwrap_or(2))))
            });
            match (head, expired) {
                (Some(h), Some((true, key))) if line.complete => {
                    removed += 1;
                    *counts.entry(key).or_default() += 1;
                    last_removed = h.record_hash;
                }
                _ => {
                    keep.extend_from_slice(&line.text);
                    if line.complete {
                        keep.push(b'\n');
                    }
                }
            }
            Ok(())
        })?;
        if removed == 0 {
            continue;
        }
        for (k, n) in counts {
            *report.deleted.entry(k).or_default() += n;
        }
        if keep.is_empty() {
            report.files_deleted += 1;
        } else {
            report.files_rewritten += 1;
        }
        if dry_run {
            continue;
        }
        rewrite(&file.path, &handle, &keep)?;
        let name = file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        notes.push(json!({
            "removed_at": timestamp(now), "file": name, "records": removed, "last_hash": last_removed,
        }));
    }
    if !notes.is_empty() {
        let mut f = std::fs::OpenOptions::new().append(true).create(true).open(paths.retention())?;
        let mut text = Vec::new();
        for n in notes {
            serde_json::to_writer(&mut text, &n).expect("JSON");
            text.push(b'\n');
        }
        f.write_all(&text)?;
    }
    Ok(report)
}

/// Replaces a records file (locked by the caller) by `keep`; deletes it when empty.
fn rewrite(path: &Path, file: &std::fs::File, keep: &[u8]) -> Result<(), AuditError> {
    if keep.is_empty() {
        std::fs::remove_file(path)?;
        return Ok(());
    }
    let modified = file.metadata()?.modified()?;
    let tmp = path.with_extension("jsonl.cleanup");
    {
        let mut out = std::fs::File::create(&tmp)?;
        out.write_all(keep)?;
        out.sync_all()?;
        // the file's time bounds its records' times for `log`: keep it
        out.set_modified(modified)?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// `retention_days` per schema, from the schema registry.
fn retention_days(paths: &LogPaths) -> IndexMap<String, u64> {
    let mut out = IndexMap::new();
    let path = paths.schemas();
    let _ = files::for_each_line(&path, |line| {
        if let Ok(v) = serde_json::from_slice::<Json>(&line.text) {
            if let (Some(name), Some(days)) = (v["schema_name"].as_str(), v["retention_days"].as_u64()) {
                out.insert(name.to_string(), days);
            }
        }
        Ok(())
    });
    out
}
