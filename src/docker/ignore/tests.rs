//! patternmatcher_test.go's tables (moby/patternmatcher), and the walker's decisions.

use super::go_regex::BACKWARDS_RANGE;
use super::*;

/// patternmatcher's `New(patterns)`: the patterns as given, without `ReadAll`.
fn new(list: &[&str]) -> Result<Patterns, IgnoreError> {
    let mut patterns = Patterns::default();
    for pattern in list {
        patterns.push(pattern, None)?;
    }
    Ok(patterns)
}

fn patterns(list: &[&str]) -> Patterns {
    new(list).unwrap_or_else(|error| panic!("{list:?}: {error}"))
}

/// `MatchesUsingParentResults` as the walker calls it: each parent directory first,
/// outermost first, with the verdicts on its own parent (`check` in `TestMatches`).
fn walked(patterns: &Patterns, path: &str) -> bool {
    let mut verdicts: Option<ParentMatches> = None;
    for dir in parents(path) {
        verdicts = Some(patterns.matches_in_walk(&dir, verdicts.as_ref()).1);
    }
    patterns.matches_in_walk(path, verdicts.as_ref()).0
}

/// The package-level `Matches(file, patterns)` of the Go tests: `None` for an error.
fn go_matches(list: &[&str], file: &str) -> Option<bool> {
    new(list).ok().map(|patterns| patterns.legacy_matches(file))
}

/// moby/patternmatcher patternmatcher_test.go, `TestMatches`: its `tests` (with the
/// non-Windows row) and `multiPatternTests`, by `MatchesOrParentMatches` and by the
/// walker's `MatchesUsingParentResults`, as that test checks both.
#[test]
fn patternmatcher_test_matches() {
    for (pattern, path, excluded) in [
        ("**", "file", true),
        ("**", "file/", true),
        ("**/", "file", true), // weird one
        ("**/", "file/", true),
        ("**", "/", true),
        ("**/", "/", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**", "dir/file/", true),
        ("**/", "dir/file/", true),
        ("**/**", "dir/file", true),
        ("**/**", "dir/file/", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true),
        ("dir/**", "dir/dir2/file/", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/*", "dir/dir2/file/", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("a\\\\", "a\\", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
        ("a\\*b", "a*b", true),
    ] {
        let patterns = patterns(&[pattern]);
        assert_eq!(patterns.matches(path), excluded, "{pattern:?} on {path:?}");
        assert_eq!(walked(&patterns, path), excluded, "walked: {pattern:?} on {path:?}");
    }
    for (list, path, excluded) in [
        (&["**", "!util/docker/web"][..], "util/docker/web/foo", false),
        (&["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true),
        (
            &["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            false,
        ),
        (&["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false),
    ] {
        let patterns = patterns(list);
        assert_eq!(patterns.matches(path), excluded, "{list:?} on {path:?}");
        assert_eq!(walked(&patterns, path), excluded, "walked: {list:?} on {path:?}");
    }
}

/// patternmatcher_test.go, `matchTests` (Go's own filepath.Match tests) through the
/// package-level `Matches`, as `TestMatch` runs them: `None` is `ErrBadPattern`.
#[test]
fn patternmatcher_test_match() {
    for (pattern, path, expected) in [
        ("abc", "abc", Some(true)),
        ("*", "abc", Some(true)),
        ("*c", "abc", Some(true)),
        ("a*", "a", Some(true)),
        ("a*", "abc", Some(true)),
        ("a*", "ab/c", Some(true)),
        ("a*/b", "abc/b", Some(true)),
        ("a*/b", "a/c/b", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
        ("ab[c]", "abc", Some(true)),
        ("ab[b-d]", "abc", Some(true)),
        ("ab[e-g]", "abc", Some(false)),
        ("ab[^c]", "abc", Some(false)),
        ("ab[^b-d]", "abc", Some(false)),
        ("ab[^e-g]", "abc", Some(true)),
        ("a\\*b", "a*b", Some(true)),
        ("a\\*b", "ab", Some(false)),
        ("a?b", "a☺b", Some(true)),
        ("a[^a]b", "a☺b", Some(true)),
        ("a???b", "a☺b", Some(false)),
        ("a[^a][^a][^a]b", "a☺b", Some(false)),
        ("[a-ζ]*", "α", Some(true)),
        ("*[a-ζ]", "A", Some(false)),
        ("a?b", "a/b", Some(false)),
        ("a*b", "a/b", Some(false)),
        ("[\\]a]", "]", Some(true)),
        ("[\\-]", "-", Some(true)),
        ("[x\\-]", "x", Some(true)),
        ("[x\\-]", "-", Some(true)),
        ("[x\\-]", "z", Some(false)),
        ("[\\-x]", "x", Some(true)),
        ("[\\-x]", "-", Some(true)),
        ("[\\-x]", "a", Some(false)),
        ("[]a]", "]", None),
        ("[-]", "-", None),
        ("[x-]", "x", None),
        ("[x-]", "-", None),
        ("[x-]", "z", None),
        ("[-x]", "x", None),
        ("[-x]", "-", None),
        ("[-x]", "a", None),
        ("\\", "a", None),
        ("[a-b-c]", "a", None),
        ("[", "a", None),
        ("[^", "a", None),
        ("[^bc", "a", None),
        ("a[", "a", None),
        ("a[", "ab", None),
        ("*x", "xxx", Some(true)),
    ] {
        assert_eq!(go_matches(&[pattern], path), expected, "{pattern:?} on {path:?}");
    }
}

/// patternmatcher_test.go's single-case tests (`TestWildcardMatches` to
/// `TestMatchesWithMalformedPatterns`), through the package-level `Matches`.
#[test]
fn patternmatcher_test_single_cases() {
    for (list, path, expected) in [
        (&["*"][..], "fileutils.go", Some(true)),
        (&["*.go"], "fileutils.go", Some(true)),
        (&["!fileutils.go", "*.go"], "fileutils.go", Some(true)),
        (&["docs", "!docs/README.md"], "docs/README.md", Some(false)),
        (&["docs/", "!docs/README.md"], "docs/README.md", Some(false)),
        (&["docs/*", "!docs/README.md"], "docs/README.md", Some(false)),
        (&["*.go", "!fileutils.go"], "fileutils.go", Some(false)),
        (&["*.go"], ".", Some(false)),
        (&["!"], "fileutils.go", None),
        (&[], "/any/path/there", Some(false)),
        (&["["], "/any/path/there", None),
    ] {
        assert_eq!(go_matches(list, path), expected, "{list:?} on {path:?}");
    }
}

/// patternmatcher_test.go, `TestCleanPatterns*` and `TestCleanPatternsErrorSingleException`.
#[test]
fn patternmatcher_test_clean_patterns() {
    assert_eq!(patterns(&["docs", "config"]).list.len(), 2);
    assert_eq!(patterns(&["docs", "config", ""]).list.len(), 2);
    assert!(patterns(&["docs", "!docs/README.md"]).exclusions);
    assert!(patterns(&["docs", "  !docs/README.md"]).exclusions);
    assert!(patterns(&["docs", "!docs/README.md  "]).exclusions);
    assert!(!patterns(&["docs"]).exclusions);
    assert!(new(&["!"]).is_err());
}

/// patternmatcher_test.go, `compileTests` (`TestCompile`, with `/`): the kind, and the
/// Go regular expression for `Kind::Regex`.
#[test]
fn patternmatcher_test_compile() {
    for (pattern, kind, regex) in [
        ("*", Kind::Regex, r"^[^/]*$"),
        ("file*", Kind::Regex, r"^file[^/]*$"),
        ("*file", Kind::Regex, r"^[^/]*file$"),
        ("a*/b", Kind::Regex, r"^a[^/]*/b$"),
        ("**", Kind::Suffix, ""),
        ("**/**", Kind::Regex, r"^(.*/)?.*$"),
        ("dir/**", Kind::Prefix, ""),
        ("**/dir", Kind::Suffix, ""),
        ("**/dir2/*", Kind::Regex, r"^(.*/)?dir2/[^/]*$"),
        ("**/dir2/**", Kind::Regex, r"^(.*/)?dir2/.*$"),
        ("**file", Kind::Suffix, ""),
        ("**/file*txt", Kind::Regex, r"^(.*/)?file[^/]*txt$"),
        ("**/**/*.txt", Kind::Regex, r"^(.*/)?(.*/)?[^/]*\.txt$"),
        ("a[b-d]e", Kind::Regex, r"^a[b-d]e$"),
        (".*", Kind::Regex, r"^\.[^/]*$"),
        ("abc.def", Kind::Exact, ""),
        ("abc?def", Kind::Regex, r"^abc[^/]def$"),
        ("**/foo/bar", Kind::Suffix, ""),
        ("a(b)c/def", Kind::Exact, ""),
        ("a.|)$(}+{bc", Kind::Exact, ""),
        ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", Kind::Exact, ""),
    ] {
        let (got_kind, got_regex) = go_regex(&clean(pattern));
        assert_eq!(got_kind, kind, "{pattern:?}");
        if kind == Kind::Regex {
            assert_eq!(got_regex, regex, "{pattern:?}");
        }
    }
}

/// patternmatcher_test.go,
/// `TestMatchesOrParentMatchesMalformedPatternDoesNotPanicOnRepeatedCall`: Go accepts
/// `[Local-Only]/` and fails on the first match (`l-O` runs backwards, which its regexp
/// refuses); here it is refused when read.
#[test]
fn patternmatcher_test_malformed_pattern() {
    let error = new(&["[Local-Only]/"]).expect_err("refused");
    assert_eq!(error.reason, BACKWARDS_RANGE);
}

/// moby/patternmatcher ignorefile/ignorefile_test.go, `TestReadAll`.
#[test]
fn ignorefile_test_read_all() {
    assert!(read_all("").is_empty());
    let content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n\
                   ! /inverted/abs/path\n!\n! ";
    let patterns: Vec<String> = read_all(content).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        patterns,
        ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]
    );
    // The lines are kept for errors, a byte-order mark is dropped, and only column 1
    // starts a comment.
    assert_eq!(
        read_all("\u{feff}a\r\n # b\n\n  !c/  \n"),
        [(1, "a".to_owned()), (2, "# b".to_owned()), (4, "!c".to_owned())]
    );
}

/// Docker's behaviour beyond the Go tables, each seen with `DOCKER_BUILDKIT=0 docker build`
/// (CLI 28.2.2) on a context holding these paths.
#[test]
fn what_docker_build_does() {
    // A pattern that matched the parent counts for its entries, one never tried on it
    // does not: `a/b` stays excluded although `!a` re-includes `a`.
    let quirk = patterns(&["a/b", "!a"]);
    assert!(walked(&quirk, "a/b"));
    assert!(!quirk.matches("a/b"));
    assert!(!walked(&quirk, "a/c"));
    // The translation to a regular expression: `[*]` is a class of `[^/` then `]`.
    let class = patterns(&["[*]"]);
    for (path, excluded) in [("]", true), ("[]", true), ("^]", true), ("*", false)] {
        assert_eq!(walked(&class, path), excluded, "[*] on {path:?}");
    }
    // `\b` is a word boundary, `\x41` is `A`.
    let boundary = patterns(&["foo\\bar"]);
    assert!(!walked(&boundary, "foobar"));
    assert!(!walked(&boundary, "foo\\bar"));
    let hex = patterns(&["\\x41"]);
    assert!(walked(&hex, "A") && !walked(&hex, "B"));
    // `dir/**` leaves the directory itself in.
    let below = patterns(&["out/**"]);
    assert!(!walked(&below, "out") && walked(&below, "out/x"));
    // An excluded directory is walked only when an exception's text lies in it.
    assert!(patterns(&["logs", "!logs/keep.txt"]).may_include_below("logs"));
    assert!(!patterns(&["logs", "!**/keep.txt"]).may_include_below("logs"));
    assert!(!patterns(&["logs"]).may_include_below("logs"));
    assert!(patterns(&["docs", "!docs/guide/intro.md"]).may_include_below("docs/guide"));
    // Refused: `docker build` says "syntax error in pattern".
    assert_eq!(new(&["[Local-Only]"]).expect_err("refused").reason, BACKWARDS_RANGE);
}

/// docker-cli `TrimBuildFilesFromExcludes`: `.dockerignore` and the Dockerfile are sent
/// even when excluded, by exceptions that also make the walker enter their directory; the
/// deprecated `Matches` it asks misses a pattern matching a deeper parent, and then
/// `docker build` says "Cannot locate specified Dockerfile".
#[test]
fn the_build_files_are_kept() {
    let all = patterns(&["*"]).keeping_build_files("./Dockerfile").expect("kept");
    assert!(!walked(&all, ".dockerignore") && !walked(&all, "Dockerfile"));
    assert!(walked(&all, "app.txt"));
    let docs = patterns(&["docs"]).keeping_build_files("docs/Dockerfile").expect("kept");
    assert!(docs.may_include_below("docs"));
    assert!(!walked(&docs, "docs/Dockerfile") && walked(&docs, "docs/other"));
    let deep = patterns(&["**/sub"]).keeping_build_files("x/y/sub/Dockerfile").expect("kept");
    assert!(walked(&deep, "x/y/sub/Dockerfile"));
    let none = patterns(&["*.log"]).keeping_build_files("Dockerfile").expect("kept");
    assert_eq!(none.list.len(), 1);
    // The Dockerfile's name is read as a pattern, as docker-cli reads it.
    let error = patterns(&["*"]).keeping_build_files("Dockerfile[").expect_err("refused");
    assert_eq!(
        error.to_string(),
        format!("`!Dockerfile[` (the Dockerfile, kept in the context): {BAD_CLASS}")
    );
}

#[test]
fn a_refused_line_is_named() {
    let error = Patterns::parse("# ok\nlogs\n\n[z-a]\n").expect_err("refused");
    assert_eq!(error.line, Some(4));
    assert_eq!(
        error.to_string(),
        "`.dockerignore` line 4: `[z-a]`: a character class range runs backwards"
    );
    let error = Patterns::parse("a\n  !  \n").expect_err("refused");
    assert_eq!((error.line, error.reason), (Some(2), BARE_EXCLAMATION));
    assert_eq!(Patterns::parse("a\\\n").expect_err("refused").reason, TRAILING_BACKSLASH);
}

/// The RE2 reading: Go's literal `[` inside a class, POSIX and Perl classes (ASCII),
/// escapes Go knows and ones it refuses.
#[test]
fn go_regular_expressions_are_read_as_go_reads_them() {
    for (go, rust) in [
        (r"^[[]$", r"^[\x{5B}]$"),
        (r"^[[:alpha:]x]$", "^[[A-Za-z]x]$"),
        (r"^[[:^digit:]]$", "^[[^0-9]]$"),
        (r"^\d\S$", r"^[0-9][^\t\n\x0C\r ]$"),
        (r"^a\.\101\x41\Qa.b$", r"^a\x{2E}AAa\x{2E}b\x{24}"),
        (r"^\pL\b$", r"^\pL(?-u:\b)$"),
    ] {
        assert_eq!(rust_regex(go).as_deref(), Ok(rust), "{go}");
    }
    for go in [r"^\1$", r"^\e$", r"^\é$", r"^[\b]$", r"^[[:foo:]]$", r"^\p{L}$", r"^[a$"] {
        assert!(rust_regex(go).is_err(), "{go}");
    }
    // Each translation compiles, and means what Go means.
    let alpha = patterns(&["[[:alpha:]]*"]);
    assert!(walked(&alpha, "abc") && !walked(&alpha, "1bc"));
    // `!` in a class is a member, not a negation (that is `^`).
    let bang = patterns(&["x[!a]"]);
    assert!(walked(&bang, "x!") && walked(&bang, "xa") && !walked(&bang, "xb"));
}
