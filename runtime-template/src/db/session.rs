//! The caller's identity as SQL sees it: `get_username()`, `get_user_email()`,
//! `get_user_provider()`, `get_user_external_token()`, `get_request_header(name)` and
//! `get_request_headers_json()`, in every project's database (NULL for an anonymous call or
//! outside HTTP, as in the reference).
//!
//! DuckDB may run a function on any of its threads, so the values cannot live in a thread
//! local: each call's values are registered under the id of the connection it runs on, and
//! the functions find that id in their bind data (a statement is bound on its connection).

use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::sync::{Arc, LazyLock, Mutex};

use duckdb::ffi;

/// What the SQL functions return for one call: plain values (the database knows nothing of
/// identities or HTTP).
#[derive(Clone, Default, PartialEq)]
pub struct SqlSession {
    pub username: Option<String>,
    pub email: Option<String>,
    pub provider: Option<String>,
    pub external_token: Option<String>,
    /// The HTTP request's headers (`None`: not an HTTP call).
    pub headers: Option<Vec<(String, String)>>,
}

impl std::fmt::Debug for SqlSession {
    // the token never reaches a log
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSession")
            .field("username", &self.username)
            .field("provider", &self.provider)
            .field("external_token", &self.external_token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl SqlSession {
    fn header(&self, name: &str) -> Option<&str> {
        let headers = self.headers.as_ref()?;
        headers
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.as_str())
    }

    /// The headers as Python's `json.dumps` writes a dict (the reference's text).
    fn headers_json(&self) -> Option<String> {
        let headers = self.headers.as_ref()?;
        let pairs: Vec<String> = headers
            .iter()
            .map(|(k, v)| format!("{}: {}", serde_json::Value::from(k.as_str()), serde_json::Value::from(v.as_str())))
            .collect();
        Some(format!("{{{}}}", pairs.join(", ")))
    }
}

/// Sessions of the calls running now, by DuckDB connection id.
static RUNNING: LazyLock<Mutex<HashMap<u64, Arc<SqlSession>>>> = LazyLock::new(Mutex::default);

/// Makes `session` what the functions return on connection `id` until the guard drops.
pub(super) fn enter(id: u64, session: Arc<SqlSession>) -> impl Drop {
    RUNNING.lock().expect("session lock").insert(id, session);
    struct Leave(u64);
    impl Drop for Leave {
        fn drop(&mut self) {
            RUNNING.lock().expect("session lock").remove(&self.0);
        }
    }
    Leave(id)
}

#[derive(Clone, Copy)]
enum Function {
    Username,
    Email,
    Provider,
    ExternalToken,
    Header,
    HeadersJson,
    /// `__mxcp_connection_id()`: how the pool learns each connection's id.
    ConnectionId,
}

impl Function {
    const ALL: [(Function, &'static str); 7] = [
        (Function::Username, "get_username"),
        (Function::Email, "get_user_email"),
        (Function::Provider, "get_user_provider"),
        (Function::ExternalToken, "get_user_external_token"),
        (Function::Header, "get_request_header"),
        (Function::HeadersJson, "get_request_headers_json"),
        (Function::ConnectionId, "__mxcp_connection_id"),
    ];
}

/// The SQL that returns a connection's id (see [`register`]).
pub(super) const CONNECTION_ID_SQL: &str = "SELECT __mxcp_connection_id()";

/// Registers the functions in the database's catalog, through `conn`.
pub(super) fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    for (function, name) in Function::ALL {
        let cname = CString::new(name).expect("no NUL");
        // SAFETY: plain C API calls on a live connection; the extra info is a Box leaked to
        // DuckDB and freed by `drop_function`, the logical types are destroyed after use.
        unsafe {
            let mut f = ffi::duckdb_create_scalar_function();
            ffi::duckdb_scalar_function_set_name(f, cname.as_ptr());
            let mut varchar = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR);
            if matches!(function, Function::Header) {
                ffi::duckdb_scalar_function_add_parameter(f, varchar);
            }
            let mut ret = match function {
                Function::ConnectionId => ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT),
                _ => ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR),
            };
            ffi::duckdb_scalar_function_set_return_type(f, ret);
            ffi::duckdb_destroy_logical_type(&mut ret);
            ffi::duckdb_destroy_logical_type(&mut varchar);
            // evaluated at every execution, never folded into a cached plan
            ffi::duckdb_scalar_function_set_volatile(f);
            ffi::duckdb_scalar_function_set_special_handling(f);
            ffi::duckdb_scalar_function_set_extra_info(
                f,
                Box::into_raw(Box::new(function)) as *mut c_void,
                Some(drop_function),
            );
            ffi::duckdb_scalar_function_set_bind(f, Some(bind));
            ffi::duckdb_scalar_function_set_function(f, Some(invoke));
            let rc = ffi::duckdb_register_scalar_function(conn, f);
            ffi::duckdb_destroy_scalar_function(&mut f);
            if rc != ffi::duckdb_state_DuckDBSuccess {
                return Err(format!("DuckDB refused to register function {name}"));
            }
        }
    }
    Ok(())
}

unsafe extern "C" fn drop_function(p: *mut c_void) {
    // SAFETY: p came from Box::into_raw in `register`
    drop(unsafe { Box::from_raw(p as *mut Function) });
}

unsafe extern "C" fn drop_id(p: *mut c_void) {
    // SAFETY: p came from Box::into_raw in `bind` or `copy_id`
    drop(unsafe { Box::from_raw(p as *mut u64) });
}

unsafe extern "C" fn copy_id(p: *mut c_void) -> *mut c_void {
    // SAFETY: p is a live bind-data box of ours
    Box::into_raw(Box::new(unsafe { *(p as *const u64) })) as *mut c_void
}

/// Remembers the connection the statement is bound on.
unsafe extern "C" fn bind(info: ffi::duckdb_bind_info) {
    // SAFETY: `info` is the bind info DuckDB passes; the client context is destroyed here
    unsafe {
        let mut ctx: ffi::duckdb_client_context = std::ptr::null_mut();
        ffi::duckdb_scalar_function_get_client_context(info, &mut ctx);
        let id = ffi::duckdb_client_context_get_connection_id(ctx);
        ffi::duckdb_destroy_client_context(&mut ctx);
        ffi::duckdb_scalar_function_set_bind_data(info, Box::into_raw(Box::new(id)) as *mut c_void, Some(drop_id));
        ffi::duckdb_scalar_function_set_bind_data_copy(info, Some(copy_id));
    }
}

unsafe extern "C" fn invoke(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    // A panic must not unwind into DuckDB's C++.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: extra info and bind data are ours (set in `register` and `bind`); the
        // vectors are DuckDB's for this chunk, written within its size
        unsafe {
            let function = *(ffi::duckdb_scalar_function_get_extra_info(info) as *const Function);
            let id = *(ffi::duckdb_scalar_function_get_bind_data(info) as *const u64);
            let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
            if let Function::ConnectionId = function {
                let data = ffi::duckdb_vector_get_data(output) as *mut u64;
                for row in 0..rows {
                    *data.add(row) = id;
                }
                return;
            }
            let session = RUNNING.lock().expect("session lock").get(&id).cloned();
            let names = matches!(function, Function::Header).then(|| ffi::duckdb_data_chunk_get_vector(input, 0));
            for row in 0..rows {
                let value: Option<String> = session.as_deref().and_then(|s| match function {
                    Function::Username => s.username.clone(),
                    Function::Email => s.email.clone(),
                    Function::Provider => s.provider.clone(),
                    Function::ExternalToken => s.external_token.clone(),
                    Function::HeadersJson => s.headers_json(),
                    Function::Header => {
                        read_text(names.expect("one argument"), row).and_then(|n| s.header(&n).map(str::to_string))
                    }
                    Function::ConnectionId => None,
                });
                match value {
                    Some(text) => ffi::duckdb_vector_assign_string_element_len(
                        output,
                        row as u64,
                        text.as_ptr() as *const _,
                        text.len() as u64,
                    ),
                    None => {
                        ffi::duckdb_vector_ensure_validity_writable(output);
                        ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(output), row as u64);
                    }
                }
            }
        }
    }));
}

/// Row `row` of a VARCHAR vector (`None` for NULL).
unsafe fn read_text(v: ffi::duckdb_vector, row: usize) -> Option<String> {
    // SAFETY: `v` is a VARCHAR vector of at least `row + 1` rows
    unsafe {
        let validity = ffi::duckdb_vector_get_validity(v);
        if !validity.is_null() && !ffi::duckdb_validity_row_is_valid(validity, row as u64) {
            return None;
        }
        let s = (ffi::duckdb_vector_get_data(v) as *mut ffi::duckdb_string_t).add(row);
        let len = ffi::duckdb_string_t_length(*s) as usize;
        let bytes = std::slice::from_raw_parts(ffi::duckdb_string_t_data(s) as *const u8, len);
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}
