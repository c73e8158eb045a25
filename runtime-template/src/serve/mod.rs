//! The MCP server: the only module that talks to rmcp. Endpoint definitions are turned into
//! MCP tools, resources, templates and prompts once at start (`catalog`); each call runs on
//! a blocking thread so slow SQL never stalls the protocol, with a timeout and panic
//! isolation. `handler` answers the MCP requests; `stdio` and `http` are the transports;
//! [`schema`] turns declared types into JSON Schema and results into MCP content.

mod admin;
mod audit_record;
mod catalog;
mod gate;
mod generation;
mod handler;
mod http;
mod reload;
pub mod schema;
mod sessions;
mod stdio;
mod watch;

pub use reload::{Reloaded, Reloader};
pub use watch::WatchPaths;
mod traced;

use std::sync::Arc;
use std::time::Duration;

use crate::audit::AuditLog;
use crate::exec::executor::Runtime;

use catalog::State;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot start the server: {0}")]
    Start(String),
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error("cannot open the admin socket {path}: {message} (MXCP_ADMIN_SOCKET names another place)")]
    Admin { path: String, message: String },
    #[error(transparent)]
    Telemetry(#[from] crate::telemetry::TelemetryError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Stdio,
    StreamableHttp,
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub transport: Transport,
    pub host: String,
    pub port: u16,
    /// No sessions: every HTTP request stands alone.
    pub stateless: bool,
    /// Extra `Host` header values accepted besides loopback names (DNS-rebinding guard).
    pub allowed_hosts: Vec<String>,
    /// Extra `Origin`s accepted besides loopback origins (403 otherwise).
    pub allowed_origins: Vec<String>,
    pub max_request_bytes: usize,
    pub call_timeout: Duration,
    /// The `auth` block: HTTP requests need a token it accepts (stdio is not affected).
    pub auth: crate::load::auth_config::AuthConfig,
    /// `transport.http`: the public URL, for the audience and the metadata.
    pub http: crate::load::auth_config::HttpTransport,
    /// Who calls when the transport names nobody (`serve --user-context`).
    pub user: Option<crate::exec::identity::Identity>,
    /// The site profile's `limits`.
    pub limits: crate::load::limits_config::LimitsConfig,
    /// Every call is recorded here (`None`: auditing is off).
    pub audit: Option<Arc<AuditLog>>,
    /// How to load the project again (SIGHUP, `POST /reload`, `--watch`); `None`: no reloads.
    pub reloader: Option<Reloader>,
    /// The admin interface's unix socket (`MXCP_ADMIN_ENABLED`).
    pub admin_socket: Option<std::path::PathBuf>,
    /// `serve --watch`: reload when these change.
    pub watch: Option<WatchPaths>,
    /// The user configuration's `telemetry`, the environment applied.
    pub telemetry: crate::load::telemetry_config::TelemetryConfig,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            transport: Transport::Stdio,
            host: "127.0.0.1".into(),
            port: 8000,
            stateless: false,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_request_bytes: 4 * 1024 * 1024,
            call_timeout: Duration::from_secs(300),
            auth: Default::default(),
            http: Default::default(),
            user: None,
            limits: Default::default(),
            audit: None,
            reloader: None,
            admin_socket: None,
            watch: None,
            telemetry: Default::default(),
        }
    }
}

/// Serves one MCP session over `input` and `output` (newline-delimited JSON-RPC) as the stdio
/// transport does, its gate included, until `input` ends. What the in-process tests drive,
/// over `tokio::io::duplex`.
pub async fn serve_session<R, W>(runtime: Arc<Runtime>, call_timeout: Duration, input: R, output: W)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let state = Arc::new(State::new(runtime, call_timeout, None));
    // an in-memory stream does not fail: the session's end is the input's end
    let _ = stdio::run_gated(Box::new(input), Box::new(output), |i, o| stdio::session(state, i, o)).await;
}

/// Serves until stdin closes (stdio) or SIGINT/SIGTERM (after the calls in flight finish, so
/// their audit records are queued before the caller shuts the audit log down).
pub fn serve(runtime: Arc<Runtime>, opts: ServeOptions) -> Result<(), ServerError> {
    // the protocol leaves fd 1 before any Python or C extension could print to it
    let proto_out = match opts.transport {
        Transport::Stdio => Some(stdio::take_stdout().map_err(|e| ServerError::Start(e.to_string()))?),
        Transport::StreamableHttp => None,
    };
    // Python starts now, not at the first call: its `@on_init` hooks run at start-up
    if runtime.needs_python() {
        runtime.python().map_err(|e| ServerError::Start(e.to_string()))?;
    }
    let telemetry = crate::telemetry::Telemetry::start(&opts.telemetry)?;
    let (result, last) = serve_with(runtime, opts, proto_out, telemetry.clone());
    // the generation serving last (a reload may have replaced the first)
    last.shutdown();
    // the last spans and the final metrics go out before the process ends
    if let Some(t) = telemetry {
        t.shutdown();
    }
    result
}

/// Serves; the outcome and the runtime serving at the end.
fn serve_with(
    runtime: Arc<Runtime>,
    opts: ServeOptions,
    proto_out: Option<std::fs::File>,
    telemetry: Option<Arc<crate::telemetry::Telemetry>>,
) -> (Result<(), ServerError>, Arc<Runtime>) {
    let mut state = State::new(runtime.clone(), opts.call_timeout, opts.audit.clone());
    state.telemetry = telemetry;
    state.default_caller.identity = opts.user.clone().map(Arc::new);
    state.swap(generation::Generation::new(1, runtime, opts.limits.clone()));
    state.reloads.reloader = opts.reloader.clone();
    let state = Arc::new(state);
    let last = state.clone();
    // stdio is one client taking turns: a single-threaded runtime saves a cross-thread wake-up
    // at each hop of every message (measured: ~0.5 -> ~0.43 ms per call); HTTP serves many
    let rt = match opts.transport {
        Transport::Stdio => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Transport::StreamableHttp => tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).build(),
    }
    .map_err(|e| ServerError::Start(e.to_string()));
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => return (Err(e), last.generation().runtime.clone()),
    };
    let result = rt.block_on(async move {
        if let Err(e) = start_side_tasks(&state, &opts) {
            return Err(e);
        }
        match opts.transport {
            Transport::Stdio => {
                let draining = state.clone();
                tokio::select! {
                    r = stdio::serve(state, proto_out.expect("taken for stdio")) => r,
                    _ = shutdown_signal() => {
                        draining.draining.store(true, std::sync::atomic::Ordering::SeqCst);
                        draining.drain(Duration::from_secs(30)).await;
                        draining.reloads.settle(Duration::from_secs(10)).await;
                        Ok(())
                    }
                }
            }
            Transport::StreamableHttp => http::serve(state, &opts).await,
        }
    });
    // a blocking read of a terminal's stdin must not hold the exit
    rt.shutdown_timeout(Duration::from_secs(1));
    (result, last.generation().runtime.clone())
}

/// Reloads on SIGHUP, the admin interface, the file watcher: what runs beside the transport.
fn start_side_tasks(state: &Arc<State>, opts: &ServeOptions) -> Result<(), ServerError> {
    if state.reloads.reloader.is_some() {
        // from now on SIGHUP reloads (its default would end the process)
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| ServerError::Start(format!("cannot handle SIGHUP: {e}")))?;
        tokio::spawn(reload::on_hangup(state.clone(), hangup));
        if let Some(paths) = &opts.watch {
            tokio::spawn(watch::run(state.clone(), paths.clone()));
        }
    }
    if let Some(path) = &opts.admin_socket {
        let socket = admin::bind(path)?;
        tokio::spawn(admin::serve(state.clone(), socket));
    }
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
