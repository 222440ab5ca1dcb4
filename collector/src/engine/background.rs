//! Background passes (the per-second sampling of every process, the
//! executable re-check) run at a lower CPU priority than the threads that
//! answer clients: a pass over 10,000 processes takes a core for a quarter
//! of a second, and a console seeking through history or listing processes
//! at that moment would wait for it.  The pass still runs in full; it only
//! yields when something else wants the core.
use rustix::process::{getpriority_process, setpriority_process};

/// The nice value of a background pass (the threads answering clients keep
/// perchd's own, normally 0): under contention a pass gets about a tenth
/// of a core against one client request.
pub(super) const NICE: i32 = 10;

/// Runs `f` on the calling thread (a blocking-pool thread) at [`NICE`] and
/// puts the thread's own priority back afterwards, so later work on that
/// thread is not slowed.  On Linux `setpriority(PRIO_PROCESS, 0)` acts on
/// the calling thread only.  A failure to lower or restore is ignored: the
/// pass then runs at the normal priority, as it did before.
pub(super) fn lowered<T>(f: impl FnOnce() -> T) -> T {
    let before = getpriority_process(None).ok();
    let lowered = before.is_some_and(|b| b < NICE && setpriority_process(None, NICE).is_ok());
    let out = f();
    if let (true, Some(b)) = (lowered, before)
        && let Err(e) = setpriority_process(None, b)
    {
        tracing::warn!("could not restore a worker thread's priority to {b}: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pass sees the lowered priority and the thread gets its own back
    /// (perchd runs as root, which may raise a priority again; tests do too).
    #[test]
    fn a_pass_runs_lowered_and_the_thread_is_restored() {
        std::thread::spawn(|| {
            let before = getpriority_process(None).expect("getpriority");
            let during = lowered(|| getpriority_process(None).expect("getpriority"));
            assert_eq!(during, NICE.max(before));
            assert_eq!(getpriority_process(None).expect("getpriority"), before);
        })
        .join()
        .expect("thread");
    }
}
