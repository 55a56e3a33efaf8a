//! The run engine: the steps of a pipeline in order, talking to ECS through `aws`, with
//! one event stream that every reporter reads. `revision.rs` and `verdict.rs` are pure.

mod revision;

pub use revision::{RevisionError, RevisionInput, next_revision};
