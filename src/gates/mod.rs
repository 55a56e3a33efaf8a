//! Health gates: checks the team writes, run during `verify` while the rollout serves
//! and through `bake`; a failing gate fails the deployment (docs/gates.md).
//!
//! - `sandbox.rs`: the one function that builds the rhai engine, with every limit;
//! - `host/`: the host functions by namespace (`http`, `json`, `ecs`, `log`, `time`), each
//!   given its capability;
//! - `script.rs`: a gate script compiled and checked (`ferry check`), and run once;
//! - `contract.rs`: what a gate is given (`ctx`) and what it answers;
//! - `http_gate.rs`: the built-in `http(url)` gate;
//! - `policy.rs`: the hosts and addresses gates may reach; `network.rs` (the HTTP client,
//!   an edge) applies it to every request, every redirect it follows (`redirect.rs`) and
//!   every address, through the environment's proxies (`proxy.rs`);
//! - `schedule.rs`: `every`, `pass`, `within` — when gates run and when they decide.

pub(crate) mod contract;
pub(crate) mod host;
pub mod http_gate;
pub mod network;
pub(crate) mod policy;
pub(crate) mod proxy;
pub(crate) mod redirect;
pub(crate) mod sandbox;
pub(crate) mod schedule;
pub(crate) mod script;
pub mod stdlib;

pub use contract::{GateContext, NotAnOutcome, Outcome, TaskInfo};
pub use host::{Capabilities, HttpAnswer, HttpClient, HttpFailure, HttpRequest, LogLine};
pub use policy::Policy;
pub use sandbox::Limits;
pub use script::{GateScript, ScriptError};
pub(crate) use stdlib::{check_scripts, missing_scripts};
