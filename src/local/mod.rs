//! The local ECS: a rolling-update scheduler that follows ECS's documented rules, the
//! virtual task runtime with its fault file, and (next) the AWS JSON 1.1 server around
//! them. docs/local.md describes the behaviour and every choice ECS leaves open.

pub mod behaviour;
pub mod deployment;
pub mod ids;
pub mod scheduler;
pub mod simulation;
pub mod task;
