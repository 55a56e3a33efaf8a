//! The Deployfile language of ferry, with no I/O: `syntax` (text → tree) → `check` (tree →
//! diagnostics) → `eval` (values for one environment); `assist` answers completion for the
//! REPL and the editor; `render` shows diagnostics to people (miette), tools (JSON) and
//! GitHub Actions. The `ferry` crate holds the effects and the front ends
//! (docs/architecture.md has the map).

pub mod assist;
pub mod aws_names;
pub mod check;
pub mod diagnostic;
pub mod eval;
pub mod render;
pub mod sensitive;
pub mod suggestion;
pub mod syntax;
