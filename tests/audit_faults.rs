//! Fault injection on the audit writer: the directory made read-only mid-run, a full disk (a
//! small tmpfs when this runs as root, else a file-size limit), failing closed, SIGTERM with
//! records still queued, `kill -9`, and a log that cannot be written at start. Calls never
//! fail or wait for the disk unless the site asks to fail closed.

mod audit_support;
mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use audit_support::{RawStdio, fixture, log_files, records, set_audit, signal, wait_for_records};
use serde_json::{Value as Json, json};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions
    unsafe { libc::geteuid() == 0 }
}

/// `mxcp serve --transport stdio` in `dir`, as a command to start.
fn serve_cmd(dir: &Path) -> Command {
    let mut cmd = common::mxcp(dir);
    cmd.args(["serve", "--transport", "stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Limits the files `cmd`'s process writes to `bytes` (RLIMIT_FSIZE; the hard limit stays, so
/// the test can raise it again with `prlimit`).
fn limit_file_size(cmd: &mut Command, bytes: u64) {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec
    unsafe {
        cmd.pre_exec(move || {
            let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim);
            lim.rlim_cur = bytes;
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Creates the project's database at full size first: only the audit log meets the limit.
fn create_database(dir: &Path) {
    let (code, stdout, stderr) = audit_support::mxcp(dir, &["query", "SELECT 1 AS one"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

fn raise_file_size_limit(pid: &str) {
    let ok = Command::new("prlimit").args(["--pid", pid, "--fsize=unlimited:"]).status().expect("prlimit").success();
    assert!(ok, "prlimit --pid {pid}");
}

fn echo(s: &mut RawStdio, bytes: usize) -> Json {
    s.call("echo", json!({"text": "x".repeat(bytes)}))
}

#[test]
fn a_directory_made_read_only_mid_run_keeps_records_in_the_current_file() {
    let dir = fixture();
    set_audit(dir.path(), "      enabled: true\n      max_file_size: 1500\n");
    let mut cmd = serve_cmd(dir.path());
    if is_root() {
        // root writes anywhere: without CAP_DAC_OVERRIDE the server obeys the directory's mode
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("skipped: running as root and setpriv (util-linux) is missing to drop CAP_DAC_OVERRIDE");
            return;
        }
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        cmd = wrapped;
    }
    let mut s = RawStdio::spawn(&mut cmd);
    for i in 1..=2 {
        assert_eq!(s.call("get_item", json!({"item_id": i}))["isError"], false);
    }
    wait_for_records(dir.path(), 2);
    let audit = dir.path().join("audit");
    let before = log_files(&audit);
    set_mode(&audit, 0o555);
    for i in 3..=8 {
        assert_eq!(s.call("get_item", json!({"item_id": i}))["isError"], false, "calls go on");
    }
    let (code, stderr) = s.finish();
    set_mode(&audit, 0o755);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr.matches("cannot start a new file").count(), 1, "reported once: {stderr}");
    let after = log_files(&audit);
    assert_eq!(after, before, "no file could be started");
    assert_eq!(records(dir.path()).len(), 8, "no record lost");
    assert!(std::fs::metadata(after.last().unwrap()).unwrap().len() > 1500, "the current file grew past max_file_size");
    assert_eq!(audit_support::mxcp(dir.path(), &["log", "verify"]).0, 0);
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A tmpfs of `size` mounted on `dir` while alive (root only).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_reported_once_and_counted_and_calls_go_on() {
    if !is_root() {
        eprintln!("skipped: mount -t tmpfs needs root (the file-size-limit test covers the same path)");
        return;
    }
    let dir = fixture();
    let disk = dir.path().join("disk");
    let Some(_tmpfs) = Tmpfs::mount(&disk, "256k") else {
        eprintln!("skipped: mount -t tmpfs failed here (the file-size-limit test covers the same path)");
        return;
    };
    set_audit(dir.path(), &format!("      enabled: true\n      path: {}/logs-default.jsonl\n", disk.display()));
    let mut s = RawStdio::spawn(&mut serve_cmd(dir.path()));
    // fill the disk but for ~40 KB
    let free = || {
        let out = Command::new("df").args(["-B1", "--output=avail"]).arg(&disk).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse::<u64>().unwrap()
    };
    std::fs::write(disk.join("filler"), vec![0u8; (free() - 40 * 1024) as usize]).unwrap();
    for _ in 0..10 {
        assert_eq!(echo(&mut s, 10_000)["isError"], false, "a full disk never fails a call");
    }
    s.wait_for_stderr("No space left on device");
    std::fs::remove_file(disk.join("filler")).unwrap();
    assert_eq!(echo(&mut s, 10)["isError"], false);
    let (code, stderr) = s.finish();
    let written = records_in(&disk).len();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr.matches("No space left on device").count(), 1, "reported once: {stderr}");
    assert!(stderr.contains("writing") && stderr.contains("again"), "recovery is reported: {stderr}");
    let lost: usize = lost_count(&stderr);
    assert_eq!(written + lost, 11, "every record written or counted: {stderr}");
    assert!(lost >= 1, "{lost} lost: {stderr}");
    let r = records_in(&disk);
    assert_eq!(r.last().unwrap()["input_data"]["text"], "x".repeat(10), "written again once there was room");
    // what was written is whole and chained: lost records leave no gap
    let (code, stdout, stderr) = audit_support::mxcp(dir.path(), &["log", "verify"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// The number in "N record(s) of this run could not be written".
fn lost_count(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("warning: audit: ")?.split_once(" record(s) of this run could not be written"))
        .map(|(n, _)| n.parse().unwrap())
        .unwrap_or(0)
}

fn records_in(audit_dir: &Path) -> Vec<Json> {
    let mut out = Vec::new();
    for f in log_files(audit_dir) {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            out.push(serde_json::from_str(line).expect("whole records only"));
        }
    }
    out
}

#[test]
fn a_file_size_limit_fails_writes_like_a_full_disk() {
    let dir = fixture();
    create_database(dir.path());
    let mut cmd = serve_cmd(dir.path());
    limit_file_size(&mut cmd, 64 * 1024);
    let mut s = RawStdio::spawn(&mut cmd);
    for _ in 0..10 {
        assert_eq!(echo(&mut s, 10_000)["isError"], false, "calls go on");
    }
    s.wait_for_stderr("error: audit: cannot write");
    raise_file_size_limit(&s.pid());
    assert_eq!(echo(&mut s, 10)["isError"], false);
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "the server is not killed by SIGXFSZ: {stderr}");
    // each outage is reported once and its end once (not per lost record); under load a
    // smaller batch may fit below the limit between two failing ones, making two outages
    let (failed, recovered) =
        (stderr.matches("error: audit: cannot write").count(), stderr.matches(" again (").count());
    assert!(failed >= 1 && failed == recovered, "one report per outage, each ended: {stderr}");
    let r = records(dir.path());
    assert_eq!(r.len() + lost_count(&stderr), 11, "{stderr}");
    assert_eq!(r.last().unwrap()["input_data"]["text"], "x".repeat(10));
    assert_eq!(audit_support::mxcp(dir.path(), &["log", "verify"]).0, 0);
}

#[test]
fn failing_closed_refuses_calls_until_records_can_be_written() {
    let dir = fixture();
    set_audit(dir.path(), "      enabled: true\n      fail_closed: true\n");
    create_database(dir.path());
    let mut cmd = serve_cmd(dir.path());
    limit_file_size(&mut cmd, 32 * 1024);
    let mut s = RawStdio::spawn(&mut cmd);
    let mut answered = 0;
    let mut refused = None;
    for _ in 0..20 {
        let r = echo(&mut s, 10_000);
        if r["isError"] == true {
            refused = Some(r["content"][0]["text"].as_str().unwrap().to_string());
            break;
        }
        answered += 1;
        // the writer needs a moment to find the disk full
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = refused.expect("calls are refused once the log cannot be written");
    assert!(
        refused.contains("the audit log cannot be written")
            && refused.contains("calls are refused until it can (audit.fail_closed)"),
        "{refused}"
    );
    raise_file_size_limit(&s.pid());
    // the writer retries every second: then calls are served again
    let mut served = false;
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(100));
        if echo(&mut s, 10)["isError"] == false {
            served = true;
            break;
        }
    }
    assert!(served, "calls are served again once records can be written");
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lost_count(&stderr), 0, "failing closed loses nothing: {stderr}");
    let r = records(dir.path());
    assert_eq!(r.len(), answered + 1, "every answered call has its record: {stderr}");
    assert_eq!(audit_support::mxcp(dir.path(), &["log", "verify"]).0, 0);
}

#[test]
fn sigterm_writes_the_queued_records_over_stdio() {
    let dir = fixture();
    // the writer waits before each write: the records are still queued at SIGTERM
    let mut s = RawStdio::start(dir.path(), &[("MXCP_AUDIT_TEST_DELAY_MS", "3000")]);
    for i in 1..=5 {
        assert_eq!(s.call("get_item", json!({"item_id": i}))["isError"], false);
    }
    assert!(records(dir.path()).len() < 5, "records are still queued");
    signal(&s.pid(), "TERM");
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "a clean exit on SIGTERM: {stderr}");
    assert_eq!(records(dir.path()).len(), 5, "none lost");
}

#[test]
fn sigterm_writes_the_queued_records_over_http() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = fixture();
    let mut server = common::HttpServer::start_with_env(dir.path(), &[], &[("MXCP_AUDIT_TEST_DELAY_MS", "5000")]);
    let steps: Vec<String> = (1..=5).map(|i| format!(r#"{{"item_id": {i}}}"#)).collect();
    let steps: Vec<(&str, &str, &str)> = steps.iter().map(|a| ("tool", "get_item", a.as_str())).collect();
    audit_support::sdk_steps(&["--url", &server.url], &steps);
    assert!(records(dir.path()).len() < 5, "records are still queued");
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(30)));
    assert_eq!(records(dir.path()).len(), 5, "none lost");
}

#[test]
fn kill_9_leaves_a_log_that_reads_and_verifies() {
    let dir = fixture();
    let mut s = RawStdio::start(dir.path(), &[]);
    for i in 1..=5 {
        s.call("get_item", json!({"item_id": i}));
    }
    // records reach the file as soon as they are queued
    assert_eq!(wait_for_records(dir.path(), 5).len(), 5);
    signal(&s.pid(), "KILL");
    let _ = s.finish();
    let listed = audit_support::log_json(dir.path(), &[]);
    assert_eq!(listed["count"], 5);
    assert_eq!(audit_support::mxcp(dir.path(), &["log", "verify"]).0, 0);
    // the next run links to the killed run's last record
    let mut s = RawStdio::start(dir.path(), &[]);
    s.call("get_item", json!({"item_id": 6}));
    let _ = s.finish();
    let r = records(dir.path());
    assert_eq!(r[5]["prev_hash"], r[4]["record_hash"]);
}

#[test]
fn a_log_that_cannot_be_written_refuses_to_start() {
    let dir = fixture();
    common::write(dir.path(), "blocker", "a file where the audit directory should be");
    set_audit(dir.path(), "      enabled: true\n      path: blocker/logs-default.jsonl\n");
    let (code, stdout, _) = audit_support::mxcp(dir.path(), &["serve", "--transport", "stdio", "--json-output"]);
    assert_eq!(code, 1);
    let v: Json = serde_json::from_str(&stdout).unwrap();
    let e = v["error"].as_str().unwrap();
    assert!(
        e.starts_with(
            "profile 'default' enables the audit log, but it cannot be written: cannot write the audit log in "
        ),
        "{e}"
    );
}
