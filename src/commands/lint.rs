//! `mxcp lint`: metadata quality findings.

use std::process::ExitCode;

use anyhow::Result;
use mxcp_runtime::diagnostics::{self, Severity};
use serde_json::json;

use crate::cli::LintArgs;
use crate::commands::load_project;
use crate::output;

pub fn run(args: LintArgs) -> Result<ExitCode> {
    let project = match load_project(&args.project, false, args.json_output) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let floor = match args.severity.as_str() {
        "error" => Severity::Error,
        "warning" => Severity::Warning,
        _ => Severity::Info,
    };
    let mut findings: Vec<_> =
        mxcp_runtime::check::lint::lint(&project).into_iter().filter(|d| d.severity <= floor).collect();
    diagnostics::sort(&mut findings);
    if args.json_output {
        let issues: Vec<_> = findings
            .iter()
            .map(|d| {
                json!({
                    "severity": d.severity.as_str(),
                    "path": project.root.join(&d.file).display().to_string(),
                    "line": d.line,
                    "column": d.column,
                    "location": d.yaml_path,
                    "message": d.message,
                    "suggestion": d.help,
                })
            })
            .collect();
        output::ok(json!(issues));
        return Ok(ExitCode::SUCCESS);
    }
    if !findings.is_empty() {
        println!("{}", project.findings.render_some(&findings));
    }
    let count = |s| findings.iter().filter(|d| d.severity == s).count();
    println!(
        "lint: {} error(s), {} warning(s), {} suggestion(s)",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    Ok(ExitCode::SUCCESS)
}
