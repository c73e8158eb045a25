//! `profiles.<p>.limits` in the site file: rate, concurrency and size limits for serving.
//! An mxcp extension (the reference has no limits); documented in docs/limits.md.

use indexmap::IndexMap;

use crate::load::decode::{Decoder, Fields};
use crate::load::yaml::Node;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitsConfig {
    /// Calls per minute for each caller, over every tool (GCRA).
    pub calls_per_minute: Option<u32>,
    /// Calls a caller may make at once above the steady rate (default: a tenth of the rate).
    pub burst: Option<u32>,
    /// Calls per minute for each caller of these tools.
    pub tool_calls_per_minute: IndexMap<String, u32>,
    /// Calls running at once, all callers together.
    pub max_concurrent_calls: Option<u32>,
    /// Calls running at once per tool.
    pub max_concurrent: IndexMap<String, u32>,
    /// Calls that may wait for a free slot; more are refused at once.
    pub queue: Option<u32>,
    pub queue_timeout_seconds: Option<u64>,
    /// A result larger than this (as JSON) is refused with an error.
    pub max_result_bytes: Option<u64>,
    /// An SQL tool's query returning more rows than this is stopped with an error.
    pub max_result_rows: Option<u64>,
    /// HTTP requests per second from one address, before authentication (429 above it).
    pub requests_per_second_per_address: Option<u32>,
}

pub const KEYS: &[&str] = &[
    "calls_per_minute",
    "burst",
    "tool_calls_per_minute",
    "max_concurrent_calls",
    "max_concurrent",
    "queue",
    "queue_timeout_seconds",
    "max_result_bytes",
    "max_result_rows",
    "requests_per_second_per_address",
];

pub fn decode(node: &Node, path: &str, d: &mut Decoder) -> LimitsConfig {
    let mut cfg = LimitsConfig::default();
    let Some(f) = d.map(node, path, KEYS) else {
        return cfg;
    };
    cfg.calls_per_minute = positive(d, &f, "calls_per_minute");
    cfg.burst = positive(d, &f, "burst");
    cfg.tool_calls_per_minute = per_tool(d, &f, "tool_calls_per_minute");
    cfg.max_concurrent_calls = positive(d, &f, "max_concurrent_calls");
    cfg.max_concurrent = per_tool(d, &f, "max_concurrent");
    cfg.queue = d.count(&f, "queue").map(|n| n.min(u32::MAX as u64) as u32);
    cfg.queue_timeout_seconds = d.count(&f, "queue_timeout_seconds");
    cfg.max_result_bytes = d.count(&f, "max_result_bytes");
    cfg.max_result_rows = d.count(&f, "max_result_rows");
    cfg.requests_per_second_per_address = positive(d, &f, "requests_per_second_per_address");
    cfg
}

fn positive(d: &mut Decoder, f: &Fields, key: &str) -> Option<u32> {
    let n = d.count(f, key)?;
    match u32::try_from(n) {
        Ok(v) if v > 0 => Some(v),
        _ => {
            let pos = f.get(key).map(|n| n.pos).unwrap_or(f.node.pos);
            d.error(pos, &f.path_of(key), format!("'{key}' must be between 1 and {}", u32::MAX));
            None
        }
    }
}

fn per_tool(d: &mut Decoder, f: &Fields, key: &str) -> IndexMap<String, u32> {
    let mut out = IndexMap::new();
    let Some(node) = f.get(key).filter(|n| !n.is_null()) else {
        return out;
    };
    let path = f.path_of(key);
    let names: Vec<String> =
        d.any_map(node, &path).unwrap_or_default().iter().map(|(k, _)| k.key_text().unwrap_or_default()).collect();
    if let Some(tools) = d.map(node, &path, &names.iter().map(String::as_str).collect::<Vec<_>>()) {
        for name in &names {
            if let Some(v) = positive(d, &tools, name) {
                out.insert(name.clone(), v);
            }
        }
    }
    out
}
