//! Input and output policies (`policies:` of an endpoint): CEL conditions over the user and the call's arguments or
//! result, with deny / filter_fields / mask_fields / filter_sensitive_fields actions.
//!
//! Unlike the reference, `filter_sensitive_fields` works (it drops `sensitive: true` fields,
//! recursively) and input policies see arguments already converted to their declared types.

use serde_json::{Map, Value as Json};

use crate::load::endpoint::{DataType, PolicyAction, PolicyRule, TypeDef};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Evaluates a CEL condition; an evaluation error counts as false (as in the reference).
pub fn condition_holds(condition: &str, vars: &Map<String, Json>) -> bool {
    let Ok(program) = cel::Program::compile(condition) else {
        return false;
    };
    let mut ctx = cel::Context::default();
    for (k, v) in vars {
        ctx.add_variable_from_value(k.as_str(), cel_value(v));
    }
    matches!(program.execute(&ctx), Ok(cel::Value::Bool(true)))
}

/// JSON to a CEL value by hand: serde_json's exact-number representation does not survive a
/// generic serde conversion.
fn cel_value(v: &Json) -> cel::Value {
    match v {
        Json::Null => cel::Value::Null,
        Json::Bool(b) => cel::Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => cel::Value::String(std::sync::Arc::new(s.clone())),
        Json::Array(items) => cel::Value::List(std::sync::Arc::new(items.iter().map(cel_value).collect())),
        Json::Object(m) => cel::Value::from(
            m.iter().map(|(k, v)| (k.clone(), cel_value(v))).collect::<std::collections::HashMap<String, cel::Value>>(),
        ),
    }
}

/// Checks that a condition parses, for validation.
pub fn compile_error(condition: &str) -> Option<String> {
    cel::Program::compile(condition).err().map(|e| e.to_string())
}

pub fn enforce_input(rules: &[PolicyRule], args: &Map<String, Json>, user: &Json) -> Result<(), Denied> {
    if rules.is_empty() {
        return Ok(());
    }
    let mut vars = args.clone();
    vars.insert("user".into(), user.clone());
    for rule in rules {
        if rule.action == PolicyAction::Deny && condition_holds(&rule.condition, &vars) {
            let reason = rule.reason.clone().unwrap_or_else(|| "Access denied by policy".into());
            return Err(Denied(format!("Policy enforcement failed: {reason}")));
        }
    }
    Ok(())
}

pub fn enforce_output(
    rules: &[PolicyRule],
    mut result: Json,
    user: &Json,
    return_type: Option<&TypeDef>,
) -> Result<Json, Denied> {
    for rule in rules {
        let mut vars = Map::new();
        vars.insert("user".into(), user.clone());
        vars.insert("response".into(), result.clone());
        if !condition_holds(&rule.condition, &vars) {
            continue;
        }
        let fields = rule.fields.as_deref().unwrap_or_default();
        match rule.action {
            PolicyAction::Deny => {
                let reason = rule.reason.clone().unwrap_or_else(|| "Output blocked by policy".into());
                return Err(Denied(format!("Output policy enforcement failed: {reason}")));
            }
            PolicyAction::FilterFields => for_each_object(&mut result, &mut |m| {
                for f in fields {
                    m.shift_remove(f);
                }
            }),
            PolicyAction::MaskFields => for_each_object(&mut result, &mut |m| {
                for f in fields {
                    if let Some(v) = m.get_mut(f) {
                        *v = Json::String("****".into());
                    }
                }
            }),
            PolicyAction::FilterSensitiveFields => {
                if let Some(def) = return_type {
                    remove_sensitive(&mut result, def);
                }
            }
        }
    }
    Ok(result)
}

/// Applies `f` to the result object, or to each object of a result list (top level only).
fn for_each_object(v: &mut Json, f: &mut dyn FnMut(&mut Map<String, Json>)) {
    match v {
        Json::Object(m) => f(m),
        Json::Array(items) => {
            for item in items {
                if let Json::Object(m) = item {
                    f(m);
                }
            }
        }
        _ => {}
    }
}

fn remove_sensitive(v: &mut Json, def: &TypeDef) {
    match (def.ty, v) {
        (DataType::Object, Json::Object(m)) => {
            if let Some(props) = &def.properties {
                for (name, prop) in props {
                    if prop.sensitive {
                        m.shift_remove(name);
                    } else if let Some(child) = m.get_mut(name) {
                        remove_sensitive(child, prop);
                    }
                }
            }
        }
        (DataType::Array, Json::Array(items)) => {
            if let Some(item_def) = &def.items {
                for item in items {
                    remove_sensitive(item, item_def);
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

    #[test]
    fn cel_conditions() {
        let vars: Map<String, Json> = serde_json::from_value(json!({"user": {"role": "admin"}, "item_id": 3})).unwrap();
        assert!(condition_holds("user.role == 'admin' && item_id == 3", &vars));
        assert!(!condition_holds("user.missing == 'x'", &vars));
        assert!(!condition_holds("item_id == 'three'", &vars));
    }
}
