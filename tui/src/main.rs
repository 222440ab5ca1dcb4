//! `perch`: the command-line client.  Exit status 0 on success, 2 when no
//! collector answers, 1 for anything else; errors are one line on stderr.
//! Actions (`perch kill` …) exit 3 when only partly successful, and 4 when
//! their signal was delivered but a process still runs after perchd
//! watched it.
mod cli;
mod cmd;

/// mimalloc, not glibc's malloc: a seek or a snapshot frees one model of
/// 10,000+ processes and builds another (a dozen strings each), and glibc
/// spent half of that in `free` and `malloc_consolidate`; with mimalloc
/// the console's side of a seek takes a third less (BENCHMARKS.md, "seek").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::{io, process::ExitCode};

use clap::FromArgMatches as _;
use cli::{AuditCommand, Cli, Command, detect::RulesCommand};
use perch::config::Settings;
use perch_client::ConnectError;

fn main() -> ExitCode {
    // Built by `cli::help` so each subcommand's help lists what it uses.
    let cli = match Cli::from_arg_matches(&cli::help::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The console's settings are read and checked before anything else
    // (runtime, collector, terminal): a bad file stops here, one line.
    let console = match &cli.command {
        None => true,
        Some(Command::Replay(args)) => !args.print,
        Some(_) => false,
    };
    let settings = if console {
        match perch::config::load(cli.config.as_deref(), &perch::config::Env::current()) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("perch: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
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
    match runtime.block_on(run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        // `perch ps | head`: the reader has what it wanted.
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        // The result line is already out; only the status is left to give.
        Err(e) if e.downcast_ref::<cmd::act::Unsuccessful>().is_some() => ExitCode::from(
            e.downcast_ref::<cmd::act::Unsuccessful>()
                .map_or(1, cmd::act::Unsuccessful::exit_code),
        ),
        Err(e) => {
            eprintln!("perch: {e:#}");
            if e.downcast_ref::<ConnectError>().is_some()
                || e.downcast_ref::<perch::live::NoEmbedded>().is_some()
                || e.downcast_ref::<perch::live::NoTerminal>().is_some()
                || e.downcast_ref::<perch::live::NoAccess>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli, settings: Option<Settings>) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Ps(args)) => cmd::ps(&cli.conn.target()?, cli.conn.timeout(), &args).await,
        Some(Command::Events(args)) => {
            cmd::events(&cli.conn.target()?, cli.conn.timeout(), &args).await
        }
        Some(Command::Conns(args)) => {
            cmd::net::conns(&cli.conn.target()?, cli.conn.timeout(), &args).await
        }
        Some(Command::Listening(args)) => {
            cmd::net::listening(&cli.conn.target()?, cli.conn.timeout(), &args).await
        }
        Some(Command::Act(act)) => {
            cmd::act::run(&cli.conn.target()?, cli.conn.timeout(), &act).await
        }
        Some(Command::Completions { shell }) => {
            cmd::docs::completions(shell, &mut io::stdout().lock());
            Ok(())
        }
        Some(Command::Man) => Ok(cmd::docs::man(&mut io::stdout().lock())?),
        Some(Command::Replay(args)) if args.print => {
            cmd::replay::run(&args, &mut io::stdout().lock())
        }
        Some(Command::Record(args)) => {
            cmd::record::run(
                &cli.conn.target()?,
                cli.conn.timeout(),
                &args,
                &mut io::stderr().lock(),
            )
            .await
        }
        // The console on a recording: time travel only, no collector.
        Some(Command::Replay(args)) => {
            let rec = perch::replay::Recording::open(&args.file)?;
            let at = args.at.map(|ns| u64::try_from(ns.max(0)).unwrap_or(0));
            perch::live::run_replay(std::sync::Arc::new(rec), at, settings.unwrap_or_default())
                .await
        }
        Some(Command::Audit(AuditCommand::Verify { path })) => {
            cmd::audit::verify_with_perchd(
                &path,
                &cli.conn.socket,
                &mut io::stdout().lock(),
                &mut io::stderr().lock(),
            )
            .await
        }
        Some(Command::Audit(AuditCommand::List(args))) if args.perchd => {
            cmd::audit::list_from_perchd(
                &args,
                &cli.conn.target()?,
                &mut io::stdout().lock(),
                &mut io::stderr().lock(),
            )
            .await
        }
        Some(Command::Audit(AuditCommand::List(args))) => {
            cmd::audit::list(&args, &mut io::stdout().lock(), &mut io::stderr().lock())
        }
        Some(Command::Flags(args)) => {
            cmd::detect::flags(&cli.conn.target()?, cli.conn.timeout(), &args).await
        }
        Some(Command::Traces(args)) => {
            cmd::detect::traces(&cli.conn.target()?, cli.conn.timeout(), &args).await
        }
        Some(Command::Trace(args)) => {
            cmd::detect::trace(&cli.conn.target()?, cli.conn.timeout(), &args).await
        }
        Some(Command::Suppress(args)) => {
            cmd::detect::suppress(&cli.conn.target()?, cli.conn.timeout(), &args).await
        }
        Some(Command::Policy(c)) => cmd::policy::run(&cli.conn, &c).await,
        Some(Command::Rules(RulesCommand::List { json })) => {
            cmd::detect::rules(&cli.conn.target()?, cli.conn.timeout(), json).await
        }
        Some(Command::Rules(RulesCommand::Check { file })) => cmd::detect::check(&file),
        // The console; an embedded collector when none answers locally and
        // the user named no collector.
        None => {
            let targets = cli.conn.targets()?;
            let embedded = cli.conn.is_default();
            let settings = settings.unwrap_or_default();
            // Time travel asks every collector's history store; the first
            // one's clock is the timeline's.
            let mut sources = targets.iter().enumerate().filter_map(|(i, t)| {
                let host = perch::console::HostId(u16::try_from(i).ok()?);
                let source: std::sync::Arc<dyn perch::travel::TimeSource> = std::sync::Arc::new(
                    perch::live::GrpcHistory::new(t.clone(), cli.conn.timeout()),
                );
                Some((host, source))
            });
            let source = sources.next().map(|(_, s)| s);
            let history = perch::live::History {
                source,
                others: sources.collect(),
                at_unix_ns: cli
                    .at
                    .map(|ns| u64::try_from(ns.max(0)).unwrap_or(u64::MAX)),
            };
            perch::live::run(targets, embedded, settings, cli.read_only, history).await
        }
    }
}
