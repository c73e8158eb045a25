//! The MCP server: the only module that talks to rmcp. Endpoint definitions are turned into
//! MCP tools, resources, templates and prompts once at start; each call runs on a blocking
//! thread so slow SQL never stalls the protocol, with a timeout and panic isolation.

// Logging (`logging/setLevel`, `notifications/message`) is deprecated for protocol 2026-07-28
// but part of the revisions up to 2025-11-25 that clients still speak.
#![allow(deprecated)]

mod gate;
pub mod schema;
mod stdio;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use regex::Regex;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult, ContentBlock,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel, LoggingMessageNotificationParam,
    PaginatedRequestParams, ProgressNotificationParam, Prompt, PromptArgument, PromptMessage,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
    Role, ServerCapabilities, ServerConfig, SetLevelRequestParams, SubscribeRequestParams, Tool, ToolAnnotations,
    UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::{Map, Value as Json};

use crate::endpoint::{Endpoint, EndpointKind};
use crate::exec::{CallEvents, CallOptions, ExecError, Runtime};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot start the server: {0}")]
    Start(String),
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
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
        }
    }
}

/// Serves until stdin closes (stdio) or SIGINT/SIGTERM (HTTP, after in-flight calls finish).
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
    let result = serve_with(runtime.clone(), opts, proto_out);
    runtime.shutdown();
    result
}

fn serve_with(runtime: Arc<Runtime>, opts: ServeOptions, proto_out: Option<std::fs::File>) -> Result<(), ServerError> {
    let state = Arc::new(State::new(runtime, opts.call_timeout));
    // stdio is one client taking turns: a single-threaded runtime saves a cross-thread wake-up
    // at each hop of every message (measured: ~0.5 -> ~0.43 ms per call); HTTP serves many
    let rt = match opts.transport {
        Transport::Stdio => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Transport::StreamableHttp => tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).build(),
    }
    .map_err(|e| ServerError::Start(e.to_string()))?;
    rt.block_on(async move {
        match opts.transport {
            Transport::Stdio => serve_stdio(state, proto_out.expect("taken for stdio")).await,
            Transport::StreamableHttp => serve_http(state, &opts).await,
        }
    })
}

async fn serve_stdio(state: Arc<State>, proto_out: std::fs::File) -> Result<(), ServerError> {
    stdio::run(proto_out, |input, output| async move {
        match Handler::new(state).serve((input, output)).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => eprintln!("mxcp: the MCP session ended: {e}"),
        }
    })
    .await
    .map_err(|e| ServerError::Start(e.to_string()))
}

async fn serve_http(state: Arc<State>, opts: &ServeOptions) -> Result<(), ServerError> {
    use axum::serve::ListenerExt;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into(), "[::1]".into()];
    hosts.extend(opts.allowed_hosts.iter().cloned());
    if !matches!(opts.host.as_str(), "0.0.0.0" | "::" | "127.0.0.1" | "localhost" | "::1") {
        hosts.push(opts.host.clone());
    }
    let mut origins = vec!["http://localhost:*".to_string(), "http://127.0.0.1:*".into(), "http://[::1]:*".into()];
    origins.extend(opts.allowed_origins.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(cancel.child_token())
        .with_legacy_session_mode(!opts.stateless)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(opts.max_request_bytes);
    let draining = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(Handler::new(state.clone())),
        LocalSessionManager::default().into(),
        config,
    );
    let limit = opts.max_request_bytes;
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(move |req, next| gate_http(req, next, limit)));
    let addr = format!("{}:{}", opts.host, opts.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| ServerError::Bind { addr: addr.clone(), message: e.to_string() })?;
    let local: Option<SocketAddr> = listener.local_addr().ok();
    // without TCP_NODELAY every streamed reply waits ~40 ms for Nagle and delayed ACKs
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Some(a) = local {
        eprintln!("mxcp: serving MCP over streamable HTTP at http://{a}/mcp");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // calls in flight finish and are answered; then sessions and streams are closed
            draining.drain(Duration::from_secs(30)).await;
            // rmcp writes a finished call's reply to its stream asynchronously: let it go out
            // before the sessions (and their streams) are cancelled
            tokio::time::sleep(Duration::from_millis(250)).await;
            cancel.cancel();
        })
        .await
        .map_err(|e| ServerError::Start(e.to_string()))
}

/// Malformed JSON-RPC posted over HTTP is answered with a JSON-RPC error (400), like on stdio,
/// before rmcp sees it; a body over the limit gets 413.
async fn gate_http(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    limit: usize,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    if req.method() != axum::http::Method::POST {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            let reply = gate::error(Json::Null, -32600, format!("Invalid Request: message larger than {limit} bytes"));
            return (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONTENT_TYPE, "application/json")], reply.to_string())
                .into_response();
        }
    };
    if let Err(reply) = gate::check(&String::from_utf8_lossy(&bytes)) {
        return (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], reply.to_string())
            .into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

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

/// Everything built once at start.
struct State {
    runtime: Arc<Runtime>,
    tools: Vec<Tool>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    /// URI template matchers, in declaration order: (matcher, variable names, template).
    matchers: Vec<(Regex, Vec<String>, String)>,
    prompts: Vec<Prompt>,
    call_timeout: Duration,
    /// Calls running now, so a shutdown can wait for them.
    in_flight: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Counts a call as in flight while alive.
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn new(state: &'a State) -> Self {
        state.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl State {
    /// Waits until no call is running, at most `limit`.
    async fn drain(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let idle = self.idle.notified();
                if self.in_flight.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await;
    }

    fn new(runtime: Arc<Runtime>, call_timeout: Duration) -> State {
        let mut s = State {
            runtime: runtime.clone(),
            tools: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            matchers: Vec::new(),
            prompts: Vec::new(),
            call_timeout,
            in_flight: Default::default(),
            idle: tokio::sync::Notify::new(),
        };
        for e in runtime.endpoints() {
            match e.kind {
                EndpointKind::Tool => s.tools.push(tool_of(e)),
                EndpointKind::Resource => {
                    let vars = crate::uri_template::variables(&e.name);
                    let name = e.title.clone().unwrap_or_else(|| e.name.clone());
                    if vars.is_empty() {
                        let mut r = Resource::new(e.name.clone(), name);
                        if let Some(d) = &e.description {
                            r = r.with_description(d.clone());
                        }
                        if let Some(m) = &e.mime_type {
                            r = r.with_mime_type(m.clone());
                        }
                        s.resources.push(r);
                    } else {
                        let mut t = ResourceTemplate::new(e.name.clone(), name);
                        if let Some(d) = &e.description {
                            t = t.with_description(d.clone());
                        }
                        if let Some(m) = &e.mime_type {
                            t = t.with_mime_type(m.clone());
                        }
                        s.templates.push(t);
                        s.matchers.push((crate::uri_template::matcher(&e.name), vars, e.name.clone()));
                    }
                }
                EndpointKind::Prompt => {
                    let args: Vec<PromptArgument> = e
                        .parameters
                        .iter()
                        .map(|p| {
                            let mut a = PromptArgument::new(p.name.clone()).with_required(p.def.default.is_none());
                            if let Some(d) = &p.def.description {
                                a = a.with_description(d.clone());
                            }
                            a
                        })
                        .collect();
                    s.prompts.push(Prompt::new(e.name.clone(), e.description.clone(), Some(args)));
                }
            }
        }
        s
    }

    fn endpoint(&self, kind: EndpointKind, name: &str) -> Option<&Endpoint> {
        self.runtime.find(kind, name)
    }

    /// Runs a call off the async threads, bounded by the call timeout; a panic inside the call
    /// becomes an error for this call only.
    async fn call(
        &self,
        kind: EndpointKind,
        name: &str,
        args: Map<String, Json>,
        events: Option<Arc<dyn CallEvents>>,
    ) -> Result<Json, ExecError> {
        let rt = self.runtime.clone();
        let name_owned = name.to_string();
        let _in_flight = InFlight::new(self);
        let cancel = crate::db::Cancel::default();
        let opts = CallOptions { cancel: Some(cancel.clone()), events, ..CallOptions::default() };
        let task = tokio::task::spawn_blocking(move || rt.call(kind, &name_owned, &args, &opts));
        match tokio::time::timeout(self.call_timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(ExecError::Execution(format!("internal error: the call failed ({join})"))),
            Err(_) => {
                // stop DuckDB so the connection returns to the pool
                cancel.cancel();
                Err(ExecError::Execution(format!("the call timed out after {} s", self.call_timeout.as_secs())))
            }
        }
    }
}

fn tool_of(e: &Endpoint) -> Tool {
    let mut tool = Tool::new(
        e.name.clone(),
        e.description.clone().unwrap_or_default(),
        Arc::new(schema::input_schema(&e.parameters)),
    );
    if let Some(ret) = &e.return_type {
        tool = tool.with_raw_output_schema(Arc::new(schema::output_schema(ret, &e.policies)));
    }
    if let Some(a) = &e.annotations {
        if let Ok(ann) = serde_json::from_value::<ToolAnnotations>(Json::Object(a.clone())) {
            tool = tool.with_annotations(ann);
        }
    }
    tool
}

/// `a%20b` → `a b` (URI template variables arrive percent-encoded).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone)]
struct Handler {
    state: Arc<State>,
    /// `logging/setLevel` of this session.
    level: Arc<Mutex<Option<LoggingLevel>>>,
}

impl Handler {
    fn new(state: Arc<State>) -> Handler {
        Handler { state, level: Arc::new(Mutex::new(None)) }
    }

    async fn log(&self, peer: &rmcp::service::Peer<RoleServer>, level: LoggingLevel, message: String) {
        let wanted = *self.level.lock().expect("level lock");
        if wanted.is_some_and(|w| severity(level) >= severity(w)) {
            let _ = peer
                .notify_logging_message(
                    LoggingMessageNotificationParam::new(level, Json::String(message)).with_logger("mxcp"),
                )
                .await;
        }
    }
}

enum Event {
    Log(LoggingLevel, String),
    Progress(f64, Option<f64>, Option<String>),
    Request(String, Json, tokio::sync::oneshot::Sender<Result<Json, String>>),
}

/// Python's `mcp.info(...)`/`mcp.progress(...)` from a blocking thread, to the session's task.
struct ChannelEvents(tokio::sync::mpsc::UnboundedSender<Event>);

impl CallEvents for ChannelEvents {
    fn log(&self, level: &str, message: &str) {
        let level = match level {
            "debug" => LoggingLevel::Debug,
            "warning" => LoggingLevel::Warning,
            "error" => LoggingLevel::Error,
            _ => LoggingLevel::Info,
        };
        let _ = self.0.send(Event::Log(level, message.to_string()));
    }
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let _ = self.0.send(Event::Progress(progress, total, message.map(str::to_string)));
    }
    fn request(&self, method: &str, params: Json) -> Result<Json, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.0.send(Event::Request(method.to_string(), params, tx)).map_err(|_| "the call has ended".to_string())?;
        rx.blocking_recv().map_err(|_| "the MCP session ended".to_string())?
    }
}

/// Sends a call's notifications (and requests) to its client until the call drops its sender;
/// whether it reported progress of its own.
async fn forward_events(
    handler: Handler,
    peer: rmcp::service::Peer<RoleServer>,
    token: Option<rmcp::model::ProgressToken>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
) -> bool {
    let mut reported = false;
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Log(level, message) => handler.log(&peer, level, message).await,
            Event::Request(method, params, reply) => {
                let _ = reply.send(client_request(&peer, method, params).await);
            }
            Event::Progress(value, total, message) => {
                if let Some(token) = &token {
                    let mut p = ProgressNotificationParam::new(token.clone(), value);
                    p.total = total;
                    p.message = message;
                    let _ = peer.notify_progress(p).await;
                    reported = true;
                }
            }
        }
    }
    reported
}

/// A request to the client on behalf of a running call; its result as JSON.
async fn client_request(peer: &rmcp::service::Peer<RoleServer>, method: String, params: Json) -> Result<Json, String> {
    use rmcp::model::{CustomRequest, ServerRequest};
    let request = ServerRequest::CustomRequest(CustomRequest::new(method.clone(), Some(params)));
    match peer.send_request(request).await {
        Ok(result) => serde_json::to_value(result).map_err(|e| e.to_string()),
        Err(e) => Err(format!("{method} failed: {e}")),
    }
}

fn severity(l: LoggingLevel) -> u8 {
    match l {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        let caps = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_tools()
            .build();
        let project = &self.state.runtime.project.site.project;
        ServerConfig::new(caps)
            .with_server_info(Implementation::new("mxcp", crate::VERSION).with_title(format!("mxcp: {project}")))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.state.tools.clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        req: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = req.name.to_string();
        let Some(endpoint) = self.state.endpoint(EndpointKind::Tool, &name) else {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!("Unknown tool: {name}"))]).into());
        };
        let ret = endpoint.return_type.as_ref();
        let progress = ctx.meta.get_progress_token();
        if let Some(token) = &progress {
            let _ = ctx.peer.notify_progress(ProgressNotificationParam::new(token.clone(), 0.0).with_total(1.0)).await;
        }
        // notifications raised by Python code during the call go out before the result (SQL
        // endpoints raise none: they skip the forwarding task)
        let python = endpoint.language == crate::endpoint::Language::Python;
        let (events, forward) = if python {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
            let events: Arc<dyn CallEvents> = Arc::new(ChannelEvents(tx));
            (Some(events), Some(tokio::spawn(forward_events(self.clone(), ctx.peer.clone(), progress.clone(), rx))))
        } else {
            (None, None)
        };
        let outcome = self.state.call(EndpointKind::Tool, &name, req.arguments.unwrap_or_default(), events).await;
        // the sender goes with the call; a call that timed out may still hold it
        let reported = match forward {
            Some(f) => tokio::time::timeout(Duration::from_millis(200), f).await.ok().and_then(Result::ok),
            None => None,
        };
        if let Some(token) = &progress {
            if reported != Some(true) {
                let _ =
                    ctx.peer.notify_progress(ProgressNotificationParam::new(token.clone(), 1.0).with_total(1.0)).await;
            }
        }
        match outcome {
            Ok(result) => {
                if let Some(items) = schema::content_items(&result) {
                    return Ok(match schema::content_blocks(items) {
                        Ok(blocks) => CallToolResult::success(blocks),
                        Err(e) => {
                            CallToolResult::error(vec![ContentBlock::text(format!("Error executing tool {name}: {e}"))])
                        }
                    }
                    .into());
                }
                let (texts, structured) = schema::tool_content(&result, ret);
                let mut r = CallToolResult::success(texts.into_iter().map(ContentBlock::text).collect());
                r.structured_content = structured;
                Ok(r.into())
            }
            Err(e) => {
                self.log(&ctx.peer, LoggingLevel::Error, format!("tool {name}: {e}")).await;
                Ok(CallToolResult::error(vec![ContentBlock::text(format!("Error executing tool {name}: {e}"))]).into())
            }
        }
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(self.state.resources.clone()))
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(self.state.templates.clone()))
    }

    async fn read_resource(
        &self,
        req: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = req.uri.clone();
        let (template, args) = if self.state.endpoint(EndpointKind::Resource, &uri).is_some() {
            (uri.clone(), Map::new())
        } else {
            let found = self.state.matchers.iter().find_map(|(re, vars, template)| {
                let caps = re.captures(&uri)?;
                let args: Map<String, Json> = vars
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        caps.name(&format!("v{i}")).map(|m| (v.clone(), Json::String(percent_decode(m.as_str()))))
                    })
                    .collect();
                Some((template.clone(), args))
            });
            match found {
                Some(f) => f,
                None => return Err(McpError::resource_not_found(format!("Unknown resource: {uri}"), None)),
            }
        };
        let mime = self.state.endpoint(EndpointKind::Resource, &template).and_then(|e| e.mime_type.clone());
        match self.state.call(EndpointKind::Resource, &template, args, None).await {
            Ok(result) => {
                // a Python resource may return content.resource(...) items (binary contents)
                if let Some(items) = schema::content_items(&result) {
                    return schema::resource_contents(items)
                        .map(|c| ReadResourceResult::new(c).into())
                        .map_err(|e| McpError::internal_error(format!("Error reading resource {uri}: {e}"), None));
                }
                let text = match &result {
                    Json::String(s) => s.clone(),
                    other => serde_json::to_string_pretty(other).expect("serializable"),
                };
                // the reference's default, whatever the result's shape
                let contents =
                    ResourceContents::text(text, uri).with_mime_type(mime.unwrap_or_else(|| "text/plain".into()));
                Ok(ReadResourceResult::new(vec![contents]).into())
            }
            Err(ExecError::Input(m)) => Err(McpError::invalid_params(m, None)),
            Err(e) => Err(McpError::internal_error(format!("Error reading resource {uri}: {e}"), None)),
        }
    }

    async fn list_prompts(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(self.state.prompts.clone()))
    }

    async fn get_prompt(
        &self,
        req: GetPromptRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let Some(endpoint) = self.state.endpoint(EndpointKind::Prompt, &req.name) else {
            return Err(McpError::invalid_params(format!("Unknown prompt: {}", req.name), None));
        };
        let description = endpoint.description.clone();
        let args = req.arguments.unwrap_or_default();
        match self.state.call(EndpointKind::Prompt, &req.name, args, None).await {
            Ok(Json::Array(messages)) => {
                let messages = messages
                    .iter()
                    .map(|m| {
                        let role = if m["role"] == "assistant" { Role::Assistant } else { Role::User };
                        PromptMessage::new_text(role, m["prompt"].as_str().unwrap_or_default())
                    })
                    .collect();
                let mut result = GetPromptResult::new(messages);
                if let Some(d) = description {
                    result = result.with_description(d);
                }
                Ok(result.into())
            }
            Ok(_) => Err(McpError::internal_error("prompt produced no messages", None)),
            Err(ExecError::Input(m)) => Err(McpError::invalid_params(m, None)),
            Err(e) => Err(McpError::internal_error(format!("Error rendering prompt {}: {e}", req.name), None)),
        }
    }

    async fn complete(
        &self,
        _: CompleteRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        Ok(CompleteResult::default())
    }

    // logging/setLevel exists up to protocol 2025-11-25 (deprecated after: module-wide allow)
    async fn set_level(&self, req: SetLevelRequestParams, _: RequestContext<RoleServer>) -> Result<(), McpError> {
        *self.level.lock().expect("level lock") = Some(req.level);
        Ok(())
    }

    async fn subscribe(&self, _: SubscribeRequestParams, _: RequestContext<RoleServer>) -> Result<(), McpError> {
        // resources never change while the server runs: nothing will be notified
        Ok(())
    }

    async fn unsubscribe(&self, _: UnsubscribeRequestParams, _: RequestContext<RoleServer>) -> Result<(), McpError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_template_variables() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
