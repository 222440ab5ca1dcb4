//! The service as a client sees it: a real tonic server on a real Unix
//! socket in a temp dir, backed by a real hub and a fixed process list (test
//! data standing in for the model, not a fake kernel).
mod listen;
mod peer;
mod service;
mod tls_roles;

use std::{io, path::Path, path::PathBuf, sync::Arc, time::Duration};

use hyper_util::rt::TokioIo;
use perch_proto::v1::{
    Event, Exit, GetInfoResponse, Process, ProcessExec, ProcessKey,
    collector_client::CollectorClient, event::Kind,
};
use tempfile::TempDir;
use tokio::{net::UnixStream, sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, Endpoint, Uri};

use super::{CollectorApi, ServeError, ServeOptions, bind};
use crate::{hub::Hub, roles::Roles};

struct TestApi {
    hub: Arc<Hub>,
    processes: Vec<Process>,
    roles: Roles,
}

impl CollectorApi for TestApi {
    fn info(&self) -> GetInfoResponse {
        GetInfoResponse {
            version: "test".to_owned(),
            host: "testhost".to_owned(),
            head_seq: self.hub.head_seq(),
            oldest_seq: self.hub.oldest_seq(),
            collector_pid: std::process::id(),
            ..GetInfoResponse::default()
        }
    }

    fn snapshot(&self, include_exited: bool, pids: &[u32]) -> (super::Snapshot, u64) {
        let wanted = |p: &&Process| {
            let pid = p.key.map_or(0, |k| k.pid);
            (include_exited || p.exit.is_none()) && (pids.is_empty() || pids.contains(&pid))
        };
        (
            Box::new(
                self.processes
                    .iter()
                    .filter(wanted)
                    .cloned()
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            self.hub.head_seq(),
        )
    }

    fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    fn roles(&self) -> &Roles {
        &self.roles
    }
}

fn process(pid: u32, exited: bool) -> Process {
    Process {
        key: Some(ProcessKey {
            pid,
            start_time_ns: u64::from(pid) * 1000,
        }),
        ppid: 1,
        comm: format!("p{pid}"),
        exit: exited.then_some(Exit {
            time_ns: 5,
            code: Some(0),
            signal: None,
            core_dumped: false,
            oom_killed: false,
        }),
        ..Process::default()
    }
}

fn execs(n: u32) -> Vec<Event> {
    let exec = |pid| Event {
        seq: 0,
        time_ns: 0,
        kind: Some(Kind::Exec(ProcessExec {
            process: Some(process(pid, false)),
            old_pid: 0,
        })),
    };
    (1..=n).map(exec).collect()
}

/// A serving perchd stand-in; `stop` shuts it down like SIGTERM would.
struct Running {
    _dir: TempDir,
    socket: PathBuf,
    api: Arc<TestApi>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Running {
    async fn start(processes: Vec<Process>) -> Running {
        let dir = tempfile::tempdir().unwrap();
        // Two missing levels: bind creates the parent directory.
        let socket = dir.path().join("run/perch/perchd.sock");
        let opts = ServeOptions {
            socket: Some(socket.clone()),
            ..ServeOptions::default()
        };
        let bound = bind(opts).await.unwrap();
        let api = Arc::new(TestApi {
            hub: Hub::new(1000, 16),
            processes,
            roles: Roles::default(),
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(bound.serve(Arc::clone(&api), async move {
            let _ = stopped.await;
        }));
        Running {
            _dir: dir,
            socket,
            api,
            stop,
            task,
        }
    }

    async fn client(&self) -> CollectorClient<Channel> {
        CollectorClient::new(unix_channel(&self.socket).await.unwrap())
    }

    async fn stop(self) -> Result<(), ServeError> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
    }
}

async fn unix_channel(path: &Path) -> Result<Channel, tonic::transport::Error> {
    let path = path.to_owned();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
}
