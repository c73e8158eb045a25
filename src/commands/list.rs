//! `mxcp list`: the endpoints a project defines (discovery and decoding only, no database).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::cli::ListArgs;
use crate::commands::load_project;
use crate::output;

pub fn run(args: ListArgs) -> Result<ExitCode> {
    let project = match load_project(&args.project, false, args.json_output) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let mut rows = Vec::new();
    // broken files are listed with their first error, not run
    let findings = mxcp_runtime::check::check_static(&project);
    for file in &project.files {
        if file.endpoint.as_ref().is_some_and(|e| !e.enabled) {
            continue;
        }
        let errors = findings.file_errors(&file.rel);
        let error = errors.first().map(|d| format!("{}:{}: {}", d.line, d.column, d.message)).unwrap_or_default();
        match (&file.endpoint, errors.is_empty()) {
            (Some(e), _) => rows.push((file, Some(e.kind.as_str()), Some(e.name.clone()), error)),
            (None, false) => rows.push((file, None, None, error)),
            // skipped with a warning (e.g. a resource under tools/)
            (None, true) => {}
        }
    }
    let failed = rows.iter().filter(|r| !r.3.is_empty()).count();
    if args.json_output {
        let endpoints: Vec<_> = rows
            .iter()
            .map(|(f, kind, name, error)| {
                // as the reference lists a file that failed: no kind or name, the bare message
                let failed = !error.is_empty();
                let message = findings.file_errors(&f.rel).first().map(|d| d.message.clone()).unwrap_or_default();
                json!({
                    "path": f.path.display().to_string(),
                    "kind": if failed { "unknown" } else { kind.unwrap_or("unknown") },
                    "name": if failed { "unknown".to_string() } else { name.clone().unwrap_or_default() },
                    "error": message,
                })
            })
            .collect();
        let status = if failed == 0 { "ok" } else { "error" };
        output::ok(json!({"status": status, "endpoints": endpoints}));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No endpoints found in {}", project.root.display());
        return Ok(ExitCode::SUCCESS);
    }
    for (kind, title) in [("tool", "Tools"), ("resource", "Resources"), ("prompt", "Prompts")] {
        let group: Vec<_> = rows.iter().filter(|r| r.1 == Some(kind)).collect();
        if group.is_empty() {
            continue;
        }
        println!("{title}:");
        let width = group.iter().map(|r| r.2.as_deref().unwrap_or("").len()).max().unwrap_or(0);
        for (f, _, name, error) in group {
            let mark = if error.is_empty() { "  " } else { "✗ " };
            println!("  {mark}{:<width$}  {}", name.as_deref().unwrap_or(""), f.rel.display());
        }
    }
    let broken: Vec<_> = rows.iter().filter(|r| r.1.is_none()).collect();
    if !broken.is_empty() {
        println!("Invalid files:");
        for (f, _, _, error) in broken {
            println!("  ✗ {}: {error}", f.rel.display());
        }
    }
    if failed > 0 {
        println!("\n{failed} endpoint file(s) have errors: run `mxcp validate` for details");
    }
    Ok(ExitCode::SUCCESS)
}
