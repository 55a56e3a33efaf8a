//! `.dockerignore` patterns as Docker applies them, with no I/O: a port of moby/patternmatcher
//! (`ignorefile.ReadAll`, `New`, `Pattern.compile`, `MatchesOrParentMatches`,
//! `MatchesUsingParentResults`, the deprecated `Matches`), of the pattern decisions of
//! moby/go-archive's walker (`Tarballer.Do`: whether an excluded directory is still walked)
//! and of docker-cli's `TrimBuildFilesFromExcludes` (cli/command/image/build/dockerignore.go).
//!
//! patternmatcher turns a glob into a Go regular expression. This port builds the same
//! expression text (checked against patternmatcher_test.go's `TestCompile`) and reads it as
//! Go's RE2 reads it into an equivalent `regex` pattern, so the quirks of that translation are
//! Docker's quirks here too: `[*]` matches `]` and `[]`, never `*`, as `docker build` does.

use std::fmt;

use regex::Regex;

mod go_regex;
use go_regex::{Kind, go_regex, rust_regex};

/// A `.dockerignore` pattern Docker refuses too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IgnoreError {
    /// The line of `.dockerignore` (from 1); `None` for the exception that keeps the
    /// Dockerfile in the context (its name is read as a pattern, as docker-cli reads it).
    pub(crate) line: Option<usize>,
    pub(crate) pattern: String,
    pub(crate) reason: &'static str,
}

impl fmt::Display for IgnoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => {
                write!(f, "`.dockerignore` line {line}: `{}`: {}", self.pattern, self.reason)
            }
            None => write!(
                f,
                "`{}` (the Dockerfile, kept in the context): {}",
                self.pattern, self.reason
            ),
        }
    }
}

impl std::error::Error for IgnoreError {}

const BARE_EXCLAMATION: &str = "`!` alone is not a pattern (Docker: illegal exclusion pattern)";

/// The patterns of one `.dockerignore`, in order: the last one that matches decides.
#[derive(Debug, Clone, Default)]
pub(crate) struct Patterns {
    list: Vec<Pattern>,
    /// Whether any pattern is an exception (`!…`).
    exclusions: bool,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// Cleaned, without its `!`.
    text: String,
    exclusion: bool,
    /// How many `/`-separated segments `text` has (the deprecated `Matches` uses it).
    dirs: usize,
    matcher: Matcher,
}

/// patternmatcher's `matchType`: most patterns never reach a regular expression.
#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    /// `text` ends with `**` and is literal before it.
    Prefix,
    /// `text` starts with `**` and is literal after it.
    Suffix,
    Regex(Regex),
}

/// The verdict of every pattern on a directory, handed down to its entries by the walker.
#[derive(Debug, Clone, Default)]
pub(crate) struct ParentMatches(Vec<bool>);

impl Patterns {
    /// The patterns of a `.dockerignore` text; the first pattern Docker would refuse is an
    /// error naming its line. One difference, on the safe side: a pattern that Go's regexp
    /// refuses (`[z-a]`) is refused here at once, where Docker fails only once some path
    /// reaches that pattern (an exception after patterns that matched nothing is never tried).
    pub(crate) fn parse(text: &str) -> Result<Self, IgnoreError> {
        let mut patterns = Self::default();
        for (line, pattern) in read_all(text) {
            patterns.push(&pattern, Some(line))?;
        }
        Ok(patterns)
    }

    /// patternmatcher's `New`, one pattern at a time.
    fn push(&mut self, text: &str, line: Option<usize>) -> Result<(), IgnoreError> {
        if let Some(pattern) = Pattern::new(text, line)? {
            self.exclusions |= pattern.exclusion;
            self.list.push(pattern);
        }
        Ok(())
    }

    /// The patterns docker-cli walks the context with (`TrimBuildFilesFromExcludes`): when
    /// they exclude `.dockerignore` or the Dockerfile (by the deprecated `Matches`), the
    /// exception `!.dockerignore` or `!DOCKERFILE` is appended, so that both are sent: the
    /// engine reads them from the context, and its classic builder then drops them from what
    /// `COPY` sees when they are excluded.
    pub(crate) fn keeping_build_files(mut self, dockerfile: &str) -> Result<Self, IgnoreError> {
        for file in [".dockerignore".to_owned(), clean(dockerfile)] {
            if self.legacy_matches(&file) {
                self.push(&format!("!{file}"), None)?;
            }
        }
        Ok(self)
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded: patternmatcher's
    /// `MatchesOrParentMatches`, where a pattern matches a path when it matches the path or
    /// one of its parent directories, and a later pattern overrides an earlier one. The
    /// context's walker uses `matches_in_walk`, which differs in rare cases.
    #[cfg(test)]
    pub(crate) fn matches(&self, path: &str) -> bool {
        self.matches_in_walk(path, None).0
    }

    /// Whether `path` is excluded, as go-archive's walker decides it
    /// (`MatchesUsingParentResults`) given the verdicts on the directory it is in (`None` at
    /// the root of the context, where it is `matches`); also the verdicts on
    /// `path`, for its own entries. A pattern that matched the directory counts as matching
    /// its entries, but one that was not tried on the directory (an exception while nothing
    /// was excluded) is then tried on the entry alone: `a/b` then `!a` leaves `a/b` excluded
    /// (as `docker build` does), where `matches` says it is not.
    pub(crate) fn matches_in_walk(
        &self,
        path: &str,
        parent: Option<&ParentMatches>,
    ) -> (bool, ParentMatches) {
        let parent = parent.map(|p| p.0.as_slice()).filter(|p| !p.is_empty());
        let mut matched = false;
        let mut verdicts = vec![false; self.list.len()];
        for (index, pattern) in self.list.iter().enumerate() {
            let mut hit = parent.is_some_and(|p| p.get(index) == Some(&true));
            if !hit {
                // An exception is only tried on an excluded path, a pattern on an included one.
                if pattern.exclusion != matched {
                    continue;
                }
                hit = pattern.matches(path)
                    || (parent.is_none() && parents(path).iter().any(|dir| pattern.matches(dir)));
            }
            verdicts[index] = hit;
            if hit {
                matched = !pattern.exclusion;
            }
        }
        (matched, ParentMatches(verdicts))
    }

    /// Whether the walker must still walk into the excluded directory `dir`: when some
    /// exception's text, read as a path, lies in it (`!logs/keep.txt` in `logs`). It is a
    /// prefix test on the text, not a match (go-archive `Tarballer.Do`): `!**/keep.txt` does not
    /// make Docker walk into an excluded `logs`, so `logs/keep.txt` stays out.
    pub(crate) fn may_include_below(&self, dir: &str) -> bool {
        if !self.exclusions {
            return false;
        }
        let dir = format!("{dir}/");
        self.list.iter().filter(|p| p.exclusion).any(|p| format!("{}/", p.text).starts_with(&dir))
    }

    /// patternmatcher's deprecated package-level `Matches`, which docker-cli's
    /// `TrimBuildFilesFromExcludes` still calls: the file cleaned, `.` never excluded, and a
    /// pattern tried on one parent only, the one with as many segments as the pattern (so
    /// `**/sub` misses `x/y/sub/Dockerfile`, and `docker build` then cannot find it).
    fn legacy_matches(&self, file: &str) -> bool {
        let file = clean(file);
        if file == "." {
            return false;
        }
        let parent = go_dir(&file);
        let dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for pattern in &self.list {
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(&file);
            if !hit && parent != "." && pattern.dirs <= dirs.len() {
                hit = pattern.matches(&dirs[..pattern.dirs].join("/"));
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }
}

impl Pattern {
    /// One pattern as `New` reads it: trimmed and cleaned again, `!` for an exception, the
    /// syntax checked by `filepath.Match`, then compiled (`compile`, which Go does lazily).
    fn new(text: &str, line: Option<usize>) -> Result<Option<Self>, IgnoreError> {
        let error = |reason| IgnoreError { line, pattern: text.trim().to_owned(), reason };
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let cleaned = clean(text);
        let (exclusion, text) = match cleaned.strip_prefix('!') {
            Some("") => return Err(error(BARE_EXCLAMATION)),
            Some(rest) => (true, rest.to_owned()),
            None => (false, cleaned),
        };
        check_glob(&text).map_err(error)?;
        let matcher = match go_regex(&text) {
            (Kind::Exact, _) => Matcher::Exact,
            (Kind::Prefix, _) => Matcher::Prefix,
            (Kind::Suffix, _) => Matcher::Suffix,
            (Kind::Regex, go) => {
                let rust = rust_regex(&go).map_err(error)?;
                Matcher::Regex(Regex::new(&rust).map_err(|_| error("the pattern is too large"))?)
            }
        };
        Ok(Some(Self { dirs: text.split('/').count(), text, exclusion, matcher }))
    }

    /// `Pattern.match`: the pattern against one path, without its parents.
    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix => {
                self.text.strip_suffix("**").is_some_and(|prefix| path.starts_with(prefix))
            }
            Matcher::Suffix => self.text.get(2..).is_some_and(|suffix| {
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }),
            Matcher::Regex(regex) => regex.is_match(path),
        }
    }
}

/// The patterns of a `.dockerignore` text with their lines, as `ignorefile.ReadAll` returns
/// them: a UTF-8 byte-order mark is dropped, a line that starts with `#` is a comment (in
/// column 1 only: ` #x` is the pattern `#x`), blank lines are skipped, and each pattern is
/// trimmed and cleaned (Go's `filepath.Clean`) with a leading `/` dropped, its `!` kept.
fn read_all(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut patterns = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        // bufio.ScanLines: the line without its `\n` and a `\r` before it.
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        let pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let (invert, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, pattern),
        };
        let mut pattern = if pattern.is_empty() { String::new() } else { clean(pattern) };
        if pattern.len() > 1 && pattern.starts_with('/') {
            pattern.remove(0);
        }
        patterns.push((index + 1, if invert { format!("!{pattern}") } else { pattern }));
    }
    patterns
}

/// Go's `filepath.Clean` on a `/`-separated path: no empty or `.` segments, `..` resolved
/// where it can be, no trailing `/`; `.` for nothing.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// Go's `filepath.Dir`: everything before the last `/`, cleaned; `.` when there is none.
fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(at) => clean(&path[..=at]),
        None => ".".to_owned(),
    }
}

/// The parent directories of `path`, outermost first, as `MatchesOrParentMatches` tries them.
fn parents(path: &str) -> Vec<String> {
    let parent = go_dir(path);
    if parent == "." {
        return Vec::new();
    }
    let dirs: Vec<&str> = parent.split('/').collect();
    (1..=dirs.len()).map(|n| dirs[..n].join("/")).collect()
}

/// The syntax check `New` makes with `filepath.Match(pattern, ".")` (Go's path/filepath
/// match.go on Unix): every `[` class closes and holds items, a range has both ends, and a
/// `\` escapes something. (A range that runs backwards passes here and fails in `rust_regex`,
/// as it passes `filepath.Match` and fails Go's regexp.)
fn check_glob(pattern: &str) -> Result<(), &'static str> {
    let mut rest = pattern;
    while !rest.is_empty() {
        let (chunk, after) = scan_chunk(rest);
        check_chunk(chunk)?;
        rest = after;
    }
    Ok(())
}

/// `scanChunk`: leading `*`s dropped, then up to the next `*` outside a class.
fn scan_chunk(pattern: &str) -> (&str, &str) {
    let pattern = pattern.trim_start_matches('*');
    let bytes = pattern.as_bytes();
    let mut in_range = false;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if at + 1 < bytes.len() => at += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        at += 1;
    }
    pattern.split_at(at)
}

const BAD_CLASS: &str = "a `[` class is not closed, is empty, or has a `-` or `]` out of place";
const TRAILING_BACKSLASH: &str = "a `\\` at the end escapes nothing";

/// `matchChunk`'s errors, which do not depend on the text matched.
fn check_chunk(chunk: &str) -> Result<(), &'static str> {
    let bytes = chunk.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'[' => {
                at += 1;
                if bytes.get(at) == Some(&b'^') {
                    at += 1;
                }
                let mut items = 0;
                loop {
                    if bytes.get(at) == Some(&b']') && items > 0 {
                        at += 1;
                        break;
                    }
                    at = class_item_end(chunk, at)?;
                    if bytes.get(at) == Some(&b'-') {
                        at = class_item_end(chunk, at + 1)?;
                    }
                    items += 1;
                }
            }
            b'\\' => {
                if at + 1 == bytes.len() {
                    return Err(TRAILING_BACKSLASH);
                }
                at += 2;
            }
            _ => at += 1,
        }
    }
    Ok(())
}

/// `getEsc`: one class item (a character, or `\` and one) from byte `at`; where it ends, which
/// must not be the end of the chunk.
fn class_item_end(chunk: &str, at: usize) -> Result<usize, &'static str> {
    let mut at = at;
    match chunk.as_bytes().get(at) {
        None | Some(b'-' | b']') => return Err(BAD_CLASS),
        Some(b'\\') => at += 1,
        Some(_) => {}
    }
    let character = chunk.get(at..).and_then(|rest| rest.chars().next()).ok_or(BAD_CLASS)?;
    at += character.len_utf8();
    if at >= chunk.len() {
        return Err(BAD_CLASS);
    }
    Ok(at)
}

#[cfg(test)]
mod tests;
