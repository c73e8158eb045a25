//! OpenTelemetry for the MCP server, following the MCP semantic conventions: a SERVER span
//! per request with child spans for the call's steps, and the `mcp.server.operation.duration`
//! and `mcp.server.session.duration` histograms, exported as OTLP/HTTP protobuf
//! (docs/telemetry.md). Off unless configured; when off the server holds no [`Telemetry`]
//! and builds nothing. The server describes requests with plain facts ([`RequestFacts`]);
//! nothing here knows rmcp.

mod export;
mod metrics;
mod otlp;
mod span;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value as Json;

use crate::exec::steps::{CallSpans, Step};
use crate::load::telemetry_config::TelemetryConfig;

use span::{Attr, AttrValue, Context, Kind, Link, SpanData, attr, unix_nanos};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry: invalid endpoint '{0}': expected an http:// or https:// URL")]
    Endpoint(String),
    #[error("telemetry: cannot start the exporter: {0}")]
    Start(String),
}

/// `network.transport` of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// stdio
    Pipe,
    /// streamable HTTP
    Tcp,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::Tcp => "tcp",
        }
    }
}

/// What the server knows of one MCP request when it arrives.
#[derive(Debug, Default)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    pub tool: Option<&'a str>,
    pub prompt: Option<&'a str>,
    pub resource_uri: Option<&'a str>,
    pub request_id: String,
    pub protocol_version: Option<String>,
    pub session_id: Option<&'a str>,
    pub transport: Option<Transport>,
    /// `params._meta.traceparent` / `tracestate`: the parent.
    pub traceparent: Option<&'a str>,
    pub tracestate: Option<&'a str>,
    /// The HTTP request's `traceparent` / `tracestate` headers: a link (and the parent when
    /// `_meta` names none).
    pub http_traceparent: Option<&'a str>,
    pub http_tracestate: Option<&'a str>,
}

/// How a request ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    Ok,
    /// A tool result with `isError: true`.
    ToolError,
    /// A JSON-RPC error reply.
    Error {
        code: i32,
        message: &'a str,
    },
}

pub struct Telemetry {
    exporter: export::Exporter,
    tracing: bool,
    capture_content: bool,
    metrics: Option<Arc<metrics::Metrics>>,
}

impl Telemetry {
    /// Starts the exporter when `cfg` turns telemetry on; `None` when it is off.
    pub fn start(cfg: &TelemetryConfig) -> Result<Option<Arc<Telemetry>>, TelemetryError> {
        if !cfg.enabled || !(cfg.tracing || cfg.metrics) {
            return Ok(None);
        }
        let base = cfg.endpoint.clone().unwrap_or_else(|| "http://localhost:4318".into());
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TelemetryError::Endpoint(base));
        }
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/v1/traces").or_else(|| base.strip_suffix("/v1/metrics")).unwrap_or(base);
        let metrics = cfg.metrics.then(|| Arc::new(metrics::Metrics::new(unix_nanos(SystemTime::now()))));
        let settings = export::Settings {
            traces_url: cfg.tracing.then(|| format!("{base}/v1/traces")),
            metrics_url: cfg.metrics.then(|| format!("{base}/v1/metrics")),
            headers: cfg.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            resource: resource(cfg),
            batch_delay: env_millis("OTEL_BSP_SCHEDULE_DELAY").unwrap_or(Duration::from_secs(1)),
            metrics_interval: cfg.export_interval,
            console: cfg.console_export,
        };
        let exporter =
            export::Exporter::start(settings, metrics.clone()).map_err(|e| TelemetryError::Start(e.to_string()))?;
        Ok(Some(Arc::new(Telemetry { exporter, tracing: cfg.tracing, capture_content: cfg.capture_content, metrics })))
    }

    /// The span of one request, started now; [`ServerSpan::end`] finishes it.
    pub fn request(self: &Arc<Self>, facts: RequestFacts<'_>) -> Arc<ServerSpan> {
        let started_at = SystemTime::now();
        let parent = facts.traceparent.and_then(|t| Context::parse(t, facts.tracestate));
        let http = facts.http_traceparent.and_then(|t| Context::parse(t, facts.http_tracestate));
        let from = parent.as_ref().or(http.as_ref());
        let trace_id = from.map(|c| c.trace_id).unwrap_or_else(span::new_trace_id);
        // a parent that was not sampled is followed: no span (the metrics still count)
        let sampled = self.tracing && from.is_none_or(|c| c.sampled);
        let in_trace = sampled || from.is_some();
        let method = facts.method.to_string();
        let target = facts.tool.or(facts.prompt);
        let mut attributes = vec![attr("mcp.method.name", facts.method)];
        let mut metric_key = vec![("mcp.method.name", method.clone())];
        if let Some(t) = facts.tool {
            attributes.push(attr("gen_ai.tool.name", t));
            attributes.push(attr("gen_ai.operation.name", "execute_tool"));
            metric_key.push(("gen_ai.tool.name", t.to_string()));
        }
        if let Some(p) = facts.prompt {
            attributes.push(attr("gen_ai.prompt.name", p));
            metric_key.push(("gen_ai.prompt.name", p.to_string()));
        }
        if let Some(u) = facts.resource_uri {
            attributes.push(attr("mcp.resource.uri", u));
        }
        attributes.push(attr("jsonrpc.request.id", facts.request_id));
        if let Some(v) = &facts.protocol_version {
            attributes.push(attr("mcp.protocol.version", v.clone()));
            metric_key.push(("mcp.protocol.version", v.clone()));
        }
        if let Some(s) = facts.session_id {
            attributes.push(attr("mcp.session.id", s));
        }
        if let Some(t) = facts.transport {
            attributes.push(attr("network.transport", t.as_str()));
            metric_key.push(("network.transport", t.as_str().to_string()));
        }
        let data = SpanData {
            trace_id,
            span_id: span::new_span_id(),
            parent_span_id: from.map(|c| c.span_id),
            trace_state: from.map(|c| c.trace_state.clone()).unwrap_or_default(),
            name: match target {
                Some(t) => format!("{method} {t}"),
                None => method,
            },
            kind: Kind::Server,
            start_unix_nanos: unix_nanos(started_at),
            end_unix_nanos: 0,
            attributes,
            links: http
                .map(|c| Link { trace_id: c.trace_id, span_id: c.span_id, trace_state: c.trace_state })
                .into_iter()
                .collect(),
            error: None,
        };
        Arc::new(ServerSpan {
            telemetry: self.clone(),
            sampled,
            in_trace,
            trace_id,
            span_id: data.span_id,
            started: Instant::now(),
            data: Mutex::new(Some(data)),
            metric_key: Mutex::new(metric_key),
        })
    }

    /// A session's clock: its duration is recorded when the clock is dropped.
    pub fn session(self: &Arc<Self>, transport: Transport) -> SessionClock {
        SessionClock { telemetry: self.clone(), started: Instant::now(), transport, protocol: Mutex::new(None) }
    }

    /// Sends what is queued, and the metrics, before the process ends (at most 5 s).
    pub fn shutdown(&self) {
        self.exporter.flush(Duration::from_secs(5));
    }
}

fn env_millis(name: &str) -> Option<Duration> {
    std::env::var(name).ok()?.trim().parse::<u64>().ok().map(Duration::from_millis)
}

fn resource(cfg: &TelemetryConfig) -> Vec<Attr> {
    let mut out: Vec<Attr> = vec![
        attr("service.name", cfg.service_name.clone().unwrap_or_else(|| "mxcp".into())),
        attr("service.version", cfg.service_version.clone().unwrap_or_else(|| crate::VERSION.into())),
        attr("telemetry.sdk.name", "mxcp"),
        attr("telemetry.sdk.language", "rust"),
        attr("telemetry.sdk.version", crate::VERSION),
    ];
    if let Some(e) = &cfg.environment {
        out.push(attr("deployment.environment.name", e.clone()));
    }
    for (k, v) in &cfg.resource_attributes {
        let value = match v {
            Json::Bool(b) => AttrValue::Bool(*b),
            Json::Number(n) if n.is_i64() => AttrValue::Int(n.as_i64().unwrap_or_default()),
            Json::Number(n) => AttrValue::Double(n.as_f64().unwrap_or_default()),
            Json::String(s) => AttrValue::Str(s.clone()),
            other => AttrValue::Str(other.to_string()),
        };
        out.retain(|(key, _)| key != k);
        out.push((Cow::Owned(k.clone()), value));
    }
    out
}

/// One request's SERVER span (and its metric), from arrival to [`ServerSpan::end`].
pub struct ServerSpan {
    telemetry: Arc<Telemetry>,
    sampled: bool,
    /// Exported, or part of the caller's trace: the trace id means something.
    in_trace: bool,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    started: Instant,
    /// Taken by `end`.
    data: Mutex<Option<SpanData>>,
    metric_key: Mutex<metrics::SeriesKey>,
}

impl ServerSpan {
    /// The trace id (32 hex digits), for the audit record; none when the request is in no
    /// trace (tracing off and no parent given).
    pub fn trace_id(&self) -> Option<String> {
        self.in_trace.then(|| span::hex(&self.trace_id))
    }

    /// Whether tool arguments and results go into the span (`tracing.capture_content`).
    pub fn captures_content(&self) -> bool {
        self.sampled && self.telemetry.capture_content
    }

    /// `gen_ai.tool.call.arguments` / `.result`, already redacted by the caller.
    pub fn set_content(&self, arguments: &Json, result: Option<&Json>) {
        if let Some(d) = self.data.lock().expect("span lock").as_mut() {
            d.attributes.push(attr("gen_ai.tool.call.arguments", arguments.to_string()));
            if let Some(r) = result {
                d.attributes.push(attr("gen_ai.tool.call.result", r.to_string()));
            }
        }
    }

    /// Finishes the span: its status, the duration metric, the export.
    pub fn end(&self, outcome: Outcome<'_>) {
        let seconds = self.started.elapsed().as_secs_f64();
        let Some(mut data) = self.data.lock().expect("span lock").take() else {
            return;
        };
        let error_type = match outcome {
            Outcome::Ok => None,
            Outcome::ToolError => {
                data.error = Some(String::new());
                Some("tool_error".to_string())
            }
            Outcome::Error { code, message } => {
                data.error = Some(message.to_string());
                data.attributes.push(attr("rpc.response.status_code", code.to_string()));
                Some(code.to_string())
            }
        };
        if let Some(m) = &self.telemetry.metrics {
            let mut key = std::mem::take(&mut *self.metric_key.lock().expect("span lock"));
            if let Some(e) = &error_type {
                key.push(("error.type", e.clone()));
            }
            m.operation(key, seconds);
        }
        if !self.sampled {
            return;
        }
        if let Some(e) = error_type {
            data.attributes.push(attr("error.type", e));
        }
        data.end_unix_nanos = data.start_unix_nanos + (seconds * 1e9) as u64;
        self.telemetry.exporter.span(data);
    }
}

impl CallSpans for ServerSpan {
    fn step(&self, step: Step<'_>, started: SystemTime, error: Option<&str>) {
        if !self.sampled {
            return;
        }
        let (name, attributes) = match step {
            Step::Policy { stage, policies } => (
                format!("policy {stage}"),
                vec![
                    attr("mxcp.policy.stage", stage),
                    (Cow::Borrowed("mxcp.policy.count"), AttrValue::Int(policies as i64)),
                ],
            ),
            Step::Query { sql } => {
                let mut a = vec![attr("db.system.name", "duckdb")];
                if let Some(q) = sql {
                    a.push(attr("db.query.text", q));
                }
                ("duckdb query".to_string(), a)
            }
            Step::Python { function, file } => {
                (format!("python {function}"), vec![attr("code.function.name", function), attr("code.file.path", file)])
            }
        };
        let mut attributes = attributes;
        if error.is_some() {
            attributes.push(attr("error.type", "error"));
        }
        self.telemetry.exporter.span(SpanData {
            trace_id: self.trace_id,
            span_id: span::new_span_id(),
            parent_span_id: Some(self.span_id),
            trace_state: String::new(),
            name,
            kind: Kind::Internal,
            start_unix_nanos: unix_nanos(started),
            end_unix_nanos: unix_nanos(SystemTime::now()),
            attributes,
            links: Vec::new(),
            error: error.map(str::to_string),
        });
    }
}

/// An MCP session's lifetime; its duration is recorded when dropped.
pub struct SessionClock {
    telemetry: Arc<Telemetry>,
    started: Instant,
    transport: Transport,
    protocol: Mutex<Option<String>>,
}

impl SessionClock {
    /// The protocol version the session agreed on (at `initialize`).
    pub fn protocol(&self, version: &str) {
        *self.protocol.lock().expect("session lock") = Some(version.to_string());
    }
}

impl Drop for SessionClock {
    fn drop(&mut self) {
        if let Some(m) = &self.telemetry.metrics {
            let mut key = vec![("network.transport", self.transport.as_str().to_string())];
            if let Some(v) = self.protocol.lock().expect("session lock").take() {
                key.push(("mcp.protocol.version", v));
            }
            m.session(key, self.started.elapsed().as_secs_f64());
        }
    }
}
