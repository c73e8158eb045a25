//! Executing an endpoint: input conversion → input policies → SQL (or prompt rendering) →
//! result shaping by the declared return type → output validation → output policies.
//!
//! Python endpoints run in the embedded interpreter ([`crate::python`]), started on first need
//! ([`super::python_start`]); the database is opened on first need too (`db_slot`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value as Json, json};

use crate::check::sql::{bind_types, find_bind};
use crate::db::{BindType, Database, DbError, DbOptions, QueryResult};
use crate::exec::identity::{Identity, Request};
use crate::exec::policy;
use crate::exec::steps::{CallSpans, Step, traced};
use crate::load::endpoint::{DataType, Endpoint, EndpointKind, Language, Param, SourceBody, TypeDef};
use crate::load::project::Project;
use crate::load::types;
use crate::python::CallEvents;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// The reference's wording (scripts match on it): `Endpoint 'x' not found in tools`.
    #[error("Endpoint '{name}' not found in {kind}s")]
    NotFound { kind: &'static str, name: String },
    /// Argument conversion or constraint failure.
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Policy(String),
    #[error("{0}")]
    Execution(String),
    #[error("Output validation failed: {0}")]
    Output(String),
}

/// Who is calling and how.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// The caller (`None`: anonymous).
    pub identity: Option<Arc<Identity>>,
    /// The HTTP request the call came with (`None`: not over HTTP).
    pub request: Option<Arc<Request>>,
    pub skip_output_validation: bool,
    /// Lets the caller stop the call's query (a timeout).
    pub cancel: Option<crate::db::Cancel>,
    /// Notifications raised by Python code during the call.
    pub events: Option<Arc<dyn CallEvents>>,
    /// How much an SQL endpoint's query may return (serving limits; none otherwise).
    pub result_cap: crate::db::ResultCap,
    /// Where the call's steps are reported when it is traced.
    pub spans: Option<Arc<dyn CallSpans>>,
}

pub struct Runtime {
    pub project: Arc<Project>,
    pub(super) db: Arc<super::db_slot::DbSlot>,
    pub(super) python: OnceLock<Result<Arc<crate::python::Engine>, String>>,
    /// A reload's predecessor whose unchanged plugins the new Python keeps (`successor`);
    /// let go once loaded, so the old engine can end with its generation.
    pub(super) share_plugins_of: Mutex<Option<Arc<crate::python::Engine>>>,
    /// The project's Python sources as loaded (`successor` compares them).
    pub(super) python_sources: super::successor::Fingerprint,
    /// Python endpoints or plugins among the endpoints served (kept current by `exclude_files`).
    needs_python: bool,
    builtins: Vec<Endpoint>,
    excluded: std::collections::HashSet<std::path::PathBuf>,
    executable: Mutex<HashMap<(EndpointKind, String), Arc<Executable>>>,
}

/// An SQL endpoint as it runs: its statement and how its parameters bind (computed once).
struct Executable {
    sql: Arc<str>,
    binds: Vec<(String, BindType)>,
}

impl Runtime {
    pub fn new(project: Project, pool_size: usize) -> Runtime {
        let builtins =
            if project.site.sql_tools.enabled { super::builtin_tools::builtin_sql_tools(&project) } else { Vec::new() };
        let p = &project;
        let db = Arc::new(super::db_slot::DbSlot::new(DbOptions {
            path: p.duckdb_path(),
            readonly: p.readonly,
            extensions: p
                .site
                .extensions
                .iter()
                .map(|e| crate::db::Extension { name: e.name.clone(), repo: e.repo.clone() })
                .collect(),
            secrets: p
                .user_config
                .secrets()
                .into_iter()
                .map(|s| crate::db::Secret { name: s.name, kind: s.kind, parameters: s.parameters })
                .collect(),
            pool_size,
        }));
        let python_sources = super::successor::Fingerprint::python_sources(&project);
        let mut rt = Runtime {
            project: Arc::new(project),
            db,
            python: OnceLock::new(),
            share_plugins_of: Mutex::default(),
            python_sources,
            needs_python: false,
            builtins,
            excluded: Default::default(),
            executable: Mutex::default(),
        };
        rt.compute_needs_python();
        rt
    }

    /// Adds or removes the built-in SQL tools (`serve --sql-tools`).
    pub fn set_sql_tools(&mut self, enabled: bool) {
        self.builtins = if enabled { super::builtin_tools::builtin_sql_tools(&self.project) } else { Vec::new() };
    }

    /// The profile's database, opened on first use (a prompt-only call never opens it).
    pub fn db(&self) -> Result<Arc<Database>, DbError> {
        self.db.get()
    }

    /// The database as `check::check` needs it: plugin functions and the tables `@on_init`
    /// hooks create may be what SQL endpoints use, so the project's Python starts first, as it
    /// does for a call (the reference's `validate` imports it too).
    pub fn db_for_checks(&self) -> Result<Arc<Database>, DbError> {
        if self.needs_python() {
            self.python().map_err(|e| DbError::Setup(format!("the project's Python did not start: {e}")))?;
        }
        self.db.get()
    }

    /// Whether the project runs Python: Python endpoints or plugins.
    pub fn needs_python(&self) -> bool {
        self.needs_python
    }

    fn compute_needs_python(&mut self) {
        self.needs_python = !self.project.site.plugins.is_empty() || self.endpoints().any(|e| e.runs(Language::Python));
    }

    /// Runs the Python `@on_shutdown` hooks, if Python was started (once; also when the
    /// engine is dropped, which a later generation of a reloaded server may share).
    pub fn shutdown(&self) {
        if let Some(Ok(engine)) = self.python.get() {
            engine.shutdown();
        }
    }

    /// Every endpoint a client can call: the project's, then the built-in SQL tools.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.project
            .endpoints()
            .filter(|(f, _)| !self.excluded.contains(&f.rel))
            .map(|(_, e)| e)
            .chain(self.builtins.iter())
    }

    /// Leaves out the endpoints of these files (`serve --ignore-errors`).
    pub fn exclude_files(&mut self, files: impl IntoIterator<Item = std::path::PathBuf>) {
        self.excluded.extend(files);
        self.compute_needs_python();
    }

    pub fn find(&self, kind: EndpointKind, name: &str) -> Option<&Endpoint> {
        self.endpoints().find(|e| e.kind == kind && e.name == name)
    }

    pub fn call(
        &self,
        kind: EndpointKind,
        name: &str,
        args: &Map<String, Json>,
        opts: &CallOptions,
    ) -> Result<Json, ExecError> {
        self.call_traced(kind, name, args, opts).0
    }

    /// [`Runtime::call`], with what the endpoint's policies decided (for the audit log).
    pub fn call_traced(
        &self,
        kind: EndpointKind,
        name: &str,
        args: &Map<String, Json>,
        opts: &CallOptions,
    ) -> (Result<Json, ExecError>, policy::PolicyTrace) {
        let mut trace = policy::PolicyTrace::default();
        let result = match self.find(kind, name) {
            Some(e) => self.run_endpoint(e, args, opts, &mut trace),
            None => Err(ExecError::NotFound { kind: kind.as_str(), name: name.into() }),
        };
        (result, trace)
    }

    pub fn call_endpoint(&self, e: &Endpoint, args: &Map<String, Json>, opts: &CallOptions) -> Result<Json, ExecError> {
        self.run_endpoint(e, args, opts, &mut policy::PolicyTrace::default())
    }

    fn run_endpoint(
        &self,
        e: &Endpoint,
        args: &Map<String, Json>,
        opts: &CallOptions,
        trace: &mut policy::PolicyTrace,
    ) -> Result<Json, ExecError> {
        let args = types::coerce_arguments(&e.parameters, args).map_err(ExecError::Input)?;
        // hooks and plugin functions may be what SQL endpoints rely on
        if self.needs_python() {
            self.python()?;
        }
        // the user object is built only for endpoints that have policies
        let has_policies = !(e.policies.input.is_empty() && e.policies.output.is_empty());
        let user = if has_policies { policy_user(opts) } else { Json::Null };
        let spans = opts.spans.as_deref();
        let policy_spans = |n: usize| spans.filter(|_| n > 0);
        let inputs = Step::Policy { stage: "input", policies: e.policies.input.len() };
        traced(policy_spans(e.policies.input.len()), inputs, || {
            policy::enforce_input(&e.policies.input, &args, &user, trace).map_err(|d| ExecError::Policy(d.0))
        })?;
        let raw = match e.kind {
            EndpointKind::Prompt => self.render_prompt(e, &args)?,
            _ => match e.language {
                Language::Sql => self.run_sql_endpoint(e, &args, opts)?,
                Language::Python => self.run_python_endpoint(e, &args, opts)?,
            },
        };
        let mut shaped = if e.kind == EndpointKind::Prompt { raw } else { shape(raw, e.return_type.as_ref())? };
        if let (Some(def), false) = (&e.return_type, e.kind == EndpointKind::Prompt) {
            types::embed_declared_json(def, &mut shaped);
        }
        if !opts.skip_output_validation {
            if let Some(def) = &e.return_type {
                if e.kind != EndpointKind::Prompt {
                    types::validate_output(def, &shaped).map_err(ExecError::Output)?;
                }
            }
        }
        let outputs = Step::Policy { stage: "output", policies: e.policies.output.len() };
        traced(policy_spans(e.policies.output.len()), outputs, || {
            policy::enforce_output(&e.policies.output, shaped, &user, e.return_type.as_ref(), trace)
                .map_err(|d| ExecError::Policy(d.0))
        })
    }

    fn run_sql_endpoint(&self, e: &Endpoint, args: &Map<String, Json>, opts: &CallOptions) -> Result<Json, ExecError> {
        let session = Identity::sql_session(opts.identity.as_deref(), opts.request.as_deref());
        let run = |sql: &str, args: &Map<String, Json>, binds: &[(String, BindType)], shown: Option<&str>| {
            traced(opts.spans.as_deref(), Step::Query { sql: shown }, || {
                self.query_cancellable(sql, args, binds, opts.cancel.as_ref(), session.as_ref(), opts.result_cap)
                    .map(QueryResult::into_json)
            })
        };
        if e.name == "execute_sql_query" && self.builtins.iter().any(|b| std::ptr::eq(b, e)) {
            let sql = args.get("sql").and_then(Json::as_str).unwrap_or_default().to_string();
            return run(&sql, &Map::new(), &[], None);
        }
        let x = self.executable(e)?;
        run(&x.sql, args, &x.binds, Some(&x.sql))
    }

    fn run_python_endpoint(
        &self,
        e: &Endpoint,
        args: &Map<String, Json>,
        opts: &CallOptions,
    ) -> Result<Json, ExecError> {
        let Some(SourceBody::File { resolved, .. }) = e.source.as_ref().map(|s| &s.body) else {
            return Err(ExecError::Execution("Python endpoints must specify source.file".into()));
        };
        let shown = resolved.strip_prefix(&self.project.root).unwrap_or(resolved).to_string_lossy().into_owned();
        let ctx = crate::python::CallContext {
            events: opts.events.clone(),
            user: opts.identity.as_ref().map(|i| i.python_user()),
            session: Identity::sql_session(opts.identity.as_deref(), opts.request.as_deref()),
            cancel: opts.cancel.clone(),
        };
        let python = self.python()?;
        let function = crate::python::endpoint_function(e);
        traced(opts.spans.as_deref(), Step::Python { function, file: &shown }, || {
            python
                .call(resolved, function, &shown, &e.parameters, args, ctx)
                .map_err(|e| ExecError::Execution(e.to_string()))
        })
    }

    /// Runs SQL on the profile's database with `$name` parameters typed by `params`.
    pub fn query(&self, sql: &str, args: &Map<String, Json>, params: &[Param]) -> Result<QueryResult, ExecError> {
        // plugin functions and `@on_init` tables may be what the SQL uses (`mxcp query`)
        if self.needs_python() {
            self.python()?;
        }
        self.query_cancellable(sql, args, &bind_types(params), None, None, Default::default())
    }

    fn query_cancellable(
        &self,
        sql: &str,
        args: &Map<String, Json>,
        binds: &[(String, BindType)],
        cancel: Option<&crate::db::Cancel>,
        session: Option<&Arc<crate::db::SqlSession>>,
        cap: crate::db::ResultCap,
    ) -> Result<QueryResult, ExecError> {
        let db = self.db().map_err(|e| ExecError::Execution(e.to_string()))?;
        let types = |name: &str| find_bind(binds, name);
        db.query_json_cancellable(sql, args, &types, cancel, session, cap)
            .and_then(crate::db::JsonRows::into_result)
            .map_err(|e| match e {
                DbError::ResultTooLarge(why) => ExecError::Execution(why),
                e => ExecError::Execution(format!("Failed to execute SQL: {e}")),
            })
    }

    /// The SQL to run for an endpoint: its source, with the parameters DuckDB cannot type at
    /// prepare time cast to their declared types (computed once).
    fn executable(&self, e: &Endpoint) -> Result<Arc<Executable>, ExecError> {
        let key = (e.kind, e.name.clone());
        if let Some(x) = self.executable.lock().expect("sql lock").get(&key) {
            return Ok(x.clone());
        }
        let binds = bind_types(&e.parameters);
        let text = self.source_text(e)?;
        let mut sql = text.clone();
        if !e.parameters.is_empty() {
            let db = self.db().map_err(|err| ExecError::Execution(err.to_string()))?;
            if let Ok(d) = db.describe(&text).as_ref() {
                let open: Vec<&str> = d
                    .params
                    .iter()
                    .filter(|(_, t)| *t == crate::db::SqlType::Unknown)
                    .map(|(n, _)| n.as_str())
                    .collect();
                if !open.is_empty() {
                    let typed = crate::db::typed_sql(&text, &|n| find_bind(&binds, n), |n| open.contains(&n));
                    if db.describe(&typed).is_ok() {
                        sql = typed.into();
                    }
                }
            }
        }
        let x = Arc::new(Executable { sql, binds });
        self.executable.lock().expect("sql lock").insert(key, x.clone());
        Ok(x)
    }

    /// The endpoint's source code.
    pub fn source_text(&self, e: &Endpoint) -> Result<Arc<str>, ExecError> {
        let Some(src) = &e.source else {
            return Err(ExecError::Execution(format!("{} '{}' has no source", e.kind.as_str(), e.name)));
        };
        match &src.body {
            SourceBody::Code { text, .. } => Ok(text.as_str().into()),
            // read once per endpoint: `executable` keeps what it makes of it
            SourceBody::File { resolved, declared } => std::fs::read_to_string(resolved)
                .map(Arc::from)
                .map_err(|err| ExecError::Execution(format!("cannot read source file '{declared}': {err}"))),
        }
    }

    fn render_prompt(&self, e: &Endpoint, args: &Map<String, Json>) -> Result<Json, ExecError> {
        let mut out = Vec::new();
        for m in &e.messages {
            let text = crate::load::template::render(&m.prompt, args)
                .map_err(|err| ExecError::Execution(format!("Error rendering prompt {}: {err}", e.name)))?;
            out.push(json!({"prompt": text, "role": m.role, "type": m.kind}));
        }
        Ok(Json::Array(out))
    }
}

/// The user as policies see it: anonymous, or the caller's identity.
fn policy_user(opts: &CallOptions) -> Json {
    match &opts.identity {
        None => Identity::anonymous_policy_user(),
        Some(identity) => identity.policy_user(),
    }
}

/// Result shaping by the declared return type, as the reference shapes SQL rows: an array
/// keeps every row, an object takes the single row, a scalar the single row's single column.
pub fn shape(raw: Json, return_type: Option<&TypeDef>) -> Result<Json, ExecError> {
    let Some(def) = return_type else {
        return Ok(raw);
    };
    if def.ty == DataType::Array {
        return Ok(raw);
    }
    let Json::Array(mut rows) = raw else {
        return Ok(raw);
    };
    match rows.len() {
        0 => return Err(ExecError::Execution("No results returned".into())),
        1 => {}
        n => {
            return Err(ExecError::Execution(format!(
                "Expected single result for return type '{}', but got {n} results",
                def.ty.as_str()
            )));
        }
    }
    let row = rows.pop().expect("one row");
    if def.ty == DataType::Object {
        return Ok(row);
    }
    match row {
        Json::Object(m) if m.len() == 1 => Ok(m.into_iter().next().map(|(_, v)| v).unwrap_or(Json::Null)),
        Json::Object(m) => Err(ExecError::Execution(format!(
            "Expected single value for return type '{}', but got {} values",
            def.ty.as_str(),
            m.len()
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_by_return_type() {
        let rows = json!([{"a": 1}]);
        assert_eq!(shape(rows.clone(), Some(&TypeDef::new(DataType::Integer))).unwrap(), json!(1));
        assert_eq!(shape(rows.clone(), Some(&TypeDef::new(DataType::Object))).unwrap(), json!({"a": 1}));
        assert_eq!(shape(rows.clone(), None).unwrap(), rows);
        assert_eq!(
            shape(json!([]), Some(&TypeDef::new(DataType::Object))).unwrap_err().to_string(),
            "No results returned"
        );
        assert_eq!(
            shape(json!([{"a": 1, "b": 2}]), Some(&TypeDef::new(DataType::String))).unwrap_err().to_string(),
            "Expected single value for return type 'string', but got 2 values"
        );
        assert_eq!(
            shape(json!([{}, {}, {}]), Some(&TypeDef::new(DataType::Object))).unwrap_err().to_string(),
            "Expected single result for return type 'object', but got 3 results"
        );
    }
}
