//! Getting events to the writer without slowing the event path: a tokio
//! task reads the hub's replay ring by sequence a few times a second (as a
//! `WatchEvents` client resuming would) and hands whole messages to the
//! writer's thread through a bounded channel.  When the writer is slow the
//! channel fills and the task waits; what the ring drops meanwhile is
//! counted in `events_dropped`, never skipped silently.
use std::{
    sync::{Arc, atomic::Ordering, mpsc},
    time::{Duration, Instant},
};

use perch_proto::v1::{Connection as PbConnection, EncodedEvent, ListeningSocket, Process};

use super::{History, HistorySettings, Status, bound, lock, now_unix_ns, schema, write::Writer};
use crate::hub::{Hub, Read};

/// A batch is committed after this long or this many events, whichever
/// comes first.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
const BATCH_EVENTS: usize = 8_192;
/// ... or once the batch holds this many encoded bytes: an argv-heavy
/// storm's events are 8 KiB each, and 8,192 of them held at once would
/// take perchd past its memory bound.
const BATCH_BYTES: usize = 1 << 20;
/// Hub messages (up to 512 events and 64 KiB each) waiting for the
/// writer: at most 1 MiB held here.
const CHANNEL_MESSAGES: usize = 16;
/// The feed takes what the hub published this often: a tenth of the
/// commit interval, so a batch is still about a second of events.
const PULL_EVERY: Duration = Duration::from_millis(100);
/// The size and age bounds are checked this often.
const BOUND_EVERY: Duration = Duration::from_secs(3);

/// What was there when the writer started, and the hub sequence it is
/// consistent with (as `ListProcesses`' snapshot and `snapshot_seq`).
pub struct Baseline {
    pub processes: Vec<Process>,
    pub connections: Vec<PbConnection>,
    pub listening: Vec<ListeningSocket>,
    pub seq: u64,
}

/// Opens the store per `settings` and, when it opened, starts the writer
/// from `baseline` (called once the store is open).  Never fails: a store
/// that cannot be opened is BROKEN and perchd goes on live.
pub fn start(
    settings: &HistorySettings,
    exited_retention_ns: u64,
    boot_unix_ns: u64,
    hub: &Arc<Hub>,
    baseline: impl FnOnce() -> Baseline,
) -> Arc<History> {
    if !settings.enabled {
        return History::disabled(settings);
    }
    let opened = lock::take(&settings.path).and_then(|lock| {
        let w = schema::open_writer(&settings.path, settings.max_bytes)?;
        Ok((lock, w, schema::open_reader(&settings.path)?))
    });
    let (lock, conn, reader) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!("{e}; perchd goes on without history");
            return Arc::new(History::new(
                settings,
                Status::Broken(e.to_string()),
                exited_retention_ns,
            ));
        }
    };
    let mut history = History::new(settings, Status::Ok, exited_retention_ns);
    history.reader = Some(std::sync::Mutex::new(reader));
    let history = Arc::new(history);
    let mut writer = Writer::new(conn, boot_unix_ns);
    let base = baseline();
    let now = now_unix_ns();
    if let Err(e) = writer.start_run(now, &base.processes, &base.connections, &base.listening) {
        history.break_with(e.to_string());
        return history;
    }
    bound::refresh(&writer, &history);
    let (tx, rx) = mpsc::sync_channel(CHANNEL_MESSAGES);
    let h = Arc::clone(&history);
    let spawned = std::thread::Builder::new()
        .name("perch-history".into())
        .spawn(move || {
            // The store stays this writer's while the thread runs.
            let _lock = lock;
            write_loop(&h, writer, &rx);
        });
    if let Err(e) = spawned {
        history.break_with(format!("cannot start the writer thread: {e}"));
        return history;
    }
    tokio::spawn(feed(Arc::clone(&history), Arc::clone(hub), tx, base.seq));
    history
}

/// Takes the events after `cursor` from the hub's ring every
/// [`PULL_EVERY`], forever (until the writer is gone).  A subscription
/// would wake this task, the hub's forwarding task and the writer's thread
/// at every publish (thousands a second in an exec storm) for a writer
/// that commits once a second; polling wakes them ten times a second.
async fn feed(
    history: Arc<History>,
    hub: Arc<Hub>,
    tx: mpsc::SyncSender<Vec<EncodedEvent>>,
    mut cursor: u64,
) {
    let mut tick = tokio::time::interval(PULL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            let mut events = match hub.read_all_after(cursor) {
                Read::UpToDate => break,
                Read::Lagged { oldest } => {
                    // The ring dropped them before this feed read them (the
                    // writer fell behind by more than the ring holds).
                    let lost = oldest.saturating_sub(cursor.saturating_add(1));
                    history.dropped.fetch_add(lost, Ordering::Relaxed);
                    tracing::warn!("history writer fell behind: {lost} events not stored");
                    cursor = oldest.saturating_sub(1);
                    continue;
                }
                Read::Batch {
                    events,
                    cursor: next,
                } => {
                    cursor = next;
                    events
                }
            };
            if events.is_empty() {
                continue;
            }
            // Wait (without holding a runtime worker) while the writer is
            // behind; the ring keeps what arrives meanwhile, up to its bound.
            loop {
                match tx.try_send(events) {
                    Ok(()) => break,
                    Err(mpsc::TrySendError::Full(back)) => {
                        events = back;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(mpsc::TrySendError::Disconnected(_)) => return,
                }
            }
        }
    }
}

/// The writer thread: batches, commits, and keeps the store in bounds.
fn write_loop(history: &History, mut writer: Writer, rx: &mpsc::Receiver<Vec<EncodedEvent>>) {
    let mut last_bound = Instant::now();
    let mut open = true;
    // Reused batch after batch: grown anew, it was a tenth of this
    // thread's time in an exec storm (copying and faulting in pages).
    let mut batch = Vec::new();
    while open {
        let deadline = Instant::now() + FLUSH_EVERY;
        let mut bytes = 0usize;
        while batch.len() < BATCH_EVENTS && bytes < BATCH_BYTES {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(events) => {
                    bytes += events.iter().map(|e| e.body.len()).sum::<usize>();
                    batch.extend(events);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let n = u64::try_from(batch.len()).unwrap_or(u64::MAX);
            let written = writer.write(&batch, now_unix_ns());
            // The events (the hub's buffers) go; the room stays.
            batch.clear();
            // This thread's malloc arena keeps what a large batch decoded
            // (an argv storm's command lines) unless handed back.
            if bytes >= BATCH_BYTES / 4 {
                crate::engine::release_free_memory();
            }
            match written {
                Ok(newest) => {
                    history.written.fetch_add(n, Ordering::Relaxed);
                    if let Some(t) = newest {
                        history.newest.fetch_max(t, Ordering::Relaxed);
                        if history.oldest.load(Ordering::Relaxed) == 0 {
                            // The first data: its oldest instant from the file.
                            bound::refresh(&writer, history);
                        }
                    }
                }
                Err(e) => {
                    history.dropped.fetch_add(n, Ordering::Relaxed);
                    history.break_with(format!("writing failed: {e}"));
                    return;
                }
            }
        }
        // The size is cheap to look at (a pragma and a stat): after every
        // batch, so a storm cannot run far past the bound; the age check
        // and a purge are the periodic part.
        let over = bound::data_bytes(writer.conn()).is_ok_and(|b| b > history.settings.max_bytes);
        if over || last_bound.elapsed() >= BOUND_EVERY {
            last_bound = Instant::now();
            if let Err(e) = bound::enforce(&writer, history, now_unix_ns()) {
                history.break_with(format!("dropping old data failed: {e}"));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use perch_proto::v1::{Event, ProcessExec, event::Kind};

    use super::*;

    fn execs(n: u32) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                time_ns: u64::from(i),
                kind: Some(Kind::Exec(ProcessExec::default())),
                ..Event::default()
            })
            .collect()
    }

    /// The writer gets the events in order, once each, and what the ring
    /// dropped while the writer was behind is counted, so that received
    /// and dropped add up to what was published.
    // Two workers: the test drains the channel as the writer's thread
    // does, blocking, while the feed runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_arrive_in_order_and_what_the_ring_dropped_is_counted() {
        let hub = Hub::new(100, 16);
        let history = Arc::new(History::new(&HistorySettings::default(), Status::Ok, 0));
        // Room for one message: the feed holds a second while it waits.
        let (tx, rx) = mpsc::sync_channel(1);
        let task = tokio::spawn(feed(Arc::clone(&history), Arc::clone(&hub), tx, 0));
        let settle = || tokio::time::sleep(3 * PULL_EVERY);
        hub.publish(execs(90));
        settle().await;
        hub.publish(execs(90));
        settle().await;
        // The writer is not reading: the ring (100 events) drops 200 of these.
        hub.publish(execs(300));
        settle().await;
        let mut seqs = Vec::new();
        while let Ok(events) = rx.recv_timeout(10 * PULL_EVERY) {
            seqs.extend(events.iter().map(|e| e.seq));
        }
        task.abort();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, once each");
        assert_eq!(seqs.last(), Some(&480));
        // 200 when the feed read both first publishes in time (it holds at
        // most the channel's message and one more), up to 380 on a machine
        // so loaded it read neither before the ring moved on.
        let dropped = history.dropped.load(Ordering::Relaxed);
        assert!((200..=380).contains(&dropped), "{dropped} dropped");
        assert_eq!(seqs.len() as u64 + dropped, 480);
    }
}
