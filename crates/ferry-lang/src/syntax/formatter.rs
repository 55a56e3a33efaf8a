//! `ferry fmt`: the canonical layout of a Deployfile. Two-space indents, one entry a line,
//! `=` aligned within runs of fields, one blank line between top-level items, blank lines
//! inside blocks kept (at most one), every comment kept. Lists, maps and calls stay on one
//! line when they fit in 100 columns and hold no comment; a nested block stays on one line
//! when it was written on one line, holds only fields and fits.
//!
//! `format` re-parses its output and refuses to return anything whose syntax tree or
//! comments differ from the input's, so formatting never changes what a file means.
//!
//! This file holds the entry points and the items and blocks; expressions are laid out in
//! `formatter/expressions.rs`, comments and blank lines placed in `formatter/comments.rs`.

use super::{
    Block, Comment, Deployfile, Entry, Field, Item, MapEntry, NestedBlock, Span, Step, parse,
};
use crate::diagnostic::Diagnostic;

mod comments;
mod expressions;

const WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Why a file could not be formatted.
#[derive(Debug)]
pub enum FormatError {
    /// The file does not parse.
    Syntax(Vec<Diagnostic>),
    /// The formatter would have changed the file's meaning or lost a comment: a bug in
    /// ferry, reported rather than written.
    Unsafe(String),
}

/// Formats `text`, or says why it cannot.
pub fn format(text: &str) -> Result<String, FormatError> {
    let file = parse(text).map_err(FormatError::Syntax)?;
    let output = format_file(text, &file);
    let reparsed = parse(&output).map_err(|diagnostics| {
        FormatError::Unsafe(format!(
            "the formatted text does not parse: {}",
            diagnostics.first().map_or_else(String::new, |d| d.message.clone())
        ))
    })?;
    if shape(&file) != shape(&reparsed) {
        return Err(FormatError::Unsafe("formatting would change the syntax tree".to_owned()));
    }
    Ok(output)
}

/// Formats a parsed file whose source is `text`.
#[must_use]
pub fn format_file(text: &str, file: &Deployfile) -> String {
    let mut printer = Printer {
        source: text,
        comments: &file.comments,
        next: 0,
        out: String::new(),
        depth: 0,
        last_end: 0,
    };
    printer.file(file);
    printer.out
}

/// The syntax tree and comments without spans, for "the meaning did not change".
fn shape(file: &Deployfile) -> String {
    let debug = format!("{file:?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span { start: ") {
        out.push_str(&rest[..at]);
        out.push_str("Span");
        rest = &rest[at..];
        let close = rest.find('}').map_or(rest.len(), |i| i + 1);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

struct Printer<'a> {
    source: &'a str,
    comments: &'a [Comment],
    /// The first comment not yet printed.
    next: usize,
    out: String,
    depth: usize,
    /// The source offset of the last thing printed, for blank lines and trailing comments.
    last_end: usize,
}

impl Printer<'_> {
    fn file(&mut self, file: &Deployfile) {
        for item in &file.items {
            let first = self.out.is_empty();
            let commented = self.leading(item.span().start, !first);
            if !self.out.is_empty() && (!commented || self.blank_before(item.span().start)) {
                self.blank_line();
            }
            match item {
                Item::Defaults(defaults) => {
                    self.indent();
                    self.out.push_str("defaults ");
                    self.block_lines(&defaults.body);
                }
                Item::Environment(environment) => {
                    self.indent();
                    self.out.push_str("environment ");
                    self.out.push_str(&environment.name.name);
                    self.out.push(' ');
                    self.block_lines(&environment.body);
                }
                Item::Handler(handler) => {
                    self.indent();
                    self.out.push_str("on ");
                    self.out.push_str(&handler.event.name);
                    self.out.push_str(" {");
                    self.last_end = handler.braces.start + 1;
                    self.trailing();
                    self.newline();
                    self.depth += 1;
                    for (index, step) in handler.steps.iter().enumerate() {
                        self.leading(step.span.start, false);
                        if index > 0 && self.blank_before(step.span.start) {
                            self.blank_line();
                        }
                        self.step(step);
                    }
                    self.close(handler.braces.end);
                }
                Item::Step(step) => self.step(step),
            }
        }
        self.leading(self.source.len() + 1, !self.out.is_empty());
        if self.out.ends_with("\n\n") {
            self.out.pop();
        }
    }

    fn step(&mut self, step: &Step) {
        self.indent();
        self.out.push_str(step.kind.keyword());
        self.out.push(' ');
        self.out.push_str(&step.name.name);
        if let Some(body) = &step.body {
            self.out.push(' ');
            self.block_lines(body);
        } else {
            self.last_end = step.span.end;
            self.trailing();
            self.newline();
        }
    }

    /// `{`, one entry a line, `}` and the end of the line.
    fn block_lines(&mut self, block: &Block) {
        if block.entries.is_empty() && !self.has_comments(block.span) {
            self.out.push_str("{}");
            self.last_end = block.span.end;
            self.trailing();
            self.newline();
            return;
        }
        self.out.push('{');
        self.last_end = block.span.start + 1;
        self.trailing_before(block.entries.first().map_or(usize::MAX, Entry::span_start));
        self.newline();
        self.depth += 1;
        let widths = self.alignment(&block.entries);
        for (index, entry) in block.entries.iter().enumerate() {
            let commented = self.leading(entry.span().start, false);
            if (index > 0 || commented) && self.blank_before(entry.span().start) {
                self.blank_line();
            }
            match entry {
                Entry::Field(field) => self.field(field, widths[index]),
                Entry::Block(nested) => self.nested_block(nested),
            }
        }
        self.close(block.span.end);
    }

    /// Prints the comments left inside a block, then `}`.
    fn close(&mut self, end: usize) {
        self.leading(end.saturating_sub(1), false);
        self.depth -= 1;
        self.indent();
        self.out.push('}');
        self.last_end = end;
        self.trailing();
        self.newline();
    }

    fn field(&mut self, field: &Field, key_width: usize) {
        self.indent();
        self.out.push_str(&field.key.name);
        for _ in field.key.name.len()..key_width {
            self.out.push(' ');
        }
        self.out.push_str(" = ");
        self.expr(&field.value);
        self.last_end = field.span.end;
        self.trailing();
        self.newline();
    }

    fn nested_block(&mut self, nested: &NestedBlock) {
        self.indent();
        self.out.push_str(&nested.kind.name);
        if let Some(label) = &nested.label {
            self.out.push(' ');
            self.expr(label);
        }
        match &nested.body {
            None => {
                self.last_end = nested.span.end;
                self.trailing();
                self.newline();
            }
            Some(body) => {
                self.out.push(' ');
                match self.inline_block(body) {
                    Some(text) if self.column() + text.len() <= WIDTH => {
                        self.out.push_str(&text);
                        self.last_end = body.span.end;
                        self.trailing();
                        self.newline();
                    }
                    _ => self.block_lines(body),
                }
            }
        }
    }

    /// `{ a = 1, b = 2 }` for a block written on one line that holds only fields.
    fn inline_block(&self, block: &Block) -> Option<String> {
        let written_inline = !self.source[block.span.range()].contains('\n');
        let only_fields = block.entries.iter().all(|entry| matches!(entry, Entry::Field(_)));
        if !written_inline
            || !only_fields
            || block.entries.is_empty()
            || self.has_comments(block.span)
        {
            return None;
        }
        let fields: Option<Vec<String>> = block
            .fields()
            .map(|field| {
                self.inline(&field.value).map(|value| format!("{} = {value}", field.key.name))
            })
            .collect();
        Some(format!("{{ {} }}", fields?.join(", ")))
    }

    /// The width each field's key is padded to: the widest key of its run of consecutive
    /// one-line fields (a blank line, a nested block or a multi-line value ends a run).
    fn alignment(&self, entries: &[Entry]) -> Vec<usize> {
        let keys: Vec<Option<(usize, bool)>> = entries
            .iter()
            .map(|entry| match entry {
                Entry::Field(field) => {
                    let one_line = self.inline(&field.value).is_some_and(|value| {
                        (self.depth + 1) * INDENT.len() + field.key.name.len() + 3 + value.len()
                            <= WIDTH
                    });
                    Some((field.key.name.len(), one_line))
                }
                Entry::Block(_) => None,
            })
            .collect();
        let keys: Vec<(Option<usize>, Span)> = keys
            .iter()
            .zip(entries)
            .map(|(key, entry)| {
                (key.and_then(|(width, one_line)| one_line.then_some(width)), entry.span())
            })
            .collect();
        self.runs(&keys)
    }

    fn map_alignment(&self, entries: &[MapEntry]) -> Vec<usize> {
        let keys: Vec<(Option<usize>, Span)> = entries
            .iter()
            .map(|entry| {
                let one_line = self.inline(&entry.value).is_some();
                (one_line.then_some(self.key_text(entry).len()), entry.span)
            })
            .collect();
        self.runs(&keys)
    }

    fn runs(&self, keys: &[(Option<usize>, Span)]) -> Vec<usize> {
        let mut widths = vec![0; keys.len()];
        let mut start = 0;
        while start < keys.len() {
            let Some(first) = keys[start].0 else {
                start += 1;
                continue;
            };
            let mut end = start + 1;
            let mut widest = first;
            while end < keys.len() {
                let (Some(width), span) = keys[end] else { break };
                if self.blank_between(keys[end - 1].1.end, span.start) {
                    break;
                }
                widest = widest.max(width);
                end += 1;
            }
            for width in &mut widths[start..end] {
                *width = widest;
            }
            start = end;
        }
        widths
    }
}

#[cfg(test)]
mod tests {
    use super::format;

    #[track_caller]
    fn formats(input: &str, expected: &str) {
        let output = format(input).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(output, expected, "\n--- got ---\n{output}");
        let again = format(&output).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(again, output, "not idempotent");
    }

    #[test]
    fn aligns_fields_and_separates_items() {
        formats(
            "defaults { region = \"eu-west-1\"\ncluster=\"prod\" }\nbuild app {}",
            "defaults {\n  region  = \"eu-west-1\"\n  cluster = \"prod\"\n}\n\nbuild app {}\n",
        );
    }

    #[test]
    fn keeps_comments() {
        formats(
            "# head\n\ndefaults { # after brace\n  # before region\n  region = \"x\" # trailing\n  \
             # at end\n}\n# tail\n",
            "# head\n\ndefaults {  # after brace\n  # before region\n  region = \"x\"  # \
             trailing\n  # at end\n}\n\n# tail\n",
        );
    }

    #[test]
    fn keeps_one_line_gate_blocks_and_breaks_long_lists() {
        let long: Vec<String> = (0..12).map(|i| format!("\"tag-number-{i}\"")).collect();
        let input = format!(
            "verify web {{\n  gate http(\"https://x/health\") {{ status = 200, pass = 3 }}\n}}\n\
             tag app {{ tags = [{}] }}\n",
            long.join(",")
        );
        let listed: String = long.iter().flat_map(|t| ["    ", t.as_str(), ",\n"]).collect();
        let expected = format!(
            "verify web {{\n  gate http(\"https://x/health\") {{ status = 200, pass = 3 }}\n}}\n\n\
             tag app {{\n  tags = [\n{listed}  ]\n}}\n"
        );
        formats(&input, &expected);
    }

    #[test]
    fn comments_inside_lists_force_one_element_a_line() {
        formats(
            "tag app {\n  tags = [git.sha, # the commit\n  \"latest\"]\n}\n",
            "tag app {\n  tags = [\n    git.sha,  # the commit\n    \"latest\",\n  ]\n}\n",
        );
    }

    #[test]
    fn handler_and_bodiless_steps() {
        formats("on failure { rollback web }", "on failure {\n  rollback web\n}\n");
    }

    #[test]
    fn blank_lines_inside_blocks_are_kept_once() {
        formats(
            "update web {\n  a = 1\n\n\n\n  bb = 2\n  c = 3\n}\n",
            "update web {\n  a = 1\n\n  bb = 2\n  c  = 3\n}\n",
        );
    }

    #[test]
    fn trailing_comment_of_a_bodiless_step_keeps_the_items_apart() {
        formats(
            "verify web  # why\nenvironment staging {}\n",
            "verify web  # why\n\nenvironment staging {}\n",
        );
    }

    #[test]
    fn blank_line_between_a_comment_and_its_entry_is_kept() {
        let text = "build a {\n  # note\n\n  context = \".\"\n}\n";
        formats(text, text);
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(format("build {"), Err(super::FormatError::Syntax(_))));
    }
}
