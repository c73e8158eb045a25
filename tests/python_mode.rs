//! The embedded interpreter as a whole: Python mode (`mxcp python`, `sys.executable`
//! re-entering it for subprocess and multiprocessing), the standard library's extraction
//! (concurrent first runs, noexec caches), and a project with a C-extension dependency
//! installed by `mxcp deps install` and run where no Python exists on the machine.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{Value as Json, json};

fn python(dir: &Path, code: &str) -> (i32, String, String) {
    common::run(common::mxcp(dir).args(["python", "-c", code]))
}

#[test]
fn python_mode_runs_code_modules_and_subprocesses() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = python(dir.path(), "import sys; print(sys.version_info[:2], sys.argv)");
    assert_eq!((code, out.trim()), (0, "(3, 11) ['-c']"), "{err}");
    // sys.executable re-enters Python mode, so subprocess and `-m` work
    let (code, out, err) = python(
        dir.path(),
        "import subprocess, sys; r = subprocess.run([sys.executable, '-m', 'json.tool'], input='{\"a\":1}', \
         capture_output=True, text=True); print(r.returncode, r.stdout.split())",
    );
    assert_eq!((code, out.trim()), (0, "0 ['{', '\"a\":', '1', '}']"), "{err}");
    // after mxcp's global options too
    let (code, out, err) = common::run(common::mxcp(dir.path()).args(["-C", ".", "python", "-c", "print('after -C')"]));
    assert_eq!((code, out.trim()), (0, "after -C"), "{err}");
    // exit status and stderr behave like python3
    let (code, _, err) = python(dir.path(), "raise SystemExit(3)");
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = python(dir.path(), "1/0");
    assert_eq!(code, 1);
    assert!(err.contains("ZeroDivisionError"), "{err}");
}

#[test]
fn multiprocessing_spawn_works() {
    let dir = tempfile::tempdir().unwrap();
    common::write(
        dir.path(),
        "mp.py",
        "import multiprocessing as mp\n\ndef sq(x):\n    return x * x\n\n\
         if __name__ == '__main__':\n    with mp.get_context('spawn').Pool(2) as p:\n        print(sum(p.map(sq, range(10))))\n",
    );
    let (code, out, err) = common::run(common::mxcp(dir.path()).args(["python", "mp.py"]).env("PATH", "/usr/bin:/bin"));
    assert_eq!((code, out.trim()), (0, "285"), "{err}");
}

#[test]
fn mxcp_runtime_imports_in_python_mode() {
    // a multiprocessing worker or a script importing project code that uses mxcp.runtime
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = python(
        dir.path(),
        "from mxcp.runtime import db\ntry:\n    db.execute('SELECT 1')\nexcept RuntimeError as e:\n    print(e)",
    );
    assert_eq!((code, out.trim()), (0, "mxcp.runtime is only available inside an mxcp project"), "{err}");
}

#[test]
fn argv0_python_is_python_mode() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("python3");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mxcp"), &link).unwrap();
    let out = Command::new(&link)
        .args(["-c", "print(6 * 7)"])
        .env("MXCP_CACHE_DIR", common::shared_cache())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}

#[test]
fn concurrent_first_runs_share_one_extraction() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // all eight start before any finishes
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_mxcp"))
                .args(["python", "-c", "import json, _ssl, _sqlite3, _decimal; print('ok')"])
                .env("MXCP_CACHE_DIR", &cache)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok", "{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut entries: Vec<String> =
        std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    entries.sort();
    assert_eq!(entries.len(), 2, "one standard library and one python3 link, no leftovers: {entries:?}");
    assert!(entries[0].starts_with("bin-") && entries[1].starts_with("python-"), "{entries:?}");
}

#[test]
fn noexec_cache_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("noexec");
    std::fs::create_dir(&mnt).unwrap();
    // a fresh cache on a noexec mount, and one filled elsewhere and then mounted noexec
    let filled = dir.path().join("filled");
    let (code, _, err) = common::run(
        Command::new(env!("CARGO_BIN_EXE_mxcp")).args(["python", "-c", "1"]).env("MXCP_CACHE_DIR", &filled),
    );
    assert_eq!(code, 0, "{err}");
    let script = format!(
        "mount -t tmpfs -o noexec tmpfs {m} && MXCP_CACHE_DIR={m}/cache {exe} python -c 'print(1)'; \
         mount --bind {f} {f} && mount -o remount,bind,noexec {f} && MXCP_CACHE_DIR={f} {exe} python -c 'print(1)'",
        m = mnt.display(),
        f = filled.display(),
        exe = env!("CARGO_BIN_EXE_mxcp")
    );
    let out =
        Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("mounted noexec").count(), 2, "both refused, naming MXCP_CACHE_DIR: {err}");
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty(), "no Python ran");
}

/// Runs `args` through tests/sandbox/no-python.sh with an empty HOME and a minimal PATH.
fn without_python(cwd: &Path, home: &Path, args: &[&str]) -> (i32, String, String) {
    let sandbox = common::repo_root().join("tests/sandbox/no-python.sh");
    let mut cmd = Command::new(sandbox);
    cmd.current_dir(cwd)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("MXCP_CONFIG", common::repo_root().join("tests/fixtures/empty-config.yml"))
        .arg(env!("CARGO_BIN_EXE_mxcp"))
        .args(args);
    common::run(&mut cmd)
}

#[test]
fn c_extension_dependency_where_no_python_exists() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("pydeps");
    common::copy_dir(&common::repo_root().join("examples/pydeps"), &project);
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let wheels = common::test_wheels();

    let (code, _, err) =
        without_python(&project, &home, &["deps", "install", "--no-index", "--find-links", wheels.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("MarkupSafe 3.0.2") && err.contains("six 1.16.0"), "{err}");

    let (code, out, err) =
        without_python(&project, &home, &["run", "tool", "stdlib_tour", "--param", "text=<b>", "--json-output"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["result"],
        json!({
            "escaped": "&lt;b&gt;", "c_extension": true, "six": "1.16.0", "json_c": true, "decimal": "0.125",
            "sqlite": 42, "ssl": "OpenSSL", "ca_certs": true, "asyncio": 10
        })
    );
    // the standard library was extracted under the empty HOME: nothing came from the machine
    assert!(home.join(".cache/mxcp").is_dir());
}

#[test]
fn deps_install_names_a_package_without_a_wheel_and_keeps_the_old_packages() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = common::project(&[("requirements.txt", "six==1.16.0\n")]);
    let wheels = common::test_wheels();
    let install = |dir: &Path| {
        common::run(common::mxcp(dir).args(["deps", "install", "--no-index", "--find-links", wheels.to_str().unwrap()]))
    };
    let (code, _, err) = install(dir.path());
    assert_eq!(code, 0, "{err}");
    common::write(dir.path(), "requirements.txt", "six==1.16.0\nno-such-package-mxcp==1.0\n");
    let (code, _, err) = install(dir.path());
    assert_eq!(code, 1);
    assert!(err.contains("no installable wheel for no-such-package-mxcp==1.0"), "{err}");
    assert!(dir.path().join(".mxcp/site-packages/six.py").is_file(), "the previous install is kept");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".mxcp")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no staging directories left");
}

#[test]
fn active_virtual_env_of_python_3_11_is_importable() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = common::project(&[
        ("python/uses_six.py", "import six\n\ndef six_version() -> str:\n    return six.__version__\n"),
        (
            "tools/six_version.yml",
            "mxcp: 1\ntool:\n  name: six_version\n  description: d\n  language: python\n  return: {type: string}\n  source: {file: ../python/uses_six.py}\n",
        ),
    ]);
    // a virtual environment made by the machine's CPython 3.11, as a developer would have one
    let venv = dir.path().join("venv");
    let host_python = std::env::var("MXCP_BUILD_PYTHON").unwrap_or_else(|_| "python3.11".into());
    assert!(Command::new(&host_python).args(["-m", "venv"]).arg(&venv).status().unwrap().success());
    let wheels = common::test_wheels();
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--no-index", "--find-links"])
        .arg(&wheels)
        .arg("six==1.16.0")
        .status()
        .unwrap();
    assert!(pip.success());
    let (code, out, err) =
        common::run(common::mxcp(dir.path()).args(["run", "tool", "six_version"]).env("VIRTUAL_ENV", &venv));
    assert_eq!((code, out.trim()), (0, "1.16.0"), "{err}");
    let (code, _, err) =
        common::run(common::mxcp(dir.path()).args(["run", "tool", "six_version"]).env_remove("VIRTUAL_ENV"));
    assert_eq!(code, 1);
    assert!(err.contains("No module named 'six'"), "without the environment six is not there: {err}");
}

#[test]
fn a_project_without_python_never_starts_it() {
    let dir = common::example("inventory");
    let cache = dir.path().join("fresh-cache");
    let (code, _, err) = common::run(
        common::mxcp(dir.path())
            .args(["run", "tool", "count_items", "--param", "category=veg"])
            .env("MXCP_CACHE_DIR", &cache),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!cache.exists(), "no standard library extracted for a SQL-only project");
}
