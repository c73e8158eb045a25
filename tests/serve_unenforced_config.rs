//! Configuration this build accepts but does not enforce yet (authorization over HTTP) makes
//! `serve` refuse to start with a clear message, never serve unprotected. An enabled audit log
//! is written now (tests/audit_*.rs): `serve` starts with it, and refuses only when it cannot
//! be written.

mod common;

use common::{mxcp, run};
use std::process::Stdio;

const TOOL: &str = "mxcp: 1\ntool:\n  name: t\n  return: {type: integer}\n  source: {code: \"SELECT 1 AS x\"}\n";

#[test]
fn an_auth_block_refuses_http_but_not_stdio() {
    let dir = common::project(&[("tools/t.yml", TOOL)]);
    common::write(
        dir.path(),
        "config.yml",
        "mxcp: 1\nprojects:\n  test:\n    profiles:\n      default:\n        auth:\n          provider: github\n",
    );
    let config = dir.path().join("config.yml");
    let (code, _, stderr) = run(mxcp(dir.path())
        .env("MXCP_CONFIG", &config)
        .args(["serve", "--transport", "streamable-http", "--port", "0"])
        .stdin(Stdio::null()));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("auth.provider: github") && stderr.contains("refusing to serve HTTP"), "{stderr}");
    // stdio has no bearer tokens to check: it serves (and ends when stdin closes)
    let (code, _, stderr) =
        run(mxcp(dir.path()).env("MXCP_CONFIG", &config).args(["serve", "--transport", "stdio"]).stdin(Stdio::null()));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn an_enabled_audit_log_is_served_and_refused_only_when_it_cannot_be_written() {
    let dir = common::project(&[("tools/t.yml", TOOL)]);
    let site =
        |audit: &str| format!("mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    audit:\n{audit}");
    common::write(dir.path(), "mxcp-site.yml", &site("      enabled: true\n"));
    let serve = |env: Option<&str>| {
        let mut cmd = mxcp(dir.path());
        cmd.args(["serve", "--transport", "stdio", "--json-output"]).stdin(Stdio::null());
        if let Some(v) = env {
            cmd.env("MXCP_AUDIT_ENABLED", v);
        }
        run(&mut cmd)
    };
    let (code, stdout, stderr) = serve(None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(dir.path().join("audit/logs-default_schemas.jsonl").is_file(), "the audit log was opened");
    // a place that cannot hold the log refuses to start, unless MXCP_AUDIT_ENABLED turns it off
    common::write(dir.path(), "blocker", "a file, not a directory");
    common::write(dir.path(), "mxcp-site.yml", &site("      enabled: true\n      path: blocker/logs.jsonl\n"));
    let (code, stdout, _) = serve(None);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("enables the audit log, but it cannot be written"), "{v}");
    assert_eq!(serve(Some("false")).0, 0);
}
