//! `mxcp validate`: every finding of every endpoint, exit 1 on any error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use mxcp_runtime::diagnostics::{self, Diagnostic, Severity};
use mxcp_runtime::exec::executor::Runtime;
use mxcp_runtime::load::project::EndpointFile;
use serde_json::json;

use crate::cli::ValidateArgs;
use crate::commands::{load_project, report_error};
use crate::output;

pub fn run(args: ValidateArgs) -> Result<ExitCode> {
    let project = match load_project(&args.project, args.readonly, args.json_output) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let runtime = Runtime::new(project, 1);
    let findings = mxcp_runtime::check::check(&runtime.project, || runtime.db_for_checks());
    let project = &runtime.project;
    let only: Option<PathBuf> = match &args.endpoint {
        None => None,
        Some(p) => match resolve_endpoint_arg(p, &project.root) {
            Some(rel) if project.files.iter().any(|f| f.rel == rel) => Some(rel),
            _ => {
                let message = "Endpoint file not found or not a valid endpoint";
                if args.json_output {
                    output::ok(json!({"status": "error", "path": p.display().to_string(), "message": message}));
                } else {
                    report_error(false, &format!("{message}: {}", p.display()), None);
                }
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let files: Vec<_> = project
        .files
        .iter()
        .filter(|f| only.as_ref().is_none_or(|o| &f.rel == o))
        // disabled endpoints and files skipped with a warning are not validated (as in the reference)
        .filter(|f| match &f.endpoint {
            Some(e) => e.enabled,
            None => !findings.file_errors(&f.rel).is_empty(),
        })
        .collect();
    // a finding in an endpoint's .sql file belongs to that endpoint
    let owns = |f: &EndpointFile, d: &Diagnostic| project.owns(f, d);
    let mut diags: Vec<Diagnostic> =
        findings.diagnostics.iter().filter(|d| only.is_none() || files.iter().any(|f| owns(f, d))).cloned().collect();
    if args.strict {
        for d in diags.iter_mut().filter(|d| d.severity == Severity::Warning) {
            d.severity = Severity::Error;
        }
    }
    diagnostics::sort(&mut diags);
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.iter().filter(|d| d.severity == Severity::Warning).count();
    let failed_files = files.iter().filter(|f| diags.iter().any(|d| owns(f, d) && d.is_error())).count();

    if args.json_output {
        let validated: Vec<_> = files
            .iter()
            .map(|f| {
                let errs: Vec<&str> =
                    diags.iter().filter(|d| owns(f, d) && d.is_error()).map(|d| d.message.as_str()).collect();
                let mut v = json!({"status": if errs.is_empty() { "ok" } else { "error" }, "path": f.rel.display().to_string()});
                if !errs.is_empty() {
                    v["message"] = json!(errs.join("; "));
                }
                v
            })
            .collect();
        match (&only, validated.as_slice()) {
            // one file: its record itself, as the reference prints it
            (Some(_), [one]) => {
                let mut one = one.clone();
                one["diagnostics"] = json!(diags);
                output::ok(one);
            }
            _ => output::ok(json!({
                "status": if errors == 0 { "ok" } else { "error" },
                "validated": validated,
                "diagnostics": diags,
            })),
        }
    } else {
        if !diags.is_empty() {
            println!("{}", findings.render_some(&diags));
        }
        let summary = format!(
            "{} endpoint file(s) checked: {} valid, {} with errors ({errors} error(s), {warnings} warning(s))",
            files.len(),
            files.len() - failed_files,
            failed_files
        );
        println!("{summary}");
    }
    Ok(if errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn resolve_endpoint_arg(arg: &Path, root: &Path) -> Option<PathBuf> {
    let abs = if arg.is_absolute() { arg.to_path_buf() } else { std::env::current_dir().ok()?.join(arg) };
    let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
    abs.strip_prefix(root).ok().map(Path::to_path_buf).or_else(|| Some(arg.to_path_buf()))
}
