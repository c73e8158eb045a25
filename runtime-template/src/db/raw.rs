//! The few things the `duckdb` crate does not expose, done through DuckDB's C API: opening a
//! database whose handle we own (so connections can be added later), and describing a prepared
//! statement (result column names and types, parameter names and inferred types) without
//! executing it.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;

use duckdb::ffi;

use super::SqlType;

/// An open DuckDB database instance; closed on drop (after every connection made from it).
pub(super) struct RawDb {
    db: ffi::duckdb_database,
}

// SAFETY: a DuckDB database instance is thread-safe; connections are made per thread.
unsafe impl Send for RawDb {}
// SAFETY: as for `Send`: DuckDB synchronises access to a database instance itself.
unsafe impl Sync for RawDb {}

impl RawDb {
    pub(super) fn open(path: &str, options: &[(&str, &str)]) -> Result<RawDb, String> {
        let cpath = CString::new(path).map_err(|_| "database path contains a NUL byte".to_string())?;
        // SAFETY: the config and database handles are created, used and destroyed (on every path) within this block; the strings passed are NUL-terminated and outlive the calls.
        unsafe {
            let mut config: ffi::duckdb_config = ptr::null_mut();
            if ffi::duckdb_create_config(&mut config) != ffi::duckdb_state_DuckDBSuccess {
                return Err("cannot create DuckDB configuration".into());
            }
            for (k, v) in options {
                let (ck, cv) = (CString::new(*k).expect("key"), CString::new(*v).expect("value"));
                if ffi::duckdb_set_config(config, ck.as_ptr(), cv.as_ptr()) != ffi::duckdb_state_DuckDBSuccess {
                    ffi::duckdb_destroy_config(&mut config);
                    return Err(format!("invalid DuckDB setting {k}={v}"));
                }
            }
            let mut db: ffi::duckdb_database = ptr::null_mut();
            let mut err: *mut c_char = ptr::null_mut();
            let rc = ffi::duckdb_open_ext(cpath.as_ptr(), &mut db, config, &mut err);
            ffi::duckdb_destroy_config(&mut config);
            if rc != ffi::duckdb_state_DuckDBSuccess {
                let message = take_string(err).unwrap_or_else(|| "unknown error".into());
                return Err(message);
            }
            Ok(RawDb { db })
        }
    }

    /// A C API connection to this instance (closed on drop).
    pub(super) fn raw_connect(&self) -> Result<RawConn, String> {
        let mut c: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: `self.db` is an open database
        if unsafe { ffi::duckdb_connect(self.db, &mut c) } != ffi::duckdb_state_DuckDBSuccess {
            return Err("cannot connect to the database".into());
        }
        Ok(RawConn(c))
    }

    /// A `duckdb` crate connection to this instance.
    pub(super) fn connect(&self) -> duckdb::Result<duckdb::Connection> {
        // SAFETY: `self.db` is a valid open database that outlives the connection (the
        // `Database` drops its connections before this handle).
        unsafe { duckdb::Connection::open_from_raw(self.db) }
    }

    /// Prepares `sql` on a fresh connection and reads its shape.
    pub(super) fn describe(&self, sql: &str) -> Result<Description, String> {
        let csql = CString::new(sql).map_err(|_| "SQL contains a NUL byte".to_string())?;
        let conn = self.raw_connect()?;
        // SAFETY: `conn` is a live connection and `csql` a NUL-terminated string for the duration of the calls; the prepared statement is destroyed before returning.
        unsafe {
            let mut stmt: ffi::duckdb_prepared_statement = ptr::null_mut();
            let rc = ffi::duckdb_prepare(conn.0, csql.as_ptr(), &mut stmt);
            let result = if rc != ffi::duckdb_state_DuckDBSuccess {
                let err = ffi::duckdb_prepare_error(stmt);
                Err(if err.is_null() {
                    "cannot prepare statement".into()
                } else {
                    CStr::from_ptr(err).to_string_lossy().into_owned()
                })
            } else {
                let mut columns = Vec::new();
                for i in 0..ffi::duckdb_prepared_statement_column_count(stmt) {
                    let name = take_string(ffi::duckdb_prepared_statement_column_name(stmt, i) as *mut c_char)
                        .unwrap_or_default();
                    let mut lt = ffi::duckdb_prepared_statement_column_logical_type(stmt, i);
                    let ty = sql_type(lt);
                    ffi::duckdb_destroy_logical_type(&mut lt);
                    columns.push((name, ty));
                }
                let mut params = Vec::new();
                for i in 1..=ffi::duckdb_nparams(stmt) {
                    let name = take_string(ffi::duckdb_parameter_name(stmt, i) as *mut c_char).unwrap_or_default();
                    let mut lt = ffi::duckdb_param_logical_type(stmt, i);
                    let ty = if lt.is_null() { SqlType::Unknown } else { sql_type(lt) };
                    if !lt.is_null() {
                        ffi::duckdb_destroy_logical_type(&mut lt);
                    }
                    params.push((name, ty));
                }
                Ok(Description { columns, params })
            };
            ffi::duckdb_destroy_prepare(&mut stmt);
            result
        }
    }
}

/// A C API connection, closed on drop.
pub(super) struct RawConn(pub ffi::duckdb_connection);

impl Drop for RawConn {
    fn drop(&mut self) {
        // SAFETY: opened by duckdb_connect
        unsafe { ffi::duckdb_disconnect(&mut self.0) };
    }
}

impl Drop for RawDb {
    fn drop(&mut self) {
        // SAFETY: `db` was opened by `duckdb_open_ext` and is closed exactly once, here.
        unsafe { ffi::duckdb_close(&mut self.db) }
    }
}

/// The shape of a prepared statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub columns: Vec<(String, SqlType)>,
    /// Parameter names (without `$`) and the types DuckDB inferred for them.
    pub params: Vec<(String, SqlType)>,
}

unsafe fn take_string(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is a non-null, NUL-terminated string from DuckDB (checked above).
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: DuckDB allocated `p` and ownership passed to us; it is freed once, after it was copied.
    unsafe { ffi::duckdb_free(p as *mut c_void) };
    Some(s)
}

/// Converts (without taking ownership of) a C logical type.
unsafe fn sql_type(lt: ffi::duckdb_logical_type) -> SqlType {
    // SAFETY: `lt` is a live logical type handle (the caller's contract); the strings DuckDB returns are freed by `take_string`.
    unsafe {
        let alias = take_string(ffi::duckdb_logical_type_get_alias(lt));
        if alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("json")) {
            return SqlType::Json;
        }
        let child = |mut c: ffi::duckdb_logical_type| {
            let t = sql_type(c);
            ffi::duckdb_destroy_logical_type(&mut c);
            t
        };
        match ffi::duckdb_get_type_id(lt) {
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => SqlType::Boolean,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT => SqlType::TinyInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT => SqlType::SmallInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER => SqlType::Integer,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => SqlType::BigInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT => SqlType::HugeInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT => SqlType::UTinyInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT => SqlType::USmallInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => SqlType::UInteger,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT => SqlType::UBigInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UHUGEINT => SqlType::UHugeInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => SqlType::Float,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => SqlType::Double,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => {
                SqlType::Decimal(ffi::duckdb_decimal_width(lt), ffi::duckdb_decimal_scale(lt))
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR | ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRING_LITERAL => SqlType::Varchar,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER_LITERAL => SqlType::Integer,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => SqlType::Blob,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIT => SqlType::Bit,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE => SqlType::Date,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_NS => SqlType::Time,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_TZ => SqlType::TimeTz,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP
            | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_S
            | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_MS
            | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_NS => SqlType::Timestamp,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ_NS => {
                SqlType::TimestampTz
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => SqlType::Interval,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UUID => SqlType::Uuid,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ENUM => SqlType::Enum,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGNUM => SqlType::BigNum,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL => SqlType::Null,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => SqlType::List(Box::new(child(ffi::duckdb_list_type_child_type(lt)))),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY => SqlType::Array(
                Box::new(child(ffi::duckdb_array_type_child_type(lt))),
                ffi::duckdb_array_type_array_size(lt),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_MAP => SqlType::Map(
                Box::new(child(ffi::duckdb_map_type_key_type(lt))),
                Box::new(child(ffi::duckdb_map_type_value_type(lt))),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => SqlType::Struct(
                (0..ffi::duckdb_struct_type_child_count(lt))
                    .map(|i| {
                        let name = take_string(ffi::duckdb_struct_type_child_name(lt, i)).unwrap_or_default();
                        (name, child(ffi::duckdb_struct_type_child_type(lt, i)))
                    })
                    .collect(),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UNION => SqlType::Union(
                (0..ffi::duckdb_union_type_member_count(lt))
                    .map(|i| {
                        let name = take_string(ffi::duckdb_union_type_member_name(lt, i)).unwrap_or_default();
                        (name, child(ffi::duckdb_union_type_member_type(lt, i)))
                    })
                    .collect(),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INVALID | ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY => SqlType::Unknown,
            other => SqlType::Other(alias.unwrap_or_else(|| format!("type#{other}"))),
        }
    }
}

pub(super) fn library_version() -> String {
    // SAFETY: duckdb_library_version returns a static NUL-terminated string
    unsafe { CStr::from_ptr(ffi::duckdb_library_version()) }.to_string_lossy().into_owned()
}
