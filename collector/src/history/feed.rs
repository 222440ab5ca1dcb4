//! Getting events to the writer without slowing the event path: a tokio
//! task reads the hub exactly as a `WatchEvents` client does and hands
//! whole messages to the writer's thread through a bounded channel.  When
//! the writer is slow the channel fills, the task waits, the hub cuts the
//! subscription off with LAGGED and the task resumes from the replay ring
//! by sequence; what the ring no longer holds (`RESYNC_REQUIRED`) is counted
//! in `events_dropped`, never skipped silently.
use std::{
    sync::{Arc, atomic::Ordering, mpsc},
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use perch_proto::v1::{
    Connection as PbConnection, EncodedEvent, ListeningSocket, NoticeKind, Process, event::Kind,
};

use super::{History, HistorySettings, Status, bound, lock, now_unix_ns, schema, write::Writer};
use crate::hub::Hub;

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

/// Reads the hub from `resume` on, forever (until the writer is gone).
async fn feed(
    history: Arc<History>,
    hub: Arc<Hub>,
    tx: mpsc::SyncSender<Vec<EncodedEvent>>,
    mut resume: u64,
) {
    loop {
        let mut sub = hub.subscribe(Some(resume), []);
        while let Some(item) = sub.next().await {
            let Ok(msg) = item else { break };
            // Notices come decoded; the collector's events come encoded,
            // and are decoded on the writer's thread, not here.
            for e in &msg.events {
                if let Some(Kind::Notice(n)) = &e.kind {
                    match n.kind() {
                        NoticeKind::Lagged => resume = n.resume_after_seq,
                        NoticeKind::ResyncRequired => {
                            let lost = n.oldest_seq.saturating_sub(resume.saturating_add(1));
                            history.dropped.fetch_add(lost, Ordering::Relaxed);
                            tracing::warn!("history writer fell behind: {lost} events not stored");
                            resume = n.oldest_seq.saturating_sub(1);
                        }
                        _ => {}
                    }
                }
            }
            let mut events = msg.encoded;
            if let Some(last) = events.last() {
                resume = resume.max(last.seq);
            }
            // Wait (without holding a runtime worker) while the writer is
            // behind: the hub decides when that is too long.
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
        // Cut off (LAGGED) or refused: subscribe again from the cursor.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The writer thread: batches, commits, and keeps the store in bounds.
fn write_loop(history: &History, mut writer: Writer, rx: &mpsc::Receiver<Vec<EncodedEvent>>) {
    let mut last_bound = Instant::now();
    let mut open = true;
    while open {
        let deadline = Instant::now() + FLUSH_EVERY;
        let mut batch = Vec::new();
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
            drop(batch);
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
