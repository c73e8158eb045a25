//! The server's long-lived state (calls in flight, draining, audit, sessions, reloads) around
//! the generation it serves, and the call path every request takes: off the async threads,
//! bounded by the call timeout, a panic failing only its own call.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rmcp::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value as Json};

use crate::audit::AuditLog;
use crate::exec::executor::{CallOptions, ExecError, Runtime};
use crate::exec::identity::{Identity, Request};
use crate::exec::policy::PolicyTrace;
use crate::load::endpoint::{Endpoint, EndpointKind};
use crate::python::CallEvents;

use super::audit_record::Origin;
use super::generation::Generation;
use super::schema;

// URI template variables arrive percent-encoded
pub(super) use crate::load::uri_template::percent_decode;

/// What outlives a reload; the endpoints, runtime and limits are the current [`Generation`].
pub(super) struct State {
    /// Swapped whole by a reload; a call keeps the one it started on.
    generation: RwLock<Arc<Generation>>,
    pub(super) call_timeout: Duration,
    /// Who calls when the transport names nobody (stdio: `serve --user-context`, else anonymous).
    pub(super) default_caller: Caller,
    /// Where every call is recorded, when auditing is on.
    pub(super) audit: Option<Arc<AuditLog>>,
    /// Calls running now, so a shutdown can wait for them.
    pub(super) in_flight: std::sync::atomic::AtomicUsize,
    pub(super) idle: tokio::sync::Notify,
    /// Set when a shutdown began: `/readyz` answers 503 so a load balancer stops sending.
    pub(super) draining: std::sync::atomic::AtomicBool,
    /// The connected sessions, told when a reload changes a list.
    pub(super) sessions: super::sessions::Sessions,
    pub(super) reloads: super::reload::Reloads,
    pub(super) started: Instant,
    /// Spans and metrics of the requests, when telemetry is on.
    pub(super) telemetry: Option<Arc<crate::telemetry::Telemetry>>,
}

/// Who a call is made by, and the HTTP request it came with (set only for a verified caller:
/// the SQL functions that read headers return NULL for anonymous calls).
#[derive(Clone, Default)]
pub(crate) struct Caller {
    pub(crate) identity: Option<Arc<Identity>>,
    pub(crate) request: Option<Arc<Request>>,
}

/// Counts a call as in flight while alive.
pub(super) struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    pub(super) fn new(state: &'a State) -> Self {
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
    pub(super) async fn drain(&self, limit: Duration) {
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

    pub(super) fn new(runtime: Arc<Runtime>, call_timeout: Duration, audit: Option<Arc<AuditLog>>) -> State {
        State {
            generation: RwLock::new(Arc::new(Generation::new(1, runtime, Default::default()))),
            call_timeout,
            default_caller: Caller::default(),
            audit,
            in_flight: Default::default(),
            idle: tokio::sync::Notify::new(),
            draining: Default::default(),
            sessions: Default::default(),
            reloads: Default::default(),
            started: Instant::now(),
            telemetry: None,
        }
    }

    /// The generation serving now.
    pub(super) fn generation(&self) -> Arc<Generation> {
        self.generation.read().expect("generation lock").clone()
    }

    /// Serves `next` from now on (calls in flight finish on the one they hold); the one replaced.
    pub(super) fn swap(&self, next: Generation) -> Arc<Generation> {
        std::mem::replace(&mut *self.generation.write().expect("generation lock"), Arc::new(next))
    }

    /// Runs a call off the async threads, bounded by the call timeout; a panic inside the call
    /// becomes an error for this call only. Over a limit the call does not start (the outer
    /// `Err`). Each call that ran is recorded in the audit log (when on).
    pub(super) async fn call(
        &self,
        kind: EndpointKind,
        name: &str,
        args: Map<String, Json>,
        caller: Option<&Caller>,
        events: Option<Arc<dyn CallEvents>>,
        origin: &Origin,
    ) -> Result<Result<Json, ExecError>, crate::limits::Refusal> {
        let caller = caller.unwrap_or(&self.default_caller);
        // the whole call runs on the generation serving at its start, even across a reload
        let generation = self.generation();
        let limits = &generation.limits;
        // a call holds its slots until it really ends, even past a timeout
        let admission = if limits.limits_calls() { Some(limits.admit(&caller_key(caller), name).await?) } else { None };
        if let Some(why) = self.audit.as_ref().and_then(|a| a.refusal()) {
            return Ok(Err(ExecError::Execution(why)));
        }
        let max_bytes = limits.max_result_bytes;
        let started = Instant::now();
        let rt = generation.runtime.clone();
        let name_owned = name.to_string();
        let _in_flight = InFlight::new(self);
        let cancel = crate::db::Cancel::default();
        let opts = CallOptions {
            identity: caller.identity.clone(),
            request: caller.request.clone(),
            cancel: Some(cancel.clone()),
            events,
            result_cap: limits.result_cap,
            spans: origin.span.clone().map(|s| s as Arc<dyn crate::exec::steps::CallSpans>),
            ..CallOptions::default()
        };
        let user_id = opts.identity.as_ref().and_then(|i| i.user_id.clone());
        let captures = origin.span.as_ref().is_some_and(|s| s.captures_content());
        let recorded_args = (self.audit.is_some() || captures).then(|| args.clone());
        let task = tokio::task::spawn_blocking(move || {
            let _admission = admission;
            let (outcome, trace) = rt.call_traced(kind, &name_owned, &args, &opts);
            (outcome.and_then(|r| within_size(r, max_bytes)), trace)
        });
        let (outcome, trace) = match tokio::time::timeout(self.call_timeout, task).await {
            Ok(Ok(traced)) => traced,
            Ok(Err(join)) => {
                (Err(ExecError::Execution(format!("internal error: the call failed ({join})"))), PolicyTrace::default())
            }
            Err(_) => {
                // stop DuckDB so the connection returns to the pool
                cancel.cancel();
                let timed_out =
                    ExecError::Execution(format!("the call timed out after {} s", self.call_timeout.as_secs()));
                (Err(timed_out), PolicyTrace::default())
            }
        };
        if let (true, Some(args)) = (captures, &recorded_args) {
            super::traced::record_call(origin.span.as_deref(), generation.endpoint(kind, name), args, &outcome);
        }
        if let (Some(log), Some(args)) = (&self.audit, recorded_args) {
            let endpoint = generation.endpoint(kind, name);
            let call = super::audit_record::Call {
                kind,
                name,
                args: &args,
                outcome: &outcome,
                trace,
                origin,
                user_id,
                started,
            };
            log.record(call.record(endpoint));
        }
        Ok(outcome)
    }
}

/// Whom the rate limits count a call against: the verified user, else the one stdio caller.
fn caller_key(caller: &Caller) -> String {
    match &caller.identity {
        Some(i) => format!(
            "{}|{}",
            i.claims.get("iss").and_then(Json::as_str).unwrap_or_default(),
            i.user_id.as_deref().unwrap_or_default()
        ),
        None => "anonymous".into(),
    }
}

/// A result over `max_bytes` (as JSON) becomes an error instead of going to the client.
fn within_size(result: Json, max_bytes: Option<u64>) -> Result<Json, ExecError> {
    let Some(max) = max_bytes else {
        return Ok(result);
    };
    let size = serde_json::to_vec(&result).map(|v| v.len() as u64).unwrap_or(0);
    if size > max {
        return Err(ExecError::Execution(format!(
            "the result is {size} bytes, over this server's limit of {max} bytes (limits.max_result_bytes)"
        )));
    }
    Ok(result)
}

pub(super) fn tool_of(e: &Endpoint) -> Tool {
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
