//! perchd: parses flags, starts the engine, serves gRPC until SIGINT/SIGTERM;
//! SIGHUP reopens the audit log (after `mv` for rotation).
use std::{
    io::IsTerminal as _,
    sync::{Arc, Mutex, PoisonError},
};

use anyhow::Context as _;
use clap::Parser as _;
use perchd::{audit::AuditLog, cli::Args, engine::Engine, server};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    // Before the runtime's threads exist.
    perchd::engine::tune_allocator();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(async_main()),
        Err(e) => {
            eprintln!("perchd: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn async_main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter = args.log.as_deref().map_or_else(
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        EnvFilter::new,
    );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(std::io::stderr)
        .init();
    match run(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perchd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Colour codes only for a terminal, and not when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>): a log file or a
/// journal shows escape sequences as they are.
fn colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let settings = args.settings()?;
    // Before anything slow: an early SIGHUP must not end perchd, and a
    // SIGTERM sent as soon as "ready" is logged must shut it down cleanly
    // rather than kill it by the default action.
    let hup = signal(SignalKind::hangup()).context("handling SIGHUP")?;
    let term = signal(SignalKind::terminate()).context("handling SIGTERM")?;
    let int = signal(SignalKind::interrupt()).context("handling SIGINT")?;
    // One descriptor per connection: take what the system allows, then
    // keep TCP below it so the Unix socket always has room.
    let nofile = server::raise_fd_limit().context("raising RLIMIT_NOFILE")?;
    let (limits, lowered) = server::fit_to_fd_limit(settings.access.connections, nofile);
    if let Some(why) = lowered {
        tracing::warn!("{why}");
    }
    let opts = server::ServeOptions {
        socket: settings.socket.clone(),
        socket_group: settings
            .socket_group
            .clone()
            .or_else(server::default_socket_group),
        limits,
        listen: settings.listen,
        tls: match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => Some(server::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: settings.tls_client_ca.clone(),
            }),
            _ => None,
        },
    };
    // Bind first: a busy socket or bad TLS file fails before eBPF loads.
    let bound = server::bind(opts).await.context("serving")?;
    let engine = Engine::start(&settings)
        .await
        .context("starting the collector")?;
    let shared = engine.shared();
    let hangup = reopen_on_sighup(hup, Arc::clone(shared.audit()));
    tracing::info!(mode = ?shared.mode(), "perchd ready");
    bound
        .serve(shared, shutdown_signal(term, int))
        .await
        .context("serving")?;
    hangup.abort();
    drop(engine);
    Ok(())
}

/// On SIGHUP, looks at the audit log again: a log renamed away (rotation)
/// is continued in a new file at its path, chained to the old one.
fn reopen_on_sighup(mut hup: Signal, audit: Arc<Mutex<AuditLog>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let audit = Arc::clone(&audit);
            let reopened = tokio::task::spawn_blocking(move || {
                audit
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .reopen()
            })
            .await;
            match reopened {
                Ok(Ok(true)) => tracing::info!("SIGHUP: the audit log continues in a new file"),
                Ok(Ok(false)) => tracing::info!("SIGHUP: the audit log is where it was"),
                Ok(Err(e)) => tracing::error!("SIGHUP: {e}"),
                Err(e) => tracing::error!("SIGHUP: reopening the audit log failed: {e}"),
            }
        }
    })
}

/// Resolves on the first SIGTERM or SIGINT. The streams are made by the
/// caller before perchd says it is ready, so no signal falls between.
async fn shutdown_signal(mut term: Signal, mut int: Signal) {
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())));
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }
}
