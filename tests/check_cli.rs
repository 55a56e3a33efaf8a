//! `ferry check` end to end: exit codes, the three formats, lookup, bad input files.

use crate::support::test::{Test, root};

#[test]
fn every_example_pipeline_checks() {
    let mut count = 0;
    for entry in std::fs::read_dir(root().join("pipelines")).expect("pipelines/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "deploy") {
            let ran = Test::new().args(["check".as_ref(), path.as_os_str()]).run().code(0);
            assert!(ran.stderr.is_empty(), "{}: {}", path.display(), ran.stderr);
            count += 1;
        }
    }
    assert!(count >= 5, "only {count} pipelines");
}

#[test]
fn clean_file_says_ok() {
    Test::new()
        .args(["check", "pipelines/web.deploy"])
        .run()
        .code(0)
        .stdout("pipelines/web.deploy: ok, 6 steps\n")
        .stderr("");
}

#[test]
fn json_format_gives_one_object_per_diagnostic() {
    Test::new()
        .args(["check", "--format", "json", "tests/fixtures/check/err/unknown_field.deploy"])
        .run()
        .code(2)
        .stderr("")
        .stdout(
            r#"
            [
              {
                "code": "ferry::check::unknown_field",
                "severity": "error",
                "message": "`defaults` has no field `regoin`",
                "file": "tests/fixtures/check/err/unknown_field.deploy",
                "line": 2,
                "column": 3,
                "end_line": 2,
                "end_column": 9,
                "label": "unknown field",
                "help": "did you mean `region`?",
                "related": []
              }
            ]
            "#,
        );
}

#[test]
fn json_format_of_a_clean_file_is_an_empty_array() {
    Test::new()
        .args(["check", "--format", "json", "pipelines/minimal.deploy"])
        .run()
        .code(0)
        .stdout("[]\n");
}

#[test]
fn github_format_prints_workflow_commands() {
    Test::new()
        .args(["check", "--format", "github", "tests/fixtures/check/err/duplicate_field.deploy"])
        .run()
        .code(2)
        .stdout(
            "::error file=tests/fixtures/check/err/duplicate_field.deploy,line=3,col=3,endLine=3,\
             endColumn=9,title=ferry%3A%3Acheck%3A%3Aduplicate_field::`region` is set twice in \
             `defaults`: set again here%0Ahelp: remove one of them\n",
        );
}

#[test]
fn warnings_pass_unless_denied() {
    let file = "tests/fixtures/check/err/latest_only_tag.deploy";
    let ran = Test::new().args(["check", file]).run().code(0);
    assert!(ran.stderr.contains("ferry::lint::latest_only_tag"), "{}", ran.stderr);
    Test::new().args(["check", "--deny-warnings", file]).run().code(2);
}

#[test]
fn several_errors_are_reported_at_once_in_order() {
    let ran = Test::new()
        .args(["check", "--format", "json", "tests/fixtures/check/err/type_mismatch.deploy"])
        .run()
        .code(2);
    let items: serde_json::Value = serde_json::from_str(&ran.stdout).expect("json");
    let lines: Vec<u64> = items
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, [7, 8]);
}

#[test]
fn deployfile_is_found_from_a_subdirectory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(root().join("pipelines/minimal.deploy"), dir.path().join("Deployfile"))
        .expect("copy");
    let nested = dir.path().join("src/deep");
    std::fs::create_dir_all(&nested).expect("mkdir");
    let ran = Test::new().args(["check"]).current_dir(&nested).run().code(0);
    assert!(ran.stdout.ends_with("Deployfile: ok, 3 steps\n"), "{}", ran.stdout);
}

#[test]
fn missing_deployfile_is_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = Test::new().args(["check", "--format", "json"]).current_dir(dir.path()).run().code(2);
    assert!(ran.stdout.contains("ferry::input::file_not_found"), "{}", ran.stdout);
    let ran = Test::new().args(["check", "nope.deploy"]).run().code(2);
    assert!(ran.stderr.contains("`nope.deploy` does not exist"), "{}", ran.stderr);
}

#[test]
fn bad_input_files_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("empty.deploy"), "  \n\n").expect("write");
    std::fs::write(path("binary.deploy"), b"build app {}\n\xff\xfe\x00").expect("write");
    std::fs::create_dir(path("dir.deploy")).expect("mkdir");
    let huge = std::fs::File::create(path("huge.deploy")).expect("create");
    huge.set_len(ferry::cli::MAX_SIZE + 1).expect("grow");
    std::fs::write(path("plain"), "x").expect("write");
    // A named pipe would block the read for ever; a device never ends.
    let fifo = std::process::Command::new("mkfifo").arg(path("pipe.deploy")).status();
    assert!(fifo.is_ok_and(|s| s.success()), "mkfifo (coreutils) runs");
    for (name, code, words) in [
        ("pipe.deploy", "ferry::input::not_regular_file", "is a named pipe, not a regular file"),
        ("/dev/zero", "ferry::input::not_regular_file", "is a device, not a regular file"),
        ("empty.deploy", "ferry::input::empty_file", "is empty"),
        ("binary.deploy", "ferry::input::not_utf8", "byte 13 is not valid UTF-8"),
        ("dir.deploy", "ferry::input::is_directory", "is a directory"),
        ("huge.deploy", "ferry::input::file_too_large", "larger than the 16777216 bytes"),
        ("plain/inside.deploy", "ferry::input::unreadable", "cannot read"),
    ] {
        let ran = Test::new().args(["check".as_ref(), path(name).as_os_str()]).run().code(2);
        assert!(ran.stderr.contains(code) && ran.stderr.contains(words), "{name}:\n{}", ran.stderr);
    }
}

#[test]
fn usage_errors_exit_2() {
    let ran = Test::new().args(["check", "--format", "xml"]).run().code(2);
    assert!(ran.stderr.contains("invalid value 'xml'"), "{}", ran.stderr);
    // The commit and build date follow (tests/cli_conventions.rs).
    let version = Test::new().args(["--version"]).run().code(0);
    let expected = format!("ferry {} (", env!("CARGO_PKG_VERSION"));
    assert!(version.stdout.starts_with(&expected), "{}", version.stdout);
}

#[test]
fn gate_scripts_are_checked_and_reported_with_their_own_file() {
    let ran = Test::new()
        .args([
            "check",
            "--format",
            "json",
            "tests/fixtures/check/err/unknown_host_function.deploy",
        ])
        .run()
        .code(2);
    let items: serde_json::Value = serde_json::from_str(&ran.stdout).expect("one JSON array");
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{}", ran.stdout);
    assert_eq!(items[0]["code"], "ferry::gate::unknown_host_function");
    assert_eq!(items[0]["file"], "tests/fixtures/check/err/gates/unknown_host_function.rhai");
    assert_eq!((items[0]["line"].as_u64(), items[0]["column"].as_u64()), (Some(2), Some(16)));
    // The standard scripts need no file.
    Test::new()
        .args(["check", "pipelines/web.deploy"])
        .run()
        .code(0)
        .stdout("pipelines/web.deploy: ok, 6 steps\n");
}

#[test]
fn a_diagnostic_past_column_65535_is_reported_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = format!("build app {{ args = {{ A = \"{}\", B = 1 }} }} @\n", "x".repeat(70_000));
    std::fs::write(dir.path().join("Deployfile"), long).expect("write");
    for args in [
        &["check"][..],
        &["fmt", "--check"],
        &["plan", "--target", "local"],
        &["run", "--target", "local"],
    ] {
        let ran = Test::new().args(args).current_dir(dir.path()).run();
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr.chars().take(500).collect::<String>());
        assert!(
            ran.stderr.contains("Deployfile:1:70040"),
            "{args:?}: {}",
            ran.stderr.chars().take(500).collect::<String>()
        );
    }
    let repl = Test::new().args(["repl"]).current_dir(dir.path()).stdin(":steps\n").run();
    assert_ne!(repl.code, 101, "{}", repl.stderr.chars().take(500).collect::<String>());
}
