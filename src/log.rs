//! Where the libraries' messages go. The runtime and the bundler report through `tracing`;
//! each event's message is a whole line, already worded (`warning: ...`), which is printed to
//! stderr as it is. Only mxcp's own crates are shown: rmcp's internal tracing stays silent.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Prints the libraries' events to stderr, one line each.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(StderrLines);
}

struct StderrLines;

fn ours(target: &str) -> bool {
    ["mxcp_runtime", "mxcp_bundler", "mxcp"].iter().any(|c| target == *c || target.starts_with(&format!("{c}::")))
}

impl Subscriber for StderrLines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && ours(metadata.target())
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Message(String::new());
        event.record(&mut line);
        eprintln!("{}", line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The event's `message` field, as formatted by the macro.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}
