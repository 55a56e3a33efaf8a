//! What the feature tests stand on, and the only place they import helpers from:
//! `test` (the real binary in a temporary git repository with a Deployfile, as just's
//! `Test`), `harness` (in-process runs against the local ECS, with hooks on the event
//! stream), `history_model` (the generator and oracle of the history test and the
//! soak), `available` (whether Docker is here), `moto` and `registry` (moto's server and
//! Debian's docker-registry, started for a test), `http_server` (a server for gates to ask)
//! and `containers` (cleanup of the docker runtime's containers).

pub(crate) mod available;
pub(crate) mod containers;
pub(crate) mod harness;
pub(crate) mod history_model;
pub(crate) mod http_server;
pub(crate) mod moto;
pub(crate) mod registry;
pub(crate) mod test;
