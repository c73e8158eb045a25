//! `mxcp test`: run the endpoints' inline tests; exit 1 unless every test passes.

use std::process::ExitCode;

use anyhow::Result;
use mxcp_runtime::exec::executor::Runtime;
use mxcp_runtime::exec::test_runner::{self, EndpointEntry, EndpointReport, Status, SuiteReport};
use mxcp_runtime::load::endpoint::EndpointKind;

use crate::cli::TestArgs;
use crate::commands::{load_project, parse_request_headers, parse_user_context, report_error};
use crate::output;

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let project = match load_project(&args.project, args.readonly, args.json_output) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let parsed = parse_user_context(args.user_context.as_deref())
        .and_then(|u| Ok((u, parse_request_headers(args.request_headers.as_deref())?)));
    let (user, request) = match parsed {
        Ok(u) => u,
        Err(e) => {
            report_error(args.json_output, &format!("{e:#}"), None);
            return Ok(ExitCode::FAILURE);
        }
    };
    let runtime = Runtime::new(project, 1);
    let project = runtime.project.clone();

    if let (Some(kind), Some(name)) = (&args.kind, &args.name) {
        let kind = EndpointKind::parse(kind).expect("clap checked the kind");
        let Some(e) = runtime.find(kind, name) else {
            let message = format!("Endpoint not found: {}/{name}", kind.as_str());
            if args.json_output {
                // the reference reports it as an erroring suite, inside an ok envelope
                output::ok(
                    serde_json::json!({"status": "error", "tests_run": 0, "tests": [], "no_tests": false, "message": message}),
                );
            } else {
                report_error(false, &message, None);
            }
            return Ok(ExitCode::FAILURE);
        };
        let report = test_runner::run_endpoint(&runtime, e, user.as_ref(), request.as_ref());
        let ok = report.status == Status::Ok;
        if args.json_output {
            output::ok(serde_json::to_value(&report)?);
        } else {
            print_endpoint(&e.id(), &report);
            print_summary(report.tests.iter().map(|t| t.status));
        }
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }

    let mut entries = Vec::new();
    // broken files are listed with their first error, not run
    let findings = mxcp_runtime::check::check_static(&project);
    for file in &project.files {
        let errors = findings.file_errors(&file.rel);
        match &file.endpoint {
            Some(e) if !e.enabled => continue,
            Some(e) if errors.is_empty() => {
                let report = test_runner::run_endpoint(&runtime, e, user.as_ref(), request.as_ref());
                entries.push(EndpointEntry {
                    endpoint: e.id(),
                    path: file.rel.display().to_string(),
                    test_results: report,
                });
            }
            None if errors.is_empty() => continue,
            _ => {
                // a file that does not validate cannot be tested: an error, not "no tests"
                let message = errors
                    .iter()
                    .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let endpoint = match &file.endpoint {
                    Some(e) => e.id(),
                    None => file.path.display().to_string(),
                };
                entries.push(EndpointEntry {
                    endpoint,
                    path: file.rel.display().to_string(),
                    test_results: EndpointReport {
                        status: Status::Error,
                        tests_run: 0,
                        tests: Vec::new(),
                        no_tests: false,
                        message: Some(message),
                    },
                });
            }
        }
    }
    let suite = SuiteReport {
        status: test_runner::overall(entries.iter().map(|e| e.test_results.status)),
        tests_run: entries.iter().map(|e| e.test_results.tests_run).sum(),
        endpoints: entries,
    };
    let ok = suite.status == Status::Ok;
    if args.json_output {
        output::ok(serde_json::to_value(&suite)?);
    } else {
        for e in &suite.endpoints {
            print_endpoint(&e.endpoint, &e.test_results);
        }
        print_summary(suite.endpoints.iter().flat_map(|e| {
            let own = e.test_results.tests.iter().map(|t| t.status);
            let broken =
                (e.test_results.status == Status::Error && e.test_results.tests.is_empty()).then_some(Status::Error);
            own.chain(broken)
        }));
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_endpoint(id: &str, r: &EndpointReport) {
    if r.no_tests {
        println!("  - {id}: no tests");
        return;
    }
    if let Some(m) = &r.message {
        println!("✗ {id}: {m}");
        return;
    }
    println!("{} {id}", if r.status == Status::Ok { "✓" } else { "✗" });
    for t in &r.tests {
        let mark = match t.status {
            Status::Passed => "✓",
            Status::Failed => "✗",
            _ => "!",
        };
        println!("    {mark} {} ({:.1} ms)", t.name, t.time * 1000.0);
        if let Some(err) = &t.error {
            for line in err.lines() {
                println!("        {line}");
            }
        }
    }
}

fn print_summary(statuses: impl Iterator<Item = Status>) {
    let (mut passed, mut failed, mut errors) = (0, 0, 0);
    for s in statuses {
        match s {
            Status::Passed => passed += 1,
            Status::Failed => failed += 1,
            Status::Error => errors += 1,
            Status::Ok => {}
        }
    }
    println!("\ntests: {passed} passed, {failed} failed, {errors} errors");
}
