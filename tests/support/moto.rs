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
