//! Why the local ECS cannot start, load or save: its files (state, lock, fault file), its
//! port, and the Docker engine of its docker runtime — each naming the file or setting.

use std::path::PathBuf;

use crate::docker::DockerError;

/// A failure of the local ECS outside a request (requests answer with AWS's errors).
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot read {what} `{}`: {reason}", path.display())]
    Read { what: &'static str, path: PathBuf, reason: String },
    #[error("state file `{}` is not a ferry local state: {reason}", path.display())]
    NotAState { path: PathBuf, reason: String },
    #[error("cannot write state file `{}`: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("fault file `{}`: {reason}", path.display())]
    Faults { path: PathBuf, reason: FaultError },
    #[error("cannot {action} the lock `{}`: {reason}", path.display())]
    Lock { action: &'static str, path: PathBuf, reason: String },
    #[error(
        "the local state `{}` is in use by another ferry process{}; wait for it to finish, \
         or give this one another `--state`",
        state.display(),
        pid.map_or_else(String::new, |pid| format!(" (pid {pid})"))
    )]
    InUse { state: PathBuf, pid: Option<u32> },
    #[error("cannot listen on 127.0.0.1:{port}: {reason}")]
    Listen { port: u16, reason: String },
    #[error("`--runtime docker` runs real containers in real time: leave `--speed` at 1")]
    DockerNotRealTime,
    #[error("`--runtime docker` needs the Docker engine: {0}")]
    NoDockerEngine(DockerError),
    /// The docker runtime's containers could not be listed, adopted or removed.
    #[error(transparent)]
    Docker(#[from] DockerError),
}

/// What is wrong inside a fault file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// Not JSON, or not the fault file's shape: serde's words, with line and column.
    #[error("{0}")]
    Shape(String),
    #[error("`api.{name}` is a share from 0 to 1, found {share}")]
    NotAShare { name: &'static str, share: f64 },
}
