//! Projects written for the reference must load, check, run and serve as they do there:
//! regressions for what real projects hit (checks stricter than the engine, Jinja2 templates
//! with Python methods, object parameters with absent properties, the caller's identity in
//! SQL, value and envelope shapes). Expected values were recorded with the reference (0.12.3)
//! on `tests/fixtures/reference-compat`, except where a comment names a deliberate fix.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::{mxcp, run};
use serde_json::{Value as Json, json};

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_root().join("tests/fixtures/reference-compat"), dir.path());
    dir
}

/// `mxcp run KIND NAME ... --json-output`: the result, or the error message.
fn call(dir: &std::path::Path, kind: &str, name: &str, args: &[&str]) -> Result<Json, String> {
    let (code, stdout, stderr) = run(mxcp(dir).args(["run", kind, name, "--json-output"]).args(args));
    let v: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    match code {
        0 => Ok(v["result"].clone()),
        _ => Err(v["error"].as_str().unwrap_or_default().to_string()),
    }
}

#[test]
fn checks_the_reference_does_not_make_are_warnings() {
    let dir = fixture();
    let (code, stdout, _) = run(mxcp(dir.path()).args(["validate", "--json-output"]));
    let v: Json = serde_json::from_str(&stdout).unwrap();
    let lines = common::diagnostic_lines(&v);
    assert_eq!(code, 0, "the reference validates every file of this project: {lines:#?}");
    assert!(lines.iter().all(|l| l.starts_with("warning ")), "{lines:#?}");
    // the string parameter compared with an INTEGER column is mentioned, as a warning
    assert!(lines.iter().any(|l| l.contains("tools/item_by_id.yml") && l.contains("parameter 'id'")), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("tools/lenient.yml") && l.contains("greater than 'maximum'")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("duplicate test name 'same'")), "{lines:#?}");
    // --strict turns them into errors
    let (strict, _, _) = run(mxcp(dir.path()).args(["validate", "--strict"]));
    assert_eq!(strict, 1);
    // and the DuckDB cast works at run time, as in the reference
    assert_eq!(call(dir.path(), "tool", "item_by_id", &["--param", "id=2"]), Ok(json!([{"id": 2, "name": "pear"}])));
}

#[test]
fn serve_starts_on_a_project_with_warnings_only() {
    let dir = fixture();
    let replies = stdio_exchange(dir.path(), &[json!({"method": "tools/list"})]);
    let names: Vec<&str> =
        replies[0]["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"item_by_id") && names.contains(&"lenient"), "{names:?}");
}

#[test]
fn prompts_render_with_jinja_globals_and_python_methods() {
    let dir = fixture();
    let r = call(
        dir.path(),
        "prompt",
        "jinja",
        &["--param", "n=3", "--param", "csv=a,b", "--param", r#"opts={"k":1}"#, "--param", "flag=true"],
    )
    .unwrap();
    assert_eq!(
        r,
        json!([{"prompt": "123|['a', 'b']|A,B|Ab Cd|x|a;b|True|k=1|dflt|1|3|{'a': 1}|True|{'k': 1}", "role": "user", "type": null}])
    );
}

#[test]
fn object_parameters_bind_every_declared_property() {
    let dir = fixture();
    let ids = |filter: &str| call(dir.path(), "tool", "priced", &["--param", &format!("filter={filter}")]);
    assert_eq!(ids(r#"{"min_price": null, "category": "veg"}"#), Ok(json!([{"id": 2}, {"id": 3}])));
    assert_eq!(ids(r#"{"min_price": 3, "category": null}"#), Ok(json!([{"id": 2}, {"id": 3}])));
    assert_eq!(ids("{}"), Ok(json!([{"id": 1}, {"id": 2}, {"id": 3}])));
    // Deliberate fix: an absent property is NULL, as the reference gives it over MCP (its CLI
    // fails in DuckDB's binder: Could not find key "min_price" in struct).
    assert_eq!(ids(r#"{"category": "veg"}"#), Ok(json!([{"id": 2}, {"id": 3}])));
}

#[test]
fn sql_sees_the_caller() {
    let dir = fixture();
    let anonymous =
        json!({"username": null, "email": null, "provider": null, "token": null, "trace": null, "headers": null});
    assert_eq!(call(dir.path(), "tool", "whoami", &[]), Ok(anonymous));
    let r = call(
        dir.path(),
        "tool",
        "whoami",
        &["--user-context", r#"{"username":"ann","email":"a@x.org"}"#, "--request-headers", r#"{"x-trace":"t1"}"#],
    );
    assert_eq!(
        r,
        Ok(
            json!({"username": "ann", "email": "a@x.org", "provider": "cli", "token": null, "trace": "t1", "headers": "{\"x-trace\": \"t1\"}"})
        )
    );
}

#[test]
fn values_have_the_reference_shapes() {
    let dir = fixture();
    // Deliberate fix: without a return type the reference prints pandas' str() ("0 days
    // 01:30:00"); mxcp renders like a typed result, the reference's isoformat().
    assert_eq!(
        call(dir.path(), "tool", "shapes", &[]),
        Ok(json!([{"span": "P0DT1H30M0S", "long_span": "P33DT4H0M0S", "doc": "{\"k\": [1, 2]}"}]))
    );
    assert_eq!(call(dir.path(), "tool", "doc_text", &[]), Ok(json!("{\"k\": [1, 2]}")));
    // Deliberate fix: the reference fails output validation here (Expected object, got str)
    assert_eq!(call(dir.path(), "tool", "doc_object", &[]), Ok(json!({"doc": {"k": [1, 2]}, "label": "x"})));
    assert_eq!(call(dir.path(), "tool", "nope", &[]), Err("Endpoint 'nope' not found in tools".into()));
    assert_eq!(call(dir.path(), "prompt", "nope", &[]), Err("Endpoint 'nope' not found in prompts".into()));
}

#[test]
fn structured_content_has_every_declared_property() {
    let dir = fixture();
    let replies =
        stdio_exchange(dir.path(), &[json!({"method": "tools/call", "params": {"name": "filtered", "arguments": {}}})]);
    let result = &replies[0]["result"];
    assert_eq!(
        result["structuredContent"],
        json!({"id": 1, "secret": null, "nested": {"x": 1, "y": null}, "extra": 5})
    );
    assert_eq!(
        result["content"][0]["text"],
        json!("{\n  \"id\": 1,\n  \"nested\": {\n    \"x\": 1\n  },\n  \"extra\": 5\n}")
    );
}

#[test]
fn test_records_carry_the_error_cause() {
    let dir = fixture();
    let (code, stdout, _) = run(mxcp(dir.path()).args(["test", "tool", "divide", "--json-output"]));
    assert_eq!(code, 1);
    let v: Json = serde_json::from_str(&stdout).unwrap();
    let mut tests = v["result"]["tests"].as_array().cloned().unwrap_or_else(|| panic!("{v}"));
    // DuckDB's own message (its quote of the expression differs between versions)
    let sql_error = tests.pop().unwrap();
    assert_eq!(sql_error["status"], "error");
    let error = sql_error["error"].as_str().unwrap();
    assert!(error.starts_with("Failed to execute SQL: Invalid Input Error: Division by zero"), "{error}");
    assert_eq!(sql_error["error_cause"].as_str(), error.strip_prefix("Failed to execute SQL: "));
    for t in &mut tests {
        t.as_object_mut().unwrap().remove("time");
    }
    assert_eq!(
        Json::Array(tests),
        json!([
            {"name": "passes", "description": "", "status": "passed"},
            {"name": "fails", "description": "", "status": "failed", "error": "Result does not match expected output.\nExpected: 6\nGot: 5"},
            {"name": "denied", "description": "", "status": "error", "error": "Policy enforcement failed: seven is not allowed", "error_cause": "seven is not allowed"},
        ])
    );
}

#[test]
fn serve_refusing_to_start_reports_as_the_reference() {
    let dir = fixture();
    common::write(dir.path(), "tools/broken.yml", "mxcp: 1\ntool:\n  name: broken\n  source:\n    code: \"SELEC 1\"\n");
    let (code, stdout, _) =
        run(mxcp(dir.path()).args(["serve", "--transport", "stdio", "--json-output"]).stdin(Stdio::null()));
    assert_eq!(code, 1);
    let v: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["status"], "error");
    assert_eq!(v["message"], "Found 1 endpoint(s) with errors");
    let failed = v["failed_endpoints"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["path"].as_str().unwrap().ends_with("tools/broken.yml"));
    assert!(failed[0]["error"].as_str().unwrap().contains("syntax error at or near \"SELEC\""), "{v}");
}

/// `mxcp serve` over stdio: initialize, then each request; the replies in order.
fn stdio_exchange(dir: &std::path::Path, requests: &[Json]) -> Vec<Json> {
    let mut child = mxcp(dir)
        .args(["serve", "--transport", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    writeln!(stdin, "{init}").unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#).unwrap();
    for (i, r) in requests.iter().enumerate() {
        let mut msg = r.clone();
        msg["jsonrpc"] = json!("2.0");
        msg["id"] = json!(i + 1);
        writeln!(stdin, "{msg}").unwrap();
    }
    let mut replies = vec![Json::Null; requests.len()];
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut pending = requests.len();
    while pending > 0 {
        let line = lines.next().expect("a reply").unwrap();
        let v: Json = serde_json::from_str(&line).unwrap();
        if let Some(i) = v["id"].as_u64().filter(|i| *i > 0) {
            replies[i as usize - 1] = v;
            pending -= 1;
        }
    }
    drop(stdin);
    let _ = child.wait();
    replies
}
