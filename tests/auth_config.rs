//! The `auth` block and `transport` section of the user configuration: every mistake gets a
//! positioned diagnostic (the reference refuses all of these too), and a configuration that
//! asks for protection this build cannot give refuses to serve HTTP with a clear message —
//! never an open server.

mod common;

use common::{mxcp, run};
use serde_json::Value as Json;
use std::process::Stdio;

const TOOL: &str = "mxcp: 1\ntool:\n  name: t\n  return: {type: integer}\n  source: {code: \"SELECT 1 AS x\"}\n";

fn with_config(config: &str) -> tempfile::TempDir {
    let dir = common::project(&[("tools/t.yml", TOOL)]);
    common::write(dir.path(), "config.yml", config);
    dir
}

fn profile(auth: &str) -> String {
    format!("mxcp: 1\nprojects:\n  test:\n    profiles:\n      default:\n        auth:\n{auth}")
}

/// `file:line:column path | message` of each diagnostic `validate` reports.
fn diagnostics(dir: &std::path::Path) -> Vec<String> {
    let (code, out, err) =
        run(mxcp(dir).env("MXCP_CONFIG", dir.join("config.yml")).args(["validate", "--json-output"]));
    assert_eq!(code, 1, "{out}{err}");
    let v: Json = serde_json::from_str(&out).expect("JSON");
    v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{} {} | {}",
                d["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                d["line"],
                d["column"],
                d["yaml_path"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn every_mistake_is_positioned() {
    let config = "mxcp: 1
transport:
  port: 9000
  http: {prot: 1, base_url: 3, trust_proxy: maybe, scheme: ftp}
projects:
  test:
    profiles:
      default:
        auth:
          provider: oidc
          mode: verifier
          oidc:
            config_url: http://x
            client_id: 1
            client_secret: b
            scope: email
            audiance: x
            callback_path: /cb
          githbu: {}
          authorization: {required_scopes: read}
          clients: [{client_id: a, grant_types: [implicit]}]
          persistence: {type: sqlite, pth: x}
";
    let dir = with_config(config);
    let p = "projects.test.profiles.default.auth";
    let expected = [
        "config.yml:3:3 transport.port | unknown key 'port'".to_string(),
        "config.yml:4:10 transport.http.prot | unknown key 'prot'".into(),
        "config.yml:4:29 transport.http.base_url | expected a string, found an integer".into(),
        "config.yml:4:45 transport.http.trust_proxy | expected true or false, found the string 'maybe'".into(),
        "config.yml:4:60 transport.http.scheme | invalid value 'ftp' for 'scheme'".into(),
        format!("config.yml:14:24 {p}.oidc.client_id | expected a string, found an integer"),
        format!("config.yml:16:20 {p}.oidc.scope | OIDC scope must include 'openid'"),
        format!("config.yml:17:13 {p}.oidc.audiance | unknown key 'audiance'"),
        format!("config.yml:18:13 {p}.oidc.callback_path | unknown key 'callback_path'"),
        format!("config.yml:19:11 {p}.githbu | unknown key 'githbu'"),
        format!("config.yml:20:44 {p}.authorization.required_scopes | expected a list, found a string"),
        format!("config.yml:21:21 {p}.clients[0] | missing required key 'name'"),
        format!(
            "config.yml:21:49 {p}.clients[0].grant_types[0] | invalid grant type 'implicit' (expected authorization_code or refresh_token)"
        ),
        format!("config.yml:22:39 {p}.persistence.pth | unknown key 'pth'"),
    ];
    let mut got = diagnostics(dir.path());
    got.sort();
    let mut want: Vec<String> = expected.to_vec();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn wrong_values_and_missing_keys() {
    let cases: &[(&str, &str)] = &[
        (
            "          provider: gitlab\n",
            "config.yml:7:21 projects.test.profiles.default.auth.provider | invalid value 'gitlab' for 'provider'",
        ),
        (
            "          mode: verifir\n",
            "config.yml:7:17 projects.test.profiles.default.auth.mode | invalid value 'verifir' for 'mode'",
        ),
        (
            "          provider: github\n          github: {client_id: x}\n",
            "config.yml:8:19 projects.test.profiles.default.auth.github | missing required key 'client_secret'",
        ),
        (
            "          provider: keycloak\n          keycloak: {client_id: a, client_secret: b, server_url: http://k}\n",
            "config.yml:8:21 projects.test.profiles.default.auth.keycloak | missing required key 'realm'",
        ),
        (
            "          provider: oidc\n          mode: verifier\n          oidc: {config_url: http://x, client_id: a, client_secret: b}\n",
            "config.yml:9:17 projects.test.profiles.default.auth.oidc | missing required key 'scope'",
        ),
    ];
    for (auth, want) in cases {
        let dir = with_config(&profile(auth));
        let got = diagnostics(dir.path());
        assert!(got.iter().any(|g| g == want), "{auth}\n got: {got:#?}\nwant: {want}");
    }
}

/// `serve` over HTTP: exit code and stderr.
fn serve_http(dir: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let (code, _, stderr) = run(mxcp(dir)
        .env("MXCP_CONFIG", dir.join("config.yml"))
        .args(["serve", "--transport", "streamable-http", "--port", "0"])
        .args(extra)
        .stdin(Stdio::null()));
    (code, stderr)
}

#[test]
fn protection_this_build_cannot_give_refuses_http() {
    let oidc = |host_note: &str| {
        profile(&format!(
            "          provider: oidc\n          mode: verifier\n          oidc:\n            config_url: {host_note}\n            client_id: a\n            client_secret: b\n            scope: openid\n"
        ))
    };
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        // the reference's default mode is issuer: mxcp as the authorization server
        (
            profile("          provider: github\n"),
            vec![],
            "issuer mode, where mxcp is the OAuth authorization server, is not available in this build yet",
        ),
        (
            profile(
                "          provider: keycloak\n          mode: issuer\n          keycloak: {client_id: a, client_secret: b, realm: r, server_url: http://k, callback_path: /cb}\n",
            ),
            vec![],
            "is not available in this build yet",
        ),
        (
            profile("          provider: github\n          mode: verifier\n"),
            vec![],
            "auth.provider is 'github' but the configuration has no 'github:' block",
        ),
        (
            profile(
                "          provider: atlassian\n          mode: verifier\n          atlassian: {client_id: a, client_secret: b, scope: read, callback_path: /c, auth_url: http://a, token_url: http://t}\n",
            ),
            vec![],
            "verifier mode is not offered for atlassian",
        ),
        (
            oidc("http://127.0.0.1:9/.well-known/openid-configuration"),
            vec!["--host", "0.0.0.0"],
            "no audience to check tokens against: the server listens on 0.0.0.0",
        ),
        (
            oidc("http://127.0.0.1:9/.well-known/openid-configuration"),
            vec![],
            "cannot reach the authorization server: http://127.0.0.1:9/.well-known/openid-configuration: cannot connect",
        ),
    ];
    for (config, extra, want) in cases {
        let dir = with_config(&config);
        let (code, stderr) = serve_http(dir.path(), &extra);
        assert_eq!(code, 1, "{config}\n{stderr}");
        assert!(stderr.contains(want), "{config}\n got: {stderr}\nwant: {want}");
        assert!(!stderr.contains("serving MCP"), "{stderr}");
        assert!(!stderr.contains("client_secret") && !stderr.contains(": b\n"), "no secret in messages: {stderr}");
    }
}

#[test]
fn stdio_is_not_affected_by_the_auth_block() {
    // stdio has no bearer tokens: the caller is whoever started the server (MCP authorization spec)
    let dir = with_config(&profile("          provider: github\n"));
    let (code, _, stderr) = run(mxcp(dir.path())
        .env("MXCP_CONFIG", dir.path().join("config.yml"))
        .args(["serve", "--transport", "stdio"])
        .stdin(Stdio::null()));
    assert_eq!(code, 0, "{stderr}");
}
