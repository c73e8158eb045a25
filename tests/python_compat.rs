//! Python behaviour that must match the reference (MXCP 0.12.3), observed by running it: which
//! function a Python resource calls (tests/fixtures/python-compat/resources), and the plugin
//! base class's API (tests/fixtures/python-compat/plugins). Each expected value is the
//! reference's `--json-output` for the same command, unless a comment says otherwise.

mod common;

use std::path::Path;

use serde_json::{Value as Json, json};

/// A scratch copy of tests/fixtures/python-compat/<name> (the commands write a database).
fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&common::repo_root().join("tests/fixtures/python-compat").join(name), dir.path());
    dir
}

/// `mxcp ARGS --json-output` in `dir` with the user configuration `config` (None: an empty one).
fn json_output(dir: &Path, config: Option<&str>, args: &[&str]) -> (i32, Json, String) {
    let mut cmd = common::mxcp(dir);
    if let Some(c) = config {
        cmd.env("MXCP_CONFIG", dir.join(c));
    }
    let (code, out, err) = common::run(cmd.args(args).arg("--json-output"));
    let v: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

fn read_resource(dir: &Path, uri: &str) -> (i32, Json, String) {
    json_output(dir, None, &["run", "resource", uri, "--param", "id=7"])
}

// ---- Task A: the function a Python resource calls ---------------------------------------------

#[test]
fn resource_calls_main() {
    let dir = fixture("resources");
    let (code, v, err) = read_resource(dir.path(), "main://{id}");
    assert_eq!((code, v), (0, json!({"status": "ok", "result": {"called": "main", "id": 7}})), "{err}");
    let (code, v, err) = read_resource(dir.path(), "async://{id}");
    assert_eq!((code, v), (0, json!({"status": "ok", "result": {"called": "async main", "id": 7}})), "{err}");
}

#[test]
fn resource_without_main_calls_the_function_named_like_its_file() {
    let dir = fixture("resources");
    let (code, v, err) = read_resource(dir.path(), "stem://{id}");
    assert_eq!((code, v), (0, json!({"status": "ok", "result": {"called": "by_stem", "id": 7}})), "{err}");
}

#[test]
fn resource_falls_back_to_the_first_public_callable() {
    let dir = fixture("resources");
    let (code, v, err) = read_resource(dir.path(), "first://{id}");
    assert_eq!((code, v), (0, json!({"status": "ok", "result": {"called": "beta", "id": 7}})), "{err}");
}

#[test]
fn resource_name_does_not_choose_the_function() {
    // `name: lookup_item` and a function of that name, but no main: the reference calls `aaa`
    let dir = fixture("resources");
    let (code, v, err) = read_resource(dir.path(), "named://{id}");
    assert_eq!((code, v), (0, json!({"status": "ok", "result": {"called": "aaa", "id": 7}})), "{err}");
}

#[test]
fn validate_accepts_resources_without_a_function_named_like_them() {
    let dir = fixture("resources");
    let (code, v, err) = json_output(dir.path(), None, &["validate"]);
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["status"], "ok");
    assert_eq!(common::diagnostic_lines(&v), Vec::<String>::new());
}

#[test]
fn resource_without_any_callable() {
    let dir = common::project(&[
        ("python/nothing.py", "import json\n\nLIMIT = 3\n\n\ndef _hidden(id):\n    return {}\n"),
        (
            "resources/nothing.yml",
            "mxcp: 1\nresource:\n  uri: 'nothing://{id}'\n  name: nothing\n  description: d\n  language: python\n  \
             parameters:\n    - {name: id, type: integer, description: x}\n  source: {file: ../python/nothing.py}\n",
        ),
    ]);
    // the reference says "... in resources/../python/nothing.py": mxcp names paths from the root
    let (code, v, _) = read_resource(dir.path(), "nothing://{id}");
    assert_eq!((code, v), (1, json!({"status": "error", "error": "No callable function found in python/nothing.py"})));
    // the reference's validate only checks that the file exists; the call fails as above
    let (code, v, _) = json_output(dir.path(), None, &["validate"]);
    assert_eq!(code, 1);
    assert_eq!(
        common::diagnostic_lines(&v),
        vec!["error resources/nothing.yml:9:18 resource.source | No callable function found in python/nothing.py"]
    );
}

#[test]
fn validate_checks_the_function_the_resource_calls() {
    let dir = common::project(&[
        (
            "python/res.py",
            "def res(id: int) -> dict:\n    return {}\n\n\ndef main(other: str) -> dict:\n    return {}\n",
        ),
        (
            "resources/res.yml",
            "mxcp: 1\nresource:\n  uri: 'res://{id}'\n  name: res\n  description: d\n  language: python\n  \
             parameters:\n    - {name: id, type: integer, description: x}\n  source: {file: ../python/res.py}\n",
        ),
    ]);
    let (code, v, _) = json_output(dir.path(), None, &["validate"]);
    assert_eq!(code, 1);
    assert_eq!(
        common::diagnostic_lines(&v),
        vec![
            "error python/res.py:5:10  | function 'main' requires parameter 'other', which the endpoint does not declare",
            "error resources/res.yml:8:7 resource.parameters[0] | parameter 'id' is declared, but function 'main' in python/res.py (line 5) has no parameter 'id'",
        ]
    );
}

// ---- Task B: the plugin API --------------------------------------------------------------------

fn run_plugin_tool(dir: &Path, args: &[&str]) -> (i32, Json, String) {
    let mut full = vec!["run", "tool"];
    full.extend_from_slice(args);
    json_output(dir, Some("config.yml"), &full)
}

#[test]
fn plugins_with_the_reference_constructor_and_udf_names() {
    // p_super calls super().__init__(config, user_context); p_own defines
    // __init__(self, config: dict[str, str], user_context=None); functions are <method>_<name>
    let dir = fixture("plugins");
    let (code, v, err) = run_plugin_tool(dir.path(), &["greet", "--param", "name=ann"]);
    assert_eq!(
        (code, v),
        (0, json!({"status": "ok", "result": {"greeting": "hello, ann", "shouted": "ANN!", "doubled": 42}})),
        "{err}"
    );
}

#[test]
fn base_class_state_and_anonymous_user_helpers() {
    let dir = fixture("plugins");
    let (code, v, err) = run_plugin_tool(dir.path(), &["plugin_state"]);
    let expected = r#"{"attributes": ["_config", "_user_context", "greeting"], "authenticated": false, "config": {"greeting": "hello", "rotation": "3"}, "email": null, "has_config_attribute": false, "provider": null, "token": null, "user_context": "None", "username": null, "x": 1}"#;
    assert_eq!((code, v), (0, json!({"status": "ok", "result": expected})), "{err}");
}

#[test]
fn only_udf_methods_become_functions() {
    let dir = fixture("plugins");
    for (sql, name) in
        [("SELECT not_a_udf_sup(1) AS x", "not_a_udf_sup"), ("SELECT helper_bare(1) AS x", "helper_bare")]
    {
        let tool = format!(
            "mxcp: 1\ntool:\n  name: probe\n  description: d\n  return: {{type: integer}}\n  source:\n    code: {sql}\n"
        );
        common::write(dir.path(), "tools/probe.yml", &tool);
        let (code, v, _) = run_plugin_tool(dir.path(), &["probe"]);
        assert_eq!(code, 1);
        let msg = v["error"].as_str().unwrap();
        // the reference: "Failed to execute SQL: Catalog Error: Scalar Function with name ... does
        // not exist!" and DuckDB's suggestion (which depends on its version)
        assert!(
            msg.starts_with(&format!(
                "Failed to execute SQL: Catalog Error: Scalar Function with name {name} does not exist!"
            )),
            "{msg}"
        );
    }
}

#[test]
fn missing_plugin_configuration_is_worded_like_the_reference() {
    let dir = fixture("plugins");
    let (code, v, _) = json_output(dir.path(), None, &["run", "tool", "greet", "--param", "name=x"]);
    assert_eq!(code, 1);
    // the reference prefixes "Failed to create RuntimeEnvironment: "
    assert_eq!(v["error"], "Plugin configuration 'supcfg' not found in plugin config");
}

/// A project whose only plugin is `plugins/<module>.py` (the given source) and a SQL tool
/// `probe` running `sql`: the result of `mxcp run tool probe`.
fn one_plugin(module: &str, source: &str, sql: &str) -> (i32, Json) {
    let tool = format!("mxcp: 1\ntool:\n  name: probe\n  description: d\n  source:\n    code: {sql}\n");
    let dir = common::project(&[(&format!("plugins/{module}.py"), source), ("tools/probe.yml", &tool)]);
    let site = format!("mxcp: 1\nproject: test\nprofile: default\nplugin:\n  - name: p\n    module: {module}\n");
    common::write(dir.path(), "mxcp-site.yml", &site);
    let (code, v, _) = json_output(dir.path(), None, &["run", "tool", "probe"]);
    (code, v)
}

const HEADER: &str = "from mxcp.plugins import MXCPBasePlugin, udf\n\n\nclass MXCPPlugin(MXCPBasePlugin):\n";

#[test]
fn plugin_variants_the_reference_accepts() {
    // a constructor taking only the config
    let src = format!(
        "{HEADER}    def __init__(self, config):\n        super().__init__(config)\n\n    @udf\n    def a(self, x: int) -> int:\n        return x + 1\n"
    );
    assert_eq!(one_plugin("oldinit", &src, "SELECT a_p(1) AS r"), (0, json!({"status": "ok", "result": [{"r": 2}]})));
    // a @udf without a return annotation is skipped, the others work
    let src = format!(
        "{HEADER}    @udf\n    def a(self, x: int):\n        return 1\n\n    @udf\n    def b(self, x: int) -> int:\n        return x + 1\n"
    );
    assert_eq!(one_plugin("noret", &src, "SELECT b_p(1) AS r"), (0, json!({"status": "ok", "result": [{"r": 2}]})));
}

#[test]
fn plugin_errors_are_worded_like_the_reference() {
    // the reference prefixes each with "Failed to create RuntimeEnvironment: "
    let cases = [
        (
            "noclass",
            "X = 1\n".to_string(),
            "Module noclass must contain an MXCPPlugin class: module 'noclass' has no attribute 'MXCPPlugin'",
        ),
        (
            "notsub",
            "class MXCPPlugin:\n    def __init__(self, config, user_context=None):\n        pass\n".to_string(),
            "Module notsub must contain an MXCPPlugin class: Plugin class in notsub must inherit from MXCPBasePlugin",
        ),
        (
            "nohint",
            format!("{HEADER}    @udf\n    def a(self, x) -> int:\n        return 1\n"),
            "Type 'Any' is not supported in UDF type annotations. Please specify a concrete type.",
        ),
        (
            "parens",
            format!("{HEADER}    @udf()\n    def a(self, x: int) -> int:\n        return x\n"),
            "udf() missing 1 required positional argument: 'func'",
        ),
        (
            "raising",
            format!(
                "{HEADER}    def __init__(self, config, user_context=None):\n        raise RuntimeError('boom in init')\n"
            ),
            "boom in init",
        ),
    ];
    for (module, src, message) in cases {
        assert_eq!(
            one_plugin(module, &src, "SELECT 1 AS r"),
            (1, json!({"status": "error", "error": message})),
            "{module}"
        );
    }
    let dir = common::project(&[(
        "tools/probe.yml",
        "mxcp: 1\ntool:\n  name: probe\n  description: d\n  source:\n    code: SELECT 1\n",
    )]);
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nplugin:\n  - name: p\n    module: nosuchmod\n",
    );
    let (code, v, _) = json_output(dir.path(), None, &["run", "tool", "probe"]);
    let message = "Failed to import plugin module nosuchmod: No module named 'nosuchmod'";
    assert_eq!((code, v), (1, json!({"status": "error", "error": message})));
}
