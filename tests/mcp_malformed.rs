//! Malformed JSON-RPC (invalid JSON, wrong types, unknown methods, huge messages) gets proper
//! JSON-RPC errors over stdio and HTTP, and the server keeps serving. HTTP is safe by default:
//! loopback only, foreign Origins and Hosts refused.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::{HttpServer, http_post};
use serde_json::{Value as Json, json};

fn inventory() -> tempfile::TempDir {
    common::example("inventory")
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// (message, expected error code or None for a successful reply, id to look the reply up by)
fn corpus() -> Vec<(String, Option<i64>, Json)> {
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":"huge","method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(17 * 1024 * 1024)
    );
    vec![
        ("{not json".into(), Some(-32700), Json::Null),
        (r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}"#.into(), Some(-32602), json!(1)),
        (r#"{"jsonrpc":"2.0","id":2,"method":"no/such/method"}"#.into(), Some(-32601), json!(2)),
        (r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":"not an object"}"#.into(), Some(-32602), json!(3)),
        (r#"{"jsonrpc":"1.0","id":4,"method":"ping"}"#.into(), Some(-32600), json!(4)),
        (r#"{"jsonrpc":"2.0","id":5,"method":7}"#.into(), Some(-32600), json!(5)),
        (r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"get_item","arguments":{"item_id":"x"}}}"#.into(), None, json!(6)),
        (r#"{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"inventory://nothing"}}"#.into(), Some(-32002), json!(7)),
        (huge, Some(-32600), Json::Null),
        (r#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#.into(), None, json!(8)),
    ]
}

#[test]
fn stdio_answers_every_malformed_message_and_keeps_serving() {
    let dir = inventory();
    let mut child = common::mxcp(dir.path())
        .args(["serve", "--transport", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || BufReader::new(stdout).lines().map(|l| l.unwrap()).collect::<Vec<_>>());
    writeln!(stdin, "{INIT}").unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#).unwrap();
    for (message, _, _) in corpus() {
        writeln!(stdin, "{message}").unwrap();
    }
    drop(stdin);
    let lines = reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    let replies: Vec<Json> =
        lines.iter().map(|l| serde_json::from_str(l).expect("stdout carries only JSON-RPC")).collect();
    let by_id: HashMap<String, &Json> =
        replies.iter().filter(|r| !r["id"].is_null()).map(|r| (r["id"].to_string(), r)).collect();
    let anonymous: Vec<i64> =
        replies.iter().filter(|r| r["id"].is_null()).map(|r| r["error"]["code"].as_i64().unwrap()).collect();
    assert_eq!(anonymous, vec![-32700, -32600], "parse error and oversized message: {replies:?}");
    for (message, code, id) in corpus().into_iter().filter(|c| !c.2.is_null()) {
        let reply =
            by_id.get(&id.to_string()).unwrap_or_else(|| panic!("no reply to {}", &message[..60.min(message.len())]));
        match code {
            Some(c) => assert_eq!(reply["error"]["code"], c, "{message}: {reply}"),
            None => assert!(reply.get("result").is_some(), "{message}: {reply}"),
        }
    }
    assert_eq!(by_id["6"]["result"]["isError"], true, "bad arguments are a tool error, not a protocol error");
}

fn session(url: &str) -> String {
    let (status, head, _) = http_post(url, INIT, &[]);
    assert_eq!(status, 200, "{head}");
    let sid = head
        .lines()
        .find_map(|l| l.to_lowercase().strip_prefix("mcp-session-id: ").map(|s| s.trim().to_string()))
        .expect("session id");
    let (status, _, _) =
        http_post(url, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &[("Mcp-Session-Id", &sid)]);
    assert!(status == 202 || status == 200, "{status}");
    sid
}

#[test]
fn http_answers_malformed_messages_and_keeps_serving() {
    let dir = inventory();
    let server = HttpServer::start(dir.path(), &[]);
    let sid = session(&server.url);
    for (message, code, id) in corpus() {
        let (status, head, body) = http_post(&server.url, &message, &[("Mcp-Session-Id", &sid)]);
        let reply: Json = match body.lines().filter_map(|l| l.strip_prefix("data: ")).find(|d| !d.trim().is_empty()) {
            Some(data) => serde_json::from_str(data).unwrap(),
            None => {
                serde_json::from_str(&body).unwrap_or_else(|_| panic!("{message:.60}: {status} {head} {body:.200}"))
            }
        };
        match code {
            Some(c) => {
                assert_eq!(reply["error"]["code"], c, "{message:.60}: {reply}");
                assert_eq!(reply["id"], id);
                if c == -32600 && id.is_null() {
                    assert_eq!(status, 413, "oversized body");
                }
            }
            None => assert!(reply.get("result").is_some(), "{message:.60}: {reply}"),
        }
    }
}

#[test]
fn http_refuses_foreign_origins_and_hosts() {
    let dir = inventory();
    let server = HttpServer::start(dir.path(), &[]);
    assert!(server.url.starts_with("http://127.0.0.1:"), "{}", server.url);
    let (status, _, _) = http_post(&server.url, INIT, &[("Origin", "http://evil.example")]);
    assert_eq!(status, 403);
    let (status, _, _) = http_post(&server.url, INIT, &[("Origin", "http://localhost:3000")]);
    assert_eq!(status, 200, "loopback origins are fine");
    let port = server.url.rsplit(':').next().unwrap().trim_end_matches("/mcp").to_string();
    let (status, _, _) = http_post(&server.url, INIT, &[("Host", &format!("evil.example:{port}"))]);
    assert_eq!(status, 403, "DNS-rebinding guard");
    drop(server);
    let dir = inventory();
    let server = HttpServer::start(dir.path(), &["--allowed-origin", "https://app.example.com:443"]);
    let (status, _, _) = http_post(&server.url, INIT, &[("Origin", "https://app.example.com")]);
    assert_eq!(status, 200, "configured origin");
}
