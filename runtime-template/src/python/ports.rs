//! The ports the embedded Python calls out through, implemented by the stages that host it:
//! [`Services`] by the executor (queries, configuration, database reloads), [`CallEvents`] by
//! the server (a client's log, progress and requests during a call). Their errors are plain
//! messages because Python raises them as they are (`RuntimeError(message)`).

use serde_json::{Map, Value as Json};

/// What project Python can reach in the running mxcp.
pub trait Services: Send + Sync {
    /// Runs SQL for the call whose caller `session` describes (what `get_username()` returns).
    fn execute(
        &self,
        sql: &str,
        params: &Map<String, Json>,
        session: Option<&std::sync::Arc<crate::db::SqlSession>>,
    ) -> Result<crate::db::QueryResult, String>;
    fn secret(&self, name: &str) -> Option<Json>;
    fn user_config(&self) -> Json;
    fn site_config(&self) -> Json;
    /// Waits for running queries, closes the database, runs `payload`, and lets the next
    /// query reopen it.
    fn reload_db(&self, payload: &mut dyn FnMut() -> Result<(), String>) -> Result<(), String>;
}

/// Where a call's notifications go (an MCP client's log and progress, while it waits).
pub trait CallEvents: Send + Sync {
    fn log(&self, level: &str, message: &str);
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>);
    /// A request to the client (`sampling/createMessage`, `elicitation/create`), answered
    /// before the call goes on. Blocks the calling (non-async) thread.
    fn request(&self, method: &str, params: Json) -> Result<Json, String> {
        let _ = params;
        Err(format!("{method} is only available during a call from an MCP client"))
    }
}
