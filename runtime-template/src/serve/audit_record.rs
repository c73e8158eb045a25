//! A finished call as its audit record: where it came from, what it was given and answered
//! (`sensitive: true` values redacted), what the policies decided.

use std::time::{Instant, SystemTime};

use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value as Json};

use crate::audit::{self, CallRecord, OperationType};
use crate::exec::executor::ExecError;
use crate::exec::policy::PolicyTrace;
use crate::load::endpoint::{Endpoint, EndpointKind};

/// Where a call came from, as the audit log records it (the caller itself is [`Caller`]).
#[derive(Clone, Default)]
pub(crate) struct Origin {
    /// The HTTP session (`mcp-session-id`); none over stdio or stateless HTTP.
    session_id: Option<String>,
    http: bool,
    /// The request's span, when telemetry is on.
    pub(super) span: Option<std::sync::Arc<crate::telemetry::ServerSpan>>,
}

impl Origin {
    pub(crate) fn of(ctx: &RequestContext<RoleServer>) -> Origin {
        let span = super::traced::span_of(ctx);
        match ctx.extensions.get::<axum::http::request::Parts>() {
            Some(parts) => Origin {
                session_id: parts.headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string),
                http: true,
                span,
            },
            None => Origin { session_id: None, http: false, span },
        }
    }
}

/// One finished call, as much of it as its audit record needs.
pub(super) struct Call<'a> {
    pub(super) kind: EndpointKind,
    pub(super) name: &'a str,
    pub(super) args: &'a Map<String, Json>,
    pub(super) outcome: &'a Result<Json, ExecError>,
    pub(super) trace: PolicyTrace,
    pub(super) origin: &'a Origin,
    pub(super) user_id: Option<String>,
    pub(super) started: Instant,
}

impl Call<'_> {
    /// The record, `sensitive: true` values redacted by the endpoint's declared types.
    pub(super) fn record(self, endpoint: Option<&Endpoint>) -> CallRecord {
        let params = endpoint.map(|e| e.parameters.as_slice()).unwrap_or_default();
        let (output, error) = match self.outcome {
            Ok(v) => (Some(audit::redact_output(endpoint.and_then(|e| e.return_type.as_ref()), v.clone())), None),
            Err(e) => (None, Some(e.to_string())),
        };
        CallRecord {
            operation_type: match self.kind {
                EndpointKind::Tool => OperationType::Tool,
                EndpointKind::Resource => OperationType::Resource,
                EndpointKind::Prompt => OperationType::Prompt,
            },
            operation_name: self.name.to_string(),
            success: self.outcome.is_ok(),
            duration: self.started.elapsed(),
            finished: SystemTime::now(),
            caller_type: if self.origin.http { "http" } else { "stdio" },
            user_id: self.user_id,
            session_id: self.origin.session_id.clone(),
            trace_id: self.origin.span.as_ref().and_then(|s| s.trace_id()),
            input: audit::redact_arguments(params, self.args),
            output,
            error,
            policies_evaluated: self.trace.evaluated,
            policy_decision: self.trace.decision.map(|d| d.as_str()),
            policy_reason: self.trace.reason,
        }
    }
}
