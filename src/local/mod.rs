//! The local ECS: a rolling-update scheduler that follows ECS's documented rules, the
//! virtual task runtime with its fault file, and an AWS JSON 1.1 server around them that
//! the real SDKs (and the AWS CLI, and other deploy tools) talk to. docs/local.md
//! describes the behaviour and every choice ECS leaves open.

pub(crate) mod api_error;
pub mod behaviour;
pub mod clock;
pub mod containers;
pub mod deployment;
pub mod ecr;
mod ecr_images;
mod ecs_clusters;
mod ecs_lists;
mod ecs_service_deployments;
mod ecs_services;
mod ecs_tags;
mod ecs_task_definitions;
mod ecs_tasks;
mod elbv2;
mod elbv2_targets;
pub mod ids;
mod local_error;
pub mod model;
mod registry_client;
pub(crate) mod request;
mod routes;
pub mod scheduler;
pub(crate) mod server;
pub mod simulation;
pub(crate) mod state;
mod sts;
pub mod target_health;
pub mod task;
mod traffic;

pub use local_error::{FaultError, LocalError};
pub use server::{LocalEcs, LocalOptions, Runtime};
