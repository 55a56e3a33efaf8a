//! Gathering what evaluation reads from outside the Deployfile: the git commit of the
//! Deployfile's directory (through the `git` command) and the process environment.

use std::path::Path;
use std::process::Command;

use crate::eval::{GitInfo, Workspace};

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The commit `dir` is on, or `None` outside a work tree (or without git).
#[must_use]
pub(super) fn git_info(dir: &Path) -> Option<GitInfo> {
    let sha = git(dir, &["rev-parse", "HEAD"])?;
    let branch = git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]).unwrap_or_default();
    let dirty =
        git(dir, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(GitInfo { sha, branch, dirty })
}

/// The workspace of a Deployfile at `path`.
#[must_use]
pub(super) fn gather(path: &Path) -> Workspace {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Workspace { git: git_info(dir), env_vars: std::env::vars().collect() }
}
