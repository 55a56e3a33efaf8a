//! The Python tools of the compatibility tests (`scripts/python-env`), and moto's server
//! on a loopback port. Absent tools: the caller skips, unless `FERRY_REQUIRE_MOTO=1`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A tool of the Python environment, or `None` (with the reason printed) when absent.
pub(crate) fn python_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("FERRY_PYTHON_ENV")
        .map(|dir| PathBuf::from(dir).join(name))
        .filter(|p| p.is_file());
    if found.is_none() {
        let reason = format!(
            "`{name}` is not available: run scripts/test, which makes the Python environment \
             (scripts/python-env)"
        );
        assert!(
            std::env::var_os("FERRY_REQUIRE_MOTO").is_none_or(|v| v != "1"),
            "FERRY_REQUIRE_MOTO=1 but {reason}"
        );
        eprintln!("skipped: {reason}");
    }
    found
}

/// The environment of an AWS tool of the Python environment (`bin`) pointed at `url`,
/// with test credentials and nothing of the machine's AWS configuration.
pub(crate) fn aws_env(command: &mut Command, url: &str, bin: &std::path::Path) {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    command
        .env_clear()
        .env("PATH", path)
        .env("HOME", std::env::temp_dir())
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_PAGER", "")
        .stdin(Stdio::null());
}

/// Runs a Python script of the environment at `python` against the endpoint `url` (with
/// `aws_env`, `args` after the script, and `envs`); its last line of output read as a
/// JSON summary, its standard error, and whether it succeeded.
pub(crate) async fn python_summary(
    python: PathBuf,
    script: PathBuf,
    args: Vec<String>,
    url: String,
    envs: Vec<(&'static str, String)>,
) -> (serde_json::Value, String, bool) {
    let output = tokio::task::spawn_blocking(move || {
        let bin = python.parent().expect("bin").to_owned();
        let mut command = Command::new(&python);
        command.arg(script).args(args);
        aws_env(&mut command, &url, &bin);
        command.envs(envs);
        command.output().expect("python runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("a summary\nstdout: {stdout}\nstderr: {stderr}"));
    (summary, stderr, output.status.success())
}

/// moto's server, stopped when dropped.
pub(crate) struct Moto {
    pub(crate) address: String,
    child: Child,
}

impl Moto {
    pub(crate) fn start() -> Option<Moto> {
        let binary = python_tool("moto_server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let address = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(started.elapsed() < Duration::from_mins(1), "moto did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(Moto { address, child })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
