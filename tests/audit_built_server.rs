//! A built server (`mxcp build` output) audits as `mxcp serve` does, into `$MXCP_DATA_DIR`
//! (its project is a read-only payload); with no writable place for the log it refuses to
//! start instead of serving unaudited calls.

mod audit_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use audit_support::{RawStdio, log_files};
use serde_json::{Value as Json, json};

/// The audit fixture built into `<tmp>/server`.
fn build() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    common::copy_dir(&common::repo_root().join("tests/fixtures/audit"), &project);
    let exe = tmp.path().join("server");
    let (code, _, err) = common::run(common::mxcp(&project).arg("build").arg("-o").arg(&exe));
    assert_eq!(code, 0, "{err}");
    (tmp, exe)
}

/// The built server with a clean environment and `data` as its data directory.
fn server(exe: &Path, home: &Path, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("MXCP_CACHE_DIR", common::shared_cache())
        .env("MXCP_DATA_DIR", data)
        .current_dir(home)
        .args(args);
    cmd
}

#[test]
fn a_built_server_audits_into_its_data_directory() {
    if common::skip_without_dev_setup() {
        return;
    }
    let (tmp, exe) = build();
    let data = tmp.path().join("data");
    let mut cmd = server(&exe, tmp.path(), &data, &["serve", "--transport", "stdio"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut s = RawStdio::spawn(&mut cmd);
    assert_eq!(s.call("get_item", json!({"item_id": 4, "secret": "s3cret"}))["isError"], false);
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let files = log_files(&data.join("audit"));
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let record: Json = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(record["input_data"], json!({"item_id": 4, "secret": "[REDACTED]"}));
    assert!(data.join("audit/logs-default_schemas.jsonl").is_file());
    // the built server reads and verifies its own log
    let (code, stdout, stderr) = common::run(&mut server(&exe, tmp.path(), &data, &["log", "--json"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(serde_json::from_str::<Json>(&stdout).unwrap()["result"]["count"], 1);
    let (code, stdout, _) = common::run(&mut server(&exe, tmp.path(), &data, &["log", "verify"]));
    assert_eq!(code, 0, "{stdout}");
}

/// A directory no process of this test can write: a read-only tmpfs as root, else mode 0555.
struct ReadOnly(PathBuf, bool);

impl ReadOnly {
    fn new(dir: &Path) -> ReadOnly {
        std::fs::create_dir_all(dir).unwrap();
        // SAFETY: geteuid has no preconditions
        let root = unsafe { libc::geteuid() == 0 };
        if root {
            let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"]).arg(dir).status();
            assert!(ok.is_ok_and(|s| s.success()), "mount a read-only tmpfs");
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        ReadOnly(dir.to_path_buf(), root)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("umount").arg(&self.0).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_read_only_image_without_a_writable_audit_path_refuses_to_start() {
    if common::skip_without_dev_setup() {
        return;
    }
    let (tmp, exe) = build();
    let data = tmp.path().join("read-only");
    let _ro = ReadOnly::new(&data);
    let mut cmd = server(&exe, tmp.path(), &data, &["serve", "--transport", "stdio"]);
    let (code, stdout, stderr) = common::run(cmd.stdin(Stdio::null()));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "error: profile 'default' enables the audit log, but it cannot be written: cannot write the audit log in"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("a writable MXCP_DATA_DIR"), "{stderr}");
}
