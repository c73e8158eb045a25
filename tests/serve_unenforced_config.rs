//! Configuration this build accepts but does not enforce yet (the audit log) makes `serve`
//! refuse to start with a clear message, never serve unaudited. (Authorization: auth_config.rs.)

mod common;

use common::{mxcp, run};
use std::process::Stdio;

const TOOL: &str = "mxcp: 1\ntool:\n  name: t\n  return: {type: integer}\n  source: {code: \"SELECT 1 AS x\"}\n";

#[test]
fn an_enabled_audit_log_refuses_to_serve() {
    let dir = common::project(&[("tools/t.yml", TOOL)]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    audit:\n      enabled: true\n",
    );
    let serve = |env: Option<&str>| {
        let mut cmd = mxcp(dir.path());
        cmd.args(["serve", "--transport", "stdio", "--json-output"]).stdin(Stdio::null());
        if let Some(v) = env {
            cmd.env("MXCP_AUDIT_ENABLED", v);
        }
        run(&mut cmd)
    };
    let (code, stdout, _) = serve(None);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("enables the audit log"), "{v}");
    // MXCP_AUDIT_ENABLED overrides the site file, both ways
    assert_eq!(serve(Some("false")).0, 0);
    common::write(dir.path(), "mxcp-site.yml", "mxcp: 1\nproject: test\nprofile: default\n");
    assert_eq!(serve(Some("true")).0, 1);
}
