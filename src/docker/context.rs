//! The build context as a tar stream, as `docker build` sends it: docker-cli's walk of the
//! context directory (moby/go-archive `TarWithOptions`), leaving out what `.dockerignore`
//! excludes by Docker's own rules (`ignore.rs`), and sending the Dockerfile and
//! `.dockerignore` even when they are excluded (docker-cli `TrimBuildFilesFromExcludes`).

use std::io;
use std::path::{Path, PathBuf};

use super::ignore::{IgnoreError, ParentMatches, Patterns};
use crate::regular_file::{FileProblem, read_text};

/// The patterns of `.dockerignore` in `dir`: none without one; a file that cannot be read,
/// or a pattern Docker refuses, is an error (as it is for `docker build`).
fn ignore_patterns(dir: &Path) -> io::Result<Patterns> {
    match read_text(&dir.join(".dockerignore"), 1024 * 1024) {
        Ok(text) => Patterns::parse(&text).map_err(|error| invalid(&error)),
        Err(FileProblem::NotFound) => Ok(Patterns::default()),
        Err(problem) => Err(io::Error::other(format!("cannot read `.dockerignore`: {problem}"))),
    }
}

fn invalid(error: &IgnoreError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}

/// A directory of the context being listed.
struct Listing {
    /// Its path in the archive and as the patterns see it (`/`-separated); `None` for the
    /// context itself.
    relative: Option<(PathBuf, String)>,
    /// The patterns' verdicts on it, for its entries.
    verdicts: Option<ParentMatches>,
    /// Its entries not yet visited, the first last.
    entries: Vec<std::fs::DirEntry>,
}

impl Listing {
    fn read(
        path: &Path,
        relative: Option<(PathBuf, String)>,
        verdicts: Option<ParentMatches>,
    ) -> io::Result<Self> {
        let failed = |e: io::Error| io::Error::new(e.kind(), format!("`{}`: {e}", path.display()));
        let mut entries: Vec<_> =
            std::fs::read_dir(path).map_err(failed)?.collect::<Result<_, _>>().map_err(failed)?;
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.file_name()));
        Ok(Self { relative, verdicts, entries })
    }
}

/// The context directory as a tar archive, paths relative to it, as docker-cli makes it for
/// the classic builder: the directory is walked in name order; an entry the patterns exclude
/// is left out, and an excluded directory is not walked unless an exception (`!…`) could
/// re-include something in it, and then only what is re-included goes in (without an entry
/// for the directory itself, which the engine creates). Only listed entries are read.
/// Symlinks are kept as links; regular files and directories keep their modes; other kinds
/// (sockets, pipes, devices) are left out.
pub fn context_tar(dir: &Path, dockerfile: &str) -> io::Result<Vec<u8>> {
    let patterns =
        ignore_patterns(dir)?.keeping_build_files(dockerfile).map_err(|error| invalid(&error))?;
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack = vec![Listing::read(dir, None, None)?];
    while let Some(listing) = stack.last_mut() {
        let Some(entry) = listing.entries.pop() else {
            stack.pop();
            continue;
        };
        let name = entry.file_name();
        let (archived, matched) = match &listing.relative {
            Some((archived, matched)) => {
                (archived.join(&name), format!("{matched}/{}", name.to_string_lossy()))
            }
            None => (PathBuf::from(&name), name.to_string_lossy().into_owned()),
        };
        let (excluded, verdicts) = patterns.matches_in_walk(&matched, listing.verdicts.as_ref());
        let path = entry.path();
        let failed = |e: io::Error| io::Error::new(e.kind(), format!("`{matched}`: {e}"));
        let kind = entry.file_type().map_err(failed)?;
        if kind.is_dir() {
            if !excluded {
                builder.append_dir(&archived, &path).map_err(failed)?;
            }
            if !excluded || patterns.may_include_below(&matched) {
                let below = Listing::read(&path, Some((archived, matched)), Some(verdicts))?;
                stack.push(below);
            }
        } else if !excluded && (kind.is_file() || kind.is_symlink()) {
            builder.append_path_with_name(&path, &archived).map_err(failed)?;
        }
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context of `files` (a name ending in `/` is a directory, `name -> target` a symlink).
    fn context(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in files {
            let path = dir.path().join(file.split(" -> ").next().unwrap_or(file));
            let parent: &Path =
                if file.ends_with('/') { &path } else { path.parent().expect("parent") };
            std::fs::create_dir_all(parent).expect("mkdir");
            if let Some((_, target)) = file.split_once(" -> ") {
                std::os::unix::fs::symlink(target, &path).expect("symlink");
            } else if !file.ends_with('/') {
                std::fs::write(&path, file).expect("write");
            }
        }
        dir
    }

    /// The entries of a tar archive, sorted: `d name/`, `f name`, `l name -> target`.
    fn listing(bytes: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(bytes);
        let mut names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|entry| {
                let entry = entry.expect("entry");
                let path = entry.path().expect("path").to_string_lossy().into_owned();
                match entry.header().entry_type() {
                    tar::EntryType::Directory => format!("d {}/", path.trim_end_matches('/')),
                    tar::EntryType::Symlink => {
                        let target = entry.link_name().expect("link").expect("target");
                        format!("l {path} -> {}", target.display())
                    }
                    _ => format!("f {path}"),
                }
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_tar_leaves_out_ignored_files() {
        let dir = context(&["Dockerfile", "app.txt", "secret.txt", "logs/x.log"]);
        std::fs::write(dir.path().join(".dockerignore"), "secret.txt\nlogs\n").expect("write");
        let bytes = context_tar(dir.path(), "Dockerfile").expect("tar");
        assert_eq!(listing(&bytes), ["f .dockerignore", "f Dockerfile", "f app.txt"]);
    }

    /// What `is_ignored` was asked before the walker followed Docker's rules, now asked of
    /// the tar: the same answers.
    #[test]
    fn dockerignore_rules() {
        let dir = context(&[
            "Dockerfile",
            "target/debug/x",
            "src/main.rs",
            "a/b/c.log",
            "c.log",
            "docs/a.md",
            "docs/keep.md",
            "docs/sub/a.md",
        ]);
        std::fs::write(
            dir.path().join(".dockerignore"),
            "target\n**/*.log\ndocs/*.md\n!docs/keep.md\n",
        )
        .expect("write");
        let bytes = context_tar(dir.path(), "Dockerfile").expect("tar");
        assert_eq!(
            listing(&bytes),
            [
                "d a/",
                "d a/b/",
                "d docs/",
                "d docs/sub/",
                "d src/",
                "f .dockerignore",
                "f Dockerfile",
                "f docs/keep.md",
                "f docs/sub/a.md",
                "f src/main.rs",
            ]
        );
    }

    /// `logs` then `!logs/keep.txt`: Docker walks into `logs` for `keep.txt` alone (this
    /// failed the build before, the file missing); a `.dockerignore` and a Dockerfile that are
    /// excluded are sent all the same, the Dockerfile's directory walked for it.
    #[test]
    fn exceptions_re_include_below_excluded_directories() {
        let dir = context(&[
            "docker/Dockerfile",
            "docker/other",
            "logs/keep.txt",
            "logs/today.log",
            "docs/guide/intro.md",
            "docs/guide/other.md",
            "docs/readme.md",
            "link -> logs/keep.txt",
        ]);
        std::fs::write(
            dir.path().join(".dockerignore"),
            "# what Docker does\n.dockerignore\ndocker\nlogs\n!logs/keep.txt\n\n\
             docs\n!docs/guide/intro.md\n",
        )
        .expect("write");
        let bytes = context_tar(dir.path(), "docker/Dockerfile").expect("tar");
        assert_eq!(
            listing(&bytes),
            [
                "f .dockerignore",
                "f docker/Dockerfile",
                "f docs/guide/intro.md",
                "f logs/keep.txt",
                "l link -> logs/keep.txt",
            ]
        );
        // Modes are kept.
        let mut archive = tar::Archive::new(bytes.as_slice());
        for entry in archive.entries().expect("entries") {
            let entry = entry.expect("entry");
            if entry.header().entry_type() == tar::EntryType::Regular {
                let mode = std::fs::metadata(dir.path().join(entry.path().expect("path")))
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
                    .expect("metadata");
                assert_eq!(entry.header().mode().expect("mode") & 0o7777, mode & 0o7777);
            }
        }
    }

    #[test]
    fn a_dockerignore_docker_refuses_stops_the_build() {
        let dir = context(&["Dockerfile"]);
        std::fs::write(dir.path().join(".dockerignore"), "logs\n[z-a]\n").expect("write");
        let error = context_tar(dir.path(), "Dockerfile").expect_err("refused");
        assert_eq!(
            error.to_string(),
            "`.dockerignore` line 2: `[z-a]`: a character class range runs backwards"
        );
        std::fs::write(dir.path().join(".dockerignore"), [0xff, b'\n']).expect("write");
        let error = context_tar(dir.path(), "Dockerfile").expect_err("refused");
        assert_eq!(error.to_string(), "cannot read `.dockerignore`: it is not UTF-8 text");
    }
}
