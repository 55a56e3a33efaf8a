//! What evaluation reads from outside the Deployfile, gathered at the edge and passed in:
//! the git commit and the process environment. Evaluation itself does no I/O.

use std::collections::BTreeMap;

/// The commit the work tree is on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GitInfo {
    /// The full SHA of HEAD.
    pub sha: String,
    /// The checked-out branch; empty when HEAD is detached.
    pub branch: String,
    /// Whether tracked files differ from HEAD.
    pub dirty: bool,
}

/// The marker a dirty work tree's version carries, so it is never taken for the commit.
pub const DIRTY_MARKER: &str = "-dirty";

impl GitInfo {
    /// `git.sha`: the SHA, with `-dirty` when the tree has changes.
    #[must_use]
    pub fn version(&self) -> String {
        if self.dirty { format!("{}{DIRTY_MARKER}", self.sha) } else { self.sha.clone() }
    }

    /// `git.short_sha`: the first 12 characters, with `-dirty` when the tree has changes.
    #[must_use]
    pub fn short_version(&self) -> String {
        let short: String = self.sha.chars().take(12).collect();
        if self.dirty { format!("{short}{DIRTY_MARKER}") } else { short }
    }
}

/// Everything evaluation may read besides the Deployfile.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// None when the Deployfile is not in a git work tree (or git is missing).
    pub git: Option<GitInfo>,
    /// The environment variables `env("X")` reads.
    pub env_vars: BTreeMap<String, String>,
}
