//! ferry's diagnostics as LSP diagnostics: the same code, message, help and severity as
//! `ferry check`; the first label is the range, the others related information. And
//! file paths as `file://` URIs and back.

use std::fmt::Write as _;
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

/// The file a `file://` URI names.
pub(super) fn path_of(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = rest.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            decoded.push(byte);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(decoded).ok().map(PathBuf::from)
}

/// The `file://` URI of an absolute path.
pub(super) fn uri_of(path: &Path) -> Option<Uri> {
    let mut text = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            text.push(char::from(byte));
        } else {
            let _ = write!(text, "%{byte:02X}");
        }
    }
    Uri::from_str(&text).ok()
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
    }
}
