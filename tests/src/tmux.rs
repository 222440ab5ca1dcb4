//! A program in a real terminal: a private tmux server running it, whose
//! screen the tests read and whose keyboard they type on.
#![expect(
    clippy::expect_used,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::{
    process::Command,
    time::{Duration, Instant},
};

use crate::procs::unique;

/// A private tmux server (its own socket), killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `cmd` (a shell command line) in a 160x48 window.
    #[must_use]
    pub fn start(cmd: &str) -> Self {
        let socket = unique("tmux");
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "48",
                cmd,
            ])
            .status()
            .expect("run tmux (installed by ./x setup)");
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    /// The window's text now.
    #[must_use]
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `keys` (tmux key names; `-l` first for literal text).
    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits (bounded) until the screen satisfies `ok`; returns it.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Tmux {
    /// The pid of the program in the window (tmux starts it through the
    /// shell, which may stay as its parent).
    #[must_use]
    pub fn program_pid(&self, comm: &str) -> Option<u32> {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "list-panes", "-F", "#{pane_pid}"])
            .output()
            .ok()?;
        let pane: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
        let comm_of = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok();
        if comm_of(pane).is_some_and(|c| c.trim() == comm) {
            return Some(pane);
        }
        std::fs::read_to_string(format!("/proc/{pane}/task/{pane}/children"))
            .ok()?
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .find(|&p| comm_of(p).is_some_and(|c| c.trim() == comm))
    }

    /// True while the program runs (its session ends when it exits).
    #[must_use]
    pub fn running(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Waits (bounded) until the program has exited.
    pub fn wait_exit(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.running() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
