//! Per-call cost of a one-row SQL query in process (run by hand: a measurement, not a test).

use std::time::Instant;

use mxcp_runtime::db::{Database, DbOptions};
use serde_json::{Map, json};

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(&DbOptions { path: dir.path().join("b.duckdb"), pool_size: 1, ..Default::default() })
        .expect("open");
    let args: Map<String, serde_json::Value> = serde_json::from_value(json!({"name": "World"})).unwrap();
    let sql = "SELECT 'Hello, ' || $name || '!' AS greeting";
    eprintln!("describe: {:?}", db.describe(sql));
    for _ in 0..200 {
        db.query_json(sql, &args, &|_| None).unwrap();
    }
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        db.query_json(sql, &args, &|_| None).unwrap();
    }
    println!("query_json: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n {
        db.query(sql, &args, &|_| None).unwrap();
    }
    println!("query: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let mut stmt = conn.prepare_cached(sql).unwrap();
        let _: String = stmt.query_row(duckdb::params!["World"], |r| r.get(0)).unwrap();
    }
    println!("raw duckdb-rs row API: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    conn.execute_batch("SET threads=1").unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let mut stmt = conn.prepare_cached(sql).unwrap();
        let _: String = stmt.query_row(duckdb::params!["World"], |r| r.get(0)).unwrap();
    }
    println!("raw, threads=1: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    for q in ["SELECT 'Hello, ' || $1::VARCHAR || '!' AS greeting", "SELECT 42 AS x", "SELECT $1::VARCHAR AS x"] {
        let t = Instant::now();
        for _ in 0..n {
            let mut stmt = conn.prepare_cached(q).unwrap();
            if q.contains("$1") {
                let _: String = stmt.query_row(duckdb::params!["World"], |r| r.get(0)).unwrap();
            } else {
                let _: i64 = stmt.query_row([], |r| r.get(0)).unwrap();
            }
        }
        println!("{q}: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
}
