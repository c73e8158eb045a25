//! The active profile's `telemetry` block of the user configuration, decoded with positions,
//! and the standard environment variables that override it. The keys and what is an error
//! follow the reference; `tracing.capture_content` is mxcp's (docs/telemetry.md).

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::load::auth_config::lenient_bool;
use crate::load::decode::{Decoder, Fields, child, describe};
use crate::load::user_config::resolve_string;
use crate::load::yaml::{Node, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    pub enabled: bool,
    /// The OTLP/HTTP base URL; traces go to `<endpoint>/v1/traces`, metrics to `/v1/metrics`.
    pub endpoint: Option<String>,
    /// Sent with every export (an API key, typically: never logged).
    pub headers: IndexMap<String, String>,
    pub service_name: Option<String>,
    pub service_version: Option<String>,
    /// `deployment.environment.name` of the resource.
    pub environment: Option<String>,
    pub resource_attributes: IndexMap<String, Json>,
    pub tracing: bool,
    /// Each finished span is also written to stderr as a JSON line.
    pub console_export: bool,
    /// mxcp: tool arguments and results as span attributes (redacted like the audit log).
    pub capture_content: bool,
    pub metrics: bool,
    pub export_interval: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            enabled: false,
            endpoint: None,
            headers: IndexMap::new(),
            service_name: None,
            service_version: None,
            environment: None,
            resource_attributes: IndexMap::new(),
            tracing: true,
            console_export: false,
            capture_content: false,
            metrics: true,
            export_interval: Duration::from_secs(60),
        }
    }
}

const KEYS: &[&str] = &[
    "enabled",
    "endpoint",
    "headers",
    "service_name",
    "service_version",
    "environment",
    "resource_attributes",
    "tracing",
    "metrics",
];

pub fn decode(node: &Node, path: &str, d: &mut Decoder) -> TelemetryConfig {
    let mut cfg = TelemetryConfig::default();
    if node.is_null() {
        return cfg;
    }
    let Some(f) = d.map(node, path, KEYS) else {
        return cfg;
    };
    cfg.enabled = lenient_bool(d, &f, "enabled").unwrap_or(false);
    cfg.endpoint = text(d, &f, "endpoint");
    cfg.service_name = text(d, &f, "service_name");
    cfg.service_version = text(d, &f, "service_version");
    cfg.environment = text(d, &f, "environment");
    if let Some(h) = f.get("headers").filter(|n| !n.is_null()) {
        let hpath = f.path_of("headers");
        for (k, v) in d.any_map(h, &hpath).unwrap_or_default() {
            let key = k.key_text().unwrap_or_default();
            let vpath = child(&hpath, &key);
            if let Some(s) = d.as_string(v, &vpath) {
                cfg.headers.insert(key, resolve_string(&s).unwrap_or(s));
            }
        }
    }
    if let Some(r) = f.get("resource_attributes").filter(|n| !n.is_null()) {
        for (k, v) in d.any_map(r, &f.path_of("resource_attributes")).unwrap_or_default() {
            cfg.resource_attributes.insert(k.key_text().unwrap_or_default(), v.to_json());
        }
    }
    if let Some(t) = f.get("tracing").filter(|n| !n.is_null()) {
        if let Some(tf) = d.map(t, &f.path_of("tracing"), &["enabled", "console_export", "capture_content"]) {
            cfg.tracing = lenient_bool(d, &tf, "enabled").unwrap_or(true);
            cfg.console_export = lenient_bool(d, &tf, "console_export").unwrap_or(false);
            cfg.capture_content = lenient_bool(d, &tf, "capture_content").unwrap_or(false);
        }
    }
    if let Some(m) = f.get("metrics").filter(|n| !n.is_null()) {
        if let Some(mf) = d.map(m, &f.path_of("metrics"), &["enabled", "export_interval"]) {
            cfg.metrics = lenient_bool(d, &mf, "enabled").unwrap_or(true);
            if let Some(secs) = interval(d, &mf) {
                cfg.export_interval = secs;
            }
        }
    }
    cfg
}

/// `export_interval`: whole seconds (the reference refuses `1.5`); a value under one second
/// (which the reference accepts) is read as one second.
fn interval(d: &mut Decoder, f: &Fields) -> Option<Duration> {
    let node = f.get("export_interval")?;
    let secs = match &node.value {
        Value::Int(i) => *i,
        Value::Str(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse::<i64>().unwrap_or(60),
        Value::Null => return None,
        _ => {
            d.error(
                node.pos,
                &f.path_of("export_interval"),
                format!("expected a whole number of seconds, found {}", describe(node)),
            );
            return None;
        }
    };
    Some(Duration::from_secs(secs.max(1) as u64))
}

/// A string value with its references resolved (an unresolvable one was reported where the
/// whole file is resolved).
fn text(d: &mut Decoder, f: &Fields, key: &str) -> Option<String> {
    let s = d.as_string(f.get(key)?, &f.path_of(key))?;
    resolve_string(&s).ok()
}

impl TelemetryConfig {
    /// The configuration with the environment's settings over it: `MXCP_TELEMETRY_ENABLED`,
    /// `MXCP_TELEMETRY_TRACING_CONSOLE`, `MXCP_TELEMETRY_METRICS_INTERVAL` (seconds),
    /// `MXCP_TELEMETRY_CAPTURE_CONTENT` and the standard
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`,
    /// `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SDK_DISABLED`. A value that cannot be read is an error
    /// naming the variable.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<TelemetryConfig, String> {
        let flag = |name: &str| -> Result<Option<bool>, String> {
            match var(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => Ok(Some(true)),
                    "false" | "0" | "no" | "off" => Ok(Some(false)),
                    _ => Err(format!("{name}: expected true or false, found '{v}'")),
                },
            }
        };
        if let Some(on) = flag("MXCP_TELEMETRY_ENABLED")? {
            self.enabled = on;
        }
        if let Some(on) = flag("MXCP_TELEMETRY_TRACING_CONSOLE")? {
            self.console_export = on;
        }
        if let Some(on) = flag("MXCP_TELEMETRY_CAPTURE_CONTENT")? {
            self.capture_content = on;
        }
        if flag("OTEL_SDK_DISABLED")? == Some(true) {
            self.enabled = false;
        }
        if let Some(v) = var("MXCP_TELEMETRY_METRICS_INTERVAL").filter(|v| !v.is_empty()) {
            let secs: u64 = v.trim().parse().map_err(|_| {
                format!("MXCP_TELEMETRY_METRICS_INTERVAL: expected a whole number of seconds, found '{v}'")
            })?;
            self.export_interval = Duration::from_secs(secs.max(1));
        }
        if let Some(v) = var("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.is_empty()) {
            self.endpoint = Some(v);
        }
        if let Some(v) = var("OTEL_SERVICE_NAME").filter(|v| !v.is_empty()) {
            self.service_name = Some(v);
        }
        if let Some(v) = var("OTEL_EXPORTER_OTLP_HEADERS") {
            for (k, v) in key_values(&v, "OTEL_EXPORTER_OTLP_HEADERS")? {
                self.headers.insert(k, v);
            }
        }
        if let Some(v) = var("OTEL_RESOURCE_ATTRIBUTES") {
            for (k, v) in key_values(&v, "OTEL_RESOURCE_ATTRIBUTES")? {
                self.resource_attributes.insert(k, Json::String(v));
            }
        }
        Ok(self)
    }
}

/// `k1=v1,k2=v2` with percent-encoded values (the OTEL_* list format).
fn key_values(text: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("{name}: expected key=value pairs separated by commas, found '{item}'"));
        };
        out.push((k.trim().to_string(), crate::load::uri_template::percent_decode(v.trim())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file() {
        let env = |name: &str| match name {
            "MXCP_TELEMETRY_ENABLED" => Some("true".to_string()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318".to_string()),
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=a%3Db, x=y".to_string()),
            "OTEL_RESOURCE_ATTRIBUTES" => Some("team=data".to_string()),
            "MXCP_TELEMETRY_METRICS_INTERVAL" => Some("5".to_string()),
            _ => None,
        };
        let file = TelemetryConfig { endpoint: Some("http://file:4318".into()), ..Default::default() };
        let cfg = file.with_env(env).unwrap();
        assert!(cfg.enabled);
        assert_eq!(cfg.endpoint.as_deref(), Some("http://collector:4318"));
        assert_eq!(cfg.headers["api-key"], "a=b");
        assert_eq!(cfg.headers["x"], "y");
        assert_eq!(cfg.resource_attributes["team"], "data");
        assert_eq!(cfg.export_interval, Duration::from_secs(5));
        let bad = TelemetryConfig::default().with_env(|n| (n == "MXCP_TELEMETRY_ENABLED").then(|| "maybe".into()));
        assert_eq!(bad.unwrap_err(), "MXCP_TELEMETRY_ENABLED: expected true or false, found 'maybe'");
    }
}
