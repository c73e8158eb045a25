//! Compatibility corpus: each case under tests/compat/ is a small project plus steps (CLI
//! commands or MCP requests); the Python reference's answers were recorded once by
//! tests/compat/record.py into `reference/<i>.json`. Here mxcp runs the same steps on a fresh
//! copy of the project and must give the same answers after the same normalisation (temp
//! paths → `<ROOT>`, timings dropped, discovery-ordered listings sorted) and the step's
//! projection (`compare`). Steps marked `differs` are deliberate fixes of reference bugs: they
//! assert mxcp's own answer (`mxcp`) instead.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json, json};

const CLI_TIMEOUT: Duration = Duration::from_secs(120);
const MCP_TIMEOUT: Duration = Duration::from_secs(30);

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($case)),*];
        $( #[test] fn $case() { run_case(stringify!($case)); } )*
    };
}

cases!(
    audit_log,
    auth_config_bad,
    auth_config_ok,
    auth_udfs,
    discovery,
    drift,
    duplicates,
    flow_seq,
    inline_tests,
    jinja_prompt,
    lint,
    mcp_calls,
    not_found,
    object_param,
    output_validation,
    params,
    plugins,
    policies,
    prompts,
    python,
    resources,
    return_shapes,
    serve_broken,
    site,
    site_invalid,
    sql_tools,
    sql_values,
    string_vs_integer,
    telemetry_config,
    user_config,
    yaml11_booleans,
    yaml_extension,
);

#[test]
fn every_case_directory_is_listed() {
    let mut dirs: Vec<String> = std::fs::read_dir(compat_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("steps.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(dirs, listed, "tests/compat/* and the cases! list in tests/compat.rs differ");
}

fn compat_dir() -> PathBuf {
    common::repo_root().join("tests/compat")
}

// ------------------------------------------------------------------------------------ running

fn run_case(case: &str) {
    let cdir = compat_dir().join(case);
    let steps: Vec<Json> = serde_json::from_str(&std::fs::read_to_string(cdir.join("steps.json")).unwrap())
        .unwrap_or_else(|e| panic!("{case}/steps.json: {e}"));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    common::copy_dir(&cdir.join("project"), &root);
    let mut roots = vec![root.to_string_lossy().into_owned()];
    if let Ok(real) = root.canonicalize() {
        roots.push(real.to_string_lossy().into_owned());
    }
    roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
    if root.join("setup.sql").exists() {
        let (rc, out, err) = run_cli(&root, &["query", "--file", "setup.sql"], &Json::Null);
        assert_eq!(rc, 0, "{case}: setup.sql failed:\n{out}\n{err}");
    }
    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let mode = step["compare"].as_str().unwrap_or("exact");
        let (shown, got) = if let Some(args) = step.get("cli") {
            let args: Vec<&str> = args.as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            let (rc, out, _) = run_cli(&root, &args, &step["env"]);
            let stdout = normalize_cli(&args, drop_timings(parse(&replace_roots(&out, &roots))));
            (format!("mxcp {}", args.join(" ")), json!({"rc": rc, "stdout": stdout}))
        } else if let Some(rel) = step["file"].as_str() {
            (format!("file {rel}"), read_file(&root, rel, &roots))
        } else {
            let requests = step["mcp"].as_array().expect("a step is cli or mcp");
            let serve_args: Vec<&str> = step["serve_args"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            let methods: Vec<&str> = requests.iter().map(|r| r["method"].as_str().unwrap()).collect();
            (
                format!("MCP {}", methods.join(", ")),
                Json::Array(run_mcp(&root, requests, &step["env"], &roots, &serve_args)),
            )
        };
        // MXCP_COMPAT_DUMP=DIR writes what mxcp answered, to fill in a `differs` step's `mxcp`
        if let Ok(dump) = std::env::var("MXCP_COMPAT_DUMP") {
            let dir = std::path::Path::new(&dump).join(case);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{i}.json")), serde_json::to_string_pretty(&got).unwrap()).unwrap();
        }
        let expected = if step.get("differs").is_some() {
            step.get("mxcp").cloned().unwrap_or_else(|| panic!("{case}[{i}]: `differs` needs `mxcp`"))
        } else {
            match std::fs::read_to_string(cdir.join(format!("reference/{i}.json"))) {
                Ok(text) => serde_json::from_str(&text).unwrap(),
                Err(_) => {
                    failures.push(format!("{case}[{i}] {shown}: not recorded (run tests/compat/record.py {case})"));
                    continue;
                }
            }
        };
        let (want, have) = (project(step, mode, &expected), project(step, mode, &got));
        if let Some((path, w, h)) = first_difference(&want, &have, "$") {
            let why = step
                .get("differs")
                .map(|d| format!("\n  (mxcp's own answer: {})", d.as_str().unwrap_or("")))
                .unwrap_or_default();
            let replies = differing_replies(step, &want, &have);
            failures.push(format!(
                "{case}[{i}] {shown}  (compare: {mode}){why}{replies}\n  at {path}: expected {}\n  {:>w$}       got {}\n  whole, expected: {}\n  whole, got:      {}",
                shorten(&w, 1500),
                "",
                shorten(&h, 1500),
                shorten(&want, 3000),
                shorten(&have, 3000),
                w = path.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} steps differ from the reference:\n\n{}",
        failures.len(),
        steps.len(),
        failures.join("\n\n")
    );
}

fn with_env(cmd: &mut Command, root: &Path, env: &Json) {
    if root.join("config.yml").exists() {
        cmd.env("MXCP_CONFIG", root.join("config.yml"));
    }
    if let Some(env) = env.as_object() {
        let root = root.to_string_lossy();
        for (k, v) in env {
            cmd.env(k, v.as_str().unwrap().replace("<ROOT>", &root));
        }
    }
}

/// One CLI command with stdin closed: exit code (-1 on timeout), stdout, stderr.
fn run_cli(root: &Path, args: &[&str], env: &Json) -> (i32, String, String) {
    let mut cmd = common::mxcp(root);
    with_env(&mut cmd, root, env);
    let mut child =
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("mxcp starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + CLI_TIMEOUT;
    let rc = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (rc, out.join().unwrap(), err.join().unwrap())
}

/// `mxcp serve --transport stdio`: initialize, then each request; each reply's result or error.
fn run_mcp(root: &Path, requests: &[Json], env: &Json, roots: &[String], serve_args: &[&str]) -> Vec<Json> {
    let mut cmd = common::mxcp(root);
    with_env(&mut cmd, root, env);
    let mut child = cmd
        .args(["serve", "--transport", "stdio"])
        .args(serve_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mxcp serve starts");
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let reply = |id: u64| -> Json {
        let deadline = Instant::now() + MCP_TIMEOUT;
        loop {
            let line = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => return json!({"error": {"message": "<no reply>"}}),
                Err(mpsc::RecvTimeoutError::Disconnected) => return json!({"error": {"message": "<server exited>"}}),
            };
            // anything but JSON-RPC on stdout is not recorded (the reference's recorder skips it too)
            let Ok(msg) = serde_json::from_str::<Json>(&replace_roots(&line, roots)) else { continue };
            if msg["id"] == json!(id) && (msg.get("result").is_some() || msg.get("error").is_some()) {
                let mut r = Map::new();
                for k in ["result", "error"] {
                    if let Some(v) = msg.get(k) {
                        r.insert(k.into(), v.clone());
                    }
                }
                return Json::Object(r);
            }
        }
    };
    let mut send = |msg: Json| {
        let _ = writeln!(stdin, "{msg}").and_then(|_| stdin.flush());
    };
    send(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "compat", "version": "1"}}}),
    );
    let mut dead = reply(0).get("error").filter(|e| e["message"].as_str().is_some_and(|m| m.starts_with('<'))).cloned();
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let mut out = Vec::new();
    for (i, req) in requests.iter().enumerate() {
        let id = i as u64 + 1;
        let r = match &dead {
            Some(e) => json!({"error": e}),
            None => {
                send(
                    json!({"jsonrpc": "2.0", "id": id, "method": req["method"], "params": req.get("params").cloned().unwrap_or(json!({}))}),
                );
                reply(id)
            }
        };
        if r["error"]["message"].as_str().is_some_and(|m| m.starts_with('<')) {
            dead = Some(r["error"].clone());
        }
        out.push(normalize_mcp(req["method"].as_str().unwrap(), drop_timings(r)));
    }
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    out
}

// ------------------------------------------------------------- normalisation (= record.py)

fn replace_roots(text: &str, roots: &[String]) -> String {
    roots.iter().fold(text.to_string(), |t, r| t.replace(r.as_str(), "<ROOT>"))
}

/// JSON when the whole output is JSON, else the text (trailing whitespace trimmed).
fn parse(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.trim_end().to_string()))
}

/// `Duplicate endpoint name 'x' found in: b.yml, a.yml` lists files in discovery order: sorted.
fn sort_found_in(s: &str) -> String {
    match s.split_once(" found in: ") {
        Some((head, files)) if head.starts_with("Duplicate endpoint") => {
            let mut files: Vec<&str> = files.split(", ").collect();
            files.sort();
            format!("{head} found in: {}", files.join(", "))
        }
        _ => s.to_string(),
    }
}

/// Drift's timestamps (`generated_at`, `*_generated_at`) and `drift_hash` differ per run: a
/// value of the right form becomes a placeholder (one of another form stays, and differs).
fn stamp(key: &str, s: String) -> String {
    let is_timestamp = |s: &str| {
        // 2026-12-01T12:48:42.747004+00:00
        let shape = "dddd-dd-ddTdd:dd:dd.dddddd+00:00";
        s.len() == shape.len()
            && s.chars().zip(shape.chars()).all(|(c, p)| if p == 'd' { c.is_ascii_digit() } else { c == p })
    };
    if (key == "generated_at" || key.ends_with("_generated_at")) && is_timestamp(&s) {
        return "<TIMESTAMP>".into();
    }
    if key == "drift_hash" && s.len() == 64 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return "<SHA256>".into();
    }
    s
}

/// Timings (`time`, `duration`) removed anywhere; duplicate-file lists sorted; drift's
/// timestamps and hash replaced.
fn drop_timings(v: Json) -> Json {
    drop_timings_at("", v)
}

fn drop_timings_at(key: &str, v: Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.into_iter()
                .filter(|(k, _)| k != "time" && k != "duration")
                .map(|(k, v)| {
                    let v = drop_timings_at(&k, v);
                    (k, v)
                })
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.into_iter().map(drop_timings).collect()),
        Json::String(s) => Json::String(sort_found_in(&stamp(key, s))),
        v => v,
    }
}

/// A `file` step: the file's content (JSON when it is), `<missing>` when there is none; a
/// drift snapshot's endpoint files (in discovery order) sorted by path.
fn read_file(root: &Path, rel: &str, roots: &[String]) -> Json {
    let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
        return json!({"file": "<missing>"});
    };
    let mut content = drop_timings(parse(&replace_roots(&text, roots)));
    if let Some(resources) = content.get_mut("resources").and_then(Json::as_array_mut) {
        resources.sort_by_key(|r| key_of(&r["validation_results"], &["path"]));
    }
    json!({"file": content})
}

fn rel(v: &mut Json) {
    if let Some(s) = v.as_str().and_then(|s| s.strip_prefix("<ROOT>/")) {
        *v = Json::String(s.to_string());
    }
}

/// Python's sort key: the listed fields as strings ("" when absent; str(x) otherwise).
fn key_of(v: &Json, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| match v.get(*k) {
            None => String::new(),
            Some(Json::String(s)) => s.clone(),
            Some(x) => x.to_string(),
        })
        .collect()
}

fn sort_by(list: &mut Json, keys: &[&str]) {
    if let Some(a) = list.as_array_mut() {
        a.sort_by_key(|e| key_of(e, keys));
    }
}

fn relativize(list: &mut Json, field: &str) {
    for e in list.as_array_mut().into_iter().flatten() {
        if let Some(p) = e.get_mut(field) {
            rel(p);
        }
    }
}

/// Listings in (unsorted) discovery order are sorted; their paths made relative.
fn normalize_cli(args: &[&str], mut out: Json) -> Json {
    let sub = args.iter().find(|a| !a.starts_with('-')).copied().unwrap_or("");
    if !out.is_object() {
        return out;
    }
    if sub == "serve" && out["failed_endpoints"].is_array() {
        relativize(&mut out["failed_endpoints"], "path");
        sort_by(&mut out["failed_endpoints"], &["path"]);
    }
    let body = if out["result"].is_object() || out["result"].is_array() { &mut out["result"] } else { &mut out };
    match sub {
        "list" if body["endpoints"].is_array() => {
            relativize(&mut body["endpoints"], "path");
            sort_by(&mut body["endpoints"], &["path", "name"]);
        }
        "validate" if body["validated"].is_array() => {
            relativize(&mut body["validated"], "path");
            sort_by(&mut body["validated"], &["path"]);
        }
        "lint" if body.is_array() => sort_by(body, &["path", "location", "message", "severity"]),
        "drift-check" if body["resource_changes"].is_array() => {
            sort_by(&mut body["resource_changes"], &["change_type", "path"])
        }
        "test" if body["endpoints"].is_array() => {
            relativize(&mut body["endpoints"], "endpoint");
            sort_by(&mut body["endpoints"], &["endpoint"]);
        }
        _ => {}
    }
    out
}

fn normalize_mcp(method: &str, mut response: Json) -> Json {
    let (key, field) = match method {
        "tools/list" => ("tools", "name"),
        "prompts/list" => ("prompts", "name"),
        "resources/list" => ("resources", "uri"),
        "resources/templates/list" => ("resourceTemplates", "uriTemplate"),
        _ => return response,
    };
    if let Some(items) = response.get_mut("result").and_then(|r| r.get_mut(key)) {
        sort_by(items, &[field]);
    }
    response
}

// ------------------------------------------------------------------------------ projection

/// What a step compares. `validate` keeps only per-file status and whether a message exists
/// (mxcp's messages differ by design); `serve --json-output` likewise per failed file.
fn project(step: &Json, mode: &str, record: &Json) -> Json {
    if step.get("file").is_some() {
        return record.clone();
    }
    if let Some(args) = step.get("cli") {
        let args: Vec<&str> = args.as_array().unwrap().iter().filter_map(|a| a.as_str()).collect();
        let sub = args.iter().find(|a| !a.starts_with('-')).copied().unwrap_or("");
        let mut stdout = record["stdout"].clone();
        if sub == "validate" && stdout["result"].is_object() {
            let r = &stdout["result"];
            let entry = |e: &Json| json!({"path": e["path"], "status": e["status"], "has_message": e.get("message").is_some_and(|m| !m.is_null() && m != "")});
            stdout["result"] = match r["validated"].as_array() {
                Some(list) => json!({"status": r["status"], "validated": list.iter().map(entry).collect::<Vec<_>>()}),
                None => entry(r),
            };
        }
        if sub == "serve" && stdout["failed_endpoints"].is_array() {
            let list: Vec<Json> = stdout["failed_endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| json!({"path": e["path"], "has_error": e.get("error").is_some_and(|m| !m.is_null() && m != "")}))
                .collect();
            stdout["failed_endpoints"] = Json::Array(list);
        }
        // lint: the findings (severity, file, location, message); suggestions are mxcp's own wording
        if sub == "lint" && mode != "exact" && stdout["result"].is_array() {
            let list: Vec<Json> = stdout["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| json!({"severity": e["severity"], "path": e["path"], "location": e["location"], "message": e["message"]}))
                .collect();
            stdout["result"] = Json::Array(list);
        }
        let rc = record["rc"].clone();
        return match mode {
            "rc" => json!({"rc": rc}),
            "status" => json!({"rc": rc, "status": stdout.get("status").cloned().unwrap_or(Json::Null)}),
            "result" if stdout.get("status").is_some() => {
                let mut s = Map::new();
                for k in ["status", "result", "error"] {
                    if let Some(v) = stdout.get(k) {
                        s.insert(k.into(), v.clone());
                    }
                }
                json!({"rc": rc, "stdout": s})
            }
            _ => json!({"rc": rc, "stdout": stdout}),
        };
    }
    let methods: Vec<&str> =
        step["mcp"].as_array().unwrap().iter().map(|r| r["method"].as_str().unwrap_or("")).collect();
    let responses = record.as_array().cloned().unwrap_or_default();
    let projected = responses.iter().enumerate().map(|(i, r)| {
        let method = methods.get(i).copied().unwrap_or("");
        match mode {
            "exact" => r.clone(),
            "status" | "rc" => Json::String(
                if r.get("error").is_some() {
                    "error"
                } else if r["result"]["isError"] == true {
                    "isError"
                } else {
                    "ok"
                }
                .into(),
            ),
            _ => match r.get("error") {
                Some(e) => json!({"error": e["message"]}),
                None if method == "tools/list" => json!({"tools": r["result"]["tools"].as_array().into_iter().flatten().map(tool_summary).collect::<Vec<_>>()}),
                None => {
                    let mut res = r["result"].clone();
                    if let Some(m) = res.as_object_mut() {
                        m.remove("_meta");
                    }
                    json!({"result": res})
                }
            },
        }
    });
    Json::Array(projected.collect())
}

/// What the README says tools/list keeps from the reference: names, descriptions, the
/// parameters and which are required, annotations (schema details differ on purpose).
fn tool_summary(t: &Json) -> Json {
    let mut params: Vec<String> =
        t["inputSchema"]["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    params.sort();
    let mut required: Vec<String> = t["inputSchema"]["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(String::from))
        .collect();
    required.sort();
    json!({"name": t["name"], "description": t["description"], "annotations": t["annotations"], "params": params, "required": required})
}

// ------------------------------------------------------------------------------ comparison

/// A JSON number as (is it an integer literal, exact decimal digits, exponent): `1e300` equals
/// `1e+300` and `1.50` equals `1.5`, but `3` and `3.0` differ (as they do in JSON text).
fn canon_number(text: &str) -> (bool, String) {
    let is_int = !text.contains(['.', 'e', 'E']);
    let (neg, t) = text.strip_prefix('-').map_or((false, text), |t| (true, t));
    let (mantissa, exp) =
        t.split_once(['e', 'E']).map_or((t, 0i64), |(m, e)| (m, e.trim_start_matches('+').parse().unwrap_or(0)));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let mut exp = exp - frac.len() as i64;
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    exp += (digits.len() - trimmed.len()) as i64;
    if trimmed.is_empty() {
        return (is_int, "0".into());
    }
    (is_int, format!("{}{trimmed}e{exp}", if neg { "-" } else { "" }))
}

/// An MCP step is a conversation: every reply that differs, by index and tool/URI.
fn differing_replies(step: &Json, want: &Json, have: &Json) -> String {
    let (Some(x), Some(y), Some(reqs)) = (want.as_array(), have.as_array(), step["mcp"].as_array()) else {
        return String::new();
    };
    let bad: Vec<String> = (0..x.len().max(y.len()))
        .filter(|&k| match (x.get(k), y.get(k)) {
            (Some(a), Some(b)) => first_difference(a, b, "").is_some(),
            _ => true,
        })
        .map(|k| {
            let r = reqs.get(k).cloned().unwrap_or(Json::Null);
            let what =
                r["params"]["name"].as_str().or(r["params"]["uri"].as_str()).or(r["method"].as_str()).unwrap_or("");
            format!("{k} {what}")
        })
        .collect();
    format!("\n  differing replies: {}", bad.join(", "))
}

/// The JSON path of the first difference and the two values there, or None when equal.
fn first_difference(a: &Json, b: &Json, path: &str) -> Option<(String, Json, Json)> {
    let here = || Some((path.to_string(), a.clone(), b.clone()));
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            if canon_number(&x.to_string()) != canon_number(&y.to_string()) {
                here()
            } else {
                None
            }
        }
        (Json::Object(x), Json::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some((format!("{path}.{k}"), v.clone(), Json::String("<missing>".into()))),
                }
            }
            let extra = y.iter().find(|(k, _)| !x.contains_key(*k));
            extra.map(|(k, w)| (format!("{path}.{k}"), Json::String("<missing>".into()), w.clone()))
        }
        (Json::Array(x), Json::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(v, w, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            if x.len() != y.len() { here() } else { None }
        }
        _ => {
            if a != b {
                here()
            } else {
                None
            }
        }
    }
}

fn shorten(v: &Json, max: usize) -> String {
    let s = v.to_string();
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}
