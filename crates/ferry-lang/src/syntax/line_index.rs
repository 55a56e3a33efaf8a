//! Byte offsets to line and column numbers, for JSON, GitHub annotations and the LSP.

/// A 1-based line and column; the column counts Unicode scalar values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

/// The start offset of every line of a text, built once and queried many times.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    #[must_use]
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { line_starts }
    }

    /// The 0-based line holding `offset`.
    #[must_use]
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// The byte offset where 0-based `line` starts.
    #[must_use]
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts[line.min(self.line_starts.len() - 1)]
    }

    #[must_use]
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The 1-based line and character column of `offset` in `text` (the text this index
    /// was built from). An offset inside a character counts as that character.
    #[must_use]
    pub fn line_column(&self, text: &str, offset: usize) -> LineColumn {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let column = text[start..].char_indices().take_while(|(i, _)| start + i < offset).count();
        LineColumn { line: line + 1, column: column + 1 }
    }

    /// The 0-based line and UTF-16 column of `offset`, as the LSP counts positions.
    #[must_use]
    pub fn utf16_position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let column = text[start..]
            .char_indices()
            .take_while(|(i, _)| start + i < offset)
            .map(|(_, c)| c.len_utf16())
            .sum();
        (line, column)
    }

    /// The byte offset of a 0-based line and UTF-16 column (an LSP position): past the
    /// end of a line is its end, past the last line is the end of the text, and a column
    /// inside a character's surrogate pair is that character's start.
    #[must_use]
    pub fn offset_of_utf16(&self, text: &str, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line) else { return text.len() };
        let end = self.line_starts.get(line + 1).map_or(text.len(), |next| next - 1);
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            if units + c.len_utf16() > column {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let text = "ab\ncé\n\nx";
        let index = LineIndex::new(text);
        let at = |offset| {
            let lc = index.line_column(text, offset);
            (lc.line, lc.column)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(2), (1, 3));
        assert_eq!(at(3), (2, 1));
        assert_eq!(at(4), (2, 2));
        assert_eq!(at(6), (2, 3)); // after the two-byte `é`
        assert_eq!(at(7), (3, 1));
        assert_eq!(at(8), (4, 1));
        assert_eq!(at(99), (4, 2));
        assert_eq!(index.line_count(), 4);
    }

    #[test]
    fn utf16_columns_count_surrogate_pairs() {
        let text = "a😀b";
        let index = LineIndex::new(text);
        assert_eq!(index.utf16_position(text, 5), (0, 3));
        assert_eq!(index.offset_of_utf16(text, 0, 3), 5);
        assert_eq!(index.offset_of_utf16(text, 0, 2), 1, "inside the pair: the emoji's start");
        assert_eq!(index.offset_of_utf16(text, 0, 99), 6);
        assert_eq!(index.offset_of_utf16(text, 7, 0), 6);
        let two = "ab\r\ncd";
        let index = LineIndex::new(two);
        assert_eq!(index.offset_of_utf16(two, 1, 1), 5);
    }
}
