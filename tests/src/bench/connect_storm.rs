//! `perch-bench connect-storm`: loopback TCP connect + close as fast as L
//! loops can, against a listener in this process that accepts and closes;
//! first without perchd, then with perchd and a client reading the
//! connect events.  Rounds alternate so drift hits both sides equally.
//! Missed connections are counted from perchd's stream against the loops'
//! count: a connection counts once any event reports it (owned by this
//! process, to the listener's port): its connect, its close, or an update
//! batch (a connection `sock_diag` listed before its kernel records were
//! applied is announced in one).
use std::{
    collections::HashSet,
    net::{TcpListener, TcpStream},
    time::{Duration, Instant},
};

use anyhow::bail;
use perch_e2e::{Perchd, cpu_time_ns};
use perch_proto::v1::{self as pb, event::Kind};
use tokio_stream::StreamExt as _;

use crate::args::{self, Opt, median};

pub const USAGE: &str = "perch-bench connect-storm [--connections N] [--rounds R] [--loops L]";

struct Opts {
    connections: usize,
    rounds: usize,
    loops: usize,
}

fn parse_args(args: Vec<String>) -> anyhow::Result<Opts> {
    let mut o = Opts {
        // Below the ephemeral port range: each closed client port waits in
        // TIME_WAIT for the rest of the round.
        connections: 10_000,
        rounds: 3,
        loops: 2,
    };
    args::parse(
        args,
        &mut [
            Opt {
                name: "--connections",
                value: &mut o.connections,
                range: 1..=20_000,
            },
            Opt {
                name: "--rounds",
                value: &mut o.rounds,
                range: 1..=1000,
            },
            Opt {
                name: "--loops",
                value: &mut o.loops,
                range: 1..=64,
            },
        ],
        USAGE,
    )?;
    Ok(o)
}

/// A listener that accepts and drops every connection, on its own thread
/// (ended with the process); its port.
fn serve() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            drop(c);
        }
    });
    Ok(port)
}

/// `n` connect + close from `loops` threads; the time it took.
fn storm(port: u16, n: usize, loops: usize) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let per = n.div_ceil(loops);
    let handles: Vec<_> = (0..loops)
        .map(|i| {
            let count = per.min(n.saturating_sub(i * per));
            std::thread::spawn(move || -> std::io::Result<()> {
                for _ in 0..count {
                    drop(TcpStream::connect(("127.0.0.1", port))?);
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a connect loop panicked"))??;
    }
    Ok(start.elapsed())
}

/// Connections from this process to `port` reported on the stream, by
/// id, until `want` arrived or nothing came for two seconds.
async fn count_reported(
    client: &mut pb::collector_client::CollectorClient<tonic::transport::Channel>,
    after: u64,
    port: u16,
    want: usize,
) -> anyhow::Result<usize> {
    let me = std::process::id();
    let mut stream = client
        .watch_events(pb::WatchEventsRequest {
            resume_after_seq: Some(after),
            kinds: vec![
                pb::EventKind::Connect.into(),
                pb::EventKind::Close.into(),
                pb::EventKind::ConnectionUpdates.into(),
            ],
            threads: false,
        })
        .await?
        .into_inner();
    let mut ids = HashSet::new();
    while ids.len() < want {
        let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(2), stream.next()).await
        else {
            break;
        };
        for e in msg?.events {
            let conns = match e.kind {
                Some(Kind::Connect(x)) => x.connection.into_iter().collect(),
                Some(Kind::Close(x)) => x.connection.into_iter().collect(),
                Some(Kind::ConnectionUpdates(x)) => x.connections,
                _ => Vec::new(),
            };
            ids.extend(
                conns
                    .iter()
                    .filter(|c| {
                        c.remote_port == u32::from(port) && c.process.is_some_and(|k| k.pid == me)
                    })
                    .map(|c| c.id),
            );
        }
    }
    Ok(ids.len())
}

struct Round {
    rate: f64,
    missed: usize,
    per_event_us: f64,
    lost: u64,
}

async fn with_perchd(o: &Opts, port: u16) -> anyhow::Result<Round> {
    let perchd = Perchd::start(&["--log", "warn"]).await;
    let mut client = perchd.client().await?;
    let info = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    if info.mode != pb::CollectorMode::Ebpf as i32 {
        bail!("perchd is not in eBPF mode: {}", info.mode_reason);
    }
    let cpu0 = cpu_time_ns(perchd.pid());
    let (n, l) = (o.connections, o.loops);
    let took = tokio::task::spawn_blocking(move || storm(port, n, l)).await??;
    let got = count_reported(&mut client, info.head_seq, port, n).await?;
    let after = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    let cpu = cpu_time_ns(perchd.pid()) - cpu0;
    let events = after.events_seen - info.events_seen;
    Ok(Round {
        rate: n as f64 / took.as_secs_f64(),
        missed: n.saturating_sub(got),
        per_event_us: cpu as f64 / 1000.0 / events.max(1) as f64,
        lost: after.events_lost,
    })
}

pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let o = parse_args(args)?;
    let port = serve()?;
    let (mut ratios, mut per_event) = (Vec::new(), Vec::new());
    let (mut missed, mut lost) = (0, 0);
    for round in 1..=o.rounds {
        let (n, l) = (o.connections, o.loops);
        let took = tokio::task::spawn_blocking(move || storm(port, n, l)).await??;
        let without = n as f64 / took.as_secs_f64();
        // TIME_WAIT ports of the first half free up before the second.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let with = with_perchd(&o, port).await?;
        println!(
            "round {round}: without {without:.0}/s, with {:.0}/s, ratio {:.3}, missed {}, \
             perchd {:.1} µs per kernel event, lost {}",
            with.rate,
            with.rate / without,
            with.missed,
            with.per_event_us,
            with.lost
        );
        ratios.push(with.rate / without);
        per_event.push(with.per_event_us);
        missed += with.missed;
        lost += with.lost;
    }
    println!(
        "connect-storm: {} connections x {} rounds, {} loops: ratio {:.3} (median), \
         {missed} missed, {lost} lost, perchd {:.1} µs CPU per connection event (median)",
        o.connections,
        o.rounds,
        o.loops,
        median(ratios),
        median(per_event)
    );
    Ok(())
}
