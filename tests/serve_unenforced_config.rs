//! An enabled audit log is written (tests/audit_*.rs): `serve` starts with it, and refuses only
//! when it cannot be written. (Authorization is enforced now: tests/auth_config.rs.)

mod common;

use common::{mxcp, run};
use std::process::Stdio;

const TOOL: &str = "mxcp: 1\ntool:\n  name: t\n  return: {type: integer}\n  source: {code: \"SELECT 1 AS x\"}\n";

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
