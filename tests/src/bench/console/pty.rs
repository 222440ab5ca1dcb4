//! A program in its own pseudo-terminal, as a terminal emulator runs it: a
//! reader thread drains the terminal continuously (a program never blocks
//! on a full pty), feeds every byte to a `vt100` screen, answers the cursor
//! and device queries a real terminal answers, and notes the moment each of
//! a list of checks on the screen first holds.
use std::{
    fs::File,
    io::{Read as _, Write as _},
    os::unix::process::CommandExt as _,
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use nix::{
    fcntl::{FcntlArg, FdFlag, fcntl},
    pty::{Winsize, openpty},
};

/// A check on what the screen shows.
pub type Check = Box<dyn Fn(&vt100::Screen) -> bool + Send>;

/// A terminal size in cells.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub rows: u16,
    pub cols: u16,
}

/// Replies to the queries a program may send its terminal; a program that
/// waits for an answer would otherwise stall here but not in a real one.
#[derive(Default)]
struct Replies {
    out: Vec<u8>,
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        match (i1, c, params) {
            // DSR 6: the cursor position, 1-based.
            (None, 'n', [[6]]) => {
                let (row, col) = screen.cursor_position();
                let _ = write!(self.out, "\x1b[{};{}R", row + 1, col + 1);
            }
            // DSR 5: "terminal OK".
            (None, 'n', [[5]]) => self.out.extend_from_slice(b"\x1b[0n"),
            // DA1: a VT220-class terminal with colour, like xterm says.
            (None, 'c', [] | [[0]]) => self.out.extend_from_slice(b"\x1b[?62;22c"),
            _ => {}
        }
    }
}

/// The reader's side: the screen, the checks and what was read.
struct State {
    parser: vt100::Parser<Replies>,
    /// Each check, and when it first held with the screen at that moment.
    checks: Vec<(Check, Option<(Instant, String)>)>,
    bytes: u64,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking check poisons the lock; the screen is still readable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running program on a pty; killed (SIGKILL) and reaped when dropped.
pub struct PtyProgram {
    child: Child,
    started: Instant,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
}

impl PtyProgram {
    /// Starts `cmd` as the session leader of a new `size` terminal; `checks`
    /// are evaluated after every read until each has held once.
    pub fn spawn(mut cmd: Command, size: Size, checks: Vec<Check>) -> anyhow::Result<Self> {
        let ws = Winsize {
            ws_row: size.rows,
            ws_col: size.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&ws), None).context("openpty")?;
        // openpty's descriptors would leak into every later child otherwise.
        for fd in [&pty.master, &pty.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).context("fcntl FD_CLOEXEC")?;
        }
        cmd.stdin(Stdio::from(pty.slave.try_clone()?))
            .stdout(Stdio::from(pty.slave.try_clone()?))
            .stderr(Stdio::from(pty.slave));
        // SAFETY: runs between fork and exec, so it calls only
        // async-signal-safe functions (setsid, ioctl, prctl) and allocates
        // nothing.
        unsafe {
            cmd.pre_exec(|| {
                // A new session whose controlling terminal is the pty (on
                // stdin), as a terminal emulator starts a shell.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Dies with the benchmark, even when that is SIGKILLed.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                parser: vt100::Parser::new_with_callbacks(
                    size.rows.try_into().context("zero rows")?,
                    size.cols.try_into().context("zero columns")?,
                    0,
                    Replies::default(),
                ),
                checks: checks.into_iter().map(|c| (c, None)).collect(),
                bytes: 0,
                closed: false,
            }),
            changed: Condvar::new(),
        });
        let master = File::from(pty.master);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("spawn {}", cmd.get_program().display()))?;
        // The slave's last copies on this side close here, so reads see the
        // end once the program and its children are gone.
        drop(cmd);
        let reader = std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn({
                let shared = shared.clone();
                move || read_loop(master, &shared)
            })
            .context("spawn the pty reader thread")?;
        Ok(Self {
            child,
            started,
            shared,
            reader: Some(reader),
        })
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until check `index` has held, at most `timeout`; returns the
    /// time from spawn to the read that made it hold.
    pub fn wait_for(&self, index: usize, timeout: Duration) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some((at, _)) = st.checks.get(index).and_then(|c| c.1.as_ref()) {
                return Some(*at - self.started);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if st.closed || left.is_zero() {
                return None;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// The screen when check `index` first held.
    #[must_use]
    pub fn screen_at(&self, index: usize) -> Option<String> {
        let st = self.shared.lock();
        st.checks.get(index)?.1.as_ref().map(|(_, s)| s.clone())
    }

    /// Bytes the program has written to its terminal so far.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.shared.lock().bytes
    }

    /// The screen as text, one line per row (for error messages).
    #[must_use]
    pub fn screen_text(&self) -> String {
        self.shared.lock().parser.screen().contents()
    }

    /// `Some(status)` when the program has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for PtyProgram {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The reader ends when the pty's last slave closes; a grandchild
        // still holding it must not hang the benchmark, so wait a little
        // and otherwise leave the thread to end with the process.
        if let Some(reader) = self.reader.take() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

fn read_loop(mut master: File, shared: &Shared) {
    let mut reply_to = master.try_clone().ok();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // EIO: every slave descriptor is closed (the program is gone).
            Err(_) => break,
        };
        let now = Instant::now();
        let mut st = shared.lock();
        let State {
            parser,
            checks,
            bytes,
            ..
        } = &mut *st;
        *bytes += u64::try_from(n).unwrap_or(u64::MAX);
        parser.process(&buf[..n]);
        let reply = std::mem::take(&mut parser.callbacks_mut().out);
        let mut hit = false;
        for (check, at) in checks.iter_mut().filter(|c| c.1.is_none()) {
            if check(parser.screen()) {
                *at = Some((now, parser.screen().contents()));
                hit = true;
            }
        }
        drop(st);
        if hit {
            shared.changed.notify_all();
        }
        if !reply.is_empty()
            && let Some(w) = reply_to.as_mut()
        {
            let _ = w.write_all(&reply);
        }
    }
    shared.lock().closed = true;
    shared.changed.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real shell in a real pty: its output reaches the screen, the
    /// terminal answers its cursor-position query, and the check fires.
    #[test]
    fn a_program_sees_a_terminal_that_answers() {
        let mut cmd = Command::new("/bin/bash");
        cmd.args([
            "-c",
            r#"printf 'hello\033[6n'; IFS= read -rsd R pos; printf '\r\nsize=%s pos=%s\r\n' "$(stty size)" "${pos#*[}"; sleep 30"#,
        ]);
        let checks: Vec<Check> = vec![Box::new(|s: &vt100::Screen| s.contents().contains("pos="))];
        let prog = PtyProgram::spawn(
            cmd,
            Size {
                rows: 30,
                cols: 100,
            },
            checks,
        )
        .expect("spawn");
        let took = prog.wait_for(0, Duration::from_secs(20));
        let screen = prog.screen_at(0).unwrap_or_else(|| prog.screen_text());
        assert!(took.is_some(), "no answer seen; screen:\n{screen}");
        assert!(screen.contains("hello"), "{screen}");
        assert!(screen.contains("size=30 100 pos=1;6"), "{screen}");
        assert!(prog.bytes() > 0);
    }
}
