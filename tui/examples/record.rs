//! Records a collector for the console's tests and benchmarks:
//!
//!     record SOCKET SECONDS OUT.bin [ROOT_PID...]
//!
//! writes `GetInfo`, the `ListProcesses` snapshot (with recently exited
//! processes) and SECONDS of `WatchEvents` after it (see
//! `perch::console::recording`).  With `ROOT_PID`s, only pid 1, kernel threads
//! and those processes' trees (and what they fork while recording) are kept,
//! so a fixture carries a known workload and not every command line of the
//! machine it was recorded on; pid 1's command line (the machine's own init
//! and its flags) is replaced by `/sbin/init` for the same reason.
use std::{collections::HashSet, path::PathBuf, time::Duration};

use anyhow::{Context as _, bail};
use perch::console::recording::{Frame, header, push_frame};
use perch_client::{Target, connect};
use perch_proto::v1::{
    Event, GetInfoRequest, ListProcessesRequest, ListProcessesResponse, Process,
    WatchEventsRequest, WatchEventsResponse, event::Kind,
};

/// Which processes a filtered recording keeps: (pid, start) pairs.
struct Keep {
    roots: Vec<u32>,
    keys: HashSet<(u32, u64)>,
}

impl Keep {
    fn all(&self) -> bool {
        self.roots.is_empty()
    }

    fn key(p: &Process) -> (u32, u64) {
        p.key.map_or((0, 0), |k| (k.pid, k.start_time_ns))
    }

    /// Marks the roots' trees in a snapshot (parents before children not assumed).
    fn seed(&mut self, procs: &[Process]) {
        let mut keep: HashSet<u32> = self.roots.iter().copied().collect();
        keep.insert(1);
        loop {
            let before = keep.len();
            for p in procs {
                if keep.contains(&p.ppid) && !p.kernel_thread && p.ppid != 1 {
                    keep.insert(Self::key(p).0);
                }
            }
            if keep.len() == before {
                break;
            }
        }
        for p in procs {
            if p.kernel_thread || keep.contains(&Self::key(p).0) {
                self.keys.insert(Self::key(p));
            }
        }
    }

    fn process(&mut self, p: &Process, parent_kept: bool) -> bool {
        if self.all() || p.kernel_thread || parent_kept || self.keys.contains(&Self::key(p)) {
            self.keys.insert(Self::key(p));
            true
        } else {
            false
        }
    }

    fn event(&mut self, e: &mut Event) -> bool {
        if self.all() {
            return true;
        }
        match &mut e.kind {
            Some(Kind::Exec(x)) => x.process.as_ref().is_some_and(|p| self.process(p, false)),
            Some(Kind::Update(x)) => x.process.as_ref().is_some_and(|p| self.process(p, false)),
            Some(Kind::Fork(x)) => {
                let parent = x
                    .parent
                    .is_some_and(|k| self.keys.contains(&(k.pid, k.start_time_ns)));
                x.child.as_ref().is_some_and(|p| self.process(p, parent))
            }
            Some(Kind::Exit(x)) => x
                .key
                .is_some_and(|k| self.keys.contains(&(k.pid, k.start_time_ns))),
            Some(Kind::ProcessSamples(s)) => {
                s.samples.retain(|s| {
                    s.key
                        .is_some_and(|k| self.keys.contains(&(k.pid, k.start_time_ns)))
                });
                true
            }
            _ => true,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [socket, secs, out, roots @ ..] = args.as_slice() else {
        bail!("usage: record SOCKET SECONDS OUT.bin [ROOT_PID...]");
    };
    let secs: u64 = secs.parse().context("SECONDS")?;
    let mut keep = Keep {
        roots: roots
            .iter()
            .map(|r| r.parse())
            .collect::<Result<_, _>>()
            .context("ROOT_PID")?,
        keys: HashSet::new(),
    };
    let mut client = connect(&Target::Unix(PathBuf::from(socket))).await?;
    let info = client.get_info(GetInfoRequest {}).await?.into_inner();
    let mut chunks = client
        .list_processes(ListProcessesRequest {
            include_exited: true,
            pids: Vec::new(),
            chunk_size: 0,
        })
        .await?
        .into_inner();
    let mut processes = Vec::new();
    let mut seq = 0;
    while let Some(chunk) = chunks.message().await? {
        seq = chunk.snapshot_seq;
        processes.extend(chunk.processes);
        if chunk.last {
            break;
        }
    }
    if !keep.all() {
        keep.seed(&processes);
        processes.retain(|p| keep.keys.contains(&Keep::key(p)));
        for p in &mut processes {
            if Keep::key(p).0 == 1 {
                p.argv = vec!["/sbin/init".to_owned()];
                "/sbin/init".clone_into(&mut p.exe);
                "init".clone_into(&mut p.comm);
            }
        }
    }
    let mut bytes = header();
    push_frame(&mut bytes, Frame::Info, &info);
    push_frame(
        &mut bytes,
        Frame::Processes,
        &ListProcessesResponse {
            processes,
            snapshot_seq: seq,
            last: true,
        },
    );
    let mut stream = client
        .watch_events(WatchEventsRequest {
            resume_after_seq: Some(seq),
            kinds: Vec::new(),
            threads: false,
        })
        .await?
        .into_inner();
    let deadline = tokio::time::sleep(Duration::from_secs(secs));
    tokio::pin!(deadline);
    let mut batches = 0;
    loop {
        let msg = tokio::select! {
            m = stream.message() => m?,
            () = &mut deadline => break,
        };
        let Some(mut msg) = msg else { break };
        msg.events.retain_mut(|e| keep.event(e));
        if !msg.events.is_empty() {
            batches += 1;
            push_frame(
                &mut bytes,
                Frame::Events,
                &WatchEventsResponse {
                    events: msg.events,
                    encoded: Vec::new(),
                },
            );
        }
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {out}"))?;
    eprintln!("recorded {} bytes, {batches} event batches", bytes.len());
    Ok(())
}
