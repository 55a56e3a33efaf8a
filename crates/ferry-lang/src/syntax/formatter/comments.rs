//! Where the formatter puts comments and whitespace: comments on lines of their own or
//! trailing a line, blank lines kept (at most one), indentation and the current column.

use super::{INDENT, Printer};
use crate::syntax::Span;

impl Printer<'_> {
    /// Prints every comment that starts before `offset` on lines of its own. With
    /// `separate`, the first one gets a blank line above it.
    pub(super) fn leading(&mut self, offset: usize, separate: bool) -> bool {
        let mut first = true;
        while let Some(comment) = self.comments.get(self.next) {
            if comment.span.start >= offset {
                break;
            }
            if (first && separate)
                || (!first || !self.at_block_start()) && self.blank_before(comment.span.start)
            {
                self.blank_line();
            }
            self.indent();
            self.out.push_str(&comment.text);
            self.newline();
            self.last_end = comment.span.end;
            self.next += 1;
            first = false;
        }
        !first
    }

    /// Prints the comment that follows the last printed thing on the same line.
    pub(super) fn trailing(&mut self) {
        self.trailing_before(usize::MAX);
    }

    /// Like `trailing`, for an opening bracket: only a comment before `limit`, the first
    /// element, belongs to the bracket's line.
    pub(super) fn trailing_before(&mut self, limit: usize) {
        if let Some(comment) = self.comments.get(self.next)
            && comment.span.start < limit
            && comment.span.start >= self.last_end
            && !self.source[self.last_end..comment.span.start].contains('\n')
        {
            self.out.push_str("  ");
            self.out.push_str(&comment.text);
            self.last_end = comment.span.end;
            self.next += 1;
        }
    }

    /// Past the comma that may follow an element, so its trailing comment is found.
    pub(super) fn end_after_comma(&self, end: usize) -> usize {
        let rest = &self.source[end..];
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if rest[skipped..].starts_with(',') { end + skipped + 1 } else { end }
    }

    pub(super) fn skip_comments_within(&mut self, span: Span) {
        while self
            .comments
            .get(self.next)
            .is_some_and(|c| c.span.start >= span.start && c.span.end <= span.end)
        {
            self.next += 1;
        }
    }

    pub(super) fn has_comments(&self, span: Span) -> bool {
        self.comments[self.next..]
            .iter()
            .take_while(|c| c.span.start < span.end)
            .any(|c| c.span.start >= span.start)
    }

    pub(super) fn blank_before(&self, offset: usize) -> bool {
        self.blank_between(self.last_end.min(offset), offset)
    }

    pub(super) fn blank_between(&self, from: usize, to: usize) -> bool {
        self.source.get(from..to).is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    fn at_block_start(&self) -> bool {
        self.out.ends_with("{\n") || self.out.ends_with("[\n") || self.out.ends_with("(\n")
    }

    pub(super) fn blank_line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") && !self.at_block_start() {
            self.out.push('\n');
        }
    }

    pub(super) fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str(INDENT);
        }
    }

    pub(super) fn newline(&mut self) {
        self.out.push('\n');
    }

    pub(super) fn column(&self) -> usize {
        self.out.len() - self.out.rfind('\n').map_or(0, |i| i + 1)
    }
}
