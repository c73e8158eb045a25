//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub mod oidc;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `mxcp` binary with an environment that cannot see the developer's own configuration.
pub fn mxcp(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mxcp"));
    cmd.current_dir(cwd)
        .env_remove("MXCP_PROFILE")
        .env_remove("MXCP_DUCKDB_PATH")
        .env_remove("MXCP_READONLY")
        .env_remove("MXCP_DEBUG")
        .env("MXCP_CONFIG", repo_root().join("tests/fixtures/empty-config.yml"))
        .env("HOME", cwd)
        .env("MXCP_CACHE_DIR", shared_cache());
    cmd
}

/// One extraction of the embedded standard library for all tests (extraction itself is
/// tested with caches of its own).
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mxcp-cache")
}

/// Whether a test that needs what `./dev test` sets up (the MCP Python SDK, the test wheels)
/// must be skipped: it is, with a message, when that set-up is missing, so a plain
/// `cargo test` runs everything else instead of panicking.
pub fn skip_without_dev_setup() -> bool {
    let missing = unset(&["MXCP_TEST_PYTHON", "MXCP_TEST_WHEELS"]);
    if missing.is_empty() {
        return false;
    }
    eprintln!(
        "skipped: {} not set; run the tests with ./dev test, which installs the MCP Python SDK and the test wheels",
        missing.join(" and ")
    );
    true
}

/// Which of `vars` are unset or empty.
pub fn unset<'a>(vars: &[&'a str]) -> Vec<&'a str> {
    vars.iter().copied().filter(|v| std::env::var_os(v).is_none_or(|s| s.is_empty())).collect()
}

/// The Python with the official MCP SDK that `./dev test` installs.
pub fn client_python() -> String {
    std::env::var("MXCP_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("MXCP_TEST_PYTHON is not set: run the tests with ./dev test, which installs the MCP Python SDK")
    })
}

/// tests/clients/mcp_call.py against a server; its JSON report.
pub fn mcp_call(args: &[&str]) -> serde_json::Value {
    let script = repo_root().join("tests/clients/mcp_call.py");
    let out = Command::new(client_python()).arg(script).args(args).output().expect("python runs");
    assert!(
        out.status.success(),
        "mcp_call.py {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// The offline wheel directory `./dev test` fills (markupsafe, six).
pub fn test_wheels() -> PathBuf {
    let d = PathBuf::from(std::env::var("MXCP_TEST_WHEELS").unwrap_or_else(|_| {
        panic!("MXCP_TEST_WHEELS is not set: run the tests with ./dev test, which downloads the test wheels")
    }));
    assert!(d.is_dir(), "{} is missing", d.display());
    d
}

pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = cmd.output().expect("mxcp runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A new project directory with a site file and the given files (path, content).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "mxcp-site.yml", "mxcp: 1\nproject: test\nprofile: default\n");
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A scratch copy of `examples/<name>`.
pub fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo_root().join("examples").join(name), dir.path());
    dir
}

/// Copies a directory tree (examples into a scratch location, so tests never write into the repo).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// `mxcp serve` over HTTP on a free port; the address is read from its stderr.
pub struct HttpServer {
    child: Child,
    pub url: String,
}

impl HttpServer {
    /// The server's peak resident memory so far (VmHWM), in bytes.
    #[allow(dead_code)]
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        kb.unwrap_or(0) * 1024
    }

    pub fn start(dir: &std::path::Path, extra: &[&str]) -> HttpServer {
        Self::start_with_env(dir, extra, &[])
    }

    pub fn start_with_env(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> HttpServer {
        let mut cmd = mxcp(dir);
        cmd.envs(env.iter().copied());
        Self::spawn(cmd.args(["serve", "--transport", "streamable-http", "--port", "0"]).args(extra))
    }

    /// Starts `cmd` (an HTTP server) and reads its address from stderr.
    pub fn spawn(cmd: &mut Command) -> HttpServer {
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("mxcp serve starts");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines.next().expect("server printed its address").expect("stderr");
            if let Some(rest) = line.split(" at ").nth(1).filter(|_| line.contains("serving MCP")) {
                break rest.trim().to_string();
            }
        };
        // keep draining stderr so the server never blocks on a full pipe
        std::thread::spawn(move || for _ in lines {});
        HttpServer { child, url }
    }
}

impl HttpServer {
    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    /// Whether the server exited within `timeout`.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 POST of JSON (one request per connection): status, headers, body.
pub fn http_post(url: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    http_request("POST", url, body, headers)
}

/// An initialized MCP session over streamable HTTP: the headers its requests carry.
pub fn session(url: &str) -> Vec<(&'static str, String)> {
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let (status, head, body) = http_post(url, init, &[]);
    assert_eq!(status, 200, "{head}{body}");
    let id = header(&head, "mcp-session-id").expect("session id");
    let headers = vec![("mcp-session-id", id), ("mcp-protocol-version", "2025-06-18".to_string())];
    http_post(url, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &refs(&headers));
    headers
}

/// Owned headers as `http_post` takes them.
pub fn refs<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    h.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A header's value in the head of an HTTP response (names are case-insensitive).
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)))
        .map(|(_, v)| v.trim().to_string())
}

pub fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    http_request("GET", url, "", headers)
}

/// One HTTP/1.1 request; `Content-Type` is JSON unless `headers` names another.
pub fn http_request(method: &str, url: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    let host_header = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")).map_or(host, |(_, v)| v);
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    // a server may answer (413) and close before reading an oversized body: read the reply anyway
    let _ = stream.write_all(req.as_bytes()).and_then(|_| stream.write_all(body.as_bytes()));
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The `diagnostics` of `validate --json-output`, one line each:
/// `severity file:line:column yaml_path | message`.
pub fn diagnostic_lines(validate_output: &serde_json::Value) -> Vec<String> {
    validate_output["result"]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            format!(
                "{} {}:{}:{} {} | {}",
                d["severity"].as_str().unwrap(),
                d["file"].as_str().unwrap(),
                d["line"],
                d["column"],
                d["yaml_path"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect()
}
