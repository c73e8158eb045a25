//! The official MCP Python SDK (PyPI `mcp`, installed by `./dev test`) lists and calls every
//! kind of endpoint over stdio and over streamable HTTP, in the legacy (initialize) and the
//! 2026-07-28 (server/discover) protocol modes.

mod common;

use std::process::Command;

use common::HttpServer;

use serde_json::{Value as Json, json};

fn inventory() -> tempfile::TempDir {
    common::example("inventory")
}

fn sdk_check(target: &[&str], mode: &str) -> Json {
    let script = common::repo_root().join("tests/clients/sdk_check.py");
    let out = Command::new(common::client_python())
        .arg(script)
        .args(target)
        .args(["--mode", mode])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "sdk_check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn assert_inventory(o: &Json, mode: &str) {
    assert_eq!(o["tools"], json!(["count_items", "get_item", "list_items"]), "{mode}");
    assert_eq!(o["count_items_input"]["properties"]["category"]["enum"], json!(["fruit", "veg", "dairy"]));
    assert_eq!(o["count_items_input"]["properties"]["category"]["description"], "Category to count");
    assert_eq!(o["count_items_input"]["properties"]["category"]["examples"], json!(["fruit"]));
    assert_eq!(o["get_item_output"]["properties"]["price"]["description"], "Unit price", "outputSchema: {o}");
    assert_eq!(o["get_item"]["structured"], json!({"id": 1, "name": "apple", "price": "****"}));
    assert_eq!(o["count_items"], json!({"texts": ["2"], "structured": {"result": 2}, "isError": false}));
    assert_eq!(o["list_items"]["texts"].as_array().unwrap().len(), 4);
    assert_eq!(o["list_items"]["structured"]["result"][3]["price"], Json::Null);
    assert_eq!(o["bad_argument"]["isError"], true);
    assert_eq!(
        o["bad_argument"]["texts"][0],
        "Error executing tool get_item: Error validating parameter 'item_id': Value must be >= 1.0"
    );
    assert_eq!(o["unknown_tool"], json!({"texts": ["Unknown tool: nope"], "structured": null, "isError": true}));
    assert_eq!(o["resources"], json!(["inventory://categories"]));
    assert_eq!(o["templates"], json!(["inventory://items/{item_id}"]));
    assert_eq!(o["read_template"][0]["text"], "{\n  \"id\": 5,\n  \"label\": \"item 5\"\n}");
    assert_eq!(o["read_static"][0]["mimeType"], "application/json");
    assert!(
        o["read_unknown"].as_str().unwrap().contains("Unknown resource: inventory://nothing"),
        "{}",
        o["read_unknown"]
    );
    assert_eq!(o["prompts"], json!(["restock"]));
    assert_eq!(o["prompt"][1], json!(["user", "Plan a restock of veg items with a budget of 100."]));
    assert_eq!(o["progress"], json!([[0.0, 1.0], [1.0, 1.0]]), "{mode}: progress notifications");
}

#[test]
fn stdio_legacy_and_discover_modes() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = inventory();
    let mxcp = env!("CARGO_BIN_EXE_mxcp");
    let cmd = format!("{mxcp} -C {} serve --transport stdio", dir.path().display());
    let legacy = sdk_check(&["--stdio", &cmd], "legacy");
    assert_inventory(&legacy, "legacy");
    assert_eq!(legacy["protocol_version"], "2025-11-25");
    assert_eq!(legacy["logs"], json!(["error"]), "a failed call is logged once logging/setLevel was sent");
    let auto = sdk_check(&["--stdio", &cmd], "auto");
    assert_inventory(&auto, "auto");
    assert_eq!(auto["protocol_version"], "2026-07-28");
}

#[test]
fn http_legacy_and_discover_modes() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = inventory();
    let server = HttpServer::start(dir.path(), &[]);
    assert!(server.url.starts_with("http://127.0.0.1:"), "binds loopback by default: {}", server.url);
    let legacy = sdk_check(&["--url", &server.url], "legacy");
    assert_inventory(&legacy, "http legacy");
    let auto = sdk_check(&["--url", &server.url], "auto");
    assert_inventory(&auto, "http auto");
    drop(server); // a DuckDB file has one writer process: the next server gets its own copy
    let dir = inventory();
    let stateless = HttpServer::start(dir.path(), &["--stateless"]);
    assert_inventory(&sdk_check(&["--url", &stateless.url], "legacy"), "http stateless");
}
