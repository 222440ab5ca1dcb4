//! The processes the tests need beyond `sh` and `sleep`: this test binary
//! re-run in a helper mode (many threads, a process group of its own, a
//! fork loop), and a child given a chosen pid with clone3.
use std::thread::sleep;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// A shell command running this test binary as helper `mode` (see
/// `helper_main`).
pub fn helper(mode: &str) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    format!(
        "env PERCH_ACTIONS_HELPER={mode} \"{}\" helper_process --exact --test-threads=1 >/dev/null 2>&1",
        exe.display()
    )
}

/// The helper processes.  `threads`: four extra threads, all asleep.
/// `own-group`: moves to a process group of its own.  `forker`: forks
/// without end, keeping at most 50 children (killing the oldest), so it
/// is always mid-fork-loop when an action comes.
pub fn helper_main(mode: &str) -> ! {
    match mode {
        "threads" => {
            for _ in 0..4 {
                std::thread::spawn(|| sleep_forever());
            }
        }
        "own-group" => {
            nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)).expect("setpgid");
        }
        "forker" => forker(),
        other => panic!("unknown helper mode {other}"),
    }
    sleep_forever()
}

fn sleep_forever() -> ! {
    loop {
        sleep(Duration::from_hours(1));
    }
}

fn forker() -> ! {
    let mut kids = std::collections::VecDeque::new();
    loop {
        // SAFETY: the child only calls pause() (async-signal-safe), so
        // forking from this multi-threaded process is sound.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => loop {
                nix::unistd::pause();
            },
            Ok(nix::unistd::ForkResult::Parent { child }) => kids.push_back(child),
            Err(_) => sleep(Duration::from_millis(10)),
        }
        if kids.len() > 50
            && let Some(old) = kids.pop_front()
        {
            let _ = kill(old, Signal::SIGKILL);
            let _ = waitpid(old, None);
        }
        sleep(Duration::from_millis(1));
    }
}

/// A child made with clone3 (not a `std::process::Child`), killed and
/// reaped when dropped.
#[derive(Debug)]
pub struct RawChild(pub u32);

impl Drop for RawChild {
    fn drop(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.0).unwrap_or(i32::MAX));
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
    }
}

/// `clone3` with `set_tid`: a child with exactly pid `pid` that execs
/// `/bin/sleep 1000` (EEXIST when the pid is taken).
pub fn spawn_with_pid(pid: u32) -> std::io::Result<RawChild> {
    // struct clone_args from <linux/sched.h> (CLONE_ARGS_SIZE_VER2).
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    // Everything the child needs exists before the clone: after it, only
    // execv and _exit run in the child (async-signal-safe).
    let prog = c"/bin/sleep";
    let exec_argv = [prog.as_ptr(), c"1000".as_ptr(), std::ptr::null()];
    let tid = [libc::pid_t::try_from(pid).expect("pid fits pid_t")];
    let args = CloneArgs {
        exit_signal: u64::try_from(libc::SIGCHLD).expect("SIGCHLD"),
        set_tid: tid.as_ptr() as u64,
        set_tid_size: 1,
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed; the child
    // only calls execv with pointers to live, NUL-terminated data, and
    // `_exit` if that fails.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &raw const args,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret == 0 {
        // SAFETY: see above; in the child.
        unsafe {
            libc::execv(prog.as_ptr(), exec_argv.as_ptr());
            libc::_exit(127);
        }
    }
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(RawChild(u32::try_from(ret).expect("child pid")))
}
