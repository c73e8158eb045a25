//! In-process cost of one small SQL query (a measurement, not a test): the floor under a
//! `tools/call` of a one-row SQL tool. `'Hello, ' || $name` is written both untyped (DuckDB
//! re-plans it at every execution) and typed as mxcp runs it.

use std::time::Instant;

use mxcp_runtime::db::{Database, DbOptions};
use serde_json::{Map, json};

fn main() {
    through_runtime();
    python_tool();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(&DbOptions { path: dir.path().join("b.duckdb"), pool_size: 1, ..Default::default() })
        .expect("open");
    let args: Map<String, serde_json::Value> = serde_json::from_value(json!({"name": "World"})).unwrap();
    for sql in
        ["SELECT 'Hello, ' || $name || '!' AS greeting", "SELECT 'Hello, ' || ($name::VARCHAR) || '!' AS greeting"]
    {
        for _ in 0..200 {
            db.query_json(sql, &args, &|_| None).unwrap();
        }
        let n = 2000;
        let t = Instant::now();
        for _ in 0..n {
            db.query_json(sql, &args, &|_| None).unwrap();
        }
        println!("{sql}: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    // DuckDB's own thread pool: what scheduling a one-row query on it costs
    db.execute_batch("SET threads = 1").unwrap();
    let sql = "SELECT 'Hello, ' || ($name::VARCHAR) || '!' AS greeting";
    for _ in 0..200 {
        db.query_json(sql, &args, &|_| None).unwrap();
    }
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        db.query_json(sql, &args, &|_| None).unwrap();
    }
    println!("{sql} with threads = 1: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}

/// The same call through the whole executor (lookup, conversion, shaping, validation).
fn through_runtime() {
    use mxcp_runtime::endpoint::EndpointKind;
    use mxcp_runtime::exec::{CallOptions, Runtime};
    use mxcp_runtime::project::{LoadOptions, Project};
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("tools")).unwrap();
    std::fs::write(root.join("mxcp-site.yml"), "mxcp: 1\nproject: b\nprofile: default\n").unwrap();
    std::fs::write(
        root.join("tools/hello.yml"),
        "mxcp: 1\ntool:\n  name: hello\n  parameters:\n    - {name: name, type: string}\n  return: {type: string}\n  source:\n    code: SELECT 'Hello, ' || $name || '!' AS greeting\n",
    )
    .unwrap();
    std::fs::write(root.join("empty.yml"), "").unwrap();
    let opts = LoadOptions { config_path: Some(root.join("empty.yml")), ..Default::default() };
    let rt = Runtime::new(Project::load(root, &opts).expect("project"), 1);
    let args: Map<String, serde_json::Value> = serde_json::from_value(json!({"name": "World"})).unwrap();
    let call = CallOptions::default();
    for _ in 0..200 {
        rt.call(EndpointKind::Tool, "hello", &args, &call).unwrap();
    }
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        rt.call(EndpointKind::Tool, "hello", &args, &call).unwrap();
    }
    println!("Runtime::call of a one-row SQL tool: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}

/// A trivial Python tool through the executor: argument conversion, the embedded interpreter
/// (GIL, call, result conversion) and shaping (the in-process path of `mxcp run`).
fn python_tool() {
    use mxcp_runtime::endpoint::EndpointKind;
    use mxcp_runtime::exec::{CallOptions, Runtime};
    use mxcp_runtime::project::{LoadOptions, Project};
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("tools")).unwrap();
    std::fs::create_dir_all(root.join("python")).unwrap();
    std::fs::write(root.join("mxcp-site.yml"), "mxcp: 1\nproject: b\nprofile: default\n").unwrap();
    std::fs::write(root.join("python/hello.py"), "def py_hello(name: str) -> str:\n    return f'Hello, {name}!'\n")
        .unwrap();
    std::fs::write(
        root.join("tools/py_hello.yml"),
        "mxcp: 1\ntool:\n  name: py_hello\n  language: python\n  parameters:\n    - {name: name, type: string}\n  return: {type: string}\n  source:\n    file: ../python/hello.py\n",
    )
    .unwrap();
    std::fs::write(root.join("empty.yml"), "").unwrap();
    let opts = LoadOptions { config_path: Some(root.join("empty.yml")), ..Default::default() };
    let rt = Runtime::new(Project::load(root, &opts).expect("project"), 1);
    let args: Map<String, serde_json::Value> = serde_json::from_value(json!({"name": "World"})).unwrap();
    let call = CallOptions::default();
    let t = Instant::now();
    assert_eq!(rt.call(EndpointKind::Tool, "py_hello", &args, &call).unwrap(), json!("Hello, World!"));
    println!("first Python call (interpreter start, project import): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    for _ in 0..500 {
        rt.call(EndpointKind::Tool, "py_hello", &args, &call).unwrap();
    }
    let n = 5000;
    let t = Instant::now();
    for _ in 0..n {
        rt.call(EndpointKind::Tool, "py_hello", &args, &call).unwrap();
    }
    println!("Runtime::call of a trivial Python tool: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
