//! scripts/prune-cpython.sh: the CPython prefixes of old recipes go once unused for 30 days;
//! those in use, and their dependency prefixes, stay.

mod common;

use std::path::Path;
use std::process::Command;

fn prune(tools: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(common::repo_root().join("scripts/prune-cpython.sh"))
        .args(args)
        .env("MXCP_TOOLS_DIR", tools)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A completed prefix whose files are `days_ago` old.
fn prefix(tools: &Path, name: &str, days_ago: u32, build_info: &str) {
    let dir = tools.join(name);
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("BUILD-INFO"), build_info).unwrap();
    std::fs::write(dir.join(".complete"), "").unwrap();
    age(&dir.join(".complete"), days_ago);
    age(&dir, days_ago);
}

fn age(path: &Path, days_ago: u32) {
    let status = Command::new("touch").arg("-d").arg(format!("{days_ago} days ago")).arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn old_recipes_go_and_the_ones_in_use_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tmp.path();
    prefix(tools, "cpython-0ld", 40, "recipe 0ld (dependencies d0ld)\n");
    std::fs::write(tools.join("pyo3-portable-cpython-0ld.cfg"), "").unwrap();
    prefix(tools, "cpython-deps-d0ld", 40, "");
    // built long ago but in use: marked by ensure_cpython, which also marks its dependencies
    prefix(tools, "cpython-1n05e", 90, "recipe 1n05e (dependencies d1n05e)\n");
    prefix(tools, "cpython-deps-d1n05e", 90, "");
    // another checkout's recipe, used last week
    prefix(tools, "cpython-0ther", 7, "recipe 0ther (dependencies d1n05e)\n");
    // the work dirs of a build that stopped midway two days ago, and of one running now
    std::fs::create_dir_all(tools.join("cpython-5t0pped.tmp.AbC123/src")).unwrap();
    age(&tools.join("cpython-5t0pped.tmp.AbC123"), 2);
    std::fs::create_dir_all(tools.join("cpython-runn1ng.tmp.XyZ789")).unwrap();
    // not a CPython prefix
    std::fs::create_dir_all(tools.join("node22")).unwrap();
    age(&tools.join("node22"), 400);

    let (code, err) = prune(tools, &["mark", tools.join("cpython-1n05e").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = prune(tools, &[]);
    assert_eq!(code, 0, "{err}");

    let left = |name: &str| tools.join(name).exists();
    for gone in ["cpython-0ld", "cpython-deps-d0ld", "pyo3-portable-cpython-0ld.cfg", "cpython-5t0pped.tmp.AbC123"] {
        assert!(!left(gone), "{gone} should be removed; stderr: {err}");
    }
    for kept in ["cpython-1n05e", "cpython-deps-d1n05e", "cpython-0ther", "cpython-runn1ng.tmp.XyZ789", "node22"] {
        assert!(left(kept), "{kept} should be kept; stderr: {err}");
    }
    assert!(err.contains("removing") && err.contains("cpython-0ld (unused for 40 days)"), "{err}");

    // a shorter window takes the other checkout's week-old prefix too
    let (code, err) = prune(tools, &["--days", "5"]);
    assert_eq!(code, 0, "{err}");
    assert!(!left("cpython-0ther") && left("cpython-1n05e"), "{err}");
}

#[test]
fn a_bad_day_count_is_refused_and_removes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    prefix(tmp.path(), "cpython-0ld", 40, "recipe 0ld\n");
    let (code, err) = prune(tmp.path(), &["--days", "soon"]);
    assert_eq!(code, 2);
    assert!(err.contains("--days wants a whole number of days, not 'soon'"), "{err}");
    assert!(tmp.path().join("cpython-0ld").exists());
}
