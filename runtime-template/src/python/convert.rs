//! Values between JSON (what mxcp's executor speaks) and Python objects.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

use crate::db::SqlType;
use crate::load::endpoint::{DataType, Format, TypeDef};

/// A JSON value as plain Python (numbers keep their exact value: big integers become `int`).
pub(super) fn to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => number_to_py(py, n)?,
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for i in items {
                list.append(to_py(py, i)?)?;
            }
            list.into_any()
        }
        Json::Object(m) => dict_to_py(py, m)?.into_any(),
    })
}

pub(super) fn dict_to_py<'py>(py: Python<'py>, m: &Map<String, Json>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in m {
        d.set_item(k, to_py(py, v)?)?;
    }
    Ok(d)
}

fn number_to_py<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(i) = n.as_i64() {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    if let Some(u) = n.as_u64() {
        return Ok(u.into_pyobject(py)?.into_any());
    }
    let text = n.to_string();
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return py.get_type::<PyInt>().call1((text,));
    }
    Ok(PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any())
}

/// The `datetime` module (imported once: conversions run per value).
fn datetime(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE.get_or_try_init(py, || py.import("datetime").map(Bound::unbind)).map(|m| m.bind(py))
}

/// `datetime.<class>.fromisoformat(text)` (3.11 reads `Z` and offsets).
fn from_iso<'py>(py: Python<'py>, class: &str, text: &str) -> PyResult<Bound<'py, PyAny>> {
    datetime(py)?.getattr(class)?.call_method1("fromisoformat", (text,))
}

/// An endpoint argument as Python, by its declared type: `format: date` strings become
/// `datetime.date`, `date-time` → `datetime`, `time` → `time`, `number` → `float`.
pub(super) fn arg_to_py<'py>(py: Python<'py>, v: &Json, def: &TypeDef) -> PyResult<Bound<'py, PyAny>> {
    match (def.ty, v) {
        (DataType::String, Json::String(s)) => {
            match def.format {
                Some(Format::Date) => from_iso(py, "date", s),
                Some(Format::DateTime) => from_iso(py, "datetime", s),
                Some(Format::Time) => from_iso(py, "time", s),
                // seconds since the epoch (the type system checked it is a number)
                Some(Format::Timestamp) => {
                    let secs: f64 = s.trim().parse().unwrap_or(f64::NAN);
                    let dt = datetime(py)?;
                    dt.getattr("datetime")?
                        .call_method1("fromtimestamp", (secs, dt.getattr("timezone")?.getattr("utc")?))
                }
                _ => to_py(py, v),
            }
        }
        (DataType::Number, Json::Number(n)) => Ok(PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()),
        (DataType::Array, Json::Array(items)) => match &def.items {
            Some(item_def) => {
                let list = PyList::empty(py);
                for i in items {
                    list.append(arg_to_py(py, i, item_def)?)?;
                }
                Ok(list.into_any())
            }
            None => to_py(py, v),
        },
        (DataType::Object, Json::Object(m)) if def.properties.is_some() => {
            let props = def.properties.as_ref().expect("checked");
            let d = PyDict::new(py);
            for (k, val) in m {
                match props.get(k) {
                    Some(pdef) => d.set_item(k, arg_to_py(py, val, pdef)?)?,
                    None => d.set_item(k, to_py(py, val)?)?,
                }
            }
            Ok(d.into_any())
        }
        _ => to_py(py, v),
    }
}

/// A query value as the Python type its column has: DATE → `date`, TIMESTAMP → `datetime`,
/// DECIMAL → `Decimal`, and so on inside lists and structs.
pub(super) fn sql_to_py<'py>(py: Python<'py>, v: &Json, ty: &SqlType) -> PyResult<Bound<'py, PyAny>> {
    if v.is_null() {
        return Ok(py.None().into_bound(py));
    }
    match (ty, v) {
        (SqlType::Date, Json::String(s)) => from_iso(py, "date", s).or_else(|_| to_py(py, v)),
        (SqlType::Timestamp | SqlType::TimestampTz, Json::String(s)) => {
            from_iso(py, "datetime", s).or_else(|_| to_py(py, v))
        }
        (SqlType::Time | SqlType::TimeTz, Json::String(s)) => from_iso(py, "time", s).or_else(|_| to_py(py, v)),
        (SqlType::Decimal(..), Json::Number(n)) => py.import("decimal")?.getattr("Decimal")?.call1((n.to_string(),)),
        (SqlType::Uuid, Json::String(s)) => py.import("uuid")?.getattr("UUID")?.call1((s.as_str(),)),
        (SqlType::List(inner) | SqlType::Array(inner, _), Json::Array(items)) => {
            let list = PyList::empty(py);
            for i in items {
                list.append(sql_to_py(py, i, inner)?)?;
            }
            Ok(list.into_any())
        }
        (SqlType::Struct(fields), Json::Object(m)) => {
            let d = PyDict::new(py);
            for (k, val) in m {
                match fields.iter().find(|(n, _)| n == k) {
                    Some((_, t)) => d.set_item(k, sql_to_py(py, val, t)?)?,
                    None => d.set_item(k, to_py(py, val)?)?,
                }
            }
            Ok(d.into_any())
        }
        _ => to_py(py, v),
    }
}

/// A Python value as JSON. Dicts, lists, tuples, scalars, Decimal and date/time types are
/// converted here; anything else (pandas, numpy, dataclasses...) through `mxcp._host.plain`.
pub(super) fn from_py(obj: &Bound<'_, PyAny>, plain: &Bound<'_, PyAny>, depth: usize) -> PyResult<Json> {
    if depth > 200 {
        return Err(pyo3::exceptions::PyValueError::new_err("result nested too deeply (a reference cycle?)"));
    }
    if obj.is_none() {
        return Ok(Json::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Json::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Json::from(v));
        }
        let text = i.str()?.to_string();
        return Ok(serde_json::from_str(&text).unwrap_or(Json::String(text)));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Number::from_f64(f.value()).map(Json::Number).unwrap_or(Json::Null));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Json::String(s.to_str()?.to_string()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_str()?.to_string(),
                Err(_) => k.str()?.to_string(),
            };
            m.insert(key, from_py(&v, plain, depth + 1)?);
        }
        return Ok(Json::Object(m));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| from_py(&v, plain, depth + 1)).collect::<PyResult<Vec<_>>>().map(Json::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|v| from_py(&v, plain, depth + 1)).collect::<PyResult<Vec<_>>>().map(Json::Array);
    }
    let type_name = obj.get_type().name()?.to_string();
    match type_name.as_str() {
        "Decimal" => {
            let text = obj.str()?.to_string();
            // NaN/Infinity have no JSON form
            return Ok(serde_json::from_str::<Number>(&text).map(Json::Number).unwrap_or(Json::Null));
        }
        "date" | "datetime" | "time" => return Ok(Json::String(obj.call_method0("isoformat")?.str()?.to_string())),
        "bytes" | "bytearray" => {
            use base64::Engine;
            let bytes: Vec<u8> = obj.extract()?;
            return Ok(Json::String(match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            }));
        }
        _ => {}
    }
    // `plain` turns what it does not know into str(), so this terminates
    from_py(&plain.call1((obj,))?, plain, depth + 1)
}
