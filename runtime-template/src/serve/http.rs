//! The streamable HTTP transport: rmcp's service behind axum, with the JSON-RPC gate in front
//! and a graceful shutdown that drains calls in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use super::catalog::State;
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
        tracing::info!("mxcp: serving MCP over streamable HTTP at http://{a}/mcp");
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
