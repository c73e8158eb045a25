//! What a call tells whoever traces it about its steps (policy checks, the SQL query, the
//! Python function): plain facts, reported when each step ends. The executor knows nothing
//! of how they are recorded (the server turns them into child spans, `crate::telemetry`).

use std::time::SystemTime;

/// One step of a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step<'a> {
    /// The endpoint's input or output policies (`stage`), `policies` of them.
    Policy { stage: &'static str, policies: usize },
    /// The query on DuckDB; `sql` is the endpoint's own statement (none for ad-hoc SQL, which
    /// is the caller's argument).
    Query { sql: Option<&'a str> },
    /// The endpoint's Python function.
    Python { function: &'a str, file: &'a str },
}

/// Receives the steps of one call, on the thread that runs it.
pub trait CallSpans: Send + Sync {
    /// `step` ran from `started` until now; `error` says why it failed.
    fn step(&self, step: Step<'_>, started: SystemTime, error: Option<&str>);
}

/// Runs `f`, reported as `step` when the call is traced (otherwise only `f` runs).
pub(super) fn traced<'a, T, E: std::fmt::Display>(
    spans: Option<&dyn CallSpans>,
    step: Step<'a>,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let Some(spans) = spans else {
        return f();
    };
    let started = SystemTime::now();
    let result = f();
    let error = result.as_ref().err().map(ToString::to_string);
    spans.step(step, started, error.as_deref());
    result
}
