//! What the snapshot tests share: the recorded fixture, a console fed
//! with it, and the screen as text.
// `allow`, not `expect`: each test binary uses a different part of this
// module, so in some of them nothing is dead.
#![allow(dead_code, reason = "each test binary uses some of the helpers")]
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use perch::console::{
    App, Config, ConnectionState, HostId, Msg, ProcessKey, draw, recording::Recording,
};
use ratatui::{
    Terminal,
    backend::TestBackend,
    buffer::Buffer,
    style::{Color, Modifier},
};

pub const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

pub fn recording() -> Recording {
    Recording::decode(include_bytes!("../fixtures/host.bin")).expect("fixture decodes")
}

pub fn feed(app: &mut App, host: HostId, rec: &Recording, name: &str) {
    let mut info = rec.info.clone();
    name.clone_into(&mut info.host);
    app.ingest_info(host, info);
    app.set_connection(host, ConnectionState::Connected);
    app.ingest_snapshot(host, rec.processes.clone());
    for batch in &rec.events {
        app.ingest_events(host, &batch.events);
    }
}

/// The console after the whole recording, one second later (so events/s
/// has a value), kernel threads shown when `kernel`.  Coloured, so the
/// snapshot can tell the selection and the search highlights.
pub fn app_with(kernel: bool) -> App {
    let t0 = Instant::now();
    let mut app = App::new(Config::default(), t0);
    feed(&mut app, HostId(0), &recording(), "web-1");
    app.tick(t0 + Duration::from_secs(1));
    // Kernel threads are hidden until K, as in htop.
    if kernel {
        app.update(Msg::ToggleKernelThreads);
    }
    app
}

pub fn app() -> App {
    app_with(false)
}

pub fn screen(app: &App, (w, h): (u16, u16)) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| draw(f, app)).expect("draw");
    term.backend().buffer().clone()
}

/// The screen as text, each line after a marker column (`>` on the
/// selected row), then the search highlights as `match y=ROW: runs`.
pub fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    let mut matches = String::new();
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        // The selection's style spans the whole row, to the last column.
        let selected = buf[(area.width - 1, y)].bg == Color::Cyan;
        out.push(if selected { '>' } else { ' ' });
        out.push_str(line.trim_end());
        out.push('\n');
        let mut runs: Vec<String> = Vec::new();
        let mut prev = false;
        for x in 0..area.width {
            let cell = &buf[(x, y)];
            let hit = cell.modifier.contains(Modifier::UNDERLINED) && cell.fg == Color::Yellow;
            if hit && !prev {
                runs.push(String::new());
            }
            if hit && let Some(run) = runs.last_mut() {
                run.push_str(cell.symbol());
            }
            prev = hit;
        }
        if !runs.is_empty() {
            let _ = writeln!(matches, "match y={y}: {}", runs.join(" "));
        }
    }
    out + &matches
}

pub fn run(app: &mut App, actions: &[Msg]) {
    for a in actions {
        app.update(*a);
    }
}

pub fn typed(s: &str) -> Vec<Msg> {
    s.chars().map(Msg::Input).collect()
}

/// The key of the first process whose command line starts with `prefix`.
pub fn key_of(app: &App, prefix: &str) -> ProcessKey {
    app.store()
        .iter()
        .map(|(_, p)| p)
        .find(|p| p.command.starts_with(prefix))
        .map_or_else(|| panic!("no process {prefix:?} in the fixture"), |p| p.key)
}
