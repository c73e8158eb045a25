//! `mxcp drift-snapshot` (record the project's state as the baseline) and `mxcp drift-check`
//! (compare with it; exit 1 on any drift).

use std::process::ExitCode;

use anyhow::Result;
use mxcp_runtime::drift::{self, DriftError, Snapshot};
use mxcp_runtime::exec::executor::Runtime;
use serde_json::json;

use crate::cli::{DriftCheckArgs, DriftSnapshotArgs};
use crate::commands::{load_project, report_error};
use crate::output;

pub fn snapshot(args: DriftSnapshotArgs) -> Result<ExitCode> {
    let json = args.json_output;
    let project = match load_project(&args.project, false, json) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let path = project.drift_path();
    // refused before the (slow) snapshot; `write` refuses again should the file appear meanwhile
    if !args.force && !args.dry_run && path.exists() {
        return failed(json, DriftError::Exists(path));
    }
    let runtime = Runtime::new(project, 1);
    let snap = match drift::snapshot(&runtime) {
        Ok(s) => s,
        Err(e) => return failed(json, e),
    };
    if !args.dry_run
        && let Err(e) = snap.write(&path, args.force)
    {
        return failed(json, e);
    }
    let hash = snap.hash();
    if json {
        output::ok(json!({"path": path.display().to_string(), "drift_hash": hash, "generated_at": snap.generated_at}));
    } else if args.dry_run {
        println!("{}", snap.to_file_text());
        eprintln!("dry run: nothing written (the snapshot goes to {})", path.display());
    } else {
        let broken = snap.resources.iter().filter(|r| r.validation_results.status != "ok").count();
        println!("Drift snapshot written to {}", path.display());
        println!("  tables: {}", snap.tables.len());
        println!("  endpoint files: {} ({broken} with errors)", snap.resources.len());
        println!("  hash: {hash}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn check(args: DriftCheckArgs) -> Result<ExitCode> {
    let json = args.json_output;
    let project = match load_project(&args.project, args.readonly, json) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    // a given baseline is named as given; the default one by its full path
    let path = args.baseline.clone().unwrap_or_else(|| project.drift_path());
    let baseline = match Snapshot::read(&path) {
        Ok(b) => b,
        Err(e) => return failed(json, e),
    };
    let runtime = Runtime::new(project, 1);
    let current = match drift::snapshot(&runtime) {
        Ok(s) => s,
        Err(e) => return failed(json, e),
    };
    let report = drift::compare(&baseline, &current, &path.display().to_string());
    if json {
        output::ok(serde_json::to_value(&report)?);
    } else {
        print!("{}", drift::render(&report, &baseline, &current));
    }
    Ok(if report.has_drift { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn failed(json: bool, e: DriftError) -> Result<ExitCode> {
    report_error(json, &e.to_string(), None);
    Ok(ExitCode::FAILURE)
}
