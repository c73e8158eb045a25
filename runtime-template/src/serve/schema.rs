//! JSON Schema (2020-12) of tool inputs and outputs, from the parameter and return
//! definitions. Unlike the reference, `enum`, `description`, `examples` and `format` survive
//! for every type.

use serde_json::{Map, Value as Json, json};

use crate::load::endpoint::{DataType, Format, Param, Policies, PolicyAction, TypeDef};

pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// `inputSchema` of a tool: an object with one property per parameter; parameters without a
/// default are required.
pub fn input_schema(params: &[Param]) -> Map<String, Json> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in params {
        let mut s = type_schema(&p.def, false);
        // a parameter whose default is null accepts null
        if p.def.default.as_ref().is_some_and(Json::is_null) {
            s.insert("type".into(), json!([p.def.ty.as_str(), "null"]));
        }
        properties.insert(p.name.clone(), Json::Object(s));
        if p.def.default.is_none() {
            required.push(Json::String(p.name.clone()));
        }
    }
    let mut schema = Map::new();
    schema.insert("$schema".into(), json!(DIALECT));
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Json::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Json::Array(required));
    }
    schema
}

/// `outputSchema` of a tool: an object type as itself, anything else wrapped as `{"result": T}`
/// (structured content must be an object), matching how results are returned. Output
/// policies are reflected: a masked field may hold `"****"`, a filtered one may be missing.
pub fn output_schema(ret: &TypeDef, policies: &Policies) -> Map<String, Json> {
    let mut ret = ret.clone();
    let target = match ret.ty {
        DataType::Array => ret.items.as_deref_mut(),
        _ => Some(&mut ret),
    };
    if let Some(obj) = target.filter(|t| t.ty == DataType::Object) {
        for rule in &policies.output {
            let fields = rule.fields.as_deref().unwrap_or_default();
            match rule.action {
                PolicyAction::MaskFields => {
                    for f in fields {
                        if let Some(p) = obj.properties.as_mut().and_then(|p| p.get_mut(f)) {
                            p.masked = true;
                        }
                    }
                }
                PolicyAction::FilterFields => {
                    if let Some(req) = obj.required.as_mut() {
                        req.retain(|r| !fields.contains(r));
                    }
                }
                PolicyAction::FilterSensitiveFields => {
                    let sensitive: Vec<String> =
                        obj.properties.iter().flatten().filter(|(_, p)| p.sensitive).map(|(k, _)| k.clone()).collect();
                    if let Some(req) = obj.required.as_mut() {
                        req.retain(|r| !sensitive.contains(r));
                    }
                }
                PolicyAction::Deny => {}
            }
        }
    }
    let ret = &ret;
    let mut schema = if ret.ty == DataType::Object {
        let mut s = type_schema(ret, true);
        // the structured content itself is an object, never null
        s.insert("type".into(), json!("object"));
        s
    } else {
        let mut wrapper = Map::new();
        wrapper.insert("type".into(), json!("object"));
        wrapper.insert("properties".into(), json!({"result": Json::Object(type_schema(ret, true))}));
        wrapper.insert("required".into(), json!(["result"]));
        wrapper
    };
    schema.insert("$schema".into(), json!(DIALECT));
    schema
}

/// The schema of one type. `output`: results may hold null anywhere (SQL NULL), so every
/// type also admits null there.
pub fn type_schema(def: &TypeDef, output: bool) -> Map<String, Json> {
    let mut s = Map::new();
    let mut types = vec![json!(def.ty.as_str())];
    if def.masked && def.ty != DataType::String {
        types.push(json!("string"));
    }
    if output {
        types.push(json!("null"));
    }
    s.insert("type".into(), if types.len() == 1 { types.remove(0) } else { Json::Array(types) });
    if let Some(d) = &def.description {
        s.insert("description".into(), json!(d));
    }
    if let Some(f) = def.format {
        // `timestamp` (seconds since the epoch) has no JSON Schema format
        if f != Format::Timestamp {
            s.insert("format".into(), json!(f.as_str()));
        }
    }
    if let Some(e) = &def.enum_values {
        s.insert("enum".into(), Json::Array(e.clone()));
    }
    if let Some(x) = &def.examples {
        s.insert("examples".into(), Json::Array(x.clone()));
    }
    if let Some(d) = &def.default {
        s.insert("default".into(), d.clone());
    }
    let number = |x: f64| {
        if def.ty == DataType::Integer && x.fract() == 0.0 { json!(x as i64) } else { json!(x) }
    };
    for (key, v) in [
        ("minimum", def.minimum),
        ("maximum", def.maximum),
        ("exclusiveMinimum", def.exclusive_minimum),
        ("exclusiveMaximum", def.exclusive_maximum),
        ("multipleOf", def.multiple_of),
    ] {
        if let Some(x) = v {
            s.insert(key.into(), number(x));
        }
    }
    for (key, v) in [
        ("minLength", def.min_length),
        ("maxLength", def.max_length),
        ("minItems", def.min_items),
        ("maxItems", def.max_items),
    ] {
        if let Some(n) = v {
            s.insert(key.into(), json!(n));
        }
    }
    if let Some(p) = &def.pattern {
        s.insert("pattern".into(), json!(p));
    }
    if let Some(u) = def.unique_items {
        s.insert("uniqueItems".into(), json!(u));
    }
    if let Some(items) = &def.items {
        s.insert("items".into(), Json::Object(type_schema(items, output)));
    }
    if let Some(props) = &def.properties {
        let m: Map<String, Json> =
            props.iter().map(|(k, v)| (k.clone(), Json::Object(type_schema(v, output)))).collect();
        s.insert("properties".into(), Json::Object(m));
    }
    if let Some(r) = &def.required {
        s.insert("required".into(), json!(r));
    }
    if let Some(a) = def.additional_properties {
        s.insert("additionalProperties".into(), json!(a));
    }
    s
}

/// MCP content items a Python tool returned through `mxcp.runtime.content` (one, or a list of
/// them), in the protocol's own shape; `None` for ordinary results.
pub fn content_items(result: &Json) -> Option<Vec<Json>> {
    const KEY: &str = "$mxcp_content";
    let item = |v: &Json| v.as_object().filter(|o| o.len() == 1).and_then(|o| o.get(KEY)).cloned();
    match result {
        Json::Array(items) if !items.is_empty() => items.iter().map(item).collect(),
        other => item(other).map(|i| vec![i]),
    }
}

/// `content_items` as a tool result's content blocks.
pub fn content_blocks(items: Vec<Json>) -> Result<Vec<rmcp::model::ContentBlock>, String> {
    items.into_iter().map(|i| serde_json::from_value(i).map_err(|e| format!("invalid content item: {e}"))).collect()
}

/// `content_items` as a resource's contents: `content.resource(...)` items only.
pub fn resource_contents(items: Vec<Json>) -> Result<Vec<rmcp::model::ResourceContents>, String> {
    items
        .into_iter()
        .map(|item| match (item.get("type").and_then(Json::as_str), item.get("resource")) {
            (Some("resource"), Some(r)) => serde_json::from_value(r.clone()).map_err(|e| e.to_string()),
            _ => Err("a resource returns content.resource(...) items only".into()),
        })
        .collect()
}

/// A tool result as MCP content: the text items and the structured content.
pub fn tool_content(result: &Json, ret: Option<&TypeDef>) -> (Vec<String>, Option<Json>) {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        Json::Object(_) | Json::Array(_) => serde_json::to_string_pretty(v).expect("serializable"),
        other => other.to_string(),
    };
    match ret.map(|r| r.ty) {
        None => match result {
            Json::Array(items) => (items.iter().map(text).collect(), None),
            other => (vec![text(other)], None),
        },
        Some(DataType::Object) => (vec![text(result)], Some(with_declared_properties(result, ret))),
        Some(DataType::Array) => {
            let items = result.as_array().map(|a| a.iter().map(text).collect()).unwrap_or_else(|| vec![text(result)]);
            (items, Some(json!({ "result": with_declared_properties(result, ret) })))
        }
        // a NULL scalar has no content item, as the reference answers
        Some(_) if result.is_null() => (vec![], Some(json!({ "result": null }))),
        Some(_) => (vec![text(result)], Some(json!({ "result": result }))),
    }
}

/// The structured content carries every property the output schema declares, `null` where
/// the result has none (a field a policy filtered out), as the reference's does; undeclared
/// properties stay.
fn with_declared_properties(value: &Json, def: Option<&TypeDef>) -> Json {
    let Some(def) = def else { return value.clone() };
    match (def.ty, value) {
        (DataType::Object, Json::Object(m)) => {
            let Some(props) = &def.properties else { return value.clone() };
            let mut out = serde_json::Map::with_capacity(m.len().max(props.len()));
            for (name, prop) in props {
                out.insert(name.clone(), m.get(name).map_or(Json::Null, |v| with_declared_properties(v, Some(prop))));
            }
            for (k, v) in m {
                if !props.contains_key(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
            Json::Object(out)
        }
        (DataType::Array, Json::Array(items)) => {
            Json::Array(items.iter().map(|v| with_declared_properties(v, def.items.as_deref())).collect())
        }
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_enum_description_and_constraints() {
        let mut def = TypeDef::new(DataType::String);
        def.description = Some("Colour".into());
        def.enum_values = Some(vec![json!("red"), json!("green")]);
        def.min_length = Some(1);
        let p = Param { name: "c".into(), def, pos: Default::default(), path: String::new() };
        let s = input_schema(&[p]);
        assert_eq!(
            Json::Object(s),
            json!({"$schema": DIALECT, "type": "object", "required": ["c"], "properties": {
                "c": {"type": "string", "description": "Colour", "enum": ["red", "green"], "minLength": 1}}})
        );
    }

    #[test]
    fn content_shapes() {
        let int = TypeDef::new(DataType::Integer);
        assert_eq!(tool_content(&json!(4), Some(&int)), (vec!["4".into()], Some(json!({"result": 4}))));
        let arr = TypeDef::new(DataType::Array);
        assert_eq!(tool_content(&json!([]), Some(&arr)), (vec![], Some(json!({"result": []}))));
        let (texts, structured) = tool_content(&json!([{"a": 1}]), None);
        assert_eq!((texts, structured), (vec!["{\n  \"a\": 1\n}".to_string()], None));
    }

    #[test]
    fn structured_content_has_every_declared_property() {
        let mut inner = TypeDef::new(DataType::Object);
        inner.properties = Some(
            [("x".to_string(), TypeDef::new(DataType::Integer)), ("y".into(), TypeDef::new(DataType::Integer))]
                .into_iter()
                .collect(),
        );
        let mut obj = TypeDef::new(DataType::Object);
        obj.properties = Some(
            [
                ("a".to_string(), TypeDef::new(DataType::Integer)),
                ("b".into(), TypeDef::new(DataType::String)),
                ("c".into(), inner),
            ]
            .into_iter()
            .collect(),
        );
        let (texts, structured) = tool_content(&json!({"a": 1, "c": {"x": 1}, "extra": 5}), Some(&obj));
        assert_eq!(structured, Some(json!({"a": 1, "b": null, "c": {"x": 1, "y": null}, "extra": 5})));
        assert_eq!(texts, vec!["{\n  \"a\": 1,\n  \"c\": {\n    \"x\": 1\n  },\n  \"extra\": 5\n}".to_string()]);
    }
}
