//! Time travel with several collectors: every host's past is asked for
//! the same instant and shown together, and a host whose history has
//! nothing then says so instead of showing its live rows.  The sources
//! answer with the recorded fixture's snapshot under each host's name.
mod common;

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use common::{feed, recording, screen, text};
use futures::{executor::block_on, future::BoxFuture};
use perch::{
    console::{App, Config, ConnectionState, HostId},
    live::answer_all,
    travel::{SourceError, StateAt, TimeSource},
};
use perch_proto::{NS_PER_SEC, v1::Process};

/// A history holding one state: `processes` under `name`, for any instant
/// in `range`.
struct Fixed {
    name: &'static str,
    processes: Vec<Process>,
    range: Result<(u64, u64), SourceError>,
}

impl TimeSource for Fixed {
    fn name(&self) -> String {
        self.name.to_owned()
    }

    fn range(&self) -> BoxFuture<'_, Result<(u64, u64), SourceError>> {
        let r = self.range.clone();
        Box::pin(async move { r })
    }

    fn state_at(&self, at: u64) -> BoxFuture<'_, Result<StateAt, SourceError>> {
        let r = self.range.clone().and_then(|(oldest, newest)| {
            if (oldest..=newest).contains(&at) {
                Ok(StateAt {
                    at_unix_ns: at,
                    oldest_unix_ns: oldest,
                    newest_unix_ns: newest,
                    host_name: self.name.to_owned(),
                    processes: self.processes.clone(),
                    ..StateAt::default()
                })
            } else {
                Err(SourceError::OutOfRange {
                    oldest_unix_ns: oldest,
                    newest_unix_ns: newest,
                })
            }
        });
        Box::pin(async move { r })
    }
}

fn rows_of(app: &App, host: HostId) -> usize {
    app.store()
        .iter()
        .filter(|(_, p)| p.key.host == host)
        .count()
}

#[test]
fn every_hosts_past_is_shown_and_a_host_without_one_says_why() {
    let rec = recording();
    let now = rec.info.boot_time_unix_ns + 100 * NS_PER_SEC;
    let mut app = App::new(Config::default(), Instant::now());
    for (i, name) in ["web-1", "web-2", "db-1", "cache-1"]
        .into_iter()
        .enumerate()
    {
        feed(
            &mut app,
            HostId(u16::try_from(i).expect("host")),
            &rec,
            name,
        );
    }
    app.enable_travel(true);
    app.set_wall_clock(now);
    app.refresh();
    let live = rows_of(&app, HostId(2));
    assert!(live > 0);

    // web-1 and web-2 hold the last minute, each with a part of the
    // snapshot; db-1's store holds only older data; cache-1's newest is
    // a few seconds short of the instant asked (a store's batching).
    let range = Ok((now - 60 * NS_PER_SEC, now));
    let first = Fixed {
        name: "web-1",
        processes: rec.processes[..10].to_vec(),
        range: range.clone(),
    };
    let others: Vec<(HostId, Arc<dyn TimeSource>)> = vec![
        (
            HostId(1),
            Arc::new(Fixed {
                name: "web-2",
                processes: rec.processes[10..15].to_vec(),
                range,
            }),
        ),
        (
            HostId(2),
            Arc::new(Fixed {
                name: "db-1",
                processes: rec.processes.clone(),
                range: Ok((now - 3_600 * NS_PER_SEC, now - 600 * NS_PER_SEC)),
            }),
        ),
        (
            HostId(3),
            Arc::new(Fixed {
                name: "cache-1",
                processes: rec.processes[..3].to_vec(),
                range: Ok((now - 3_600 * NS_PER_SEC, now - 35 * NS_PER_SEC)),
            }),
        ),
    ];
    app.travel_to(now - 30 * NS_PER_SEC);
    let q = app.take_time_query().expect("a query");
    let answer = block_on(answer_all(&first, &others, q));
    assert_eq!(answer.others.len(), 3, "every other host was asked");
    app.ingest_time(answer);

    assert_eq!(rows_of(&app, HostId(0)), 10, "web-1 as it was");
    assert_eq!(rows_of(&app, HostId(1)), 5, "web-2 as it was, beside it");
    assert_eq!(rows_of(&app, HostId(2)), 0, "db-1 had nothing then");
    assert_eq!(rows_of(&app, HostId(3)), 3, "cache-1 as of its newest");
    let why = match app.host(HostId(2)).map(|h| &h.connection) {
        Some(ConnectionState::Disconnected { reason }) => reason.clone(),
        other => panic!("db-1 should say why it shows nothing: {other:?}"),
    };
    assert!(why.starts_with("no history then: "), "{why}");
    let screen = text(&screen(&app, (160, 48)));
    assert!(screen.contains("web-2"), "{screen}");

    // Back to LIVE: every host's rows again.
    app.go_live();
    assert_eq!(rows_of(&app, HostId(2)), live);
}

/// Pending once (waking itself at once): lets whatever runs beside the
/// awaiting future take its turn.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A source that notes, as it finishes answering, whether `asked` was set
/// by then (`seen`); or sets `asked` when it is asked (`seen` is `None`).
struct Noting {
    inner: Fixed,
    asked: Arc<AtomicBool>,
    seen: Option<Arc<AtomicBool>>,
}

impl TimeSource for Noting {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn range(&self) -> BoxFuture<'_, Result<(u64, u64), SourceError>> {
        self.inner.range()
    }

    fn state_at(&self, at: u64) -> BoxFuture<'_, Result<StateAt, SourceError>> {
        Box::pin(async move {
            match &self.seen {
                None => self.asked.store(true, Ordering::SeqCst),
                Some(seen) => {
                    YieldOnce(false).await;
                    seen.store(self.asked.load(Ordering::SeqCst), Ordering::SeqCst);
                }
            }
            self.inner.state_at(at).await
        })
    }
}

#[test]
fn the_other_hosts_are_asked_while_the_first_answers() {
    let rec = recording();
    let now = rec.info.boot_time_unix_ns + 100 * NS_PER_SEC;
    let fixed = |name| Fixed {
        name,
        processes: rec.processes[..3].to_vec(),
        range: Ok((now - 60 * NS_PER_SEC, now)),
    };
    let (asked, seen) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let first = Noting {
        inner: fixed("web-1"),
        asked: asked.clone(),
        seen: Some(seen.clone()),
    };
    let other: Arc<dyn TimeSource> = Arc::new(Noting {
        inner: fixed("web-2"),
        asked,
        seen: None,
    });
    let mut app = App::new(Config::default(), Instant::now());
    app.enable_travel(true);
    app.set_wall_clock(now);
    app.travel_to(now - 30 * NS_PER_SEC);
    let q = app.take_time_query().expect("a query");
    let answer = block_on(answer_all(&first, &[(HostId(1), other)], q));
    assert!(answer.result.is_ok() && answer.others.len() == 1);
    assert!(
        seen.load(Ordering::SeqCst),
        "web-2 was asked before web-1 had answered"
    );
}
