//! `mxcp init` creates a project that validates, lists and runs; it refuses to overwrite.

mod common;

use common::{mxcp, run};

#[test]
fn bootstrap_project_validates_lists_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(mxcp(dir.path()).args(["init", "--bootstrap", "demo"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let demo = dir.path().join("demo");
    for d in ["tools", "resources", "prompts", "sql", "python", "plugins", "data"] {
        assert!(demo.join(d).is_dir(), "{d} missing");
    }
    assert!(demo.join("data/db-default.duckdb").is_file());
    assert_eq!(
        std::fs::read_to_string(demo.join("mxcp-site.yml")).unwrap(),
        "mxcp: 1\nprofile: default\nproject: demo\n"
    );
    assert_eq!(
        std::fs::read_to_string(demo.join("tools/hello-world.yml")).unwrap(),
        std::fs::read_to_string(common::repo_root().join("examples/hello/tools/hello-world.yml")).unwrap()
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo.join("server_config.json")).unwrap()).unwrap();
    let server = &config["mcpServers"]["demo"];
    assert!(server["command"].as_str().unwrap().ends_with("mxcp"));
    assert_eq!(server["args"][2], "serve");

    let (code, stdout, stderr) = run(mxcp(&demo).arg("validate"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = run(mxcp(&demo).args(["list", "--json-output"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"]["endpoints"][0]["name"], "hello_world");
    assert_eq!(v["result"]["endpoints"][0]["kind"], "tool");
    assert_eq!(v["result"]["endpoints"][0]["error"], "");

    let (code, stdout, stderr) =
        run(mxcp(&demo).args(["run", "tool", "hello_world", "--param", "name=World", "--json-output"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "{\n  \"status\": \"ok\",\n  \"result\": \"Hello, World!\"\n}\n");
}

#[test]
fn refuses_inside_an_existing_project() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _) = run(mxcp(dir.path()).args(["init", "p"]));
    assert_eq!(code, 0);
    let (code, _, stderr) = run(mxcp(dir.path()).args(["init", "p/sub"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("already belongs to a project"), "{stderr}");
}

#[test]
fn version_and_help_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(mxcp(dir.path()).arg("--version"));
    assert_eq!(code, 0);
    assert!(stdout.starts_with("mxcp "), "{stdout}");
    // the embedded interpreter's exact version and the DuckDB linked in
    let patch = stdout.split("(CPython 3.11.").nth(1).and_then(|r| r.split(' ').next()).unwrap_or_default();
    assert!(!patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit()), "patch level: {stdout}");
    assert!(stdout.contains("]; DuckDB v"), "{stdout}");
    // the portable build's record: Debian's source package (the patch level) and the glibc floor
    assert!(stdout.contains(" [Debian source 3.11.2-6+deb12u"), "{stdout}");
    let floor = format!(", static, built for {}-linux-gnu.2.28 (zig ", std::env::consts::ARCH);
    assert!(stdout.contains(&floor), "{stdout}");
    for cmd in ["init", "list", "validate", "run", "query", "test", "lint"] {
        let (code, stdout, _) = run(mxcp(dir.path()).args([cmd, "--help"]));
        assert_eq!(code, 0, "{cmd}");
        assert!(stdout.contains("Usage: mxcp"), "{cmd}: {stdout}");
    }
}
