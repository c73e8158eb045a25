//! `mxcp log` (query, export), `mxcp log verify` and `mxcp log-cleanup`: the active
//! profile's audit log. The JSON output (`--json`, as the reference spells it) is the
//! reference's.

use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Result;
use mxcp_runtime::audit::{self, AuditConfig, ExportFormat, Filter};
use serde_json::{Value as Json, json};

use crate::cli::{LogAction, LogArgs, LogCleanupArgs, LogVerifyArgs, ProjectArgs};
use crate::commands::{load_project, report_error};
use crate::output;

pub fn run(args: LogArgs) -> Result<ExitCode> {
    if let Some(LogAction::Verify(v)) = args.action {
        return verify(v);
    }
    let config = match audit_config(&args.project, args.json) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let since = match args.since.as_deref().map(audit::parse_since).transpose() {
        Ok(s) => s.map(|age| SystemTime::now() - age),
        Err(message) => {
            report_error(args.json, &message, None);
            return Ok(ExitCode::FAILURE);
        }
    };
    let (operation_type, operation_name) = match (&args.tool, &args.resource, &args.prompt) {
        (Some(n), _, _) => (Some("tool".to_string()), Some(n.clone())),
        (_, Some(n), _) => (Some("resource".to_string()), Some(n.clone())),
        (_, _, Some(n)) => (Some("prompt".to_string()), Some(n.clone())),
        _ => (args.kind.clone(), None),
    };
    let filter =
        Filter { operation_type, operation_name, policy: args.policy, status: args.status, since, limit: args.limit };
    let export = match (&args.export_csv, &args.export_duckdb) {
        (Some(p), _) => Some((ExportFormat::Csv, "csv", p)),
        (_, Some(p)) => Some((ExportFormat::DuckDb, "duckdb", p)),
        _ => None,
    };
    if let Some((format, name, path)) = export {
        return match audit::export(&config.path, &filter, format, path) {
            Ok(n) => {
                if args.json {
                    output::ok(json!({"exported": n, "format": name, "path": path.display().to_string()}));
                } else {
                    println!("Exported {n} records to {}", path.display());
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                report_error(args.json, &e.to_string(), None);
                Ok(ExitCode::FAILURE)
            }
        };
    }
    let found = match audit::query(&config.path, &filter) {
        Ok(f) => f,
        Err(e) => {
            report_error(args.json, &e.to_string(), None);
            return Ok(ExitCode::FAILURE);
        }
    };
    for (file, line) in &found.incomplete {
        eprintln!(
            "warning: {}:{line}: the last line is incomplete (a write cut short, as by a crash); it is left out",
            file.display()
        );
    }
    if args.json {
        output::ok(json!({"count": found.records.len(), "records": found.records}));
    } else if found.records.is_empty() {
        println!("No audit records found matching the criteria.");
    } else {
        for r in &found.records {
            print_record(r);
        }
        println!("({} record{})", found.records.len(), if found.records.len() == 1 { "" } else { "s" });
    }
    Ok(ExitCode::SUCCESS)
}

/// `2026-12-01 12:48:08  tool      get_item   success  175 ms  allow  alice`
fn print_record(r: &Json) {
    let text = |k: &str| r[k].as_str().unwrap_or("-").to_string();
    let time: String = text("timestamp").chars().take(19).collect::<String>().replace('T', " ");
    let user = r["user_id"].as_str().unwrap_or("anonymous");
    let mut line = format!(
        "{time}  {:<8}  {:<30}  {:<7}  {:>6} ms  {:<5}  {user}",
        text("operation_type"),
        text("operation_name"),
        text("operation_status"),
        r["duration_ms"].as_u64().unwrap_or(0),
        text("policy_decision"),
    );
    if let Some(e) = r["error"].as_str() {
        line.push_str(&format!("\n    {}", e.lines().next().unwrap_or_default()));
    }
    println!("{line}");
}

fn verify(args: LogVerifyArgs) -> Result<ExitCode> {
    let config = match audit_config(&args.project, args.json) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let report = match audit::verify(&config.path, config.verification_key()) {
        Ok(r) => r,
        Err(e) => {
            report_error(args.json, &e.to_string(), None);
            return Ok(ExitCode::FAILURE);
        }
    };
    let finding = |f: &audit::Finding| json!({"file": f.file.display().to_string(), "line": f.line, "record_id": f.record_id, "message": f.message});
    let located = |f: &audit::Finding| {
        let id = f.record_id.as_ref().map(|i| format!(" (record {i})")).unwrap_or_default();
        format!("{}:{}{id}: {}", f.file.display(), f.line, f.message)
    };
    let result = json!({
        "intact": report.intact(),
        "files": report.files,
        "records": report.records,
        "signed": report.signed,
        "first_break": report.broken.first().map(finding),
        "broken": report.broken.iter().map(finding).collect::<Vec<_>>(),
        "incomplete": report.incomplete.iter().map(finding).collect::<Vec<_>>(),
    });
    let first = report.broken.first().map(located);
    if args.json {
        match &first {
            None => output::ok(result),
            Some(f) => output::error(&format!("the audit log is broken at {f}"), Some(json!({"result": result}))),
        }
    } else {
        for f in &report.incomplete {
            eprintln!("warning: {} (it is not part of the chain)", located(f));
        }
        match &first {
            None => {
                let signed = if config.verification_key().is_some() {
                    format!(", every one signed ({})", report.signed)
                } else {
                    String::new()
                };
                println!("audit log intact: {} record(s) in {} file(s){signed}", report.records, report.files);
            }
            Some(f) => {
                eprintln!("error: the audit log is broken at {f}");
                for more in report.broken.iter().skip(1).take(9) {
                    eprintln!("  also {}", located(more));
                }
                if report.broken.len() > 10 {
                    eprintln!("  ... and {} more", report.broken.len() - 10);
                }
            }
        }
    }
    Ok(if first.is_some() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub fn cleanup(args: LogCleanupArgs) -> Result<ExitCode> {
    let config = match audit_config(&args.project, args.json) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let report = match audit::cleanup(&config.path, SystemTime::now(), args.dry_run) {
        Ok(r) => r,
        Err(e) => {
            report_error(args.json, &e.to_string(), None);
            return Ok(ExitCode::FAILURE);
        }
    };
    let n = report.total();
    if args.json {
        let (status, message) = if args.dry_run {
            ("dry_run", format!("Would delete {n} records"))
        } else {
            ("success", format!("Deleted {n} records"))
        };
        output::ok(json!({"status": status, "message": message, "deleted_per_schema": report.deleted}));
    } else if n == 0 {
        println!("No records are older than their retention.");
    } else {
        let verb = if args.dry_run { "Would delete" } else { "Deleted" };
        println!("{verb} {n} record(s) older than their retention:");
        for (schema, count) in &report.deleted {
            println!("  {schema}: {count}");
        }
        println!("({} file(s) removed, {} rewritten)", report.files_deleted, report.files_rewritten);
    }
    Ok(ExitCode::SUCCESS)
}

/// The profile's audit log; the reference's error when auditing is off.
fn audit_config(project: &ProjectArgs, json: bool) -> std::result::Result<AuditConfig, ExitCode> {
    let project = load_project(project, false, json)?;
    AuditConfig::for_project(&project).ok_or_else(|| {
        let p = &project.profile;
        report_error(
            json,
            &format!(
                "Audit logging is not enabled for profile '{p}'. Enable it in mxcp-site.yml under profiles.{p}.audit.enabled"
            ),
            None,
        );
        ExitCode::FAILURE
    })
}
