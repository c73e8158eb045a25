//! Inline endpoint tests (`mxcp test`, the `tests:` of an endpoint file): run each test like a call and check its
//! assertions. Results are not normalised: a test can expect `0`, `""` or `false`.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::exec::executor::{CallOptions, Runtime};
use crate::exec::identity::{Identity, Request};
use crate::load::endpoint::{Assertions, Endpoint, EndpointKind, TestDef};
use crate::load::types::{json_eq, py_repr, py_type};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Passed,
    Failed,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub name: String,
    pub description: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What caused an error (the policy's reason, DuckDB's message), as the reference reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_cause: Option<String>,
    pub time: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointReport {
    pub status: Status,
    pub tests_run: usize,
    pub tests: Vec<TestOutcome>,
    pub no_tests: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointEntry {
    pub endpoint: String,
    pub path: String,
    pub test_results: EndpointReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    pub status: Status,
    pub tests_run: usize,
    pub endpoints: Vec<EndpointEntry>,
}

/// Runs the tests of one endpoint. `user_override` (from `--user-context`) replaces each
/// test's own `user_context`.
pub fn run_endpoint(
    rt: &Runtime,
    e: &Endpoint,
    user_override: Option<&Json>,
    request: Option<&Arc<Request>>,
) -> EndpointReport {
    let Some(tests) = e.tests.as_ref().filter(|t| !t.is_empty()) else {
        return EndpointReport { status: Status::Ok, tests_run: 0, tests: Vec::new(), no_tests: true, message: None };
    };
    let outcomes: Vec<TestOutcome> = tests.iter().map(|t| run_one(rt, e, t, user_override, request)).collect();
    EndpointReport {
        status: overall(outcomes.iter().map(|o| o.status)),
        tests_run: outcomes.len(),
        tests: outcomes,
        no_tests: false,
        message: None,
    }
}

/// `error` if any errored, else `failed` if any failed, else `ok`.
pub fn overall(statuses: impl Iterator<Item = Status>) -> Status {
    let mut status = Status::Ok;
    for s in statuses {
        match s {
            Status::Error => return Status::Error,
            Status::Failed => status = Status::Failed,
            _ => {}
        }
    }
    status
}

fn run_one(
    rt: &Runtime,
    e: &Endpoint,
    t: &TestDef,
    user_override: Option<&Json>,
    request: Option<&Arc<Request>>,
) -> TestOutcome {
    let start = Instant::now();
    let args: Map<String, Json> = t.arguments.iter().map(|a| (a.key.clone(), a.value.clone())).collect();
    let opts = CallOptions {
        events: None,
        spans: None,
        identity: user_override
            .or(t.user_context.as_ref())
            .and_then(Json::as_object)
            .map(|u| Arc::new(Identity::from_user_context(u, "test"))),
        request: request.cloned(),
        skip_output_validation: false,
        cancel: None,
        result_cap: Default::default(),
    };
    let (status, error) = match rt.call_endpoint(e, &args, &opts) {
        Err(err) => (Status::Error, Some(err.to_string())),
        Ok(result) => {
            let result = if e.kind == EndpointKind::Prompt { prompt_result(result) } else { result };
            match check(&t.assertions, &result) {
                Ok(()) => (Status::Passed, None),
                Err(m) => (Status::Failed, Some(m)),
            }
        }
    };
    let error_cause = if status == Status::Error { error.as_deref().and_then(error_cause) } else { None };
    TestOutcome {
        name: t.name.clone(),
        description: t.description.clone().unwrap_or_default(),
        status,
        error,
        error_cause,
        time: start.elapsed().as_secs_f64(),
    }
}

/// The cause the reference reports with a failed call: the message its wrapper wrapped.
fn error_cause(error: &str) -> Option<String> {
    const WRAPPERS: [&str; 4] = [
        "Policy enforcement failed: ",
        "Output policy enforcement failed: ",
        "Failed to execute SQL: ",
        "Error validating parameter '",
    ];
    WRAPPERS.iter().find_map(|w| {
        let rest = error.strip_prefix(w)?;
        match w.ends_with('\'') {
            // Error validating parameter 'n': <cause>
            true => rest.split_once("': ").map(|(_, cause)| cause.to_string()),
            false => Some(rest.to_string()),
        }
    })
}

/// A prompt's result for assertions: the assistant message's text (parsed when it is JSON),
/// else the message list.
fn prompt_result(messages: Json) -> Json {
    let assistant = messages
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["role"] == "assistant"))
        .and_then(|m| m["prompt"].as_str())
        .map(str::trim);
    match assistant {
        Some(text)
            if (text.starts_with('[') && text.ends_with(']')) || (text.starts_with('{') && text.ends_with('}')) =>
        {
            serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.into()))
        }
        Some(text) => Json::String(text.into()),
        None => messages,
    }
}

/// All present assertions, in the documented order; the first failure is reported, as a
/// message worded like the reference's (test reports and scripts match on it).
pub fn check(a: &Assertions, result: &Json) -> Result<(), String> {
    if let Some(expected) = &a.result {
        if !json_eq(expected, result) {
            return Err(format!(
                "Result does not match expected output.\nExpected: {}\nGot: {}",
                py_repr(expected),
                py_repr(result)
            ));
        }
    }
    if let Some(expected) = &a.result_contains {
        match (result, expected) {
            (Json::Object(r), Json::Object(exp)) => {
                for (k, v) in exp {
                    match r.get(k) {
                        None => return Err(format!("Expected field '{k}' not found in result")),
                        Some(actual) if !json_eq(actual, v) => {
                            return Err(format!("Field '{k}' has value {}, expected {}", py_str(actual), py_str(v)));
                        }
                        _ => {}
                    }
                }
            }
            (Json::Object(_), _) => {
                return Err(format!("result_contains on an object result needs an object, got {}", py_repr(expected)));
            }
            (Json::Array(items), Json::Object(exp)) => {
                if !items.iter().any(|i| contains_pairs(i, exp)) {
                    return Err(format!("No item in array contains the expected fields: {}", py_repr(expected)));
                }
            }
            (Json::Array(items), scalar) => {
                if !items.iter().any(|i| json_eq(i, scalar)) {
                    return Err(format!("Array does not contain expected value: {}", py_str(scalar)));
                }
            }
            _ => {
                return Err(format!(
                    "result_contains assertion requires dict or array result, got <class '{}'>",
                    py_type(result)
                ));
            }
        }
    }
    if let Some(fields) = &a.result_not_contains {
        let Json::Object(r) = result else {
            return Err(format!(
                "result_not_contains assertion requires dict result, got <class '{}'>",
                py_type(result)
            ));
        };
        for f in fields {
            if r.contains_key(f) {
                return Err(format!("Field '{f}' should not be present in result but was found"));
            }
        }
    }
    if let Some(expected) = &a.result_contains_item {
        let Json::Array(items) = result else {
            return Err(format!(
                "result_contains_item assertion requires array result, got <class '{}'>",
                py_type(result)
            ));
        };
        if !items.iter().any(|i| item_matches(i, expected)) {
            return Err(format!("Array does not contain expected item: {}", py_str(expected)));
        }
    }
    if let Some(all) = &a.result_contains_all {
        let Json::Array(items) = result else {
            return Err(format!(
                "result_contains_all assertion requires array result, got <class '{}'>",
                py_type(result)
            ));
        };
        for expected in all {
            if !items.iter().any(|i| item_matches(i, expected)) {
                return Err(format!("Array does not contain expected item: {}", py_str(expected)));
            }
        }
    }
    if let Some(n) = a.result_length {
        let Json::Array(items) = result else {
            return Err(format!("result_length assertion requires array result, got <class '{}'>", py_type(result)));
        };
        if items.len() as u64 != n {
            return Err(format!("Array has {} items, expected {n}", items.len()));
        }
    }
    if let Some(text) = &a.result_contains_text {
        if !py_str(result).contains(text.as_str()) {
            return Err(format!("Result does not contain expected text: {}", py_repr(&Json::String(text.clone()))));
        }
    }
    Ok(())
}

fn item_matches(item: &Json, expected: &Json) -> bool {
    json_eq(item, expected) || matches!(expected, Json::Object(exp) if contains_pairs(item, exp))
}

fn contains_pairs(item: &Json, expected: &Map<String, Json>) -> bool {
    item.as_object().is_some_and(|m| expected.iter().all(|(k, v)| m.get(k).is_some_and(|x| json_eq(x, v))))
}

/// Python's `str()`: strings bare, everything else as `repr`.
fn py_str(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => py_repr(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn a() -> Assertions {
        Assertions::default()
    }

    #[test]
    fn falsy_results_are_testable() {
        assert!(check(&Assertions { result: Some(json!(0)), ..a() }, &json!(0)).is_ok());
        assert_eq!(
            check(&Assertions { result: Some(json!(0)), ..a() }, &json!([])).unwrap_err(),
            "Result does not match expected output.\nExpected: 0\nGot: []"
        );
    }

    #[test]
    fn messages_match_the_reference() {
        let r = json!({"name": "apple", "id": 1});
        assert_eq!(
            check(&Assertions { result_contains: Some(json!({"name": "pear"})), ..a() }, &r).unwrap_err(),
            "Field 'name' has value apple, expected pear"
        );
        assert_eq!(
            check(&Assertions { result_length: Some(99), ..a() }, &json!([1, 2, 3, 4])).unwrap_err(),
            "Array has 4 items, expected 99"
        );
        assert_eq!(
            check(&Assertions { result_not_contains: Some(vec!["id".into()]), ..a() }, &r).unwrap_err(),
            "Field 'id' should not be present in result but was found"
        );
        assert_eq!(
            check(&Assertions { result_contains_text: Some("zzz".into()), ..a() }, &r).unwrap_err(),
            "Result does not contain expected text: 'zzz'"
        );
        assert!(check(&Assertions { result_contains_text: Some("'name': 'apple'".into()), ..a() }, &r).is_ok());
    }
}
