//! `mxcp build --target`: the payload goes onto the runtime of the named machine, found by
//! `--runtime`, `$MXCP_RUNTIME_DIR` or beside mxcp, checked to be an ELF for it; dependencies
//! are vendored from wheels for its platform. A missing runtime, the wrong machine's runtime,
//! a built server given as a runtime, or a package with no wheel for the target is a clear
//! error and nothing is written.
//!
//! The aarch64 runtimes here are stand-ins (an aarch64 ELF header and the runtime's build
//! mark): these tests check what the writer does with a runtime, not that one runs. Running
//! a real aarch64 build is the release command's qemu smoke test (docs/portability.md).

mod common;

use std::path::{Path, PathBuf};

use mxcp_runtime::bundle::payload;

fn wheels_args() -> Vec<String> {
    vec!["--no-index".into(), "--find-links".into(), common::test_wheels().to_string_lossy().into_owned()]
}

/// A stand-in runtime: a 64-bit little-endian ELF header for `machine` and one unflipped mark.
fn stand_in_runtime(dir: &Path, name: &str, machine: u16) -> PathBuf {
    let mut bytes = vec![0u8; 64];
    bytes[..4].copy_from_slice(b"\x7fELF");
    bytes[4] = 2; // 64-bit
    bytes[5] = 1; // little-endian
    bytes[18..20].copy_from_slice(&machine.to_le_bytes());
    let mut mark = payload::mark();
    mark[payload::MARK_FLAG] = b'0';
    bytes.extend_from_slice(&mark);
    bytes.extend_from_slice(b"rest of the runtime");
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    path
}

fn pydeps() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_root().join("examples/pydeps"), dir.path());
    dir
}

fn nothing_in(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "nothing written: {left:?}");
}

#[test]
fn aarch64_build_goes_onto_its_runtime_with_aarch64_wheels() {
    if common::skip_without_dev_setup() {
        return;
    }
    let project = pydeps();
    let runtimes = tempfile::tempdir().unwrap();
    let runtime = stand_in_runtime(runtimes.path(), "mxcp-aarch64-linux", 183);
    let out = project.path().join("out/server-arm");
    // found in $MXCP_RUNTIME_DIR
    let (code, _, err) = common::run(
        common::mxcp(project.path())
            .env("MXCP_RUNTIME_DIR", runtimes.path())
            .args(["build", "--target", "aarch64-linux", "-o"])
            .arg(&out)
            .args(wheels_args()),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("for aarch64-linux"), "{err}");
    assert!(err.contains(&runtime.display().to_string()), "the summary names the runtime: {err}");

    let built = std::fs::read(&out).unwrap();
    let base = std::fs::read(&runtime).unwrap();
    assert_eq!(&built[..20], &base[..20], "the runtime's ELF header leads the executable");
    let mut flipped = payload::mark();
    flipped[payload::MARK_FLAG] = b'1';
    assert!(built.windows(32).any(|w| w == flipped), "the copy is marked as built");
    let p = payload::find(&out, true).unwrap().expect("a payload");
    let files: Vec<String> = p.list().unwrap().into_iter().map(|(name, _)| name).collect();
    let speedups: Vec<&String> = files.iter().filter(|f| f.contains("markupsafe/_speedups")).collect();
    assert!(
        speedups.iter().any(|f| f.ends_with("aarch64-linux-gnu.so")) && !speedups.iter().any(|f| f.contains("x86_64")),
        "the C extension is aarch64's: {speedups:?}"
    );
}

#[test]
fn missing_or_wrong_runtimes_are_named_and_nothing_is_written() {
    let project = common::project(&[]);
    let empty = tempfile::tempdir().unwrap();
    let dist = project.path().join("dist");

    let (code, _, err) = common::run(common::mxcp(project.path()).env("MXCP_RUNTIME_DIR", empty.path()).args([
        "build",
        "--target",
        "aarch64-linux",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no mxcp runtime for aarch64-linux"), "{err}");
    assert!(err.contains(&empty.path().join("mxcp-aarch64-linux").display().to_string()), "names where: {err}");
    assert!(err.contains("--runtime"), "{err}");
    nothing_in(&dist);

    // an x86_64 runtime named for aarch64
    let x86 = stand_in_runtime(empty.path(), "x86", 62);
    let (code, _, err) =
        common::run(common::mxcp(project.path()).args(["build", "--target", "aarch64-linux", "--runtime"]).arg(&x86));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not an mxcp runtime for aarch64-linux: it is built for x86_64-linux"), "{err}");
    nothing_in(&dist);

    // not an ELF file at all
    let text = empty.path().join("notes.txt");
    std::fs::write(&text, "not a program").unwrap();
    let (code, _, err) = common::run(common::mxcp(project.path()).args(["build", "--runtime"]).arg(&text));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a 64-bit little-endian ELF file"), "{err}");
    nothing_in(&dist);

    // a built server is not a runtime (its mark is flipped)
    let server = project.path().join("first");
    let (code, _, err) = common::run(common::mxcp(project.path()).args(["build", "-o"]).arg(&server));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = common::run(common::mxcp(project.path()).args(["build", "--runtime"]).arg(&server));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not an mxcp runtime: it carries 0 build marks"), "{err}");
    nothing_in(&dist);

    let (code, _, err) = common::run(common::mxcp(project.path()).args(["build", "--target", "riscv64-linux"]));
    assert_eq!(code, 2, "clap refuses it: {err}");
    assert!(err.contains("x86_64-linux") && err.contains("aarch64-linux"), "lists the targets: {err}");
}

#[test]
fn a_package_without_a_wheel_for_the_target_is_named() {
    if common::skip_without_dev_setup() {
        return;
    }
    let project = pydeps();
    let runtimes = tempfile::tempdir().unwrap();
    stand_in_runtime(runtimes.path(), "mxcp-aarch64-linux", 183);
    // only the x86_64 wheel of the C extension is on offer
    let wheels = tempfile::tempdir().unwrap();
    for w in std::fs::read_dir(common::test_wheels()).unwrap().flatten() {
        let name = w.file_name().to_string_lossy().into_owned();
        if !name.contains("aarch64") {
            std::fs::copy(w.path(), wheels.path().join(&name)).unwrap();
        }
    }
    let (code, _, err) = common::run(
        common::mxcp(project.path())
            .env("MXCP_RUNTIME_DIR", runtimes.path())
            .args(["build", "--target", "aarch64-linux", "--no-index", "--find-links"])
            .arg(wheels.path()),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.to_lowercase().contains("no installable wheel for markupsafe"), "{err}");
    nothing_in(&project.path().join("dist"));
}
