//! The handler as rmcp serves it: when telemetry is on, each request gets its SERVER span
//! (`crate::telemetry`) from the facts rmcp gives (method, target, ids, `_meta`, the HTTP
//! request), the call path reaches the span through the request's extensions, and the
//! session's duration is measured. When off, requests go straight to the handler.
//! (rmcp's HTTP service takes a `ServerHandler`, not any `Service`: hence one delegating
//! method per request the handler answers, instead of one wrapper of `handle_request`.)

// logging/setLevel and resources/subscribe are deprecated for 2026-07-28 but still served
#![allow(deprecated)]

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, DiscoverResult,
    GetPromptRequestParams, GetPromptResponse, InitializeRequestParams, InitializeResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ServerConfig, SetLevelRequestParams, SubscribeRequestParams, Tool,
    UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{Map, Value as Json};

use crate::exec::executor::ExecError;
use crate::load::endpoint::{Endpoint, EndpointKind};
use crate::telemetry::{Outcome, RequestFacts, ServerSpan, SessionClock, Telemetry, Transport};

use super::handler::Handler;

pub(super) struct Traced {
    handler: Handler,
    telemetry: Option<Arc<Telemetry>>,
    /// The session's clock (none without telemetry, or stateless HTTP: no sessions).
    session: Option<SessionClock>,
}

impl Traced {
    pub(super) fn new(handler: Handler, telemetry: Option<Arc<Telemetry>>, session: Option<Transport>) -> Traced {
        let session = telemetry.as_ref().zip(session).map(|(t, transport)| t.session(transport));
        Traced { handler, telemetry, session }
    }
}

/// The span of the request `ctx` belongs to, when telemetry is on.
pub(super) fn span_of(ctx: &RequestContext<RoleServer>) -> Option<Arc<ServerSpan>> {
    ctx.extensions.get::<Arc<ServerSpan>>().cloned()
}

/// What a finished call adds to its span: the (redacted) arguments and result when
/// `tracing.capture_content` is on.
pub(super) fn record_call(
    span: Option<&ServerSpan>,
    endpoint: Option<&Endpoint>,
    args: &Map<String, Json>,
    outcome: &Result<Json, ExecError>,
) {
    let Some(span) = span.filter(|s| s.captures_content()) else {
        return;
    };
    if endpoint.is_some_and(|e| e.kind != EndpointKind::Tool) {
        return;
    }
    let params = endpoint.map(|e| e.parameters.as_slice()).unwrap_or_default();
    let result = outcome
        .as_ref()
        .ok()
        .map(|v| crate::audit::redact_output(endpoint.and_then(|e| e.return_type.as_ref()), v.clone()));
    span.set_content(&crate::audit::redact_arguments(params, args), result.as_ref());
}

/// What rmcp's context tells of a request; the caller adds the target.
fn facts<'a>(method: &'a str, ctx: &'a RequestContext<RoleServer>) -> RequestFacts<'a> {
    let parts = ctx.extensions.get::<http::request::Parts>();
    let header = |name: &str| parts.and_then(|p| p.headers.get(name)).and_then(|v| v.to_str().ok());
    RequestFacts {
        method,
        request_id: ctx.id.to_string(),
        protocol_version: ctx.protocol_version().map(|v| v.as_str().to_string()),
        session_id: header("mcp-session-id"),
        transport: Some(if parts.is_some() { Transport::Tcp } else { Transport::Pipe }),
        traceparent: ctx.meta.get_traceparent(),
        tracestate: ctx.meta.get_tracestate(),
        http_traceparent: header("traceparent"),
        http_tracestate: header("tracestate"),
        ..RequestFacts::default()
    }
}

/// Which request, and what it names.
#[derive(Clone, Copy)]
enum Target<'a> {
    None,
    Tool(&'a str),
    Prompt(&'a str),
    Resource(&'a str),
}

impl Traced {
    /// Runs `answer` inside the request's span (when telemetry is on); `tool_error` says
    /// whether a result is a tool's `isError`.
    async fn around<T, F>(
        &self,
        method: &'static str,
        target: Target<'_>,
        mut ctx: RequestContext<RoleServer>,
        answer: impl FnOnce(RequestContext<RoleServer>) -> F,
        tool_error: fn(&T) -> bool,
    ) -> Result<T, McpError>
    where
        F: std::future::Future<Output = Result<T, McpError>>,
    {
        let Some(telemetry) = &self.telemetry else {
            return answer(ctx).await;
        };
        let mut f = facts(method, &ctx);
        match target {
            Target::None => {}
            Target::Tool(t) => f.tool = Some(t),
            Target::Prompt(p) => f.prompt = Some(p),
            Target::Resource(u) => f.resource_uri = Some(u),
        }
        let span = telemetry.request(f);
        ctx.extensions.insert(span.clone());
        let result = answer(ctx).await;
        span.end(match &result {
            Ok(r) if tool_error(r) => Outcome::ToolError,
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Error { code: e.code.0, message: &e.message },
        });
        result
    }
}

fn never<T>(_: &T) -> bool {
    false
}

impl ServerHandler for Traced {
    fn get_info(&self) -> ServerConfig {
        self.handler.get_info()
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.handler.supported_protocol_versions()
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.handler.get_tool(name)
    }

    // a notification: no span, but the session must still be registered for list_changed
    async fn on_initialized(&self, ctx: rmcp::service::NotificationContext<RoleServer>) {
        self.handler.on_initialized(ctx).await
    }

    async fn ping(&self, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        self.around("ping", Target::None, ctx, |c| self.handler.ping(c), never).await
    }

    async fn initialize(
        &self,
        req: InitializeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        let result = self.around("initialize", Target::None, ctx, |c| self.handler.initialize(req, c), never).await;
        if let (Some(clock), Ok(r)) = (&self.session, &result) {
            clock.protocol(r.protocol_version.as_str());
        }
        result
    }

    async fn discover(&self, ctx: RequestContext<RoleServer>) -> Result<DiscoverResult, McpError> {
        self.around("server/discover", Target::None, ctx, |c| self.handler.discover(c), never).await
    }

    async fn list_tools(
        &self,
        req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.around("tools/list", Target::None, ctx, |c| self.handler.list_tools(req, c), never).await
    }

    async fn call_tool(
        &self,
        req: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = req.name.to_string();
        let is_error = |r: &CallToolResponse| matches!(r, CallToolResponse::Complete(c) if c.is_error == Some(true));
        self.around("tools/call", Target::Tool(&name), ctx, |c| self.handler.call_tool(req, c), is_error).await
    }

    async fn list_resources(
        &self,
        req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        self.around("resources/list", Target::None, ctx, |c| self.handler.list_resources(req, c), never).await
    }

    async fn list_resource_templates(
        &self,
        req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let answer = |c| self.handler.list_resource_templates(req, c);
        self.around("resources/templates/list", Target::None, ctx, answer, never).await
    }

    async fn read_resource(
        &self,
        req: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = req.uri.clone();
        self.around("resources/read", Target::Resource(&uri), ctx, |c| self.handler.read_resource(req, c), never).await
    }

    async fn list_prompts(
        &self,
        req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.around("prompts/list", Target::None, ctx, |c| self.handler.list_prompts(req, c), never).await
    }

    async fn get_prompt(
        &self,
        req: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let name = req.name.clone();
        self.around("prompts/get", Target::Prompt(&name), ctx, |c| self.handler.get_prompt(req, c), never).await
    }

    async fn complete(
        &self,
        req: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.around("completion/complete", Target::None, ctx, |c| self.handler.complete(req, c), never).await
    }

    async fn set_level(&self, req: SetLevelRequestParams, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        self.around("logging/setLevel", Target::None, ctx, |c| self.handler.set_level(req, c), never).await
    }

    async fn subscribe(&self, req: SubscribeRequestParams, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        self.around("resources/subscribe", Target::None, ctx, |c| self.handler.subscribe(req, c), never).await
    }

    async fn unsubscribe(
        &self,
        req: UnsubscribeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.around("resources/unsubscribe", Target::None, ctx, |c| self.handler.unsubscribe(req, c), never).await
    }
}
