//! The Deployfile's text as miette reads it, in time linear in the number of labels: miette's
//! own `SourceCode` for text scans from the start of the text for every label it draws, so
//! a report of N diagnostics over a file of L lines took N × L. Here the line starts are
//! found once; each label is read by miette's own code from a window that starts a few
//! lines above it, and the answer is moved back to the whole text's offsets and lines.
//! The result is the same, byte for byte (a test renders every fixture both ways).

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// A named text with its line starts, as miette counts lines (`\n`, `\r\n` and a lone
/// `\r` each end one).
#[derive(Debug)]
pub(super) struct IndexedSource {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl IndexedSource {
    pub(super) fn new(name: &str, text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut at = 0;
        while at < bytes.len() {
            match bytes[at] {
                b'\r' if bytes.get(at + 1) == Some(&b'\n') => {
                    at += 2;
                    line_starts.push(at);
                }
                b'\r' | b'\n' => {
                    at += 1;
                    line_starts.push(at);
                }
                _ => at += 1,
            }
        }
        Self { name: name.to_owned(), text: text.to_owned(), line_starts }
    }
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // The line the span starts on, and a window from one line more than the context
        // above it (miette's scan keeps only the last lines it passed).
        let line = self.line_starts.partition_point(|&start| start <= span.offset()) - 1;
        let first = line.saturating_sub(context_lines_before + 1);
        let window = self.line_starts[first];
        let inner = if span.offset() > self.text.len() {
            self.text.as_str().read_span(span, context_lines_before, context_lines_after)?
        } else {
            let shifted = SourceSpan::new((span.offset() - window).into(), span.len());
            self.text[window..].read_span(&shifted, context_lines_before, context_lines_after)?
        };
        let (moved, lines) = if span.offset() > self.text.len() { (0, 0) } else { (window, first) };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new((inner.span().offset() + moved).into(), inner.span().len()),
            inner.line() + lines,
            inner.column(),
            inner.line_count() + lines,
        )))
    }
}
