//! `mxcp log` with every filter, newest first, its CSV and DuckDB exports read back and
//! compared with the records, and `mxcp log-cleanup` with records older than the retention.

mod audit_support;
mod common;

use std::path::Path;

use audit_support::{RawStdio, fixture, log_files, log_json, mxcp, records};
use serde_json::{Value as Json, json};

/// Six calls: allowed, denied, failed, changed by a policy, a resource, a prompt.
fn served(dir: &Path) {
    let mut s = RawStdio::start(dir, &[]);
    s.call("get_item", json!({"item_id": 1}));
    s.call("get_item", json!({"item_id": 13}));
    s.call("fail", json!({}));
    s.call("masked", json!({"n": 2}));
    s.request("resources/read", json!({"uri": "items://5"}));
    s.request("prompts/get", json!({"name": "greet", "arguments": {"who": "ann"}}));
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
}

fn ids(listed: &Json) -> Vec<String> {
    listed["records"].as_array().unwrap().iter().map(|r| r["record_id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_filter_newest_first() {
    let dir = fixture();
    served(dir.path());
    let r = records(dir.path());
    let id = |i: usize| r[i]["record_id"].as_str().unwrap().to_string();
    let all = log_json(dir.path(), &[]);
    assert_eq!(all["count"], 6);
    assert_eq!(ids(&all), (0..6).rev().map(id).collect::<Vec<_>>(), "newest first");
    let first = &all["records"][5];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "record_id",
            "timestamp",
            "caller_type",
            "operation_type",
            "operation_name",
            "duration_ms",
            "user_id",
            "session_id",
            "trace_id",
            "operation_status",
            "error",
            "business_context",
            "policy_decision"
        ],
        "the reference's layout"
    );
    let ts = r[0]["timestamp"].as_str().unwrap();
    assert_eq!(first["timestamp"], format!("{}+00:00", &ts[..ts.len() - 1]));
    assert_eq!(first["business_context"], r[0]["business_context"]);
    let only = |args: &[&str]| ids(&log_json(dir.path(), args));
    assert_eq!(only(&["--tool", "get_item"]), [id(1), id(0)]);
    assert_eq!(only(&["--tool", "nope"]), Vec::<String>::new());
    assert_eq!(only(&["--resource", "items://{item_id}"]), [id(4)]);
    assert_eq!(only(&["--prompt", "greet"]), [id(5)]);
    assert_eq!(only(&["--type", "tool"]), [id(3), id(2), id(1), id(0)]);
    assert_eq!(only(&["--policy", "allow"]), [id(0)]);
    assert_eq!(only(&["--policy", "deny"]), [id(1)]);
    assert_eq!(only(&["--policy", "warn"]), [id(3)]);
    assert_eq!(only(&["--policy", "n/a"]), [id(5), id(4), id(2)]);
    assert_eq!(only(&["--status", "error"]), [id(2), id(1)]);
    assert_eq!(only(&["--status", "success", "--type", "tool"]), [id(3), id(0)]);
    assert_eq!(only(&["--limit", "2"]), [id(5), id(4)]);
    assert_eq!(only(&["--since", "1d"]).len(), 6);
    assert_eq!(only(&["--since", "2m", "--type", "prompt"]), [id(5)]);

    // text
    let (code, stdout, _) = mxcp(dir.path(), &["log", "--tool", "get_item"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].contains("tool") && lines[0].contains("get_item") && lines[0].contains("error"), "{stdout}");
    assert_eq!(lines[1].trim(), "Policy enforcement failed: unlucky number");
    assert_eq!(lines[3], "(2 records)");
    let (_, stdout, _) = mxcp(dir.path(), &["log", "--tool", "nope"]);
    assert_eq!(stdout.trim(), "No audit records found matching the criteria.");

    // the reference's errors
    let (code, stdout, _) = mxcp(dir.path(), &["log", "--since", "5x", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(
        serde_json::from_str::<Json>(&stdout).unwrap()["error"],
        "Invalid time format: 5x. Use format like '10m', '2h', '1d'"
    );
    let mut cmd = common::mxcp(dir.path());
    let (code, stdout, _) = common::run(cmd.env("MXCP_AUDIT_ENABLED", "false").args(["log", "--json"]));
    assert_eq!(code, 1);
    assert_eq!(
        serde_json::from_str::<Json>(&stdout).unwrap()["error"],
        "Audit logging is not enabled for profile 'default'. Enable it in mxcp-site.yml under profiles.default.audit.enabled"
    );
}

/// `mxcp query SQL --json-output` on `db` (default: the project's own database).
fn query(dir: &Path, sql: &str, db: Option<&Path>) -> Vec<Json> {
    let mut cmd = common::mxcp(dir);
    if let Some(db) = db {
        cmd.env("MXCP_DUCKDB_PATH", db);
    }
    let (code, stdout, stderr) = common::run(cmd.args(["query", sql, "--json-output"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    serde_json::from_str::<Json>(&stdout).unwrap()["result"].as_array().unwrap().clone()
}

#[test]
fn csv_and_duckdb_exports_hold_the_records() {
    let dir = fixture();
    served(dir.path());
    let r = records(dir.path());
    let expected: Vec<Json> = r
        .iter()
        .rev()
        .map(|x| {
            json!([
                x["record_id"],
                x["operation_name"],
                x["input_data"],
                x["output_data"],
                x["policy_decision"],
                x["record_hash"]
            ])
        })
        .collect();
    let csv = dir.path().join("out.csv");
    let (code, stdout, _) = mxcp(dir.path(), &["log", "--export-csv", csv.to_str().unwrap(), "--limit", "1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Json>(&stdout).unwrap()["result"],
        json!({"exported": 6, "format": "csv", "path": csv.display().to_string()}),
        "exports ignore --limit, as the reference's"
    );
    let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_string();
    assert_eq!(
        header,
        "record_id,timestamp,caller_type,operation_type,operation_name,duration_ms,user_id,session_id,trace_id,operation_status,error,policy_decision,policy_reason,business_context,execution_events,schema_name,schema_version,input_data,output_data,policies_evaluated,prev_hash,record_hash,signature"
    );
    let from_csv = query(
        dir.path(),
        &format!(
            "SELECT record_id, operation_name, input_data, output_data, policy_decision, record_hash \
             FROM read_csv('{}', all_varchar = true)",
            csv.display()
        ),
        None,
    );
    let parsed = |rows: Vec<Json>| -> Vec<Json> {
        rows.into_iter()
            .map(|row| {
                let text = |k: &str| row[k].as_str().map(|s| serde_json::from_str(s).unwrap()).unwrap_or(Json::Null);
                json!([
                    row["record_id"],
                    row["operation_name"],
                    text("input_data"),
                    text("output_data"),
                    row["policy_decision"],
                    row["record_hash"]
                ])
            })
            .collect()
    };
    assert_eq!(parsed(from_csv), expected);

    let db = dir.path().join("out.duckdb");
    let (code, stdout, _) = mxcp(dir.path(), &["log", "--export-duckdb", db.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("Exported 6 records to {}", db.display()));
    let types = query(
        dir.path(),
        "SELECT column_name || ' ' || data_type AS c FROM information_schema.columns WHERE table_name = 'audit_logs' ORDER BY ordinal_position",
        Some(&db),
    );
    let types: Vec<&str> = types.iter().map(|t| t["c"].as_str().unwrap()).collect();
    assert_eq!(types[5], "duration_ms INTEGER");
    assert_eq!(types[13], "business_context JSON");
    assert_eq!(types[17], "input_data JSON");
    assert_eq!(types.len(), 23);
    let rows = query(
        dir.path(),
        "SELECT record_id, operation_name, CAST(input_data AS VARCHAR) AS input_data, \
         CAST(output_data AS VARCHAR) AS output_data, policy_decision, record_hash FROM audit_logs",
        Some(&db),
    );
    assert_eq!(parsed(rows), expected);

    // with a filter
    let (code, stdout, _) =
        mxcp(dir.path(), &["log", "--status", "error", "--export-csv", csv.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Json>(&stdout).unwrap()["result"]["exported"], 2);
}

/// Moves the records before `keep` back by `days` and re-seals the chain (the documented hash),
/// as if they had been written then.
fn age_records(files: &[std::path::PathBuf], old: usize, days: u32) {
    let script = r#"
import datetime, hashlib, json, sys
old, days, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
prev, n = None, 0
for f in files:
    out = []
    for line in open(f, encoding="utf-8"):
        r = json.loads(line)
        if n < old:
            t = datetime.datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) - datetime.timedelta(days=days)
            r["timestamp"] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        r["prev_hash"] = prev
        r.pop("record_hash"); r.pop("signature")
        prev = hashlib.sha256(json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        r["record_hash"], r["signature"] = prev, None
        out.append(json.dumps(r, ensure_ascii=False) + "\n")
        n += 1
    open(f, "w", encoding="utf-8").write("".join(out))
"#;
    let out = std::process::Command::new(common::client_python())
        .args(["-c", script, &old.to_string(), &days.to_string()])
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn cleanup_removes_records_older_than_the_retention() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = fixture();
    // two runs, two files: 3 records, then 2
    let mut s = RawStdio::start(dir.path(), &[]);
    for i in 1..=3 {
        s.call("get_item", json!({"item_id": i}));
    }
    s.finish();
    let mut s = RawStdio::start(dir.path(), &[]);
    for i in 4..=5 {
        s.call("get_item", json!({"item_id": i}));
    }
    s.finish();
    let files = log_files(&dir.path().join("audit"));
    assert_eq!(files.len(), 2);
    // the first file and the first record of the second are 100 days old
    age_records(&files, 4, 100);
    assert_eq!(mxcp(dir.path(), &["log", "verify"]).0, 0, "re-sealed as written");
    let modified = std::fs::metadata(&files[1]).unwrap().modified().unwrap();

    let cleanup = |args: &[&str]| {
        let mut all = vec!["log-cleanup", "--json"];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = mxcp(dir.path(), &all);
        assert_eq!(code, 0, "{stdout}{stderr}");
        serde_json::from_str::<Json>(&stdout).unwrap()["result"].clone()
    };
    assert_eq!(
        cleanup(&["--dry-run"]),
        json!({"status": "dry_run", "message": "Would delete 4 records", "deleted_per_schema": {"mxcp.endpoints:v2": 4}})
    );
    assert_eq!(records(dir.path()).len(), 5, "a dry run deletes nothing");
    assert_eq!(
        cleanup(&[]),
        json!({"status": "success", "message": "Deleted 4 records", "deleted_per_schema": {"mxcp.endpoints:v2": 4}})
    );
    assert!(!files[0].exists(), "a file of old records only is deleted");
    let left = records(dir.path());
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["input_data"]["item_id"], 5);
    assert_eq!(
        std::fs::metadata(&files[1]).unwrap().modified().unwrap(),
        modified,
        "the rewritten file keeps its time"
    );
    assert_eq!(log_json(dir.path(), &[])["count"], 1);
    assert_eq!(cleanup(&[]), json!({"status": "success", "message": "Deleted 0 records", "deleted_per_schema": {}}));
    // the chain now starts after what log-cleanup removed, as its note says
    let (code, stdout, stderr) = mxcp(dir.path(), &["log", "verify"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    std::fs::remove_file(dir.path().join("audit/logs-default_retention.jsonl")).unwrap();
    assert_eq!(mxcp(dir.path(), &["log", "verify"]).0, 1, "without the note the removal shows");
}
