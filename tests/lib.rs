//! ferry's integration tests: one crate that runs the real binary and checks the
//! library's promises on generated input. `support/` holds everything the feature tests
//! stand on; a feature file imports helpers from there only.

mod support;

mod aws_errors;
mod check_cli;
mod cli_conventions;
mod compat;
mod contract;
mod diagnostics;
mod dockerignore;
mod editors;
mod fmt_cli;
mod gates;
mod github_action;
mod hardening;
mod histories;
mod images;
mod local_api;
mod local_api_ecr;
mod local_api_state;
mod local_api_wire;
mod local_cli;
mod local_docker;
mod local_registry;
mod lsp;
mod lsp_requests;
mod plan_cli;
mod properties;
mod repl;
mod revision_roundtrip;
mod run_engine;
mod run_local;
mod scheduler;
mod scheduler_strategies;
mod scheduler_traffic;
mod sensitive;
mod simulate_cli;
mod soak;
mod strategies;
mod traffic;
mod traffic_docker;
mod trust;
mod trust_lost_answers;
mod trust_other_clients;
mod trust_rollback;
mod trust_steps;
mod trust_strategies;
mod trust_traffic;
mod web_pipeline;
