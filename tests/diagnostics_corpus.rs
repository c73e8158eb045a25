//! Table-driven corpus: every file in `tests/fixtures/diagnostics/` is a broken (or valid)
//! endpoint whose `# expect:` lines give the exact findings:
//!
//! ```text
//! # expect: error 5:7 tool.parameters[0].type | unknown type 'strng'
//! ```
//!
//! The file is placed in `tools/`, `resources/` or `prompts/` of a scratch project according to
//! its name prefix (`tool-`, `resource-`, `prompt-`); the project also has `sql/ok.sql`,
//! `python/ok.py` and any `# file: path | content` lines the fixture asks for.

mod common;

use std::path::Path;

use mxcp_runtime::diagnostics;
use mxcp_runtime::load::project::{LoadOptions, Project};

fn findings_of(fixture: &Path) -> (Vec<String>, Vec<String>, String) {
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
    let dir = match name.split('-').next().unwrap() {
        "tool" => "tools",
        "resource" => "resources",
        "prompt" => "prompts",
        other => {
            panic!("{name}: fixture names start with tool-, resource- or prompt-, not {other}")
        }
    };
    let expected: Vec<String> =
        text.lines().filter_map(|l| l.strip_prefix("# expect: ")).map(|l| l.trim().to_string()).collect();
    let mut files = vec![
        ("sql/ok.sql".to_string(), "SELECT 1 AS x\n".to_string()),
        ("python/ok.py".into(), "def ok():\n    return 1\n".into()),
    ];
    for extra in text.lines().filter_map(|l| l.strip_prefix("# file: ")) {
        let (path, content) = extra.split_once(" | ").expect("# file: path | content");
        files.push((path.trim().into(), content.replace("\\n", "\n")));
    }
    let rel = format!("{dir}/{name}");
    files.push((rel.clone(), text.clone()));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let project_dir = common::project(&refs);
    let opts = LoadOptions {
        config_path: Some(common::repo_root().join("tests/fixtures/empty-config.yml")),
        ..Default::default()
    };
    let project = Project::load(project_dir.path(), &opts).expect("site config is valid");
    let mut diags = mxcp_runtime::check::check_static(&project).diagnostics;
    diagnostics::sort(&mut diags);
    for d in &diags {
        assert_eq!(d.file, Path::new(&rel), "{name}: finding in an unexpected file: {d:?}");
    }
    let actual = diags
        .iter()
        .map(|d| format!("{} {}:{} {} | {}", d.severity.as_str(), d.line, d.column, d.yaml_path, d.message))
        .collect();
    let rendered = diags.iter().map(|d| diagnostics::render(d, Some(&text))).collect::<Vec<_>>().join("\n");
    (expected, actual, rendered)
}

#[test]
fn corpus_findings_are_exact() {
    let dir = common::repo_root().join("tests/fixtures/diagnostics");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    fixtures.sort();
    assert!(fixtures.len() >= 30, "the corpus has {} fixtures, expected at least 30", fixtures.len());
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let (expected, actual, rendered) = findings_of(fixture);
        if expected != actual {
            failures.push(format!(
                "{}:\n  expected:\n    {}\n  actual:\n    {}\n{rendered}",
                fixture.display(),
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn examples_have_no_findings() {
    for example in ["hello", "inventory"] {
        let root = common::repo_root().join("examples").join(example);
        let opts = LoadOptions {
            config_path: Some(common::repo_root().join("tests/fixtures/empty-config.yml")),
            ..Default::default()
        };
        let project = Project::load(&root, &opts).expect("loads");
        let findings = mxcp_runtime::check::check_static(&project);
        assert!(findings.diagnostics.is_empty(), "{example}: {}", findings.render());
        assert!(project.endpoints().count() > 0);
    }
}
