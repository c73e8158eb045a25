//! OTLP/HTTP protobuf bodies (`ExportTraceServiceRequest`, `ExportMetricsServiceRequest` of
//! opentelemetry-proto), encoded by hand: the few messages mxcp sends do not justify a code
//! generator and its runtime. Field numbers are those of the .proto files (tests decode the
//! output with the generated opentelemetry-proto types).

use super::metrics::HistogramSnapshot;
use super::span::{Attr, AttrValue, SpanData};

/// Protobuf wire encoding into one buffer.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }
    fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.key(field, 0);
            self.varint(v);
        }
    }
    fn fixed64(&mut self, field: u32, v: u64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn double(&mut self, field: u32, v: f64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }
    fn message(&mut self, field: u32, f: impl FnOnce(&mut Enc)) {
        let mut inner = Enc::default();
        f(&mut inner);
        self.bytes(field, &inner.0);
    }
}

/// `KeyValue { key = 1; AnyValue value = 2 }`, `AnyValue { string 1, bool 2, int 3, double 4 }`.
fn attribute(e: &mut Enc, field: u32, (key, value): &Attr) {
    e.message(field, |kv| {
        kv.string(1, key);
        kv.message(2, |v| match value {
            AttrValue::Str(s) => v.bytes(1, s.as_bytes()),
            AttrValue::Bool(b) => {
                v.key(2, 0);
                v.varint(*b as u64);
            }
            AttrValue::Int(i) => {
                v.key(3, 0);
                v.varint(*i as u64);
            }
            AttrValue::Double(x) => v.double(4, *x),
        });
    });
}

/// `Resource { repeated KeyValue attributes = 1 }`.
fn resource(e: &mut Enc, field: u32, attrs: &[Attr]) {
    e.message(field, |r| attrs.iter().for_each(|a| attribute(r, 1, a)));
}

/// `InstrumentationScope { name = 1; version = 2 }`.
fn scope(e: &mut Enc, field: u32) {
    e.message(field, |s| {
        s.string(1, "mxcp");
        s.string(2, crate::VERSION);
    });
}

/// An export request: one resource, one scope (mxcp), its items (spans or metrics, field 2).
/// `ExportTraceServiceRequest` and `ExportMetricsServiceRequest` have the same shape:
/// `resource_* = 1 { resource = 1; scope_* = 2 { scope = 1; items = 2 } }`.
fn export(resource_attrs: &[Attr], items: impl FnOnce(&mut Enc)) -> Vec<u8> {
    let mut e = Enc::default();
    e.message(1, |r| {
        resource(r, 1, resource_attrs);
        r.message(2, |s| {
            scope(s, 1);
            items(s);
        });
    });
    e.0
}

pub(crate) fn traces(resource_attrs: &[Attr], spans: &[SpanData]) -> Vec<u8> {
    export(resource_attrs, |ss| spans.iter().for_each(|s| ss.message(2, |m| span(m, s))))
}

fn span(m: &mut Enc, s: &SpanData) {
    m.bytes(1, &s.trace_id);
    m.bytes(2, &s.span_id);
    m.string(3, &s.trace_state);
    if let Some(p) = &s.parent_span_id {
        m.bytes(4, p);
    }
    m.string(5, &s.name);
    m.uint(6, s.kind as u64);
    m.fixed64(7, s.start_unix_nanos);
    m.fixed64(8, s.end_unix_nanos);
    s.attributes.iter().for_each(|a| attribute(m, 9, a));
    for l in &s.links {
        // Link { trace_id = 1; span_id = 2; trace_state = 3 }
        m.message(13, |lm| {
            lm.bytes(1, &l.trace_id);
            lm.bytes(2, &l.span_id);
            lm.string(3, &l.trace_state);
        });
    }
    // Status { message = 2; code = 3 (ERROR = 2) }
    if let Some(description) = &s.error {
        m.message(15, |st| {
            st.string(2, description);
            st.uint(3, 2);
        });
    }
}

/// `ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1 }`, each
/// histogram cumulative since `start_unix_nanos`.
pub(crate) fn metrics(resource_attrs: &[Attr], histograms: &[HistogramSnapshot], now_unix_nanos: u64) -> Vec<u8> {
    export(resource_attrs, |sm| {
        for h in histograms {
            // Metric { name = 1; description = 2; unit = 3; Histogram histogram = 9 }
            sm.message(2, |m| {
                m.string(1, h.name);
                m.string(2, h.description);
                m.string(3, h.unit);
                m.message(9, |hist| {
                    for p in &h.points {
                        hist.message(1, |dp| {
                            // HistogramDataPoint: start 2, time 3, count 4, sum 5,
                            // bucket_counts 6 (packed), explicit_bounds 7 (packed),
                            // attributes 9, min 11, max 12
                            dp.fixed64(2, h.start_unix_nanos);
                            dp.fixed64(3, now_unix_nanos);
                            dp.fixed64(4, p.count);
                            dp.double(5, p.sum);
                            let counts: Vec<u8> = p.buckets.iter().flat_map(|c| c.to_le_bytes()).collect();
                            dp.bytes(6, &counts);
                            let bounds: Vec<u8> = h.bounds.iter().flat_map(|b| b.to_le_bytes()).collect();
                            dp.bytes(7, &bounds);
                            p.attributes.iter().for_each(|a| attribute(dp, 9, a));
                            dp.double(11, p.min);
                            dp.double(12, p.max);
                        });
                    }
                    // aggregation_temporality = 2: CUMULATIVE
                    hist.uint(2, 2);
                });
            });
        }
    })
}
