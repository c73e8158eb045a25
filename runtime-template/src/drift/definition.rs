//! An endpoint's `definition` in a drift snapshot: the endpoint file as the reference's model
//! dumps it (`model_dump(exclude_none=True)`): fields in the model's order, defaults filled in
//! (`enabled`, `language`, `sensitive`), unset and null fields left out, `return` spelled
//! `return_`, numbers converted to the field's type. Snapshots written by either implementation
//! then compare equal when the files are the same.

use serde_json::{Map, Value as Json};

use crate::load::endpoint::{Endpoint, EndpointKind};
use crate::load::endpoint_decode::{
    ANNOTATION_KEYS, MESSAGE_KEYS, PROMPT_KEYS, RESOURCE_KEYS, RULE_KEYS, SOURCE_KEYS, TEST_KEYS, TOOL_KEYS, TYPE_KEYS,
};

/// Fields the model types as float (`minimum: 0` is dumped as `0.0`) and as integer.
const FLOAT_FIELDS: &[&str] = &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const INT_FIELDS: &[&str] = &["minLength", "maxLength", "minItems", "maxItems", "result_length"];

/// The definition of `e` from its file's document (the YAML as JSON).
pub(crate) fn definition(doc: &Json, e: &Endpoint) -> Json {
    let mut out = Map::new();
    out.insert("mxcp".into(), format_version(doc.get("mxcp")));
    let kind = e.kind.as_str();
    out.insert(kind.into(), endpoint(doc.get(kind).unwrap_or(&Json::Null), e));
    if let Some(m) = present(doc.get("metadata")) {
        out.insert("metadata".into(), m.clone());
    }
    Json::Object(out)
}

/// `mxcp:` as the model reads it: an integer (`"1.0"` and `1.0` are 1).
fn format_version(v: Option<&Json>) -> Json {
    let n = match v {
        Some(Json::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|x| x.trunc() as i64)),
        Some(Json::String(s)) => s.trim().parse::<f64>().ok().map(|x| x.trunc() as i64),
        _ => None,
    };
    Json::from(n.unwrap_or(1))
}

fn endpoint(v: &Json, e: &Endpoint) -> Json {
    let fields = match e.kind {
        EndpointKind::Tool => TOOL_KEYS,
        EndpointKind::Resource => RESOURCE_KEYS,
        EndpointKind::Prompt => PROMPT_KEYS,
    };
    let mut out = Map::new();
    for &key in fields {
        let value = present(v.get(key));
        let dumped = match key {
            // defaults the model fills in; the language is the one mxcp runs (inferred from a
            // `.py` source file when not declared)
            "language" => Some(Json::String(e.language.as_str().into())),
            "enabled" => Some(Json::Bool(value.and_then(Json::as_bool).unwrap_or(true))),
            "return" => value.map(type_def),
            "parameters" => value.map(|ps| list(ps, param)),
            "annotations" => value.map(|a| pick(a, ANNOTATION_KEYS)),
            "source" => value.map(|s| pick(s, SOURCE_KEYS)),
            "messages" => value.map(|ms| list(ms, |m| pick(m, MESSAGE_KEYS))),
            "tests" => value.map(|ts| list(ts, test)),
            "policies" => value.map(policies),
            _ => value.cloned(),
        };
        if let Some(d) = dumped {
            out.insert(if key == "return" { "return_".into() } else { key.into() }, d);
        }
    }
    Json::Object(out)
}

fn param(v: &Json) -> Json {
    let mut out = Map::new();
    if let Some(name) = present(v.get("name")) {
        out.insert("name".into(), name.clone());
    }
    if let Json::Object(t) = type_def(v) {
        out.extend(t);
    }
    Json::Object(out)
}

fn type_def(v: &Json) -> Json {
    let mut out = Map::new();
    for &key in TYPE_KEYS {
        let value = present(v.get(key));
        let dumped = match key {
            "sensitive" => Some(Json::Bool(value.and_then(Json::as_bool).unwrap_or(false))),
            "items" => value.map(type_def),
            "properties" => value
                .and_then(Json::as_object)
                .map(|props| Json::Object(props.iter().map(|(name, t)| (name.clone(), type_def(t))).collect())),
            _ => value.map(|x| convert_number(key, x)),
        };
        if let Some(d) = dumped {
            out.insert(key.into(), d);
        }
    }
    Json::Object(out)
}

fn test(v: &Json) -> Json {
    let mut out = Map::new();
    for &key in TEST_KEYS {
        let Some(value) = present(v.get(key)) else { continue };
        let dumped = match key {
            "arguments" => list(value, |a| pick(a, &["key", "value"])),
            _ => convert_number(key, value),
        };
        out.insert(key.into(), dumped);
    }
    Json::Object(out)
}

fn policies(v: &Json) -> Json {
    let mut out = Map::new();
    for key in ["input", "output"] {
        if let Some(rules) = present(v.get(key)) {
            out.insert(key.into(), list(rules, |r| pick(r, RULE_KEYS)));
        }
    }
    Json::Object(out)
}

/// The non-null fields among `keys`, in that order.
fn pick(v: &Json, keys: &[&str]) -> Json {
    Json::Object(keys.iter().filter_map(|&k| present(v.get(k)).map(|x| (k.to_string(), x.clone()))).collect())
}

fn list(v: &Json, item: impl Fn(&Json) -> Json) -> Json {
    match v {
        Json::Array(items) => Json::Array(items.iter().map(item).collect()),
        other => other.clone(),
    }
}

/// A field that is set: null is "not set" (`exclude_none`).
fn present(v: Option<&Json>) -> Option<&Json> {
    v.filter(|x| !x.is_null())
}

/// Numbers as the field's declared type: floats stay floats (`0` → `0.0`), integers written
/// as `2.0` become `2`.
fn convert_number(key: &str, v: &Json) -> Json {
    let Json::Number(n) = v else { return v.clone() };
    if FLOAT_FIELDS.contains(&key) {
        if let Some(x) = n.as_f64().and_then(serde_json::Number::from_f64) {
            return Json::Number(x);
        }
    }
    if INT_FIELDS.contains(&key) && n.as_i64().is_none() {
        if let Some(x) = n.as_f64().filter(|x| x.fract() == 0.0) {
            return Json::from(x as i64);
        }
    }
    v.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::endpoint::Language;
    use serde_json::json;

    #[test]
    fn defaults_are_filled_in_and_nulls_left_out() {
        let doc = json!({"mxcp": "1.0", "tool": {
            "source": {"code": "SELECT 1"}, "name": "t", "description": null,
            "parameters": [{"name": "x", "type": "number", "minimum": 0, "default": null, "examples": [null]}],
            "return": {"type": "array", "items": {"type": "integer", "minLength": 2.0}},
            "tests": [{"user_context": {"a": null}, "result": 1, "name": "n", "arguments": [{"key": "x", "value": null}]}],
        }});
        let e = Endpoint { language: Language::Sql, ..Endpoint::new(EndpointKind::Tool, "t") };
        let d = definition(&doc, &e);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            json!({"mxcp": 1, "tool": {
                "name": "t",
                "parameters": [{"name": "x", "type": "number", "examples": [null], "sensitive": false, "minimum": 0.0}],
                "return_": {"type": "array", "sensitive": false, "items": {"type": "integer", "sensitive": false, "minLength": 2}},
                "language": "sql", "source": {"code": "SELECT 1"}, "enabled": true,
                "tests": [{"name": "n", "arguments": [{"key": "x"}], "result": 1, "user_context": {"a": null}}],
            }})
            .to_string()
        );
    }
}
