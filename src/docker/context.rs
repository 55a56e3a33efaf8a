//! The build context as a tar stream, without the paths `.dockerignore` excludes (its
//! patterns: `*`, `?`, `**`, leading `!` to re-include, `#` comments; the Dockerfile and
//! `.dockerignore` themselves are always sent, as Docker does).

use std::path::Path;

/// The patterns of `.dockerignore` in `dir`, if any: `(pattern, include)`.
#[must_use]
pub(super) fn ignore_patterns(dir: &Path) -> Vec<(String, bool)> {
    let Ok(text) = crate::regular_file::read_text(&dir.join(".dockerignore"), 1024 * 1024) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.strip_prefix('!') {
            Some(rest) => (clean(rest), true),
            None => (clean(line), false),
        })
        .collect()
}

fn clean(pattern: &str) -> String {
    pattern.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/').to_owned()
}

/// Whether `path` (relative, `/`-separated) is excluded: the last matching pattern wins,
/// and a pattern matching a parent directory matches everything below it.
#[must_use]
pub(super) fn is_ignored(patterns: &[(String, bool)], path: &str) -> bool {
    let mut ignored = false;
    for (pattern, include) in patterns {
        let parts: Vec<&str> = path.split('/').collect();
        let hit = (1..=parts.len()).any(|n| matches(pattern, &parts[..n].join("/")));
        if hit {
            ignored = !include;
        }
    }
    ignored
}

/// Glob matching with `*` (within a segment), `?` and `**` (any number of segments).
fn matches(pattern: &str, path: &str) -> bool {
    fn segments(pattern: &[&str], path: &[&str]) -> bool {
        match (pattern.first(), path.first()) {
            (None, None) => true,
            (Some(&"**"), _) => {
                segments(&pattern[1..], path) || (!path.is_empty() && segments(pattern, &path[1..]))
            }
            (Some(p), Some(s)) => {
                segment(p.as_bytes(), s.as_bytes()) && segments(&pattern[1..], &path[1..])
            }
            _ => false,
        }
    }
    fn segment(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                segment(&pattern[1..], text) || (!text.is_empty() && segment(pattern, &text[1..]))
            }
            (Some(b'?'), Some(_)) => segment(&pattern[1..], &text[1..]),
            (Some(p), Some(t)) if p == t => segment(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    segments(&pattern, &path)
}

/// The context directory as a tar archive, relative paths, `.dockerignore` applied.
pub fn context_tar(dir: &Path, dockerfile: &str) -> std::io::Result<Vec<u8>> {
    let patterns = ignore_patterns(dir);
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&current)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let relative =
                path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let always = relative == dockerfile || relative == ".dockerignore";
            if !always && is_ignored(&patterns, &relative) {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                builder.append_dir(&relative, &path)?;
                stack.push(path);
            } else if kind.is_file() || kind.is_symlink() {
                builder.append_path_with_name(&path, &relative)?;
            }
        }
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules() {
        let patterns = vec![
            ("target".to_owned(), false),
            ("**/*.log".to_owned(), false),
            ("docs/*.md".to_owned(), false),
            ("docs/keep.md".to_owned(), true),
        ];
        for (path, expected) in [
            ("target/debug/x", true),
            ("src/main.rs", false),
            ("a/b/c.log", true),
            ("c.log", true),
            ("docs/a.md", true),
            ("docs/keep.md", false),
            ("docs/sub/a.md", false),
        ] {
            assert_eq!(is_ignored(&patterns, path), expected, "{path}");
        }
    }

    #[test]
    fn the_tar_leaves_out_ignored_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write");
        std::fs::write(dir.path().join(".dockerignore"), "secret.txt\nlogs\n").expect("write");
        std::fs::write(dir.path().join("app.txt"), "app").expect("write");
        std::fs::write(dir.path().join("secret.txt"), "no").expect("write");
        std::fs::create_dir(dir.path().join("logs")).expect("mkdir");
        std::fs::write(dir.path().join("logs/x.log"), "no").expect("write");
        let bytes = context_tar(dir.path(), "Dockerfile").expect("tar");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| e.expect("entry").path().expect("path").to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".dockerignore", "Dockerfile", "app.txt"]);
    }
}
