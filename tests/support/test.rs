//! A small builder that runs the `ferry` binary with a clean environment and compares
//! its whole output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One run of `ferry`.
#[must_use]
pub(crate) struct Test {
    command: Command,
    stdin: Option<String>,
}

/// What a run printed and how it ended.
pub(crate) struct Ran {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) code: i32,
}

impl Test {
    pub(crate) fn new() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
        command.env_clear().env("NO_COLOR", "1").current_dir(root());
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        Self { command, stdin: None }
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        mut self,
        args: I,
    ) -> Self {
        self.command.args(args);
        self
    }

    pub(crate) fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Run in `dir` (also its `HOME`) against an AWS endpoint at `url` (the local ECS)
    /// with dummy keys in us-east-1, as `--target aws` with `AWS_ENDPOINT_URL`.
    pub(crate) fn on_endpoint(self, url: &str, dir: &Path) -> Self {
        self.current_dir(dir)
            .env("HOME", dir)
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "y")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", url)
            .env("AWS_EC2_METADATA_DISABLED", "true")
    }

    pub(crate) fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Standard input for the run (none: an empty one).
    pub(crate) fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    pub(crate) fn run(mut self) -> Ran {
        let Output { status, stdout, stderr } = match self.stdin.take() {
            None => self.command.output().expect("ferry runs"),
            Some(text) => {
                use std::io::Write as _;
                let mut child = self
                    .command
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("ferry runs");
                let mut input = child.stdin.take().expect("stdin");
                let writer = std::thread::spawn(move || {
                    let _ = input.write_all(text.as_bytes());
                });
                let output = child.wait_with_output().expect("ferry runs");
                let _ = writer.join();
                output
            }
        };
        Ran {
            stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
            code: status.code().expect("ferry exits with a code"),
        }
    }
}

impl Ran {
    /// The NDJSON events on standard output (`--output ndjson`); every line must be one.
    pub(crate) fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).expect("an NDJSON line"))
            .collect()
    }

    #[track_caller]
    pub(crate) fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn stdout(self, expected: &str) -> Self {
        assert_eq!(self.stdout, unindent(expected), "stdout\nstderr:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub(crate) fn stderr(self, expected: &str) -> Self {
        assert_eq!(self.stderr, unindent(expected), "stderr\nstdout:\n{}", self.stdout);
        self
    }
}

/// Removes the common indentation of an indented expected text, and its first newline.
pub(crate) fn unindent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|line| line.get(indent..).unwrap_or(line.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

/// SDK settings for an endpoint of the local ECS (test credentials, us-east-1).
pub(crate) async fn sdk_config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(url)
        .test_credentials()
        .load()
        .await
}

/// Runs git in `dir` as a fixed author at a fixed time, so that the same files make the
/// same commit SHA on every machine; returns its standard output, trimmed.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
