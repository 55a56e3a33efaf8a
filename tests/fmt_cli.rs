//! `ferry fmt` end to end: rewriting, `--check`, and files it must not touch.

use crate::support::test::{Test, root};

#[test]
fn example_pipelines_are_formatted() {
    for name in ["hello", "web", "minimal", "multi-service", "fargate"] {
        Test::new()
            .args(["fmt", "--check", &format!("pipelines/{name}.deploy")])
            .run()
            .code(0)
            .stdout("");
    }
}

#[test]
fn fmt_rewrites_and_check_shows_the_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("Deployfile");
    std::fs::write(&file, "defaults { region=\"eu-west-1\" # here\ncluster = \"c\" }\n")
        .expect("write");
    Test::new().args(["fmt", "--check"]).current_dir(dir.path()).run().code(1).stdout(
        "
        --- Deployfile
        +++ Deployfile (formatted)
        @@ -1,2 +1,4 @@
        -defaults { region=\"eu-west-1\" # here
        -cluster = \"c\" }
        +defaults {
        +  region  = \"eu-west-1\"  # here
        +  cluster = \"c\"
        +}
        ",
    );
    Test::new()
        .args(["fmt"])
        .current_dir(dir.path())
        .run()
        .code(0)
        .stderr("formatted `Deployfile`\n");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "defaults {\n  region  = \"eu-west-1\"  # here\n  cluster = \"c\"\n}\n"
    );
    Test::new().args(["fmt", "--check"]).current_dir(dir.path()).run().code(0);
}

#[test]
fn syntax_error_leaves_the_file_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broken.deploy");
    std::fs::write(&file, "build app {\n").expect("write");
    let ran = Test::new().args(["fmt".as_ref(), file.as_os_str()]).run().code(2);
    assert!(ran.stderr.contains("ferry::syntax::unexpected_token"), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "build app {\n");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1, "no temporary file left");
}

#[test]
fn fmt_keeps_every_fixture_meaning() {
    for dir in ["tests/fixtures/check/err", "pipelines"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("dir") {
            let path = entry.expect("entry").path();
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            if let Ok(once) = ferry::syntax::format(&text) {
                let twice = ferry::syntax::format(&once).expect("formatted text formats");
                assert_eq!(once, twice, "{}", path.display());
            }
        }
    }
}
