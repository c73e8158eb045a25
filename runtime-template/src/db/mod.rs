//! The only module that talks to DuckDB: opening a profile's database, a pool of connections
//! for concurrent calls, `$name` parameter binding, results as JSON, statement description.

mod catalog;
mod convert;
mod query;
mod raw;
mod session;
mod sql_type;
mod typed_sql;
mod udf;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use serde_json::{Map, Value as Json};

pub use catalog::TableColumns;
pub use raw::Description;
pub use session::SqlSession;
pub use sql_type::SqlType;
pub use typed_sql::{BindKind, BindType, TemporalFormat, declared_sql_type, typed_sql};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {message}")]
    Open { path: String, message: String },
    #[error("extension '{name}' cannot be loaded: {message}")]
    Extension { name: String, message: String },
    /// DuckDB refused or failed a statement.
    #[error(transparent)]
    Sql(#[from] duckdb::Error),
    /// The query was stopped from another thread (a call's timeout).
    #[error("cancelled")]
    Cancelled,
    /// Something around the query failed (the SQL session functions, a panic, result JSON).
    #[error("{0}")]
    Internal(String),
    /// A set-up hook on a newly opened database failed (plugin functions).
    #[error("{0}")]
    Setup(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// More rows or bytes than a [`ResultCap`] allows: the query stopped there.
    #[error("{0}")]
    ResultTooLarge(String),
}

/// How much one query may return (the serving limits `max_result_rows`/`max_result_bytes`).
/// Checked chunk by chunk while DuckDB's columnar result becomes JSON, so an oversized result
/// stops at the first chunk over the limit instead of growing into JSON values in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResultCap {
    pub rows: Option<u64>,
    /// Of the rows as JSON text.
    pub bytes: Option<u64>,
}

/// The linked DuckDB's version (`v1.4.2`).
pub fn library_version() -> String {
    raw::library_version()
}

/// How to open a profile's database.
#[derive(Debug, Clone, Default)]
pub struct DbOptions {
    pub path: PathBuf,
    pub readonly: bool,
    pub extensions: Vec<Extension>,
    pub secrets: Vec<Secret>,
    /// Connections kept for concurrent calls (at least 1).
    pub pool_size: usize,
}

/// A DuckDB extension to load (`INSTALL` first unless compiled in).
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    pub name: String,
    pub repo: Option<String>,
}

/// A secret to create in every connection (`CREATE TEMPORARY SECRET`).
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub name: String,
    pub kind: String,
    pub parameters: Map<String, Json>,
}

/// Column names and DuckDB types of a result, and its rows as JSON objects.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<(String, SqlType)>,
    pub rows: Vec<Map<String, Json>>,
}

impl QueryResult {
    pub fn into_json(self) -> Json {
        Json::Array(self.rows.into_iter().map(Json::Object).collect())
    }
}

/// A result as JSON text (`[{...}, ...]`), as DuckDB produced it: the fast path for large
/// results that need no further processing.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonRows {
    pub columns: Vec<(String, SqlType)>,
    pub json: Vec<u8>,
    pub rows: usize,
}

impl JsonRows {
    pub fn into_result(self) -> Result<QueryResult, DbError> {
        let rows: Vec<Map<String, Json>> = serde_json::from_slice(&self.json)
            .map_err(|e| DbError::Internal(format!("internal error: result JSON: {e}")))?;
        Ok(QueryResult { columns: self.columns, rows })
    }
}

pub struct Database {
    // field order matters: connections are dropped before the database handle
    pool: Pool,
    describe_cache: Mutex<HashMap<String, Arc<Result<Description, String>>>>,
    raw: raw::RawDb,
    path: PathBuf,
    readonly: bool,
    /// Problems met while preparing connections that do not stop the database (secrets
    /// DuckDB would not accept, for example).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("path", &self.path).field("readonly", &self.readonly).finish()
    }
}

/// Creates an empty database file (and its directory) if it does not exist.
pub fn create_database(path: &Path) -> Result<(), DbError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let db = raw::RawDb::open(&path.to_string_lossy(), &[])
        .map_err(|message| DbError::Open { path: path.display().to_string(), message })?;
    drop(db);
    Ok(())
}

impl Database {
    pub fn open(opts: &DbOptions) -> Result<Database, DbError> {
        if !opts.path.exists() {
            // a read-only database must exist first (as the reference does)
            create_database(&opts.path)?;
        }
        let settings = [
            ("access_mode", if opts.readonly { "READ_ONLY" } else { "READ_WRITE" }),
            // never reach for the network: a missing extension fails fast with a clear error
            ("autoinstall_known_extensions", "false"),
        ];
        let raw = raw::RawDb::open(&opts.path.to_string_lossy(), &settings)
            .map_err(|message| DbError::Open { path: opts.path.display().to_string(), message })?;
        session::register(raw.raw_connect().map_err(DbError::Internal)?.0).map_err(DbError::Internal)?;
        let first = raw.connect()?;
        let mut warnings = Vec::new();
        for ext in &opts.extensions {
            load_extension(&first, ext)?;
        }
        for secret in &opts.secrets {
            if secret.parameters.is_empty() {
                continue;
            }
            match create_secret_sql(secret) {
                Ok(sql) => {
                    if let Err(e) = first.execute_batch(&sql) {
                        // a type DuckDB has no secret for ("custom", an API key) is for
                        // Python code only (config.get_secret): nothing to warn about
                        if e.to_string().contains("Secret type") && e.to_string().contains("not found") {
                            continue;
                        }
                        warnings.push(format!(
                            "secret '{}' (type {}) was not created in DuckDB: {e}",
                            secret.name, secret.kind
                        ));
                    }
                }
                Err(e) => warnings.push(e),
            }
        }
        let mut conns = vec![pooled(first)?];
        for _ in 1..opts.pool_size.max(1) {
            conns.push(pooled(raw.connect()?)?);
        }
        Ok(Database {
            pool: Pool { free: Mutex::new(conns), available: Condvar::new() },
            describe_cache: Mutex::new(HashMap::new()),
            raw,
            path: opts.path.clone(),
            readonly: opts.readonly,
            warnings,
        })
    }

    /// An in-memory database with one connection, for reading files through DuckDB's readers
    /// (the audit log): no profile database is opened.
    pub fn in_memory() -> Result<Database, DbError> {
        let path = ":memory:";
        let raw = raw::RawDb::open(path, &[("autoinstall_known_extensions", "false")])
            .map_err(|message| DbError::Open { path: path.into(), message })?;
        session::register(raw.raw_connect().map_err(DbError::Internal)?.0).map_err(DbError::Internal)?;
        let conns = vec![pooled(raw.connect()?)?];
        Ok(Database {
            pool: Pool { free: Mutex::new(conns), available: Condvar::new() },
            describe_cache: Mutex::new(HashMap::new()),
            raw,
            path: PathBuf::from(path),
            readonly: false,
            warnings: Vec::new(),
        })
    }

    /// Runs `sql`, binding each `$name` the statement uses from `args` (missing ones bind
    /// NULL). `types` gives declared parameter types, so dates bind as DATE and so on.
    pub fn query<'t>(
        &self,
        sql: &str,
        args: &Map<String, Json>,
        types: &dyn Fn(&str) -> Option<&'t BindType>,
    ) -> Result<QueryResult, DbError> {
        self.query_json(sql, args, types)?.into_result()
    }

    /// Like [`Database::query`], the rows left as JSON text.
    pub fn query_json<'t>(
        &self,
        sql: &str,
        args: &Map<String, Json>,
        types: &dyn Fn(&str) -> Option<&'t BindType>,
    ) -> Result<JsonRows, DbError> {
        self.query_json_cancellable(sql, args, types, None, None, ResultCap::default())
    }

    /// [`Database::query_json`] that `cancel` can stop from another thread, within `cap`.
    pub fn query_json_cancellable<'t>(
        &self,
        sql: &str,
        args: &Map<String, Json>,
        types: &dyn Fn(&str) -> Option<&'t BindType>,
        cancel: Option<&Cancel>,
        session: Option<&Arc<SqlSession>>,
        cap: ResultCap,
    ) -> Result<JsonRows, DbError> {
        let conn = self.pool.take();
        if let Some(c) = cancel {
            if !c.arm(conn.0.interrupt_handle()) {
                self.pool.give(conn);
                return Err(DbError::Cancelled);
            }
        }
        let _session = session.map(|s| session::enter(conn.1, s.clone()));
        // A panic inside the duckdb crate must not lose the pooled connection or the caller's
        // thread: the connection is discarded and replaced.
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| query::run_json(&conn.0, sql, args, types, cap)));
        if let Some(c) = cancel {
            c.disarm();
        }
        match outcome {
            Ok(result) => {
                self.pool.give(conn);
                result
            }
            Err(panic) => {
                if let Ok(fresh) = self.raw.connect().map_err(DbError::from).and_then(pooled) {
                    self.pool.give(fresh);
                }
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                Err(DbError::Internal(format!("internal error while running the query: {}", what.unwrap_or_default())))
            }
        }
    }

    /// Makes `name(args...)` callable from SQL on every connection, computed by `func` row by
    /// row (plugin functions). Types: VARCHAR, BIGINT, DOUBLE, BOOLEAN, DATE, TIME, TIMESTAMP, BLOB.
    pub fn register_scalar(
        &self,
        name: &str,
        args: &[String],
        ret: &str,
        func: impl Fn(&[Json]) -> Result<Json, String> + Send + Sync + 'static,
    ) -> Result<(), String> {
        let conn = self.raw.raw_connect()?;
        udf::register(conn.0, name, args, ret, Box::new(func))
            .map_err(|e| format!("cannot register function {name}: {e}"))
    }

    /// Runs statements that return nothing (set-up scripts, `mxcp query` of DDL).
    pub fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        let conn = self.pool.take();
        let r = conn.0.execute_batch(sql).map_err(DbError::from);
        self.pool.give(conn);
        r
    }

    /// Result columns and parameters of `sql`, without running it (cached by text). The error
    /// is DuckDB's message: the SQL checks read its position out of the text and quote it.
    pub fn describe(&self, sql: &str) -> Arc<Result<Description, String>> {
        if let Some(d) = self.describe_cache.lock().expect("lock").get(sql) {
            return d.clone();
        }
        let d = Arc::new(self.raw.describe(sql));
        self.describe_cache.lock().expect("lock").insert(sql.to_string(), d.clone());
        d
    }
}

/// The top-level DuckDB type of an executed column (children only where conversion needs them).
fn logical_type(lt: &duckdb::core::LogicalTypeHandle) -> SqlType {
    use duckdb::core::LogicalTypeId as Id;
    if lt.get_alias().is_some_and(|a| a.eq_ignore_ascii_case("json")) {
        return SqlType::Json;
    }
    match lt.id() {
        Id::Uuid => SqlType::Uuid,
        Id::TimestampTZ => SqlType::TimestampTz,
        Id::Hugeint => SqlType::HugeInt,
        Id::UHugeint => SqlType::UHugeInt,
        Id::Bit => SqlType::Bit,
        Id::Decimal => SqlType::Decimal(lt.decimal_width(), lt.decimal_scale()),
        Id::List => SqlType::List(Box::new(logical_type(&lt.child(0)))),
        Id::Array => SqlType::Array(Box::new(logical_type(&lt.child(0))), 0),
        Id::Struct => {
            SqlType::Struct((0..lt.num_children()).map(|i| (lt.child_name(i), logical_type(&lt.child(i)))).collect())
        }
        Id::Map => SqlType::Map(Box::new(logical_type(&lt.child(0))), Box::new(logical_type(&lt.child(1)))),
        Id::Varchar => SqlType::Varchar,
        // temporal types matter to Python, which receives date/datetime/time objects
        Id::Date => SqlType::Date,
        Id::Time => SqlType::Time,
        Id::Timestamp | Id::TimestampS | Id::TimestampMs | Id::TimestampNs => SqlType::Timestamp,
        _ => SqlType::Other(String::new()),
    }
}

/// A JSON argument as the DuckDB value to bind, guided by the declared type.
fn to_duck_value(v: &Json, def: Option<&BindType>) -> duckdb::types::Value {
    use duckdb::types::{TimeUnit, Value};
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match (n.as_i64(), def.map(|d| d.kind)) {
            (Some(i), Some(BindKind::Integer) | None) => Value::BigInt(i),
            (Some(i), Some(BindKind::String)) => Value::Text(i.to_string()),
            _ => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => match def.and_then(|d| d.format) {
            Some(TemporalFormat::Date) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => {
                    Value::Date32((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32)
                }
                Err(_) => Value::Text(s.clone()),
            },
            Some(TemporalFormat::DateTime) => match crate::iso8601::parse_datetime(s) {
                Some(dt) => Value::Timestamp(TimeUnit::Microsecond, dt.timestamp_micros()),
                None => Value::Text(s.clone()),
            },
            Some(TemporalFormat::Time) => match chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f") {
                Ok(t) => {
                    Value::Time64(TimeUnit::Microsecond, (t - chrono::NaiveTime::MIN).num_microseconds().unwrap_or(0))
                }
                Err(_) => Value::Text(s.clone()),
            },
            Some(TemporalFormat::Timestamp) => match s.trim().parse::<f64>() {
                Ok(secs) => Value::Timestamp(TimeUnit::Microsecond, (secs * 1e6) as i64),
                Err(_) => Value::Text(s.clone()),
            },
            _ => Value::Text(s.clone()),
        },
        Json::Array(items) => {
            let item_def = def.and_then(|d| d.items.as_deref());
            Value::List(items.iter().map(|x| to_duck_value(x, item_def)).collect())
        }
        Json::Object(m) => {
            let props = def.and_then(|d| d.properties.as_ref());
            let mut fields: Vec<(String, Value)> =
                m.iter().map(|(k, x)| (k.clone(), to_duck_value(x, props.and_then(|p| p.get(k))))).collect();
            // every declared property is a field, NULL when absent (the SQL may read it)
            for name in props.into_iter().flat_map(|p| p.keys()) {
                if !m.contains_key(name) {
                    fields.push((name.clone(), Value::Null));
                }
            }
            Value::Struct(duckdb::types::OrderedMap::from(fields))
        }
    }
}

fn load_extension(conn: &duckdb::Connection, ext: &Extension) -> Result<(), DbError> {
    if !is_sql_identifier(&ext.name) {
        return Err(DbError::Extension { name: ext.name.clone(), message: "not a valid extension name".into() });
    }
    let install = match &ext.repo {
        Some(repo) => format!("INSTALL {} FROM {repo}", ext.name),
        None => format!("INSTALL {}", ext.name),
    };
    // An extension compiled into this build (json, parquet) loads without installing.
    if conn.execute_batch(&format!("LOAD {}", ext.name)).is_ok() {
        return Ok(());
    }
    conn.execute_batch(&format!("{install}; LOAD {};", ext.name)).map_err(|e| DbError::Extension {
        name: ext.name.clone(),
        message: format!(
            "{e}. This build works offline: only extensions compiled in (json, parquet) or already installed in ~/.duckdb/extensions can be loaded"
        ),
    })
}

/// A letter or `_`, then letters, digits and `_` (what may be spliced into SQL unquoted).
fn is_sql_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `CREATE TEMPORARY SECRET` for a user-config secret, every value quoted as a SQL literal.
fn create_secret_sql(secret: &Secret) -> Result<String, String> {
    if !is_sql_identifier(&secret.kind) {
        return Err(format!("secret '{}': type '{}' is not a valid secret type name", secret.name, secret.kind));
    }
    let mut parts = vec![format!("TYPE {}", secret.kind)];
    for (key, value) in &secret.parameters {
        if !is_sql_identifier(key) {
            return Err(format!("secret '{}': parameter name '{key}' is not a valid identifier", secret.name));
        }
        parts.push(format!("{key} {}", sql_literal(value)));
    }
    Ok(format!("CREATE OR REPLACE TEMPORARY SECRET {} ({})", quote_ident(&secret.name), parts.join(", ")))
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn sql_literal(v: &Json) -> String {
    match v {
        Json::Null => "NULL".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => quote_string(s),
        Json::Array(items) => format!("[{}]", items.iter().map(sql_literal).collect::<Vec<_>>().join(", ")),
        Json::Object(m) => {
            format!(
                "MAP {{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{}: {}", quote_string(k), sql_literal(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// Stops the query a call is running, from another thread (a call timeout). The connection
/// goes back to the pool as soon as DuckDB has stopped.
#[derive(Clone, Default)]
pub struct Cancel(Arc<Mutex<CancelState>>);

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cancel")
    }
}

#[derive(Default)]
struct CancelState {
    running: Option<Arc<duckdb::InterruptHandle>>,
    cancelled: bool,
    /// Stops work outside DuckDB (Python code running for the call).
    on_cancel: Option<Box<dyn Fn() + Send>>,
}

impl Cancel {
    pub fn cancel(&self) {
        let mut s = self.0.lock().expect("cancel lock");
        s.cancelled = true;
        if let Some(h) = &s.running {
            h.interrupt();
        }
        if let Some(f) = s.on_cancel.take() {
            f();
        }
    }

    /// Runs `f` if the call is cancelled while it is set; `false` when it was cancelled already.
    pub fn set_on_cancel(&self, f: Box<dyn Fn() + Send>) -> bool {
        let mut s = self.0.lock().expect("cancel lock");
        s.on_cancel = Some(f);
        !s.cancelled
    }

    pub fn clear_on_cancel(&self) {
        self.0.lock().expect("cancel lock").on_cancel = None;
    }

    /// Registers the running query; `false` when the call was cancelled already.
    fn arm(&self, handle: Arc<duckdb::InterruptHandle>) -> bool {
        let mut s = self.0.lock().expect("cancel lock");
        s.running = Some(handle);
        !s.cancelled
    }

    fn disarm(&self) {
        self.0.lock().expect("cancel lock").running = None;
    }
}

struct Pool {
    free: Mutex<Vec<Taken>>,
    available: Condvar,
}

/// A pooled connection and its DuckDB connection id (what the session functions key on).
struct Taken(duckdb::Connection, u64);

/// A new connection made ready for the pool.
fn pooled(c: duckdb::Connection) -> Result<Taken, DbError> {
    c.set_prepared_statement_cache_capacity(256);
    let id: u64 = c.query_row(session::CONNECTION_ID_SQL, [], |r| r.get(0))?;
    Ok(Taken(c, id))
}

impl Pool {
    fn take(&self) -> Taken {
        let mut free = self.free.lock().expect("pool lock");
        loop {
            if let Some(c) = free.pop() {
                return c;
            }
            free = self.available.wait(free).expect("pool lock");
        }
    }
    fn give(&self, c: Taken) {
        self.free.lock().expect("pool lock").push(c);
        self.available.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_quoted() {
        let secret = Secret {
            name: "gh".into(),
            kind: "http".into(),
            parameters: serde_json::from_str(r#"{"BEARER_TOKEN": "a'b", "EXTRA_HTTP_HEADERS": {"X-K": "v"}}"#).unwrap(),
        };
        assert_eq!(
            create_secret_sql(&secret).unwrap(),
            "CREATE OR REPLACE TEMPORARY SECRET \"gh\" (TYPE http, BEARER_TOKEN 'a''b', EXTRA_HTTP_HEADERS MAP {'X-K': 'v'})"
        );
        let bad = Secret { parameters: serde_json::from_str(r#"{"A; DROP": "x"}"#).unwrap(), ..secret };
        assert!(create_secret_sql(&bad).is_err());
    }
}
