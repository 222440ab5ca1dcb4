//! A past state's processes become console rows while the state arrives:
//! a source that hands its processes over in several parts (as a
//! collector's `GetStateAt` does, a message at a time) gives the console
//! every row once, under the right host; a source that fails after some
//! parts gives an error and no rows.
mod common;

use std::{sync::Arc, time::Instant};

use common::recording;
use futures::future::BoxFuture;
use perch::{
    console::{App, Config, HostId},
    live::answer_all,
    travel::{SourceError, StateAt, TimeSource},
};
use perch_proto::{NS_PER_SEC, v1::Process};

/// Hands `processes` over `parts` at a time, yielding between parts;
/// `fail_after` parts, it fails instead of finishing.
struct InParts {
    processes: Vec<Process>,
    parts: usize,
    fail_after: Option<usize>,
    range: (u64, u64),
}

impl TimeSource for InParts {
    fn name(&self) -> String {
        "in-parts".to_owned()
    }

    fn range(&self) -> BoxFuture<'_, Result<(u64, u64), SourceError>> {
        Box::pin(async move { Ok(self.range) })
    }

    fn state_at(&self, at: u64) -> BoxFuture<'_, Result<StateAt, SourceError>> {
        Box::pin(async move {
            let mut all = Vec::new();
            let mut keep = |part: Vec<Process>| all.extend(part);
            let mut state = self.state_at_parts(at, &mut keep).await?;
            state.processes = all;
            Ok(state)
        })
    }

    fn state_at_parts<'a>(
        &'a self,
        at: u64,
        parts: &'a mut (dyn FnMut(Vec<Process>) + Send),
    ) -> BoxFuture<'a, Result<StateAt, SourceError>> {
        Box::pin(async move {
            let size = self.processes.len().div_ceil(self.parts);
            for (i, part) in self.processes.chunks(size).enumerate() {
                if self.fail_after == Some(i) {
                    return Err(SourceError::Unavailable("the stream broke".to_owned()));
                }
                parts(part.to_vec());
                tokio::task::yield_now().await;
            }
            Ok(StateAt {
                at_unix_ns: at,
                oldest_unix_ns: self.range.0,
                newest_unix_ns: self.range.1,
                host_name: "in-parts".to_owned(),
                ..StateAt::default()
            })
        })
    }
}

fn rows_of(app: &App, host: HostId) -> Vec<u32> {
    let mut pids: Vec<u32> = app
        .store()
        .iter()
        .filter(|(_, p)| p.key.host == host)
        .map(|(_, p)| p.key.pid)
        .collect();
    pids.sort_unstable();
    pids
}

fn pids(processes: &[Process]) -> Vec<u32> {
    let mut pids: Vec<u32> = processes
        .iter()
        .map(|p| p.key.map_or(0, |k| k.pid))
        .collect();
    pids.sort_unstable();
    pids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_made_from_parts_are_every_process_once_under_its_host() {
    let rec = recording();
    let now = rec.info.boot_time_unix_ns + 100 * NS_PER_SEC;
    let range = (now - 60 * NS_PER_SEC, now);
    let first = InParts {
        processes: rec.processes.clone(),
        parts: 4,
        fail_after: None,
        range,
    };
    let second: Vec<Process> = rec.processes.iter().take(7).cloned().collect();
    let others: Vec<(HostId, Arc<dyn TimeSource>)> = vec![(
        HostId(1),
        Arc::new(InParts {
            processes: second.clone(),
            parts: 3,
            fail_after: None,
            range,
        }),
    )];
    let mut app = App::new(Config::default(), Instant::now());
    app.enable_travel(true);
    app.set_wall_clock(now);
    app.travel_to(now - 30 * NS_PER_SEC);
    let q = app.take_time_query().expect("a query");
    let answer = answer_all(&first, &others, q).await;
    let state = answer.result.as_ref().expect("a state");
    assert!(state.processes.is_empty(), "the processes went into rows");
    assert_eq!(answer.rows.len(), 2, "rows for both hosts");
    app.ingest_time(answer);
    assert!(!app.is_live());
    assert!(rec.processes.len() > 20, "{}", rec.processes.len());
    assert_eq!(rows_of(&app, HostId(0)), pids(&rec.processes));
    assert_eq!(rows_of(&app, HostId(1)), pids(&second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_that_breaks_after_some_parts_is_an_error_without_rows() {
    let rec = recording();
    let now = rec.info.boot_time_unix_ns + 100 * NS_PER_SEC;
    let first = InParts {
        processes: rec.processes.clone(),
        parts: 4,
        fail_after: Some(2),
        range: (now - 60 * NS_PER_SEC, now),
    };
    let mut app = App::new(Config::default(), Instant::now());
    app.enable_travel(true);
    app.set_wall_clock(now);
    app.travel_to(now - 30 * NS_PER_SEC);
    let q = app.take_time_query().expect("a query");
    let answer = answer_all(&first, &[], q).await;
    assert!(answer.result.is_err(), "{:?}", answer.result.map(|_| ()));
    assert!(answer.rows.is_empty(), "no rows from a broken state");
}
