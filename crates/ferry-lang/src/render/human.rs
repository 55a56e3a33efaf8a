//! Diagnostics for people: one miette report that holds the source once, with every
//! diagnostic as a related report, sorted by position.

use std::fmt::{self, Write as _};

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::indexed_source::IndexedSource;

use crate::diagnostic::{Diagnostic, Severity};

/// How the human report looks.
#[derive(Clone, Copy, Debug)]
pub struct HumanStyle {
    pub color: bool,
    pub width: usize,
}

impl HumanStyle {
    /// No colour at 80 columns: what tests and pipes see.
    #[must_use]
    pub const fn plain() -> Self {
        Self { color: false, width: 80 }
    }
}

struct Report<'a, S> {
    source: S,
    diagnostics: &'a [Diagnostic],
    summary: String,
}

impl<S> fmt::Debug for Report<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)
    }
}

impl<S> fmt::Display for Report<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)
    }
}

impl<S> std::error::Error for Report<'_, S> {}

impl<S: miette::SourceCode> miette::Diagnostic for Report<'_, S> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.diagnostics.iter().any(Diagnostic::is_error) {
            miette::Severity::Error
        } else {
            miette::Severity::Warning
        })
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(self.diagnostics.iter().map(|d| d as &dyn miette::Diagnostic)))
    }
}

/// "2 errors and 1 warning in `Deployfile`".
#[must_use]
pub fn summary(name: &str, diagnostics: &[Diagnostic]) -> String {
    let count = |severity| diagnostics.iter().filter(|d| d.severity == severity).count();
    let plural =
        |n: usize, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let counts = match (errors, warnings) {
        (0, 0) => "no problems".to_owned(),
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{} and {}", plural(e, "error"), plural(w, "warning")),
    };
    format!("{counts} in `{name}`")
}

/// Renders `diagnostics` against the text of `name`.
#[must_use]
pub fn human_report(
    name: &str,
    text: &str,
    diagnostics: &[Diagnostic],
    style: HumanStyle,
) -> String {
    if !framable(text, diagnostics) {
        return frameless(name, text, diagnostics);
    }
    framed(IndexedSource::new(name, text), name, diagnostics, style)
}

/// The miette report of `diagnostics` over `source`.
fn framed<S: miette::SourceCode>(
    source: S,
    name: &str,
    diagnostics: &[Diagnostic],
    style: HumanStyle,
) -> String {
    let theme =
        if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(style.width).with_links(false);
    let report = Report { source, diagnostics, summary: summary(name, diagnostics) };
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail short of a bug in miette; fall back to plain lines.
        out.clear();
        for d in diagnostics {
            let _ = writeln!(out, "{}: {} [{}]", d.severity.as_str(), d.message, d.code);
        }
    }
    out
}

/// Lines longer than this (in characters) are not drawn under a frame: miette pads with
/// `format!` widths, which cannot pass 65,535, and a wide character takes two columns.
const MAX_FRAMED_LINE: usize = 30_000;

/// Whether every span falls inside the text, on a line short enough to draw.
fn framable(text: &str, diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().flat_map(|d| d.labels.iter()).all(|label| {
        let (start, end) = (label.span.start, label.span.end);
        if start > end
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            return false;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        text[line_start..line_end].chars().count() <= MAX_FRAMED_LINE
    })
}

/// The report without source frames: each diagnostic with its code, message, place
/// (`name:line:column`, columns in characters), labels and help.
fn frameless(name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let place = |offset: usize| {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{name}:{line}:{column}")
    };
    let mut out = format!("  {} (lines too long to show)\n", summary(name, diagnostics));
    for d in diagnostics {
        let kind = if d.is_error() { "Error" } else { "Warning" };
        let _ = writeln!(out, "\n{kind}: {}\n\n  {}", d.code, d.message);
        for (i, label) in d.labels.iter().enumerate() {
            let what = if i == 0 { "at" } else { "see" };
            let _ = writeln!(out, "  {what} {}: {}", place(label.span.start), label.message);
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Code, Diagnostic};
    use crate::syntax::Span;

    /// The indexed source draws what miette's own source draws, on LF, CRLF and lone-CR
    /// text, with errors on the first and last lines and spans over several lines.
    #[test]
    fn the_indexed_source_renders_as_miette_does() {
        let mut text = String::from("defaults {\n  regoin = \"x\"\n}\n");
        for i in 0..40 {
            let _ = write!(
                text,
                "build b{i} {{\n  platfrom = \"x\"\n}}\n\ntag b{i} {{ tags = [\"-{i}\"] }}\n\n"
            );
        }
        text.push_str("update web { task_definition = nope, desired = \"3\" }");
        for variant in [text.clone(), text.replace('\n', "\r\n"), text.replace('\n', "\r")] {
            let diagnostics = crate::check::check_source(&variant).diagnostics;
            // A lone `\r` is no line break to the grammar: one syntax error there.
            assert!(variant.contains("\r ") || diagnostics.len() > 40, "{}", diagnostics.len());
            for style in [HumanStyle::plain(), HumanStyle { color: true, width: 120 }] {
                let ours = framed(IndexedSource::new("f", &variant), "f", &diagnostics, style);
                let theirs = framed(
                    miette::NamedSource::new("f", variant.clone()),
                    "f",
                    &diagnostics,
                    style,
                );
                assert_eq!(ours, theirs);
            }
        }
    }

    #[test]
    fn a_very_long_line_is_reported_without_its_frame() {
        let text = format!("build app {{ args = {{ A = \"{}\" }} }} @\n", "x".repeat(70_000));
        let at = text.find('@').expect("@");
        let diagnostic =
            Diagnostic::new(Code::UnexpectedToken, Span::new(at, at + 1), "unexpected `@`")
                .with_label("here")
                .with_help("remove it");
        let out = human_report("Deployfile", &text, &[diagnostic], HumanStyle::plain());
        assert!(out.contains("Error: ferry::syntax::unexpected_token"), "{out}");
        assert!(out.contains("at Deployfile:1:70033: here"), "{out}");
        assert!(out.contains("help: remove it"), "{out}");
        // Wide characters count twice on screen.
        let wide = format!("{}@", "中".repeat(31_000));
        let at = wide.find('@').expect("@");
        let diagnostic =
            Diagnostic::new(Code::UnexpectedToken, Span::new(at, at + 1), "unexpected");
        assert!(
            human_report("f", &wide, &[diagnostic], HumanStyle::plain()).contains("at f:1:31001")
        );
        // A span past the text's end or inside a character is not drawn either.
        let diagnostic = Diagnostic::new(Code::UnexpectedToken, Span::new(5, 99), "beyond");
        assert!(
            human_report("f", "short", &[diagnostic], HumanStyle::plain()).contains("at f:1:6")
        );
        let diagnostic = Diagnostic::new(Code::UnexpectedToken, Span::new(1, 2), "inside");
        assert!(human_report("f", "中", &[diagnostic], HumanStyle::plain()).contains("inside"));
    }
}
