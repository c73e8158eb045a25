//! Executing an endpoint: input conversion → input policies → SQL (or prompt rendering) →
//! result shaping by the declared return type → output validation → output policies.
//!
//! Python endpoints run in the embedded interpreter ([`crate::python`]), started on first need.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde_json::{Map, Value as Json, json};

use crate::db::{Database, DbError, DbOptions, QueryResult};
use crate::endpoint::{DataType, Endpoint, EndpointKind, Language, Param, SourceBody, TypeDef};
use crate::identity::{Identity, Request};
use crate::policy;
use crate::project::{Findings, Project};
use crate::types;
use crate::yaml::Pos;

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
}

/// Set-up run on each newly opened database (plugin functions).
pub type OnOpen = Arc<dyn Fn(&Database) -> Result<(), String> + Send + Sync>;

/// The profile's database, shared by the executor and project Python; reopened on demand
/// after `reload_duckdb` closed it.
pub struct DbSlot {
    opts: DbOptions,
    slot: Mutex<Option<Arc<Database>>>,
    /// Held for writing while a reload swaps the database: new queries wait.
    reloading: RwLock<()>,
    /// Run on every (re)opened database: registers plugin functions.
    on_open: Mutex<Vec<OnOpen>>,
}

impl DbSlot {
    fn new(opts: DbOptions) -> DbSlot {
        DbSlot { opts, slot: Mutex::new(None), reloading: RwLock::new(()), on_open: Mutex::default() }
    }

    pub fn get(&self) -> Result<Arc<Database>, DbError> {
        let _wait = self.reloading.read().expect("reload lock");
        let mut slot = self.slot.lock().expect("db lock");
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        let db = Arc::new(Database::open(&self.opts)?);
        for w in &db.warnings {
            eprintln!("warning: {w}");
        }
        for hook in self.on_open.lock().expect("hook lock").iter() {
            hook(&db).map_err(DbError::Sql)?;
        }
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Runs `hook` on the open database (if any) and on every database opened later.
    pub fn add_on_open(&self, hook: OnOpen) -> Result<(), String> {
        let current = self.slot.lock().expect("db lock").clone();
        self.on_open.lock().expect("hook lock").push(hook.clone());
        match current {
            Some(db) => hook(&db),
            None => Ok(()),
        }
    }

    /// Drain → close → `payload` → (reopened by the next query).
    pub fn reload(&self, payload: &mut dyn FnMut() -> Result<(), String>) -> Result<(), String> {
        let _block = self.reloading.write().expect("reload lock");
        let old = self.slot.lock().expect("db lock").take();
        if let Some(old) = old {
            let start = std::time::Instant::now();
            while Arc::strong_count(&old) > 1 {
                if start.elapsed() > std::time::Duration::from_secs(120) {
                    return Err("reload_duckdb: queries still running after 120 s".into());
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            drop(old);
        }
        payload()
    }
}

/// What project Python reaches through `mxcp.runtime`.
struct PyServices {
    project: Arc<Project>,
    db: Arc<DbSlot>,
}

impl crate::python::Services for PyServices {
    fn execute(&self, sql: &str, params: &Map<String, Json>) -> Result<QueryResult, String> {
        let db = self.db.get().map_err(|e| e.to_string())?;
        db.query(sql, params, &|_| None).map_err(|e| e.to_string())
    }
    fn secret(&self, name: &str) -> Option<Json> {
        self.project.user_config.secrets().into_iter().find(|s| s.name == name).map(|s| Json::Object(s.parameters))
    }
    fn user_config(&self) -> Json {
        self.project.user_config.raw.clone()
    }
    fn site_config(&self) -> Json {
        self.project.site.raw.clone()
    }
    fn reload_db(&self, payload: &mut dyn FnMut() -> Result<(), String>) -> Result<(), String> {
        self.db.reload(payload)
    }
}

pub struct Runtime {
    pub project: Arc<Project>,
    db: Arc<DbSlot>,
    python: OnceLock<Result<Arc<crate::python::Engine>, String>>,
    shut_down: std::sync::atomic::AtomicBool,
    /// Python endpoints or plugins among the endpoints served (kept current by `exclude_files`).
    needs_python: bool,
    builtins: Vec<Endpoint>,
    excluded: std::collections::HashSet<std::path::PathBuf>,
    executable: Mutex<HashMap<(EndpointKind, String), Arc<str>>>,
}

impl Runtime {
    pub fn new(project: Project, pool_size: usize) -> Runtime {
        let builtins = if project.site.sql_tools.enabled { builtin_sql_tools(&project) } else { Vec::new() };
        let p = &project;
        let db = Arc::new(DbSlot::new(DbOptions {
            path: p.duckdb_path(),
            readonly: p.readonly,
            extensions: p.site.extensions.clone(),
            secrets: p.user_config.secrets(),
            pool_size,
        }));
        let mut rt = Runtime {
            project: Arc::new(project),
            db,
            python: OnceLock::new(),
            shut_down: Default::default(),
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
        self.builtins = if enabled { builtin_sql_tools(&self.project) } else { Vec::new() };
    }

    /// The profile's database, opened on first use (a prompt-only call never opens it).
    pub fn db(&self) -> Result<Arc<Database>, DbError> {
        self.db.get()
    }

    /// Whether the project runs Python: Python endpoints or plugins.
    pub fn needs_python(&self) -> bool {
        self.needs_python
    }

    fn compute_needs_python(&mut self) {
        self.needs_python = !self.project.site.plugins.is_empty() || self.endpoints().any(|e| e.runs(Language::Python));
    }

    /// The project's Python, loaded on first use: modules imported, plugins created and their
    /// functions registered with DuckDB, `@on_init` hooks run.
    pub fn python(&self) -> Result<&Arc<crate::python::Engine>, ExecError> {
        self.python
            .get_or_init(|| {
                let project = crate::python::ProjectPython {
                    root: self.project.root.clone(),
                    python_dir: self.project.root.join(&self.project.site.paths.python),
                    plugin_dir: self.project.root.join(&self.project.site.paths.plugins),
                    site_dirs: dependency_dirs(&self.project.root),
                    plugins: self.plugin_defs()?,
                };
                let services = Arc::new(PyServices { project: self.project.clone(), db: self.db.clone() });
                let (engine, udfs) = crate::python::Engine::load(&project, services)?;
                let engine = Arc::new(engine);
                let udfs: Vec<Arc<crate::python::Udf>> = udfs.into_iter().map(Arc::new).collect();
                if !udfs.is_empty() {
                    let engine = engine.clone();
                    self.db.add_on_open(Arc::new(move |db: &Database| {
                        for u in &udfs {
                            let (e, u2) = (engine.clone(), u.clone());
                            db.register_scalar(&u.name, &u.arg_types, &u.return_type, move |args| {
                                e.call_udf(&u2, args)
                            })?;
                        }
                        Ok(())
                    }))?;
                }
                engine.run_init_hooks();
                Ok(engine)
            })
            .as_ref()
            .map_err(|e| ExecError::Execution(e.clone()))
    }

    /// Plugin instances (§17): name, module and their configuration from the user config.
    fn plugin_defs(&self) -> Result<Vec<(String, String, Json)>, String> {
        let mut out = Vec::new();
        for p in &self.project.site.plugins {
            let cfg = match &p.config {
                Some(key) => match self.project.user_config.plugin_config(key) {
                    Some(c) => Json::Object(c.clone()),
                    None => return Err(format!("Plugin configuration '{key}' not found in plugin config")),
                },
                None => Json::Object(Map::new()),
            };
            out.push((p.name.clone(), p.module.clone(), cfg));
        }
        Ok(out)
    }

    /// Runs the Python `@on_shutdown` hooks, if Python was started (once; also on drop).
    pub fn shutdown(&self) {
        if self.shut_down.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
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

    /// All findings: the project's static ones plus the SQL checks against the database
    /// (statements are prepared, never run).
    pub fn check(&self) -> Findings {
        let mut findings = self.project.findings.clone();
        let has_sql = self.project.endpoints().any(|(_, e)| e.runs(Language::Sql));
        // Plugin functions and tables made by `@on_init` hooks are what SQL endpoints may use:
        // the project's Python starts first, as it does for a call (the reference imports it
        // during validate too).
        if has_sql && self.needs_python() {
            if let Err(e) = self.python() {
                findings.diagnostics.push(crate::diagnostics::Diagnostic {
                    severity: crate::diagnostics::Severity::Error,
                    file: std::path::PathBuf::from(crate::project::SITE_FILE),
                    line: 0,
                    column: 0,
                    yaml_path: String::new(),
                    message: format!("the project's Python did not start: {e}"),
                    help: None,
                    at_run_time: false,
                });
            }
        }
        if has_sql {
            match self.db() {
                Ok(db) => crate::sql_checks::check_sql(&self.project, &db, &mut findings),
                Err(e) => findings.diagnostics.push(crate::diagnostics::Diagnostic {
                    severity: crate::diagnostics::Severity::Error,
                    file: std::path::PathBuf::from(crate::project::SITE_FILE),
                    line: 0,
                    column: 0,
                    yaml_path: String::new(),
                    message: format!("SQL endpoints were not checked: {e}"),
                    help: None,
                    at_run_time: false,
                }),
            }
        }
        self.check_python(&mut findings);
        findings
    }

    /// Python endpoints: the function exists and its signature matches the declaration. The
    /// sources are parsed by the embedded interpreter's `ast`, never executed.
    fn check_python(&self, findings: &mut Findings) {
        use crate::diagnostics::Reporter;
        for (file, e) in self.project.endpoints() {
            let Some(src) = e.source.as_ref().filter(|_| e.runs(Language::Python)) else { continue };
            let mut yaml = Reporter { display: &file.rel, out: &mut findings.diagnostics };
            let SourceBody::File { resolved, .. } = &src.body else {
                let msg = "Python endpoints must specify source.file (inline code is not supported)";
                yaml.error(src.body_pos, &src.path, msg);
                continue;
            };
            if !resolved.is_file() {
                continue; // reported by the static checks
            }
            let shown = self.project.source_rel(file).expect("a file source");
            let before = findings.diagnostics.len();
            let mut yaml = Reporter { display: &file.rel, out: &mut findings.diagnostics };
            match crate::python::check_function(resolved, python_function(e), &shown.to_string_lossy(), &e.parameters) {
                Ok(found) => {
                    let severity = |f: &crate::python::SourceFinding| {
                        if f.warning {
                            crate::diagnostics::Severity::Warning
                        } else {
                            crate::diagnostics::Severity::Error
                        }
                    };
                    for f in &found {
                        match &f.yaml_param {
                            None => continue,
                            Some(name) => match e.parameters.iter().find(|p| &p.name == name) {
                                Some(p) => yaml.push(severity(f), p.pos, &p.path, &f.message, None),
                                None => yaml.push(severity(f), src.body_pos, &src.path, &f.message, None),
                            },
                        }
                    }
                    let mut py = Reporter { display: &shown, out: &mut findings.diagnostics };
                    for f in found.iter().filter(|f| f.yaml_param.is_none()) {
                        py.push(severity(f), Pos { line: f.line as u32, col: f.column as u32 }, "", &f.message, None);
                    }
                    if found.iter().any(|f| f.yaml_param.is_none()) && !findings.sources.contains_key(&shown) {
                        // the renderer quotes the Python line like a YAML one
                        if let Ok(text) = std::fs::read_to_string(resolved) {
                            findings.sources.insert(shown, text.into());
                        }
                    }
                }
                Err(err) => yaml.error(src.pos, &src.path, format!("Python endpoints were not checked: {err}")),
            }
            // the reference checks only that the file exists: it serves the endpoint, whose calls fail
            for d in findings.diagnostics[before..].iter_mut().filter(|d| d.is_error()) {
                d.at_run_time = true;
            }
        }
    }

    /// Endpoint files with an error among `findings` (including errors in their SQL files).
    pub fn failed_files(&self, findings: &Findings) -> Vec<std::path::PathBuf> {
        self.project
            .files
            .iter()
            .filter(|f| findings.diagnostics.iter().any(|d| d.is_error() && self.project.owns(f, d)))
            .map(|f| f.rel.clone())
            .collect()
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
        let e = self.find(kind, name).ok_or_else(|| ExecError::NotFound { kind: kind.as_str(), name: name.into() })?;
        self.call_endpoint(e, args, opts)
    }

    pub fn call_endpoint(&self, e: &Endpoint, args: &Map<String, Json>, opts: &CallOptions) -> Result<Json, ExecError> {
        let args = types::coerce_arguments(&e.parameters, args).map_err(ExecError::Input)?;
        // hooks and plugin functions may be what SQL endpoints rely on
        if self.needs_python() {
            self.python()?;
        }
        // the user object is built only for endpoints that have policies
        let has_policies = !(e.policies.input.is_empty() && e.policies.output.is_empty());
        let user = if has_policies { policy_user(opts) } else { Json::Null };
        policy::enforce_input(&e.policies.input, &args, &user).map_err(|d| ExecError::Policy(d.0))?;
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
        policy::enforce_output(&e.policies.output, shaped, &user, e.return_type.as_ref())
            .map_err(|d| ExecError::Policy(d.0))
    }

    fn run_sql_endpoint(&self, e: &Endpoint, args: &Map<String, Json>, opts: &CallOptions) -> Result<Json, ExecError> {
        let session = Identity::sql_session(opts.identity.as_deref(), opts.request.as_deref());
        let run = |sql: &str, args: &Map<String, Json>, params: &[Param]| {
            self.query_cancellable(sql, args, params, opts.cancel.as_ref(), session.as_ref())
                .map(QueryResult::into_json)
        };
        if e.name == "execute_sql_query" && self.builtins.iter().any(|b| std::ptr::eq(b, e)) {
            let sql = args.get("sql").and_then(Json::as_str).unwrap_or_default().to_string();
            return run(&sql, &Map::new(), &[]);
        }
        let sql = self.executable_sql(e)?;
        run(&sql, args, &e.parameters)
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
            user: opts.identity.as_ref().map(|i| i.policy_user()),
            cancel: opts.cancel.clone(),
        };
        self.python()?
            .call(resolved, python_function(e), &shown, &e.parameters, args, ctx)
            .map_err(ExecError::Execution)
    }

    /// Runs SQL on the profile's database with `$name` parameters typed by `params`.
    pub fn query(&self, sql: &str, args: &Map<String, Json>, params: &[Param]) -> Result<QueryResult, ExecError> {
        // plugin functions and `@on_init` tables may be what the SQL uses (`mxcp query`)
        if self.needs_python() {
            self.python()?;
        }
        self.query_cancellable(sql, args, params, None, None)
    }

    fn query_cancellable(
        &self,
        sql: &str,
        args: &Map<String, Json>,
        params: &[Param],
        cancel: Option<&crate::db::Cancel>,
        session: Option<&Arc<crate::db::SqlSession>>,
    ) -> Result<QueryResult, ExecError> {
        let db = self.db().map_err(|e| ExecError::Execution(e.to_string()))?;
        let types = |name: &str| params.iter().find(|p| p.name == name).map(|p| &p.def);
        db.query_json_cancellable(sql, args, &types, cancel, session)
            .and_then(crate::db::JsonRows::into_result)
            .map_err(|e| ExecError::Execution(format!("Failed to execute SQL: {e}")))
    }

    /// The SQL to run for an endpoint: its source, with the parameters DuckDB cannot type at
    /// prepare time cast to their declared types (computed once).
    fn executable_sql(&self, e: &Endpoint) -> Result<Arc<str>, ExecError> {
        let key = (e.kind, e.name.clone());
        if let Some(sql) = self.executable.lock().expect("sql lock").get(&key) {
            return Ok(sql.clone());
        }
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
                    let typed = crate::db::typed_sql(&text, e, |n| open.contains(&n));
                    if db.describe(&typed).is_ok() {
                        sql = typed.into();
                    }
                }
            }
        }
        self.executable.lock().expect("sql lock").insert(key, sql.clone());
        Ok(sql)
    }

    /// The endpoint's source code.
    pub fn source_text(&self, e: &Endpoint) -> Result<Arc<str>, ExecError> {
        let Some(src) = &e.source else {
            return Err(ExecError::Execution(format!("{} '{}' has no source", e.kind.as_str(), e.name)));
        };
        match &src.body {
            SourceBody::Code { text, .. } => Ok(text.as_str().into()),
            // read once per endpoint: `executable_sql` keeps what it makes of it
            SourceBody::File { resolved, declared } => std::fs::read_to_string(resolved)
                .map(Arc::from)
                .map_err(|err| ExecError::Execution(format!("cannot read source file '{declared}': {err}"))),
        }
    }

    fn render_prompt(&self, e: &Endpoint, args: &Map<String, Json>) -> Result<Json, ExecError> {
        let mut out = Vec::new();
        for m in &e.messages {
            let text = crate::template::render(&m.prompt, args)
                .map_err(|err| ExecError::Execution(format!("Error rendering prompt {}: {err}", e.name)))?;
            out.push(json!({"prompt": text, "role": m.role, "type": m.kind}));
        }
        Ok(Json::Array(out))
    }
}

/// The function a Python endpoint calls: named like the tool; a resource calls its module's
/// entry point (`main`, else named like the file, else the first public callable), as the
/// reference does. `check_python` checks the same one.
fn python_function(e: &Endpoint) -> &str {
    match e.kind {
        EndpointKind::Resource => crate::python::ENTRY_POINT,
        _ => &e.name,
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// site-packages directories of a project's dependencies: the project-local one that
/// `mxcp deps install` fills, and an active virtual environment of the same Python version.
pub fn dependency_dirs(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![root.join(DEPS_DIR)];
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        let sp = std::path::Path::new(&venv).join("lib/python3.11/site-packages");
        if sp.is_dir() {
            dirs.push(sp);
        }
    }
    dirs.retain(|d| d.is_dir());
    dirs
}

/// Where `mxcp deps install` puts a project's dependencies (relative to its root).
pub const DEPS_DIR: &str = ".mxcp/site-packages";

/// The user as policies see it: anonymous, or the caller's identity.
fn policy_user(opts: &CallOptions) -> Json {
    match &opts.identity {
        None => Identity::anonymous_policy_user(),
        Some(identity) => identity.policy_user(),
    }
}

/// Result shaping by the declared return type (§7.2).
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

/// The built-in SQL tools (§11.6), as endpoints.
fn builtin_sql_tools(project: &Project) -> Vec<Endpoint> {
    let desc = |name: &str, default: &str| {
        Some(project.site.sql_tools.descriptions.get(name).cloned().unwrap_or_else(|| default.to_string()))
    };
    let annotations = |title: &str, read_only: bool| {
        let v = json!({"title": title, "readOnlyHint": read_only, "destructiveHint": !read_only, "idempotentHint": read_only, "openWorldHint": false});
        v.as_object().cloned()
    };
    let string_param = |name: &str, description: &str| Param {
        name: name.into(),
        def: TypeDef { description: Some(description.into()), ..TypeDef::new(DataType::String) },
        pos: Default::default(),
        path: String::new(),
    };
    let tool = |name: &str, description: Option<String>, params: Vec<Param>, sql: &str, annotations| Endpoint {
        description,
        annotations,
        parameters: params,
        return_type: Some(TypeDef {
            items: Some(Box::new(TypeDef::new(DataType::Object))),
            ..TypeDef::new(DataType::Array)
        }),
        source: Some(crate::endpoint::Source {
            body: SourceBody::Code { text: sql.into(), start: Pos::default() },
            pos: Pos::default(),
            body_pos: Pos::default(),
            path: String::new(),
        }),
        ..Endpoint::new(EndpointKind::Tool, name)
    };
    vec![
        tool(
            "execute_sql_query",
            desc(
                "execute_sql_query",
                "Execute a SQL query against the DuckDB database and return the results as a list of records",
            ),
            vec![string_param("sql", "The SQL query to execute")],
            "",
            annotations("SQL Query Executor", false),
        ),
        tool(
            "list_tables",
            desc("list_tables", "List all tables in the DuckDB database"),
            vec![],
            "SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name",
            annotations("Database Table Lister", true),
        ),
        tool(
            "get_table_schema",
            desc("get_table_schema", "Get the schema for a specific table in the DuckDB database"),
            vec![string_param("table_name", "Name of the table")],
            "SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $table_name ORDER BY ordinal_position",
            annotations("Table Schema Inspector", true),
        ),
    ]
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
