//! Diagnostics as JSON: an array with one object per diagnostic (docs/cli.md).

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::syntax::LineIndex;

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    label: &'a str,
    help: Option<&'a str>,
    related: Vec<JsonRelated<'a>>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    message: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

/// The JSON array for `diagnostics` of file `name` with text `text`. Lines and columns
/// are 1-based; columns count characters.
#[must_use]
pub fn json_diagnostics(name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    json_files(&[(name, text, diagnostics)])
}

/// One JSON array for the diagnostics of several files: `(name, text, diagnostics)`.
#[must_use]
pub fn json_files(files: &[(&str, &str, &[Diagnostic])]) -> String {
    let items: Vec<JsonDiagnostic<'_>> =
        files.iter().flat_map(|(name, text, diagnostics)| items(name, text, diagnostics)).collect();
    let mut out = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
    out.push('\n');
    out
}

fn items<'a>(
    name: &'a str,
    text: &'a str,
    diagnostics: &'a [Diagnostic],
) -> Vec<JsonDiagnostic<'a>> {
    let index = LineIndex::new(text);
    diagnostics
        .iter()
        .map(|d| {
            let span = d.span();
            let start = index.line_column(text, span.start);
            let end = index.line_column(text, span.end);
            JsonDiagnostic {
                code: d.code.as_str(),
                severity: d.severity.as_str(),
                message: &d.message,
                file: name,
                line: start.line,
                column: start.column,
                end_line: end.line,
                end_column: end.column,
                label: &d.labels[0].message,
                help: d.help.as_deref(),
                related: d.labels[1..]
                    .iter()
                    .map(|label| {
                        let start = index.line_column(text, label.span.start);
                        let end = index.line_column(text, label.span.end);
                        JsonRelated {
                            message: &label.message,
                            line: start.line,
                            column: start.column,
                            end_line: end.line,
                            end_column: end.column,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}
