//! What the feature tests stand on, and the only place they import helpers from:
//! `test` (the real binary in a temporary git repository with a Deployfile, as just's
//! `Test`), `local_ecs` (the one way to start the local ECS for a test: fault file, clock,
//! speed, capacity, registry, state file, port, docker runtime, SDK clients), `wire` (the
//! one raw JSON 1.1 client), `lsp_client` (a language client of `ferry lsp` over stdio),
//! `harness` (in-process runs against the local ECS, with hooks on the event stream),
//! `web_service` (service `web` as the trust tests deploy it), `history_model` (the
//! generator and oracle of the history test and the soak), `available` (whether Docker is
//! here), `moto` and `registry` (moto's server and Debian's docker-registry, started for a
//! test), `http_server` (a server for gates to ask), `load_balancer` (a load balancer, target
//! group and listener), `blue_green` (the two groups and two listener rules of a blue/green
//! service), `staged` (service `web` under a staged strategy: its
//! Deployfile, history and weights), `scheduling` (the scheduler driven directly, tasks
//! from a fault file), `containers` (cleanup of the docker runtime's containers) and `tmux` (a real
//! pseudo-terminal).

pub(crate) mod available;
pub(crate) mod blue_green;
pub(crate) mod containers;
pub(crate) mod harness;
pub(crate) mod history_model;
pub(crate) mod http_server;
pub(crate) mod load_balancer;
pub(crate) mod local_ecs;
pub(crate) mod lsp_client;
pub(crate) mod moto;
pub(crate) mod registry;
pub(crate) mod scheduling;
pub(crate) mod staged;
pub(crate) mod test;
pub(crate) mod tmux;
pub(crate) mod web_service;
pub(crate) mod wire;
