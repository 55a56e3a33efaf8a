//! A real pseudo-terminal for a test: tmux on a private socket, one session, its screen
//! read back with `capture-pane`. Absent tmux skips with the reason, unless
//! `FERRY_REQUIRE_TMUX` is set (CI sets it; scripts/install-test-parts installs tmux).

use std::path::Path;
use std::time::{Duration, Instant};

/// Whether tmux is here; if not, the skip is said (or fails under FERRY_REQUIRE_TMUX).
pub(crate) fn tmux_available() -> bool {
    if std::process::Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("FERRY_REQUIRE_TMUX").is_none(),
        "FERRY_REQUIRE_TMUX is set but tmux is not installed"
    );
    eprintln!("SKIPPED: tmux is not installed (scripts/install-test-parts installs it)");
    false
}

/// tmux on a private socket with one session, removed on drop.
pub(crate) struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    pub(crate) fn new(session: &str) -> Self {
        let socket = format!("ferry-{session}-{}", std::process::id());
        Self { socket, session: session.to_owned() }
    }

    /// Starts `command` (a shell line) in a `width`×`height` terminal in `dir`.
    pub(crate) fn start(&self, width: u16, height: u16, dir: &Path, command: &str) {
        let (width, height) = (width.to_string(), height.to_string());
        let dir = dir.display().to_string();
        self.run(&[
            "new-session",
            "-d",
            "-s",
            &self.session,
            "-x",
            &width,
            "-y",
            &height,
            "-c",
            &dir,
            command,
        ]);
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", &self.session, key]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub(crate) fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.session])
    }

    /// The screen once it shows `text` (within `within`).
    #[track_caller]
    pub(crate) fn screen_within(&self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "`{text}` never appeared on:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The screen once it shows `text` (within ten seconds).
    #[track_caller]
    pub(crate) fn screen_with(&self, text: &str) -> String {
        self.screen_within(text, Duration::from_secs(10))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
