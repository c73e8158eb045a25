//! Hot reload (SIGHUP, the admin socket's `POST /reload`, `serve --watch`): under continuous
//! load no call fails; a changed set (a new tool, changed SQL, a changed Python file) serves
//! after the reload and the SDK client is told; a broken set (SIGHUP, then the admin socket)
//! is rejected, logged, and the old one keeps serving. Loopback only, bounded waits.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{http_post, refs, session};
use serde_json::{Value as Json, json};

const VERSION_TOOL: &str =
    "mxcp: 1\ntool:\n  name: version\n  return: {type: string}\n  source: {code: \"SELECT 'v1' AS v\"}\n";
const PY_TOOL: &str = "mxcp: 1\ntool:\n  name: pyver\n  language: python\n  return: {type: string}\n  source: {file: ../python/pyver.py}\n";
const ADDED_TOOL: &str =
    "mxcp: 1\ntool:\n  name: added\n  return: {type: integer}\n  source: {code: \"SELECT 42 AS n\"}\n";
const BROKEN_TOOL: &str =
    "mxcp: 1\ntool:\n  name: broken\n  return: {type: integer}\n  source: {code: \"SELEC nothing FROM nowhere\"}\n";

fn py(version: &str) -> String {
    format!("def pyver() -> str:\n    return '{version}'\n")
}

/// A server over HTTP whose stderr is kept for the assertions.
struct Server {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = common::mxcp(dir);
        cmd.envs(env.iter().copied()).args(["serve", "--transport", "streamable-http", "--port", "0"]).args(extra);
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("mxcp serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let url = loop {
            let line = lines.next().expect("server printed its address").expect("stderr");
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(rest) = line.split(" at ").nth(1).filter(|_| line.contains("serving MCP")) {
                break rest.trim().to_string();
            }
        };
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        Server { child, url, log }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -{name}");
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request's JSON-RPC reply.
fn rpc(url: &str, headers: &[(&'static str, String)], method: &str, params: Json) -> Json {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let id = NEXT.fetch_add(1, Ordering::SeqCst);
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let (status, head, reply) = http_post(url, &body.to_string(), &refs(headers));
    if status != 200 {
        return json!({"error": format!("HTTP {status}: {head}{reply}")});
    }
    reply
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Json>(d).ok())
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| json!({"error": format!("no reply in {reply}")}))
}

/// A tool's text result, or the failure as `Err`.
fn call(url: &str, headers: &[(&'static str, String)], tool: &str) -> Result<String, String> {
    let r = rpc(url, headers, "tools/call", json!({"name": tool, "arguments": {}}));
    if r["result"]["isError"] == false {
        return Ok(r["result"]["content"][0]["text"].as_str().unwrap_or_default().to_string());
    }
    Err(r.to_string())
}

fn tools(url: &str, headers: &[(&'static str, String)]) -> Vec<String> {
    let r = rpc(url, headers, "tools/list", json!({}));
    r["result"]["tools"]
        .as_array()
        .map(|a| a.iter().map(|t| t["name"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Polls `f` until it holds, at most `limit`.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// One HTTP/1.1 request over the admin socket: status and JSON body.
fn admin(socket: &Path, method: &str, path: &str) -> (u16, Json) {
    let mut s = std::os::unix::net::UnixStream::connect(socket).expect("admin socket");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(Json::Null))
}

/// Clients calling `version` in a loop, counting calls and keeping any failure.
struct Load {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(url: &str, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (url, stop, calls, failures) = (url.to_string(), stop.clone(), calls.clone(), failures.clone());
                std::thread::spawn(move || {
                    let headers = session(&url);
                    while !stop.load(Ordering::SeqCst) {
                        match call(&url, &headers, "version") {
                            Ok(v) if v == "v1" || v == "v2" => {}
                            Ok(other) => failures.lock().unwrap().push(format!("unexpected result {other}")),
                            Err(e) => failures.lock().unwrap().push(e),
                        }
                        calls.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        Load { stop, calls, failures, threads }
    }

    /// Stops the clients; the number of calls made and the failures.
    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().expect("client thread");
        }
        (self.calls.load(Ordering::SeqCst), self.failures.lock().unwrap().clone())
    }
}

/// The SDK client holding a session until it is told the tools changed.
fn sdk_listener(url: &str) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let script = common::repo_root().join("tests/clients/list_changed.py");
    let mut child = Command::new(common::client_python())
        .arg(script)
        .args(["--url", url, "--timeout", "25"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("client output").expect("stdout");
    assert_eq!(first, "ready", "the SDK client did not connect");
    (child, lines)
}

#[test]
fn reloads_under_load_without_failed_calls() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = common::project(&[
        ("tools/version.yml", VERSION_TOOL),
        ("tools/pyver.yml", PY_TOOL),
        ("python/pyver.py", &py("py1")),
    ]);
    let socket = dir.path().join("admin.sock");
    let socket_env = socket.to_string_lossy().into_owned();
    let mut server =
        Server::start(dir.path(), &[], &[("MXCP_ADMIN_ENABLED", "true"), ("MXCP_ADMIN_SOCKET", socket_env.as_str())]);
    let url = server.url.clone();
    let mode = std::fs::metadata(&socket).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600), "the admin socket is for its owner only");
    let (status, health) = admin(&socket, "GET", "/health");
    assert_eq!((status, health["status"].clone()), (200, json!("ok")));

    let probe = session(&url);
    assert_eq!(call(&url, &probe, "pyver").as_deref(), Ok("py1"));
    let (mut listener, mut listener_out) = sdk_listener(&url);
    let load = Load::start(&url, 4);
    std::thread::sleep(Duration::from_millis(500));

    // a new tool, changed SQL, changed Python; then SIGHUP
    common::write(dir.path(), "tools/version.yml", &VERSION_TOOL.replace("'v1'", "'v2'"));
    common::write(dir.path(), "tools/added.yml", ADDED_TOOL);
    common::write(dir.path(), "python/pyver.py", &py("py2"));
    server.signal("HUP");
    assert!(
        eventually(Duration::from_secs(20), || call(&url, &probe, "version").as_deref() == Ok("v2")),
        "the changed SQL did not take effect:\n{}",
        server.log()
    );
    assert!(tools(&url, &probe).contains(&"added".to_string()), "the new tool is listed");
    assert_eq!(call(&url, &probe, "added").as_deref(), Ok("42"));
    assert_eq!(call(&url, &probe, "pyver").as_deref(), Ok("py2"), "the changed Python file took effect");
    let seen: Json = serde_json::from_str(&listener_out.next().expect("client result").expect("stdout")).unwrap();
    let _ = listener.wait();
    assert_eq!(seen["notified"], true, "no tools/list_changed: {seen}");
    assert_eq!(seen["tools_list_changed_capability"], true, "{seen}");
    assert!(seen["after"].as_array().unwrap().contains(&json!("added")), "{seen}");
    let (_, status) = admin(&socket, "GET", "/status");
    assert_eq!(status["generation"], 2, "{status}");
    assert_eq!(status["last_reload"]["status"], "ok", "{status}");

    // a broken file: SIGHUP's reload is refused, logged, and the old set serves on
    common::write(dir.path(), "tools/broken.yml", BROKEN_TOOL);
    server.signal("HUP");
    let logged = eventually(Duration::from_secs(20), || server.log().contains("reload (SIGHUP) rejected"));
    assert!(logged, "the SIGHUP rejection is logged:\n{}", server.log());
    assert!(server.log().contains("broken.yml"), "the log names the file:\n{}", server.log());
    assert_eq!(call(&url, &probe, "version").as_deref(), Ok("v2"));
    // and over the admin socket, with the errors in the answer
    let (code, reply) = admin(&socket, "POST", "/reload");
    assert_eq!(code, 422, "{reply}");
    assert!(reply["errors"].as_str().unwrap_or_default().contains("broken.yml"), "{reply}");
    assert_eq!(reply["generation"], 2);
    let logged = eventually(Duration::from_secs(5), || server.log().contains("rejected"));
    assert!(logged, "the rejection is logged:\n{}", server.log());
    assert_eq!(call(&url, &probe, "version").as_deref(), Ok("v2"));
    assert!(!tools(&url, &probe).contains(&"broken".to_string()));
    let (_, status) = admin(&socket, "GET", "/status");
    assert_eq!((status["generation"].clone(), status["last_reload"]["status"].clone()), (json!(2), json!("error")));

    // fixed again: the admin reload answers with the new generation
    std::fs::remove_file(dir.path().join("tools/broken.yml")).unwrap();
    let (code, reply) = admin(&socket, "POST", "/reload");
    assert_eq!((code, reply["generation"].clone()), (200, json!(3)), "{reply}");
    std::thread::sleep(Duration::from_millis(300));

    let (calls, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(calls > 20, "the load made only {calls} calls");
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(15)), "the server did not stop");
    assert!(!socket.exists(), "the admin socket is removed on exit");
}

#[test]
fn watch_reloads_on_a_file_change() {
    let dir = common::project(&[("tools/version.yml", VERSION_TOOL)]);
    let server = Server::start(dir.path(), &["--watch"], &[]);
    let url = server.url.clone();
    let headers = session(&url);
    assert_eq!(call(&url, &headers, "version").as_deref(), Ok("v1"));
    common::write(dir.path(), "tools/version.yml", &VERSION_TOOL.replace("'v1'", "'v2'"));
    assert!(
        eventually(Duration::from_secs(15), || call(&url, &headers, "version").as_deref() == Ok("v2")),
        "--watch did not reload:\n{}",
        server.log()
    );
    assert!(eventually(Duration::from_secs(5), || server.log().contains("generation 2")), "{}", server.log());
}

#[test]
fn a_bad_admin_socket_path_is_a_start_up_error() {
    let dir = common::project(&[("tools/version.yml", VERSION_TOOL)]);
    let bad = dir.path().join("no/such/dir/mxcp.sock");
    let out = common::mxcp(dir.path())
        .args(["serve", "--transport", "streamable-http", "--port", "0"])
        .env("MXCP_ADMIN_ENABLED", "true")
        .env("MXCP_ADMIN_SOCKET", &bad)
        .stdin(Stdio::null())
        .output()
        .expect("mxcp runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot open the admin socket") && stderr.contains("no/such/dir"), "{stderr}");
}

#[test]
fn python_and_database_across_reloads() {
    let dir = common::example("pytools");
    let config = dir.path().join("config.yml").to_string_lossy().into_owned();
    let server = Server::start(dir.path(), &[], &[("MXCP_CONFIG", config.as_str())]);
    let (url, h) = (server.url.clone(), session(&server.url));
    let whoami = |h: &[(&'static str, String)]| {
        let r = rpc(&url, h, "tools/call", json!({"name": "whoami", "arguments": {}}));
        r["result"]["structuredContent"].clone()
    };
    let shifted = |h: &[(&'static str, String)]| {
        let r = rpc(&url, h, "tools/call", json!({"name": "shifted", "arguments": {"text": "abc"}}));
        r["result"]["content"][0]["text"].clone()
    };
    assert_eq!(whoami(&h)["events"], json!(["init"]), "{}", server.log());
    let rot = shifted(&h);
    assert!(rot.is_string(), "{rot}");

    // changed Python: the modules are imported afresh (their init hooks run), the plugins stay
    let tools_py = dir.path().join("python/tools.py");
    let text =
        std::fs::read_to_string(&tools_py).unwrap().replace("EVENTS.append(\"init\")", "EVENTS.append(\"init-2\")");
    std::fs::write(&tools_py, text).unwrap();
    server.signal("HUP");
    assert!(eventually(Duration::from_secs(20), || whoami(&h)["events"] == json!(["init-2"])), "{}", server.log());
    assert!(eventually(Duration::from_secs(5), || server.log().contains("shutdown hook ran")), "{}", server.log());
    assert_eq!(whoami(&h)["plugins"], json!(["text"]));
    assert_eq!(shifted(&h), rot, "the plugin's SQL function still works");
    assert!(!server.log().contains("text plugin shut down"), "the plugins outlive the reload: {}", server.log());

    // another database: DuckDB restarts, the plugin's functions are registered in it too
    let site = std::fs::read_to_string(dir.path().join("mxcp-site.yml")).unwrap();
    let moved = format!("{site}profiles:\n  default:\n    duckdb:\n      path: moved.duckdb\n");
    std::fs::write(dir.path().join("mxcp-site.yml"), moved).unwrap();
    server.signal("HUP");
    assert!(
        eventually(Duration::from_secs(20), || server.log().contains("generation 3 serves now")),
        "{}",
        server.log()
    );
    assert!(server.log().contains("database restarted"), "{}", server.log());
    assert_eq!(shifted(&h), rot, "{}", server.log());
    assert!(dir.path().join("moved.duckdb").exists(), "the new database is the one in use");
}

#[test]
fn a_stdio_session_is_told_of_a_watched_change() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = common::project(&[("tools/version.yml", VERSION_TOOL)]);
    let exe = env!("CARGO_BIN_EXE_mxcp");
    let script = common::repo_root().join("tests/clients/list_changed.py");
    let mut child = Command::new(common::client_python())
        .arg(script)
        .args(["--stdio", &format!("{exe} serve --transport stdio --watch"), "--timeout", "20"])
        .current_dir(dir.path())
        .env("MXCP_CONFIG", common::repo_root().join("tests/fixtures/empty-config.yml"))
        .env("HOME", dir.path())
        .env("MXCP_CACHE_DIR", common::shared_cache())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().expect("client output").expect("stdout"), "ready");
    common::write(dir.path(), "tools/added.yml", ADDED_TOOL);
    let seen: Json = serde_json::from_str(&lines.next().expect("client result").expect("stdout")).unwrap();
    let _ = child.wait();
    assert_eq!(seen["notified"], true, "{seen}");
    assert_eq!(seen["after"], json!(["added", "version"]), "{seen}");
}

#[test]
fn sigterm_during_a_reload_shuts_down_cleanly() {
    let slow_init = |tag: &str| {
        format!(
            "import time\n\nfrom mxcp.runtime import on_init\n\n\n@on_init\ndef warm_up():\n    time.sleep(2)\n\n\ndef pyver() -> str:\n    return '{tag}'\n"
        )
    };
    let dir = common::project(&[("tools/pyver.yml", PY_TOOL), ("python/pyver.py", &slow_init("py1"))]);
    let mut server = Server::start(dir.path(), &[], &[]);
    let h = session(&server.url);
    assert_eq!(call(&server.url, &h, "pyver").as_deref(), Ok("py1"));
    common::write(dir.path(), "python/pyver.py", &slow_init("py2"));
    server.signal("HUP");
    // the new generation's init hook is sleeping now
    std::thread::sleep(Duration::from_millis(700));
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)), "the server did not stop:\n{}", server.log());
    let status = server.child.try_wait().ok().flatten().expect("exited");
    assert!(status.success(), "exit {status:?}:\n{}", server.log());
}

/// A reload that changes what only start-up applies (here `telemetry` and `auth` in the user
/// configuration) is refused as a whole, naming them, rather than appearing to apply them.
#[test]
fn a_reload_that_changes_start_only_settings_is_refused() {
    let dir = common::project(&[("tools/version.yml", VERSION_TOOL)]);
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "mxcp: 1\n").unwrap();
    let socket = dir.path().join("admin.sock");
    let env = [
        ("MXCP_ADMIN_ENABLED", "true"),
        ("MXCP_ADMIN_SOCKET", socket.to_str().unwrap()),
        ("MXCP_CONFIG", config.to_str().unwrap()),
    ];
    let mut server = Server::start(dir.path(), &[], &env);
    std::fs::write(
        &config,
        "mxcp: 1\nprojects:\n  test:\n    profiles:\n      default:\n        telemetry: {enabled: true}\n        auth: {provider: none}\n",
    )
    .unwrap();
    let (code, reply) = admin(&socket, "POST", "/reload");
    assert_eq!(code, 422, "{reply}");
    let errors = reply["errors"].as_str().unwrap_or_default();
    assert!(errors.contains("changes auth, telemetry, which only a restart applies"), "{reply}");
    assert_eq!(reply["generation"], 1, "{reply}");
    // the same file with only endpoint changes reloads
    std::fs::write(&config, "mxcp: 1\n").unwrap();
    common::write(dir.path(), "tools/version.yml", &VERSION_TOOL.replace("'v1'", "'v2'"));
    let (code, reply) = admin(&socket, "POST", "/reload");
    assert_eq!((code, reply["generation"].clone()), (200, json!(2)), "{reply}");
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(15)));
}
