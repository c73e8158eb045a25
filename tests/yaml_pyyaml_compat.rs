//! What PyYAML's `safe_load` (the loader of the reference implementation) reads, our positioned
//! loader reads too, with the same data: every `tests/fixtures/yaml-compat/NAME.yml` against
//! `NAME.json`, recorded from PyYAML by `record.sh` there. saphyr-parser alone rejects several
//! of them (flow collections dedented under their key, quoted scalars continued too far left,
//! `"x"#comment`); positions must still point into the original text.

mod common;

use std::path::PathBuf;

use common::{mxcp, project, run};
use mxcp_runtime::diagnostics::Pos;
use mxcp_runtime::load::yaml::{self, Node, Value};
use serde_json::Value as Json;

fn fixtures() -> PathBuf {
    common::repo_root().join("tests/fixtures/yaml-compat")
}

fn load(text: &str) -> Result<Option<Node>, yaml::SyntaxError> {
    yaml::parse(text, &mut |pos, path, _| panic!("unexpected duplicate key {path} at {pos:?}"))
}

fn at(node: &Node, path: &[&str]) -> Pos {
    let mut n = node;
    for seg in path {
        n = match seg.parse::<usize>() {
            Ok(i) => &n.as_seq().expect("a list")[i],
            Err(_) => n.get(seg).unwrap_or_else(|| panic!("no key {seg}")),
        };
    }
    n.pos
}

/// The tree as Python's `json.dumps` writes what PyYAML built (keys `true`, `null`, `1.5`).
fn as_pyjson(node: &Node) -> Json {
    match &node.value {
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match &k.value {
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".into(),
                        Value::Float(f) => serde_json::Number::from_f64(*f).map(|n| n.to_string()).unwrap_or_default(),
                        _ => k.key_text().unwrap_or_default(),
                    };
                    (key, as_pyjson(v))
                })
                .collect(),
        ),
        Value::Seq(items) => Json::Array(items.iter().map(as_pyjson).collect()),
        _ => node.to_json(),
    }
}

/// Compares two JSON trees, key order included (PyYAML's dicts keep it), numbers by value and
/// by kind (an integer is not a float).
fn differences(ours: &Json, want: &Json, path: &str, out: &mut Vec<String>) {
    match (ours, want) {
        (Json::Object(a), Json::Object(b)) => {
            let (ka, kb): (Vec<_>, Vec<_>) = (a.keys().collect(), b.keys().collect());
            if ka != kb {
                out.push(format!("{path}: keys {ka:?}, PyYAML has {kb:?}"));
                return;
            }
            for (k, v) in a {
                differences(v, &b[k], &format!("{path}.{k}"), out);
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (Json::Number(a), Json::Number(b)) => {
            let int = |n: &serde_json::Number| n.is_i64() || n.is_u64();
            if int(a) != int(b) || a.as_f64() != b.as_f64() {
                out.push(format!("{path}: {a}, PyYAML has {b}"));
            }
        }
        _ if ours == want => {}
        _ => out.push(format!("{path}: {ours}, PyYAML has {want}")),
    }
}

/// Every node starts on a character of the original text: scalars at their first character
/// (or their tag or anchor), quoted ones at the quote.
fn bad_positions(node: &Node, lines: &[Vec<char>], out: &mut Vec<String>) {
    let Pos { line, col } = node.pos;
    let rest: String = lines
        .get((line as usize).wrapping_sub(1))
        .map(|l| l.iter().skip((col as usize).saturating_sub(1)).collect())
        .unwrap_or_default();
    let ok = match &node.value {
        Value::Null => true,
        _ if rest.starts_with(['!', '&', '*']) => true,
        Value::Str(_) if node.quoted => rest.starts_with(['"', '\'']),
        // a block scalar with an indentation indicator keeps spaces of its first line
        Value::Str(s) if s.starts_with(' ') => rest.starts_with(s.lines().next().unwrap_or_default()),
        Value::Str(s) if !s.is_empty() && !s.contains(char::is_whitespace) => rest.starts_with(s.as_str()),
        _ => rest.starts_with(|c: char| !c.is_whitespace()),
    };
    if !ok {
        out.push(format!("{:?} at {line}:{col}, where the text is {rest:?}", node.value));
    }
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|n| bad_positions(n, lines, out)),
        Value::Map(entries) => entries.iter().for_each(|(k, v)| {
            bad_positions(k, lines, out);
            bad_positions(v, lines, out);
        }),
        _ => {}
    }
}

#[test]
fn every_fixture_loads_like_pyyaml() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "only {} fixtures", names.len());
    let mut failures = Vec::new();
    for yml in &names {
        let name = yml.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(yml).expect("fixture");
        let want: Json = serde_json::from_str(
            &std::fs::read_to_string(yml.with_extension("json"))
                .expect("NAME.json next to NAME.yml (tests/fixtures/yaml-compat/record.sh writes it)"),
        )
        .expect("JSON");
        let root = match load(&text) {
            Ok(root) => root,
            Err(e) => {
                failures.push(format!("{name}: {}:{} {}", e.pos.line, e.pos.col, e.message));
                continue;
            }
        };
        let ours = root.as_ref().map_or(Json::Null, as_pyjson);
        let mut diffs = Vec::new();
        differences(&ours, &want, "$", &mut diffs);
        if let Some(root) = &root {
            let plain = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
            let lines: Vec<Vec<char>> = plain.split('\n').map(|l| l.trim_end_matches('\r').chars().collect()).collect();
            bad_positions(root, &lines, &mut diffs);
        }
        failures.extend(diffs.into_iter().map(|d| format!("{name}: {d}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn p(line: u32, col: u32) -> Pos {
    Pos { line, col }
}

#[test]
fn dedented_flow_sequence_keeps_positions() {
    let text = "tool:\n  parameters:\n    - name: x\n      type: string\n      examples: [\n        \"a\",\n        \"b\"\n    ]\n";
    let root = load(text).unwrap().unwrap();
    let x = ["tool", "parameters", "0"];
    assert_eq!(at(&root, &[&x[..], &["examples"]].concat()), p(5, 17));
    assert_eq!(at(&root, &[&x[..], &["examples", "0"]].concat()), p(6, 9));
    assert_eq!(at(&root, &[&x[..], &["examples", "1"]].concat()), p(7, 9));

    // items left of their key, then the mapping goes on
    let text = "t:\n  ps:\n    - name: x\n      examples: [\n  a,\n b]\n      type: string\n";
    let root = load(text).unwrap().unwrap();
    let x = ["t", "ps", "0"];
    assert_eq!(at(&root, &[&x[..], &["examples", "0"]].concat()), p(5, 3));
    assert_eq!(at(&root, &[&x[..], &["examples", "1"]].concat()), p(6, 2));
    assert_eq!(at(&root, &[&x[..], &["type"]].concat()), p(7, 13));

    // flow mapping closed at column 1, a quoted scalar continued at column 1, `,#comment`
    let text = "a:\n  m: {k: 1,\n j: v\n}\n  q: \"one\ntwo\"\n  s: [1,# c\n  2]\n";
    let root = load(text).unwrap().unwrap();
    assert_eq!(at(&root, &["a", "m", "j"]), p(3, 5));
    assert_eq!(at(&root, &["a", "q"]), p(5, 6));
    assert_eq!(root.get("a").unwrap().get("q").unwrap().as_str(), Some("one two"));
    assert_eq!(at(&root, &["a", "s", "1"]), p(8, 3));
}

#[test]
fn duplicates_and_errors_after_a_dedented_collection_are_where_they_are() {
    let mut dups = Vec::new();
    let text = "a:\n  b: [1,\n2]\n  b: [3,\n4]\n";
    let root = yaml::parse(text, &mut |pos, path, first| dups.push((pos, path.to_string(), first))).unwrap();
    assert_eq!(dups, vec![(p(4, 3), "a.b".to_string(), 2)]);
    assert_eq!(at(root.as_ref().unwrap(), &["a", "b", "1"]), p(5, 1));

    // the real error, not the dedented bracket before it
    let err = load("a:\n  b: [1,\n2]\n  c: d: e\n").unwrap_err();
    assert_eq!((err.pos, err.message.as_str()), (p(4, 7), "mapping values are not allowed in this context"));
    // errors that have nothing to do with it stay as they were
    let err = load("a: [1, 2\nb: 3\n").unwrap_err();
    assert_eq!((err.pos, err.message.as_str()), (p(2, 2), "illegal placement of ':' indicator"));
}

const DEDENTED_TOOL: &str = "mxcp: 1
tool:
  name: search
  description: Finds things
  parameters:
    - name: query
      type: string
      description: What to look for
      examples: [
        \"widget\",
        \"gadget\"
    ]
  return:
    type: array
    items: {type: object,
  properties: {x: {type: string}}}
  source:
    code: SELECT $query AS x
";

#[test]
fn validate_accepts_an_endpoint_with_a_dedented_flow_sequence() {
    let dir = project(&[("tools/search.yml", DEDENTED_TOOL)]);
    let (code, stdout, stderr) = run(mxcp(dir.path()).arg("validate"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 endpoint file(s) checked: 1 valid, 0 with errors"), "{stdout}");

    // findings after the dedented bracket are at their place in the file
    let broken = DEDENTED_TOOL.replace("  return:\n    type: array", "  return:\n    type: arry");
    let dir = project(&[("tools/search.yml", broken.as_str())]);
    let (code, stdout, _) = run(mxcp(dir.path()).args(["validate", "--json-output"]));
    assert_eq!(code, 1, "{stdout}");
    let v: Json = serde_json::from_str(&stdout).expect("JSON");
    let lines = common::diagnostic_lines(&v);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("error tools/search.yml:14:11 tool.return.type | "), "{lines:?}");
}
