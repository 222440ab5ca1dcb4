//! The network part of each sample pass: a `sock_diag` dump (and, when it
//! lists sockets nobody owns yet, a /proc fd scan) read off the async
//! threads, then applied to the model and published under its lock, with
//! the per-process rates merged into the process samples.
use std::{
    collections::HashMap,
    ops::RangeInclusive,
    os::unix::fs::MetadataExt as _,
    path::PathBuf,
    time::{Duration, Instant},
};

use perch_proto::v1 as pb;

use super::Shared;
use crate::{
    clock::now_boot_ns,
    convert,
    model::{ProcKey, Usage},
    net::{
        Sources,
        diag::{DiagEntry, DiagSocket},
        fds,
    },
};

/// /proc fd scans for unowned sockets run at most this often: a scan reads
/// every fd of every process.
const SCAN_EVERY: Duration = Duration::from_secs(2);

/// What one pass read, before it is applied.
pub(super) struct NetRead {
    entries: Vec<DiagEntry>,
    dump_ns: u64,
    inode_pids: Option<HashMap<u64, u32>>,
}

/// The sampler's network reader: its netlink socket and scan clock.
pub(super) struct NetPass {
    diag: Option<DiagSocket>,
    proc_root: PathBuf,
    last_scan: Option<Instant>,
    ephemeral: RangeInclusive<u16>,
    /// Why `sock_diag` failed, logged once until it works again.
    failed: bool,
}

impl NetPass {
    pub(super) fn new(proc_root: PathBuf) -> Self {
        Self {
            diag: None,
            ephemeral: ephemeral_ports(&proc_root),
            proc_root,
            last_scan: None,
            failed: false,
        }
    }

    /// Dumps the sockets; scans /proc too when `force` or when the dump
    /// names sockets without an owner (at most every [`SCAN_EVERY`]).
    pub(super) fn read(&mut self, shared: &Shared, force: bool) -> Option<NetRead> {
        let dump_ns = now_boot_ns();
        let entries = match self.dump() {
            Ok(e) => {
                self.failed = false;
                e
            }
            Err(e) => {
                if !self.failed {
                    tracing::warn!("network sample skipped: {e}");
                }
                self.failed = true;
                self.diag = None;
                return None;
            }
        };
        let due = self.last_scan.is_none_or(|t| t.elapsed() >= SCAN_EVERY);
        let scan = force || (due && shared.model().net().needs_scan(&entries));
        let inode_pids = scan.then(|| {
            self.last_scan = Some(Instant::now());
            fds::scan(&self.proc_root)
        });
        Some(NetRead {
            entries,
            dump_ns,
            inode_pids,
        })
    }

    fn dump(&mut self) -> Result<Vec<DiagEntry>, crate::net::diag::DiagError> {
        if self.diag.is_none() {
            self.diag = Some(DiagSocket::open()?);
        }
        match self.diag.as_mut() {
            Some(d) => d.dump_all(),
            None => Ok(Vec::new()),
        }
    }

    /// Applies `read` and (when `publish`) publishes what changed, under
    /// the model lock; merges each process's network rates into `samples`
    /// (adding processes whose only change is their network rate).
    pub(super) fn apply(
        &self,
        shared: &Shared,
        read: NetRead,
        interval_ns: u64,
        samples: &mut Vec<(ProcKey, Usage, u32)>,
        publish: bool,
    ) {
        let now = now_boot_ns();
        let ephemeral = self.ephemeral.clone();
        shared.commit_with(|model| {
            let sample = {
                let (net, owner) = model.net_with_owners();
                net.refresh(
                    now,
                    interval_ns,
                    Sources {
                        entries: &read.entries,
                        dump_ns: read.dump_ns,
                        inode_pids: read.inode_pids,
                        ephemeral,
                    },
                    &owner,
                )
            };
            // By pid: an owner's key may be the kernel's (ns) where the
            // sampler's is /proc's (clock ticks); same_as matches them.
            let at: HashMap<u32, usize> = samples
                .iter()
                .enumerate()
                .map(|(i, (k, _, _))| (k.pid, i))
                .collect();
            for (key, rx, tx) in sample.rates {
                let here = at
                    .get(&key.pid)
                    .copied()
                    .filter(|&i| samples.get(i).is_some_and(|s| s.0.same_as(&key)));
                let slot = match here {
                    Some(i) => samples.get_mut(i).map(|s| &mut s.1),
                    None => match model.get_key(&key) {
                        Some(p) => {
                            samples.push((p.key, p.usage, p.threads));
                            samples.last_mut().map(|s| &mut s.1)
                        }
                        None => None,
                    },
                };
                if let Some(u) = slot {
                    u.net_rx_bytes_per_sec = rx;
                    u.net_tx_bytes_per_sec = tx;
                }
            }
            if !publish {
                return Vec::new();
            }
            sample
                .changes
                .iter()
                .map(|c| convert::net::event(now, c))
                .collect::<Vec<pb::Event>>()
        });
    }
}

/// `/proc/sys/net/ipv4/ip_local_port_range` (the kernel's default if
/// unreadable).
fn ephemeral_ports(proc_root: &std::path::Path) -> RangeInclusive<u16> {
    let text = std::fs::read_to_string(proc_root.join("sys/net/ipv4/ip_local_port_range"))
        .unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .filter_map(|w| w.parse::<u16>().ok());
    match (it.next(), it.next()) {
        (Some(lo), Some(hi)) if lo <= hi => lo..=hi,
        _ => 32_768..=60_999,
    }
}

/// An empty network model with `limits`, listing perchd's namespace.
pub(super) fn model(limits: crate::net::NetLimits) -> crate::net::NetModel {
    crate::net::NetModel::new(limits, own_netns())
}

/// The inode of perchd's network namespace: the one `sock_diag` lists.
fn own_netns() -> u32 {
    std::fs::metadata("/proc/self/ns/net").map_or(0, |m| u32::try_from(m.ino()).unwrap_or(0))
}

/// `GetInfo.network_source` for `mode`.
pub(super) fn source(mode: crate::engine::Mode) -> String {
    match mode {
        crate::engine::Mode::Ebpf => {
            "eBPF: sock:inet_sock_set_state, accept/accept4 exits, UDP connect, bind, sendto and \
             sendmsg; NETLINK_SOCK_DIAG every sample for counters and missed sockets, their \
             owners from /proc/PID/fd"
        }
        crate::engine::Mode::Procfs => {
            "procfs: NETLINK_SOCK_DIAG polled every sample, owners from /proc/PID/fd (connections \
             shorter than a sample are missed)"
        }
    }
    .to_owned()
}
