//! Time travel's side of the loop: a console's state query answered by
//! its [`TimeSource`] on a task of its own (the draw loop never waits; a
//! newer query aborts the one before), and the console on a recording
//! with no collector (`perch replay`).
use std::{
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use super::{Out, UPDATE_QUEUE, conn::Update, need_terminal, rows::state_with_rows, terminal_loop};
use crate::{
    config::Settings,
    console::{
        App, HostId,
        model::Proc,
        timeline::{TimeAnswer, TimeError, TimeQuery},
    },
    travel::{SourceError, StateAt, TimeSource},
};

/// Time travel for the console: where past states come from, and the
/// instant to start at (`perch --at`; `None`: LIVE).
#[derive(Clone, Default)]
pub struct History {
    /// The first collector's history (or the recording): the timeline's.
    pub source: Option<Arc<dyn TimeSource>>,
    /// The other collectors' histories, by host, asked for the same
    /// instants.
    pub others: Vec<(HostId, Arc<dyn TimeSource>)>,
    pub at_unix_ns: Option<u64>,
}

/// `perch replay`: the console on a recording, with no collector: time
/// travel within the recording's range (from `at`, else its start), no
/// LIVE and no actions.
pub async fn run_replay(
    source: Arc<dyn TimeSource>,
    at_unix_ns: Option<u64>,
    settings: Settings,
) -> anyhow::Result<()> {
    let (oldest, _) = source
        .range()
        .await
        .with_context(|| format!("reading {}", source.name()))?;
    need_terminal()?;
    let (tx, mut rx) = mpsc::channel(UPDATE_QUEUE);
    let mut config = settings.console.clone();
    config.utc_offset_secs = crate::when::local_utc_offset_secs();
    config.read_only = true;
    config.client = crate::act::ClientIdentity::current();
    let mut app = App::new(config, Instant::now());
    let (threads, _) = watch::channel(false);
    let out = Out {
        targets: Vec::new(),
        config: settings.path.clone(),
        tx,
        threads,
        asker: None,
    };
    let history = History {
        source: Some(source),
        others: Vec::new(),
        at_unix_ns: Some(at_unix_ns.unwrap_or(oldest)),
    };
    let out = with_history(out, &mut app, history, false)?;
    terminal_loop(&mut app, &mut rx, &settings, out).await
}

/// Turns time travel on when there is a source, and starts at its instant.
pub(super) fn with_history(
    mut out: Out,
    app: &mut App,
    history: History,
    has_live: bool,
) -> anyhow::Result<Out> {
    let Some(source) = history.source else {
        if history.at_unix_ns.is_some() {
            anyhow::bail!(
                "--at needs a collector with history (perchd's history store); this one has none"
            );
        }
        return Ok(out);
    };
    app.enable_travel(has_live);
    app.set_wall_clock(wall_ns());
    if let Some(at) = history.at_unix_ns {
        app.travel_to(at);
    }
    out.asker = Some(Asker::new(source, history.others));
    Ok(out)
}

/// The wall clock in Unix ns.
pub(super) fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Answers `q` from `source`: past the newest stored instant is the newest
/// when the query clamps, else [`TimeError::PastNewest`].
pub async fn answer(source: &dyn TimeSource, q: TimeQuery) -> TimeAnswer {
    answer_all(source, &[], q).await
}

/// How far behind the asked instant another collector's newest stored
/// one may be and still stand for it (its writer's batching, clocks).
const OTHERS_LAG_NS: u64 = 10 * perch_proto::NS_PER_SEC;

/// Answers `q` from `source` as [`answer`] does, and from each of `others`
/// (the console's other collectors) at the instant the first one was
/// asked; a host whose history cannot answer then says why.  All are
/// asked at once: a seek over several collectors waits for the slowest,
/// not for the sum (the others again only when the first clamps).
pub async fn answer_all(
    source: &dyn TimeSource,
    others: &[(HostId, Arc<dyn TimeSource>)],
    q: TimeQuery,
) -> TimeAnswer {
    let ask_others = |at: u64| {
        futures::future::join_all(others.iter().map(move |(host, s)| async move {
            let state = match state_with_rows(s.as_ref(), *host, at).await {
                // Just past its newest: its newest (its store may lag the
                // first one's by a batch or two); further, nothing.
                Err(SourceError::OutOfRange { newest_unix_ns, .. })
                    if at > newest_unix_ns && at - newest_unix_ns <= OTHERS_LAG_NS =>
                {
                    state_with_rows(s.as_ref(), *host, newest_unix_ns).await
                }
                r => r,
            };
            (*host, state)
        }))
    };
    let (first, asked) = futures::join!(first_state(source, q), ask_others(q.at_unix_ns));
    let (at, result) = match first {
        Ok((at, state)) => (at, Ok(state)),
        Err(e) => (q.at_unix_ns, Err(e)),
    };
    let others = match &result {
        Err(_) => Vec::new(),
        Ok(_) if at == q.at_unix_ns => asked,
        // The first one clamped to its newest: the others at that instant.
        Ok(_) => ask_others(at).await,
    };
    let mut rows = Vec::new();
    let result = result.map(|(state, first_rows)| {
        rows.push((HostId(0), first_rows));
        state
    });
    let others = others
        .into_iter()
        .map(|(host, r)| {
            (
                host,
                r.map(|(state, host_rows)| {
                    rows.push((host, host_rows));
                    state
                }),
            )
        })
        .collect();
    TimeAnswer {
        id: q.id,
        result,
        others,
        rows,
    }
}

/// The first source's state for `q`, and the instant it was asked at.
async fn first_state(
    source: &dyn TimeSource,
    q: TimeQuery,
) -> Result<(u64, (StateAt, Vec<Proc>)), TimeError> {
    // The state first: an answer carries the stored range, so a seek
    // inside it is one call; only one past the newest needs a second.
    match state_with_rows(source, HostId(0), q.at_unix_ns).await {
        Err(SourceError::OutOfRange { newest_unix_ns, .. }) if q.at_unix_ns > newest_unix_ns => {
            if q.clamp {
                state_with_rows(source, HostId(0), newest_unix_ns)
                    .await
                    .map(|s| (newest_unix_ns, s))
                    .map_err(TimeError::from)
            } else {
                Err(TimeError::PastNewest)
            }
        }
        r => r.map(|s| (q.at_unix_ns, s)).map_err(TimeError::from),
    }
}

/// The console's time queries, each on a task that sends its answer back
/// as an [`Update::Time`].
pub(super) struct Asker {
    source: Arc<dyn TimeSource>,
    others: Arc<[(HostId, Arc<dyn TimeSource>)]>,
    running: Option<JoinHandle<()>>,
}

impl Asker {
    pub(super) fn new(
        source: Arc<dyn TimeSource>,
        others: Vec<(HostId, Arc<dyn TimeSource>)>,
    ) -> Asker {
        Asker {
            source,
            others: others.into(),
            running: None,
        }
    }

    /// Sends the console's newest query, if it made one; the one before is
    /// abandoned (its answer would be dropped anyway).
    pub(super) fn send(&mut self, app: &mut App, tx: &mpsc::Sender<Update>) {
        let Some(q) = app.take_time_query() else {
            return;
        };
        if let Some(old) = self.running.take() {
            old.abort();
        }
        let (source, others, tx) = (
            Arc::clone(&self.source),
            Arc::clone(&self.others),
            tx.clone(),
        );
        self.running = Some(tokio::spawn(async move {
            let a = answer_all(source.as_ref(), &others, q).await;
            let _ = tx.send(Update::Time(Box::new(a))).await;
        }));
    }
}

impl Drop for Asker {
    fn drop(&mut self) {
        if let Some(t) = self.running.take() {
            t.abort();
        }
    }
}
