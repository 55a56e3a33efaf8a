//! The repository's GitHub Action (`action.yml` and its two scripts): its outputs are the
//! ones ferry writes, its steps name scripts that exist, and the run step, executed as the
//! runner executes it (bash, the input in the environment), deploys and fills
//! `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`. The install step leaves a ferry on PATH be.

use std::path::Path;
use std::process::Command;

use crate::support::test::root;

/// bash running `script` with ferry (this build) first on PATH.
fn action_step(script: &str, dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let ferry = Path::new(env!("CARGO_BIN_EXE_ferry"));
    let path = format!(
        "{}:{}",
        ferry.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command.arg(root().join("scripts").join(script)).current_dir(dir).env("PATH", path);
    command.env("GITHUB_ACTION_PATH", root()).env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("bash runs")
}

#[test]
fn the_action_declares_what_ferry_writes() {
    let Some(python) = crate::support::moto::python_tool("python") else { return };
    let script = "import json, sys, yaml\nprint(json.dumps(yaml.safe_load(open(sys.argv[1]))))";
    let output = Command::new(python)
        .args(["-c", script])
        .arg(root().join("action.yml"))
        .output()
        .expect("python");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let action: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(action["runs"]["using"], "composite");
    for (output, written) in [
        ("verdict", "verdict"),
        ("exit-code", "exit_code"),
        ("revision", "revision"),
        ("digest", "digest"),
        ("deployment", "deployment"),
    ] {
        assert_eq!(
            action["outputs"][output]["value"],
            format!("${{{{ steps.ferry.outputs.{written} }}}}"),
            "{output}"
        );
    }
    let steps = action["runs"]["steps"].as_array().expect("steps");
    for step in steps {
        let run = step["run"].as_str().expect("run");
        let script = run.trim_matches('"').trim_start_matches("$GITHUB_ACTION_PATH/");
        let path = root().join(script);
        assert!(path.is_file(), "{run} names {}", path.display());
        // The input reaches the script through the environment, never pasted into it.
        assert!(!run.contains("inputs."), "{run}");
    }
    assert_eq!(steps[1]["id"], "ferry");
    assert_eq!(steps[1]["env"]["FERRY_ARGS"], "${{ inputs.args }}");
}

#[test]
fn the_run_step_deploys_and_writes_the_outputs_and_the_summary() {
    let dir = tempfile::tempdir().expect("dir");
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let state = dir.path().join("state.json");
    let args = format!(
        "run {} --target local --speed 600 --state {} --allow-dirty",
        root().join("pipelines/hello.deploy").display(),
        state.display()
    );
    let ran = action_step(
        "action-run",
        dir.path(),
        &[
            ("FERRY_ARGS", args.as_str()),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", outputs.to_str().expect("path")),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("path")),
        ],
    );
    assert_eq!(ran.status.code(), Some(0), "{}", String::from_utf8_lossy(&ran.stderr));
    let written = std::fs::read_to_string(&outputs).expect("outputs");
    assert!(written.starts_with("verdict=success\nexit_code=0\n"), "{written}");
    assert!(written.contains("\nrevision=arn:aws:ecs:"), "{written}");
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(text.starts_with("## ferry: deployed and verified (exit 0)"), "{text}");
    // A refusal before the run starts has its annotation, summary and outputs too.
    let (outputs, summary) = (dir.path().join("refused-out"), dir.path().join("refused.md"));
    let ran = action_step(
        "action-run",
        dir.path(),
        &[
            ("FERRY_ARGS", "run missing.deploy"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", outputs.to_str().expect("path")),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("path")),
        ],
    );
    assert_eq!(ran.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(stdout.starts_with("::error title=ferry::"), "{stdout}");
    let written = std::fs::read_to_string(&outputs).expect("outputs");
    assert_eq!(written, "verdict=invalid_input\nexit_code=2\n");
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(text.starts_with("## ferry: refused, nothing was changed (exit 2)"), "{text}");
    assert!(text.contains("missing.deploy"), "{text}");
    // An empty input is no deploy; a multi-line one is every line's words.
    let ran = action_step("action-run", dir.path(), &[("FERRY_ARGS", "")]);
    assert_eq!(ran.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ran.stderr).contains("`args` input is empty"));
    let ran =
        action_step("action-run", dir.path(), &[("FERRY_ARGS", "check\n--format json\nnone")]);
    assert_eq!(ran.status.code(), Some(2), "the file `none` is missing, as JSON");
    assert!(String::from_utf8_lossy(&ran.stdout).contains("\"code\""), "--format json was read");
    // A hostile input is words for ferry, not a command for the shell.
    let ran = action_step("action-run", dir.path(), &[("FERRY_ARGS", "check; touch pwned")]);
    assert_ne!(ran.status.code(), Some(0));
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn the_install_step_keeps_a_ferry_already_on_path() {
    let dir = tempfile::tempdir().expect("dir");
    let ran = action_step("action-install", dir.path(), &[]);
    assert_eq!(ran.status.code(), Some(0), "{}", String::from_utf8_lossy(&ran.stderr));
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(stdout.starts_with("ferry on PATH: ferry "), "{stdout}");
}
