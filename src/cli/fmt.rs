//! `ferry fmt`: rewrite a Deployfile in the canonical layout, or with `--check` show what
//! would change. The file is replaced atomically, and only when the formatter has proven
//! the meaning unchanged.

use std::path::Path;

use similar::TextDiff;

use super::output::{failed, stderr, stdout};
use super::{ExitStatus, FmtArguments};
use crate::error::Error;
use crate::source_file::load;
use crate::syntax::{FormatError, format};

pub(super) fn run(arguments: &FmtArguments) -> ExitStatus {
    let working_dir = std::env::current_dir().unwrap_or_default();
    let source = match load(arguments.file.as_deref(), &working_dir) {
        Ok(source) => source,
        Err(error) => return failed(error),
    };
    let formatted = match format(&source.text) {
        Ok(formatted) => formatted,
        Err(FormatError::Syntax(diagnostics)) => {
            return failed(Error::Deployfile { name: source.name, text: source.text, diagnostics });
        }
        Err(FormatError::Unsafe(reason)) => {
            return failed(Error::Unformattable { name: source.name, reason });
        }
    };
    if formatted == source.text {
        return ExitStatus::Success;
    }
    if arguments.check {
        let diff = TextDiff::from_lines(&source.text, &formatted);
        stdout(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&source.name, &format!("{} (formatted)", source.name))
                .to_string(),
        );
        stderr(&format!("`{}` is not formatted; run `ferry fmt {}`\n", source.name, source.name));
        return ExitStatus::NotFormatted;
    }
    match write_atomically(&source.path, &formatted) {
        Ok(()) => {
            super::output::note(&format!("formatted `{}`\n", source.name));
            ExitStatus::Success
        }
        Err(error) => failed(Error::File {
            action: "write",
            path: source.name.into(),
            reason: format!("{error}; the file was left as it is"),
        }),
    }
}

/// Writes a sibling temporary file and renames it over `path`, so a crash leaves either
/// the old file or the new one, never half of each. Permissions are kept.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.ferry-fmt-{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temporary, metadata.permissions());
    }
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
