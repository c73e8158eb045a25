//! Spans as they are exported: ids, W3C trace context, attributes, links, status.

use std::borrow::Cow;
use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttrValue {
    Str(String),
    Int(i64),
    Bool(bool),
    Double(f64),
}

pub(crate) type Attr = (Cow<'static, str>, AttrValue);

pub(crate) fn attr(key: &'static str, value: impl Into<String>) -> Attr {
    (Cow::Borrowed(key), AttrValue::Str(value.into()))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Internal = 1,
    Server = 2,
}

/// A remote span context: from a `traceparent` (and `tracestate`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Context {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) sampled: bool,
    pub(crate) trace_state: String,
}

impl Context {
    /// `00-<trace id>-<span id>-<flags>` (W3C Trace Context); `None` when malformed or all-zero.
    pub(crate) fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Context> {
        let mut parts = traceparent.trim().split('-');
        let version = parts.next()?;
        let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
        // a future version may add fields after these; version 00 has exactly four
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let trace_id: [u8; 16] = hex_bytes(trace)?;
        let span_id: [u8; 8] = hex_bytes(span)?;
        let flags: [u8; 1] = hex_bytes(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Context {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
            trace_state: tracestate.unwrap_or("").to_string(),
        })
    }
}

fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) trace_state: String,
}

#[derive(Debug, Clone)]
pub(crate) struct SpanData {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) parent_span_id: Option<[u8; 8]>,
    pub(crate) trace_state: String,
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) start_unix_nanos: u64,
    pub(crate) end_unix_nanos: u64,
    pub(crate) attributes: Vec<Attr>,
    pub(crate) links: Vec<Link>,
    /// `Some(description)`: status ERROR.
    pub(crate) error: Option<String>,
}

pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// A non-zero random id (splitmix64 per thread, seeded from the std hasher's random keys).
pub(crate) fn random_u64() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(unix_nanos(SystemTime::now()));
            h.finish()
        });
    }
    STATE.with(|s| {
        loop {
            let mut z = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            s.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            if z != 0 {
                return z;
            }
        }
    })
}

pub(crate) fn new_span_id() -> [u8; 8] {
    random_u64().to_be_bytes()
}

pub(crate) fn new_trace_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&random_u64().to_be_bytes());
    id[8..].copy_from_slice(&random_u64().to_be_bytes());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_traceparent() {
        let c = Context::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Some("k=v")).unwrap();
        assert_eq!(hex(&c.trace_id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(hex(&c.span_id), "b7ad6b7169203331");
        assert!(c.sampled);
        assert_eq!(c.trace_state, "k=v");
        assert!(!Context::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", None).unwrap().sampled);
        for bad in [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
            "garbage",
        ] {
            assert_eq!(Context::parse(bad, None), None, "{bad}");
        }
    }
}
