//! ferry's diagnostics as LSP diagnostics: the same code, message, help and severity as
//! `ferry check`; the first label is the range, the others related information. And
//! file paths as `file://` URIs and back.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};

use crate::diagnostic::{Diagnostic, Severity};
use crate::syntax::{LineIndex, Span};

/// One diagnostic of the text `text` (indexed by `index`) at `uri`.
pub(super) fn diagnostic(
    uri: &Uri,
    text: &str,
    index: &LineIndex,
    diagnostic: &Diagnostic,
) -> lsp_types::Diagnostic {
    let range = |span: Span| {
        lsp_types::Range::new(
            super::document::position(index, text, span.start),
            super::document::position(index, text, span.end),
        )
    };
    // The message as `ferry check` prints it; LSP has no field for help, so it follows.
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = diagnostic.labels[1..]
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), range(label.span)),
            message: label.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: range(diagnostic.span()),
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.to_string())),
        code_description: None,
        source: Some("ferry".to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// The file a `file://` URI names (the `url` crate's reading: percent-decoding, and on
/// Windows drive letters and UNC hosts).
pub(super) fn path_of(uri: &Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

/// The `file://` URI of an absolute path.
pub(super) fn uri_of(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(path).ok()?;
    Uri::from_str(url.as_str()).ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{path_of, uri_of};

    #[test]
    fn paths_and_uris() {
        let uri = uri_of(Path::new("/tmp/my gates/ok.rhai")).expect("a uri");
        assert_eq!(uri.as_str(), "file:///tmp/my%20gates/ok.rhai");
        assert_eq!(path_of(&uri).as_deref(), Some(Path::new("/tmp/my gates/ok.rhai")));
        // What editors send: percent-encoded non-ASCII, `#` and `?` in names.
        let odd = Path::new("/srv/dé #1?/Deployfile");
        let uri = uri_of(odd).expect("a uri");
        assert_eq!(uri.as_str(), "file:///srv/d%C3%A9%20%231%3F/Deployfile");
        assert_eq!(path_of(&uri).as_deref(), Some(odd));
        // Not a file URI, or a relative path: none.
        let web =
            <lsp_types::Uri as std::str::FromStr>::from_str("https://example.com/x").expect("uri");
        assert_eq!(path_of(&web), None);
        assert!(uri_of(Path::new("relative/Deployfile")).is_none());
    }
}
