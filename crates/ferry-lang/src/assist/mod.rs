//! Help while typing, for the REPL and the language server: what may come at a place in
//! Deployfile text (completion). Pure: it reads the text, the schema and the names the
//! caller knows (steps, environments, variables, gate scripts found on disk).

mod completion;
mod context;

pub use completion::{Candidate, CandidateKind, Completion, Known, complete, complete_at};
pub use context::{Frame, Place, PlaceAt, place_at};
