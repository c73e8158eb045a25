//! `mxcp validate` prepares every SQL endpoint on the real database and reports syntax errors
//! at the SQL's own line, parameter mismatches, parameter types DuckDB infers, and result
//! columns that do not fit the declared return type, each at the YAML node concerned.

mod common;

use common::{mxcp, run};

#[test]
fn type_check_findings_and_their_locations() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_root().join("tests/fixtures/typecheck"), dir.path());
    let (code, stdout, stderr) = run(mxcp(dir.path()).args(["validate", "--json-output"]));
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let got = common::diagnostic_lines(&v);
    let expected = [
        "error sql/syntax.sql:3:6 tool.source | Parser Error: syntax error at or near \"items\"",
        "error tools/inline_syntax.yml:7:13 tool.source | Parser Error: syntax error at or near \"WHERE\"",
        "error tools/params.yml:5:7 tool.parameters[0] | parameter 'declared_only' is declared but the SQL does not use $declared_only",
        // DuckDB casts the bound text at run time: a warning, not an error
        "warning tools/params.yml:7:7 tool.parameters[1].type | parameter 'id' is declared string, but the SQL uses it as INTEGER (a value of the declared type cannot be compared or cast there)",
        "error tools/params.yml:10:5 tool.source | the SQL uses $undeclared, but no parameter 'undeclared' is declared",
        "warning tools/returns.yml:5:5 tool.return.properties | column 'extra' is not declared in the return type",
        "error tools/returns.yml:8:13 tool.return.properties.name.type | column 'name' is VARCHAR, but the return type declares it integer",
        // output validation requires only `required` properties
        "warning tools/returns.yml:10:16 tool.return.properties.missing | declared property 'missing' is not a column of the query (columns: id, name, price, extra)",
        "error tools/rows.yml:12:12 tool.return.items.properties.i.type | column 'i' is INTEGER, but the return type declares it string",
        "error tools/scalar.yml:5:5 tool.return | return type 'string' needs exactly one result column, the query returns 2 (a, b)",
    ];
    assert_eq!(got, expected);
    let validated = v["result"]["validated"].as_array().unwrap();
    let ok: Vec<&str> = validated.iter().filter(|f| f["status"] == "ok").map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(ok, vec!["tools/ok.yml"]);
}

#[test]
fn examples_type_check_cleanly() {
    for example in ["hello", "inventory", "types", "conformance"] {
        let dir = tempfile::tempdir().unwrap();
        common::copy_dir(&common::repo_root().join("examples").join(example), dir.path());
        let (code, stdout, stderr) = run(mxcp(dir.path()).arg("validate"));
        assert_eq!(code, 0, "{example}: {stdout}{stderr}");
        assert!(stdout.contains("0 error(s), 0 warning(s)"), "{example}: {stdout}");
        let (code, stdout, stderr) = run(mxcp(dir.path()).arg("test"));
        assert_eq!(code, 0, "{example}: {stdout}{stderr}");
    }
}
