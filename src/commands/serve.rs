//! `mxcp serve`: check the project, then serve it over MCP.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
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
    if let Some(refusal) = unenforced_configuration(&project) {
        crate::commands::report_error(args.json_output, &refusal, None);
        return Ok(ExitCode::FAILURE);
    }
    // over stdio nobody authenticates: the caller is whoever started the server
    let user = crate::commands::parse_user_context(args.user_context.as_deref())?
        .and_then(|u| u.as_object().map(|u| Identity::from_user_context(u, "cli")));
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
        ..ServeOptions::default()
    };
    serve::serve(Arc::new(runtime), opts)?;
    Ok(ExitCode::SUCCESS)
}

/// Configuration this build accepts but cannot enforce yet: serving anyway would lose the
/// audit records the user asked for.
fn unenforced_configuration(project: &mxcp_runtime::load::project::Project) -> Option<String> {
    let audit = match std::env::var("MXCP_AUDIT_ENABLED").ok().map(|v| v.to_ascii_lowercase()) {
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes") => true,
        Some(v) if matches!(v.as_str(), "0" | "false" | "no") => false,
        _ => project.site.profiles.get(&project.profile).is_some_and(|p| p.audit_enabled),
    };
    audit.then(|| {
        format!(
            "profile '{}' enables the audit log, which this build does not write yet: refusing to serve \
             unaudited calls (set audit.enabled: false, or MXCP_AUDIT_ENABLED=false)",
            project.profile
        )
    })
}
