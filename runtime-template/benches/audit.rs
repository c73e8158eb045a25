//! In-process cost of the audit log (a measurement, not a test): what recording a small call
//! costs the thread that answers it (building the record, redaction, the queue), and what the
//! writer thread spends per record (sealing into the chain, optionally signing, writing).

// a benchmark reports its figures on stdout
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant, SystemTime};

use mxcp_runtime::audit::{self, AuditConfig, AuditLog, CallRecord, OperationType};
use mxcp_runtime::load::endpoint::{DataType, Param, TypeDef};
use serde_json::{Map, Value as Json, json};

/// A record like the one of bench/project's hello_world call.
fn record(params: &[Param], args: &Map<String, Json>, result: &Json) -> CallRecord {
    CallRecord {
        operation_type: OperationType::Tool,
        operation_name: "hello_world".into(),
        success: true,
        duration: Duration::from_micros(180),
        finished: SystemTime::now(),
        caller_type: "stdio",
        user_id: None,
        session_id: None,
        trace_id: None,
        input: audit::redact_arguments(params, args),
        output: Some(audit::redact_output(Some(&TypeDef::new(DataType::String)), result.clone())),
        error: None,
        policies_evaluated: Vec::new(),
        policy_decision: None,
        policy_reason: None,
    }
}

fn config(dir: &std::path::Path, signing_key: Option<&str>) -> AuditConfig {
    AuditConfig {
        path: dir.join("logs-bench.jsonl"),
        max_file_size: audit::DEFAULT_MAX_FILE_SIZE,
        fail_closed: false,
        signing_key: signing_key.map(str::to_string),
        verify_key: None,
        queue_capacity: 1 << 20,
        test_delay: Duration::ZERO,
    }
}

/// `openssl genpkey -algorithm ed25519`, for this benchmark.
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIN0uWGNQkREPg6k3XNqlHL3tviAUVO18xbWoemyu00Jv\n-----END PRIVATE KEY-----\n";

fn main() {
    let params = vec![Param {
        name: "name".into(),
        def: TypeDef::new(DataType::String),
        pos: Default::default(),
        path: String::new(),
    }];
    let args: Map<String, Json> = serde_json::from_value(json!({"name": "World"})).unwrap();
    let result = json!("Hello, World!");
    for (label, key) in [("unsigned", None), ("signed (Ed25519)", Some(KEY))] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::open(config(dir.path(), key)).expect("audit log");
        let n = 100_000;
        let t = Instant::now();
        for _ in 0..n {
            log.record(record(&params, &args, &result));
        }
        let caller = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        let stats = log.shutdown();
        let total = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        assert_eq!(stats.written, n as u64);
        println!(
            "audit, {label}: {caller:.2} us per record on the calling thread; {total:.2} us per record until written"
        );
    }
}
