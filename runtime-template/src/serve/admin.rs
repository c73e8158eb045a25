//! The admin interface (opt-in: `MXCP_ADMIN_ENABLED`): HTTP over a unix socket that only its
//! owner can open (mode 0600). `GET /health`, `GET /status`, `GET /endpoints`, `POST /reload`.
//! The socket file is removed when the server stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use super::ServerError;
use super::catalog::State;

/// The bound socket; its file goes with it.
pub(super) struct AdminSocket {
    path: PathBuf,
    listener: Option<tokio::net::UnixListener>,
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the socket at `path` (a stale socket file of a server gone is replaced; a live one,
/// or any other file, is an error), readable and writable by this user only.
pub(super) fn bind(path: &Path) -> Result<AdminSocket, ServerError> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let fail = |message: String| ServerError::Admin { path: path.display().to_string(), message };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(fail("a file that is not a socket is in the way".into()));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(fail("another server is listening on it".into()));
        }
        std::fs::remove_file(path).map_err(|e| fail(format!("cannot remove the stale socket: {e}")))?;
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(|e| fail(e.to_string()))?;
    let socket = AdminSocket { path: path.to_path_buf(), listener: Some(listener) };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| fail(e.to_string()))?;
    Ok(socket)
}

/// Serves the admin interface on `socket` until the server stops.
pub(super) async fn serve(state: Arc<State>, mut socket: AdminSocket) {
    let Some(listener) = socket.listener.take() else {
        return;
    };
    tracing::info!("mxcp: admin interface on {}", socket.path.display());
    let (st, re, en) = (state.clone(), state.clone(), state.clone());
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { reply(StatusCode::OK, json!({"status": "ok"})) }))
        .route("/status", axum::routing::get(move || status(st.clone())))
        .route("/endpoints", axum::routing::get(move || endpoints(en.clone())))
        .route("/reload", axum::routing::post(move || reload(re.clone())));
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("mxcp: the admin interface stopped: {e}");
    }
    drop(socket);
}

async fn status(state: Arc<State>) -> axum::response::Response {
    let g = state.generation();
    let body = json!({
        "status": if state.draining.load(std::sync::atomic::Ordering::SeqCst) { "draining" } else { "ok" },
        "version": crate::VERSION,
        "project": g.runtime.project.site.project,
        "profile": g.runtime.project.profile,
        "generation": g.number,
        "endpoints": g.runtime.endpoints().count(),
        "calls_in_flight": state.in_flight.load(std::sync::atomic::Ordering::SeqCst),
        "sessions": state.sessions.count(),
        "draining": state.draining.load(std::sync::atomic::Ordering::SeqCst),
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "last_reload": state.reloads.last(),
    });
    reply(StatusCode::OK, body)
}

async fn endpoints(state: Arc<State>) -> axum::response::Response {
    let g = state.generation();
    reply(StatusCode::OK, json!({"generation": g.number, "endpoints": g.endpoint_names()}))
}

/// 200 with the new generation, or 422 with the errors that kept the old one.
async fn reload(state: Arc<State>) -> axum::response::Response {
    match state.reload("admin").await {
        Ok(generation) => reply(StatusCode::OK, json!({"status": "ok", "generation": generation})),
        Err(errors) => {
            let serving = state.generation().number;
            reply(StatusCode::UNPROCESSABLE_ENTITY, json!({"status": "error", "errors": errors, "generation": serving}))
        }
    }
}

fn reply(status: StatusCode, body: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
