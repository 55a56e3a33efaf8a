//! How the formatter lays out an expression: on one line when it fits and holds no
//! comment, otherwise one element, entry or argument a line with `=` aligned in maps.

use super::{Printer, WIDTH};
use crate::syntax::{Expr, ExprKind, MapEntry};

impl Printer<'_> {
    /// Prints an expression at the current position, on one line when it fits.
    pub(super) fn expr(&mut self, expr: &Expr) {
        if let Some(text) = self.inline(expr)
            && self.column() + text.len() <= WIDTH
        {
            self.out.push_str(&text);
            self.skip_comments_within(expr.span);
            return;
        }
        match &expr.kind {
            ExprKind::List(items) => {
                self.out.push('[');
                self.last_end = expr.span.start + 1;
                self.trailing_before(items.first().map_or(usize::MAX, |item| item.span.start));
                self.newline();
                self.depth += 1;
                for item in items {
                    self.leading(item.span.start, false);
                    self.indent();
                    self.expr(item);
                    self.out.push(',');
                    self.last_end = self.end_after_comma(item.span.end);
                    self.trailing();
                    self.newline();
                }
                self.leading(expr.span.end - 1, false);
                self.depth -= 1;
                self.indent();
                self.out.push(']');
            }
            ExprKind::Map(entries) => {
                self.out.push('{');
                self.last_end = expr.span.start + 1;
                self.trailing_before(entries.first().map_or(usize::MAX, |entry| entry.span.start));
                self.newline();
                self.depth += 1;
                let widths = self.map_alignment(entries);
                for (index, entry) in entries.iter().enumerate() {
                    self.leading(entry.span.start, false);
                    if index > 0 && self.blank_before(entry.span.start) {
                        self.blank_line();
                    }
                    self.indent();
                    let key = self.key_text(entry);
                    self.out.push_str(&key);
                    for _ in key.len()..widths[index] {
                        self.out.push(' ');
                    }
                    self.out.push_str(" = ");
                    self.expr(&entry.value);
                    self.last_end = self.end_after_comma(entry.span.end);
                    self.trailing();
                    self.newline();
                }
                self.leading(expr.span.end - 1, false);
                self.depth -= 1;
                self.indent();
                self.out.push('}');
            }
            ExprKind::Call(call) => {
                self.out.push_str(&call.function.name);
                self.out.push('(');
                self.last_end = call.parens.start + 1;
                self.trailing_before(
                    call.arguments.first().map_or(usize::MAX, |arg| arg.span.start),
                );
                self.newline();
                self.depth += 1;
                for argument in &call.arguments {
                    self.leading(argument.span.start, false);
                    self.indent();
                    if let Some(name) = &argument.name {
                        self.out.push_str(&name.name);
                        self.out.push_str(" = ");
                    }
                    self.expr(&argument.value);
                    self.out.push(',');
                    self.last_end = self.end_after_comma(argument.span.end);
                    self.trailing();
                    self.newline();
                }
                self.leading(expr.span.end - 1, false);
                self.depth -= 1;
                self.indent();
                self.out.push(')');
            }
            // Strings, numbers and references are printed as written.
            _ => {
                self.out.push_str(&self.source[expr.span.range()]);
                self.skip_comments_within(expr.span);
            }
        }
        self.last_end = expr.span.end;
    }

    /// The one-line form of an expression, unless it holds a comment.
    pub(super) fn inline(&self, expr: &Expr) -> Option<String> {
        if self.has_comments(expr.span) && !matches!(expr.kind, ExprKind::String(_)) {
            return None;
        }
        Some(match &expr.kind {
            ExprKind::List(items) => {
                let items: Option<Vec<String>> =
                    items.iter().map(|item| self.inline(item)).collect();
                format!("[{}]", items?.join(", "))
            }
            ExprKind::Map(entries) if entries.is_empty() => "{}".to_owned(),
            ExprKind::Map(entries) => {
                let entries: Option<Vec<String>> = entries
                    .iter()
                    .map(|entry| {
                        self.inline(&entry.value)
                            .map(|value| format!("{} = {value}", self.key_text(entry)))
                    })
                    .collect();
                format!("{{ {} }}", entries?.join(", "))
            }
            ExprKind::Call(call) => {
                let arguments: Option<Vec<String>> = call
                    .arguments
                    .iter()
                    .map(|argument| {
                        let value = self.inline(&argument.value)?;
                        Some(match &argument.name {
                            Some(name) => format!("{} = {value}", name.name),
                            None => value,
                        })
                    })
                    .collect();
                format!("{}({})", call.function.name, arguments?.join(", "))
            }
            _ => {
                let text = &self.source[expr.span.range()];
                if text.contains('\n') {
                    return None;
                }
                text.to_owned()
            }
        })
    }

    pub(super) fn key_text(&self, entry: &MapEntry) -> String {
        self.source[entry.key.span.range()].to_owned()
    }
}
