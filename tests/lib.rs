//! ferry's integration tests: one crate that runs the real binary (`test.rs` builds the
//! runs) and checks the library's promises on generated input.

mod check_cli;
mod compat;
mod diagnostics;
mod editors;
mod fmt_cli;
mod gates;
mod hardening;
mod harness;
mod histories;
mod images;
mod local_api;
mod local_cli;
mod local_docker;
mod local_registry;
mod lsp;
mod moto;
mod plan_cli;
mod properties;
mod registry;
mod repl;
mod revision_roundtrip;
mod run_engine;
mod run_local;
mod scheduler;
mod sensitive;
mod simulate_cli;
mod soak;
mod test;
mod trust;
mod web_pipeline;
