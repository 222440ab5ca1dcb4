//! `history-seek`'s console figure: a seek as the user of `perch` waits for
//! it — the console's own time-travel source (`GrpcHistory` and the
//! console's `answer`: the stored range, then `GetStateAt` decoded into a
//! state), that state loaded into the console's past model with every
//! screen rebuilt, and one 160x48 frame rendered — against the live path
//! of the same run: `ListProcesses` loaded into a fresh console as its
//! first snapshot, and one frame.  The terminal's own drawing is left out
//! of both (a frame's diff is the same work either way).
use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use perch::{
    console::{App, Config, HostId, Theme, render},
    live::{GrpcHistory, answer},
};
use perch_client::Target;
use perch_proto::v1 as pb;
use ratatui::{buffer::Buffer, layout::Rect};
use tokio_stream::StreamExt as _;

/// The console benchmark's terminal size.
const AREA: Rect = Rect {
    x: 0,
    y: 0,
    width: 160,
    height: 48,
};

/// ms since `t`.
fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// The live processes, as the console's first snapshot reads them (the
/// whole `ListProcesses` stream).
pub async fn live_processes(
    client: &mut perch_e2e::events::Client,
) -> anyhow::Result<Vec<pb::Process>> {
    let mut s = client
        .list_processes(pb::ListProcessesRequest::default())
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend(chunk?.processes);
    }
    Ok(out)
}

/// One console seek's time (ms) and its parts: the answer (`GetStateAt`
/// decoded), the past model built from it, and the frame.
#[derive(Debug, Clone, Copy)]
pub struct Seek {
    pub total: f64,
    pub answer: f64,
    pub model: f64,
    pub frame: f64,
}

/// Where the console's seeks spent their time: each part's p50 and p99,
/// and the parts of the slowest seek (which part a tail comes from).
pub fn print_parts(seeks: &[Seek], quantile: impl Fn(&mut [f64], f64) -> f64) {
    let part = |f: fn(&Seek) -> f64| {
        let mut v: Vec<f64> = seeks.iter().map(f).collect();
        (quantile(&mut v, 0.5), quantile(&mut v, 0.99))
    };
    let (a, m, f) = (part(|s| s.answer), part(|s| s.model), part(|s| s.frame));
    println!(
        "  its parts, p50/p99:       answer {:.1}/{:.1} ms, model {:.1}/{:.1} ms, \
         frame {:.1}/{:.1} ms",
        a.0, a.1, m.0, m.1, f.0, f.1
    );
    if let Some(s) = seeks.iter().max_by(|x, y| x.total.total_cmp(&y.total)) {
        println!(
            "  the slowest seek:         {:.1} ms = answer {:.1} + model {:.1} + frame {:.1} ms",
            s.total, s.answer, s.model, s.frame
        );
    }
}

/// The console's figures: seek and live snapshot, each (p50, p99) in ms.
pub fn print((c50, c99): (f64, f64), (f50, f99): (f64, f64)) {
    println!("console, live snapshot (baseline): p50 {f50:.1} ms, p99 {f99:.1} ms");
    println!(
        "console seek (answer + model + frame): p50 {c50:.1} ms, p99 {c99:.1} ms \
         (target p99 < 100 ms)"
    );
    println!(
        "console seek / live snapshot:       p50 {:.2}, p99 {:.2}",
        c50 / f50,
        c99 / f99
    );
}

/// For each of `instants`, the console seek there and then the live
/// baseline; their times (ms) in that order.
pub async fn measure(socket: &Path, instants: &[u64]) -> anyhow::Result<(Vec<Seek>, Vec<f64>)> {
    let source = GrpcHistory::new(Target::Unix(socket.to_owned()), Duration::from_secs(30));
    let mut live = perch_client::client(perch_e2e::channel(socket).await?);
    let theme = Theme::new(true);
    let mut buf = Buffer::empty(AREA);
    // A console that shows the live processes, as one does before `[`.
    let mut app = App::new(Config::default(), Instant::now());
    app.ingest_snapshot(HostId(0), live_processes(&mut live).await?);
    app.refresh();
    app.enable_travel(true);
    let (mut seek_ms, mut live_ms) = (Vec::new(), Vec::new());
    for &at in instants {
        let start = Instant::now();
        app.set_wall_clock(crate::args::unix_now_ns());
        app.travel_to(at);
        let q = app.take_time_query().context("the console asked nothing")?;
        let a = answer(&source, q).await;
        if let Err(e) = &a.result {
            bail!("the console's seek to {at} failed: {e}");
        }
        let answered = ms(start);
        app.ingest_time(a);
        if app.is_live() {
            bail!("the console did not travel to {at}");
        }
        let modelled = ms(start);
        render(&app, &theme, AREA, &mut buf);
        let total = ms(start);
        seek_ms.push(Seek {
            total,
            answer: answered,
            model: modelled - answered,
            frame: total - modelled,
        });

        let start = Instant::now();
        let processes = live_processes(&mut live).await?;
        let mut fresh = App::new(Config::default(), Instant::now());
        fresh.ingest_snapshot(HostId(0), processes);
        fresh.refresh();
        render(&fresh, &theme, AREA, &mut buf);
        live_ms.push(ms(start));
    }
    Ok((seek_ms, live_ms))
}
