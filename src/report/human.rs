//! Diagnostics for people: one miette report that holds the source once, with every
//! diagnostic as a related report, sorted by position.

use std::fmt::{self, Write as _};

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};

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

struct Report<'a> {
    source: NamedSource<String>,
    diagnostics: &'a [Diagnostic],
    summary: String,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
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
    let theme =
        if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(style.width).with_links(false);
    let report = Report {
        source: NamedSource::new(name, text.to_owned()),
        diagnostics,
        summary: summary(name, diagnostics),
    };
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
