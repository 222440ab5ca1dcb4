//! perch-bench: measured figures for BENCHMARKS.md, each as a ratio against
//! a baseline taken in the same run (no timed asserts anywhere).
//!
//! - `exec-storm`: perchd under a storm of short processes (`exec_storm`);
//! - `connect-storm`: perchd under loopback TCP connect + close as fast as
//!   two loops can, with the connections it missed (`connect_storm`);
//! - `console`: perch + perchd against htop with 10k sleeping processes,
//!   each in its own pty (`console`);
//! - `kill-latency`: confirm -> target dead through perchd, against
//!   kill(2) (`kill_latency`);
//! - `memory`: perchd's and the console's peak RSS under an argv-heavy
//!   storm and stalled streams, against their idle peaks (`memory`);
//! - `detect`: the detection rules' cost per exec against the same event
//!   path without them, and a flag joining a trace with 10,000 flags held
//!   against with 10 (`detect`);
//! - `flag-latency`: exec -> flag visible to a watching client, against
//!   exec -> Exec event visible (`flag_latency`);
//! - `open-storm`: opens of unwatched files with perchd against without
//!   (the in-kernel path filter), and perchd's CPU per security event
//!   (`open_storm`);
//! - `history-storm`, `history-seek`: the history store's cost on the
//!   exec storm and its seek latency at N processes (`history`);
//! - `policy-kill`, `policy-storm`: a deviant killed by an enforcing
//!   workload policy, and the exec storm with 50 policies (`policy`);
//! - `replay`: importing a Spydertop recording against gzip + JSON
//!   parsing alone, and seeking in it against a whole import (`replay`).
mod args;
mod bpf_stats;
mod connect_storm;
mod console;
mod console_seek;
mod detect;
mod exec_storm;
mod flag_latency;
mod history;
mod kill_latency;
mod memory;
mod open_storm;
mod policy;
mod replay;

use std::process::ExitCode;

/// `history-seek` and `console` run the console's code: with the console's
/// allocator (tui/src/main.rs says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::bail;

/// Errors are one line on stderr, exit status 1.
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perch-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_else(|| "exec-storm".to_owned());
    let rest: Vec<String> = args.collect();
    match cmd.as_str() {
        "exec-storm" => tokio::runtime::Runtime::new()?.block_on(exec_storm::run(rest)),
        "connect-storm" => tokio::runtime::Runtime::new()?.block_on(connect_storm::run(rest)),
        // Synchronous on the main thread: the consoles it spawns die with
        // this thread (PR_SET_PDEATHSIG fires when the forking thread ends).
        "console" => console::run(rest),
        "kill-latency" => tokio::runtime::Runtime::new()?.block_on(kill_latency::run(rest)),
        "detect" => detect::run(rest),
        "flag-latency" => tokio::runtime::Runtime::new()?.block_on(flag_latency::run(rest)),
        "memory" => tokio::runtime::Runtime::new()?.block_on(memory::run(rest)),
        "open-storm" => tokio::runtime::Runtime::new()?.block_on(open_storm::run(rest)),
        "replay" => replay::run(rest),
        "policy-kill" => tokio::runtime::Runtime::new()?.block_on(policy::kill(rest)),
        "policy-storm" => {
            tokio::runtime::Runtime::new()?.block_on(policy::storm_with_policies(rest))
        }
        "history-storm" => tokio::runtime::Runtime::new()?.block_on(history::storm(rest)),
        // On the main thread, like `console`: it forks the sleepers.
        "history-seek" => history::seek(rest),
        // A client that stops reading, for the memory test and benchmark.
        "stall-streams" => {
            tokio::runtime::Runtime::new()?.block_on(perch_e2e::memory::stall_main(rest))
        }
        "-h" | "--help" | "help" => {
            println!(
                "usage: {}\n       {}\n       {}\n       {}\n       {}\n       {}\n       {}\n       {}\n       {}\n       {}\n       {}\n       {}\n       {}",
                exec_storm::USAGE,
                connect_storm::USAGE,
                console::USAGE,
                kill_latency::USAGE,
                detect::USAGE,
                flag_latency::USAGE,
                memory::USAGE,
                open_storm::USAGE,
                replay::USAGE,
                history::STORM_USAGE,
                history::SEEK_USAGE,
                policy::KILL_USAGE,
                policy::STORM_USAGE
            );
            Ok(())
        }
        other => bail!(
            "unknown benchmark {other}; usage: {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}",
            exec_storm::USAGE,
            connect_storm::USAGE,
            console::USAGE,
            kill_latency::USAGE,
            detect::USAGE,
            flag_latency::USAGE,
            memory::USAGE,
            open_storm::USAGE,
            replay::USAGE,
            history::STORM_USAGE,
            history::SEEK_USAGE
        ),
    }
}
