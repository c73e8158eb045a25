//! `mxcp log verify`: passes on an intact log; a record edited, deleted or reordered, a file
//! removed or cut mid-line are each detected and located; Ed25519 signatures from the user
//! configuration's key are checked; the record hash is the documented canonical form.

mod audit_support;
mod common;

use std::path::Path;

use audit_support::{RawStdio, fixture, log_files, records, set_audit};
use serde_json::{Value as Json, json};

/// Test keys (`openssl genpkey -algorithm ed25519`) and the first one's public half.
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEJiSW2aBQfokyCQYy/N2NSJCIUCMOp/sr2JlfRoG+50\n-----END PRIVATE KEY-----\n";
const OTHER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIL/b7NCRlHAltGYemJtjV851vX3LwL9W0kBzftlzIINU\n-----END PRIVATE KEY-----\n";
const PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAOVb38YP5Blm8MKP8+cMYMHD0irqKr8A8gS/mR0obxtU=\n-----END PUBLIC KEY-----\n";

/// A log of `n` calls, written by one server run over stdio.
fn log_of(dir: &Path, n: i64, env: &[(&str, &str)]) {
    let mut s = RawStdio::start(dir, env);
    for i in 1..=n {
        assert_eq!(s.call("get_item", json!({"item_id": i}))["isError"], false);
    }
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
}

/// `mxcp log verify --json`: exit code and the report.
fn verify(dir: &Path, env: &[(&str, &str)]) -> (i32, Json) {
    let mut cmd = common::mxcp(dir);
    cmd.envs(env.iter().copied()).args(["log", "verify", "--json"]);
    let (code, stdout, stderr) = common::run(&mut cmd);
    let v: Json = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}{stderr}"));
    (code, v)
}

/// Rewrites one records file's lines.
fn edit_lines(file: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    f(&mut lines);
    std::fs::write(file, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn first_break(v: &Json) -> (String, u64, String) {
    let b = &v["result"]["first_break"];
    let file = Path::new(b["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
    (file, b["line"].as_u64().unwrap(), b["message"].as_str().unwrap().to_string())
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn an_intact_log_passes_and_each_kind_of_tampering_is_located() {
    let dir = fixture();
    log_of(dir.path(), 5, &[]);
    let (code, v) = verify(dir.path(), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["intact"], true);
    assert_eq!(v["result"]["records"], 5);
    let file = log_files(&dir.path().join("audit")).remove(0);
    let original = std::fs::read_to_string(&file).unwrap();
    let ids: Vec<String> = records(dir.path()).iter().map(|r| r["record_id"].as_str().unwrap().to_string()).collect();

    // a record edited: its own hash no longer matches
    edit_lines(&file, |l| l[2] = l[2].replace("\"item_id\": 3", "\"item_id\": 4"));
    let (code, v) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        first_break(&v),
        (name(&file), 3, "the record was changed after it was written (its hash does not match)".into())
    );
    assert_eq!(v["result"]["first_break"]["record_id"], ids[2].as_str());
    assert!(v["error"].as_str().unwrap().contains(&format!("{}:3", file.display())), "{v}");

    // a record deleted: the next one's link breaks
    std::fs::write(&file, &original).unwrap();
    edit_lines(&file, |l| {
        l.remove(2);
    });
    let (code, v) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    let (f, line, message) = first_break(&v);
    assert_eq!((f, line), (name(&file), 3));
    assert!(message.contains("a record was removed or moved here"), "{message}");
    assert_eq!(v["result"]["first_break"]["record_id"], ids[3].as_str());

    // two records swapped
    std::fs::write(&file, &original).unwrap();
    edit_lines(&file, |l| l.swap(1, 2));
    let (code, v) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(first_break(&v).1, 2);

    // the first record deleted: a chain that started before the log's first record
    std::fs::write(&file, &original).unwrap();
    edit_lines(&file, |l| {
        l.remove(0);
    });
    assert_eq!(first_break(&verify(dir.path(), &[]).1).1, 1);

    // the text output names the place too
    let (code, stdout, stderr) = audit_support::mxcp(dir.path(), &["log", "verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains(&format!("error: the audit log is broken at {}:1 (record {})", file.display(), ids[1])),
        "{stderr}"
    );
}

#[test]
fn cut_files_and_removed_files_are_reported() {
    let dir = fixture();
    // every record in a file of its own
    set_audit(dir.path(), "      enabled: true\n      max_file_size: 100\n");
    log_of(dir.path(), 4, &[]);
    let files = log_files(&dir.path().join("audit"));
    assert_eq!(files.len(), 4, "4 files of one record each: {files:?}");
    assert_eq!(verify(dir.path(), &[]).0, 0);

    // the newest record cut mid-line (what a crash mid-write leaves): reported, not a break
    let last = &files[3];
    let text = std::fs::read_to_string(last).unwrap();
    std::fs::write(last, &text[..text.len() / 2]).unwrap();
    let (code, v) = verify(dir.path(), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["records"], 3);
    assert_eq!(v["result"]["incomplete"][0]["line"], 1);
    assert_eq!(v["result"]["incomplete"][0]["file"], last.display().to_string());
    // `log` reads the rest and says what it left out
    let (code, stdout, stderr) = audit_support::mxcp(dir.path(), &["log", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(serde_json::from_str::<Json>(&stdout).unwrap()["result"]["count"], 3);
    assert!(stderr.contains(&format!("warning: {}:1: the last line is incomplete", last.display())), "{stderr}");

    // an older file cut mid-line: the next file no longer follows it
    let text = std::fs::read_to_string(&files[1]).unwrap();
    std::fs::write(&files[1], &text[..text.len() - 10]).unwrap();
    let (code, v) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    let (f, line, message) = first_break(&v);
    assert_eq!((f, line), (name(&files[2]), 1));
    assert!(message.contains("does not follow the last record of an earlier file"), "{message}");

    // a whole file removed: the same
    std::fs::write(&files[1], text).unwrap();
    std::fs::remove_file(&files[0]).unwrap();
    let (code, v) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(first_break(&v).0, name(&files[1]));
}

#[test]
fn signatures_from_the_user_configuration_are_checked() {
    let dir = fixture();
    common::write(dir.path(), "key.pem", KEY);
    let config = |key: &str, field: &str| {
        format!(
            "mxcp: 1\nprojects:\n  audited:\n    profiles:\n      default:\n        audit:\n          {field}: \"{key}\"\n"
        )
    };
    let key_ref = format!("file://{}", dir.path().join("key.pem").display());
    common::write(dir.path(), "signing.yml", &config(&key_ref, "signing_key"));
    let signing = dir.path().join("signing.yml");
    let env = [("MXCP_CONFIG", signing.to_str().unwrap())];
    log_of(dir.path(), 3, &env);
    let r = records(dir.path());
    assert!(r.iter().all(|x| x["signature"].as_str().is_some_and(|s| s.len() == 88)), "base64 of 64 bytes: {r:#?}");
    let (code, v) = verify(dir.path(), &env);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["signed"], 3);
    // a machine that only verifies holds the public key
    common::write(dir.path(), "public.pem", PUBLIC);
    let public_ref = format!("file://{}", dir.path().join("public.pem").display());
    common::write(dir.path(), "verifying.yml", &config(&public_ref, "verify_key"));
    let verifying = dir.path().join("verifying.yml");
    assert_eq!(verify(dir.path(), &[("MXCP_CONFIG", verifying.to_str().unwrap())]).0, 0);

    // another key: every signature fails
    common::write(dir.path(), "other.pem", OTHER_KEY);
    let other_ref = format!("file://{}", dir.path().join("other.pem").display());
    common::write(dir.path(), "other.yml", &config(&other_ref, "verify_key"));
    let (code, v) = verify(dir.path(), &[("MXCP_CONFIG", dir.path().join("other.yml").to_str().unwrap())]);
    assert_eq!(code, 1);
    assert_eq!(first_break(&v).2, "the signature does not match the record");

    // a record re-hashed by someone without the key: its chain is fine, its signature is not
    let file = log_files(&dir.path().join("audit")).remove(0);
    edit_lines(&file, |l| {
        let mut rec: serde_json::Map<String, Json> = serde_json::from_str(&l[2]).unwrap();
        rec.insert("signature".into(), Json::Null);
        l[2] = serde_json::to_string(&rec).unwrap();
    });
    let (code, v) = verify(dir.path(), &env);
    assert_eq!(code, 1);
    assert_eq!(first_break(&v), (name(&file), 3, "the record is not signed".into()));

    // a key that is no key: a clear error
    common::write(dir.path(), "bad.pem", "not a key");
    let bad_ref = format!("file://{}", dir.path().join("bad.pem").display());
    common::write(dir.path(), "bad.yml", &config(&bad_ref, "signing_key"));
    let mut cmd = common::mxcp(dir.path());
    cmd.env("MXCP_CONFIG", dir.path().join("bad.yml"))
        .args(["serve", "--transport", "stdio"])
        .stdin(std::process::Stdio::null());
    let (code, _, stderr) = common::run(&mut cmd);
    assert_eq!(code, 1);
    assert!(stderr.contains("audit.signing_key is not an Ed25519 private key in PEM (PKCS#8) form"), "{stderr}");
}

/// The hash is what docs/audit.md says it is: SHA-256 (hex) of the record without
/// `record_hash` and `signature`, keys sorted, no whitespace; computed here by Python.
#[test]
fn the_record_hash_is_the_documented_canonical_form() {
    if common::skip_without_dev_setup() {
        return;
    }
    let dir = fixture();
    log_of(dir.path(), 2, &[]);
    let file = log_files(&dir.path().join("audit")).remove(0);
    let script = r#"
import hashlib, json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    claimed = r.pop("record_hash"); r.pop("signature")
    text = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    print(hashlib.sha256(text.encode()).hexdigest() == claimed)
"#;
    let out = std::process::Command::new(common::client_python()).args(["-c", script]).arg(&file).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "True\nTrue\n", "{}", String::from_utf8_lossy(&out.stderr));
}
