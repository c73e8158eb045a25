//! The rmcp handler: answers MCP requests from the catalog, forwards a call's log, progress
//! and client requests to its session while it runs.

// Logging (`logging/setLevel`, `notifications/message`) is deprecated for protocol 2026-07-28
// but part of the revisions up to 2025-11-25 that clients still speak.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult, ContentBlock,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel, LoggingMessageNotificationParam,
    PaginatedRequestParams, ProgressNotificationParam, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, ResourceContents, Role, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{Map, Value as Json};

use crate::exec::executor::ExecError;
use crate::load::endpoint::EndpointKind;
use crate::python::CallEvents;

use super::audit_record::Origin;
use super::catalog::{Caller, State};

use super::catalog::percent_decode;
use super::schema;

#[derive(Clone)]
pub(super) struct Handler {
    state: Arc<State>,
    /// `logging/setLevel` of this session.
    level: Arc<Mutex<Option<LoggingLevel>>>,
}

impl Handler {
    pub(super) fn new(state: Arc<State>) -> Handler {
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

/// A call the limits refused: a JSON-RPC error with the wait in `data.retry_after_seconds`.
fn limited(r: crate::limits::Refusal) -> McpError {
    let data = serde_json::json!({"retry_after_seconds": r.retry_after().as_secs_f64()});
    McpError::new(rmcp::model::ErrorCode(r.code()), r.message(), Some(data))
}

/// The verified caller the HTTP layer attached to this request (none on stdio).
fn caller(ctx: &RequestContext<RoleServer>) -> Option<&Caller> {
    ctx.extensions.get::<http::request::Parts>()?.extensions.get::<Caller>()
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
            .enable_tools();
        // a server that reloads tells its sessions when a list changed
        let caps = if self.state.reloads.reloader.is_some() {
            caps.enable_tool_list_changed().enable_prompts_list_changed().enable_resources_list_changed().build()
        } else {
            caps.build()
        };
        let generation = self.state.generation();
        let project = &generation.runtime.project.site.project;
        ServerConfig::new(caps)
            .with_server_info(Implementation::new("mxcp", crate::VERSION).with_title(format!("mxcp: {project}")))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.state.generation().tools.clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state.generation().tools.iter().find(|t| t.name == name).cloned()
    }

    async fn on_initialized(&self, ctx: rmcp::service::NotificationContext<RoleServer>) {
        self.state.sessions.add(ctx.peer);
    }

    async fn call_tool(
        &self,
        req: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = req.name.to_string();
        let generation = self.state.generation();
        let Some(endpoint) = generation.endpoint(EndpointKind::Tool, &name) else {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!("Unknown tool: {name}"))]).into());
        };
        let ret = endpoint.return_type.as_ref();
        let progress = ctx.meta.get_progress_token();
        if let Some(token) = &progress {
            let _ = ctx.peer.notify_progress(ProgressNotificationParam::new(token.clone(), 0.0).with_total(1.0)).await;
        }
        // notifications raised by Python code during the call go out before the result (SQL
        // endpoints raise none: they skip the forwarding task)
        let python = endpoint.language == crate::load::endpoint::Language::Python;
        let (events, forward) = if python {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
            let events: Arc<dyn CallEvents> = Arc::new(ChannelEvents(tx));
            (Some(events), Some(tokio::spawn(forward_events(self.clone(), ctx.peer.clone(), progress.clone(), rx))))
        } else {
            (None, None)
        };
        let args = req.arguments.unwrap_or_default();
        let origin = Origin::of(&ctx);
        let outcome =
            self.state.call(EndpointKind::Tool, &name, args, caller(&ctx), events, &origin).await.map_err(limited)?;
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
        Ok(ListResourcesResult::with_all_items(self.state.generation().resources.clone()))
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(self.state.generation().templates.clone()))
    }

    async fn read_resource(
        &self,
        req: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = req.uri.clone();
        let generation = self.state.generation();
        let (template, args) = if generation.endpoint(EndpointKind::Resource, &uri).is_some() {
            (uri.clone(), Map::new())
        } else {
            let found = generation.matchers.iter().find_map(|(re, vars, template)| {
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
        let mime = generation.endpoint(EndpointKind::Resource, &template).and_then(|e| e.mime_type.clone());
        let origin = Origin::of(&ctx);
        match self
            .state
            .call(EndpointKind::Resource, &template, args, caller(&ctx), None, &origin)
            .await
            .map_err(limited)?
        {
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
        Ok(ListPromptsResult::with_all_items(self.state.generation().prompts.clone()))
    }

    async fn get_prompt(
        &self,
        req: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let generation = self.state.generation();
        let Some(endpoint) = generation.endpoint(EndpointKind::Prompt, &req.name) else {
            return Err(McpError::invalid_params(format!("Unknown prompt: {}", req.name), None));
        };
        let description = endpoint.description.clone();
        let args = req.arguments.unwrap_or_default();
        let origin = Origin::of(&ctx);
        match self
            .state
            .call(EndpointKind::Prompt, &req.name, args, caller(&ctx), None, &origin)
            .await
            .map_err(limited)?
        {
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
        // no resource's content is watched: nothing will be notified (a reload tells of a
        // changed list, not of changed contents)
        Ok(())
    }

    async fn unsubscribe(&self, _: UnsubscribeRequestParams, _: RequestContext<RoleServer>) -> Result<(), McpError> {
        Ok(())
    }
}
