//! OpenTelemetry export (docs/telemetry.md): a served session's spans and metrics arrive at an
//! OTLP/HTTP receiver inside this test, decoded with the official opentelemetry-proto types,
//! over stdio and over HTTP. Loopback only; each test a few seconds.

mod audit_support;
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use audit_support::RawStdio;
use common::{HttpServer, http_post};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Histogram, metric};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use prost::Message;
use serde_json::{Value as Json, json};

const ADVISED_BUCKETS: [f64; 14] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const HTTP_PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[derive(Default)]
struct Received {
    spans: Vec<Span>,
    /// `service.name` of each export's resource.
    services: Vec<String>,
    metrics: Vec<opentelemetry_proto::tonic::metrics::v1::Metric>,
    /// (path, content-type) of each request.
    requests: Vec<(String, String)>,
}

/// An OTLP/HTTP receiver on a loopback port: decodes each export and answers 200.
struct Receiver {
    url: String,
    got: Arc<Mutex<Received>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Received::default()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || serve_connection(conn, &sink));
            }
        });
        Receiver { url, got }
    }

    /// Waits (at most 10 s) until `done` holds for what arrived.
    fn wait(&self, what: &str, done: impl Fn(&Received) -> bool) -> std::sync::MutexGuard<'_, Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.got.lock().unwrap();
            if done(&got) {
                return got;
            }
            assert!(Instant::now() < deadline, "{what} never arrived; spans: {:?}", names(&got.spans));
            drop(got);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// HTTP/1.1 requests on one kept-alive connection, each `Content-Length` bytes.
fn serve_connection(conn: TcpStream, sink: &Mutex<Received>) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut writer = conn;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let path = head[0].split_whitespace().nth(1).unwrap_or_default().to_string();
        let header = |name: &str| {
            head.iter()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v.trim().to_string())
        };
        let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).expect("body");
        {
            let mut got = sink.lock().unwrap();
            got.requests.push((path.clone(), header("content-type").unwrap_or_default()));
            match path.as_str() {
                "/v1/traces" => {
                    let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("a trace export decodes");
                    for rs in req.resource_spans {
                        got.services.push(resource_service(rs.resource.as_ref().map(|r| r.attributes.as_slice())));
                        got.spans.extend(rs.scope_spans.into_iter().flat_map(|s| s.spans));
                    }
                }
                "/v1/metrics" => {
                    let req = ExportMetricsServiceRequest::decode(body.as_slice()).expect("a metrics export decodes");
                    for rm in req.resource_metrics {
                        got.metrics.extend(rm.scope_metrics.into_iter().flat_map(|s| s.metrics));
                    }
                }
                _ => {}
            }
        }
        let _ =
            writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n");
    }
}

fn resource_service(attrs: Option<&[KeyValue]>) -> String {
    attrs.and_then(|a| value(a, "service.name")).unwrap_or_default()
}

/// An attribute as text (strings as they are, other kinds in their Rust form).
fn value(attrs: &[KeyValue], key: &str) -> Option<String> {
    let v = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()?;
    Some(match v {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::BoolValue(b) => b.to_string(),
        other => format!("{other:?}"),
    })
}

fn attr(span: &Span, key: &str) -> Option<String> {
    value(&span.attributes, key)
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn span<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

/// The spans whose parent is `parent`, by name.
fn children<'a>(spans: &'a [Span], parent: &Span) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.parent_span_id == parent.span_id && s.trace_id == parent.trace_id).collect()
}

fn is_error(span: &Span) -> bool {
    span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32)
}

fn histogram<'a>(got: &'a Received, name: &str) -> &'a Histogram {
    let m = got.metrics.iter().rev().find(|m| m.name == name).unwrap_or_else(|| panic!("no metric {name}"));
    assert_eq!(m.unit, "s", "{name} is in seconds");
    match &m.data {
        Some(metric::Data::Histogram(h)) => h,
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

/// The fixture with a user configuration whose `telemetry` block is `block`.
fn project(block: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&common::repo_root().join("tests/fixtures/telemetry"), dir.path());
    common::write(
        dir.path(),
        "config.yml",
        &format!("mxcp: 1\nprojects:\n  traced:\n    profiles:\n      default:\n        telemetry:\n{block}"),
    );
    dir
}

fn config_env(dir: &Path) -> String {
    dir.join("config.yml").display().to_string()
}

#[test]
fn a_stdio_session_exports_server_spans_with_their_steps_and_the_duration_metrics() {
    let receiver = Receiver::start();
    let dir = project(&format!(
        "          enabled: true\n          endpoint: {}\n          service_name: traced-test\n          tracing: {{capture_content: true}}\n",
        receiver.url
    ));
    let config = config_env(dir.path());
    let mut s = RawStdio::start(dir.path(), &[("MXCP_CONFIG", config.as_str())]);
    let greeted = s.request(
        "tools/call",
        json!({"name": "greet", "arguments": {"name": "World", "token": "s3cret"}, "_meta": {"traceparent": PARENT, "tracestate": "vendor=1"}}),
    );
    assert_eq!(greeted["result"]["content"][0]["text"], "Hello, World!", "{greeted}");
    assert_eq!(s.call("add", json!({"a": 2, "b": 3}))["content"][0]["text"], "5");
    assert_eq!(s.call("fail", json!({}))["isError"], true);
    assert_eq!(s.call("greet", json!({"name": "mallory"}))["isError"], true);
    let prompt = s.request("prompts/get", json!({"name": "welcome", "arguments": {"who": "you"}}));
    assert!(prompt["result"]["messages"].is_array(), "{prompt}");
    let unknown = s.request("prompts/get", json!({"name": "nope"}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    s.request("tools/list", json!({}));
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");

    // everything was sent before the server exited (flushed at shutdown, not by a timer)
    let got = receiver.wait("the session's spans and metrics", |g| {
        g.spans.iter().any(|s| s.name == "tools/list")
            && g.metrics.iter().any(|m| m.name == "mcp.server.session.duration")
    });
    assert!(got.requests.iter().all(|(_, ct)| ct == "application/x-protobuf"), "{:?}", got.requests);
    assert!(got.services.iter().all(|s| s == "traced-test"), "{:?}", got.services);
    let spans = &got.spans;

    let greet = span(spans, "tools/call greet");
    assert_eq!(greet.kind, SpanKind::Server as i32);
    assert_eq!(hex(&greet.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736", "the _meta traceparent is the parent");
    assert_eq!(hex(&greet.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(greet.trace_state, "vendor=1");
    assert!(greet.links.is_empty(), "no HTTP request over stdio");
    for (key, expected) in [
        ("mcp.method.name", "tools/call"),
        ("gen_ai.tool.name", "greet"),
        ("gen_ai.operation.name", "execute_tool"),
        ("jsonrpc.request.id", "2"),
        ("mcp.protocol.version", "2025-06-18"),
        ("network.transport", "pipe"),
    ] {
        assert_eq!(attr(greet, key).as_deref(), Some(expected), "{key}");
    }
    assert_eq!(attr(greet, "error.type"), None);
    assert!(!is_error(greet));
    assert!(greet.end_time_unix_nano > greet.start_time_unix_nano);
    // opt-in content, redacted like the audit log
    let arguments: Json = serde_json::from_str(&attr(greet, "gen_ai.tool.call.arguments").unwrap()).unwrap();
    assert_eq!(arguments, json!({"name": "World", "token": "[REDACTED]"}));
    assert_eq!(attr(greet, "gen_ai.tool.call.result").as_deref(), Some("\"Hello, World!\""));

    let steps = children(spans, greet);
    let mut step_names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    step_names.sort();
    assert_eq!(step_names, ["duckdb query", "policy input", "policy output"]);
    for step in &steps {
        assert_eq!(step.kind, SpanKind::Internal as i32, "{}", step.name);
        assert!(step.start_time_unix_nano >= greet.start_time_unix_nano, "{}", step.name);
        assert!(step.end_time_unix_nano <= greet.end_time_unix_nano, "{}", step.name);
    }
    let query = steps.iter().find(|s| s.name == "duckdb query").unwrap();
    assert_eq!(attr(query, "db.system.name").as_deref(), Some("duckdb"));
    assert!(attr(query, "db.query.text").unwrap().contains("'Hello, '"));

    let add = span(spans, "tools/call add");
    assert_ne!(add.trace_id, greet.trace_id, "no parent given: a trace of its own");
    assert!(add.parent_span_id.is_empty());
    let python = children(spans, add);
    assert_eq!(names(&python.iter().map(|s| (*s).clone()).collect::<Vec<_>>()), ["python add"]);
    assert_eq!(attr(python[0], "code.function.name").as_deref(), Some("add"));

    let fail = span(spans, "tools/call fail");
    assert_eq!(attr(fail, "error.type").as_deref(), Some("tool_error"));
    assert!(is_error(fail));
    let failed_query = children(spans, fail);
    assert_eq!(failed_query.len(), 1);
    assert!(is_error(failed_query[0]), "the failing query's own span");

    let denied = spans.iter().find(|s| s.name == "tools/call greet" && s.span_id != greet.span_id).unwrap();
    assert_eq!(attr(denied, "error.type").as_deref(), Some("tool_error"));
    let denied_steps = children(spans, denied);
    assert_eq!(denied_steps.len(), 1, "denied at input: no query ran");
    assert_eq!(denied_steps[0].name, "policy input");
    assert!(is_error(denied_steps[0]));

    let welcome = span(spans, "prompts/get welcome");
    assert_eq!(attr(welcome, "gen_ai.prompt.name").as_deref(), Some("welcome"));
    assert_eq!(attr(welcome, "gen_ai.tool.name"), None);
    let nope = span(spans, "prompts/get nope");
    assert_eq!(attr(nope, "error.type").as_deref(), Some("-32602"), "a JSON-RPC error: its code");
    assert_eq!(attr(nope, "rpc.response.status_code").as_deref(), Some("-32602"));
    assert!(is_error(nope));
    assert_eq!(nope.status.as_ref().unwrap().message, "Unknown prompt: nope");
    span(spans, "initialize");
    span(spans, "tools/list");

    let ops = histogram(&got, "mcp.server.operation.duration");
    assert_eq!(ops.aggregation_temporality, 2, "cumulative");
    let point = |tool: &str| {
        ops.data_points
            .iter()
            .find(|p| value(&p.attributes, "gen_ai.tool.name").as_deref() == Some(tool))
            .unwrap_or_else(|| panic!("no data point for {tool}"))
    };
    let add_point = point("add");
    assert_eq!(add_point.explicit_bounds, ADVISED_BUCKETS);
    assert_eq!(add_point.bucket_counts.len(), ADVISED_BUCKETS.len() + 1);
    assert_eq!(add_point.count, 1);
    assert_eq!(add_point.bucket_counts.iter().sum::<u64>(), 1);
    assert_eq!(value(&add_point.attributes, "mcp.method.name").as_deref(), Some("tools/call"));
    assert_eq!(value(&add_point.attributes, "network.transport").as_deref(), Some("pipe"));
    assert_eq!(value(&add_point.attributes, "mcp.protocol.version").as_deref(), Some("2025-06-18"));
    assert_eq!(value(&add_point.attributes, "error.type"), None);
    assert!(add_point.attributes.iter().all(|kv| kv.key != "mcp.session.id"), "no session id on metrics");
    assert_eq!(value(&point("fail").attributes, "error.type").as_deref(), Some("tool_error"));
    let sessions = histogram(&got, "mcp.server.session.duration");
    assert_eq!(sessions.data_points.len(), 1);
    assert_eq!(sessions.data_points[0].count, 1);
    assert_eq!(value(&sessions.data_points[0].attributes, "network.transport").as_deref(), Some("pipe"));
    assert_eq!(sessions.data_points[0].explicit_bounds, ADVISED_BUCKETS);

    // the audit record of the call names its trace
    let records = audit_support::records(dir.path());
    let record = records.iter().find(|r| r["operation_name"] == "greet").expect("greet's record");
    assert_eq!(record["trace_id"], hex(&greet.trace_id));
}

fn http_session(url: &str) -> String {
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let (status, head, body) = http_post(url, init, &[]);
    assert_eq!(status, 200, "{head}{body}");
    let id = common::header(&head, "mcp-session-id").expect("session id");
    http_post(
        url,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        &[("mcp-session-id", &id), ("mcp-protocol-version", "2025-06-18")],
    );
    id
}

#[test]
fn an_http_session_links_the_request_traceparent_and_the_environment_turns_telemetry_on() {
    let receiver = Receiver::start();
    let dir = project("          enabled: false\n");
    let config = config_env(dir.path());
    let mut server = HttpServer::start_with_env(
        dir.path(),
        &[],
        &[
            ("MXCP_CONFIG", config.as_str()),
            ("MXCP_TELEMETRY_ENABLED", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
            ("OTEL_SERVICE_NAME", "from-env"),
        ],
    );
    let session = http_session(&server.url);
    let headers = |tp: &'static str| {
        vec![("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-06-18"), ("traceparent", tp)]
    };
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "greet", "arguments": {"name": "Web", "token": "s3cret"}, "_meta": {"traceparent": PARENT}}});
    let (status, _, body) = http_post(&server.url, &call.to_string(), &headers(HTTP_PARENT));
    assert!(status == 200 && body.contains("Hello, Web!"), "{status} {body}");
    let call = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 1}}});
    let (status, _, body) = http_post(&server.url, &call.to_string(), &headers(HTTP_PARENT));
    assert!(status == 200 && body.contains("\"2\""), "{status} {body}");
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(20)), "the server stops on SIGTERM");

    let got = receiver.wait("the HTTP session's spans and metrics", |g| {
        g.spans.iter().any(|s| s.name == "tools/call add")
            && g.metrics.iter().any(|m| m.name == "mcp.server.operation.duration")
    });
    assert!(got.services.iter().all(|s| s == "from-env"), "{:?}", got.services);
    let greet = span(&got.spans, "tools/call greet");
    assert_eq!(hex(&greet.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736", "_meta wins over the header");
    assert_eq!(hex(&greet.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(greet.links.len(), 1, "the HTTP request's context is a link");
    assert_eq!(hex(&greet.links[0].trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&greet.links[0].span_id), "b7ad6b7169203331");
    assert_eq!(attr(greet, "network.transport").as_deref(), Some("tcp"));
    assert_eq!(attr(greet, "mcp.session.id").as_deref(), Some(session.as_str()));
    assert_eq!(attr(greet, "jsonrpc.request.id").as_deref(), Some("7"));
    assert_eq!(attr(greet, "mcp.protocol.version").as_deref(), Some("2025-06-18"));
    assert_eq!(attr(greet, "gen_ai.tool.call.arguments"), None, "content is opt-in");
    let steps = children(&got.spans, greet);
    assert_eq!(steps.len(), 3, "{:?}", steps.iter().map(|s| &s.name).collect::<Vec<_>>());
    // without a parent in _meta the HTTP request's context is the parent (and still a link)
    let add = span(&got.spans, "tools/call add");
    assert_eq!(hex(&add.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&add.parent_span_id), "b7ad6b7169203331");
    assert_eq!(children(&got.spans, add)[0].name, "python add");

    let ops = histogram(&got, "mcp.server.operation.duration");
    let greet_point = ops
        .data_points
        .iter()
        .find(|p| value(&p.attributes, "gen_ai.tool.name").as_deref() == Some("greet"))
        .expect("greet's data point");
    assert_eq!(value(&greet_point.attributes, "network.transport").as_deref(), Some("tcp"));
    assert_eq!(greet_point.explicit_bounds, ADVISED_BUCKETS);
    let sessions = histogram(&got, "mcp.server.session.duration");
    assert!(
        sessions.data_points.iter().any(|p| value(&p.attributes, "network.transport").as_deref() == Some("tcp")),
        "the session's duration is recorded when it closes at shutdown"
    );
}

#[test]
fn telemetry_is_off_unless_enabled() {
    let receiver = Receiver::start();
    // an endpoint alone does not turn it on
    let dir = project(&format!("          endpoint: {}\n", receiver.url));
    let config = config_env(dir.path());
    let mut s = RawStdio::start(
        dir.path(),
        &[("MXCP_CONFIG", config.as_str()), ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str())],
    );
    assert_eq!(s.call("add", json!({"a": 2, "b": 3}))["content"][0]["text"], "5");
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(receiver.got.lock().unwrap().requests.is_empty(), "nothing is exported");
    let records = audit_support::records(dir.path());
    assert_eq!(records.last().expect("a record")["trace_id"], Json::Null);
}

#[test]
fn a_mistake_in_the_telemetry_block_is_reported_at_its_position() {
    let dir = project(
        "          enabled: true\n          metrics:\n            export_interval: soon\n          tracing: {sampler: x}\n",
    );
    let config = config_env(dir.path());
    let (code, stdout, stderr) =
        common::run(common::mxcp(dir.path()).env("MXCP_CONFIG", &config).args(["serve", "--transport", "stdio"]));
    assert_ne!(code, 0, "{stdout}{stderr}");
    let text = format!("{stdout}{stderr}");
    assert!(text.contains("config.yml:9:30"), "{text}");
    assert!(text.contains("expected a whole number of seconds, found the string 'soon'"), "{text}");
    assert!(text.contains("config.yml:10:21"), "{text}");
    assert!(text.contains("unknown key 'sampler'"), "{text}");

    // an unreadable environment override stops the server before it serves
    let dir = project("          enabled: true\n");
    let config = config_env(dir.path());
    let (code, _, stderr) = common::run(
        common::mxcp(dir.path()).env("MXCP_CONFIG", &config).env("MXCP_TELEMETRY_METRICS_INTERVAL", "often").args([
            "serve",
            "--transport",
            "stdio",
        ]),
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("MXCP_TELEMETRY_METRICS_INTERVAL: expected a whole number of seconds, found 'often'"),
        "{stderr}"
    );
}
