//! One audit record as the reference lays it out (`mxcp.endpoints` v2), the schema registry
//! line written beside the log, and the ids and times records carry.

use std::time::{Duration, SystemTime};

use serde_json::{Value as Json, json};

use super::chain::{self, Signer};

pub(super) const SCHEMA_NAME: &str = "mxcp.endpoints";
pub(super) const SCHEMA_VERSION: u64 = 2;
/// Days `log-cleanup` keeps records of this schema (the reference's retention).
pub(super) const RETENTION_DAYS: u64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationType {
    Tool,
    Resource,
    Prompt,
}

impl OperationType {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::Tool => "tool",
            OperationType::Resource => "resource",
            OperationType::Prompt => "prompt",
        }
    }
}

/// One call as the server saw it. Inputs and outputs arrive redacted (see `redact`).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub operation_type: OperationType,
    /// The tool or prompt name, the resource's URI (template).
    pub operation_name: String,
    pub success: bool,
    pub duration: Duration,
    /// When the call ended: the record's `timestamp`.
    pub finished: SystemTime,
    /// `stdio` or `http`.
    pub caller_type: &'static str,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub trace_id: Option<String>,
    pub input: Json,
    pub output: Option<Json>,
    pub error: Option<String>,
    pub policies_evaluated: Vec<String>,
    pub policy_decision: Option<&'static str>,
    pub policy_reason: Option<String>,
}

impl CallRecord {
    fn status(&self) -> &'static str {
        if self.success { "success" } else { "error" }
    }

    /// The record sealed into the chain after `prev`: its line (the reference's key order and
    /// separators, newline included) and its hash, computed from the fields directly (the
    /// same canonical form `chain::record_hash` gives the parsed line).
    pub(super) fn seal(&self, record_id: &str, prev: Option<&str>, signer: Option<&Signer>) -> (Vec<u8>, String) {
        let time = timestamp(self.finished);
        let fields = self.fields(record_id, &time, prev);
        let mut canonical = Vec::with_capacity(768);
        canonical.push(b'{');
        for (i, &at) in sorted_order().iter().enumerate() {
            if i > 0 {
                canonical.push(b',');
            }
            let (key, value) = &fields[at];
            write_str(&mut canonical, key);
            canonical.push(b':');
            value.write(&mut canonical, false);
        }
        canonical.push(b'}');
        let hash = chain::hash_hex(&canonical);
        let mut line = Vec::with_capacity(canonical.len() + 256);
        line.push(b'{');
        for (key, value) in &fields {
            write_str(&mut line, key);
            line.extend_from_slice(b": ");
            value.write(&mut line, true);
            line.extend_from_slice(b", ");
        }
        line.extend_from_slice(b"\"record_hash\": ");
        write_str(&mut line, &hash);
        line.extend_from_slice(b", \"signature\": ");
        match signer {
            Some(s) => write_str(&mut line, &s.sign(&hash)),
            None => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(b"}\n");
        (line, hash)
    }

    /// Every hashed field, in the reference's order.
    fn fields<'a>(
        &'a self,
        record_id: &'a str,
        time: &'a str,
        prev: Option<&'a str>,
    ) -> [(&'static str, Field<'a>); 21] {
        [
            ("schema_name", Field::Str(SCHEMA_NAME)),
            ("schema_version", Field::Num(SCHEMA_VERSION)),
            ("record_id", Field::Str(record_id)),
            ("timestamp", Field::Str(time)),
            ("operation_type", Field::Str(self.operation_type.as_str())),
            ("operation_name", Field::Str(&self.operation_name)),
            ("operation_status", Field::Str(self.status())),
            ("duration_ms", Field::Num(self.duration.as_millis() as u64)),
            ("caller_type", Field::Str(self.caller_type)),
            ("user_id", Field::Opt(self.user_id.as_deref())),
            ("session_id", Field::Opt(self.session_id.as_deref())),
            ("trace_id", Field::Opt(self.trace_id.as_deref())),
            ("input_data", Field::Json(Some(&self.input))),
            ("output_data", Field::Json(self.output.as_ref())),
            ("error", Field::Opt(self.error.as_deref())),
            ("policies_evaluated", Field::List(&self.policies_evaluated)),
            ("policy_decision", Field::Opt(self.policy_decision)),
            ("policy_reason", Field::Opt(self.policy_reason.as_deref())),
            ("business_context", Field::Business(self)),
            ("execution_events", Field::List(&[])),
            ("prev_hash", Field::Opt(prev)),
        ]
    }
}

/// A field's value, borrowed from the record.
enum Field<'a> {
    Str(&'a str),
    Opt(Option<&'a str>),
    Num(u64),
    Json(Option<&'a Json>),
    List(&'a [String]),
    /// `{operation_type, operation_name, operation_status[, policy_decision]}`.
    Business(&'a CallRecord),
}

impl Field<'_> {
    /// As JSON: `spaced` the reference's layout, else canonical (sorted keys, no whitespace).
    fn write(&self, out: &mut Vec<u8>, spaced: bool) {
        let sep: &[u8] = if spaced { b", " } else { b"," };
        match self {
            Field::Str(s) | Field::Opt(Some(s)) => write_str(out, s),
            Field::Opt(None) | Field::Json(None) => out.extend_from_slice(b"null"),
            Field::Num(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Field::Json(Some(v)) if spaced => {
                let mut ser = serde_json::Serializer::with_formatter(&mut *out, Spaced);
                serde::Serialize::serialize(v, &mut ser).expect("JSON values serialize");
            }
            Field::Json(Some(v)) => chain::canonical(v, out),
            Field::List(items) => {
                out.push(b'[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(sep);
                    }
                    write_str(out, x);
                }
                out.push(b']');
            }
            Field::Business(r) => {
                let mut entries = vec![
                    ("operation_type", r.operation_type.as_str()),
                    ("operation_name", r.operation_name.as_str()),
                    ("operation_status", r.status()),
                ];
                entries.extend(r.policy_decision.map(|d| ("policy_decision", d)));
                if !spaced {
                    entries.sort_by_key(|(k, _)| *k);
                }
                out.push(b'{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(sep);
                    }
                    write_str(out, k);
                    out.extend_from_slice(if spaced { b": " } else { b":" });
                    write_str(out, v);
                }
                out.push(b'}');
            }
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("strings serialize");
}

/// The positions of [`CallRecord::fields`] in key order (the canonical form's).
fn sorted_order() -> &'static [usize; 21] {
    static ORDER: std::sync::OnceLock<[usize; 21]> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| {
        let probe = CallRecord {
            operation_type: OperationType::Tool,
            operation_name: String::new(),
            success: true,
            duration: Duration::ZERO,
            finished: SystemTime::UNIX_EPOCH,
            caller_type: "",
            user_id: None,
            session_id: None,
            trace_id: None,
            input: Json::Null,
            output: None,
            error: None,
            policies_evaluated: Vec::new(),
            policy_decision: None,
            policy_reason: None,
        };
        let fields = probe.fields("", "", None);
        let mut order: [usize; 21] = std::array::from_fn(|i| i);
        order.sort_by_key(|&i| fields[i].0);
        order
    })
}

/// The schema registry's one line (`<stem>_schemas.jsonl`), as the reference writes it.
pub(super) fn schema_registry(now: SystemTime) -> Json {
    let field = |name: &str, ty: &str, required: bool, sensitive: bool| json!({"name": name, "type": ty, "required": required, "description": null, "sensitive": sensitive});
    json!({
        "schema_name": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "description": "Audit schema for all endpoint executions (tools, resources, prompts)",
        "retention_days": RETENTION_DAYS,
        "evidence_level": "detailed",
        "extract_fields": ["operation_type", "operation_name", "operation_status", "policy_decision"],
        "require_signature": false,
        "created_at": chrono::DateTime::<chrono::Utc>::from(now).format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        "created_by": "system",
        "active": true,
        "indexes": ["operation_type", "operation_name", "timestamp", "user_id"],
        "fields": [
            field("operation_type", "string", true, false),
            field("operation_name", "string", true, false),
            field("input_data", "object", true, true),
            field("output_data", "object", false, false),
            field("execution_events", "array", false, false),
            field("error", "string", false, false),
            field("policy_decision", "string", false, false),
            field("policy_reason", "string", false, false),
        ],
        "field_redactions": [],
    })
}

/// `2026-11-22T08:26:52.206316Z`: UTC, microseconds, as records carry it. Records compare
/// by this text: it sorts as time does.
pub(super) fn timestamp(t: SystemTime) -> String {
    use chrono::{Datelike, Timelike};
    let d = chrono::DateTime::<chrono::Utc>::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.nanosecond() / 1000 % 1_000_000
    )
}

/// Python's `json.dumps` layout: a space after each comma and colon.
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

/// A random (version 4) UUID, from a generator seeded once per thread by the kernel (ids
/// must be unique, not secret: no system call per record).
pub(super) fn uuid4() -> String {
    thread_local!(static STATE: std::cell::Cell<u64> = std::cell::Cell::new(seed()));
    let next = || {
        STATE.with(|s| {
            // splitmix64
            let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            s.set(x);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&next().to_le_bytes());
    b[8..].copy_from_slice(&next().to_le_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = chain::hex(&b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most `b.len()` bytes into the buffer it is given.
    let got = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
    // without kernel randomness (very old kernels), the time and the process keep ids apart
    if got == b.len() as isize { u64::from_le_bytes(b) } else { nanos ^ ((std::process::id() as u64) << 32) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn sealed_lines_hash_as_verify_computes_it() {
        let r = CallRecord {
            operation_type: OperationType::Resource,
            operation_name: "items://{id}".into(),
            success: false,
            duration: Duration::from_millis(12),
            finished: SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456),
            caller_type: "http",
            user_id: Some("u\"1".into()),
            session_id: Some("s".into()),
            trace_id: None,
            input: json!({"b": [1, {"y": 2, "x": "é"}], "a": null}),
            output: None,
            error: Some("boom\n".into()),
            policies_evaluated: vec!["input[0]: x == 1".into(), "output[0]: true".into()],
            policy_decision: Some("deny"),
            policy_reason: Some("no".into()),
        };
        let (line, hash) = r.seal("id-1", Some("abc"), None);
        let parsed: Map<String, Json> = serde_json::from_slice(&line).unwrap();
        assert_eq!(chain::record_hash(&parsed), hash);
        assert_eq!(parsed["record_hash"], hash.as_str());
        assert_eq!(parsed["prev_hash"], "abc");
        assert_eq!(
            parsed["business_context"],
            json!({"operation_type": "resource", "operation_name": "items://{id}", "operation_status": "error", "policy_decision": "deny"})
        );
        let keys: Vec<&str> = parsed.keys().map(String::as_str).collect();
        assert_eq!(keys[..4], ["schema_name", "schema_version", "record_id", "timestamp"]);
        assert_eq!(keys[keys.len() - 3..], ["prev_hash", "record_hash", "signature"]);
        let text = String::from_utf8(line).unwrap();
        assert!(text.starts_with("{\"schema_name\": \"mxcp.endpoints\", \"schema_version\": 2, \"record_id\": \"id-1\", \"timestamp\": \"2023-11-14T22:13:20.123456Z\""), "{text}");
        assert!(text.contains("\"input_data\": {\"b\": [1, {\"y\": 2, \"x\": \"é\"}], \"a\": null}"), "{text}");
    }

    #[test]
    fn ids_and_times() {
        let id = uuid4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid4());
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(timestamp(t), "2023-11-14T22:13:20.123456Z");
    }
}
