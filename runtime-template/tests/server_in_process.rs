//! The MCP server in process: one session of the real handler (and the stdio gate in front of
//! it) over `tokio::io::duplex`, driven with raw JSON-RPC lines. No binary is started and no
//! Python client is needed; the Python-SDK and conformance tests remain the real-client layer.

use std::path::Path;
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use mxcp_runtime::exec::executor::Runtime;
use mxcp_runtime::load::project::{LoadOptions, Project};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf};

const FILES: &[(&str, &str)] = &[
    ("mxcp-site.yml", "mxcp: 1\nproject: inproc\nprofile: default\n"),
    (
        "tools/echo.yml",
        "mxcp: 1\ntool:\n  name: echo\n  description: Greets\n  parameters:\n    - {name: name, type: string, description: Who}\n  return: {type: string}\n  source:\n    code: \"SELECT 'Hello, ' || $name\"\n",
    ),
    (
        "tools/fails.yml",
        "mxcp: 1\ntool:\n  name: fails\n  description: Always fails\n  return: {type: string}\n  source:\n    code: \"SELECT error('boom')\"\n",
    ),
    (
        "tools/countdown.yml",
        "mxcp: 1\ntool:\n  name: countdown\n  description: Counts down, logging and reporting progress\n  language: python\n  parameters:\n    - {name: start, type: integer, description: Steps}\n  return: {type: integer}\n  source:\n    file: ../python/tools.py\n",
    ),
    (
        "tools/slow.yml",
        "mxcp: 1\ntool:\n  name: slow\n  description: Takes a while\n  language: python\n  return: {type: string}\n  source:\n    file: ../python/tools.py\n",
    ),
    (
        "python/tools.py",
        "import asyncio\nfrom mxcp.runtime import mcp\n\n\nasync def countdown(start: int) -> int:\n    await mcp.info(f\"counting down from {start}\")\n    for i in range(start):\n        await mcp.progress(i + 1, start, f\"{start - i - 1} left\")\n    return start\n\n\nasync def slow() -> str:\n    await asyncio.sleep(1.5)\n    return \"done\"\n",
    ),
    (
        "resources/item.yml",
        "mxcp: 1\nresource:\n  uri: items://{id}\n  description: One item\n  mime_type: text/plain\n  parameters:\n    - {name: id, type: integer, description: Item id}\n  return: {type: string}\n  source:\n    code: \"SELECT 'item ' || $id\"\n",
    ),
    (
        "prompts/greet.yml",
        "mxcp: 1\nprompt:\n  name: greet\n  description: A greeting\n  parameters:\n    - {name: name, type: string, description: Who}\n  messages:\n    - prompt: \"Say hello to {{ name }}\"\n",
    ),
];

/// One fixture project and runtime for every test: the embedded Python is process-wide.
fn runtime() -> Arc<Runtime> {
    static ENV: Once = Once::new();
    static RUNTIME: OnceLock<(tempfile::TempDir, Arc<Runtime>)> = OnceLock::new();
    ENV.call_once(|| {
        // SAFETY: every test calls this before anything reads the environment, and `Once`
        // makes the others wait until it is done, so no thread reads while it is written.
        unsafe { std::env::set_var("MXCP_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("mxcp-cache")) };
    });
    RUNTIME
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            for (rel, text) in FILES {
                let path = dir.path().join(rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/empty-config.yml");
            let opts = LoadOptions { config_path: Some(config), ..Default::default() };
            let project = Project::load(dir.path(), &opts).expect("the fixture loads");
            assert_eq!(project.findings.errors(), 0, "{}", project.findings.render());
            let runtime = Arc::new(Runtime::new(project, 2));
            (dir, runtime)
        })
        .1
        .clone()
}

/// A client end of one in-process session.
struct Session {
    to_server: WriteHalf<DuplexStream>,
    from_server: Lines<BufReader<ReadHalf<DuplexStream>>>,
    /// Notifications received while waiting for responses.
    notifications: Vec<Json>,
}

impl Session {
    /// A session, not yet initialized.
    fn open() -> Session {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (server_in, server_out) = tokio::io::split(server);
        tokio::spawn(mxcp_runtime::serve::serve_session(runtime(), Duration::from_secs(30), server_in, server_out));
        let (from_server, to_server) = tokio::io::split(client);
        Session { to_server, from_server: BufReader::new(from_server).lines(), notifications: Vec::new() }
    }

    /// A session after the initialize handshake.
    async fn initialized() -> Session {
        let mut s = Session::open();
        let init = s.request(1, "initialize", init_params()).await;
        assert!(init.get("result").is_some(), "{init}");
        s.send_line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string()).await;
        s
    }

    async fn send_line(&mut self, line: &str) {
        self.to_server.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        self.to_server.flush().await.unwrap();
    }

    /// The next message from the server (at most 20 s away).
    async fn next(&mut self) -> Json {
        let line = tokio::time::timeout(Duration::from_secs(20), self.from_server.next_line())
            .await
            .expect("the server answers within 20 s")
            .unwrap()
            .expect("the session is open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Sends a request; its response, notifications before it kept in `notifications`.
    async fn request(&mut self, id: u64, method: &str, params: Json) -> Json {
        self.send_line(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()).await;
        self.response(id).await
    }

    async fn response(&mut self, id: u64) -> Json {
        loop {
            let m = self.next().await;
            if m.get("id") == Some(&json!(id)) {
                return m;
            }
            assert!(m.get("id").is_none() || m.get("method").is_some(), "a response to another request: {m}");
            self.notifications.push(m);
        }
    }

    async fn call(&mut self, id: u64, tool: &str, args: Json) -> Json {
        self.request(id, "tools/call", json!({"name": tool, "arguments": args})).await
    }
}

fn init_params() -> Json {
    json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "in-process", "version": "0"}})
}

fn text_of(result: &Json) -> String {
    result["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no text content: {result}")).to_string()
}

#[tokio::test]
async fn initialize_names_the_server_and_its_capabilities() {
    let mut s = Session::open();
    let r = s.request(1, "initialize", init_params()).await;
    let result = &r["result"];
    assert_eq!(result["serverInfo"]["name"], "mxcp", "{r}");
    assert_eq!(result["protocolVersion"], "2025-06-18", "{r}");
    for cap in ["tools", "resources", "prompts", "logging"] {
        assert!(result["capabilities"].get(cap).is_some(), "no {cap} capability: {r}");
    }
}

#[tokio::test]
async fn tools_list_offers_every_tool_with_its_input_schema() {
    let mut s = Session::initialized().await;
    let r = s.request(2, "tools/list", json!({})).await;
    let tools = r["result"]["tools"].as_array().unwrap_or_else(|| panic!("{r}"));
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["countdown", "echo", "fails", "slow"], "{r}");
    let echo = tools.iter().find(|t| t["name"] == "echo").unwrap();
    assert_eq!(echo["inputSchema"]["properties"]["name"]["type"], "string", "{echo}");
    assert_eq!(echo["description"], "Greets");
}

#[tokio::test]
async fn a_tool_call_returns_its_result_as_content() {
    let mut s = Session::initialized().await;
    let r = s.call(2, "echo", json!({"name": "World"})).await;
    assert_eq!(text_of(&r["result"]), "Hello, World", "{r}");
    assert_ne!(r["result"]["isError"], true, "{r}");
}

#[tokio::test]
async fn a_failing_call_is_an_error_result_and_the_session_goes_on() {
    let mut s = Session::initialized().await;
    let r = s.call(2, "fails", json!({})).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text_of(&r["result"]).contains("boom"), "{r}");
    let r = s.call(3, "echo", json!({"name": "again"})).await;
    assert_eq!(text_of(&r["result"]), "Hello, again", "{r}");
}

#[tokio::test]
async fn an_invalid_argument_is_reported_with_the_parameter() {
    let mut s = Session::initialized().await;
    let r = s.call(2, "countdown", json!({"start": "many"})).await;
    let shown = r.to_string();
    assert!(shown.contains("start"), "{r}");
    assert!(r["result"]["isError"] == true || r.get("error").is_some(), "{r}");
}

#[tokio::test]
async fn resource_templates_are_listed_and_read() {
    let mut s = Session::initialized().await;
    let r = s.request(2, "resources/templates/list", json!({})).await;
    let templates = r["result"]["resourceTemplates"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(templates.len(), 1, "{r}");
    assert_eq!(templates[0]["uriTemplate"], "items://{id}", "{r}");
    let r = s.request(3, "resources/read", json!({"uri": "items://7"})).await;
    let contents = &r["result"]["contents"][0];
    assert_eq!(contents["uri"], "items://7", "{r}");
    assert_eq!(contents["text"], "item 7", "{r}");
}

#[tokio::test]
async fn prompts_get_renders_the_messages() {
    let mut s = Session::initialized().await;
    let r = s.request(2, "prompts/list", json!({})).await;
    assert_eq!(r["result"]["prompts"][0]["name"], "greet", "{r}");
    let r = s.request(3, "prompts/get", json!({"name": "greet", "arguments": {"name": "Ada"}})).await;
    let message = &r["result"]["messages"][0];
    assert_eq!(message["content"]["text"], "Say hello to Ada", "{r}");
}

#[tokio::test]
async fn logging_set_level_forwards_the_calls_log_messages() {
    let mut s = Session::initialized().await;
    let r = s.request(2, "logging/setLevel", json!({"level": "debug"})).await;
    assert!(r.get("result").is_some(), "{r}");
    let r = s.call(3, "countdown", json!({"start": 2})).await;
    assert_eq!(text_of(&r["result"]), "2", "{r}");
    let logged: Vec<&Json> = s.notifications.iter().filter(|n| n["method"] == "notifications/message").collect();
    assert_eq!(logged.len(), 1, "{:?}", s.notifications);
    assert_eq!(logged[0]["params"]["level"], "info");
    assert_eq!(logged[0]["params"]["data"], "counting down from 2");
}

#[tokio::test]
async fn without_set_level_nothing_is_logged() {
    let mut s = Session::initialized().await;
    let r = s.call(2, "countdown", json!({"start": 1})).await;
    assert_eq!(text_of(&r["result"]), "1", "{r}");
    assert!(s.notifications.iter().all(|n| n["method"] != "notifications/message"), "{:?}", s.notifications);
}

#[tokio::test]
async fn progress_is_reported_to_the_calls_token() {
    let mut s = Session::initialized().await;
    let params = json!({"name": "countdown", "arguments": {"start": 3}, "_meta": {"progressToken": "tok"}});
    let r = s.request(2, "tools/call", params).await;
    assert_eq!(text_of(&r["result"]), "3", "{r}");
    let progress: Vec<&Json> = s.notifications.iter().filter(|n| n["method"] == "notifications/progress").collect();
    let values: Vec<f64> = progress.iter().filter_map(|n| n["params"]["progress"].as_f64()).collect();
    // the server reports the call started (0 of 1), then the call its own steps
    assert_eq!(values, [0.0, 1.0, 2.0, 3.0], "{:?}", s.notifications);
    assert!(progress.iter().all(|n| n["params"]["progressToken"] == "tok"));
    assert!(progress[1..].iter().all(|n| n["params"]["total"] == 3.0), "{progress:?}");
    assert_eq!(progress[3]["params"]["message"], "0 left");
}

#[tokio::test]
async fn a_cancelled_call_gets_no_response_and_the_session_goes_on() {
    let mut s = Session::initialized().await;
    s.send_line(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {}}})
            .to_string(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.send_line(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2, "reason": "test"}})
            .to_string(),
    )
    .await;
    let r = s.call(3, "echo", json!({"name": "after"})).await;
    assert_eq!(text_of(&r["result"]), "Hello, after", "{r}");
    // the slow call would have finished by now: nothing may arrive for it
    let late = tokio::time::timeout(Duration::from_secs(3), s.from_server.next_line()).await;
    if let Ok(Ok(Some(line))) = late {
        assert!(!line.contains("\"id\":2"), "a response to the cancelled request: {line}");
    }
}

#[tokio::test]
async fn malformed_input_gets_a_json_rpc_error_and_the_session_goes_on() {
    let mut s = Session::initialized().await;
    s.send_line("{not json").await;
    let r = s.next().await;
    assert_eq!(r["error"]["code"], -32700, "{r}");
    assert_eq!(r["id"], Json::Null, "{r}");
    s.send_line(r#"{"jsonrpc": "2.0", "id": 5}"#).await;
    let r = s.next().await;
    assert_eq!(r["error"]["code"], -32600, "{r}");
    let r = s.request(6, "ping", json!({})).await;
    assert!(r.get("result").is_some(), "{r}");
}

#[tokio::test]
async fn an_unknown_tool_is_an_error() {
    let mut s = Session::initialized().await;
    let r = s.call(2, "no_such_tool", json!({})).await;
    assert!(r.get("error").is_some() || r["result"]["isError"] == true, "{r}");
    assert!(r.to_string().contains("no_such_tool"), "{r}");
}
