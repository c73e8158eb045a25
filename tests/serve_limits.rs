//! Serving limits (`profiles.<p>.limits`, an mxcp extension): a rate per caller, a cap on the
//! calls running at once with a bounded queue, a result size cap, and a per-address request
//! rate before authentication. Loopback only, a few seconds in all.

mod common;

use std::time::{Duration, Instant};

use common::{HttpServer, http_post, refs, session};
use serde_json::{Value as Json, json};

const SLOW_TOOL: &str = "mxcp: 1\ntool:\n  name: slow\n  language: python\n  parameters:\n    - {name: seconds, type: number}\n  return: {type: string}\n  source: {file: ../python/slow.py}\n";
const SLOW_PY: &str = "import time\n\n\ndef slow(seconds: float) -> str:\n    time.sleep(seconds)\n    return 'done'\n";
const FAST_TOOL: &str =
    "mxcp: 1\ntool:\n  name: fast\n  return: {type: string}\n  source: {code: \"SELECT repeat('x', 500) AS r\"}\n";

fn serve(limits: &str) -> (HttpServer, tempfile::TempDir) {
    let dir =
        common::project(&[("tools/slow.yml", SLOW_TOOL), ("python/slow.py", SLOW_PY), ("tools/fast.yml", FAST_TOOL)]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        &format!("mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    limits:\n{limits}"),
    );
    (HttpServer::start(dir.path(), &[]), dir)
}

/// A tools/call's JSON-RPC reply (each call its own id: concurrent calls share the session).
fn call(url: &str, headers: &[(&'static str, String)], tool: &str, args: Json) -> Json {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}});
    let (status, head, reply) = http_post(url, &body.to_string(), &refs(headers));
    assert_eq!(status, 200, "{head}{reply}");
    reply
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Json>(d).ok())
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no reply in {reply}"))
}

#[test]
fn a_burst_over_the_rate_is_refused_then_served_after_the_hint() {
    let (server, _dir) = serve("      calls_per_minute: 60\n      burst: 3\n");
    let s = session(&server.url);
    for i in 0..3 {
        assert!(call(&server.url, &s, "fast", json!({}))["result"].is_object(), "call {i} is within the burst");
    }
    let refused = call(&server.url, &s, "fast", json!({}));
    assert_eq!(refused["error"]["code"], -32001, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().starts_with("rate limit exceeded"), "{refused}");
    let wait = refused["error"]["data"]["retry_after_seconds"].as_f64().expect("a retry hint");
    assert!(wait > 0.0 && wait <= 1.0, "one call per second: {wait}");
    std::thread::sleep(Duration::from_secs_f64(wait + 0.05));
    assert!(call(&server.url, &s, "fast", json!({}))["result"].is_object(), "served after the hint");
}

#[test]
fn calls_over_the_concurrency_cap_wait_in_the_queue_then_time_out() {
    let (server, _dir) = serve("      max_concurrent_calls: 1\n      queue: 1\n      queue_timeout_seconds: 1\n");
    let s = session(&server.url);
    let url = server.url.clone();
    let (s1, url1) = (s.clone(), url.clone());
    let running = std::thread::spawn(move || call(&url1, &s1, "slow", json!({"seconds": 2.5})));
    std::thread::sleep(Duration::from_millis(400));
    let (s2, url2) = (s.clone(), url.clone());
    let start = Instant::now();
    let queued = std::thread::spawn(move || (call(&url2, &s2, "fast", json!({})), start.elapsed()));
    std::thread::sleep(Duration::from_millis(200));
    // the queue holds one: a third call is refused at once
    let full = call(&url, &s, "fast", json!({}));
    assert_eq!(full["error"]["code"], -32002, "{full}");
    let (timed_out, waited) = queued.join().unwrap();
    assert_eq!(timed_out["error"]["code"], -32002, "{timed_out}");
    assert!(waited >= Duration::from_millis(900), "it waited for the queue timeout: {waited:?}");
    assert_eq!(running.join().unwrap()["result"]["content"][0]["text"], "done");
    assert!(call(&url, &s, "fast", json!({}))["result"].is_object(), "a free slot again");
}

#[test]
fn a_queued_call_runs_when_a_slot_frees_in_time() {
    let (server, _dir) = serve("      max_concurrent: {slow: 1}\n      queue_timeout_seconds: 10\n");
    let s = session(&server.url);
    let (s1, url1) = (s.clone(), server.url.clone());
    let first = std::thread::spawn(move || call(&url1, &s1, "slow", json!({"seconds": 1})));
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let second = call(&server.url, &s, "slow", json!({"seconds": 0}));
    assert_eq!(second["result"]["content"][0]["text"], "done", "{second}");
    assert!(start.elapsed() >= Duration::from_millis(500), "it waited for the first");
    // other tools are not capped
    assert!(call(&server.url, &s, "fast", json!({}))["result"].is_object());
    first.join().unwrap();
}

#[test]
fn results_over_the_size_cap_are_errors() {
    let (server, _dir) = serve("      max_result_bytes: 100\n");
    let s = session(&server.url);
    let reply = call(&server.url, &s, "fast", json!({}));
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("over this server's limit of 100 bytes"), "{text}");
}

/// The query stops at the first chunk over the cap: a result DuckDB would hold as more than a
/// gigabyte (and several as JSON) is refused without the server's memory growing to it; results
/// within the cap come through the streamed path unchanged.
#[test]
fn queries_stop_at_the_result_cap_while_they_are_fetched() {
    let dir = common::project(&[
        (
            "tools/huge.yml",
            "mxcp: 1\ntool:\n  name: huge\n  return: {type: array, items: {type: object}}\n  source: {code: \"SELECT range AS n, repeat('x', 100) AS pad FROM range(10000000)\"}\n",
        ),
        (
            "tools/many.yml",
            "mxcp: 1\ntool:\n  name: many\n  return: {type: array, items: {type: object}}\n  source: {code: \"SELECT range AS n FROM range(10000000)\"}\n",
        ),
        (
            "tools/typed.yml",
            "mxcp: 1\ntool:\n  name: typed\n  parameters:\n    - {name: day, type: string, format: date}\n  return: {type: object}\n  source: {code: \"SELECT $day::DATE + 1 AS next, '{\\\"a\\\": 1}'::JSON AS j, 12.50::DECIMAL(5,2) AS d, uuid '00000000-0000-0000-0000-000000000001' AS u\"}\n",
        ),
    ]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    limits:\n      max_result_bytes: 1000000\n      max_result_rows: 50000\n",
    );
    let server = HttpServer::start(dir.path(), &[]);
    let s = session(&server.url);
    for (tool, expected) in [
        ("huge", "over this server's limit of 1000000 bytes (limits.max_result_bytes)"),
        ("many", "more than 50000 rows, this server's limit (limits.max_result_rows)"),
    ] {
        let start = Instant::now();
        let reply = call(&server.url, &s, tool, json!({}));
        assert_eq!(reply["result"]["isError"], true, "{reply}");
        let text = reply["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(expected), "{tool}: {text}");
        assert!(start.elapsed() < Duration::from_secs(20), "{tool} took {:?}", start.elapsed());
    }
    // materialized, the first result alone is over 1 GB in DuckDB
    let peak = server.peak_rss();
    assert!(peak > 0 && peak < 600 << 20, "peak RSS {} MB", peak >> 20);
    let reply = call(&server.url, &s, "typed", json!({"day": "2026-12-01"}));
    // exactly what the materialized path (no limits) gives, as `mxcp run` shows it
    let expected = r#"{"next":"2026-12-02","j":"{\"a\": 1}","d":12.50,"u":"00000000-0000-0000-0000-000000000001"}"#;
    assert_eq!(reply["result"]["structuredContent"].to_string(), expected, "{reply}");
}

/// Behind a proxy (`transport.http.trust_proxy: true`) the address limited is the client's, as
/// the proxy appends it to `X-Forwarded-For`, not the proxy's own; a forged earlier entry does
/// not count. Without it every client behind the proxy would share one address's rate.
#[test]
fn behind_a_trusted_proxy_the_forwarded_address_is_limited() {
    let dir = common::project(&[("tools/fast.yml", FAST_TOOL)]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    limits:\n      requests_per_second_per_address: 2\n",
    );
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let statuses = |server: &HttpServer| -> Vec<(&'static str, u16)> {
        ["10.0.0.1", "10.0.0.2", "forged, 10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"]
            .into_iter()
            .map(|from| (from, http_post(&server.url, init, &[("x-forwarded-for", from)]).0))
            .collect()
    };
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "mxcp: 1\ntransport:\n  http:\n    trust_proxy: true\n").unwrap();
    let trusting = HttpServer::start_with_env(dir.path(), &[], &[("MXCP_CONFIG", config.to_str().unwrap())]);
    let seen = statuses(&trusting);
    // two per address pass; the third of each (the forged entry counts as 10.0.0.1) is refused
    let ok: Vec<_> = seen.iter().filter(|(_, s)| *s == 200).map(|(f, _)| *f).collect();
    assert_eq!(ok, ["10.0.0.1", "10.0.0.2", "forged, 10.0.0.1", "10.0.0.2"], "{seen:?}");
    drop(trusting);
    // not trusted: the header is ignored, all six come from one address
    let plain = HttpServer::start(dir.path(), &[]);
    let seen = statuses(&plain);
    assert_eq!(seen.iter().filter(|(_, s)| *s == 200).count(), 2, "{seen:?}");
}

#[test]
fn one_address_over_its_request_rate_gets_429() {
    let (server, _dir) = serve("      requests_per_second_per_address: 2\n");
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let statuses: Vec<(u16, String)> = (0..6)
        .map(|_| {
            let (status, head, _) = http_post(&server.url, init, &[]);
            (status, head)
        })
        .collect();
    assert!(statuses.iter().take(2).all(|(s, _)| *s == 200), "{statuses:?}");
    let limited: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!limited.is_empty(), "{statuses:?}");
    assert!(limited[0].1.to_ascii_lowercase().contains("retry-after: 1"), "{}", limited[0].1);
    // probes are not limited
    let origin = server.url.trim_end_matches("/mcp");
    assert_eq!(common::http_get(&format!("{origin}/healthz"), &[]).0, 200);
}

#[test]
fn limit_mistakes_are_positioned() {
    let dir = common::project(&[("tools/fast.yml", FAST_TOOL)]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    limits:\n      max_concurrent_calls: 0\n      calls_per_minit: 5\n",
    );
    let (code, out, _) = common::run(common::mxcp(dir.path()).args(["validate", "--json-output"]));
    assert_eq!(code, 1, "{out}");
    let v: Json = serde_json::from_str(&out).unwrap();
    let lines: Vec<String> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}:{} {} | {}",
                d["line"],
                d["column"],
                d["yaml_path"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "8:7 profiles.default.limits.calls_per_minit | unknown key 'calls_per_minit'",
            "7:29 profiles.default.limits.max_concurrent_calls | 'max_concurrent_calls' must be between 1 and 4294967295",
        ]
    );
}

#[test]
fn the_rate_holds_over_stdio_too() {
    use std::io::{BufRead, BufReader, Write};
    let dir = common::project(&[("tools/fast.yml", FAST_TOOL)]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    limits:\n      calls_per_minute: 6\n      burst: 2\n",
    );
    let mut child = common::mxcp(dir.path())
        .args(["serve", "--transport", "stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = |line: String| writeln!(input, "{line}").unwrap();
    send(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#.into());
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into());
    for id in 1..=3 {
        send(
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "fast", "arguments": {}}})
                .to_string(),
        );
    }
    let mut replies = Vec::new();
    while replies.len() < 4 {
        let v: Json = serde_json::from_str(&output.next().expect("a reply").unwrap()).unwrap();
        if v.get("id").is_some() {
            replies.push(v);
        }
    }
    // a refused call answers at once, so replies may come in any order
    let by_id = |id: i64| replies.iter().find(|r| r["id"] == id).expect("a reply per call");
    assert!(by_id(1)["result"].is_object() && by_id(2)["result"].is_object(), "within the burst: {replies:?}");
    assert_eq!(by_id(3)["error"]["code"], -32001, "the third call is over the burst: {replies:?}");
    drop(send);
    drop(input); // stdin closes: the server ends
    let _ = child.wait();
}
