//! Input and output policies (`policies:` of an endpoint): CEL conditions over the user and the call's arguments or
//! result, with deny / filter_fields / mask_fields / filter_sensitive_fields actions.
//!
//! Unlike the reference, `filter_sensitive_fields` works (it drops `sensitive: true` fields,
//! recursively) and input policies see arguments already converted to their declared types.

use serde_json::{Map, Value as Json};

use crate::load::endpoint::{PolicyAction, PolicyRule, TypeDef};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// What the policies of one call did, for the audit log: every rule evaluated (`input[0]:
/// <condition>`, the reference's wording), the decision and its reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyTrace {
    pub evaluated: Vec<String>,
    /// `None` when no policy ran (the endpoint has none, or the call failed before them).
    pub decision: Option<Decision>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Allowed, with the output changed by a policy (filtered or masked fields).
    Warn,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Warn => "warn",
        }
    }
}

impl PolicyTrace {
    fn deny(&mut self, reason: &str) {
        self.decision = Some(Decision::Deny);
        self.reason = Some(reason.to_string());
    }

    /// An output rule changed the result: "warn", naming each action (the reference's wording
    /// for one).
    fn modified(&mut self, action: &str) {
        self.decision = Some(Decision::Warn);
        self.reason = Some(match self.reason.take() {
            Some(r) => format!("{r}, {action}"),
            None => format!("Output modified by {action}"),
        });
    }
}

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

pub fn enforce_input(
    rules: &[PolicyRule],
    args: &Map<String, Json>,
    user: &Json,
    trace: &mut PolicyTrace,
) -> Result<(), Denied> {
    if rules.is_empty() {
        return Ok(());
    }
    let mut vars = args.clone();
    vars.insert("user".into(), user.clone());
    for (i, rule) in rules.iter().enumerate() {
        trace.evaluated.push(format!("input[{i}]: {}", rule.condition));
        if rule.action == PolicyAction::Deny && condition_holds(&rule.condition, &vars) {
            let reason = rule.reason.as_deref().unwrap_or("Access denied by policy");
            trace.deny(reason);
            return Err(Denied(format!("Policy enforcement failed: {reason}")));
        }
    }
    trace.decision = Some(Decision::Allow);
    Ok(())
}

pub fn enforce_output(
    rules: &[PolicyRule],
    mut result: Json,
    user: &Json,
    return_type: Option<&TypeDef>,
    trace: &mut PolicyTrace,
) -> Result<Json, Denied> {
    if !rules.is_empty() && trace.decision.is_none() {
        trace.decision = Some(Decision::Allow);
    }
    for (i, rule) in rules.iter().enumerate() {
        trace.evaluated.push(format!("output[{i}]: {}", rule.condition));
        let mut vars = Map::new();
        vars.insert("user".into(), user.clone());
        vars.insert("response".into(), result.clone());
        if !condition_holds(&rule.condition, &vars) {
            continue;
        }
        let fields = rule.fields.as_deref().unwrap_or_default();
        match rule.action {
            PolicyAction::Deny => {
                let reason = rule.reason.as_deref().unwrap_or("Output blocked by policy");
                trace.deny(reason);
                return Err(Denied(format!("Output policy enforcement failed: {reason}")));
            }
            PolicyAction::FilterFields => {
                trace.modified("filter_fields");
                for_each_object(&mut result, &mut |m| {
                    for f in fields {
                        m.shift_remove(f);
                    }
                })
            }
            PolicyAction::MaskFields => {
                trace.modified("mask_fields");
                for_each_object(&mut result, &mut |m| {
                    for f in fields {
                        if let Some(v) = m.get_mut(f) {
                            *v = Json::String("****".into());
                        }
                    }
                })
            }
            PolicyAction::FilterSensitiveFields => {
                trace.modified("filter_sensitive_fields");
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
    crate::load::types::visit_declared(def, v, &mut |def, v| {
        if let (Some(props), Json::Object(m)) = (&def.properties, v) {
            m.retain(|name, _| !props.get(name).is_some_and(|p| p.sensitive));
        }
        true
    });
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
