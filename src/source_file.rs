//! Finding and reading a Deployfile: the lookup from the working directory upward, and a
//! clear error for a missing, unreadable, binary, empty or huge file.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::Span;

/// The name looked up when no file is given.
pub(crate) const DEFAULT_NAME: &str = "Deployfile";

/// The largest Deployfile ferry reads. A generated 10,000-line file is about 300 KiB.
pub const MAX_SIZE: u64 = 16 * 1024 * 1024;

/// A Deployfile read into memory.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    pub path: PathBuf,
    /// The path as shown in messages (as given, or relative to the working directory).
    pub name: String,
    pub text: String,
}

/// A file that could not be read as a Deployfile: the diagnostic, and the text to show
/// it against (empty when there is none).
#[derive(Debug)]
pub(crate) struct InputError {
    pub name: String,
    pub text: String,
    pub diagnostic: Diagnostic,
}

impl InputError {
    fn plain(name: &str, code: Code, message: String, help: String) -> Self {
        Self {
            name: name.to_owned(),
            text: String::new(),
            diagnostic: Diagnostic::new(code, Span::at(0), message).with_help(help),
        }
    }
}

/// Reads `given`, or finds `Deployfile` from `working_dir` upward.
pub(crate) fn load(given: Option<&Path>, working_dir: &Path) -> Result<SourceFile, InputError> {
    let (path, name) = if let Some(path) = given {
        (path.to_path_buf(), path.display().to_string())
    } else {
        let found = find(working_dir).ok_or_else(|| {
            InputError::plain(
                DEFAULT_NAME,
                Code::FileNotFound,
                format!(
                    "no `{DEFAULT_NAME}` in `{}` or any directory above it",
                    working_dir.display()
                ),
                "name the file: `ferry check pipelines/web.deploy`".to_owned(),
            )
        })?;
        let name = found
            .strip_prefix(working_dir)
            .map_or_else(|_| found.display().to_string(), |p| p.display().to_string());
        (found, name)
    };
    read(&path, &name)
}

/// The nearest `Deployfile` in `dir` or a directory above it.
#[must_use]
pub(crate) fn find(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().map(|d| d.join(DEFAULT_NAME)).find(|candidate| candidate.is_file())
}

fn read(path: &Path, name: &str) -> Result<SourceFile, InputError> {
    use crate::regular_file::FileProblem;
    let unreadable = |error: &dyn std::fmt::Display| {
        InputError::plain(
            name,
            Code::Unreadable,
            format!("cannot read `{name}`: {error}"),
            "check that the path names a file ferry may read".to_owned(),
        )
    };
    let bytes =
        crate::regular_file::read_bytes(path, MAX_SIZE).map_err(|problem| match problem {
            FileProblem::NotFound => InputError::plain(
                name,
                Code::FileNotFound,
                format!("`{name}` does not exist"),
                "check the path; without one, ferry looks for `Deployfile` from here upward"
                    .to_owned(),
            ),
            FileProblem::NotRegular("a directory") => InputError::plain(
                name,
                Code::IsDirectory,
                format!("`{name}` is a directory"),
                format!(
                    "name the Deployfile inside it, such as `{}`",
                    Path::new(name).join(DEFAULT_NAME).display()
                ),
            ),
            FileProblem::NotRegular(kind) => InputError::plain(
                name,
                Code::NotRegularFile,
                format!("`{name}` is {kind}, not a regular file"),
                "ferry reads a Deployfile from a file; write it to one first".to_owned(),
            ),
            FileProblem::TooLarge { cap } => InputError::plain(
                name,
                Code::FileTooLarge,
                format!("`{name}` is larger than the {cap} bytes a Deployfile may have"),
                "a Deployfile describes one pipeline; is this the right file?".to_owned(),
            ),
            FileProblem::NotUtf8 => unreadable(&"it is not UTF-8"),
            FileProblem::Io(error) => unreadable(&error),
        })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let bytes = error.into_bytes();
        // Show the text up to the bad byte, then a replacement character in its place.
        let mut shown = String::from_utf8_lossy(&bytes[..offset]).into_owned();
        shown.push(char::REPLACEMENT_CHARACTER);
        InputError {
            name: name.to_owned(),
            diagnostic: Diagnostic::new(
                Code::NotUtf8,
                Span::new(offset, offset + char::REPLACEMENT_CHARACTER.len_utf8()),
                format!("`{name}` is not UTF-8 text"),
            )
            .with_label(format!("byte {offset} is not valid UTF-8"))
            .with_help("save the file as UTF-8"),
            text: shown,
        }
    })?;
    if text.trim().is_empty() {
        return Err(InputError::plain(
            name,
            Code::EmptyFile,
            format!("`{name}` is empty"),
            "write at least one step; `pipelines/minimal.deploy` is the smallest useful example"
                .to_owned(),
        ));
    }
    Ok(SourceFile { path: path.to_path_buf(), name: name.to_owned(), text })
}
