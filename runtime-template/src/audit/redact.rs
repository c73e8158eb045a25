//! Values declared `sensitive: true` never reach the audit log: in a record's input (by the
//! parameters' types) and output (by the return type) they are replaced, at any depth.

use serde_json::{Map, Value as Json};

use crate::load::endpoint::{Param, TypeDef};

/// What a sensitive value becomes in a record.
pub const REDACTED: &str = "[REDACTED]";

/// The call's arguments as recorded.
pub fn redact_arguments(params: &[Param], args: &Map<String, Json>) -> Json {
    let mut out = args.clone();
    for p in params {
        if let Some(v) = out.get_mut(&p.name) {
            redact(v, &p.def);
        }
    }
    Json::Object(out)
}

/// The call's result as recorded.
pub fn redact_output(return_type: Option<&TypeDef>, mut value: Json) -> Json {
    if let Some(def) = return_type {
        redact(&mut value, def);
    }
    value
}

fn redact(v: &mut Json, def: &TypeDef) {
    crate::load::types::visit_declared(def, v, &mut |def, v| {
        if def.sensitive {
            *v = Json::String(REDACTED.into());
        }
        !def.sensitive
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::endpoint::DataType;
    use serde_json::json;

    fn object(props: Vec<(&str, TypeDef)>) -> TypeDef {
        let mut def = TypeDef::new(DataType::Object);
        def.properties = Some(props.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        def
    }

    fn sensitive(ty: DataType) -> TypeDef {
        let mut def = TypeDef::new(ty);
        def.sensitive = true;
        def
    }

    #[test]
    fn nested_sensitive_values_are_replaced() {
        let row = object(vec![("id", TypeDef::new(DataType::Integer)), ("token", sensitive(DataType::String))]);
        let mut list = TypeDef::new(DataType::Array);
        list.items = Some(Box::new(row));
        let out = redact_output(Some(&list), json!([{"id": 1, "token": "t1"}, {"id": 2}]));
        assert_eq!(out, json!([{"id": 1, "token": "[REDACTED]"}, {"id": 2}]));
        assert_eq!(redact_output(Some(&sensitive(DataType::Object)), json!({"a": 1})), json!("[REDACTED]"));
        assert_eq!(redact_output(None, json!({"a": 1})), json!({"a": 1}));
    }
}
