//! ferry ships containers to Amazon ECS from a `Deployfile` kept in the repository.
//!
//! The pipeline of the program: the language crate `ferry_lang` (`syntax` text → tree,
//! `check` tree → diagnostics, `eval` values for one environment; re-exported here under the
//! same names) → `engine` (plan, run, verdict). The pure core (the language crate, the
//! engine's plan and verdict) does no I/O; the edges do: `cli`, `repl` and `lsp` (the front
//! ends), `aws`, `docker`, `gates`, `local`. docs/architecture.md has the map.

pub mod aws;
pub mod cli;
pub mod docker;
pub mod engine;
pub(crate) mod error;
pub mod gates;
pub mod local;
pub(crate) mod lsp;
pub(crate) mod regular_file;
pub(crate) mod repl;
pub(crate) mod report;
pub(crate) mod source_file;

pub use cli::run;
pub use ferry_lang::{
    assist, aws_names, check, diagnostic, eval, render, sensitive, suggestion, syntax,
};
