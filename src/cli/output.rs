//! Writing to standard output and error. A closed pipe (`ferry check | head`) is not an
//! error worth a panic, so write failures are ignored here, in one place.

use std::io::{IsTerminal, Write};

use super::arguments::ColorChoice;
use crate::error::Error;
use crate::render::HumanStyle;
pub(super) use crate::report::Verbosity;

pub(super) fn stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

pub(super) fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Appends `text` to the file at `path` (created when missing), as GitHub's step summary
/// wants; a file that cannot be written is left alone, like a closed pipe.
pub(super) fn append(path: &std::path::Path, text: &str) {
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(text.as_bytes());
    }
}

/// Prints `error` on standard error, its sensitive values masked by `mask`.
pub(super) fn error(error: &Error, mask: &crate::sensitive::Mask) {
    stderr(&mask.text(&error.render(human_style())));
}

/// Prints `error` (nothing in it is sensitive) and returns exit 2: invalid input.
pub(super) fn failed(error: impl Into<Error>) -> super::ExitStatus {
    self::error(&error.into(), &crate::sensitive::Mask::none());
    super::ExitStatus::InvalidInput
}

/// Colour only on a terminal and without `NO_COLOR`; the terminal's width from `COLUMNS`.
/// For reports on standard error.
pub(super) fn human_style() -> HumanStyle {
    style_for(std::io::stderr().is_terminal())
}

/// `--color`, set once when the arguments are read.
static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

pub(super) fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// `-q` / `-v`, set once when the arguments are read.
static VERBOSITY: std::sync::OnceLock<Verbosity> = std::sync::OnceLock::new();

pub(super) fn set_verbosity(quiet: bool, verbose: bool) {
    let _ = VERBOSITY.set(match (quiet, verbose) {
        (true, _) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        (false, false) => Verbosity::Normal,
    });
}

/// How much to print besides a command's result.
pub(super) fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or(Verbosity::Normal)
}

/// Informational lines on standard error (`formatted …`, the local endpoint's banner):
/// not with `-q`.
pub(super) fn note(text: &str) {
    if verbosity() != Verbosity::Quiet {
        stderr(text);
    }
}

/// Whether to colour output that goes to a terminal or not (`terminal`): `--color`, and
/// with `auto` (the default) a terminal without `NO_COLOR`.
pub(super) fn color(terminal: bool) -> bool {
    match COLOR.get().copied().unwrap_or(ColorChoice::Auto) {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// The same for output that goes to a terminal or not (`terminal`).
pub(super) fn style_for(terminal: bool) -> HumanStyle {
    let color = color(terminal);
    let width = if terminal {
        std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100)
    } else {
        80
    };
    HumanStyle { color, width }
}
