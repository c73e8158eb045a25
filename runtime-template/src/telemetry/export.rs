//! The exporter: one thread that sends the finished spans in batches, and the metrics every
//! interval, as OTLP/HTTP protobuf. A finished span is pushed onto a shared buffer under a
//! short lock; the thread is woken only when a batch is full or a flush is asked for, never per
//! span (a wake-up per call cost more than the rest of the tracing on a loaded machine). When the
//! buffer is full (a collector that does not answer) new spans are dropped.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::metrics::Metrics;
use super::otlp;
use super::span::{Attr, SpanData, hex, unix_nanos};

const QUEUE: usize = 8192;
const BATCH: usize = 512;

pub(crate) struct Settings {
    /// `<endpoint>/v1/traces`, or none when tracing is off.
    pub(crate) traces_url: Option<String>,
    /// `<endpoint>/v1/metrics`, or none when metrics are not pushed.
    pub(crate) metrics_url: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) resource: Vec<Attr>,
    pub(crate) batch_delay: Duration,
    pub(crate) metrics_interval: Duration,
    pub(crate) console: bool,
}

#[derive(Default)]
struct Buffer {
    spans: Vec<SpanData>,
    /// Flushes asked for, each answered once everything before it was sent.
    flushes: Vec<std::sync::mpsc::Sender<()>>,
}

#[derive(Default)]
struct Shared {
    buffer: Mutex<Buffer>,
    wake: Condvar,
}

pub(crate) struct Exporter {
    shared: Arc<Shared>,
}

impl Exporter {
    pub(crate) fn start(settings: Settings, metrics: Option<Arc<Metrics>>) -> std::io::Result<Exporter> {
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        std::thread::Builder::new().name("mxcp-otlp".into()).spawn(move || run(settings, metrics, &thread_shared))?;
        Ok(Exporter { shared })
    }

    pub(crate) fn span(&self, span: SpanData) {
        let mut b = self.shared.buffer.lock().expect("export lock");
        if b.spans.len() >= QUEUE {
            drop(b);
            tracing::debug!("mxcp: telemetry buffer full, a span was dropped");
            return;
        }
        b.spans.push(span);
        if b.spans.len() == BATCH {
            self.shared.wake.notify_one();
        }
    }

    /// Sends what is buffered and the metrics, waiting at most `limit`.
    pub(crate) fn flush(&self, limit: Duration) {
        let (ack, done) = std::sync::mpsc::channel();
        self.shared.buffer.lock().expect("export lock").flushes.push(ack);
        self.shared.wake.notify_one();
        let _ = done.recv_timeout(limit);
    }
}

struct Sender {
    rt: tokio::runtime::Runtime,
    client: crate::fetch::Fetcher,
    settings: Settings,
    /// Whether the last export failed (reported once, not at every attempt).
    failing: bool,
}

impl Sender {
    fn post(&mut self, url: &str, body: Vec<u8>) {
        let sent = self.client.post_bytes(url, "application/x-protobuf", &self.settings.headers, body);
        let outcome = match self.rt.block_on(sent) {
            Ok(reply) if reply.status >= 400 => Err(format!("the collector answered HTTP {}", reply.status)),
            Ok(_) => Ok(()),
            Err(e) => Err(e.message),
        };
        match outcome {
            Ok(()) => self.failing = false,
            Err(e) => {
                if !self.failing {
                    // the URL only: the headers may hold credentials
                    tracing::warn!("mxcp: telemetry export to {url} failed: {e}");
                }
                self.failing = true;
            }
        }
    }

    fn spans(&mut self, spans: &mut Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        if self.settings.console {
            let mut err = std::io::stderr().lock();
            for s in spans.iter() {
                let _ = writeln!(err, "{}", console_line(s));
            }
        }
        if let Some(url) = self.settings.traces_url.clone() {
            let body = otlp::traces(&self.settings.resource, spans);
            self.post(&url, body);
        }
        spans.clear();
    }

    fn metrics(&mut self, metrics: Option<&Metrics>) {
        let (Some(m), Some(url)) = (metrics, self.settings.metrics_url.clone()) else {
            return;
        };
        let snapshot = m.snapshot();
        if !snapshot.is_empty() {
            let body = otlp::metrics(&self.settings.resource, &snapshot, unix_nanos(SystemTime::now()));
            self.post(&url, body);
        }
    }
}

fn run(settings: Settings, metrics: Option<Arc<Metrics>>, shared: &Shared) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("mxcp: telemetry export cannot start: {e}");
            return;
        }
    };
    let client = match crate::fetch::Fetcher::new() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("mxcp: telemetry export cannot start: {e}");
            return;
        }
    };
    let mut sender = Sender { rt, client, settings, failing: false };
    let mut batch_due = Instant::now() + sender.settings.batch_delay;
    let mut metrics_due = Instant::now() + sender.settings.metrics_interval;
    loop {
        let (mut spans, flushes) = {
            let mut b = shared.buffer.lock().expect("export lock");
            loop {
                let now = Instant::now();
                if b.spans.len() >= BATCH || !b.flushes.is_empty() || batch_due <= now || metrics_due <= now {
                    break;
                }
                let wait = batch_due.min(metrics_due) - now;
                b = shared.wake.wait_timeout(b, wait).expect("export lock").0;
            }
            (std::mem::take(&mut b.spans), std::mem::take(&mut b.flushes))
        };
        let now = Instant::now();
        if batch_due <= now || !spans.is_empty() {
            sender.spans(&mut spans);
            batch_due = now + sender.settings.batch_delay;
        }
        if metrics_due <= now || !flushes.is_empty() {
            sender.metrics(metrics.as_deref());
            metrics_due = now + sender.settings.metrics_interval;
        }
        for ack in flushes {
            let _ = ack.send(());
        }
    }
}

/// `tracing.console_export`: one span as a JSON line.
fn console_line(s: &SpanData) -> String {
    use super::span::AttrValue;
    let attributes: serde_json::Map<String, serde_json::Value> = s
        .attributes
        .iter()
        .map(|(k, v)| {
            let v = match v {
                AttrValue::Str(x) => serde_json::json!(x),
                AttrValue::Int(x) => serde_json::json!(x),
                AttrValue::Bool(x) => serde_json::json!(x),
                AttrValue::Double(x) => serde_json::json!(x),
            };
            (k.to_string(), v)
        })
        .collect();
    serde_json::json!({
        "name": s.name,
        "trace_id": hex(&s.trace_id),
        "span_id": hex(&s.span_id),
        "parent_span_id": s.parent_span_id.map(|p| hex(&p)),
        "start_unix_nanos": s.start_unix_nanos,
        "duration_ms": (s.end_unix_nanos.saturating_sub(s.start_unix_nanos)) as f64 / 1e6,
        "status": if s.error.is_some() { "ERROR" } else { "UNSET" },
        "attributes": attributes,
    })
    .to_string()
}
