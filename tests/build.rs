//! `mxcp build`: executables built from examples/ serve MCP (official Python client) where no
//! Python exists and HOME is empty, in a root filesystem holding only the executable and the
//! libraries `ldd` lists, from a read-only cache after `materialize`, and with eight
//! concurrent first starts, and in a Debian 11 root (glibc 2.31). Damaged executables refuse
//! to run; builds are reproducible.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as Json, json};

/// Builds `example` into `<tmp>/out/server`; returns (tmp, executable).
fn build(example: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    common::copy_dir(&common::repo_root().join("examples").join(example), &project);
    let out = tmp.path().join("out/server");
    let (code, _, err) = common::run(common::mxcp(&project).arg("build").arg("-o").arg(&out).args(extra));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("payload:      sha256 "), "summary: {err}");
    (tmp, out)
}

fn wheels_args() -> Vec<String> {
    vec!["--no-index".into(), "--find-links".into(), common::test_wheels().to_string_lossy().into_owned()]
}

fn build_pydeps() -> (tempfile::TempDir, PathBuf) {
    let w = wheels_args();
    build("pydeps", &w.iter().map(String::as_str).collect::<Vec<_>>())
}

fn count_items_call() -> [&'static str; 3] {
    ["--call", "count_items", r#"{"category": "veg"}"#]
}

fn assert_inventory(report: &Json) {
    assert_eq!(report["tools"], json!(["count_items", "get_item", "list_items"]), "{report}");
    assert_eq!(report["calls"][0]["texts"], json!(["2"]), "{report}");
}

/// MCP over stdio to `command` (a shell-quoted command line) with extra environment.
fn mcp(command: &str, env: &[(&str, &str)], calls: &[&str], sessions: usize) -> Json {
    let mut args: Vec<String> = vec!["--stdio".into(), command.into()];
    for (k, v) in env {
        args.push("--env".into());
        args.push(format!("{k}={v}"));
    }
    args.extend(calls.iter().map(|s| s.to_string()));
    args.push("--sessions".into());
    args.push(sessions.to_string());
    common::mcp_call(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn no_python(exe: &Path, home: &Path) -> String {
    format!(
        "{} env -i HOME={} PATH=/usr/bin:/bin {}",
        common::repo_root().join("tests/sandbox/no-python.sh").display(),
        home.display(),
        exe.display()
    )
}

#[test]
fn sql_server_where_no_python_exists_and_home_is_empty() {
    if common::skip_without_dev_setup() {
        return;
    }
    let (tmp, exe) = build("inventory", &[]);
    let home = tmp.path().join("empty-home");
    std::fs::create_dir(&home).unwrap();
    let report = mcp(&no_python(&exe, &home), &[], &count_items_call(), 1);
    assert_inventory(&report);
    // the runtime was extracted under the empty HOME, and the database made there too
    assert!(home.join(".cache/mxcp").is_dir() && home.join(".local/share/mxcp/inventory/data").is_dir());
}

#[test]
fn python_server_with_dependencies_where_no_python_exists() {
    if common::skip_without_dev_setup() {
        return;
    }
    let (tmp, exe) = build_pydeps();
    let (code, out, _) = common::run(Command::new(&exe).arg("inspect"));
    assert_eq!(code, 0);
    assert!(out.contains("dependencies: MarkupSafe 3.0.2, six 1.16.0"), "{out}");
    let home = tmp.path().join("empty-home");
    std::fs::create_dir(&home).unwrap();
    let report = mcp(&no_python(&exe, &home), &[], &["--call", "stdlib_tour", r#"{"text": "<b>"}"#], 1);
    let s = &report["calls"][0]["structured"];
    assert_eq!(
        s,
        &json!({"escaped": "&lt;b&gt;", "c_extension": true, "six": "1.16.0", "json_c": true, "decimal": "0.125",
                "sqlite": 42, "ssl": "OpenSSL", "ca_certs": true, "asyncio": 10}),
        "{report}"
    );
}

/// A root filesystem with only `exe` (as /server) and the shared libraries `ldd` lists for it.
fn minimal_rootfs(dir: &Path, exe: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for d in ["cache", "data"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(exe, root.join("server")).unwrap();
    let ldd = Command::new("ldd").arg(exe).output().unwrap();
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        if let Some(path) = line.split_whitespace().find(|w| w.starts_with('/')) {
            let target = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(path, &target).unwrap();
        }
    }
    let mut files = Vec::new();
    collect_files(&root, &root, &mut files);
    files.sort();
    assert_eq!(files[0], "lib/x86_64-linux-gnu/libc.so.6", "only libraries and the server: {files:?}");
    assert!(files.iter().all(|f| f.starts_with("lib") || f == "server"), "{files:?}");
    root
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            collect_files(root, &e.path(), out);
        } else {
            out.push(e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

#[test]
fn servers_run_in_a_root_filesystem_with_only_the_executable_and_its_libraries() {
    if common::skip_without_dev_setup() {
        return;
    }
    for example in ["inventory", "pydeps"] {
        let (tmp, exe) = if example == "pydeps" { build_pydeps() } else { build(example, &[]) };
        let root = minimal_rootfs(tmp.path(), &exe);
        let command = format!("/usr/sbin/chroot {} /server", root.display());
        let env = [("MXCP_CACHE_DIR", "/cache"), ("MXCP_DATA_DIR", "/data")];
        if example == "inventory" {
            assert_inventory(&mcp(&command, &env, &count_items_call(), 1));
        } else {
            let report = mcp(&command, &env, &["--call", "stdlib_tour", r#"{"text": "&"}"#], 1);
            let s = &report["calls"][0]["structured"];
            assert_eq!((&s["escaped"], &s["c_extension"], &s["sqlite"]), (&json!("&amp;"), &json!(true), &json!(42)));
        }
    }
}

#[test]
fn materialized_read_only_cache_starts_with_no_writes() {
    if common::skip_without_dev_setup() {
        return;
    }
    let (tmp, exe) = build_pydeps();
    let cache = tmp.path().join("image-cache");
    let (code, _, err) = common::run(Command::new(&exe).arg("materialize").arg(&cache));
    assert_eq!(code, 0, "{err}");
    // the cache is mounted read-only: any write would fail the start
    let script = format!(
        "mount --bind {c} {c} && mount -o remount,ro,bind {c} && exec env MXCP_CACHE_DIR={c} MXCP_DATA_DIR={d} {exe}",
        c = cache.display(),
        d = tmp.path().join("data").display(),
        exe = exe.display()
    );
    let command = format!("unshare --mount --propagation private sh -c '{script}'");
    let report = mcp(&command, &[], &["--call", "stdlib_tour", r#"{"text": "x"}"#], 1);
    assert_eq!(report["calls"][0]["structured"]["c_extension"], true, "{report}");
}

#[test]
fn eight_concurrent_first_starts() {
    if common::skip_without_dev_setup() {
        return;
    }
    // a Python project: the standard library and the payload are both extracted at first start
    let (tmp, exe) = build_pydeps();
    let cache = tmp.path().join("fresh-cache");
    let cache_env = cache.to_string_lossy().into_owned();
    // one cache for all; a database each (DuckDB lets one process write a file)
    let command = format!("sh -c 'MXCP_DATA_DIR=$(mktemp -d) exec {}'", exe.display());
    let reports = mcp(&command, &[("MXCP_CACHE_DIR", &cache_env)], &["--call", "stdlib_tour", r#"{"text": "<"}"#], 8);
    for r in reports.as_array().unwrap() {
        assert_eq!(r["calls"][0]["structured"]["escaped"], "&lt;", "{r}");
    }
    let mut entries: Vec<String> =
        std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    entries.sort();
    let kinds: Vec<&str> = entries.iter().map(|e| e.split('-').next().unwrap()).collect();
    assert_eq!(kinds, ["app", "bin", "python"], "one of each, no leftovers: {entries:?}");
}

#[test]
fn built_server_commands() {
    let (tmp, exe) = build("inventory", &[]);
    let data = tmp.path().join("data");
    let server = |args: &[&str]| {
        common::run(
            Command::new(&exe).args(args).env("MXCP_CACHE_DIR", common::shared_cache()).env("MXCP_DATA_DIR", &data),
        )
    };
    let (code, out, _) = server(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("inventory (mxcp ") && out.contains("payload sha256 "), "{out}");
    let (code, out, _) = server(&["inspect"]);
    assert_eq!(code, 0);
    assert!(out.contains("endpoints:    3 tool(s), 2 resource(s), 1 prompt(s)"), "{out}");
    assert!(out.contains("  project/tools/get_item.yml  "), "{out}");
    let (code, out, err) = server(&["run", "tool", "get_item", "--param", "item_id=1", "--json-output"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Json>(&out).unwrap()["result"]["name"], "apple");
    let (code, out, err) = server(&["test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("tests: 5 passed, 0 failed, 0 errors"), "the packed tests ran: {out}");
    let (code, out, _) = server(&["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("count_items"));
    for authoring in ["build", "init", "validate"] {
        let (code, _, err) = server(&[authoring]);
        assert_eq!(code, 2, "{authoring}: {err}");
        assert!(err.contains("unrecognized subcommand"), "{err}");
    }
}

#[test]
fn user_configuration_is_read_at_run_time_never_packed() {
    let (tmp, exe) = build("pytools", &[]);
    let bytes = std::fs::read(&exe).unwrap();
    let has = |needle: &[u8]| memchr::memmem::find(&bytes, needle).is_some();
    assert!(!has(b"not-a-real-token") && !has(b"rotation: \"2\""), "no user configuration or secret in the executable");
    let (code, out, _) = common::run(Command::new(&exe).arg("inspect"));
    assert_eq!(code, 0);
    assert!(!out.contains("config.yml"), "{out}");
    // the server reads it where it runs
    let config = tmp.path().join("project/config.yml");
    let (code, out, err) = common::run(
        Command::new(&exe)
            .args(["run", "tool", "whoami", "--json-output"])
            .env("MXCP_CONFIG", &config)
            .env("MXCP_CACHE_DIR", common::shared_cache())
            .env("MXCP_DATA_DIR", tmp.path().join("data")),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Json>(&out).unwrap()["result"]["user"], "alice");
}

#[test]
fn requirements_file_and_compression_level_options() {
    if common::skip_without_dev_setup() {
        return;
    }
    let req = common::repo_root().join("examples/pydeps/requirements.txt");
    let mut args: Vec<String> = vec!["--requirements".into(), req.to_string_lossy().into_owned()];
    args.extend(["--compression-level".to_string(), "3".to_string()]);
    args.extend(wheels_args());
    let (_tmp, exe) = build("inventory", &args.iter().map(String::as_str).collect::<Vec<_>>());
    let (code, out, _) = common::run(Command::new(&exe).arg("inspect"));
    assert_eq!(code, 0);
    assert!(out.contains("dependencies: MarkupSafe 3.0.2, six 1.16.0"), "{out}");
    let (code, _, err) = common::run(common::mxcp(Path::new(".")).args(["build", "--compression-level", "23"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("23 is not in 1..=22"), "{err}");
}

#[test]
fn built_server_over_streamable_http() {
    if common::skip_without_dev_setup() {
        return;
    }
    let (tmp, exe) = build("inventory", &[]);
    let mut cmd = Command::new(&exe);
    cmd.args(["serve", "--transport", "streamable-http", "--port", "0"])
        .env("MXCP_CACHE_DIR", common::shared_cache())
        .env("MXCP_DATA_DIR", tmp.path().join("data"));
    let mut server = common::HttpServer::spawn(&mut cmd);
    let [c, name, args] = count_items_call();
    assert_inventory(&common::mcp_call(&["--url", &server.url, c, name, args]));
    server.terminate();
    assert!(server.wait_exit(std::time::Duration::from_secs(10)));
}

#[test]
fn bundled_database_is_copied_on_first_use() {
    let dir = common::project(&[(
        "tools/answer.yml",
        "mxcp: 1\ntool:\n  name: answer\n  description: d\n  return: {type: integer}\n  source:\n    code: SELECT answer FROM facts\n",
    )]);
    let (code, _, err) =
        common::run(common::mxcp(dir.path()).args(["query", "CREATE TABLE facts AS SELECT 42 AS answer"]));
    assert_eq!(code, 0, "{err}");
    let out = dir.path().join("server");
    let (code, _, err) = common::run(common::mxcp(dir.path()).args(["build", "--include-data", "-o"]).arg(&out));
    assert_eq!(code, 0, "{err}");
    let data = dir.path().join("server-data");
    let run = |extra: &[&str]| {
        common::run(
            Command::new(&out)
                .args(["run", "tool", "answer"])
                .args(extra)
                .env("MXCP_CACHE_DIR", common::shared_cache())
                .env("MXCP_DATA_DIR", &data),
        )
    };
    assert_eq!(run(&["--readonly"]).1.trim(), "42", "read-only: opened inside the payload");
    assert!(!data.exists());
    assert_eq!(run(&[]).1.trim(), "42");
    assert!(data.join("data/db-default.duckdb").is_file(), "copied out on first read-write use");
}

#[test]
fn invalid_project_builds_nothing() {
    let dir = common::project(&[(
        "tools/broken.yml",
        "mxcp: 1\ntool:\n  name: broken\n  description: d\n  source:\n    code: SELEC 1\n",
    )]);
    let (code, _, err) = common::run(common::mxcp(dir.path()).arg("build"));
    assert_eq!(code, 1);
    assert!(err.contains("tools/broken.yml") && err.contains("nothing was built"), "{err}");
    assert!(!dir.path().join("dist").exists());
}

#[test]
fn missing_wheel_is_named_and_nothing_is_written() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = common::project(&[("requirements.txt", "no-such-package-mxcp==1.0\n")]);
    let w = wheels_args();
    let (code, _, err) = common::run(common::mxcp(dir.path()).arg("build").args(&w));
    assert_eq!(code, 1);
    assert!(err.contains("no installable wheel for no-such-package-mxcp==1.0"), "{err}");
    let dist: Vec<_> = std::fs::read_dir(dir.path().join("dist")).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(dist.is_empty(), "no executable and no staging left: {dist:?}");
}

#[test]
fn builds_are_reproducible() {
    if common::skip_without_dev_setup() {
        return;
    }
    let (tmp, first) = build_pydeps();
    let project = tmp.path().join("project");
    let second = tmp.path().join("again/server");
    let w = wheels_args();
    let (code, _, err) = common::run(common::mxcp(&project).arg("build").arg("-o").arg(&second).args(&w));
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(), "byte-identical executables");
}

/// Runs a damaged copy of a server with a fresh cache: it must fail, naming the problem.
fn damaged(exe: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> (i32, String) {
    let dir = exe.parent().unwrap().join(format!("damaged-{}", rand_suffix()));
    std::fs::create_dir(&dir).unwrap();
    let copy = dir.join("server");
    let mut bytes = std::fs::read(exe).unwrap();
    edit(&mut bytes);
    std::fs::write(&copy, bytes).unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, out, err) = common::run(
        Command::new(&copy)
            .args(["run", "tool", "count_items", "--param", "category=veg"])
            .env("MXCP_CACHE_DIR", dir.join("cache")),
    );
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(
        !dir.join("cache")
            .read_dir()
            .map(|mut d| d.any(|e| e.unwrap().file_name().to_string_lossy().starts_with("app-")))
            .unwrap_or(false),
        "no payload extracted"
    );
    (code, err)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

#[test]
fn damaged_executables_refuse_to_run() {
    let (_tmp, exe) = build("inventory", &[]);
    let len = std::fs::metadata(&exe).unwrap().len() as usize;

    let (code, err) = damaged(&exe, |b| b.truncate(len - 10));
    assert_ne!(code, 0);
    assert!(err.contains("lost its project payload"), "truncated trailer: {err}");

    let (code, err) = damaged(&exe, |b| {
        b.truncate(len - 64 - 500);
        let trailer = std::fs::read(&exe).unwrap()[len - 64..].to_vec();
        b.extend_from_slice(&trailer);
    });
    assert_ne!(code, 0);
    assert!(err.contains("damaged"), "payload cut short: {err}");

    let (code, err) = damaged(&exe, |b| b[len - 64 - 100] ^= 0xff);
    assert_ne!(code, 0);
    assert!(err.contains("does not match its checksum"), "tampered payload: {err}");

    // strip drops appended data; the build mark inside the ELF still tells
    let dir = tempfile::tempdir().unwrap();
    let stripped = dir.path().join("stripped");
    let status = Command::new("strip").arg("-o").arg(&stripped).arg(&exe).status().unwrap();
    assert!(status.success());
    let (code, _, err) =
        common::run(Command::new(&stripped).arg("list").env("MXCP_CACHE_DIR", dir.path().join("cache")));
    assert_ne!(code, 0);
    assert!(err.contains("lost its project payload (was it stripped or truncated?)"), "{err}");
}

/// Issue 15's runtime proof: a server built here (an SQL tool, a Python tool using a
/// C-extension wheel and the standard library's C modules) answers over MCP inside a Debian 11
/// root (glibc 2.31, the oldest glibc this machine can run; scripts/bullseye-root.sh), with an
/// empty environment and nothing of the host but the executable.
#[test]
fn a_built_server_answers_in_a_debian_11_root() {
    if common::skip_without_dev_setup() {
        return;
    }
    if !common::unset(&["MXCP_TEST_BULLSEYE"]).is_empty() {
        eprintln!("skipped: MXCP_TEST_BULLSEYE not set; ./dev test prepares the Debian 11 root and sets it");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    common::copy_dir(&common::repo_root().join("examples/pydeps"), &project);
    // pydeps plus an SQL tool and a tool that reports the C library
    common::copy_dir(&common::repo_root().join("tests/fixtures/portable-proof"), &project);
    let run = tmp.path().join("run");
    for d in ["cache", "data"] {
        std::fs::create_dir_all(run.join(d)).unwrap();
    }
    let w = wheels_args();
    let mut cmd = common::mxcp(&project);
    cmd.arg("build").arg("-o").arg(run.join("server")).args(&w);
    // `./dev release` runs this test for aarch64: a server built for it onto the release runtime,
    // served in the arm64 root under qemu
    let aarch64 = std::env::var("MXCP_TEST_PROOF_RUNTIME_AARCH64").ok().filter(|r| !r.is_empty());
    if let Some(runtime) = &aarch64 {
        cmd.args(["--target", "aarch64-linux", "--runtime", runtime]);
    }
    let (code, _, err) = common::run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    let elf = std::fs::read(run.join("server")).unwrap();
    let machine = u16::from_le_bytes([elf[18], elf[19]]);
    assert_eq!(machine, if aarch64.is_some() { 183 } else { 62 }, "ELF e_machine of the built server");
    let command = format!(
        "env MXCP_ROOT_ARCH={} {} run --bind-rw {}:/proof -- MXCP_CACHE_DIR=/proof/cache MXCP_DATA_DIR=/proof/data /proof/server",
        if aarch64.is_some() { "arm64" } else { "amd64" },
        common::repo_root().join("scripts/bullseye-root.sh").display(),
        run.display()
    );
    let calls =
        ["--call", "libc", "{}", "--call", "squares", r#"{"n": 4}"#, "--call", "stdlib_tour", r#"{"text": "<b>"}"#];
    let report = mcp(&command, &[], &calls, 1);
    assert_eq!(report["tools"], json!(["libc", "squares", "stdlib_tour"]), "{report}");
    assert_eq!(report["calls"][0]["structured"], json!({"libc": "glibc", "version": "2.31"}), "{report}");
    assert_eq!(report["calls"][1]["texts"], json!(["30"]), "{report}");
    let tour = &report["calls"][2]["structured"];
    assert_eq!(
        (&tour["escaped"], &tour["c_extension"], &tour["sqlite"]),
        (&json!("&lt;b&gt;"), &json!(true), &json!(42))
    );
    // the evidence `./dev release` records (docs/portability.md)
    let results: Vec<_> = report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| if c["structured"].is_null() { c["texts"].clone() } else { c["structured"].clone() })
        .collect();
    eprintln!(
        "served by an {} server in the Debian 11 root: tools {}; results {}",
        if aarch64.is_some() { "aarch64" } else { "x86_64" },
        report["tools"],
        json!(results)
    );
}
