//! Diagnostics as GitHub Actions workflow commands, which GitHub shows as annotations
//! on the pull request's diff.

use std::fmt::Write as _;

use crate::diagnostic::{Diagnostic, Severity};
use crate::syntax::LineIndex;

/// One `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE::MESSAGE` line per
/// diagnostic; help follows the message after a line break.
#[must_use]
pub fn github_annotations(name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let index = LineIndex::new(text);
    let mut out = String::new();
    for d in diagnostics {
        let start = index.line_column(text, d.span().start);
        let end = index.line_column(text, d.span().end);
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        if !d.labels[0].message.is_empty() {
            let _ = write!(message, ": {}", d.labels[0].message);
        }
        if let Some(help) = &d.help {
            let _ = write!(message, "\nhelp: {help}");
        }
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            property(name),
            start.line,
            start.column,
            end.line,
            end.column,
            property(d.code.as_str()),
            data(&message)
        );
    }
    out
}

/// Escapes a message as the workflow-command syntax requires (`%`, CR and LF).
#[must_use]
pub fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value: as `data`, plus `:` and `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;
    use crate::syntax::Span;

    #[test]
    fn escapes_and_positions() {
        let text = "defaults {\n  regio = 1\n}\n";
        let diagnostic =
            Diagnostic::new(Code::UnknownField, Span::new(13, 18), "no field `regio`, 100%")
                .with_label("unknown")
                .with_help("did you mean `region`?");
        let out = github_annotations("a,b.deploy", text, &[diagnostic]);
        assert_eq!(
            out,
            "::error file=a%2Cb.deploy,line=2,col=3,endLine=2,endColumn=8,\
             title=ferry%3A%3Acheck%3A%3Aunknown_field::no field `regio`, 100%25: unknown%0Ahelp: \
             did you mean `region`?\n"
        );
    }
}
