//! `mxcp drift-snapshot` and `mxcp drift-check` on a real project and database
//! (tests/fixtures/drift): the exact text report of each kind of drift, the exit codes, the
//! refusal to overwrite, the site's `drift.path`, and baselines written by the reference.

mod common;

use std::path::Path;

use common::{mxcp, run};
use mxcp_runtime::drift::Snapshot;
use serde_json::{Value as Json, json};

const SNAPSHOT: &str = "drift/drift-default.json";

/// A scratch copy of the fixture with its database set up (no snapshot yet).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_root().join("tests/fixtures/drift"), dir.path());
    sql(dir.path(), "--file=setup.sql");
    dir
}

/// The fixture with its baseline snapshot written.
fn baseline() -> tempfile::TempDir {
    let dir = fixture();
    let (code, out, err) = run(mxcp(dir.path()).arg("drift-snapshot"));
    assert_eq!(code, 0, "{out}{err}");
    dir
}

fn sql(root: &Path, arg: &str) {
    let (code, out, err) = run(mxcp(root).args(["query", arg]));
    assert_eq!(code, 0, "mxcp query {arg}: {out}{err}");
}

/// Output with the project path as `<ROOT>` and timestamps as `<TIMESTAMP>`.
fn normalize(root: &Path, text: &str) -> String {
    let mut text = text.to_string();
    for r in [root.canonicalize().unwrap(), root.to_path_buf()] {
        text = text.replace(&*r.to_string_lossy(), "<ROOT>");
    }
    // 2026-12-01T12:48:42.747004+00:00
    let shape = "dddd-dd-ddTdd:dd:dd.dddddd+00:00".as_bytes();
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let is_stamp = bytes.len() - i >= shape.len()
            && shape.iter().zip(&bytes[i..]).all(|(p, c)| if *p == b'd' { c.is_ascii_digit() } else { p == c });
        if is_stamp {
            out.push_str("<TIMESTAMP>");
            i += shape.len();
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `mxcp drift-check` (text): exit code and the normalised report.
fn check(root: &Path) -> (i32, String) {
    let (code, out, err) = run(mxcp(root).arg("drift-check"));
    assert!(err.is_empty() || code != 2, "{err}");
    (code, normalize(root, &out))
}

fn check_json(root: &Path, extra: &[&str]) -> (i32, Json) {
    let (code, out, err) = run(mxcp(root).args(["drift-check", "--json-output"]).args(extra));
    let v: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, v)
}

const HEADER: &str = "Drift check against <ROOT>/drift/drift-default.json (baseline of <TIMESTAMP>)\n";

/// After `change` to a project with a baseline, `drift-check` exits 1 and reports `HEADER`,
/// a blank line and `body`. The project, for more checks.
fn assert_drift(change: impl FnOnce(&Path), body: &str) -> tempfile::TempDir {
    let dir = baseline();
    change(dir.path());
    let (code, text) = check(dir.path());
    assert_eq!(text, format!("{HEADER}\n{body}"));
    assert_eq!(code, 1, "drift exits 1");
    dir
}

#[test]
fn no_drift_exits_0() {
    let dir = baseline();
    let (code, text) = check(dir.path());
    assert_eq!(text, format!("{HEADER}\nNo drift: 1 table and 3 endpoint files as in the baseline.\n"));
    assert_eq!(code, 0);
    let (code, v) = check_json(dir.path(), &[]);
    assert_eq!(code, 0);
    let r = &v["result"];
    assert_eq!(v["status"], "ok");
    assert_eq!(r["has_drift"], false);
    assert_eq!(r["table_changes"], json!([]));
    assert_eq!(r["resource_changes"], json!([]));
    assert_eq!(
        r["summary"],
        json!({"tables_added": 0, "tables_removed": 0, "tables_modified": 0, "resources_added": 0, "resources_removed": 0, "resources_modified": 0})
    );
}

#[test]
fn a_table_added() {
    let dir = assert_drift(
        |root| sql(root, "CREATE TABLE extra(x INTEGER, y VARCHAR)"),
        "Tables:
  + extra: added (x INTEGER, y VARCHAR)

Drift: tables 1 added, 0 removed, 0 modified; endpoints 0 added, 0 removed, 0 modified
",
    );
    let (code, v) = check_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["result"]["has_drift"], true);
    assert_eq!(
        v["result"]["table_changes"],
        json!([{"name": "extra", "change_type": "added", "columns_added": [{"name": "x", "type": "INTEGER"}, {"name": "y", "type": "VARCHAR"}]}])
    );
}

#[test]
fn a_column_type_changed() {
    let dir = assert_drift(
        |root| sql(root, "ALTER TABLE items ALTER price TYPE DECIMAL(8,3)"),
        "Tables:
  ~ items: modified
      ~ column price: DECIMAL(5,2) → DECIMAL(8,3)

Drift: tables 0 added, 0 removed, 1 modified; endpoints 0 added, 0 removed, 0 modified
",
    );
    let (_, v) = check_json(dir.path(), &[]);
    assert_eq!(
        v["result"]["table_changes"],
        json!([{"name": "items", "change_type": "modified", "columns_modified": [{"name": "price", "old_type": "DECIMAL(5,2)", "new_type": "DECIMAL(8,3)"}]}])
    );
}

#[test]
fn endpoints_added_removed_and_edited() {
    let dir = assert_drift(
        |root| {
            common::write(
                root,
                "tools/cheapest.yml",
                "mxcp: 1\ntool:\n  name: cheapest\n  source:\n    code: SELECT min(price) AS p FROM items\n",
            );
            std::fs::remove_file(root.join("prompts/greet.yml")).unwrap();
            let edited = std::fs::read_to_string(root.join("tools/list_items.yml"))
                .unwrap()
                .replace("Items up to a price", "Items");
            common::write(root, "tools/list_items.yml", &edited);
        },
        "Endpoints:
  + tool/cheapest (tools/cheapest.yml): added
  - prompt/greet (prompts/greet.yml): removed
  ~ tool/list_items (tools/list_items.yml): definition changed

Drift: tables 0 added, 0 removed, 0 modified; endpoints 1 added, 1 removed, 1 modified
",
    );
    let (_, v) = check_json(dir.path(), &[]);
    assert_eq!(
        v["result"]["resource_changes"],
        json!([
            {"path": "tools/cheapest.yml", "endpoint": "tool/cheapest", "change_type": "added", "details": {"added_resource": true}},
            {"path": "prompts/greet.yml", "endpoint": "prompt/greet", "change_type": "removed", "details": {"removed_resource": true}},
            {"path": "tools/list_items.yml", "endpoint": "tool/list_items", "change_type": "modified",
             "validation_changed": false, "test_results_changed": false, "definition_changed": true},
        ])
    );
    assert_eq!(
        v["result"]["summary"],
        json!({"tables_added": 0, "tables_removed": 0, "tables_modified": 0, "resources_added": 1, "resources_removed": 1, "resources_modified": 1})
    );
}

#[test]
fn tests_newly_failing() {
    let dir = assert_drift(
        |root| sql(root, "DELETE FROM items WHERE id = 3"),
        "Endpoints:
  ~ tool/item_count (tools/item_count.yml): tests ok → failed
      ~ test three: passed → failed: Result does not match expected output.
        Expected: 3
        Got: 2
  ~ tool/list_items (tools/list_items.yml): tests ok → failed
      ~ test all: passed → failed: Array has 2 items, expected 3

Drift: tables 0 added, 0 removed, 0 modified; endpoints 0 added, 0 removed, 2 modified
",
    );
    let (code, v) = check_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        v["result"]["resource_changes"][1],
        json!({"path": "tools/list_items.yml", "endpoint": "tool/list_items", "change_type": "modified",
               "validation_changed": false, "test_results_changed": true, "definition_changed": false,
               "details": {"test_changes": {"old_status": "ok", "new_status": "failed"}}})
    );
}

#[test]
fn a_broken_endpoint_reports_validation_and_tests() {
    let dir = baseline();
    sql(dir.path(), "ALTER TABLE items RENAME COLUMN name TO title");
    let (code, text) = check(dir.path());
    assert_eq!(code, 1);
    assert!(
        text.contains("  ~ items: modified\n      + column title VARCHAR\n      - column name VARCHAR\n"),
        "{text}"
    );
    assert!(
        text.contains("  ~ tool/list_items (tools/list_items.yml): validation ok → error, tests ok → error\n"),
        "{text}"
    );
    assert!(text.contains("      validation: "), "{text}");
    assert!(text.contains("      ~ test all: passed → error: Failed to execute SQL: "), "{text}");
    let (_, v) = check_json(dir.path(), &[]);
    assert_eq!(
        v["result"]["resource_changes"][0]["details"],
        json!({"validation_changes": {"old_status": "ok", "new_status": "error"}, "test_changes": {"old_status": "ok", "new_status": "error"}})
    );
}

#[test]
fn an_existing_snapshot_is_kept_without_force() {
    let dir = baseline();
    let root = dir.path();
    let before = std::fs::read(root.join(SNAPSHOT)).unwrap();
    let (code, out, err) = run(mxcp(root).arg("drift-snapshot"));
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        normalize(root, &err),
        "error: Drift snapshot already exists at <ROOT>/drift/drift-default.json. Use --force to overwrite.\n"
    );
    let (code, out, _) = run(mxcp(root).args(["drift-snapshot", "--json-output"]));
    assert_eq!(code, 1);
    let v: Json = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["status"], "error");
    assert_eq!(std::fs::read(root.join(SNAPSHOT)).unwrap(), before, "the snapshot was not touched");

    let (code, out, err) = run(mxcp(root).args(["drift-snapshot", "--force", "--json-output"]));
    assert_eq!(code, 0, "{out}{err}");
    let v: Json = serde_json::from_str(&out).unwrap();
    let written = Snapshot::read(&root.join(SNAPSHOT)).unwrap();
    assert_ne!(std::fs::read(root.join(SNAPSHOT)).unwrap(), before, "--force wrote a new snapshot");
    assert_eq!(v["result"]["generated_at"], written.generated_at);
    assert_eq!(v["result"]["drift_hash"], written.hash());
    assert_eq!(normalize(root, v["result"]["path"].as_str().unwrap()), "<ROOT>/drift/drift-default.json");
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = fixture();
    let root = dir.path();
    let (code, out, err) = run(mxcp(root).args(["drift-snapshot", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    assert!(!root.join("drift").exists(), "nothing written");
    let shown: Json = serde_json::from_str(&out).expect("the snapshot as JSON");
    assert_eq!(shown["version"], 1);
    let names: Vec<&str> = shown["tables"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["items"]);
    assert_eq!(
        normalize(root, &err),
        "dry run: nothing written (the snapshot goes to <ROOT>/drift/drift-default.json)\n"
    );
    let (code, out, _) = run(mxcp(root).args(["drift-snapshot", "--dry-run", "--json-output"]));
    assert_eq!(code, 0);
    let v: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "ok");
    assert!(!root.join("drift").exists(), "nothing written");
    let (code, v) = check_json(root, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        normalize(root, v["error"].as_str().unwrap()),
        "Failed to load baseline snapshot: Snapshot file not found: <ROOT>/drift/drift-default.json"
    );
}

#[test]
fn the_sites_drift_path_is_used() {
    let dir = fixture();
    let root = dir.path();
    common::write(
        root,
        "mxcp-site.yml",
        "mxcp: 1\nproject: drift\nprofile: default\nprofiles:\n  default:\n    drift:\n      path: snapshots/base.json\n",
    );
    let (code, out, err) = run(mxcp(root.join("tools").as_path()).arg("drift-snapshot"));
    assert_eq!(code, 0, "{err}");
    assert!(normalize(root, &out).starts_with("Drift snapshot written to <ROOT>/snapshots/base.json\n"), "{out}");
    assert!(root.join("snapshots/base.json").is_file());
    assert!(!root.join("drift").exists());
    let (code, text) = check(root);
    assert_eq!(code, 0);
    assert!(text.starts_with("Drift check against <ROOT>/snapshots/base.json "), "{text}");
}

/// tests/fixtures/drift/reference-baseline.json was written by the reference (MXCP 0.12.3) for
/// this fixture: mxcp reads it, finds no drift, writes the same file (but for timings and
/// timestamps; its discovery order happens to be sorted here) and computes the hash the
/// reference reported for it.
#[test]
fn a_baseline_written_by_the_reference() {
    let dir = fixture();
    let root = dir.path();
    let reference = common::repo_root().join("tests/fixtures/drift/reference-baseline.json");
    let (code, v) = check_json(root, &["--baseline", reference.to_str().unwrap()]);
    assert_eq!(v["result"]["has_drift"], false, "{v:#}");
    assert_eq!(code, 0);
    assert_eq!(v["result"]["baseline_snapshot_path"], reference.to_str().unwrap());

    let (code, _, err) = run(mxcp(root).arg("drift-snapshot"));
    assert_eq!(code, 0, "{err}");
    let mask = |text: &str| -> String {
        text.lines()
            .map(|l| match l.trim_start().split_once("\": ") {
                Some(("\"time" | "\"generated_at", _)) => "<masked>",
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ours = std::fs::read_to_string(root.join(SNAPSHOT)).unwrap();
    assert_eq!(mask(&ours), mask(&std::fs::read_to_string(&reference).unwrap()));

    // drift_hash as the reference printed it when it wrote the file
    assert_eq!(
        Snapshot::read(&reference).unwrap().hash(),
        "8040f8d43a9f8dbf272917fc745f2f9dd4abac0b25d6b4389715409c9d811fb4"
    );
}

#[test]
fn an_unreadable_baseline_is_reported() {
    let dir = fixture();
    let root = dir.path();
    common::write(root, "bad.json", "{\"version\": 1, \"tables\": [");
    let (code, out, err) = run(mxcp(root).args(["drift-check", "--baseline", "bad.json"]));
    assert_eq!(code, 1, "{out}");
    assert!(err.starts_with("error: Failed to load baseline snapshot: bad.json: EOF while parsing"), "{err}");
    common::write(root, "old.json", "{\"version\": 2, \"generated_at\": \"x\", \"tables\": [], \"resources\": []}");
    let (code, v) = check_json(root, &["--baseline", "old.json"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["error"],
        "Failed to load baseline snapshot: old.json: snapshot format version 2 is not supported (expected 1)"
    );
}
