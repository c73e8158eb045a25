//! The glibc floor the README promises (2.28), checked on the executable every run with
//! scripts/check-portable.py (symbol versions and NEEDED libraries, as python-build-standalone
//! validates its builds): nothing newer than GLIBC_2.28 and no library outside glibc's own.
//! The second test keeps the check honest: it refuses an executable built by the host's
//! toolchain (Debian 12, glibc 2.36), naming what needs more.

mod common;

use std::path::Path;
use std::process::Command;

const FLOOR: &str = "2.28";

fn check(args: &[&str], file: &Path) -> (i32, String) {
    let script = common::repo_root().join("scripts/check-portable.py");
    let out = Command::new("python3").arg(script).args(args).arg(file).output().expect("python3 runs the check");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_executable_runs_on_the_promised_glibc() {
    let (code, report) = check(&["--glibc-floor", FLOOR], Path::new(env!("CARGO_BIN_EXE_mxcp")));
    assert_eq!(code, 0, "the executable needs more than glibc {FLOOR} and its libraries:\n{report}");
    assert!(report.contains("NEEDED: ") && report.contains("libc.so.6"), "{report}");
    assert!(!report.contains("libstdc++") && !report.contains("libgcc_s"), "C++ runtime linked statically: {report}");
}

#[test]
fn the_check_refuses_what_an_older_glibc_lacks() {
    // a C program of the host's own toolchain calls __libc_start_main@GLIBC_2.34
    let tmp = tempfile::tempdir().unwrap();
    let (src, exe) = (tmp.path().join("hello.c"), tmp.path().join("hello"));
    std::fs::write(&src, "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n").unwrap();
    let status = Command::new("cc").arg(&src).arg("-o").arg(&exe).status().expect("the host has a C compiler");
    assert!(status.success());
    let (code, report) = check(&[], &exe);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("needs GLIBC_2.34: __libc_start_main"), "{report}");
}
