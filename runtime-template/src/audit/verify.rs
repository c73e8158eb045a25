//! `mxcp log verify`: every record's hash is recomputed, every `prev_hash` must be the hash
//! of the record before it (in the same file, or for a file's first record the last record of
//! an earlier file, or one `log-cleanup` removed), and with a key every record must carry a
//! valid signature. An edited record fails its hash; a deleted or reordered one breaks the
//! link of the record after it; a removed file breaks the link of the next file.
//!
//! A last line cut short (a crash mid-write) is reported but is no break: the writer links
//! the next run to the last whole record. Cut short anywhere else, the link after it breaks.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::AuditError;
use super::chain::{self, Verifier};
use super::files::{self, LogPaths};

/// A finding, located: file, line (from 1) and record id when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub file: PathBuf,
    pub line: usize,
    pub record_id: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    pub files: usize,
    pub records: u64,
    pub signed: u64,
    /// Breaks of the chain, in file order: the first one is where tampering starts.
    pub broken: Vec<Finding>,
    /// Incomplete last lines.
    pub incomplete: Vec<Finding>,
}

impl VerifyReport {
    pub fn intact(&self) -> bool {
        self.broken.is_empty()
    }
}

/// Verifies the log configured at `configured` (`audit/logs-<profile>.jsonl`); `key` is the
/// PEM public (or private) key signatures are checked with.
pub fn verify(configured: &Path, key: Option<&str>) -> Result<VerifyReport, AuditError> {
    let verifier = key.map(Verifier::from_pem).transpose()?;
    let paths = LogPaths::new(configured);
    let mut report = VerifyReport::default();
    // hashes a file's first record may link to: last records of earlier files, and records
    // log-cleanup removed
    let mut tails: HashSet<String> = removed_tails(&paths)?;
    let mut any_hashed = !tails.is_empty();
    for file in paths.list()? {
        report.files += 1;
        let mut prev: Option<Option<String>> = None;
        let mut last_hash = None;
        files::for_each_line(&file.path, |line| {
            let at = |record_id: Option<&str>, message: String| Finding {
                file: file.path.clone(),
                line: line.number,
                record_id: record_id.map(str::to_string),
                message,
            };
            if !line.complete {
                report.incomplete.push(at(None, "the last line is incomplete (a write cut short)".into()));
                return Ok(());
            }
            report.records += 1;
            let Ok(fields) = serde_json::from_slice::<Map<String, Json>>(&line.text) else {
                report.broken.push(at(None, "not a JSON record".into()));
                prev = Some(None);
                return Ok(());
            };
            let id = fields.get("record_id").and_then(Json::as_str);
            let Some(hash) = fields.get("record_hash").and_then(Json::as_str) else {
                report.broken.push(at(id, "the record has no record_hash (not written by mxcp)".into()));
                prev = Some(None);
                return Ok(());
            };
            if chain::record_hash(&fields) != hash {
                report
                    .broken
                    .push(at(id, "the record was changed after it was written (its hash does not match)".into()));
            }
            let linked = fields.get("prev_hash").and_then(Json::as_str);
            match &prev {
                // after an unreadable record the next link cannot be judged: the break is reported
                Some(None) => {}
                Some(Some(p)) if linked == Some(p.as_str()) => {}
                Some(Some(_)) => report.broken.push(at(
                    id,
                    "the chain is broken before this record: a record was removed or moved here".into(),
                )),
                None => match linked {
                    None if !any_hashed => {}
                    Some(l) if tails.contains(l) => {}
                    _ => report.broken.push(at(
                        id,
                        "the file's first record does not follow the last record of an earlier file: records or files before it were removed".into(),
                    )),
                },
            }
            if let Some(v) = &verifier {
                match fields.get("signature").and_then(Json::as_str) {
                    Some(sig) if v.verify(hash, sig) => report.signed += 1,
                    Some(_) => report.broken.push(at(id, "the signature does not match the record".into())),
                    None => report.broken.push(at(id, "the record is not signed".into())),
                }
            }
            prev = Some(Some(hash.to_string()));
            last_hash = Some(hash.to_string());
            Ok(())
        })?;
        if let Some(h) = last_hash {
            tails.insert(h);
            any_hashed = true;
        }
    }
    Ok(report)
}

/// The `last_hash` of each file `log-cleanup` removed records from.
fn removed_tails(paths: &LogPaths) -> Result<HashSet<String>, AuditError> {
    let mut out = HashSet::new();
    let path = paths.retention();
    if !path.exists() {
        return Ok(out);
    }
    files::for_each_line(&path, |line| {
        if let Ok(v) = serde_json::from_slice::<Json>(&line.text) {
            if let Some(h) = v["last_hash"].as_str() {
                out.insert(h.to_string());
            }
        }
        Ok(())
    })?;
    Ok(out)
}
