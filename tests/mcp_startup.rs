//! `mxcp serve` start-up: a project with an invalid endpoint is refused with every finding
//! listed, unless `--ignore-errors`, which serves the rest and says what it left out.

mod common;

use std::process::Stdio;

use serde_json::json;

fn project() -> tempfile::TempDir {
    common::project(&[
        (
            "tools/good.yml",
            "mxcp: 1\ntool:\n  name: good\n  description: d\n  return: {type: integer}\n  source:\n    code: SELECT 1 AS n\n",
        ),
        (
            "tools/broken.yml",
            "mxcp: 1\ntool:\n  name: broken\n  description: d\n  descripton: typo\n  source:\n    code: SELEC 1\n",
        ),
    ])
}

#[test]
fn invalid_endpoints_stop_the_server_with_every_finding() {
    let dir = project();
    let (code, out, err) = common::run(common::mxcp(dir.path()).args(["serve"]).stdin(Stdio::null()));
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "nothing on the protocol stream: {out}");
    assert!(err.contains("unknown key 'descripton'") && err.contains("tools/broken.yml"), "{err}");
    assert!(err.contains("syntax error"), "the SQL finding too: {err}");
    assert!(err.contains("fix them or start with --ignore-errors"), "{err}");
}

#[test]
fn ignore_errors_serves_the_valid_endpoints() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = project();
    let (code, _, err) = common::run(common::mxcp(dir.path()).args(["serve", "--ignore-errors"]).stdin(Stdio::null()));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: skipping tools/broken.yml (it has errors)"), "{err}");
    let mxcp = env!("CARGO_BIN_EXE_mxcp");
    let cfg = format!("MXCP_CONFIG={}", common::repo_root().join("tests/fixtures/empty-config.yml").display());
    let report = common::mcp_call(&[
        "--stdio",
        &format!("{mxcp} serve --ignore-errors"),
        "--cwd",
        dir.path().to_str().unwrap(),
        "--env",
        &cfg,
        "--call",
        "good",
        "{}",
    ]);
    assert_eq!(report["tools"], json!(["good"]));
    assert_eq!(report["calls"][0]["texts"], json!(["1"]));
}

#[test]
fn endpoints_are_loaded_once_and_sql_tools_are_offered_on_request() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = common::project(&[
        ("tools/good.yml", "mxcp: 1\ntool:\n  name: good\n  description: d\n  source:\n    file: ../sql/good.sql\n"),
        ("sql/good.sql", "SELECT 41 + 1 AS n\n"),
    ]);
    let mut server = common::HttpServer::start(dir.path(), &["--sql-tools", "true"]);
    let first = common::mcp_call(&["--url", &server.url, "--call", "good", "{}"]);
    assert_eq!(first["calls"][0]["texts"], json!(["{\n  \"n\": 42\n}"]), "{first}");
    // definitions were read at start and the SQL at the first call: later calls read no file
    std::fs::remove_dir_all(dir.path().join("tools")).unwrap();
    std::fs::remove_dir_all(dir.path().join("sql")).unwrap();
    let report = common::mcp_call(&[
        "--url",
        &server.url,
        "--call",
        "good",
        "{}",
        "--call",
        "execute_sql_query",
        r#"{"sql": "SELECT 7 AS seven"}"#,
    ]);
    assert_eq!(report["tools"], json!(["execute_sql_query", "get_table_schema", "good", "list_tables"]));
    assert_eq!(report["calls"][0]["texts"], json!(["{\n  \"n\": 42\n}"]), "{report}");
    assert_eq!(report["calls"][1]["structured"], json!({"result": [{"seven": 7}]}), "{report}");
    server.terminate();
    assert!(server.wait_exit(std::time::Duration::from_secs(10)));
}
