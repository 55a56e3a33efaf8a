//! ferry ships containers to Amazon ECS from a `Deployfile` kept in the repository.
//!
//! The pipeline of the program: `syntax` (text → tree) → `check` (tree → diagnostics and a
//! checked model) → later phases. The pure core (`syntax`, `check`) does no I/O; the
//! `cli` edge reads files and prints.

pub mod assist;
pub mod aws;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod docker;
pub mod engine;
pub mod eval;
pub mod gates;
pub mod local;
pub mod lsp;
pub mod repl;
pub mod report;
pub mod suggestion;
pub mod syntax;

pub use cli::run;
