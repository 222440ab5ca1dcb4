//! `perch`: the command-line client.  Exit status 0 on success, 2 when no
//! collector answers, 1 for anything else; errors are one line on stderr.
mod cli;
mod cmd;

use std::{io, process::ExitCode};

use clap::Parser as _;
use cli::{Cli, Command};
use perch::client::ConnectError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("perch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // `perch ps | head`: the reader has what it wanted.
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("perch: {e:#}");
            if e.downcast_ref::<ConnectError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Ps(args)) => cmd::ps(&cli.conn.target()?, &args).await,
        Some(Command::Events(args)) => cmd::events(&cli.conn.target()?, &args).await,
        // The console; an embedded collector when none answers locally and
        // the user named no collector.
        None => perch::live::run(cli.conn.targets()?, cli.conn.is_default()).await,
    }
}
