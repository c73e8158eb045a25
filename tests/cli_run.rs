//! `mxcp run` / `mxcp query`: input conversion and every constraint, every return shape,
//! output validation, policies, resources, prompts and the built-in SQL tools, through the
//! CLI on a real database.

mod common;

use common::{mxcp, run};
use serde_json::{Value as Json, json};

struct Calls(tempfile::TempDir);

impl Calls {
    fn new() -> Calls {
        let dir = tempfile::tempdir().unwrap();
        common::copy_dir(&common::repo_root().join("tests/fixtures/calls"), dir.path());
        Calls(dir)
    }

    /// Runs `mxcp run KIND NAME [--param ...] --json-output` plus extra flags.
    fn run(&self, kind: &str, name: &str, params: &[&str], extra: &[&str]) -> Result<Json, String> {
        let mut cmd = mxcp(self.0.path());
        cmd.args(["run", kind, name, "--json-output"]);
        for p in params {
            cmd.args(["--param", p]);
        }
        cmd.args(extra);
        let (code, stdout, stderr) = run(&mut cmd);
        let v: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
        match (code, v["status"].as_str()) {
            (0, Some("ok")) => Ok(v["result"].clone()),
            (1, Some("error")) => Err(v["error"].as_str().unwrap().to_string()),
            other => panic!("unexpected {other:?}: {stdout}"),
        }
    }
}

#[test]
fn arguments_are_converted_to_their_declared_types() {
    let c = Calls::new();
    assert_eq!(
        c.run("tool", "echo", &[], &[]).unwrap(),
        json!({"s": "ab", "i": 1, "x": 0.5, "m": 5, "b": false, "e": "red", "n": 1, "d": "2024-01-02",
               "t": "2024-01-02T03:04:05", "mail": "a@b.co", "tags": ["a"], "obj": {"k": 1}})
    );
    let r = c
        .run("tool", "echo", &["i=7", "b=true", "n=2", "tags=[\"x\",\"y\"]", "obj={\"k\": 3}", "x=0.25"], &[])
        .unwrap();
    assert_eq!(
        (&r["i"], &r["b"], &r["n"], &r["tags"], &r["obj"], &r["x"]),
        (&json!(7), &json!(true), &json!(2), &json!(["x", "y"]), &json!({"k": 3}), &json!(0.25))
    );
}

#[test]
fn every_input_constraint_has_its_message() {
    let c = Calls::new();
    let cases: &[(&str, &str)] = &[
        ("s=a", "Error validating parameter 's': String must be at least 2 characters long"),
        ("s=abcdef", "Error validating parameter 's': String must be at most 5 characters long"),
        ("s=AB", "Error validating parameter 's': String does not match pattern '^[a-z]+$'"),
        ("i=0", "Error validating parameter 'i': Value must be >= 1.0"),
        ("i=11", "Error validating parameter 'i': Value must be <= 10.0"),
        ("i=abc", "Error validating parameter 'i': Expected integer, got str"),
        ("i=2.5", "Error validating parameter 'i': Expected integer, got str"),
        ("x=0", "Error validating parameter 'x': Value must be > 0.0"),
        ("x=1", "Error validating parameter 'x': Value must be < 1.0"),
        ("m=7", "Error validating parameter 'm': Value must be multiple of 5.0"),
        ("b=maybe", "Error validating parameter 'b': Expected boolean, got 'maybe'"),
        ("e=blue", "Invalid value for e. Must be one of: ['red', 'green']"),
        ("n=3", "Invalid value for n. Must be one of: [1, 2]"),
        ("d=2024-13-01", "Error validating parameter 'd': time data '2024-13-01' does not match format '%Y-%m-%d'"),
        ("t=yesterday", "Error validating parameter 't': Invalid isoformat string: 'yesterday'"),
        ("mail=nope", "Error validating parameter 'mail': Invalid email format: nope"),
        ("tags=[]", "Error validating parameter 'tags': Array must have at least 1 items"),
        ("tags=[\"a\",\"b\",\"c\",\"d\"]", "Error validating parameter 'tags': Array must have at most 3 items"),
        ("tags=[\"a\",\"a\"]", "Error validating parameter 'tags': Array must contain unique items"),
        ("obj={}", "Error validating parameter 'obj': Missing required properties: k"),
        ("obj={\"k\": 1, \"z\": 2}", "Error validating parameter 'obj': Unexpected property: z"),
        ("obj={\"k\": \"x\"}", "Error validating parameter 'obj': Property 'k': Expected integer, got str"),
        ("zzz=1", "Unknown parameter: zzz"),
    ];
    for (param, message) in cases {
        assert_eq!(c.run("tool", "echo", &[param], &[]).unwrap_err(), *message, "--param {param}");
    }
    assert_eq!(c.run("tool", "rows", &[], &[]).unwrap_err(), "Required parameter missing: n");
}

#[test]
fn every_return_shape() {
    let c = Calls::new();
    assert_eq!(c.run("tool", "rows", &["n=3"], &[]).unwrap(), json!([{"i": 0}, {"i": 1}, {"i": 2}]));
    assert_eq!(c.run("tool", "rows", &["n=0"], &[]).unwrap(), json!([]));
    assert_eq!(c.run("tool", "scalar", &["n=1"], &[]).unwrap(), json!(0));
    assert_eq!(c.run("tool", "scalar", &["n=0"], &[]).unwrap_err(), "No results returned");
    assert_eq!(
        c.run("tool", "scalar", &["n=2"], &[]).unwrap_err(),
        "Expected single result for return type 'integer', but got 2 results"
    );
    assert_eq!(c.run("tool", "untyped", &[], &[]).unwrap(), json!([{"a": 1, "d": "2024-01-02"}]));
    assert_eq!(
        c.run("tool", "wrong_output", &[], &[]).unwrap_err(),
        "Output validation failed: Property 'a': Expected integer, got str"
    );
    assert_eq!(c.run("tool", "wrong_output", &[], &["--skip-output-validation"]).unwrap(), json!({"a": "x"}));
    assert_eq!(c.run("resource", "calls://items/{id}", &["id=7"], &[]).unwrap(), json!({"id": 7}));
    assert_eq!(
        c.run("prompt", "greet", &["who=Ann"], &[]).unwrap(),
        json!([{"prompt": "Be brief.", "role": "system", "type": null}, {"prompt": "Say hello to Ann.", "role": null, "type": null}])
    );
    assert_eq!(c.run("tool", "nope", &[], &[]).unwrap_err(), "Endpoint 'nope' not found in tools");
}

#[test]
fn policies_see_typed_arguments_and_the_user() {
    let c = Calls::new();
    assert_eq!(c.run("tool", "guarded", &["id=1"], &[]).unwrap(), json!({"id": 1, "note": "****"}));
    assert_eq!(
        c.run("tool", "guarded", &["id=3"], &[]).unwrap_err(),
        "Policy enforcement failed: Item 3 is for admins"
    );
    assert_eq!(
        c.run("tool", "guarded", &["id=3"], &["--user-context", "{\"role\": \"admin\"}"]).unwrap(),
        json!({"id": 3, "note": "hello"})
    );
}

#[test]
fn built_in_sql_tools_and_query() {
    let c = Calls::new();
    assert_eq!(
        c.run("tool", "execute_sql_query", &["sql=CREATE TABLE t AS SELECT 42 AS x"], &[]).unwrap(),
        json!([{"Count": 1}])
    );
    assert_eq!(c.run("tool", "list_tables", &[], &[]).unwrap(), json!([{"name": "t", "type": "BASE TABLE"}]));
    assert_eq!(
        c.run("tool", "get_table_schema", &["table_name=t"], &[]).unwrap(),
        json!([{"name": "x", "type": "INTEGER", "nullable": "YES"}])
    );
    let (code, stdout, _) =
        run(mxcp(c.0.path()).args(["query", "SELECT $a AS a, x FROM t", "--param", "a=5", "--json-output"]));
    assert_eq!(code, 0);
    let v: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"], json!([{"a": "5", "x": 42}]));
    let (code, stdout, _) = run(mxcp(c.0.path()).args(["query", "SELECT * FROM missing_table", "--json-output"]));
    assert_eq!(code, 1);
    let v: Json = serde_json::from_str(&stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("missing_table"), "{v}");
}

#[test]
fn values_and_sql_from_files() {
    let c = Calls::new();
    common::write(c.0.path(), "tags.json", r#"["x", "y"]"#);
    common::write(c.0.path(), "admin.json", r#"{"role": "admin"}"#);
    common::write(c.0.path(), "q.sql", "SELECT $a AS a\n");
    let r = c.run("tool", "echo", &["tags=@tags.json"], &[]).unwrap();
    assert_eq!(r["tags"], json!(["x", "y"]));
    assert_eq!(c.run("tool", "guarded", &["id=3"], &["--user-context", "@admin.json"]).unwrap()["note"], "hello");
    let (code, stdout, _) = run(mxcp(c.0.path()).args(["query", "--file", "q.sql", "--param", "a=1", "--json-output"]));
    assert_eq!(code, 0);
    let v: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"], json!([{"a": "1"}]));
    assert!(c.run("tool", "echo", &["tags=@missing.json"], &[]).unwrap_err().contains("missing.json"));
}
