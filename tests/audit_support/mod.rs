//! Helpers of the audit tests: the fixture project, its audit files and records, a raw
//! JSON-RPC session over stdio (for fault injection, where the test needs the server's pid),
//! and the official SDK's client (tests/clients/audit_calls.py).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value as Json, json};

use crate::common;

/// A scratch copy of tests/fixtures/audit (audit enabled in its site file).
pub fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&common::repo_root().join("tests/fixtures/audit"), dir.path());
    dir
}

/// Replaces the fixture's `profiles.default.audit` block.
pub fn set_audit(dir: &Path, block: &str) {
    common::write(
        dir,
        "mxcp-site.yml",
        &format!("mxcp: 1\nproject: audited\nprofile: default\nprofiles:\n  default:\n    audit:\n{block}"),
    );
}

/// The records files of `audit_dir`, in the order they were started (name time, then `-n`).
pub fn log_files(audit_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(String, u32, PathBuf)> = std::fs::read_dir(audit_dir)
        .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let rest = name.strip_prefix("logs-default-")?.strip_suffix(".jsonl")?;
            let (stamp, n) = match rest.split_once('-') {
                Some((s, n)) => (s.to_string(), n.parse().ok()?),
                None => (rest.to_string(), 0),
            };
            Some((stamp, n, p))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, _, p)| p).collect()
}

/// Every whole record of the project's audit log, oldest first (a last line without its
/// newline is no whole record).
pub fn records(dir: &Path) -> Vec<Json> {
    let mut out = Vec::new();
    for f in log_files(&dir.join("audit")) {
        let text = std::fs::read_to_string(&f).expect("read");
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n') && !l.trim().is_empty()) {
            out.push(serde_json::from_str(line).expect("a record is JSON"));
        }
    }
    out
}

/// `mxcp serve --transport stdio` as one shell-style command line for the SDK client, with
/// the tests' environment spelled out (the SDK starts servers with a minimal environment).
pub fn stdio_command(dir: &Path, env: &[(&str, &str)]) -> String {
    let mut parts = vec![
        "env".to_string(),
        format!("MXCP_CONFIG={}", common::repo_root().join("tests/fixtures/empty-config.yml").display()),
        format!("HOME={}", dir.display()),
        format!("MXCP_CACHE_DIR={}", common::shared_cache().display()),
    ];
    parts.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    parts.push(env!("CARGO_BIN_EXE_mxcp").to_string());
    parts.extend(["-C".into(), dir.display().to_string(), "serve".into(), "--transport".into(), "stdio".into()]);
    parts.join(" ")
}

/// Runs tests/clients/audit_calls.py against `target` (`--stdio CMD` or `--url URL`) with
/// steps (kind, name, JSON arguments); what each step gave.
pub fn sdk_steps(target: &[&str], steps: &[(&str, &str, &str)]) -> Vec<Json> {
    let script = common::repo_root().join("tests/clients/audit_calls.py");
    let mut cmd = Command::new(common::client_python());
    cmd.arg(script).args(target);
    for (kind, name, args) in steps {
        cmd.args(["--step", kind, name, args]);
    }
    let out = cmd.output().expect("python runs");
    assert!(
        out.status.success(),
        "audit_calls.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Json>(&out.stdout).expect("JSON").as_array().expect("a list").clone()
}

/// `mxcp ARGS` in the project: exit code, stdout, stderr.
pub fn mxcp(dir: &Path, args: &[&str]) -> (i32, String, String) {
    common::run(common::mxcp(dir).args(args))
}

/// `mxcp log ... --json`'s result.
pub fn log_json(dir: &Path, args: &[&str]) -> Json {
    let mut all = vec!["log"];
    all.extend_from_slice(args);
    all.push("--json");
    let (code, stdout, stderr) = mxcp(dir, &all);
    assert_eq!(code, 0, "mxcp {all:?}: {stdout}{stderr}");
    serde_json::from_str::<Json>(&stdout).expect("JSON")["result"].clone()
}

/// A raw JSON-RPC session with `mxcp serve --transport stdio` (initialized); its stderr is
/// collected as it comes.
pub struct RawStdio {
    pub child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl RawStdio {
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> RawStdio {
        let mut cmd = common::mxcp(dir);
        cmd.envs(env.iter().copied())
            .args(["serve", "--transport", "stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Self::spawn(&mut cmd)
    }

    pub fn spawn(cmd: &mut Command) -> RawStdio {
        let mut child = cmd.spawn().expect("server starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().expect("stderr");
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut s = RawStdio { child, stdin, stdout, next_id: 1, stderr, stderr_reader: Some(stderr_reader) };
        s.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        );
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, msg: &Json) {
        let stdin = self.stdin.as_mut().expect("open");
        writeln!(stdin, "{msg}").expect("write");
        stdin.flush().expect("flush");
    }

    pub fn request(&mut self, method: &str, params: Json) -> Json {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).expect("read") > 0, "the server closed stdout");
            let reply: Json = serde_json::from_str(&line).expect("JSON-RPC");
            if reply["id"] == id {
                return reply;
            }
        }
    }

    /// A tools/call; its result.
    pub fn call(&mut self, name: &str, args: Json) -> Json {
        self.request("tools/call", json!({"name": name, "arguments": args}))["result"].clone()
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Waits (at most 20 s) until the server's stderr holds `text`.
    pub fn wait_for_stderr(&self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.stderr.lock().unwrap().contains(text) {
            assert!(std::time::Instant::now() < deadline, "no {text:?} on stderr: {}", self.stderr.lock().unwrap());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Closes stdin (the session ends) and waits; the exit code and stderr.
    pub fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let code = self.child.wait().ok().and_then(|s| s.code());
        if let Some(r) = self.stderr_reader.take() {
            let _ = r.join();
        }
        let err = self.stderr.lock().unwrap().clone();
        (code, err)
    }
}

impl Drop for RawStdio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal (`TERM`, `KILL`) to a process.
pub fn signal(pid: &str, sig: &str) {
    let ok = Command::new("kill").args([&format!("-{sig}"), pid]).status().expect("kill runs").success();
    assert!(ok, "kill -{sig} {pid}");
}

/// Waits (at most 10 s) until the project has `n` records.
pub fn wait_for_records(dir: &Path, n: usize) -> Vec<Json> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = records(dir);
        if r.len() >= n || std::time::Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
