//! ferry ships containers to Amazon ECS from a `Deployfile` kept in the repository.
//!
//! The pipeline of the program: `syntax` (text → tree) → `check` (tree → diagnostics) →
//! `eval` (values for one environment) → `engine` (plan, run, verdict). The pure core
//! (`syntax`, `check`, `eval`, `assist`, the engine's plan and verdict) does no I/O; the
//! edges do: `cli`, `repl` and `lsp` (the front ends), `aws`, `docker`, `gates`, `local`.
//! docs/architecture.md has the map.

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
pub mod regular_file;
pub mod repl;
pub mod report;
pub mod sensitive;
pub mod suggestion;
pub mod syntax;

pub use cli::run;
