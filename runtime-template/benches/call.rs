//! In-process cost of one small SQL query (a measurement, not a test): the floor under a
//! `tools/call` of a one-row SQL tool. `'Hello, ' || $name` is written both untyped (DuckDB
//! re-plans it at every execution) and typed as mxcp runs it.

use std::time::Instant;

use mxcp_runtime::db::{Database, DbOptions};
use serde_json::{Map, json};

fn main() {
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
}
