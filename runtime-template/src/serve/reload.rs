//! Hot reload: the project is loaded and checked again beside the generation serving (by the
//! caller's [`Reloader`], the same path as start-up); only a set without errors replaces it,
//! atomically, and the connected sessions are told which lists changed. Triggered by SIGHUP,
//! the admin interface's `POST /reload` and `serve --watch`; one at a time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value as Json, json};

use crate::exec::executor::Runtime;
use crate::load::limits_config::LimitsConfig;

use super::catalog::State;

/// A checked new set to serve.
pub struct Reloaded {
    pub runtime: Runtime,
    /// The site profile's `limits` as they are now (applied to new calls).
    pub limits: LimitsConfig,
}

/// Loads and checks the project again, given the runtime serving now (what can be kept of
/// it: see `Runtime::successor`); the errors rendered for a log when the new set has any.
#[derive(Clone)]
pub struct Reloader(pub Arc<dyn Fn(&Runtime) -> Result<Reloaded, String> + Send + Sync>);

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reloader")
    }
}

/// The reloads of a server: how, one at a time, and how the last one went.
#[derive(Default)]
pub(super) struct Reloads {
    pub(super) reloader: Option<Reloader>,
    running: tokio::sync::Mutex<()>,
    last: Mutex<Option<Report>>,
}

#[derive(Clone)]
struct Report {
    at: SystemTime,
    trigger: String,
    /// The generation now serving, or the errors that kept the old one.
    outcome: Result<u64, String>,
}

impl Reloads {
    /// The last reload, for `GET /status`.
    pub(super) fn last(&self) -> Json {
        let Some(r) = self.last.lock().expect("report lock").clone() else {
            return Json::Null;
        };
        let at = chrono::DateTime::<chrono::Utc>::from(r.at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match r.outcome {
            Ok(generation) => json!({"at": at, "trigger": r.trigger, "status": "ok", "generation": generation}),
            Err(errors) => json!({"at": at, "trigger": r.trigger, "status": "error", "errors": errors}),
        }
    }

    /// Waits for a reload that is running to end, at most `limit` (a shutdown).
    pub(super) async fn settle(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.running.lock()).await;
    }
}

impl State {
    /// Loads, checks and (without errors) serves the project anew; the new generation's
    /// number, or the errors (logged) for which the old one keeps serving.
    pub(super) async fn reload(self: &Arc<Self>, trigger: &str) -> Result<u64, String> {
        let Some(reloader) = self.reloads.reloader.clone() else {
            return Err("this server cannot reload".into());
        };
        let _one_at_a_time = self.reloads.running.lock().await;
        if self.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the server is shutting down".into());
        }
        let old = self.generation();
        let serving = old.runtime.clone();
        let built = tokio::task::spawn_blocking(move || {
            let outcome = (reloader.0)(&serving).and_then(|next| {
                // Python starts now, as at start-up: its `@on_init` hooks run before it serves
                if next.runtime.needs_python() {
                    next.runtime.python().map_err(|e| format!("the project's Python did not start: {e}"))?;
                }
                next.runtime.activate();
                Ok(next)
            });
            if outcome.is_err() {
                // the old set keeps serving: its Python and database are the ones in use again
                serving.activate();
            }
            outcome
        })
        .await
        .unwrap_or_else(|e| Err(format!("internal error: the reload failed ({e})")));
        let outcome = match built {
            Ok(next) => {
                let next = old.next(Arc::new(next.runtime), next.limits);
                let (number, changes) = (next.number, next.changes_from(&old));
                let replaced = self.swap(next);
                let restarted = |same: bool| if same { "kept" } else { "restarted" };
                let current = self.generation();
                tracing::info!(
                    "mxcp: reloaded ({trigger}): generation {number} serves now ({} endpoints; database {}, Python {})",
                    current.runtime.endpoints().count(),
                    restarted(current.runtime.shares_database_with(&old.runtime)),
                    restarted(current.runtime.shares_python_with(&old.runtime) || !current.runtime.needs_python()),
                );
                // the replaced generation ends with its last call: its Python shutdown hooks
                // may run then, off the async threads
                tokio::task::spawn_blocking(move || drop((replaced, old, current)));
                self.sessions.notify(changes).await;
                Ok(number)
            }
            Err(errors) => {
                tracing::error!(
                    "mxcp: reload ({trigger}) rejected; generation {} keeps serving:\n{errors}",
                    old.number
                );
                Err(errors)
            }
        };
        let report = Report { at: SystemTime::now(), trigger: trigger.to_string(), outcome: outcome.clone() };
        *self.reloads.last.lock().expect("report lock") = Some(report);
        outcome
    }
}

/// Reloads at each SIGHUP until the server stops.
pub(super) async fn on_hangup(state: Arc<State>, mut hangup: tokio::signal::unix::Signal) {
    while hangup.recv().await.is_some() {
        let _ = state.reload("SIGHUP").await;
    }
}
