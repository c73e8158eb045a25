//! `mxcp serve`: check the project, then serve it over MCP; load and check it the same way
//! again at each reload (SIGHUP, the admin interface, `--watch`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use mxcp_runtime::audit::{AuditConfig, AuditError, AuditLog};
use mxcp_runtime::diagnostics::{self, Diagnostic, Findings};
use mxcp_runtime::exec::executor::Runtime;
use mxcp_runtime::exec::identity::Identity;
use mxcp_runtime::load::limits_config::LimitsConfig;
use mxcp_runtime::load::project::{Project, ProjectError};
use mxcp_runtime::serve::{self, Reloaded, Reloader, ServeOptions, Transport, WatchPaths};

use crate::cli::ServeArgs;
use crate::commands::{discover_project, load_project};

/// Where the admin socket is when `MXCP_ADMIN_SOCKET` does not say (the reference's place).
const DEFAULT_ADMIN_SOCKET: &str = "/run/mxcp/mxcp.sock";

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
    let checks = Checks { sql_tools: args.sql_tools, ignore_errors: args.ignore_errors };
    let runtime = match checks.prepare(Runtime::new(project, pool_size)) {
        Ok(runtime) => runtime,
        Err(rejected) => {
            rejected.report_at_start(args.json_output);
            return Ok(ExitCode::FAILURE);
        }
    };
    let watch = args.watch.then(|| WatchPaths {
        dirs: vec![runtime.project.root.clone()],
        files: mxcp_runtime::load::user_config::UserConfig::location(args.project.config.as_deref())
            .into_iter()
            .collect(),
    });
    let reloader = reloader(args.project.clone(), args.readonly, checks, pool_size);

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
        limits: profile_limits(&runtime.project),
        http,
        user,
        audit: audit.clone(),
        reloader: Some(reloader),
        admin_socket: admin_socket(),
        watch,
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

/// `MXCP_ADMIN_ENABLED=true`: the admin interface at `MXCP_ADMIN_SOCKET` (else the default).
fn admin_socket() -> Option<PathBuf> {
    let enabled = std::env::var("MXCP_ADMIN_ENABLED")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
    let socket = std::env::var_os("MXCP_ADMIN_SOCKET").filter(|v| !v.is_empty());
    enabled.then(|| socket.map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_ADMIN_SOCKET)))
}

fn profile_limits(project: &Project) -> LimitsConfig {
    project.site.profiles.get(&project.profile).map(|p| p.limits.clone()).unwrap_or_default()
}

/// Loads the project again and checks it as at start-up, keeping of `serving` what did not
/// change; the errors rendered as at start-up when the new set has any.
fn reloader(project_args: crate::cli::ProjectArgs, readonly: bool, checks: Checks, pool_size: usize) -> Reloader {
    Reloader(Arc::new(move |serving: &Runtime| {
        let project = discover_project(&project_args, readonly).map_err(|e| match e {
            ProjectError::Invalid(findings) => {
                format!("{}error: the project configuration has {} error(s)", findings.render(), findings.errors())
            }
            e => format!("error: {e}"),
        })?;
        refuse_start_only_changes(&serving.project, &project)?;
        let limits = profile_limits(&project);
        let runtime = checks.prepare(serving.successor(project, pool_size)).map_err(|r| r.render())?;
        Ok(Reloaded { runtime, limits })
    }))
}

/// What the server set up once at start (the token checker, the listener, the audit log, the
/// exporter) cannot follow a reload: a changed `auth`, `transport`, `audit` or `telemetry`
/// refuses the whole reload, so the server never appears to apply a setting it does not.
fn refuse_start_only_changes(
    serving: &mxcp_runtime::load::project::Project,
    next: &mxcp_runtime::load::project::Project,
) -> std::result::Result<(), String> {
    let (a, b) = (&serving.user_config, &next.user_config);
    let changed: Vec<&str> = [
        ("auth", a.auth != b.auth),
        ("transport", a.transport != b.transport),
        ("telemetry", a.telemetry != b.telemetry),
        ("audit", AuditConfig::for_project(serving) != AuditConfig::for_project(next)),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "error: the new configuration changes {}, which only a restart applies; nothing was reloaded",
        changed.join(", ")
    ))
}

/// The checks a set of endpoints passes before it is served.
#[derive(Clone, Copy)]
struct Checks {
    sql_tools: Option<bool>,
    ignore_errors: bool,
}

/// A set with errors: its runtime (for the project's files), the findings and the files.
struct Rejected {
    runtime: Runtime,
    findings: Findings,
    errors: Vec<Diagnostic>,
    failed: Vec<PathBuf>,
}

impl Checks {
    /// Checks the endpoints; with `--ignore-errors` the files with errors are left out.
    fn prepare(&self, mut runtime: Runtime) -> std::result::Result<Runtime, Box<Rejected>> {
        if let Some(enabled) = self.sql_tools {
            runtime.set_sql_tools(enabled);
        }
        let mut findings = mxcp_runtime::check::check(&runtime.project, || runtime.db_for_checks());
        // Endpoints whose calls will fail (a result that cannot pass output validation, a
        // Python function that cannot take the arguments) are still served, as the reference
        // serves them.
        for d in findings.diagnostics.iter().filter(|d| d.is_error() && d.at_run_time) {
            eprintln!("warning: {}: {} (its calls will fail)", d.file.display(), d.message);
        }
        findings.diagnostics.retain(|d| !(d.is_error() && d.at_run_time));
        let failed = runtime.project.failed_files(&findings);
        if failed.is_empty() {
            return Ok(runtime);
        }
        let mut errors: Vec<_> = findings.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
        diagnostics::sort(&mut errors);
        if !self.ignore_errors {
            return Err(Box::new(Rejected { runtime, findings, errors, failed }));
        }
        eprintln!("{}", findings.render_some(&errors));
        for f in &failed {
            eprintln!("warning: skipping {} (it has errors)", f.display());
        }
        runtime.exclude_files(failed);
        Ok(runtime)
    }
}

impl Rejected {
    fn render(&self) -> String {
        format!(
            "{}\nerror: {} endpoint file(s) have errors; fix them or start with --ignore-errors",
            self.findings.render_some(&self.errors),
            self.failed.len()
        )
    }

    /// The start-up failure report: the reference's JSON on stdout (no protocol yet), or text.
    fn report_at_start(&self, json: bool) {
        if !json {
            eprintln!("{}", self.render());
            return;
        }
        let project = &self.runtime.project;
        let failed_endpoints: Vec<_> = project
            .files
            .iter()
            .filter(|f| self.failed.contains(&f.rel))
            .map(|f| {
                let errors: Vec<&str> =
                    self.errors.iter().filter(|d| project.owns(f, d)).map(|d| d.message.as_str()).collect();
                serde_json::json!({"path": f.path.display().to_string(), "error": errors.join("\n")})
            })
            .collect();
        crate::output::print_json(&serde_json::json!({
            "status": "error",
            "message": format!("Found {} endpoint(s) with errors", self.failed.len()),
            "failed_endpoints": failed_endpoints,
        }));
    }
}
