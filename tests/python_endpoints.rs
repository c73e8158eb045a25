//! Python endpoints in the embedded interpreter (examples/pytools): sync and async tools,
//! `db.execute` with parameters and Python-native values, secrets and settings, hooks,
//! `mcp.info`/`mcp.progress`, exceptions, a plugin's DuckDB function called from SQL, through
//! `mxcp run`, `mxcp test` and over MCP (stdio and HTTP) with the official Python SDK.

mod common;

use std::path::Path;

use serde_json::{Value as Json, json};

fn pytools() -> tempfile::TempDir {
    common::example("pytools")
}

fn mxcp(dir: &Path) -> std::process::Command {
    let mut cmd = common::mxcp(dir);
    cmd.env("MXCP_CONFIG", dir.join("config.yml"));
    cmd
}

/// `mxcp serve` over stdio (with `serve_args`) on the project in `dir`, driven by the official
/// Python SDK making `calls` (`--call NAME JSON` pairs).
fn serve_stdio(dir: &Path, serve_args: &str, calls: &[&str]) -> Json {
    let mxcp = env!("CARGO_BIN_EXE_mxcp");
    let cfg = format!("MXCP_CONFIG={}", dir.join("config.yml").display());
    let cache = format!("MXCP_CACHE_DIR={}", common::shared_cache().display());
    let command = format!("{mxcp} serve --transport stdio {serve_args}");
    let mut args = vec!["--stdio", &command, "--cwd", dir.to_str().unwrap(), "--env", &cfg, "--env", &cache];
    args.extend_from_slice(calls);
    common::mcp_call(&args)
}

fn run_tool(dir: &Path, name: &str, params: &[&str]) -> (i32, Json, String) {
    let mut cmd = mxcp(dir);
    cmd.args(["run", "tool", name, "--json-output"]);
    for p in params {
        cmd.args(["--param", p]);
    }
    let (code, out, err) = common::run(&mut cmd);
    let v: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

#[test]
fn sync_tool_and_prints_go_to_stderr() {
    let dir = pytools();
    let (code, v, err) = run_tool(dir.path(), "add", &["a=2", "b=40"]);
    assert_eq!((code, &v), (0, &json!({"status": "ok", "result": 42})), "{err}");
    assert!(err.contains("adding 2 and 40"), "print() goes to stderr: {err}");
    assert!(err.contains("shutdown hook ran"), "@on_shutdown ran at exit: {err}");
}

#[test]
fn async_tool() {
    let dir = pytools();
    let (code, v, err) = run_tool(dir.path(), "countdown", &["start=3"]);
    assert_eq!((code, &v["result"]), (0, &json!({"done": true, "steps": 3})), "{err}");
    assert!(err.contains("info: counting down from 3"), "mcp.info is logged outside a server: {err}");
}

#[test]
fn db_execute_with_parameters_returns_python_values() {
    let dir = pytools();
    let (code, v, err) = run_tool(dir.path(), "add_note", &["note_id=7", "body=hello", "created=2024-02-29"]);
    assert_eq!(code, 0, "{err}");
    // DECIMAL(10, 2) comes back exact
    let expected: Json = serde_json::from_str(
        r#"{"id": 7, "body": "hello", "created": "2024-02-29", "types": ["date", "Decimal"], "amount": 12.50}"#,
    )
    .unwrap();
    assert_eq!(v["result"], expected);
}

#[test]
fn secrets_settings_hooks_and_plugins() {
    let dir = pytools();
    let (code, v, err) = run_tool(dir.path(), "whoami", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        v["result"],
        json!({"user": "alice", "project": "pytools", "missing": "fallback", "events": ["init"], "plugins": ["text"]})
    );
}

#[test]
fn reload_duckdb_runs_payload_and_hooks_again() {
    let dir = pytools();
    let (code, v, err) = run_tool(dir.path(), "reload_database", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["result"], json!({"ran": ["payload"], "events": ["init", "init"], "notes": 0}));
    assert!(err.contains("reloading the database: example reload"), "{err}");
    assert_eq!(err.matches("shutdown hook ran").count(), 2, "once for the reload, once at exit: {err}");
    assert_eq!(err.matches("text plugin shut down").count(), 1, "plugins outlive a reload: {err}");
}

#[test]
fn exception_becomes_the_error_message() {
    let dir = pytools();
    let (code, v, _) = run_tool(dir.path(), "check_positive", &["value=-3"]);
    assert_eq!((code, &v), (1, &json!({"status": "error", "error": "negative not allowed"})));
}

#[test]
fn plugin_udf_called_from_sql() {
    let dir = pytools();
    // the user config sets the plugin's rotation to 2
    let (code, v, err) = run_tool(dir.path(), "shifted", &["text=hello"]);
    assert_eq!((code, &v["result"]), (0, &json!("jgnnq")), "{err}");
    let (code, v, err) = run_tool(dir.path(), "plugin_types", &[]);
    assert_eq!((code, &v["result"]), (0, &json!({"d": "2024-02-29", "n": 2})), "{err}");
}

#[test]
fn missing_plugin_configuration_is_reported() {
    let dir = pytools();
    let mut cmd = common::mxcp(dir.path()); // the empty user configuration
    let (code, out, _) =
        common::run(cmd.args(["run", "tool", "add", "--param", "a=1", "--param", "b=1", "--json-output"]));
    assert_eq!(code, 1);
    assert_eq!(
        serde_json::from_str::<Json>(&out).unwrap()["error"],
        "Plugin configuration 'text' not found in plugin config"
    );
}

#[test]
fn inline_tests_pass() {
    let dir = pytools();
    let (code, out, err) = common::run(mxcp(dir.path()).args(["test", "--json-output"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(v["result"]["status"], "ok");
    assert_eq!(v["result"]["tests_run"], 4);
}

#[test]
fn validate_checks_signatures_without_running_modules() {
    let dir = common::project(&[
        (
            "python/bad.py",
            "raise SystemExit('module bodies must not run during validate')\n\
             def wrong(a: int, extra, *, c: str = 'x'):\n    return a\n\
             def fine(day: 'date', n: float | None = None, **rest):\n    return 1\n",
        ),
        (
            "tools/wrong.yml",
            "mxcp: 1\ntool:\n  name: wrong\n  description: d\n  language: python\n  parameters:\n    \
             - {name: a, type: string, description: x}\n    - {name: b, type: integer, description: y}\n  \
             source: {file: ../python/bad.py}\n",
        ),
        (
            "tools/fine.yml",
            "mxcp: 1\ntool:\n  name: fine\n  description: d\n  language: python\n  parameters:\n    \
             - {name: day, type: string, format: date, description: x}\n    \
             - {name: n, type: number, description: y, default: 1}\n    - {name: other, type: string, description: z}\n  \
             source: {file: ../python/bad.py}\n",
        ),
        (
            "tools/gone.yml",
            "mxcp: 1\ntool:\n  name: gone\n  description: d\n  language: python\n  source: {file: ../python/bad.py}\n",
        ),
        ("python/syntax.py", "def broken(:\n"),
        (
            "tools/broken.yml",
            "mxcp: 1\ntool:\n  name: broken\n  description: d\n  language: python\n  source: {file: ../python/syntax.py}\n",
        ),
    ]);
    let (code, out, err) = common::run(common::mxcp(dir.path()).args(["validate", "--json-output"]));
    assert_eq!(code, 1, "{out}\n{err}");
    let v: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(
        common::diagnostic_lines(&v),
        vec![
            // the call survives a disagreeing annotation: a warning
            "warning python/bad.py:2:14  | parameter 'a' is annotated 'int', but the endpoint declares it as string",
            "error python/bad.py:2:19  | function 'wrong' requires parameter 'extra', which the endpoint does not declare",
            "error python/syntax.py:1:12  | syntax error: invalid syntax",
            "error tools/gone.yml:6:18 tool.source | Function 'gone' not found in python/bad.py",
            "error tools/wrong.yml:8:7 tool.parameters[1] | parameter 'b' is declared, but function 'wrong' in python/bad.py (line 2) has no parameter 'b'",
        ]
    );
}

#[test]
fn over_mcp_stdio_with_notifications() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = pytools();
    let report = serve_stdio(
        dir.path(),
        "",
        &[
            "--call",
            "add",
            r#"{"a": 1, "b": 2}"#,
            "--call",
            "noisy",
            "{}",
            "--call",
            "countdown",
            r#"{"start": 3}"#,
            "--call",
            "check_positive",
            r#"{"value": -1}"#,
            "--call",
            "shifted",
            r#"{"text": "abc"}"#,
            "--call",
            "add_note",
            r#"{"note_id": 1, "body": "x", "created": "2020-01-01"}"#,
        ],
    );
    assert_eq!(
        report["tools"],
        json!([
            "add",
            "add_note",
            "check_positive",
            "countdown",
            "noisy",
            "plugin_types",
            "reload_database",
            "shifted",
            "spin",
            "spin_async",
            "spin_stopped",
            "whoami"
        ])
    );
    let mut calls = report["calls"].as_array().unwrap().clone();
    // stdout writes from tools (print, and a raw write to fd 1) did not corrupt the session
    assert_eq!(calls[0]["texts"], json!(["3"]));
    assert_eq!(calls.remove(1)["texts"], json!(["ok"]));
    assert_eq!(calls[1]["structured"], json!({"done": true, "steps": 3}));
    assert_eq!(
        calls[1]["progress"],
        json!([[0.0, 1.0, null], [1.0, 3.0, "2 left"], [2.0, 3.0, "1 left"], [3.0, 3.0, "0 left"]])
    );
    assert_eq!(calls[2]["isError"], true);
    assert_eq!(calls[2]["texts"], json!(["Error executing tool check_positive: negative not allowed"]));
    assert_eq!(calls[3]["texts"], json!(["cde"]));
    assert_eq!(calls[4]["structured"]["types"], json!(["date", "Decimal"]));
    let logs = report["logs"].as_array().unwrap();
    assert!(logs.contains(&json!(["info", "counting down from 3"])), "{logs:?}");
    assert!(!dir.path().join("python/__pycache__").exists(), "the server writes no bytecode");
}

#[test]
fn over_mcp_http() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = pytools();
    let mut server = common::HttpServer::start_with_env(
        dir.path(),
        &[],
        &[("MXCP_CONFIG", dir.path().join("config.yml").to_str().unwrap())],
    );
    let report =
        common::mcp_call(&["--url", &server.url, "--call", "countdown", r#"{"start": 2}"#, "--call", "whoami", "{}"]);
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(calls[0]["structured"], json!({"done": true, "steps": 2}));
    assert_eq!(calls[0]["progress"].as_array().unwrap().len(), 3, "{report}");
    let whoami = &calls[1]["structured"];
    assert_eq!(
        (&whoami["user"], &whoami["project"], &whoami["events"]),
        (&json!("alice"), &json!("pytools"), &json!(["init"]))
    );
    server.terminate();
    assert!(server.wait_exit(std::time::Duration::from_secs(10)));
}

#[test]
fn call_timeout_interrupts_python() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = pytools();
    let report = serve_stdio(
        dir.path(),
        "--call-timeout 1",
        &[
            "--call",
            "spin",
            "{}",
            "--call",
            "spin_stopped",
            r#"{"which": "sync"}"#,
            "--call",
            "spin_async",
            "{}",
            "--call",
            "spin_stopped",
            r#"{"which": "async"}"#,
        ],
    );
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(calls[0]["texts"], json!(["Error executing tool spin: the call timed out after 1 s"]));
    assert_eq!(calls[1]["texts"], json!(["true"]), "the looping function was interrupted");
    assert_eq!(calls[2]["texts"], json!(["Error executing tool spin_async: the call timed out after 1 s"]));
    assert_eq!(calls[3]["texts"], json!(["true"]), "the coroutine was cancelled");
}

#[test]
fn failing_hooks_and_modules_are_logged_not_fatal() {
    let dir = common::project(&[
        (
            "python/hooks.py",
            "from mxcp.runtime import on_init, on_shutdown\n\n@on_init\ndef broken():\n    raise ValueError('no setup today')\n\n\
             @on_shutdown\ndef broken_too():\n    raise KeyError('gone')\n\ndef ping() -> str:\n    return 'pong'\n",
        ),
        ("python/other.py", "import no_such_module_mxcp\n"),
        (
            "tools/ping.yml",
            "mxcp: 1\ntool:\n  name: ping\n  description: d\n  language: python\n  return: {type: string}\n  source: {file: ../python/hooks.py}\n",
        ),
    ]);
    let (code, out, err) = common::run(common::mxcp(dir.path()).args(["run", "tool", "ping"]));
    assert_eq!((code, out.trim()), (0, "pong"), "{err}");
    assert!(err.contains("init hook broken failed: ValueError: no setup today"), "{err}");
    assert!(err.contains("shutdown hook broken_too failed: KeyError: 'gone'"), "{err}");
    assert!(err.contains("cannot import python/other.py: ModuleNotFoundError"), "{err}");
}

#[test]
fn python_resource_calls_the_function_of_its_name() {
    let dir = common::project(&[
        ("python/res.py", "def item_detail(id: int) -> dict:\n    return {'id': id, 'twice': id * 2}\n"),
        (
            "resources/item.yml",
            "mxcp: 1\nresource:\n  uri: 'items://{id}'\n  name: item_detail\n  description: d\n  language: python\n  \
             parameters:\n    - {name: id, type: integer, description: x}\n  return: {type: object}\n  source: {file: ../python/res.py}\n",
        ),
    ]);
    let (code, out, err) = common::run(common::mxcp(dir.path()).args([
        "run",
        "resource",
        "items://{id}",
        "--param",
        "id=21",
        "--json-output",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Json>(&out).unwrap()["result"], json!({"id": 21, "twice": 42}));
}

#[test]
fn temporal_arguments_arrive_as_python_values() {
    let dir = common::project(&[
        (
            "python/when.py",
            "def when(day, at, epoch) -> list:\n    return [type(day).__name__, type(at).__name__, epoch.isoformat()]\n",
        ),
        (
            "tools/when.yml",
            "mxcp: 1\ntool:\n  name: when\n  description: d\n  language: python\n  parameters:\n    \
             - {name: day, type: string, format: date, description: x}\n    \
             - {name: at, type: string, format: date-time, description: x}\n    \
             - {name: epoch, type: string, format: timestamp, description: seconds since 1970}\n  \
             return: {type: array}\n  source: {file: ../python/when.py}\n",
        ),
    ]);
    let (code, out, err) = common::run(common::mxcp(dir.path()).args([
        "run",
        "tool",
        "when",
        "--param",
        "day=2024-02-29",
        "--param",
        "at=2024-02-29T10:00:00Z",
        "--param",
        "epoch=86400",
        "--json-output",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let v: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(v["result"], json!(["date", "datetime", "1970-01-02T00:00:00+00:00"]));
}
