//! The console's configuration file with the real `perch` binary: a bad
//! file stops it before the terminal is set up, with one line naming the
//! key and its line; a good one takes effect in a real terminal (tmux):
//! with quit moved to `x`, `q` no longer quits and `x` does.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use perch_e2e::{
    Perchd, binary,
    procs::{Finished, run_bounded},
    tmux::Tmux,
};

/// What the terminal set-up writes first: the alternate screen, raw mode's
/// companions (mouse capture), clearing the screen.
const SETUP_ESCAPES: [&str; 3] = ["\x1b[?1049h", "\x1b[?1000h", "\x1b[2J"];

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs the console with `cmd`'s configuration; it must fail at once, with
/// one line on stderr and nothing on stdout.  No collector is running at
/// the socket: were the file accepted, perch would go on to start one and
/// set up the terminal.
fn console_refuses(cmd: &mut Command) -> String {
    let out: Finished = run_bounded(
        cmd.args(["--socket", "/nonexistent/perch-e2e/perchd.sock"])
            .env_remove("PERCH_CONFIG")
            .env_remove("NO_COLOR"),
        Duration::from_secs(30),
    );
    assert!(!out.status.success(), "perch started: {out:?}");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    for esc in SETUP_ESCAPES {
        assert!(
            !out.stdout.contains(esc),
            "terminal set up ({esc:?}) before the error: {out:?}"
        );
    }
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line: {:?}", out.stderr);
    lines[0].to_owned()
}

fn perch_with(config: &Path) -> Command {
    let mut cmd = Command::new(binary("perch"));
    cmd.arg("--config").arg(config);
    cmd
}

#[test]
fn a_bad_value_names_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "perch.toml",
        "# perch\ntheme = \"mono\"\nrefresh_ms = 5\n",
    );
    let line = console_refuses(&mut perch_with(&path));
    assert_eq!(
        line,
        format!(
            "perch: config {} line 3: refresh_ms must be in 100..=10000 (got 5)",
            path.display()
        )
    );
}

#[test]
fn an_unknown_key_names_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "perch.toml",
        "refresh_ms = 500\n\n[keys]\nquit = [\"q\"]\nqiut = [\"x\"]\n",
    );
    let line = console_refuses(&mut perch_with(&path));
    assert!(
        line.starts_with(&format!(
            "perch: config {} line 5: keys.qiut: ",
            path.display()
        )),
        "{line}"
    );
    let path = write(dir.path(), "typo.toml", "\nrefesh_ms = 500\n");
    let line = console_refuses(&mut perch_with(&path));
    assert!(
        line.contains("line 2") && line.contains("refesh_ms"),
        "{line}"
    );
}

#[test]
fn a_key_bound_to_two_actions_names_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "perch.toml",
        "[keys]\nsearch = [\"/\"]\nfilter = [\"/\"]\n",
    );
    let line = console_refuses(&mut perch_with(&path));
    assert_eq!(
        line,
        format!(
            "perch: config {} line 3: keys.filter: \"/\" is also bound to search in the process list",
            path.display()
        )
    );
}

#[test]
fn the_default_place_and_the_environment_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    // $XDG_CONFIG_HOME/perch/config.toml, without --config.
    let path = write(
        dir.path(),
        "xdg/perch/config.toml",
        "[colors]\nselected = \"mauve\"\n",
    );
    let mut cmd = Command::new(binary("perch"));
    cmd.env("XDG_CONFIG_HOME", dir.path().join("xdg"));
    let line = console_refuses(&mut cmd);
    assert!(
        line.starts_with(&format!(
            "perch: config {} line 2: colors.selected: ",
            path.display()
        )),
        "{line}"
    );
    // A named file that does not exist is an error (a default one is not).
    let missing = dir.path().join("missing.toml");
    let line = console_refuses(&mut perch_with(&missing));
    assert!(
        line.starts_with(&format!("perch: config {}: ", missing.display())),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ps_does_not_read_the_console_configuration() {
    // /proc mode works unprivileged.
    let perchd = Perchd::start(&["--procfs"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(dir.path(), "perch.toml", "refresh_ms = 5\n");
    let out = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perch"))
                .env("PERCH_CONFIG", &bad)
                .arg("--socket")
                .arg(&perchd.socket)
                .arg("ps"),
            Duration::from_secs(30),
        )
    });
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("PID"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebound_quit_key_works_in_a_real_terminal() {
    let perchd = Perchd::start(&["--procfs"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(
        dir.path(),
        "perch.toml",
        "refresh_ms = 200\ncolumns = [\"PID\", \"USER\", \"CPU%\"]\n[keys]\nquit = [\"x\", \"F10\"]\n",
    );
    let cmd = format!(
        "{} --socket {} --config {}",
        binary("perch").display(),
        perchd.socket.display(),
        config.display()
    );
    let tmux = tokio::task::block_in_place(|| Tmux::start(&cmd));
    tokio::task::block_in_place(|| {
        let screen = tmux.wait_for("the console with its configured columns", |s| {
            s.contains("CPU%") && s.contains("COMMAND") && s.contains("F10Quit")
        });
        assert!(!screen.contains("MEM%"), "MEM% not configured:\n{screen}");

        // q no longer quits: the help opened after it proves it was read.
        tmux.keys(&["q"]);
        tmux.keys(&["?"]);
        let help = tmux.wait_for("the help after q", |s| s.contains("Keys (htop and vim"));
        assert!(
            help.lines()
                .any(|l| l.contains("x F10") && l.contains("quit")),
            "help without the rebound keys:\n{help}"
        );
        assert!(tmux.running());
        tmux.keys(&["Escape"]);
        tmux.wait_for("the help to close", |s| !s.contains("Keys (htop and vim"));

        // x does.
        tmux.keys(&["x"]);
        tmux.wait_exit("perch to quit on x");
    });
}
