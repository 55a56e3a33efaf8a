//! A text written back as a Deployfile string literal: what `ferry` prints where a value
//! is shown as the user would write it (the REPL, plans, messages). The escapes are the
//! grammar's own (`escape` in grammar/deployfile.pest), so the text reads back unchanged.

use std::fmt::Write as _;

/// `text` as a Deployfile string literal, quotes included.
#[must_use]
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            // `${` would start an interpolation.
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quoted;
    use crate::syntax::{ExprKind, parse_expression};

    #[test]
    fn a_quoted_text_reads_back_as_itself() {
        for text in ["plain", "a \"b\" \\ c", "tab\tnew\nline\r\0", "${x} $y", "bell \u{7}", ""] {
            let literal = quoted(text);
            let expr = parse_expression(&literal).expect(&literal);
            let ExprKind::String(string) = expr.kind else { panic!("{literal} is a string") };
            assert_eq!(string.as_plain().as_deref(), Some(text), "{literal}");
        }
        assert_eq!(quoted("a \"b\""), r#""a \"b\"""#);
        assert_eq!(quoted("${x} $y"), r#""\${x} $y""#);
    }
}
