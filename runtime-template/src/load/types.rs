//! The MXCP type system on the input side (parameter types): converting a supplied value to its declared
//! type and checking every constraint. Used for call arguments and, at validate time, for
//! declared defaults, examples, enums and test arguments.
//!
//! Differences from the reference, on purpose: `enum` is checked after conversion (so
//! `--param n=5` matches `enum: [5]`), `pattern` is always checked, an integer parameter
//! refuses `5.7` instead of truncating it, and a boolean refuses words other than
//! true/false/yes/no/on/off/1/0 instead of reading them as false.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value as Json};

use crate::load::endpoint::{DataType, Format, Param, TypeDef};

/// Converts and checks `value` against `def`. The error is the bare message, worded as the
/// reference words it (clients match on it); callers add `Error validating parameter 'x': `.
pub fn coerce(def: &TypeDef, value: &Json) -> Result<Json, String> {
    if value.is_null() {
        return Ok(Json::Null);
    }
    let converted = match def.ty {
        DataType::String => coerce_string(def, value)?,
        DataType::Number => {
            let x = to_f64(value).ok_or_else(|| format!("Expected number, got {}", py_type(value)))?;
            check_bounds(def, x)?;
            // an integral number stays an integer (`100`, not `100.0`, in templates and JSON)
            match to_i64(value) {
                Some(i) if !matches!(value, Json::String(s) if s.contains(['.', 'e', 'E'])) => Json::from(i),
                _ => serde_json::Number::from_f64(x)
                    .map(Json::Number)
                    .ok_or_else(|| "Expected a finite number".to_string())?,
            }
        }
        DataType::Integer => {
            let i = to_i64(value).ok_or_else(|| format!("Expected integer, got {}", py_type(value)))?;
            check_bounds(def, i as f64)?;
            Json::from(i)
        }
        DataType::Boolean => {
            Json::Bool(to_bool(value).ok_or_else(|| format!("Expected boolean, got {}", short(value)))?)
        }
        DataType::Array => coerce_array(def, value)?,
        DataType::Object => coerce_object(def, value)?,
    };
    if let Some(allowed) = &def.enum_values {
        if !allowed.iter().any(|a| json_eq(a, &converted)) {
            return Err(format!("Must be one of: {}", py_repr(&Json::Array(allowed.clone()))));
        }
    }
    Ok(converted)
}

/// Full input validation of a call's arguments against the declared parameters: defaults,
/// required and unknown names, then per-parameter conversion. Returns arguments in
/// declaration order.
pub fn coerce_arguments(params: &[Param], args: &Map<String, Json>) -> Result<Map<String, Json>, String> {
    for key in args.keys() {
        if !params.iter().any(|p| &p.name == key) {
            return Err(format!("Unknown parameter: {key}"));
        }
    }
    let mut out = Map::new();
    for p in params {
        let value = match args.get(&p.name) {
            Some(v) => v,
            None => match &p.def.default {
                Some(d) => d,
                None => return Err(format!("Required parameter missing: {}", p.name)),
            },
        };
        let converted = coerce(&p.def, value).map_err(|e| {
            if e.starts_with("Must be one of") {
                format!("Invalid value for {}. {e}", p.name)
            } else {
                format!("Error validating parameter '{}': {e}", p.name)
            }
        })?;
        out.insert(p.name.clone(), converted);
    }
    Ok(out)
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("regex"));
static URI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z][a-zA-Z0-9+.-]*:.*$").expect("regex"));
static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$").expect("regex")
});

fn coerce_string(def: &TypeDef, value: &Json) -> Result<Json, String> {
    let s = match value {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        _ => return Err(format!("Expected string, got {}", kind(value))),
    };
    if let Some(format) = def.format {
        check_format(format, &s)?;
    } else {
        let len = s.chars().count() as u64;
        if let Some(min) = def.min_length {
            if len < min {
                return Err(format!("String must be at least {min} characters long"));
            }
        }
        if let Some(max) = def.max_length {
            if len > max {
                return Err(format!("String must be at most {max} characters long"));
            }
        }
    }
    if let Some(p) = &def.pattern {
        // patterns were compiled at load time; an invalid one was reported there
        if let Ok(re) = Regex::new(p) {
            if !re.is_match(&s) {
                return Err(format!("String does not match pattern '{p}'"));
            }
        }
    }
    Ok(Json::String(s))
}

/// A string against its declared format; the error is the reference's message.
pub fn check_format(format: Format, s: &str) -> Result<(), String> {
    let ok = match format {
        Format::Email => EMAIL.is_match(s),
        Format::Uri => URI.is_match(s),
        Format::Duration => DURATION.is_match(s) && s != "P" && !s.ends_with('T'),
        Format::Date => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        Format::Time => {
            chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").is_ok()
                || chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f").is_ok()
        }
        Format::DateTime => crate::iso8601::parse_datetime(s).is_some(),
        Format::Timestamp => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
    };
    if ok {
        return Ok(());
    }
    Err(match format {
        // the reference's wording (Python's own messages for dates and times)
        Format::Email => format!("Invalid email format: {s}"),
        Format::Uri => format!("Invalid URI format: {s}"),
        Format::Duration => format!("Invalid duration format: {s}"),
        Format::Date => format!("time data '{s}' does not match format '%Y-%m-%d'"),
        Format::Time => format!("time data '{s}' does not match format '%H:%M:%S'"),
        Format::DateTime => format!("Invalid isoformat string: '{s}'"),
        Format::Timestamp => format!("Invalid timestamp: '{s}' (expected seconds since the epoch)"),
    })
}

fn check_bounds(def: &TypeDef, x: f64) -> Result<(), String> {
    if let Some(m) = def.multiple_of {
        let q = x / m;
        if (q - q.round()).abs() > 1e-9 {
            return Err(format!("Value must be multiple of {}", py_float(m)));
        }
    }
    if let Some(min) = def.minimum {
        if x < min {
            return Err(format!("Value must be >= {}", py_float(min)));
        }
    }
    if let Some(max) = def.maximum {
        if x > max {
            return Err(format!("Value must be <= {}", py_float(max)));
        }
    }
    if let Some(min) = def.exclusive_minimum {
        if x <= min {
            return Err(format!("Value must be > {}", py_float(min)));
        }
    }
    if let Some(max) = def.exclusive_maximum {
        if x >= max {
            return Err(format!("Value must be < {}", py_float(max)));
        }
    }
    Ok(())
}

fn coerce_array(def: &TypeDef, value: &Json) -> Result<Json, String> {
    let parsed;
    let items = match value {
        Json::Array(a) => a,
        Json::String(s) => {
            parsed = serde_json::from_str::<Json>(s).map_err(|_| format!("Invalid JSON array: {s}"))?;
            parsed.as_array().ok_or_else(|| format!("Expected array, got {}", short(value)))?
        }
        _ => return Err(format!("Expected array, got {}", kind(value))),
    };
    let n = items.len() as u64;
    if let Some(min) = def.min_items {
        if n < min {
            return Err(format!("Array must have at least {min} items"));
        }
    }
    if let Some(max) = def.max_items {
        if n > max {
            return Err(format!("Array must have at most {max} items"));
        }
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let converted = match &def.items {
            Some(item_def) => coerce(item_def, item).map_err(|e| format!("Array item {i}: {e}"))?,
            None => item.clone(),
        };
        out.push(converted);
    }
    if def.unique_items == Some(true) {
        for (i, a) in out.iter().enumerate() {
            if out[..i].iter().any(|b| json_eq(a, b)) {
                return Err("Array must contain unique items".to_string());
            }
        }
    }
    Ok(Json::Array(out))
}

fn coerce_object(def: &TypeDef, value: &Json) -> Result<Json, String> {
    let parsed;
    let obj = match value {
        Json::Object(o) => o,
        Json::String(s) => {
            parsed = serde_json::from_str::<Json>(s).map_err(|_| format!("Invalid JSON object: {s}"))?;
            parsed.as_object().ok_or_else(|| format!("Expected object, got {}", short(value)))?
        }
        _ => return Err(format!("Expected object, got {}", kind(value))),
    };
    if let Some(required) = &def.required {
        let missing: Vec<&str> = required.iter().filter(|r| !obj.contains_key(*r)).map(String::as_str).collect();
        if !missing.is_empty() {
            return Err(format!("Missing required properties: {}", missing.join(", ")));
        }
    }
    let mut out = Map::new();
    for (k, v) in obj {
        match def.properties.as_ref().and_then(|p| p.get(k)) {
            Some(prop) => {
                out.insert(k.clone(), coerce(prop, v).map_err(|e| format!("Property '{k}': {e}"))?);
            }
            None if def.additional_properties == Some(false) => {
                return Err(format!("Unexpected property: {k}"));
            }
            None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(Json::Object(out))
}

fn to_f64(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn to_i64(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15).map(|x| x as i64))
        }
        Json::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15).map(|x| x as i64))
        }
        _ => None,
    }
}

fn to_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Equality of JSON values with numbers compared by value (`5` equals `5.0`).
pub fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64() && x.as_f64().is_some() || x.to_string() == y.to_string(),
        },
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn short(v: &Json) -> String {
    let r = py_repr(v);
    if r.chars().count() > 60 { format!("{}...", r.chars().take(57).collect::<String>()) } else { r }
}

/// A float the way Python prints it (`1.0`, `2.5`).
pub fn py_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e16 { format!("{x:.1}") } else { format!("{x}") }
}

/// A JSON value the way Python's `repr` prints the equivalent object (messages copy it).
pub fn py_repr(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'").replace('\n', "\\n"))
            }
        }
        Json::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Json::Object(o) => {
            format!("{{{}}}", o.iter().map(|(k, v)| format!("'{k}': {}", py_repr(v))).collect::<Vec<_>>().join(", "))
        }
    }
}

/// Output validation: the shaped result against the declared return type. Error
/// messages name Python types as the reference does (`Expected integer, got str`).
pub fn validate_output(def: &TypeDef, value: &Json) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let wrong = || format!("Expected {}, got {}", def.ty.as_str(), py_type(value));
    match def.ty {
        DataType::String => match value {
            Json::String(s) => {
                if let Some(f) = def.format.filter(|f| matches!(f, Format::Email | Format::Uri | Format::Duration)) {
                    check_format(f, s)?;
                }
                let len = s.chars().count() as u64;
                if def.min_length.is_some_and(|m| len < m) {
                    return Err(format!("String must be at least {} characters long", def.min_length.unwrap_or(0)));
                }
                if def.max_length.is_some_and(|m| len > m) {
                    return Err(format!("String must be at most {} characters long", def.max_length.unwrap_or(0)));
                }
                Ok(())
            }
            _ => Err(wrong()),
        },
        DataType::Number => match value {
            Json::Number(n) => check_bounds(def, n.as_f64().unwrap_or(0.0)),
            _ => Err(wrong()),
        },
        DataType::Integer => match value {
            // an integral DECIMAL or HUGEINT (e.g. `sum()` of integers) is an integer
            Json::Number(n) if n.is_i64() || n.is_u64() || is_integral_text(&n.to_string()) => {
                check_bounds(def, n.as_f64().unwrap_or(0.0))
            }
            _ => Err(wrong()),
        },
        DataType::Boolean => {
            if value.is_boolean() {
                Ok(())
            } else {
                Err(wrong())
            }
        }
        DataType::Array => {
            let Json::Array(items) = value else {
                return Err(wrong());
            };
            let n = items.len() as u64;
            if def.min_items.is_some_and(|m| n < m) {
                return Err(format!("Array must have at least {} items", def.min_items.unwrap_or(0)));
            }
            if def.max_items.is_some_and(|m| n > m) {
                return Err(format!("Array must have at most {} items", def.max_items.unwrap_or(0)));
            }
            if let Some(item_def) = &def.items {
                for (i, item) in items.iter().enumerate() {
                    validate_output(item_def, item).map_err(|e| format!("Array item {i}: {e}"))?;
                }
            }
            Ok(())
        }
        DataType::Object => {
            let Json::Object(obj) = value else {
                return Err(wrong());
            };
            if let Some(required) = &def.required {
                let missing: Vec<&str> =
                    required.iter().filter(|r| !obj.contains_key(*r)).map(String::as_str).collect();
                if !missing.is_empty() {
                    return Err(format!("Missing required properties: {}", missing.join(", ")));
                }
            }
            for (k, v) in obj {
                match def.properties.as_ref().and_then(|p| p.get(k)) {
                    Some(prop) => validate_output(prop, v).map_err(|e| format!("Property '{k}': {e}"))?,
                    None if def.additional_properties == Some(false) => {
                        return Err(format!("Unexpected property: {k}"));
                    }
                    None => {}
                }
            }
            Ok(())
        }
    }
}

fn is_integral_text(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    match t.split_once('.') {
        None => !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()),
        Some((int, frac)) => {
            !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b == b'0')
        }
    }
}

/// The Python type name of the value the reference would have produced.
pub fn py_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_i64() || n.is_u64() => "int",
        Json::Number(_) => "float",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// JSON text where the return type declares an object or an array becomes that JSON: DuckDB's
/// JSON columns arrive as text (as in the reference, where a `string` return keeps them so).
pub fn embed_declared_json(def: &TypeDef, value: &mut Json) {
    visit_declared(def, value, &mut |def, v| {
        let parsed = match (def.ty, &*v) {
            (DataType::Object | DataType::Array, Json::String(s)) => serde_json::from_str::<Json>(s).ok(),
            _ => None,
        };
        match parsed {
            Some(p @ Json::Object(_)) if def.ty == DataType::Object => *v = p,
            Some(p @ Json::Array(_)) if def.ty == DataType::Array => *v = p,
            _ => {}
        }
        true
    });
}

/// Calls `f` on `value` with its declared type and, while `f` returns true, on the values of
/// the declared properties of an object and the items of an array, depth first.
pub fn visit_declared(def: &TypeDef, value: &mut Json, f: &mut dyn FnMut(&TypeDef, &mut Json) -> bool) {
    if !f(def, value) {
        return;
    }
    match (def.ty, value) {
        (DataType::Object, Json::Object(m)) => {
            for (name, prop) in def.properties.iter().flatten() {
                if let Some(v) = m.get_mut(name) {
                    visit_declared(prop, v, f);
                }
            }
        }
        (DataType::Array, Json::Array(items)) => {
            if let Some(item_def) = &def.items {
                for v in items {
                    visit_declared(item_def, v, f);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(t: DataType) -> TypeDef {
        TypeDef::new(t)
    }

    #[test]
    fn converts_cli_strings() {
        assert_eq!(coerce(&ty(DataType::Integer), &json!("5")).unwrap(), json!(5));
        assert!(coerce(&ty(DataType::Integer), &json!("5.7")).is_err());
        assert_eq!(coerce(&ty(DataType::Number), &json!("2.5")).unwrap(), json!(2.5));
        assert_eq!(coerce(&ty(DataType::Boolean), &json!("TRUE")).unwrap(), json!(true));
        assert!(coerce(&ty(DataType::Boolean), &json!("maybe")).is_err());
        let mut arr = ty(DataType::Array);
        arr.items = Some(Box::new(ty(DataType::String)));
        assert_eq!(coerce(&arr, &json!("[1,2]")).unwrap(), json!(["1", "2"]));
    }

    #[test]
    fn checks_constraints_with_reference_messages() {
        let mut t = ty(DataType::Integer);
        t.minimum = Some(1.0);
        assert_eq!(coerce(&t, &json!(0)).unwrap_err(), "Value must be >= 1.0");
        let mut s = ty(DataType::String);
        s.min_length = Some(3);
        assert_eq!(coerce(&s, &json!("ab")).unwrap_err(), "String must be at least 3 characters long");
        let mut e = ty(DataType::Integer);
        e.enum_values = Some(vec![json!(5), json!(6)]);
        assert_eq!(coerce(&e, &json!("5")).unwrap(), json!(5));
        assert_eq!(coerce(&e, &json!(7)).unwrap_err(), "Must be one of: [5, 6]");
        let mut o = ty(DataType::Object);
        o.required = Some(vec!["a".into(), "b".into()]);
        assert_eq!(coerce(&o, &json!({"a": 1})).unwrap_err(), "Missing required properties: b");
    }

    #[test]
    fn formats() {
        let mut d = ty(DataType::String);
        d.format = Some(Format::Date);
        assert!(coerce(&d, &json!("2024-01-15")).is_ok());
        assert!(coerce(&d, &json!("2024-13-15")).is_err());
        d.format = Some(Format::DateTime);
        assert!(coerce(&d, &json!("2024-01-15T10:00:00Z")).is_ok());
        d.format = Some(Format::Email);
        assert!(coerce(&d, &json!("nope")).is_err());
    }
}
