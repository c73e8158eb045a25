//! The streamable HTTP transport: rmcp's service behind axum, with the token check and the
//! JSON-RPC gate in front, the Protected Resource Metadata beside it, and a graceful
//! shutdown that drains calls in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use crate::auth::{Authenticator, Listen, Rejection};
use crate::exec::identity::Request;

use super::catalog::{Caller, State};
use super::handler::Handler;
use super::{ServeOptions, ServerError, gate, shutdown_signal};

/// Serves streamable HTTP at `/mcp` until SIGINT/SIGTERM, letting calls in flight finish.
pub(super) async fn serve(state: Arc<State>, opts: &ServeOptions) -> Result<(), ServerError> {
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
    // the public address clients use (behind a proxy) is an accepted Host
    if let Some(base) = &opts.http.base_url {
        let authority = base.split("://").nth(1).unwrap_or(base).split('/').next().unwrap_or_default();
        hosts.push(authority.to_string());
        hosts.push(authority.split(':').next().unwrap_or_default().to_string());
    }
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(cancel.child_token())
        .with_legacy_session_mode(!opts.stateless)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(opts.max_request_bytes);
    // the server's state, for the readiness probe, the address limit and the shutdown
    let shared = state.clone();
    let sessions = (!opts.stateless).then_some(crate::telemetry::Transport::Tcp);
    let service = StreamableHttpService::new(
        move || Ok(super::traced::Traced::new(Handler::new(state.clone()), state.telemetry.clone(), sessions)),
        LocalSessionManager::default().into(),
        config,
    );
    let addr = format!("{}:{}", opts.host, opts.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| ServerError::Bind { addr: addr.clone(), message: e.to_string() })?;
    let local: Option<SocketAddr> = listener.local_addr().ok();
    let port = local.map(|a| a.port()).unwrap_or(opts.port);
    let auth = Authenticator::start(&opts.auth, &opts.http, Listen { host: &opts.host, port }).await?.map(Arc::new);
    let limit = opts.max_request_bytes;
    let mut mcp = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(move |req, next| gate_http(req, next, limit)));
    let mut app = axum::Router::new();
    if let Some(auth) = &auth {
        tracing::info!("mxcp: HTTP requests need an access token: {}", auth.describe());
        let a = auth.clone();
        mcp = mcp.layer(axum::middleware::from_fn(move |req, next| require_token(a.clone(), req, next)));
        let doc = auth.resource_metadata().to_string();
        for path in auth.metadata_paths() {
            let doc = doc.clone();
            app = app.route(path, axum::routing::get(move || metadata(doc.clone())));
        }
    }
    // outermost: a flood from one address is refused before any token is checked
    // the limits of the generation serving each request (a reload may change them)
    let limited = shared.clone();
    let trust_proxy = opts.http.trust_proxy;
    mcp = mcp.layer(axum::middleware::from_fn(move |req, next| {
        per_address(limited.generation().limits.clone(), trust_proxy, req, next)
    }));
    let ready = shared.clone();
    let app = app
        .merge(mcp)
        .route(
            "/healthz",
            axum::routing::get(|| async { json_response(axum::http::StatusCode::OK, r#"{"status":"ok"}"#.into()) }),
        )
        .route("/readyz", axum::routing::get(move || readiness(ready.clone())));
    // without TCP_NODELAY every streamed reply waits ~40 ms for Nagle and delayed ACKs
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Some(a) = local {
        tracing::info!("mxcp: serving MCP over streamable HTTP at http://{a}/mcp");
    }
    // SIGINT/SIGTERM: stop accepting at once (a load balancer retries elsewhere) and turn
    // /readyz to 503; requests already accepted are answered; once no call runs, the
    // long-lived streams (sessions, GET streams) are closed so the graceful wait can end
    let stopping = Arc::new(tokio::sync::Notify::new());
    let stopped = stopping.clone();
    let drained = shared.clone();
    tokio::spawn(async move {
        stopped.notified().await;
        drained.drain(Duration::from_secs(30)).await;
        // rmcp writes a finished call's reply to its stream asynchronously: let it go out
        // before the sessions (and their streams) are cancelled
        tokio::time::sleep(Duration::from_millis(250)).await;
        drained.drain(Duration::from_secs(30)).await;
        drained.reloads.settle(Duration::from_secs(10)).await;
        cancel.cancel();
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shared.draining.store(true, std::sync::atomic::Ordering::SeqCst);
            stopping.notify_one();
        })
        .await
        .map_err(|e| ServerError::Start(e.to_string()))
}

/// 429 with `Retry-After` when the request's address is over its rate.
async fn per_address(
    limits: Arc<crate::limits::Limits>,
    trust_proxy: bool,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !limits.limits_addresses() {
        return next.run(req).await;
    }
    let peer = req.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let forwarded = if trust_proxy { forwarded_for(req.headers()) } else { None };
    if let Some(ip) = forwarded.or(peer) {
        if let Err(wait) = limits.admit_address(ip) {
            let mut response = json_response(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                r#"{"error":"too many requests from this address"}"#.into(),
            );
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
            return response;
        }
    }
    next.run(req).await
}

/// The client address a trusted proxy reports: the last `X-Forwarded-For` entry, the one
/// the proxy itself appended (earlier entries come from the client and can be forged).
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).next_back()?;
    last.rsplit(',').next()?.trim().parse().ok()
}

/// Ready: not draining, and the database opens (it is opened on first use; this is cheap after).
async fn readiness(state: Arc<State>) -> axum::response::Response {
    use axum::http::StatusCode;
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return json_response(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"draining"}"#.into());
    }
    let runtime = state.generation().runtime.clone();
    match tokio::task::spawn_blocking(move || runtime.db().map(|_| ())).await {
        Ok(Ok(())) => json_response(StatusCode::OK, r#"{"status":"ready"}"#.into()),
        Ok(Err(e)) => {
            let body = serde_json::json!({"status": "not ready", "error": e.to_string()});
            json_response(StatusCode::SERVICE_UNAVAILABLE, body.to_string())
        }
        Err(_) => json_response(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"not ready"}"#.into()),
    }
}

/// The Protected Resource Metadata document (public, so browser clients may read it too).
async fn metadata(doc: String) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    ([(header::CONTENT_TYPE, "application/json"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], doc).into_response()
}

/// Every request to `/mcp` needs a valid token; the verified caller rides along in the
/// request's extensions to the handler. A session belongs to the caller who opened it.
async fn require_token(
    auth: Arc<Authenticator>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (mut parts, body) = req.into_parts();
    let identity = match auth.authenticate(&parts.headers, parts.uri.query()).await {
        Ok(identity) => identity,
        Err(rejection) => return rejected(rejection),
    };
    let session = parts.headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(s) = &session {
        if !auth.session_allowed(s, &identity) {
            // as for a session that does not exist: its id tells the caller nothing
            let reply = gate::error(Json::Null, -32600, "Session not found".into());
            return json_response(axum::http::StatusCode::NOT_FOUND, reply.to_string());
        }
    }
    // what SQL's get_request_header() sees: never the credentials
    let headers = parts
        .headers
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "authorization" | "cookie" | "proxy-authorization"))
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    parts.extensions.insert(Caller { identity: Some(identity.clone()), request: Some(Arc::new(Request { headers })) });
    let response = next.run(axum::extract::Request::from_parts(parts, body)).await;
    if session.is_none() {
        if let Some(opened) = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()) {
            auth.session_opened(opened, &identity);
        }
    }
    response
}

fn rejected(r: Rejection) -> axum::response::Response {
    use axum::http::header;
    let status = axum::http::StatusCode::from_u16(r.status).unwrap_or(axum::http::StatusCode::UNAUTHORIZED);
    let mut response = json_response(status, r.body.to_string());
    let headers = response.headers_mut();
    if let Some(challenge) = r.www_authenticate.and_then(|c| header::HeaderValue::from_str(&c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    if let Some(secs) = r.retry_after {
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    response
}

fn json_response(status: axum::http::StatusCode, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
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
