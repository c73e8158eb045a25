//! The audit records a served project writes, driven by the official MCP Python SDK over stdio
//! and streamable HTTP: every kind of call and outcome, policy decisions with their reasons,
//! sensitive values redacted, rotation at `max_file_size`, `MXCP_AUDIT_ENABLED`.

mod audit_support;
mod common;

use audit_support::{fixture, log_files, records, sdk_steps, set_audit, stdio_command};
use serde_json::{Value as Json, json};

/// One call of each kind and outcome (and an unknown tool, which is not recorded).
const STEPS: &[(&str, &str, &str)] = &[
    ("tool", "get_item", r#"{"item_id": 1, "secret": "pw-1234"}"#),
    ("tool", "get_item", r#"{"item_id": 13}"#),
    ("tool", "get_item", r#"{"item_id": 0}"#),
    ("tool", "fail", "{}"),
    ("tool", "masked", r#"{"n": 2}"#),
    ("read", "items://5", "{}"),
    ("prompt", "greet", r#"{"who": "bob"}"#),
    ("tool", "nope", "{}"),
];

fn assert_records_of_steps(r: &[Json], caller: &str) {
    assert_eq!(r.len(), 7, "{r:#?}");
    for (i, rec) in r.iter().enumerate() {
        assert_eq!(rec["schema_name"], "mxcp.endpoints");
        assert_eq!(rec["schema_version"], 2);
        assert_eq!(rec["caller_type"], caller);
        assert_eq!(rec["user_id"], Json::Null, "anonymous calls");
        assert_eq!(rec["trace_id"], Json::Null);
        assert_eq!(rec["execution_events"], json!([]));
        assert_eq!(rec["record_id"].as_str().unwrap().len(), 36);
        let ts = rec["timestamp"].as_str().unwrap();
        assert!(ts.len() == 27 && ts.ends_with('Z') && &ts[10..11] == "T", "{ts}");
        assert!(rec["duration_ms"].is_u64());
        assert_eq!(rec["record_hash"].as_str().unwrap().len(), 64);
        assert_eq!(rec["signature"], Json::Null, "no key configured");
        let prev = if i == 0 { Json::Null } else { r[i - 1]["record_hash"].clone() };
        assert_eq!(rec["prev_hash"], prev, "record {i} links to the one before");
        let mut business = json!({
            "operation_type": rec["operation_type"], "operation_name": rec["operation_name"],
            "operation_status": rec["operation_status"],
        });
        if !rec["policy_decision"].is_null() {
            business["policy_decision"] = rec["policy_decision"].clone();
        }
        assert_eq!(rec["business_context"], business);
    }
    let names: Vec<(&str, &str, &str)> = r
        .iter()
        .map(|x| {
            (
                x["operation_type"].as_str().unwrap(),
                x["operation_name"].as_str().unwrap(),
                x["operation_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("tool", "get_item", "success"),
            ("tool", "get_item", "error"),
            ("tool", "get_item", "error"),
            ("tool", "fail", "error"),
            ("tool", "masked", "success"),
            ("resource", "items://{item_id}", "success"),
            ("prompt", "greet", "success"),
        ]
    );
    // success: sensitive input and output values redacted; the policy that ran allowed it
    assert_eq!(r[0]["input_data"], json!({"item_id": 1, "secret": "[REDACTED]"}));
    assert_eq!(r[0]["output_data"], json!({"id": 1, "token": "[REDACTED]"}));
    assert_eq!(r[0]["error"], Json::Null);
    assert_eq!(r[0]["policies_evaluated"], json!(["input[0]: item_id == 13"]));
    assert_eq!(r[0]["policy_decision"], "allow");
    assert_eq!(r[0]["policy_reason"], Json::Null);
    // policy deny: the decision and its reason (the reference records neither)
    assert_eq!(r[1]["error"], "Policy enforcement failed: unlucky number");
    assert_eq!(r[1]["output_data"], Json::Null);
    assert_eq!(r[1]["policies_evaluated"], json!(["input[0]: item_id == 13"]));
    assert_eq!(r[1]["policy_decision"], "deny");
    assert_eq!(r[1]["policy_reason"], "unlucky number");
    // input validation fails before any policy
    assert_eq!(r[2]["error"], "Error validating parameter 'item_id': Value must be >= 1.0");
    assert_eq!(r[2]["input_data"], json!({"item_id": 0}));
    assert_eq!(r[2]["policy_decision"], Json::Null);
    assert_eq!(r[2]["policies_evaluated"], json!([]));
    // a tool error
    assert!(r[3]["error"].as_str().unwrap().starts_with("Failed to execute SQL: "), "{}", r[3]["error"]);
    assert_eq!(r[3]["policy_decision"], Json::Null);
    // an output policy that changed the result: "warn", as the reference words it
    assert_eq!(r[4]["output_data"], json!({"a": 2, "b": "****"}));
    assert_eq!(r[4]["policies_evaluated"], json!(["output[0]: true"]));
    assert_eq!(r[4]["policy_decision"], "warn");
    assert_eq!(r[4]["policy_reason"], "Output modified by mask_fields");
    // a resource read (by its template, the URI's variables as input) and a prompt
    assert_eq!(r[5]["input_data"], json!({"item_id": "5"}));
    assert_eq!(r[5]["output_data"], json!({"id": 5}));
    assert_eq!(r[6]["input_data"], json!({"who": "bob"}));
    assert_eq!(r[6]["output_data"], json!([{"prompt": "Hello bob", "role": "user", "type": null}]));
}

/// No file of the log holds a sensitive value the calls carried.
fn assert_no_secret_on_disk(dir: &std::path::Path) {
    for f in log_files(&dir.join("audit")) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("pw-1234"), "{text}");
        // the reference's separators, so tools written for its files read these too
        assert!(text.starts_with("{\"schema_name\": \"mxcp.endpoints\", \"schema_version\": 2, "), "{text}");
    }
}

#[test]
fn stdio_calls_are_recorded() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = fixture();
    let got = sdk_steps(&["--stdio", &stdio_command(dir.path(), &[])], STEPS);
    assert_eq!(got[0]["isError"], false, "{got:?}");
    assert_eq!(got[1]["texts"][0], "Error executing tool get_item: Policy enforcement failed: unlucky number");
    let r = records(dir.path());
    assert_records_of_steps(&r, "stdio");
    assert!(r.iter().all(|x| x["session_id"].is_null()), "stdio has no session id");
    assert_no_secret_on_disk(dir.path());
    let schemas = std::fs::read_to_string(dir.path().join("audit/logs-default_schemas.jsonl")).unwrap();
    let schema: Json = serde_json::from_str(schemas.lines().next().unwrap()).unwrap();
    assert_eq!(schema["schema_name"], "mxcp.endpoints");
    assert_eq!(schema["version"], 2);
    assert_eq!(schema["retention_days"], 90);
    assert_eq!(
        schema["fields"][2],
        json!({"name": "input_data", "type": "object", "required": true, "description": null, "sensitive": true})
    );
    let (code, stdout, stderr) = audit_support::mxcp(dir.path(), &["log", "verify"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("audit log intact: 7 record(s) in 1 file(s)"), "{stdout}");
}

#[test]
fn http_calls_are_recorded_with_their_session() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = fixture();
    let mut server = common::HttpServer::start(dir.path(), &[]);
    sdk_steps(&["--url", &server.url], STEPS);
    server.terminate();
    assert!(server.wait_exit(std::time::Duration::from_secs(20)), "the server stops on SIGTERM");
    let r = records(dir.path());
    assert_records_of_steps(&r, "http");
    let session = r[0]["session_id"].as_str().expect("an HTTP session id").to_string();
    assert!(!session.is_empty());
    assert!(r.iter().all(|x| x["session_id"] == session.as_str()), "one session: {r:#?}");
    assert_no_secret_on_disk(dir.path());
}

#[test]
fn files_rotate_at_max_file_size_and_stay_chained() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = fixture();
    set_audit(dir.path(), "      enabled: true\n      max_file_size: 1500\n");
    let steps: Vec<(&str, &str, String)> =
        (1..=8).map(|i| ("tool", "get_item", format!(r#"{{"item_id": {i}}}"#))).collect();
    let steps: Vec<(&str, &str, &str)> = steps.iter().map(|(k, n, a)| (*k, *n, a.as_str())).collect();
    sdk_steps(&["--stdio", &stdio_command(dir.path(), &[])], &steps);
    let files = log_files(&dir.path().join("audit"));
    assert!(files.len() >= 4, "8 records of ~700 bytes in files of 1500: {files:?}");
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() <= 1500, "{} is over max_file_size", f.display());
    }
    let r = records(dir.path());
    assert_eq!(r.len(), 8);
    for i in 1..r.len() {
        assert_eq!(r[i]["prev_hash"], r[i - 1]["record_hash"], "linked across files");
    }
    let ids: Vec<i64> = r.iter().map(|x| x["input_data"]["item_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<_>>());
    // `log` reads every file, newest first
    let listed = audit_support::log_json(dir.path(), &[]);
    assert_eq!(listed["count"], 8);
    let ids: Vec<&str> =
        listed["records"].as_array().unwrap().iter().map(|x| x["record_id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = r.iter().rev().map(|x| x["record_id"].as_str().unwrap()).collect();
    assert_eq!(ids, expected);
    // a second run continues the chain of the first
    sdk_steps(&["--stdio", &stdio_command(dir.path(), &[])], &[("tool", "get_item", r#"{"item_id": 9}"#)]);
    let r2 = records(dir.path());
    assert_eq!(r2.len(), 9);
    assert_eq!(r2[8]["prev_hash"], r[7]["record_hash"]);
    assert_eq!(audit_support::mxcp(dir.path(), &["log", "verify"]).0, 0);
}

#[test]
fn the_environment_overrides_the_site_file() {
    if common::skip_without_dev_setup() {
        return;
    }
    let call = [("tool", "get_item", r#"{"item_id": 2}"#)];
    // enabled in the site file, disabled by MXCP_AUDIT_ENABLED
    let dir = fixture();
    sdk_steps(&["--stdio", &stdio_command(dir.path(), &[("MXCP_AUDIT_ENABLED", "false")])], &call);
    assert!(!dir.path().join("audit").exists(), "no audit directory when disabled");
    // not enabled in the site file, enabled by MXCP_AUDIT_ENABLED
    common::write(dir.path(), "mxcp-site.yml", "mxcp: 1\nproject: audited\nprofile: default\n");
    sdk_steps(&["--stdio", &stdio_command(dir.path(), &[("MXCP_AUDIT_ENABLED", "yes")])], &call);
    assert_eq!(records(dir.path()).len(), 1);
}

#[test]
fn run_and_test_do_not_audit() {
    let dir = fixture();
    let (code, stdout, stderr) = audit_support::mxcp(dir.path(), &["run", "tool", "get_item", "--param", "item_id=3"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!dir.path().join("audit").exists(), "mxcp run wrote an audit log");
}
