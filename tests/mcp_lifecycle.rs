//! Server robustness: a call that times out is stopped and the server goes on serving (its
//! connection back in the pool); calls run concurrently; SIGTERM lets in-flight HTTP calls
//! finish before the server exits.

mod common;

use std::time::{Duration, Instant};

use common::{HttpServer, http_post};
use serde_json::Value as Json;

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn project() -> tempfile::TempDir {
    common::project(&[
        (
            "tools/slow.yml",
            "mxcp: 1\ntool:\n  name: slow\n  parameters:\n    - {name: n, type: integer}\n  return: {type: integer}\n  source:\n    code: SELECT count(*) AS c FROM range($n) a, range(1000) b WHERE a.range % 7 = b.range % 11\n",
        ),
        (
            "tools/quick.yml",
            "mxcp: 1\ntool:\n  name: quick\n  return: {type: integer}\n  source:\n    code: SELECT 42 AS x\n",
        ),
    ])
}

fn session(url: &str) -> String {
    let (_, head, _) = http_post(url, INIT, &[]);
    let sid = head
        .lines()
        .find_map(|l| l.to_lowercase().strip_prefix("mcp-session-id: ").map(|s| s.trim().to_string()))
        .unwrap();
    http_post(url, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &[("Mcp-Session-Id", &sid)]);
    sid
}

fn call(url: &str, sid: &str, tool: &str, args: &str) -> Json {
    // request ids are unique within a session, also across threads
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{args}}}}}"#
    );
    let (status, _, text) = http_post(url, &body, &[("Mcp-Session-Id", sid)]);
    assert_eq!(status, 200, "{text}");
    let data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .find(|d| !d.trim().is_empty())
        .unwrap_or_else(|| panic!("no reply in {text:?}"));
    serde_json::from_str(data).unwrap()
}

#[test]
fn a_timed_out_call_is_stopped_and_the_server_keeps_serving() {
    let dir = project();
    // one pooled connection per core at least: a leaked connection would block later calls
    let server = HttpServer::start(dir.path(), &["--call-timeout", "1"]);
    let sid = session(&server.url);
    let start = Instant::now();
    let r = call(&server.url, &sid, "slow", r#"{"n": 100000000000}"#);
    assert!(start.elapsed() < Duration::from_secs(10), "the timeout fired");
    assert_eq!(r["result"]["isError"], true);
    assert!(r["result"]["content"][0]["text"].as_str().unwrap().contains("timed out after 1 s"), "{r}");
    for _ in 0..20 {
        let r = call(&server.url, &sid, "quick", "{}");
        assert_eq!(r["result"]["structuredContent"]["result"], 42, "{r}");
    }
}

#[test]
fn a_slow_call_does_not_hold_up_others() {
    let dir = project();
    let server = HttpServer::start(dir.path(), &[]);
    let url = server.url.clone();
    let sid = session(&url);
    let slow = {
        let (url, sid) = (url.clone(), sid.clone());
        std::thread::spawn(move || {
            let r = call(&url, &sid, "slow", r#"{"n": 5000000}"#);
            (Instant::now(), r)
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let quick = call(&url, &sid, "quick", "{}");
    let quick_done = Instant::now();
    assert_eq!(quick["result"]["structuredContent"]["result"], 42);
    let (slow_done, slow) = slow.join().unwrap();
    assert!(slow["result"]["structuredContent"]["result"].as_i64().unwrap() > 0, "{slow}");
    assert!(quick_done < slow_done, "the quick call was answered while the slow one ran");
}

#[test]
fn sigterm_finishes_in_flight_calls() {
    let dir = project();
    let mut server = HttpServer::start(dir.path(), &[]);
    let url = server.url.clone();
    let sid = session(&url);
    let in_flight = {
        let (url, sid) = (url.clone(), sid.clone());
        std::thread::spawn(move || call(&url, &sid, "slow", r#"{"n": 3000000}"#))
    };
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    let r = in_flight.join().unwrap();
    assert!(r["result"]["structuredContent"]["result"].as_i64().unwrap() > 0, "the call in flight completed: {r}");
    assert!(server.wait_exit(Duration::from_secs(10)), "the server exits after the call");
}
