//! perch-bench: measured figures for BENCHMARKS.md, each as a ratio against
//! a baseline taken in the same run (no timed asserts anywhere).
//!
//! - `exec-storm`: perchd under a storm of short processes (`exec_storm`);
//! - `console`: perch + perchd against htop with 10k sleeping processes,
//!   each in its own pty (`console`).
mod args;
mod console;
mod exec_storm;

use anyhow::bail;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_else(|| "exec-storm".to_owned());
    let rest: Vec<String> = args.collect();
    match cmd.as_str() {
        "exec-storm" => tokio::runtime::Runtime::new()?.block_on(exec_storm::run(rest)),
        // Synchronous on the main thread: the sleepers and consoles it
        // spawns die with this thread (PR_SET_PDEATHSIG).
        "console" => console::run(rest),
        "-h" | "--help" | "help" => {
            println!("usage: {}\n       {}", exec_storm::USAGE, console::USAGE);
            Ok(())
        }
        other => bail!(
            "unknown benchmark {other}; usage: {} | {}",
            exec_storm::USAGE,
            console::USAGE
        ),
    }
}
