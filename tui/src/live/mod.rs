//! The live console: terminal set-up and restore (also on panic), one
//! `select!` loop over input, collector updates and a clock, and at most
//! one draw per pass.  Input is drawn at once; collector data only changes
//! the state, and the clock draws it once per refresh interval (htop's
//! delay), so a busy host costs one redraw a second, not one per batch.
//! The console's state and widgets live in `crate::console`; what it asks
//! to send (actions, the audit log) goes out from here.
mod act;
mod conn;
#[cfg(feature = "embedded")]
mod embed;
pub mod history;
mod rows;
mod travel;

use std::{
    io::{IsTerminal as _, stdout},
    time::Instant,
};

use anyhow::Context as _;
use crossterm::{
    event::{
        DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream, KeyEventKind,
    },
    execute,
};
use futures::StreamExt as _;
use tokio::{
    sync::{mpsc, watch},
    time::MissedTickBehavior,
};

use perch_client::{ConnectError, Target, connect};

use crate::{
    config::Settings,
    console::{self, App, ConnectionState, HostId, Theme},
};
use conn::Update;
pub use history::GrpcHistory;
pub use travel::{History, answer, answer_all, run_replay};
use travel::{wall_ns, with_history};

/// Runs the console until the user quits.  With a single default target
/// that does not answer, starts an embedded collector instead.  `settings`
/// come checked (`crate::config::load`) before anything here runs;
/// `read_only` hides every action; `history` lets it travel in time.
pub async fn run(
    targets: Vec<Target>,
    allow_embedded: bool,
    settings: Settings,
    read_only: bool,
    history: History,
) -> anyhow::Result<()> {
    // An embedded collector runs until this function returns, after the
    // terminal is restored.  (Finding the collector touches no terminal,
    // and its errors — no access, no embedded collector — come first.)
    let (follow, _embedded) = collectors(targets, allow_embedded).await?;
    need_terminal()?;
    // An embedded collector answers on its own socket, history included.
    let mut history = history;
    if let Some((target, true)) = follow.first() {
        history.source = Some(std::sync::Arc::new(GrpcHistory::new(
            target.clone(),
            EMBEDDED_TIMEOUT,
        )));
    }
    // Decoded updates waiting for the loop.  Few: a message of events
    // decodes to up to ~1 MiB (argv of one-byte arguments), and a loop that
    // falls behind should leave the backlog in the collector (which bounds
    // it and says LAGGED), not in this process.
    let (tx, mut rx) = mpsc::channel(UPDATE_QUEUE);
    let mut config = settings.console.clone();
    // A snapshot arrives while the rows it replaces are still held, and a
    // decoded process can be several times its row: a quarter of the rows'
    // memory for the snapshot's exited processes.
    let budget = config.process_memory_bytes / 4;
    config.utc_offset_secs = crate::when::local_utc_offset_secs();
    config.read_only = read_only;
    config.client = crate::act::ClientIdentity::current();
    let mut app = App::new(config, Instant::now());
    let mut targets = Vec::new();
    // Thread rows on or off: each follower asks its collector accordingly.
    let (threads, wants_threads) = watch::channel(app.wants_threads());
    for (i, (target, is_embedded)) in follow.into_iter().enumerate() {
        let host = HostId(u16::try_from(i).context("too many collectors")?);
        app.set_connection(host, ConnectionState::Connecting);
        app.set_host_label(host, &target.to_string());
        targets.push(target.clone());
        tokio::spawn(conn::follow(
            host,
            target,
            is_embedded,
            budget,
            tx.clone(),
            wants_threads.clone(),
        ));
    }
    let out = Out {
        targets,
        config: settings.path.clone(),
        tx,
        threads,
        asker: None,
    };
    let out = with_history(out, &mut app, history, true)?;
    terminal_loop(&mut app, &mut rx, &settings, out).await
}

/// Sets the terminal up, runs the loop, restores the terminal.
async fn terminal_loop(
    app: &mut App,
    rx: &mut mpsc::Receiver<Update>,
    settings: &Settings,
    mut out: Out,
) -> anyhow::Result<()> {
    let mut terminal = ratatui::init(); // raw mode, alternate screen, panic hook
    let _ = execute!(stdout(), EnableMouseCapture);
    // The state pages and hit-tests at the terminal's size.
    if let Ok(size) = terminal.size() {
        app.resize(size.width, size.height);
    }
    let result = run_loop(
        &mut terminal,
        app,
        rx,
        &settings.theme,
        settings.refresh,
        &mut out,
    )
    .await;
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

/// Before anything touches the terminal: a script's `perch < /dev/null`
/// gets one line, not a panic and escape sequences.
fn need_terminal() -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() && stdout().is_terminal() {
        Ok(())
    } else {
        Err(NoTerminal.into())
    }
}

/// An embedded collector is in this process: a history answer that takes
/// longer than this is a bug, not a slow network.
const EMBEDDED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Updates queued between the followers and the loop.
const UPDATE_QUEUE: usize = 8;

/// An embedded collector, kept running while the console does.
#[cfg(feature = "embedded")]
type Embedded = Option<embed::Embedded>;
/// This console was built without one (`--no-default-features`).
#[cfg(not(feature = "embedded"))]
type Embedded = ();

/// The collectors to follow, each with whether it is embedded.  With a
/// single default target that does not answer, an embedded collector
/// stands in — or, in a console built without one, an error says so.
async fn collectors(
    targets: Vec<Target>,
    allow_embedded: bool,
) -> anyhow::Result<(Vec<(Target, bool)>, Embedded)> {
    let follow: Vec<(Target, bool)> = targets.into_iter().map(|t| (t, false)).collect();
    if !allow_embedded || follow.len() != 1 {
        return Ok((follow, Embedded::default()));
    }
    let Err(missing) = connect(&follow[0].0).await else {
        return Ok((follow, Embedded::default()));
    };
    // perchd is there, but this user may not talk to it: say so (an
    // embedded collector would fail on the audit log, which is not the
    // problem).
    if let ConnectError::Unreachable { target, reason } = &missing
        && reason.to_ascii_lowercase().contains("permission denied")
    {
        return Err(NoAccess(target.to_string()).into());
    }
    #[cfg(feature = "embedded")]
    {
        drop(missing);
        // Not worth loading eBPF programs for a console that cannot run.
        need_terminal()?;
        let e = embed::Embedded::start().await?;
        Ok((vec![(Target::Unix(e.socket.clone()), true)], Some(e)))
    }
    #[cfg(not(feature = "embedded"))]
    Err(NoEmbedded(missing).into())
}

/// No collector answers, and this console cannot run one itself.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0}; this perch was built without an embedded collector (cargo feature `embedded`), \
     so it cannot watch this host by itself: start perchd here, or watch a remote one \
     with --connect HOST:PORT --tls-ca FILE"
)]
pub struct NoEmbedded(pub ConnectError);

/// The console was started without a terminal (a script, a pipe).
#[derive(Debug, thiserror::Error)]
#[error("the console needs a terminal; use `perch ps` or `perch events` in scripts")]
pub struct NoTerminal;

/// perchd's socket refused this user.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot connect to the collector at {0}: permission denied. Its socket is open to root \
     and to one group (perchd --socket-group, by default `perch`): join that group \
     (`sudo usermod -aG perch $USER`, then log in again) or run perch as root"
)]
pub struct NoAccess(pub String);

/// Where the console's requests go: each host's target, and the channel
/// their answers come back on.
struct Out {
    targets: Vec<Target>,
    config: Option<std::path::PathBuf>,
    tx: mpsc::Sender<Update>,
    /// Whether the console shows thread rows, for the followers.
    threads: watch::Sender<bool>,
    /// Asks the time source for past states, when there is one.
    asker: Option<travel::Asker>,
}

async fn run_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &mut mpsc::Receiver<Update>,
    theme: &Theme,
    refresh: std::time::Duration,
    out: &mut Out,
) -> anyhow::Result<()> {
    let mut input = EventStream::new();
    // The clock: exited-process expiry, events/s, and drawing what the
    // collector sent since the last draw.  Its first tick is at once.
    let mut clock = tokio::time::interval(refresh);
    clock.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut draw = true;
    loop {
        if draw {
            app.refresh();
            terminal
                .draw(|f| console::render(app, theme, f.area(), f.buffer_mut()))
                .context("drawing")?;
            draw = false;
        }
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => draw = on_input(app, &ev),
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            update = rx.recv() => {
                let Some(update) = update else { return Ok(()) };
                draw |= apply(app, update);
                // Take everything already queued.
                while let Ok(update) = rx.try_recv() {
                    draw |= apply(app, update);
                }
            }
            _ = clock.tick() => {
                app.set_wall_clock(wall_ns());
                app.tick(Instant::now());
                draw = true;
            }
        }
        if app.should_quit() {
            return Ok(());
        }
        out.threads.send_if_modified(|on| {
            let want = app.wants_threads();
            std::mem::replace(on, want) != want
        });
        act::send(
            app.take_outbox(),
            &out.targets,
            out.config.as_deref(),
            &out.tx,
        );
        if let Some(asker) = &mut out.asker {
            asker.send(app, &out.tx);
        }
    }
}

/// Applies a terminal event; true when the screen must be drawn again
/// (a message, or a new size), false for input that changes nothing
/// (mouse motion, releases, unbound keys).
fn on_input(app: &mut App, ev: &TermEvent) -> bool {
    let msg = match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => app.msg_for(*k),
        TermEvent::Mouse(m) => console::mouse_msg(*m, app),
        TermEvent::Resize(width, height) => {
            app.resize(*width, *height);
            return true;
        }
        _ => None,
    };
    let Some(m) = msg else { return false };
    app.update(m);
    true
}

/// Applies a collector update.  Events only change the state (the clock
/// draws them); a snapshot or a connection change is drawn at once: they
/// are rare, and the first list should not wait for the clock.
fn apply(app: &mut App, update: Update) -> bool {
    match update {
        Update::Info(h, info) => {
            app.ingest_info(h, *info);
            false
        }
        Update::Snapshot(h, procs, dropped) => {
            app.ingest_snapshot(h, procs);
            app.note_dropped_early(dropped);
            true
        }
        Update::Connections(h, conns, listening, seq) => {
            app.ingest_connections(h, conns, listening, seq);
            true
        }
        Update::Detections(h, flags, traces, notable) => {
            app.ingest_detections(h, flags, traces, notable);
            true
        }
        Update::Events(h, events) => {
            app.ingest_events(h, &events);
            false
        }
        Update::State(h, state) => {
            app.set_connection(h, state);
            true
        }
        // Answers to this console's own requests: shown at once.
        Update::ActResult(id, result) => {
            app.ingest_act_result(id, *result);
            true
        }
        Update::Audit(h, page) => {
            app.ingest_audit(h, page);
            true
        }
        Update::Policies(h, list) => {
            app.ingest_policies(h, list);
            true
        }
        Update::PolicyApplied(h, done) => {
            app.policy_applied(h, done);
            true
        }
        Update::Saved(result) => {
            app.saved(result);
            true
        }
        Update::Time(answer) => {
            app.ingest_time(*answer);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_embedded_collector_it_says_so_and_how_to_connect() {
        let e = NoEmbedded(ConnectError::NoCollector {
            target: Target::default(),
            reason: "No such file or directory".to_owned(),
        });
        let text = e.to_string();
        assert!(
            text.starts_with(
                "no collector at /run/perch/perchd.sock (No such file or directory); start \
                 perchd or pass --socket PATH; this perch was built without an embedded collector"
            ),
            "{text}"
        );
        assert!(text.contains("--connect HOST:PORT --tls-ca FILE"), "{text}");
    }
}
