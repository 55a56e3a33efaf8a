//! An open Deployfile: its text, edits applied as the editor sends them (whole or by
//! range), LSP positions (UTF-16) to byte offsets and back, and the result of the last
//! check. The last tree that parsed is kept for navigation while the text is broken.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

use crate::check::check_source;
use crate::diagnostic::Diagnostic;
use crate::syntax::{Deployfile, LineIndex, Span};

pub(super) struct Document {
    pub(super) text: String,
    pub(super) version: i32,
    pub(super) index: LineIndex,
    /// The diagnostics of the current text.
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The tree of the current text, or of the last text that parsed.
    pub(super) file: Option<Deployfile>,
    /// Whether `file` is the current text's.
    pub(super) current: bool,
}

impl Document {
    pub(super) fn new(text: String, version: i32) -> Self {
        let mut document = Self {
            index: LineIndex::new(&text),
            text,
            version,
            diagnostics: Vec::new(),
            file: None,
            current: false,
        };
        document.check();
        document
    }

    /// Applies the edits in order, then checks the new text once. One edit inside one
    /// item of a text that parsed re-parses that item alone (`syntax::reparse`).
    pub(super) fn change(&mut self, version: i32, changes: Vec<TextDocumentContentChangeEvent>) {
        let count = changes.len();
        let mut single = None;
        for (i, change) in changes.into_iter().enumerate() {
            match change.range {
                None => self.text = change.text,
                Some(range) => {
                    let span = self.span(range);
                    self.text.replace_range(span.start..span.end, &change.text);
                    if count == 1 {
                        single = Some((span, change.text.len()));
                    }
                }
            }
            if i + 1 < count {
                self.index = LineIndex::new(&self.text);
            }
        }
        self.index = LineIndex::new(&self.text);
        self.version = version;
        let reparsed = match (single, &self.file) {
            (Some((span, inserted)), Some(file)) if self.current => {
                crate::syntax::reparse(file, &self.text, span, inserted)
            }
            _ => None,
        };
        match reparsed {
            Some(file) => {
                self.diagnostics = crate::check::check(&file);
                self.file = Some(file);
                self.current = true;
            }
            None => self.check(),
        }
    }

    fn check(&mut self) {
        let checked = check_source(&self.text);
        self.diagnostics = checked.diagnostics;
        self.current = checked.file.is_some();
        if checked.file.is_some() {
            self.file = checked.file;
        }
    }

    /// The byte offset of an LSP position.
    pub(super) fn offset(&self, position: Position) -> usize {
        self.index.offset_of_utf16(&self.text, position.line as usize, position.character as usize)
    }

    pub(super) fn span(&self, range: Range) -> Span {
        let (start, end) = (self.offset(range.start), self.offset(range.end));
        Span::new(start.min(end), end.max(start))
    }

    pub(super) fn position(&self, offset: usize) -> Position {
        position(&self.index, &self.text, offset)
    }

    pub(super) fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The range of the whole text.
    pub(super) fn whole(&self) -> Range {
        self.range(Span::new(0, self.text.len()))
    }
}

/// The LSP position of a byte offset of `text`.
pub(super) fn position(index: &LineIndex, text: &str, offset: usize) -> Position {
    let (line, column) = index.utf16_position(text, offset);
    Position::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

    use super::Document;

    fn edit(range: Option<((u32, u32), (u32, u32))>, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: range
                .map(|((a, b), (c, d))| Range::new(Position::new(a, b), Position::new(c, d))),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn edits_by_range_count_utf16_units() {
        let mut document =
            Document::new("build a { args = { X = \"😀\", Y = gti.sha } }\n".to_owned(), 1);
        assert_eq!(document.diagnostics.len(), 1);
        // `gti` starts after the emoji: byte 35, UTF-16 column 33 (the emoji counts 2).
        let at = document.diagnostics[0].span().start;
        assert_eq!(at, 35);
        assert_eq!(document.position(at), Position::new(0, 33));
        document.change(2, vec![edit(Some(((0, 33), (0, 36))), "git")]);
        assert_eq!(document.text, "build a { args = { X = \"😀\", Y = git.sha } }\n");
        assert!(document.diagnostics.is_empty() && document.current);
        // Two edits in one notification, then a whole-text one.
        document.change(
            3,
            vec![edit(Some(((0, 6), (0, 7))), "app"), edit(Some(((1, 0), (1, 0))), "push app")],
        );
        assert!(document.text.ends_with("} }\npush app"), "{}", document.text);
        document.change(4, vec![edit(None, "build {")]);
        assert!(!document.current && document.file.is_some(), "the last tree that parsed is kept");
        assert_eq!(document.version, 4);
    }
}
