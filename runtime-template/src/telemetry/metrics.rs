//! The two MCP server histograms, aggregated in process (cumulative since start) until each
//! export reads them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

use super::span::{Attr, AttrValue};

/// The bucket bounds the MCP semantic conventions advise, in seconds.
pub(crate) const BOUNDS: [f64; 14] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

pub(crate) const OPERATION: &str = "mcp.server.operation.duration";
pub(crate) const SESSION: &str = "mcp.server.session.duration";

/// The attributes of one series, in a fixed order.
pub(crate) type SeriesKey = Vec<(&'static str, String)>;

#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub(crate) attributes: Vec<Attr>,
    pub(crate) buckets: [u64; BOUNDS.len() + 1],
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

pub(crate) struct HistogramSnapshot {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) bounds: &'static [f64],
    pub(crate) start_unix_nanos: u64,
    pub(crate) points: Vec<Point>,
}

struct Histogram {
    name: &'static str,
    description: &'static str,
    series: Mutex<HashMap<SeriesKey, Point>>,
}

impl Histogram {
    fn new(name: &'static str, description: &'static str) -> Histogram {
        Histogram { name, description, series: Mutex::default() }
    }

    fn record(&self, key: SeriesKey, seconds: f64) {
        let bucket = BOUNDS.iter().position(|b| seconds <= *b).unwrap_or(BOUNDS.len());
        let mut series = self.series.lock().expect("metrics lock");
        let p = series.entry(key).or_insert_with_key(|k| Point {
            attributes: k.iter().map(|(n, v)| (Cow::Borrowed(*n), AttrValue::Str(v.clone()))).collect(),
            buckets: [0; BOUNDS.len() + 1],
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        });
        p.buckets[bucket] += 1;
        p.count += 1;
        p.sum += seconds;
        p.min = p.min.min(seconds);
        p.max = p.max.max(seconds);
    }

    fn snapshot(&self, start_unix_nanos: u64) -> HistogramSnapshot {
        let mut points: Vec<Point> = self.series.lock().expect("metrics lock").values().cloned().collect();
        points.sort_by(|a, b| format!("{:?}", a.attributes).cmp(&format!("{:?}", b.attributes)));
        HistogramSnapshot {
            name: self.name,
            description: self.description,
            unit: "s",
            bounds: &BOUNDS,
            start_unix_nanos,
            points,
        }
    }
}

pub(crate) struct Metrics {
    start_unix_nanos: u64,
    operation: Histogram,
    session: Histogram,
}

impl Metrics {
    pub(crate) fn new(start_unix_nanos: u64) -> Metrics {
        Metrics {
            start_unix_nanos,
            operation: Histogram::new(OPERATION, "Duration of MCP requests handled by the server"),
            session: Histogram::new(SESSION, "Duration of MCP sessions on the server"),
        }
    }

    pub(crate) fn operation(&self, key: SeriesKey, seconds: f64) {
        self.operation.record(key, seconds);
    }

    pub(crate) fn session(&self, key: SeriesKey, seconds: f64) {
        self.session.record(key, seconds);
    }

    /// Both histograms as they stand; those with no series yet are left out.
    pub(crate) fn snapshot(&self) -> Vec<HistogramSnapshot> {
        [self.operation.snapshot(self.start_unix_nanos), self.session.snapshot(self.start_unix_nanos)]
            .into_iter()
            .filter(|h| !h.points.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_into_the_advised_buckets() {
        let m = Metrics::new(0);
        let key = || vec![("mcp.method.name", "tools/call".to_string())];
        for s in [0.005, 0.01, 0.3, 400.0] {
            m.operation(key(), s);
        }
        let snap = m.snapshot();
        assert_eq!(snap.len(), 1, "no session recorded: only the operation histogram");
        let p = &snap[0].points[0];
        assert_eq!(p.count, 4);
        assert_eq!(p.buckets[0], 2, "<= 0.01 s, the bound included");
        assert_eq!(p.buckets[5], 1, "(0.2, 0.5]");
        assert_eq!(p.buckets[14], 1, "over 300 s");
        assert_eq!((p.min, p.max), (0.005, 400.0));
    }
}
