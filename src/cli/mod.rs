//! The command line.
use std::process::ExitCode;
pub fn run<I, T>(_args: I) -> ExitCode where I: IntoIterator<Item = T>, T: Into<std::ffi::OsString> + Clone { ExitCode::SUCCESS }
