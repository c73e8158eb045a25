//! `mxcp validate` reports every finding of every file, rustc-style or as JSON, and exits 1
//! on any error.

mod common;

use common::{mxcp, project, run};

const GOOD_SQL: &str = "SELECT 1 AS x\n";

#[test]
fn three_errors_in_three_files_are_all_reported() {
    let dir = project(&[
        ("sql/one.sql", GOOD_SQL),
        ("tools/a.yml", "mxcp: 1\ntool:\n  name: a\n  descripton: typo\n  source:\n    file: ../sql/one.sql\n"),
        (
            "tools/b.yml",
            "mxcp: 1\ntool:\n  name: b\n  parameters:\n    - name: n\n      type: integr\n      description: n\n  source:\n    code: SELECT $n AS x\n",
        ),
        ("prompts/c.yml", "mxcp: 1\nprompt:\n  name: c\n  messages:\n    - prompt: \"Hello {{ who }}\"\n"),
    ]);
    let (code, stdout, stderr) = run(mxcp(dir.path()).arg("validate"));
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn json_output_lists_every_finding_with_its_position() {
    let dir = project(&[(
        "tools/a.yml",
        "mxcp: 1\ntool:\n  name: a\n  enabled: maybe\n  source:\n    file: ../sql/missing.sql\n",
    )]);
    let (code, stdout, _) = run(mxcp(dir.path()).args(["validate", "--json-output"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["result"]["status"], "error");
    assert_eq!(v["result"]["validated"][0]["status"], "error");
    assert_eq!(v["result"]["validated"][0]["path"], "tools/a.yml");
    let summary = common::diagnostic_lines(&v);
    assert_eq!(
        summary,
        vec![
            "error tools/a.yml:4:12 tool.enabled | expected true or false, found the string 'maybe'".to_string(),
            "error tools/a.yml:6:11 tool.source.file | source file not found: '../sql/missing.sql'".to_string(),
        ]
    );
}

#[test]
fn valid_project_passes_and_names_its_files() {
    let dir = project(&[
        ("sql/one.sql", GOOD_SQL),
        ("tools/a.yml", "mxcp: 1\ntool:\n  name: a\n  return: {type: integer}\n  source:\n    file: ../sql/one.sql\n"),
    ]);
    let (code, stdout, stderr) = run(mxcp(dir.path()).arg("validate"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 endpoint file(s) checked: 1 valid, 0 with errors"), "{stdout}");
}

#[test]
fn outside_a_project_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(mxcp(dir.path()).arg("validate"));
    assert_eq!(code, 1);
    assert!(stderr.contains("No mxcp-site.yml found in"), "{stderr}");
    let (code, stdout, _) = run(mxcp(dir.path()).args(["validate", "--json-output"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "error");
}

#[test]
fn broken_site_config_is_reported_with_position() {
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "mxcp-site.yml", "mxcp: 1\nproject: p\nprofile: default\nprofils: {}\n");
    let (code, _, stderr) = run(mxcp(dir.path()).arg("validate"));
    assert_eq!(code, 1);
    assert!(stderr.contains("error: unknown key 'profils'"), "{stderr}");
    assert!(stderr.contains("--> mxcp-site.yml:4:1"), "{stderr}");
    assert!(stderr.contains("did you mean 'profiles'?"), "{stderr}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = project(&[]);
    // far more output than a pipe holds (64 KB): mxcp is still writing when `head -c 1` exits
    let cmd = mxcp(dir.path());
    let program = cmd.get_program().to_owned();
    let envs: Vec<_> = cmd.get_envs().map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned()))).collect();
    let mut sh = std::process::Command::new("sh");
    sh.current_dir(dir.path()).arg("-c").arg(format!(
        "\"{}\" query --json-output \"SELECT range AS n FROM range(100000)\" 2>err.txt | head -c 1 >/dev/null",
        program.to_string_lossy(),
    ));
    for (k, v) in envs {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    assert!(sh.status().unwrap().success());
    let err = std::fs::read_to_string(dir.path().join("err.txt")).unwrap();
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}
