//! One identity for every call: the official MCP Python SDK completes its OAuth flow (PRM
//! discovery, dynamic registration, authorization code + PKCE + RFC 8707 resource) against
//! `mxcp serve` and a real OpenID provider, then calls tools that read the caller through
//! SQL (`get_username()`...), Python (`get_user_context()`, `db.execute`) and CEL policies
//! (`user.email`, claim-mapped `user.capabilities`). Clients without a valid token for this
//! server get nothing.

mod common;

use std::process::Command;

use common::oidc::{self, Op};
use serde_json::{Value as Json, json};

const WHOAMI: &str = r#"mxcp: 1
tool:
  name: whoami
  description: the caller, as SQL sees it
  return:
    type: object
  source:
    code: |
      SELECT get_username() AS username, get_user_email() AS email, get_user_provider() AS provider,
             get_user_external_token() AS external_token, get_request_header('x-trace') AS trace,
             get_request_header('authorization') AS authorization
"#;

const PY_WHOAMI: &str = r#"mxcp: 1
tool:
  name: py_whoami
  description: the caller, as Python sees it
  language: python
  return:
    type: object
  source:
    file: ../python/who.py
"#;

const WHO_PY: &str = r#"from mxcp.runtime import db
from mxcp.sdk.auth import get_user_context


def py_whoami() -> dict:
    u = get_user_context()
    return {
        "username": u.username,
        "email": u["email"],
        "capabilities": u.capabilities,
        "groups": u.raw_profile.get("groups"),
        "external_token": u.external_token,
        "sql_username": db.execute("SELECT get_username() AS u")[0]["u"],
    }
"#;

const ANALYSTS: &str = r#"mxcp: 1
tool:
  name: analysts_only
  description: needs the analyst capability (from the groups claim)
  return:
    type: string
  policies:
    input:
      - condition: "!('analyst' in user.capabilities)"
        action: deny
        reason: analysts only
  source:
    code: "SELECT 'welcome' AS r"
"#;

const ALICE: &str = r#"mxcp: 1
tool:
  name: alice_only
  description: needs alice's email
  return:
    type: string
  policies:
    input:
      - condition: "user.email != 'alice@example.com'"
        action: deny
        reason: only alice
  source:
    code: "SELECT 'hello alice' AS r"
"#;

const MAPPINGS: &str = "            claim_mappings:
              groups:
                analysts: [analyst]
              realm_access.roles:
                writer: [write]
          authorization:
            required_scopes: [mcp:tools]
";

fn flow(url: &str, op: &Op, args: &[&str]) -> Json {
    let script = common::repo_root().join("tests/clients/oauth_flow.py");
    let out = Command::new(common::client_python())
        .arg(script)
        .args(["--url", url, "--issuer", &op.issuer])
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "oauth_flow failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn the_sdk_logs_in_and_every_layer_sees_the_same_caller() {
    if oidc::skip_without_op() {
        return;
    }
    let op = Op::start();
    let dir = common::project(&[
        ("mxcp-site.yml", "mxcp: 1\nproject: idp\nprofile: default\n"),
        ("tools/whoami.yml", WHOAMI),
        ("tools/py_whoami.yml", PY_WHOAMI),
        ("python/who.py", WHO_PY),
        ("tools/analysts_only.yml", ANALYSTS),
        ("tools/alice_only.yml", ALICE),
    ]);
    let config = oidc::verifier_config(dir.path(), &op, MAPPINGS);
    let server = oidc::serve(dir.path(), &config);
    let url = server.url.as_str();

    let alice = flow(url, &op, &["--login", "alice", "--tools", "whoami,py_whoami,analysts_only,alice_only"]);
    assert_eq!(alice["tools"], json!(["alice_only", "analysts_only", "py_whoami", "whoami"]), "{alice}");
    // the scopes of the challenge (the SDK adds offline_access itself, for a refresh token)
    let asked = &alice["authorization_request"];
    assert_eq!(
        (asked["resource"].as_str(), asked["code_challenge_method"].as_str()),
        (Some(url), Some("S256")),
        "{asked}"
    );
    assert!(asked["scope"].as_str().unwrap().starts_with("openid mcp:tools"), "{asked}");
    assert_eq!(
        alice["whoami"]["structured"],
        json!({"username": "alice", "email": "alice@example.com", "provider": "oidc", "external_token": null,
               "trace": "trace-1", "authorization": null}),
        "{alice}"
    );
    assert_eq!(
        alice["py_whoami"]["structured"],
        json!({"username": "alice", "email": "alice@example.com", "capabilities": ["analyst", "write"],
               "groups": ["analysts"], "external_token": null, "sql_username": "alice"}),
        "{alice}"
    );
    assert_eq!(alice["analysts_only"]["isError"], false, "{alice}");
    assert_eq!(alice["alice_only"]["texts"], json!(["hello alice"]), "{alice}");

    let bob = flow(url, &op, &["--login", "bob", "--tools", "whoami,analysts_only,alice_only"]);
    assert_eq!(bob["whoami"]["structured"]["username"], "bob", "{bob}");
    assert_eq!(bob["analysts_only"]["isError"], true);
    assert!(bob["analysts_only"]["texts"][0].as_str().unwrap().contains("analysts only"), "{bob}");
    assert!(bob["alice_only"]["texts"][0].as_str().unwrap().contains("only alice"), "{bob}");

    for refused in [flow(url, &op, &["--anonymous"]), flow(url, &op, &["--foreign-token"])] {
        assert!(refused["refused"].is_string(), "a client without a valid token got in: {refused}");
        assert_eq!(refused["status"], 401, "{refused}");
        assert!(refused["www_authenticate"].as_str().unwrap().contains("resource_metadata="), "{refused}");
    }
}

#[test]
fn on_stdio_the_caller_is_whoever_started_the_server() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = common::project(&[("tools/whoami.yml", WHOAMI)]);
    common::write(dir.path(), "ops.json", r#"{"username": "ops", "email": "ops@example.com"}"#);
    let mxcp = env!("CARGO_BIN_EXE_mxcp");
    let config = common::repo_root().join("tests/fixtures/empty-config.yml");
    let call = |extra: &str| {
        let cmd = format!("{mxcp} -C {} serve --transport stdio {extra}", dir.path().display());
        let env = [format!("MXCP_CONFIG={}", config.display()), format!("HOME={}", dir.path().display())];
        let report = common::mcp_call(&["--stdio", &cmd, "--env", &env[0], "--env", &env[1], "--call", "whoami", "{}"]);
        report["calls"][0]["structured"].clone()
    };
    let ops = call(&format!("--user-context @{}", dir.path().join("ops.json").display()));
    assert_eq!(
        (&ops["username"], &ops["email"], &ops["provider"], &ops["authorization"]),
        (&json!("ops"), &json!("ops@example.com"), &json!("cli"), &Json::Null),
        "{ops}"
    );
    let anonymous = call("");
    assert_eq!((&anonymous["username"], &anonymous["provider"]), (&Json::Null, &Json::Null), "{anonymous}");
}
