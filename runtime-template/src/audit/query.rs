//! `mxcp log`: the records, newest first, read with DuckDB's JSON reader (much faster than
//! parsing line by line here). Files are read newest first, as few as the query needs: a
//! file last written before `--since` holds nothing newer, and once `--limit` records are
//! found, files last written before the oldest of them cannot hold a newer one. Exports
//! (CSV, a DuckDB table `audit_logs`) take every matching record.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value as Json};

use super::AuditError;
use super::files::{self, LogPaths};
use super::record::timestamp;
use crate::db::{Database, quote_string};

/// What `mxcp log` selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// `tool`, `resource` or `prompt`.
    pub operation_type: Option<String>,
    pub operation_name: Option<String>,
    /// `allow`, `deny`, `warn`, or `n/a` (no policy ran).
    pub policy: Option<String>,
    /// `success` or `error`.
    pub status: Option<String>,
    pub since: Option<SystemTime>,
    pub limit: usize,
}

/// Records found, and the files whose last line was incomplete (left out) with its number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub records: Vec<Json>,
    pub incomplete: Vec<(PathBuf, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    DuckDb,
}

/// Every column of a record, in the reference's export order, with the types DuckDB reads
/// them as (JSON for the nested values).
const COLUMNS: &[(&str, &str)] = &[
    ("record_id", "VARCHAR"),
    ("timestamp", "VARCHAR"),
    ("caller_type", "VARCHAR"),
    ("operation_type", "VARCHAR"),
    ("operation_name", "VARCHAR"),
    ("duration_ms", "INTEGER"),
    ("user_id", "VARCHAR"),
    ("session_id", "VARCHAR"),
    ("trace_id", "VARCHAR"),
    ("operation_status", "VARCHAR"),
    ("error", "VARCHAR"),
    ("policy_decision", "VARCHAR"),
    ("policy_reason", "VARCHAR"),
    ("business_context", "JSON"),
    ("execution_events", "JSON"),
    ("schema_name", "VARCHAR"),
    ("schema_version", "INTEGER"),
    ("input_data", "JSON"),
    ("output_data", "JSON"),
    ("policies_evaluated", "JSON"),
    ("prev_hash", "VARCHAR"),
    ("record_hash", "VARCHAR"),
    ("signature", "VARCHAR"),
];

/// The fields of `log --json`'s records, in the reference's order.
const LISTED: &[&str] = &[
    "record_id",
    "timestamp",
    "caller_type",
    "operation_type",
    "operation_name",
    "duration_ms",
    "user_id",
    "session_id",
    "trace_id",
    "operation_status",
    "error",
    "business_context",
    "policy_decision",
];

/// `10s`, `5m`, `2h`, `1d` (the reference's forms).
pub fn parse_since(text: &str) -> Result<Duration, String> {
    let bad = || format!("Invalid time format: {text}. Use format like '10m', '2h', '1d'");
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
}

/// The records matching `filter`, newest first, at most `filter.limit`.
pub fn query(configured: &Path, filter: &Filter) -> Result<Found, AuditError> {
    let (candidates, incomplete) = candidate_files(configured, filter)?;
    let mut found = Found { records: Vec::new(), incomplete };
    if candidates.is_empty() || filter.limit == 0 {
        return Ok(found);
    }
    let db = Database::in_memory()?;
    let columns: Vec<(&str, &str)> = COLUMNS.iter().copied().filter(|(c, _)| LISTED.contains(c)).collect();
    let select = LISTED.join(", ");
    let mut i = 0;
    let mut group = 1;
    while i < candidates.len() {
        let end = (i + group).min(candidates.len());
        let order = format!(" ORDER BY timestamp DESC LIMIT {}", filter.limit);
        let rows = run(&db, &select, &columns, &candidates[i..end], filter, &order, &|sql| sql)?;
        found.records.extend(rows.rows.into_iter().map(listed));
        found.records.sort_by(|a, b| b["timestamp"].as_str().cmp(&a["timestamp"].as_str()));
        found.records.truncate(filter.limit);
        i = end;
        group *= 2;
        if found.records.len() == filter.limit {
            let oldest = found.records.last().and_then(|r| r["timestamp"].as_str()).unwrap_or_default().to_string();
            // the remaining files were last written before this one: nothing newer in them
            if candidates.get(i).is_none_or(|c| c.written.as_str() < oldest.as_str()) {
                break;
            }
        }
    }
    for r in &mut found.records {
        // the reference prints times with an offset
        if let Some(t) = r["timestamp"].as_str().and_then(|t| t.strip_suffix('Z')) {
            r["timestamp"] = Json::String(format!("{t}+00:00"));
        }
    }
    Ok(found)
}

/// Writes every record matching `filter` (its limit ignored, as the reference does) to `out`;
/// the number written.
pub fn export(configured: &Path, filter: &Filter, format: ExportFormat, out: &Path) -> Result<u64, AuditError> {
    let (candidates, _) = candidate_files(configured, filter)?;
    let db = Database::in_memory()?;
    let select = COLUMNS
        .iter()
        .map(|(c, _)| match *c {
            "timestamp" => "regexp_replace(timestamp, 'Z$', '+00:00') AS timestamp".to_string(),
            c => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let target = quote_string(&out.to_string_lossy());
    let (prefix, suffix) = match format {
        ExportFormat::Csv => ("COPY (".to_string(), format!(") TO {target} (FORMAT csv, HEADER)")),
        ExportFormat::DuckDb => {
            if out.exists() {
                std::fs::remove_file(out)?;
            }
            db.execute_batch(&format!("ATTACH {target} AS exported"))?;
            ("CREATE TABLE exported.audit_logs AS ".to_string(), String::new())
        }
    };
    let rows = if candidates.is_empty() {
        let cols = COLUMNS.iter().map(|(c, t)| format!("NULL::{t} AS {c}")).collect::<Vec<_>>().join(", ");
        db.query(&format!("{prefix}SELECT {cols} LIMIT 0{suffix}"), &Map::new(), &|_| None)?
    } else {
        // DuckDB answers COPY and CREATE TABLE AS with the number of rows written
        let wrap = |sql: String| format!("{prefix}{sql}{suffix}");
        run(&db, &select, COLUMNS, &candidates, filter, " ORDER BY timestamp DESC", &wrap)?
    };
    if format == ExportFormat::DuckDb {
        db.execute_batch("DETACH exported")?;
    }
    Ok(rows.rows.first().and_then(|r| r.values().next()).and_then(Json::as_u64).unwrap_or(0))
}

/// A records file that may hold matching records.
struct Candidate {
    path: PathBuf,
    /// When it was last written, as record time text: no record in it is newer.
    written: String,
    /// Its last line is complete (DuckDB then reads it strictly, which is faster).
    whole: bool,
}

/// The files that may hold matching records, newest first; and the incomplete last lines
/// among them.
fn candidate_files(configured: &Path, filter: &Filter) -> Result<(Vec<Candidate>, Vec<(PathBuf, usize)>), AuditError> {
    let since = filter.since.map(timestamp);
    let mut out = Vec::new();
    let mut incomplete = Vec::new();
    for f in LogPaths::new(configured).list()? {
        let written = files::modified(&f.path).map(timestamp).unwrap_or_default();
        if since.as_ref().is_some_and(|s| written < *s) {
            continue;
        }
        if std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0) == 0 {
            continue;
        }
        let cut = files::incomplete_last_line(&f.path)?;
        if let Some(line) = cut {
            incomplete.push((f.path.clone(), line));
        }
        out.push(Candidate { path: f.path, written, whole: cut.is_none() });
    }
    out.sort_by(|a, b| b.written.cmp(&a.written));
    Ok((out, incomplete))
}

/// `SELECT <select> FROM <files> WHERE <filter><tail>`, wrapped by `wrap` (an export), run.
/// Whole files are read strictly; should one hold a line that is no JSON (edited by hand),
/// everything is read again skipping such lines.
fn run(
    db: &Database,
    select: &str,
    columns: &[(&str, &str)],
    files: &[Candidate],
    filter: &Filter,
    tail: &str,
    wrap: &dyn Fn(String) -> String,
) -> Result<crate::db::QueryResult, AuditError> {
    let attempt = |tolerant: bool| {
        let (sql, args) = select_sql(select, columns, files, filter, tolerant);
        db.query(&wrap(format!("{sql}{tail}")), &args, &|_| None)
    };
    match attempt(false) {
        Ok(rows) => Ok(rows),
        Err(crate::db::DbError::Sql(_)) => Ok(attempt(true)?),
        Err(e) => Err(e.into()),
    }
}

/// `SELECT <select> FROM read_json(<files>) WHERE <filter>`, with its parameters; `tolerant`
/// skips unreadable lines in every file (else only in files whose last line is cut short).
fn select_sql(
    select: &str,
    columns: &[(&str, &str)],
    files: &[Candidate],
    filter: &Filter,
    tolerant: bool,
) -> (String, Map<String, Json>) {
    let columns = columns.iter().map(|(c, t)| format!("{}: '{t}'", quote_string(c))).collect::<Vec<_>>().join(", ");
    let reader = |files: Vec<&Candidate>, skip_errors: bool| {
        let list = files.iter().map(|c| quote_string(&c.path.to_string_lossy())).collect::<Vec<_>>().join(", ");
        format!(
            "SELECT * FROM read_json([{list}], format = 'newline_delimited', records = true, \
             ignore_errors = {skip_errors}, maximum_object_size = 67108864, columns = {{{columns}}})"
        )
    };
    let (strict, lenient): (Vec<&Candidate>, Vec<&Candidate>) = files.iter().partition(|c| c.whole && !tolerant);
    let mut sources = Vec::new();
    if !strict.is_empty() {
        sources.push(reader(strict, false));
    }
    if !lenient.is_empty() {
        sources.push(reader(lenient, true));
    }
    // a line DuckDB could not read (one cut short) comes back as a row of NULLs
    let mut conditions = vec!["record_id IS NOT NULL".to_string()];
    let mut args = Map::new();
    let mut bind = |cond: &str, name: &str, value: &str| {
        conditions.push(cond.to_string());
        args.insert(name.into(), Json::String(value.into()));
    };
    if let Some(t) = &filter.operation_type {
        bind("operation_type = $type", "type", t);
    }
    if let Some(n) = &filter.operation_name {
        bind("operation_name = $name", "name", n);
    }
    if let Some(s) = &filter.status {
        bind("operation_status = $status", "status", s);
    }
    if let Some(since) = filter.since {
        bind("timestamp >= $since", "since", &timestamp(since));
    }
    match filter.policy.as_deref() {
        Some("n/a") => conditions.push("policy_decision IS NULL".into()),
        Some(p) => bind("policy_decision = $policy", "policy", p),
        None => {}
    }
    let sql = format!("SELECT {select} FROM ({}) WHERE {}", sources.join(" UNION ALL "), conditions.join(" AND "));
    (sql, args)
}

/// A row of the listing: business_context parsed back (DuckDB gives JSON columns as text).
fn listed(mut row: Map<String, Json>) -> Json {
    if let Some(Json::String(text)) = row.get("business_context") {
        let parsed = serde_json::from_str(text).unwrap_or(Json::Null);
        row.insert("business_context".into(), parsed);
    }
    Json::Object(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_since("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_since("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_since("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_since("5x").unwrap_err(), "Invalid time format: 5x. Use format like '10m', '2h', '1d'");
        assert!(parse_since("").is_err());
        assert!(parse_since("d").is_err());
    }
}
