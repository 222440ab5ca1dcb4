//! The live console: terminal set-up and restore (also on panic), one
//! `select!` loop over input, collector updates and a clock, and one draw
//! per pass.  The console's state and widgets live in `crate::console`.
mod conn;
mod embed;

use std::{
    io::stdout,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use crossterm::{
    event::{
        DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream, KeyEventKind,
    },
    execute,
};
use futures::StreamExt as _;
use tokio::sync::mpsc;

use crate::{
    client::{Target, connect},
    console::{self, App, Config, ConnectionState, HostId},
};
use conn::Update;

/// How often the clock ticks (exited-process expiry, events/s, redraw).
const TICK: Duration = Duration::from_millis(500);

/// Runs the console until the user quits.  With a single default target
/// that does not answer, starts an embedded collector instead.
pub async fn run(targets: Vec<Target>, allow_embedded: bool) -> anyhow::Result<()> {
    let mut embedded = None;
    let mut follow: Vec<(Target, bool)> = targets.into_iter().map(|t| (t, false)).collect();
    if allow_embedded && follow.len() == 1 && connect(&follow[0].0).await.is_err() {
        let e = embed::Embedded::start().await?;
        follow = vec![(Target::Unix(e.socket.clone()), true)];
        embedded = Some(e);
    }
    let (tx, mut rx) = mpsc::channel(256);
    let mut app = App::new(config(), Instant::now());
    for (i, (target, is_embedded)) in follow.into_iter().enumerate() {
        let host = HostId(u16::try_from(i).context("too many collectors")?);
        app.set_connection(host, ConnectionState::Connecting);
        app.set_host_label(host, &target.to_string());
        tokio::spawn(conn::follow(host, target, is_embedded, tx.clone()));
    }
    drop(tx);

    let mut terminal = ratatui::init(); // raw mode, alternate screen, panic hook
    let _ = execute!(stdout(), EnableMouseCapture);
    let result = run_loop(&mut terminal, &mut app, &mut rx).await;
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
    drop(embedded);
    result
}

async fn run_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &mut mpsc::Receiver<Update>,
) -> anyhow::Result<()> {
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        terminal
            .draw(|f| console::draw(f, app))
            .context("drawing")?;
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => on_input(app, &ev),
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            update = rx.recv() => {
                let Some(update) = update else { return Ok(()) };
                apply(app, update);
                // Take everything already queued before drawing again.
                while let Ok(update) = rx.try_recv() {
                    apply(app, update);
                }
            }
            _ = tick.tick() => app.tick(Instant::now()),
        }
        if app.should_quit() {
            return Ok(());
        }
    }
}

fn on_input(app: &mut App, ev: &TermEvent) {
    let action = match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
            console::action_for(*k, &app.input_mode())
        }
        TermEvent::Mouse(m) => console::mouse_action(*m, app),
        _ => None, // resize: the next draw adapts
    };
    if let Some(a) = action {
        app.update(a);
    }
}

fn apply(app: &mut App, update: Update) {
    match update {
        Update::Info(h, info) => app.ingest_info(h, info),
        Update::Snapshot(h, procs) => app.ingest_snapshot(h, procs),
        Update::Events(h, events) => app.ingest_events(h, &events),
        Update::State(h, state) => app.set_connection(h, state),
    }
}

fn config() -> Config {
    let mut c = Config::from_env();
    c.utc_offset_secs = utc_offset_secs();
    c
}

/// Local time's offset from UTC (the console shows local start times).
fn utc_offset_secs() -> i32 {
    // SAFETY: localtime_r only writes into the `tm` we own.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&raw const now, &raw mut tm).is_null() {
            return 0;
        }
        i32::try_from(tm.tm_gmtoff).unwrap_or(0)
    }
}
