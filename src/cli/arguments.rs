//! What the user typed: clap's view of the command line, before any validation.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Ship containers to Amazon ECS from a Deployfile.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Arguments {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check a Deployfile; report every error at once.
    Check(CheckArguments),
    /// Rewrite a Deployfile in the canonical layout, comments kept.
    Fmt(FmtArguments),
}

#[derive(Debug, clap::Args)]
pub struct CheckArguments {
    /// The Deployfile (default: `Deployfile`, looked up from the working directory upward).
    pub file: Option<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 2) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, clap::Args)]
pub struct FmtArguments {
    /// The Deployfile (default: `Deployfile`, looked up from the working directory upward).
    pub file: Option<PathBuf>,
    /// Change nothing; exit 1 and show the difference when the file is not formatted.
    #[arg(long)]
    pub check: bool,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Rendered reports with the source, on standard error.
    Human,
    /// A JSON array of diagnostics, on standard output.
    Json,
    /// GitHub Actions workflow commands (`::error file=…`), on standard output.
    Github,
}
