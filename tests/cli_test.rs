//! `mxcp test`: every assertion kind passes and fails with the reference's messages, errors
//! are errors (not failures), falsy results are testable, and the exit code follows.

mod common;

use std::collections::BTreeMap;

use common::{mxcp, run};

fn outcomes() -> (i32, BTreeMap<String, (String, String)>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_root().join("tests/fixtures/assertions"), dir.path());
    let (code, stdout, stderr) = run(mxcp(dir.path()).args(["test", "--json-output"]));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let mut map = BTreeMap::new();
    for ep in v["result"]["endpoints"].as_array().unwrap() {
        for t in ep["test_results"]["tests"].as_array().unwrap() {
            let key = format!("{}:{}", ep["endpoint"].as_str().unwrap(), t["name"].as_str().unwrap());
            map.insert(key, (t["status"].as_str().unwrap().to_string(), t["error"].as_str().unwrap_or("").to_string()));
        }
    }
    (code, map, v)
}

#[test]
fn every_assertion_kind_with_its_messages() {
    let (code, got, v) = outcomes();
    assert_eq!(code, 1, "failures make mxcp test exit 1");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["result"]["status"], "error");
    let expect = |k: &str, status: &str, msg: &str| {
        let (s, m) = got.get(k).unwrap_or_else(|| panic!("no test {k}"));
        assert_eq!((s.as_str(), m.as_str()), (status, msg), "{k}");
    };
    expect("tool/items:length_ok", "passed", "");
    expect("tool/items:length_bad", "failed", "Array has 3 items, expected 99");
    expect("tool/items:item_ok", "passed", "");
    expect("tool/items:item_bad", "failed", "Array does not contain expected item: {'name': 'kiwi'}");
    expect("tool/items:all_ok", "passed", "");
    expect("tool/items:all_bad", "failed", "Array does not contain expected item: {'id': 4}");
    expect("tool/items:contains_fields_ok", "passed", "");
    expect(
        "tool/items:contains_fields_bad",
        "failed",
        "No item in array contains the expected fields: {'id': 2, 'name': 'apple'}",
    );
    expect("tool/items:exact_ok", "passed", "");
    expect("tool/items:text_ok", "passed", "");
    expect(
        "tool/items:not_contains_on_list",
        "failed",
        "result_not_contains assertion requires dict result, got <class 'list'>",
    );
    expect("tool/one:contains_ok", "passed", "");
    expect("tool/one:contains_missing", "failed", "Expected field 'color' not found in result");
    expect("tool/one:contains_wrong", "failed", "Field 'name' has value apple, expected pear");
    expect("tool/one:not_contains_ok", "passed", "");
    expect("tool/one:not_contains_bad", "failed", "Field 'name' should not be present in result but was found");
    expect(
        "tool/one:exact_bad",
        "failed",
        "Result does not match expected output.\nExpected: {'id': 2, 'name': 'apple'}\nGot: {'id': 1, 'name': 'apple'}",
    );
    expect("tool/one:text_bad", "failed", "Result does not contain expected text: 'banana'");
    expect("tool/one:length_on_object", "failed", "result_length assertion requires array result, got <class 'dict'>");
    expect("tool/zero:zero_ok", "passed", "");
    expect(
        "tool/zero:zero_is_not_empty_list",
        "failed",
        "Result does not match expected output.\nExpected: []\nGot: 0",
    );
    expect(
        "tool/zero:contains_on_scalar",
        "failed",
        "result_contains assertion requires dict or array result, got <class 'int'>",
    );
    let (status, message) = &got["tool/broken:errors"];
    assert_eq!(status, "error");
    assert!(message.starts_with("Failed to execute SQL: ") && message.contains("boom"), "{message}");
}

#[test]
fn single_endpoint_mode_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_root().join("tests/fixtures/assertions"), dir.path());
    let (code, stdout, _) = run(mxcp(dir.path()).args(["test", "tool", "items", "--json-output"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"]["tests_run"], 11);
    assert_eq!(v["result"]["status"], "failed");
    let inventory = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_root().join("examples/inventory"), inventory.path());
    let (code, stdout, _) = run(mxcp(inventory.path()).arg("test"));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("tests: 5 passed, 0 failed, 0 errors"), "{stdout}");
}
