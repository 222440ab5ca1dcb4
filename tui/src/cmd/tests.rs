//! The commands against a real perchd server (perchd's own gRPC service on
//! a Unix socket in a temp dir) fed with fixed processes and events.
use std::{
    io::{self, Write},
    sync::{Arc, Mutex},
    time::Duration,
};

use perch_client::{DEFAULT_TIMEOUT, Target};
use perch_proto::v1::{
    Event, Exit, GetInfoResponse, Notice, NoticeKind, Process, ProcessExec, ProcessKey, event::Kind,
};
use perchd::{
    hub::Hub,
    roles::Roles,
    server::{CollectorApi, ServeOptions, Snapshot, bind},
};
use tokio::sync::oneshot;

use super::{events::Printer, fetch_processes, print_events, watch, write_processes};
use crate::cli::EventsArgs;

struct TestApi {
    hub: Arc<Hub>,
    processes: Vec<Process>,
}

impl CollectorApi for TestApi {
    fn info(&self) -> GetInfoResponse {
        GetInfoResponse::default()
    }

    fn snapshot(&self, include_exited: bool, _pids: &[u32]) -> (Snapshot, u64) {
        let keep = |p: &&Process| include_exited || p.exit.is_none();
        let processes: Vec<Process> = self.processes.iter().filter(keep).cloned().collect();
        (Box::new(processes.into_iter()), self.hub.head_seq())
    }

    fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    fn roles(&self) -> &Roles {
        static DEFAULT: Roles = Roles {
            admin: Vec::new(),
            operator: Vec::new(),
        };
        &DEFAULT
    }
}

/// A serving collector; dropped at the end of the test with its temp dir.
pub(super) struct Server {
    _dir: tempfile::TempDir,
    pub(super) target: Target,
    pub(super) hub: Arc<Hub>,
    _stop: oneshot::Sender<()>,
}

pub(super) async fn serve(processes: Vec<Process>, ring: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("perchd.sock");
    let bound = bind(ServeOptions {
        socket: Some(socket.clone()),
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let hub = Hub::new(ring, 8);
    let api = Arc::new(TestApi {
        hub: Arc::clone(&hub),
        processes,
    });
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(bound.serve(api, async move {
        let _ = stopped.await;
    }));
    Server {
        _dir: dir,
        target: Target::Unix(socket),
        hub,
        _stop: stop,
    }
}

pub(super) fn process(pid: u32, exited: bool) -> Process {
    Process {
        key: Some(ProcessKey {
            pid,
            start_time_ns: 1,
        }),
        comm: format!("p{pid}"),
        exit: exited.then_some(Exit {
            time_ns: 2,
            code: Some(0),
            signal: None,
            core_dumped: false,
            oom_killed: false,
        }),
        ..Process::default()
    }
}

fn exec(pid: u32) -> Event {
    let process = Some(process(pid, false));
    Event {
        seq: 0,
        time_ns: 0,
        kind: Some(Kind::Exec(ProcessExec {
            process,
            old_pid: 0,
        })),
    }
}

/// A writer the test can read while `watch` still holds it.
#[derive(Clone, Default)]
pub(super) struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sink {
    pub(super) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test]
async fn ps_prints_sorted_json_lines() {
    let server = serve(
        vec![process(30, false), process(4, false), process(7, true)],
        10,
    )
    .await;
    let live = fetch_processes(&server.target, DEFAULT_TIMEOUT, false)
        .await
        .unwrap();
    let mut out = Vec::new();
    write_processes(&live, true, &mut out).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pids: Vec<_> = lines
        .iter()
        .map(|v| v["key"]["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [4, 30]);
    let all = fetch_processes(&server.target, DEFAULT_TIMEOUT, true)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn events_recover_from_resync_and_print_ndjson() {
    let server = serve(Vec::new(), 5).await;
    server.hub.publish((1..=20).map(exec).collect());
    let args = EventsArgs {
        json: true,
        resume_after: Some(2),
        ..EventsArgs::default()
    };
    let (out, warn) = (Sink::default(), Sink::default());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        // Keep publishing until the restarted stream shows events: the
        // restart after RESYNC_REQUIRED starts at the newest, so what is
        // published before it re-subscribes is (rightly) not shown.
        for pid in 100.. {
            server.hub.publish(vec![exec(pid)]);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if out.text().lines().count() >= 2 || pid > 400 {
                break;
            }
        }
        let _ = stop_tx.send(());
    };
    let stop = async {
        let _ = stop_rx.await;
    };
    let (mut o, mut w) = (out.clone(), warn.clone());
    let (result, ()) = tokio::join!(
        watch(&server.target, DEFAULT_TIMEOUT, &args, &mut o, &mut w, stop),
        driver
    );
    result.unwrap();
    assert!(
        // The driver may already have published one more (oldest 16 or 17).
        warn.text().starts_with(
            "perch: warning: events after seq 2 are no longer kept by the collector (oldest is 1"
        ),
        "{}",
        warn.text()
    );
    let seqs: Vec<u64> = out
        .text()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(seqs.len() >= 2 && seqs[0] > 20, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gaps after the restart: {seqs:?}"
    );
}

#[tokio::test]
async fn resume_ahead_of_the_collector_is_a_clear_error() {
    let server = serve(Vec::new(), 5).await;
    server.hub.publish((1..=3).map(exec).collect());
    let args = EventsArgs {
        json: false,
        resume_after: Some(900),
        ..EventsArgs::default()
    };
    let err = watch(
        &server.target,
        DEFAULT_TIMEOUT,
        &args,
        &mut Vec::new(),
        &mut Vec::new(),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "watching events: resume_after_seq: 900 is ahead of the newest sequence 3 (InvalidArgument)"
    );
}

#[test]
fn lagged_restarts_after_the_seq_it_names() {
    let lagged = Notice {
        kind: NoticeKind::Lagged.into(),
        resume_after_seq: 41,
        ..Notice::default()
    };
    let mut first = exec(1);
    first.seq = 41;
    let batch = [
        first,
        Event {
            seq: 0,
            time_ns: 0,
            kind: Some(Kind::Notice(lagged)),
        },
    ];
    let (mut out, mut warn, mut resume) = (Vec::new(), Vec::new(), None);
    let restart = print_events(
        &batch,
        &mut Printer::new(&EventsArgs::default(), 0),
        &mut resume,
        &mut out,
        &mut warn,
    )
    .unwrap();
    assert_eq!(restart.map(|r| r.after), Some(Some(41)));
    assert_eq!(resume, Some(41));
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 1);
    assert!(warn.is_empty(), "lagging is handled quietly");
}
