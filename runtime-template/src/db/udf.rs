//! Scalar functions implemented outside SQL (plugin `@udf` methods), registered through
//! DuckDB's C API: DuckDB hands us a chunk of rows, each row is converted to JSON values and
//! passed to the function, and its results are written back into the output vector.

use std::ffi::{CString, c_void};

use duckdb::ffi;
use serde_json::Value as Json;

/// The value types a function can take and return.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Varchar,
    BigInt,
    Double,
    Boolean,
    Date,
    Time,
    Timestamp,
    Blob,
}

impl Kind {
    fn parse(name: &str) -> Result<Kind, String> {
        Ok(match name.to_ascii_uppercase().as_str() {
            "VARCHAR" | "TEXT" | "STRING" => Kind::Varchar,
            "BIGINT" | "INTEGER" | "INT" => Kind::BigInt,
            "DOUBLE" | "FLOAT" => Kind::Double,
            "BOOLEAN" | "BOOL" => Kind::Boolean,
            "DATE" => Kind::Date,
            "TIME" => Kind::Time,
            "TIMESTAMP" => Kind::Timestamp,
            "BLOB" => Kind::Blob,
            other => {
                return Err(format!(
                    "functions with {other} values are not supported (str, int, float, bool, bytes, date, time, datetime)"
                ));
            }
        })
    }

    fn duckdb_type(self) -> ffi::DUCKDB_TYPE {
        match self {
            Kind::Varchar => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
            Kind::BigInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT,
            Kind::Double => ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE,
            Kind::Boolean => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
            Kind::Date => ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE,
            Kind::Time => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME,
            Kind::Timestamp => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP,
            Kind::Blob => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB,
        }
    }
}

pub(super) type ScalarFn = Box<dyn Fn(&[Json]) -> Result<Json, String> + Send + Sync>;

struct Info {
    args: Vec<Kind>,
    ret: Kind,
    func: ScalarFn,
}

/// Registers `name(args...) -> ret` in the database's catalog, through `conn`.
pub(super) fn register(
    conn: ffi::duckdb_connection,
    name: &str,
    args: &[String],
    ret: &str,
    func: ScalarFn,
) -> Result<(), String> {
    let info = Box::new(Info {
        args: args.iter().map(|a| Kind::parse(a)).collect::<Result<_, _>>()?,
        ret: Kind::parse(ret)?,
        func,
    });
    let cname = CString::new(name).map_err(|_| "function name contains a NUL byte".to_string())?;
    // SAFETY: the function handle is created and destroyed here; `cname` is NUL-terminated and outlives the calls; the boxed `Info` is owned by DuckDB afterwards, which frees it with the function.
    unsafe {
        let mut f = ffi::duckdb_create_scalar_function();
        ffi::duckdb_scalar_function_set_name(f, cname.as_ptr());
        for k in &info.args {
            let mut t = ffi::duckdb_create_logical_type(k.duckdb_type());
            ffi::duckdb_scalar_function_add_parameter(f, t);
            ffi::duckdb_destroy_logical_type(&mut t);
        }
        let mut t = ffi::duckdb_create_logical_type(info.ret.duckdb_type());
        ffi::duckdb_scalar_function_set_return_type(f, t);
        ffi::duckdb_destroy_logical_type(&mut t);
        // Python functions see NULLs (as None) and may have side effects
        ffi::duckdb_scalar_function_set_special_handling(f);
        ffi::duckdb_scalar_function_set_volatile(f);
        ffi::duckdb_scalar_function_set_extra_info(f, Box::into_raw(info) as *mut c_void, Some(drop_info));
        ffi::duckdb_scalar_function_set_function(f, Some(invoke));
        let rc = ffi::duckdb_register_scalar_function(conn, f);
        ffi::duckdb_destroy_scalar_function(&mut f);
        if rc != ffi::duckdb_state_DuckDBSuccess {
            return Err(format!("DuckDB refused to register function {name}"));
        }
    }
    Ok(())
}

unsafe extern "C" fn drop_info(p: *mut c_void) {
    // SAFETY: p came from Box::into_raw in `register`
    drop(unsafe { Box::from_raw(p as *mut Info) });
}

unsafe extern "C" fn invoke(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    // A panic must not unwind into DuckDB's C++.
    // SAFETY: DuckDB hands this callback valid handles for the duration of the call.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { invoke_rows(info, input, output) }));
    let err = match r {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e,
        Err(_) => "internal error in a plugin function".to_string(),
    };
    let c = CString::new(err.replace('\0', " ")).unwrap_or_default();
    // SAFETY: `info` is the live function info of this call and `c` is NUL-terminated; DuckDB copies the message.
    unsafe { ffi::duckdb_scalar_function_set_error(info, c.as_ptr()) };
}

unsafe fn invoke_rows(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) -> Result<(), String> {
    // SAFETY: DuckDB calls this with a live function info, input chunk and output vector; the extra info is the `Info` registered with the function, alive as long as it is.
    unsafe {
        let info = &*(ffi::duckdb_scalar_function_get_extra_info(info) as *const Info);
        let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
        let vectors: Vec<ffi::duckdb_vector> =
            (0..info.args.len()).map(|i| ffi::duckdb_data_chunk_get_vector(input, i as u64)).collect();
        let mut args = Vec::with_capacity(info.args.len());
        for row in 0..rows {
            args.clear();
            for (v, k) in vectors.iter().zip(&info.args) {
                args.push(read(*v, *k, row));
            }
            let value = (info.func)(&args)?;
            write(output, info.ret, row, &value)?;
        }
    }
    Ok(())
}

unsafe fn read(v: ffi::duckdb_vector, k: Kind, row: usize) -> Json {
    // SAFETY: `v` is an input vector of the chunk being read and `row` is below its size (the caller iterates over it).
    unsafe {
        let validity = ffi::duckdb_vector_get_validity(v);
        if !validity.is_null() && !ffi::duckdb_validity_row_is_valid(validity, row as u64) {
            return Json::Null;
        }
        let data = ffi::duckdb_vector_get_data(v);
        match k {
            Kind::BigInt => Json::from(*(data as *const i64).add(row)),
            Kind::Double => {
                serde_json::Number::from_f64(*(data as *const f64).add(row)).map_or(Json::Null, Json::Number)
            }
            Kind::Boolean => Json::Bool(*(data as *const bool).add(row)),
            Kind::Varchar | Kind::Blob => {
                let s = (data as *mut ffi::duckdb_string_t).add(row);
                let len = ffi::duckdb_string_t_length(*s) as usize;
                let bytes = std::slice::from_raw_parts(ffi::duckdb_string_t_data(s) as *const u8, len);
                Json::String(if k == Kind::Blob {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                } else {
                    String::from_utf8_lossy(bytes).into_owned()
                })
            }
            // ISO text; the Python side makes date/time/datetime objects of it
            Kind::Date => {
                let days = *(data as *const i32).add(row);
                Json::String((epoch().date() + chrono::Duration::days(days.into())).format("%Y-%m-%d").to_string())
            }
            Kind::Timestamp => {
                let micros = *(data as *const i64).add(row);
                Json::String(
                    (epoch() + chrono::Duration::microseconds(micros)).format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                )
            }
            Kind::Time => {
                let micros = *(data as *const i64).add(row);
                Json::String((epoch() + chrono::Duration::microseconds(micros)).format("%H:%M:%S%.6f").to_string())
            }
        }
    }
}

unsafe fn write(out: ffi::duckdb_vector, k: Kind, row: usize, value: &Json) -> Result<(), String> {
    // SAFETY: `out` is the output vector of the chunk being written and `row` is below its capacity (the caller iterates over the input's rows).
    unsafe {
        if value.is_null() {
            ffi::duckdb_vector_ensure_validity_writable(out);
            ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(out), row as u64);
            return Ok(());
        }
        let data = ffi::duckdb_vector_get_data(out);
        match (k, value) {
            (Kind::BigInt, Json::Number(n)) if n.as_i64().is_some() => {
                *(data as *mut i64).add(row) = n.as_i64().expect("checked")
            }
            (Kind::Double, Json::Number(n)) => *(data as *mut f64).add(row) = n.as_f64().unwrap_or(f64::NAN),
            (Kind::Boolean, Json::Bool(b)) => *(data as *mut bool).add(row) = *b,
            (Kind::Date, Json::String(t)) => {
                let d = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|e| format!("{t}: {e}"))?;
                *(data as *mut i32).add(row) = (d - epoch().date()).num_days() as i32;
            }
            (Kind::Timestamp, Json::String(t)) => {
                let ts = crate::iso8601::parse_datetime(t).ok_or_else(|| format!("{t}: not an ISO 8601 date-time"))?;
                *(data as *mut i64).add(row) = ts.timestamp_micros();
            }
            (Kind::Time, Json::String(t)) => {
                let tm = chrono::NaiveTime::parse_from_str(t, "%H:%M:%S%.f").map_err(|e| format!("{t}: {e}"))?;
                *(data as *mut i64).add(row) = (tm - chrono::NaiveTime::MIN).num_microseconds().unwrap_or(i64::MAX);
            }
            (Kind::Blob, Json::String(b64)) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| e.to_string())?;
                ffi::duckdb_vector_assign_string_element_len(
                    out,
                    row as u64,
                    bytes.as_ptr() as *const _,
                    bytes.len() as u64,
                );
            }
            (Kind::Varchar, v) => {
                let text = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                ffi::duckdb_vector_assign_string_element_len(
                    out,
                    row as u64,
                    text.as_ptr() as *const _,
                    text.len() as u64,
                );
            }
            (k, v) => return Err(format!("the function returned {v}, which is not a {k:?} value")),
        }
    }
    Ok(())
}

fn epoch() -> chrono::NaiveDateTime {
    chrono::DateTime::UNIX_EPOCH.naive_utc()
}
