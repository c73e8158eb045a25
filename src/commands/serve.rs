//! `mxcp serve`: check the project, then serve it over MCP.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use mxcp_runtime::audit::{AuditConfig, AuditError, AuditLog};
use mxcp_runtime::diagnostics;
use mxcp_runtime::exec::executor::Runtime;
use mxcp_runtime::exec::identity::Identity;
use mxcp_runtime::serve::{self, ServeOptions, Transport};

use crate::cli::ServeArgs;
use crate::commands::load_project;

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    // stdout is the protocol channel on stdio: every message here goes to stderr
    let project = match load_project(&args.project, args.readonly, args.json_output) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let transport_cfg = project.user_config.transport.clone();
    let transport = match args.transport.as_deref().or(transport_cfg.provider.as_deref()) {
        None | Some("stdio") => Transport::Stdio,
        Some("streamable-http") => Transport::StreamableHttp,
        Some(other) => bail!("transport '{other}' is not supported (use stdio or streamable-http)"),
    };
    // over stdio nobody authenticates: the caller is whoever started the server
    let user = crate::commands::parse_user_context(args.user_context.as_deref())?
        .and_then(|u| u.as_object().map(|u| Identity::from_user_context(u, "cli")));
    // the audit log is opened (its file created) first: one that cannot be written refuses
    // to start, rather than serving unaudited calls
    let audit = match AuditConfig::for_project(&project).map(AuditLog::open).transpose() {
        Ok(log) => log.map(Arc::new),
        Err(e) => {
            let help = "give it a writable place (audit.path in mxcp-site.yml; for a built server, a writable \
                        MXCP_DATA_DIR), or turn auditing off (audit.enabled: false, or MXCP_AUDIT_ENABLED=false)";
            let (message, help) = match e {
                AuditError::Key(m) => (m, None),
                e => (
                    format!("profile '{}' enables the audit log, but it cannot be written: {e}", project.profile),
                    Some(help),
                ),
            };
            crate::commands::report_error(args.json_output, &message, help);
            return Ok(ExitCode::FAILURE);
        }
    };

    let pool_size = std::thread::available_parallelism().map(|n| n.get() * 2).unwrap_or(4).max(4);
    let mut runtime = Runtime::new(project, pool_size);
    if let Some(enabled) = args.sql_tools {
        runtime.set_sql_tools(enabled);
    }

    let mut findings = mxcp_runtime::check::check(&runtime.project, || runtime.db_for_checks());
    // Endpoints whose calls will fail (a result that cannot pass output validation, a Python
    // function that cannot take the arguments) are still served, as the reference serves them.
    for d in findings.diagnostics.iter().filter(|d| d.is_error() && d.at_run_time) {
        eprintln!("warning: {}: {} (its calls will fail)", d.file.display(), d.message);
    }
    findings.diagnostics.retain(|d| !(d.is_error() && d.at_run_time));
    let failed = runtime.project.failed_files(&findings);
    if !failed.is_empty() {
        let mut diags: Vec<_> = findings.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
        diagnostics::sort(&mut diags);
        if args.json_output && !args.ignore_errors {
            // the reference's start-up failure report, on stdout even for stdio (no protocol yet)
            let project = &runtime.project;
            let failed_endpoints: Vec<_> = project
                .files
                .iter()
                .filter(|f| failed.contains(&f.rel))
                .map(|f| {
                    let errors: Vec<&str> =
                        diags.iter().filter(|d| project.owns(f, d)).map(|d| d.message.as_str()).collect();
                    serde_json::json!({"path": f.path.display().to_string(), "error": errors.join("\n")})
                })
                .collect();
            crate::output::print_json(&serde_json::json!({
                "status": "error",
                "message": format!("Found {} endpoint(s) with errors", failed.len()),
                "failed_endpoints": failed_endpoints,
            }));
            return Ok(ExitCode::FAILURE);
        }
        eprintln!("{}", findings.render_some(&diags));
        if !args.ignore_errors {
            eprintln!("error: {} endpoint file(s) have errors; fix them or start with --ignore-errors", failed.len());
            return Ok(ExitCode::FAILURE);
        }
        for f in &failed {
            eprintln!("warning: skipping {} (it has errors)", f.display());
        }
        runtime.exclude_files(failed);
    }

    let telemetry = match runtime.project.user_config.telemetry.clone().with_env(|k| std::env::var(k).ok()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let http = transport_cfg.http;
    let opts = ServeOptions {
        transport,
        host: args.host.or_else(|| http.host.clone()).unwrap_or_else(|| "127.0.0.1".into()),
        port: args.port.or(http.port).unwrap_or(8000),
        stateless: args.stateless || http.stateless,
        allowed_hosts: args.allowed_hosts,
        allowed_origins: args.allowed_origins,
        call_timeout: Duration::from_secs(args.call_timeout.max(1)),
        auth: runtime.project.user_config.auth.clone(),
        limits: runtime
            .project
            .site
            .profiles
            .get(&runtime.project.profile)
            .map(|p| p.limits.clone())
            .unwrap_or_default(),
        http,
        user,
        audit: audit.clone(),
        telemetry,
        ..ServeOptions::default()
    };
    let served = serve::serve(Arc::new(runtime), opts);
    // every call has ended: what is queued is written before the process exits
    if let Some(log) = audit {
        log.shutdown();
    }
    served?;
    Ok(ExitCode::SUCCESS)
}
