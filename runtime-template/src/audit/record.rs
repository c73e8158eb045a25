//! One audit record as the reference lays it out (`mxcp.endpoints` v2), the schema registry
//! line written beside the log, and the ids and times records carry.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value as Json, json};

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
    /// The record's fields in the reference's order; `prev_hash`, `record_hash` and
    /// `signature` are null until the chain seals it.
    pub(super) fn into_fields(self, record_id: String) -> Map<String, Json> {
        let status = if self.success { "success" } else { "error" };
        let mut business = json!({
            "operation_type": self.operation_type.as_str(),
            "operation_name": self.operation_name,
            "operation_status": status,
        });
        if let Some(d) = self.policy_decision {
            business["policy_decision"] = d.into();
        }
        let json = json!({
            "schema_name": SCHEMA_NAME,
            "schema_version": SCHEMA_VERSION,
            "record_id": record_id,
            "timestamp": timestamp(self.finished),
            "operation_type": self.operation_type.as_str(),
            "operation_name": self.operation_name,
            "operation_status": status,
            "duration_ms": self.duration.as_millis() as u64,
            "caller_type": self.caller_type,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "trace_id": self.trace_id,
            "input_data": self.input,
            "output_data": self.output,
            "error": self.error,
            "policies_evaluated": self.policies_evaluated,
            "policy_decision": self.policy_decision,
            "policy_reason": self.policy_reason,
            "business_context": business,
            "execution_events": [],
            "prev_hash": null,
            "record_hash": null,
            "signature": null,
        });
        match json {
            Json::Object(m) => m,
            _ => unreachable!("an object literal"),
        }
    }
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
    chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A record's JSON line with the reference's separators (`", "`, `": "`), newline included.
pub(super) fn to_line(fields: &Map<String, Json>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Spaced);
    serde::Serialize::serialize(fields, &mut ser).expect("JSON values serialize");
    out.push(b'\n');
    out
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

/// A random (version 4) UUID.
pub(super) fn uuid4() -> String {
    let mut b = [0u8; 16];
    // SAFETY: getrandom writes at most `b.len()` bytes into the buffer it is given.
    let got = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if got != b.len() as isize {
        // no kernel randomness (very old kernels): time and a counter keep ids unique
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
        b[..8].copy_from_slice(&nanos.to_le_bytes());
        b[8..].copy_from_slice(&COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_the_reference_separators() {
        let m: Map<String, Json> = serde_json::from_str(r#"{"a": [1, 2], "b": {"c": null}}"#).unwrap();
        assert_eq!(String::from_utf8(to_line(&m)).unwrap(), "{\"a\": [1, 2], \"b\": {\"c\": null}}\n");
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
