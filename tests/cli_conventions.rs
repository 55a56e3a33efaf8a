//! The conventions a command-line tool is expected to keep: `ferry help`, `--version`
//! with the commit and build date, shell completions, man pages, `--color`, and one
//! `--format` flag across commands (with `--output` kept as another name for `run`'s).

use crate::support::test::{Test, git, root};

#[test]
fn help_is_a_command_too() {
    let ran = Test::new().args(["help"]).run().code(0);
    for command in ["check", "run", "plan", "completions", "man"] {
        assert!(ran.stdout.contains(command), "{command}: {}", ran.stdout);
    }
    let ran = Test::new().args(["help", "run"]).run().code(0);
    assert!(ran.stdout.contains("--format <FORMAT>"), "{}", ran.stdout);
    assert!(ran.stdout.contains("--output"), "{}", ran.stdout);
}

#[test]
fn the_version_names_the_commit_and_the_build_date() {
    let ran = Test::new().args(["--version"]).run().code(0);
    let line = ran.stdout.trim();
    let (name, rest) = line.split_once(' ').expect("ferry VERSION (…)");
    assert_eq!(name, "ferry", "{line}");
    let (version, stamp) = rest.split_once(" (").expect("a stamp");
    assert_eq!(version, env!("CARGO_PKG_VERSION"), "{line}");
    let (commit, date) = stamp.trim_end_matches(')').split_once(' ').expect("commit date");
    let head = git(&root(), &["rev-parse", "--short=12", "HEAD"]);
    assert_eq!(commit, head.trim(), "{line}");
    let parts: Vec<&str> = date.split('-').collect();
    assert!(
        parts.len() == 3
            && parts[0].len() == 4
            && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())),
        "{line}"
    );
}

#[test]
fn completions_for_every_shell() {
    for (shell, sign) in [
        ("bash", "_ferry()"),
        ("zsh", "#compdef ferry"),
        ("fish", "complete -c ferry"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[ferry]"),
    ] {
        let ran = Test::new().args(["completions", shell]).run().code(0);
        assert!(ran.stdout.contains(sign), "{shell}: {}", &ran.stdout[..200.min(ran.stdout.len())]);
        // Subcommands and their flags are offered.
        assert!(ran.stdout.contains("rollback") && ran.stdout.contains("region"), "{shell}");
    }
    Test::new().args(["completions", "tcsh"]).run().code(2);
}

#[test]
fn man_pages_for_ferry_and_each_command() {
    let ran = Test::new().args(["man"]).run().code(0);
    assert!(ran.stdout.starts_with(".ie"), "{}", &ran.stdout[..80]);
    assert!(ran.stdout.contains(".TH ferry"), "roff with a title");
    let ran = Test::new().args(["man", "plan"]).run().code(0);
    assert!(ran.stdout.contains(".TH ferry-plan"), "{}", &ran.stdout[..200]);
    assert!(ran.stdout.contains("\\-\\-out"), "plan's flags");
    assert!(ran.stdout.contains("\\-\\-color"), "and the global ones");
    let ran = Test::new().args(["man", "pln"]).run().code(2);
    assert!(ran.stderr.contains("error: `pln` is not a ferry command"), "{}", ran.stderr);
    assert!(ran.stderr.contains("help: did you mean `plan`?"), "{}", ran.stderr);
}

#[test]
fn color_is_asked_for_or_refused() {
    let file = root().join("tests/fixtures/check/err/deployment_cannot_progress.deploy");
    let file = file.to_str().expect("utf-8 path");
    let escape = '\u{1b}';
    // Not a terminal: plain by default, coloured when asked, even with NO_COLOR unset.
    let plain = Test::new().args(["check", file]).run();
    assert!(!plain.stderr.contains(escape), "{}", plain.stderr);
    let colored = Test::new().args(["--color", "always", "check", file]).run();
    assert!(colored.stderr.contains(escape), "{}", colored.stderr);
    let colored_after = Test::new().args(["check", file, "--color", "always"]).run();
    assert_eq!(colored_after.stderr, colored.stderr, "a global flag, anywhere");
    let never = Test::new().args(["check", file, "--color", "never"]).run();
    assert_eq!(never.stderr, plain.stderr);
    assert_eq!(never.code, plain.code);
}

#[test]
fn plan_and_status_print_json_and_run_takes_format() {
    let dir = tempfile::tempdir().expect("dir");
    let file = root().join("pipelines/hello.deploy");
    let state = dir.path().join("state.json");
    let local = ["--target", "local", "--speed", "600", "--state", state.to_str().expect("path")];
    let out = dir.path().join("plan.json");
    let ferry = |args: &[&str]| {
        Test::new().args(args).args([file.as_os_str()]).args(local).args(["--allow-dirty"])
    };
    let plan = Test::new()
        .args(["plan", file.to_str().expect("path"), "--format", "json", "--out"])
        .args([out.as_os_str()])
        .args(local)
        .run()
        .code(0);
    let printed: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("plan file")).expect("JSON");
    assert_eq!(printed, written, "the JSON --out writes");
    assert_eq!(printed["environment"], "default");
    // `--format ndjson` and its other name `--output ndjson` report the run the same way.
    let run = ferry(&["run", "--format", "ndjson"]).run().code(0);
    assert!(run.events().iter().any(|e| e["event"] == "run_finished"), "{}", run.stdout);
    let again = ferry(&["run", "--output", "ndjson"]).run().code(0);
    assert!(!again.events().is_empty());
    let status = Test::new()
        .args(["status", file.to_str().expect("path"), "--format", "json"])
        .args(local)
        .run()
        .code(0);
    let services: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(services[0]["service"], "hello", "{}", status.stdout);
    assert_eq!(services[0]["exists"], true);
    assert_eq!(services[0]["view"]["desired"], 3, "{}", status.stdout);
}

/// `-q` keeps what matters (errors, the verdict), `-v` adds the detail; standard output,
/// the command's result, is the same at every level.
#[test]
fn quiet_and_verbose_set_how_much_is_said() {
    let warned = root().join("tests/fixtures/check/err/update_without_verify.deploy");
    let warned = warned.to_str().expect("utf-8 path");
    let normal = Test::new().args(["check", warned]).run().code(0);
    assert!(normal.stderr.contains("update_without_verify"), "{}", normal.stderr);
    let quiet = Test::new().args(["-q", "check", warned]).run().code(0);
    assert_eq!(quiet.stderr, "", "-q: errors only");
    let json = Test::new().args(["-q", "check", warned, "--format", "json"]).run().code(0);
    assert!(json.stdout.contains("update_without_verify"), "stdout stays whole: {}", json.stdout);
    let denied = Test::new().args(["check", warned, "-q", "--deny-warnings"]).run().code(2);
    assert!(denied.stderr.contains("update_without_verify"), "a warning that fails shows");
    let broken = root().join("tests/fixtures/check/err/unknown_field.deploy");
    let broken = Test::new().args(["--quiet", "check"]).args([broken.as_os_str()]).run().code(2);
    assert!(broken.stderr.contains("error"), "{}", broken.stderr);
    let hello = root().join("pipelines/hello.deploy");
    let clean = Test::new().args(["-q", "check"]).args([hello.as_os_str()]).run().code(0);
    assert_eq!(clean.stdout, "", "no `ok` line with -q");
    Test::new().args(["-q", "-v", "check"]).args([hello.as_os_str()]).run().code(2);

    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state.json");
    let local = ["--target", "local", "--speed", "600", "--state", state.to_str().expect("path")];
    let run = |flag: &str| {
        Test::new()
            .args([flag, "run"])
            .args([hello.as_os_str()])
            .args(local)
            .args(["--allow-dirty", "--redeploy"])
            .run()
            .code(0)
    };
    let quiet = run("-q");
    let lines: Vec<&str> = quiet.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "the verdict alone: {}", quiet.stderr);
    assert!(lines[0].starts_with("success: deployed and verified"), "{}", quiet.stderr);
    let verbose = run("-v");
    assert!(verbose.stderr.contains(" left) · new "), "progress lines: {}", verbose.stderr);
    assert!(verbose.stderr.contains("  verify hello: "), "each step's end: {}", verbose.stderr);
    let normal = run("--color=never");
    assert!(!normal.stderr.contains(" left) · new "), "{}", normal.stderr);
    assert!(normal.stderr.lines().count() > 3, "{}", normal.stderr);
    assert!(normal.stderr.lines().count() < verbose.stderr.lines().count());
}
