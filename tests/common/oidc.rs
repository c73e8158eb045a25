//! The test OpenID provider (tests/oidc/op.mjs, npm `oidc-provider`) and an `mxcp serve`
//! protected by it, for the authorization tests.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{Value as Json, json};

use super::{HttpServer, http_post};

/// A running OP; it exits when dropped (its stdin closes).
pub struct Op {
    child: Child,
    _stdin: ChildStdin,
    pub issuer: String,
}

/// Whether the OP is set up (by ./dev test); prints why a test is skipped when not.
pub fn skip_without_op() -> bool {
    if super::skip_without_dev_setup() {
        return true;
    }
    let missing = super::unset(&["MXCP_TEST_OIDC", "MXCP_TEST_NODE", "MXCP_TEST_OIDC_SCRIPT"]);
    if missing.is_empty() {
        return false;
    }
    eprintln!(
        "skipped: {} not set; run the tests with ./dev test, which installs the test OpenID provider",
        missing.join(", ")
    );
    true
}

impl Op {
    pub fn start() -> Op {
        let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set (run ./dev test)"));
        let mut child = Command::new(env("MXCP_TEST_NODE"))
            .arg(env("MXCP_TEST_OIDC_SCRIPT"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the OP starts");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the OP reports its address");
        let ready: Json = serde_json::from_str(&line).unwrap_or_else(|_| panic!("OP start line: {line:?}"));
        Op { child, _stdin: stdin, issuer: ready["issuer"].as_str().expect("issuer").to_string() }
    }

    fn post_json(&self, path: &str, body: &Json) -> Json {
        let (status, _, reply) = http_post(&format!("{}{path}", self.issuer), &body.to_string(), &[]);
        assert_eq!(status, 200, "{path}: {reply}");
        serde_json::from_str(&reply).expect("JSON")
    }

    /// A token over `claims` signed the way `key` says (op, op-ec, op-new, foreign,
    /// foreign-kid, none, hs256-with-public-key); `iss`, `iat`, `exp` default to valid values.
    pub fn mint(&self, claims: Json, key: &str) -> String {
        self.post_json("/test/mint", &json!({"claims": claims, "key": key}))["token"].as_str().unwrap().to_string()
    }

    /// Adds a new signing key to the served JWKS; `mint(.., "op-new")` signs with it.
    pub fn rotate(&self) {
        self.post_json("/test/rotate", &json!({}));
    }

    pub fn stats(&self) -> Json {
        let (_, _, body) = super::http_get(&format!("{}/test/stats", self.issuer), &[]);
        serde_json::from_str(&body).expect("stats JSON")
    }

    /// A real access token from the token endpoint (client credentials grant, RFC 8707 resource).
    pub fn client_credentials(&self, resource: &str, scope: &str) -> String {
        let body = format!(
            "grant_type=client_credentials&client_id=mxcp-test&client_secret=mxcp-test-secret&resource={}&scope={}",
            encode(resource),
            encode(scope)
        );
        let url = format!("{}/token", self.issuer);
        let (status, _, reply) =
            super::http_request("POST", &url, &body, &[("Content-Type", "application/x-www-form-urlencoded")]);
        assert_eq!(status, 200, "token endpoint: {reply}");
        let v: Json = serde_json::from_str(&reply).expect("JSON");
        v["access_token"].as_str().expect("access_token").to_string()
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The user configuration of a verifier checking the OP's tokens, with `extra` YAML lines
/// appended under the `auth:` block (indented by the caller).
pub fn verifier_config(dir: &Path, op: &Op, auth_extra: &str) -> std::path::PathBuf {
    let text = format!(
        "mxcp: 1\nprojects:\n  {project}:\n    profiles:\n      default:\n        auth:\n          provider: oidc\n          mode: verifier\n          oidc:\n            config_url: {issuer}/.well-known/openid-configuration\n            client_id: mxcp-server\n            client_secret: mxcp-server-secret\n            scope: openid mcp:tools\n{auth_extra}",
        project = project_name(dir),
        issuer = op.issuer,
    );
    let path = dir.join("auth-config.yml");
    let mut f = std::fs::File::create(&path).expect("config file");
    f.write_all(text.as_bytes()).unwrap();
    path
}

fn project_name(dir: &Path) -> String {
    let site = std::fs::read_to_string(dir.join("mxcp-site.yml")).expect("mxcp-site.yml");
    site.lines()
        .find_map(|l| l.strip_prefix("project:"))
        .map(|p| p.trim().trim_matches(['"', '\'']).to_string())
        .expect("project name")
}

/// `mxcp serve` over HTTP with the given user configuration.
pub fn serve(dir: &Path, config: &Path) -> HttpServer {
    HttpServer::start_with_env(dir, &[], &[("MXCP_CONFIG", config.to_str().unwrap())])
}
