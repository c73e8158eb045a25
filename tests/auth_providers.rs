//! Providers whose access tokens are opaque and can only be checked by asking the provider:
//! GitHub (its "check a token" API, which also proves the token belongs to this OAuth app) and
//! Google (tokeninfo, whose audience must be this OAuth client). api.github.com and
//! oauth2.googleapis.com cannot be reached from the tests, so a local server speaking their
//! documented protocols stands in (tests/clients/provider_standin.py).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

use common::{HttpServer, http_get, http_post};
use serde_json::Value as Json;

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const CALL: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;

struct StandIn {
    child: Child,
    _stdin: ChildStdin,
    url: String,
}

impl StandIn {
    fn start() -> StandIn {
        let script = common::repo_root().join("tests/clients/provider_standin.py");
        let mut child = Command::new(common::client_python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("stand-in starts");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: Json = serde_json::from_str(&line).unwrap_or_else(|_| panic!("stand-in: {line:?}"));
        StandIn { child, _stdin: stdin, url: v["url"].as_str().unwrap().to_string() }
    }

    fn checks(&self, which: &str) -> i64 {
        let (_, _, body) = http_get(&format!("{}/stats", self.url), &[]);
        serde_json::from_str::<Json>(&body).unwrap()[which].as_i64().unwrap()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(block: &str) -> (HttpServer, tempfile::TempDir) {
    let dir = common::project(&[(
        "tools/whoami.yml",
        "mxcp: 1\ntool:\n  name: whoami\n  return: {type: object}\n  source: {code: \"SELECT get_username() AS username, get_user_email() AS email, get_user_provider() AS provider\"}\n",
    )]);
    let config = format!(
        "mxcp: 1\nprojects:\n  test:\n    profiles:\n      default:\n        auth:\n          mode: verifier\n{block}"
    );
    common::write(dir.path(), "config.yml", &config);
    let server = HttpServer::start_with_env(
        dir.path(),
        &[],
        &[("MXCP_CONFIG", dir.path().join("config.yml").to_str().unwrap())],
    );
    (server, dir)
}

/// The status of `initialize` with `token`, then (when accepted) whoami's structured result.
fn call_as(server: &HttpServer, token: &str) -> (u16, Json) {
    let auth = format!("Bearer {token}");
    let (status, head, _) = http_post(&server.url, INIT, &[("Authorization", &auth)]);
    if status != 200 {
        return (status, Json::Null);
    }
    let session = common::header(&head, "mcp-session-id").unwrap();
    let headers =
        [("Authorization", auth.as_str()), ("mcp-session-id", &session), ("mcp-protocol-version", "2025-06-18")];
    http_post(&server.url, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &headers);
    let (_, _, body) = http_post(&server.url, CALL, &headers);
    // an SSE stream (chunked): the event whose data is the reply
    let reply: Json = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Json>(d).ok())
        .find(|v| v["id"] == 2)
        .unwrap_or_else(|| panic!("reply: {body}"));
    (200, reply["result"]["structuredContent"].clone())
}

#[test]
fn github_tokens_are_checked_against_this_oauth_app() {
    if common::skip_without_dev_setup() {
        return;
    }
    let standin = StandIn::start();
    let block = format!(
        "          provider: github\n          github:\n            client_id: Iv1.testapp\n            client_secret: app-secret\n            callback_path: /github/callback\n            auth_url: https://github.com/login/oauth/authorize\n            token_url: https://github.com/login/oauth/access_token\n            api_url: {}\n",
        standin.url
    );
    let (server, _dir) = serve(&block);
    let (status, who) = call_as(&server, "gho_alice");
    assert_eq!(status, 200);
    assert_eq!(who, serde_json::json!({"username": "alice", "email": "alice@example.com", "provider": "github"}));
    assert_eq!(standin.checks("github"), 1, "the second request of the same token came from the cache");
    assert_eq!(call_as(&server, "gho_someone_else").0, 401);
}

#[test]
fn google_tokens_must_be_for_this_client() {
    if common::skip_without_dev_setup() {
        return;
    }
    let standin = StandIn::start();
    let block = format!(
        "          provider: google\n          google:\n            client_id: test-client.apps.googleusercontent.com\n            client_secret: s\n            scope: openid email\n            callback_path: /google/callback\n            auth_url: https://accounts.google.com/o/oauth2/v2/auth\n            token_url: https://oauth2.googleapis.com/token\n            api_url: {}/tokeninfo\n",
        standin.url
    );
    let (server, _dir) = serve(&block);
    let (status, who) = call_as(&server, "ya29.alice");
    assert_eq!(status, 200);
    assert_eq!(who["email"], "alice@example.com");
    assert_eq!(who["provider"], "google");
    assert_eq!(call_as(&server, "ya29.other-app").0, 401, "a token Google issued to another app");
    assert_eq!(call_as(&server, "ya29.unknown").0, 401);
}
