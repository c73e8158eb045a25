//! In-process cost of one small call (a measurement, not a test): the floor under a
//! `tools/call`. `'Hello, ' || $name` is written both untyped (DuckDB re-plans it at every
//! execution) and typed as mxcp runs it; then the same tool through the executor, and a
//! trivial Python tool.

// a benchmark reports its figures on stdout
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::time::Instant;

use mxcp_runtime::db::{Database, DbOptions};
use mxcp_runtime::exec::executor::{CallOptions, Runtime};
use mxcp_runtime::load::endpoint::EndpointKind;
use mxcp_runtime::load::project::{LoadOptions, Project};
use serde_json::{Map, json};

/// Microseconds per call of `f`, after `warm` unmeasured calls.
fn per_call(warm: usize, n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warm {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn args() -> Map<String, serde_json::Value> {
    serde_json::from_value(json!({"name": "World"})).unwrap()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sql_tool = "mxcp: 1\ntool:\n  name: hello\n  parameters:\n    - {name: name, type: string}\n  return: {type: string}\n  source:\n    code: SELECT 'Hello, ' || $name || '!' AS greeting\n";
    let rt = runtime(&dir.path().join("sql"), &[("tools/hello.yml", sql_tool)]);
    let us = per_call(200, 2000, || {
        rt.call(EndpointKind::Tool, "hello", &args(), &CallOptions::default()).unwrap();
    });
    println!("Runtime::call of a one-row SQL tool: {us:.1} us/call");

    let py_tool = "mxcp: 1\ntool:\n  name: py_hello\n  language: python\n  parameters:\n    - {name: name, type: string}\n  return: {type: string}\n  source:\n    file: ../python/hello.py\n";
    let rt = runtime(
        &dir.path().join("py"),
        &[
            ("tools/py_hello.yml", py_tool),
            ("python/hello.py", "def py_hello(name: str) -> str:\n    return f'Hello, {name}!'\n"),
        ],
    );
    let t = Instant::now();
    assert_eq!(
        rt.call(EndpointKind::Tool, "py_hello", &args(), &CallOptions::default()).unwrap(),
        json!("Hello, World!")
    );
    println!("first Python call (interpreter start, project import): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let us = per_call(500, 5000, || {
        rt.call(EndpointKind::Tool, "py_hello", &args(), &CallOptions::default()).unwrap();
    });
    println!("Runtime::call of a trivial Python tool: {us:.1} us/call");

    let db = Database::open(&DbOptions { path: dir.path().join("b.duckdb"), pool_size: 1, ..Default::default() })
        .expect("open");
    let untyped = "SELECT 'Hello, ' || $name || '!' AS greeting";
    let typed = "SELECT 'Hello, ' || ($name::VARCHAR) || '!' AS greeting";
    for sql in [untyped, typed] {
        let us = per_call(200, 2000, || {
            db.query_json(sql, &args(), &|_| None).unwrap();
        });
        println!("{sql}: {us:.1} us/call");
    }
    // DuckDB's own thread pool: what scheduling a one-row query on it costs
    db.execute_batch("SET threads = 1").unwrap();
    let us = per_call(200, 2000, || {
        db.query_json(typed, &args(), &|_| None).unwrap();
    });
    println!("{typed} with threads = 1: {us:.1} us/call");
}

/// A project of `files` at `root`, loaded with an empty user configuration.
fn runtime(root: &Path, files: &[(&str, &str)]) -> Runtime {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("mxcp-site.yml"), "mxcp: 1\nproject: b\nprofile: default\n").unwrap();
    for (rel, text) in files {
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        std::fs::write(root.join(rel), text).unwrap();
    }
    std::fs::write(root.join("empty.yml"), "").unwrap();
    let opts = LoadOptions { config_path: Some(root.join("empty.yml")), ..Default::default() };
    Runtime::new(Project::load(root, &opts).expect("project"), 1)
}
