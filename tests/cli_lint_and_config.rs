//! `mxcp lint` reports each finding once; user configuration (secrets, `${VAR}` only for the
//! active profile, refused `vault://`), read-only databases and offline extensions behave.

mod common;

use common::{mxcp, project, run};
use serde_json::Value as Json;

#[test]
fn lint_reports_each_finding_once() {
    let dir = project(&[(
        "tools/t.yml",
        "mxcp: 1\ntool:\n  name: t\n  parameters:\n    - {name: p, type: string}\n  return:\n    type: object\n    properties:\n      k: {type: string}\n  source:\n    code: SELECT $p AS k\n  tests:\n    - {name: one, arguments: [{key: p, value: x}]}\n",
    )]);
    let (code, stdout, _) = run(mxcp(dir.path()).args(["lint", "--json-output"]));
    assert_eq!(code, 0);
    let v: Json = serde_json::from_str(&stdout).unwrap();
    let got: Vec<String> = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {} | {}",
                i["severity"].as_str().unwrap(),
                i["location"].as_str().unwrap(),
                i["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "info tool.annotations | Tool has no behavioral annotations",
            "info tool.tags | Tool has no tags",
            "warning tool.description | Tool is missing a description",
            "info tool.parameters[0].default | Parameter 'p' has no default value",
            "info tool.parameters[0].examples | Parameter 'p' has no examples",
            "error tool.parameters[0].description | Parameter 'p' is missing a description",
            "warning tool.return.description | Return type is missing a description",
            "warning tool.return.properties.k | Property 'k' is missing a description",
            "info tool.tests[0].description | Test 'one' is missing a description",
        ]
    );
    let (_, stdout, _) = run(mxcp(dir.path()).args(["lint", "--severity", "warning", "--json-output"]));
    let v: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), 4, "errors and warnings: {v}");
}

fn config_project(config: &str) -> tempfile::TempDir {
    project(&[
        ("config.yml", config),
        (
            "tools/t.yml",
            "mxcp: 1\ntool:\n  name: t\n  return: {type: string}\n  source:\n    code: SELECT current_setting('threads')::VARCHAR AS x\n",
        ),
    ])
}

#[test]
fn variables_of_inactive_profiles_need_not_be_set() {
    let dir = config_project(
        "mxcp: 1\nprojects:\n  test:\n    profiles:\n      default:\n        secrets: []\n      prod:\n        secrets:\n          - {name: s, type: http, parameters: {BEARER_TOKEN: '${MXCP_TEST_NEVER_SET}'}}\n",
    );
    let cfg = dir.path().join("config.yml");
    let (code, stdout, stderr) = run(mxcp(dir.path()).env("MXCP_CONFIG", &cfg).args(["run", "tool", "t"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, _, stderr) =
        run(mxcp(dir.path()).env("MXCP_CONFIG", &cfg).args(["run", "tool", "t", "--profile", "prod"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("Environment variable MXCP_TEST_NEVER_SET is not set"), "{stderr}");
    assert!(stderr.contains("config.yml:9:"), "position of the reference: {stderr}");
}

#[test]
fn vault_references_are_refused_clearly() {
    let dir = config_project(
        "mxcp: 1\nprojects:\n  test:\n    profiles:\n      default:\n        secrets:\n          - {name: s, type: http, parameters: {TOKEN: 'vault://secret/x#y'}}\n",
    );
    let (code, _, stderr) =
        run(mxcp(dir.path()).env("MXCP_CONFIG", dir.path().join("config.yml")).args(["run", "tool", "t"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("vault:// references are not supported in this build"), "{stderr}");
}

#[test]
fn readonly_database_refuses_writes() {
    let dir = project(&[]);
    let (code, _, _) = run(mxcp(dir.path()).args(["query", "CREATE TABLE t(x INTEGER)"]));
    assert_eq!(code, 0);
    let (code, stdout, _) =
        run(mxcp(dir.path()).args(["query", "INSERT INTO t VALUES (1)", "--readonly", "--json-output"]));
    assert_eq!(code, 1);
    assert!(stdout.to_lowercase().contains("read-only"), "{stdout}");
    let (code, _, _) = run(mxcp(dir.path()).env("MXCP_READONLY", "1").args(["query", "SELECT * FROM t"]));
    assert_eq!(code, 0);
}

#[test]
fn extensions_load_offline_or_fail_with_their_name() {
    let dir = project(&[]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nextensions: [json, parquet]\n",
    );
    let (code, stdout, stderr) =
        run(mxcp(dir.path()).args(["query", "SELECT '{\"a\": 1}'::JSON->>'a' AS a", "--json-output"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    common::write(dir.path(), "mxcp-site.yml", "mxcp: 1\nproject: test\nprofile: default\nextensions: [no_such_ext]\n");
    let (code, stdout, _) = run(mxcp(dir.path()).args(["query", "SELECT 1", "--json-output"]));
    assert_eq!(code, 1);
    assert!(stdout.contains("extension 'no_such_ext' cannot be loaded"), "{stdout}");
}

#[test]
fn secrets_reach_duckdb_quoted() {
    // No secret type is available offline without its extension (s3 needs httpfs): DuckDB's
    // answer must be about the type, never a syntax error from a quote in a value.
    let dir = config_project(
        "mxcp: 1\nprojects:\n  test:\n    profiles:\n      default:\n        secrets:\n          - {name: s3creds, type: s3, parameters: {KEY_ID: \"it's\", SECRET: x}}\n",
    );
    let (code, stdout, stderr) = run(mxcp(dir.path()).env("MXCP_CONFIG", dir.path().join("config.yml")).args([
        "query",
        "SELECT 1 AS one",
        "--json-output",
    ]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("secret 's3creds' (type s3) was not created in DuckDB"), "{stderr}");
    assert!(!stderr.contains("Parser Error"), "{stderr}");
}
