//! A run as NDJSON: one JSON object per event and line (docs/events.md).

use std::io::Write;

use crate::engine::{Event, Sink};

pub(crate) struct NdjsonReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> NdjsonReporter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write + Send> Sink for NdjsonReporter<W> {
    fn event(&mut self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            let _ = writeln!(self.out, "{line}");
        }
    }
}
