//! Spyderbat records as perch.v1 messages: what each field becomes.
//! Spyderbat times are Unix seconds; perch.v1 process, flag and trace times
//! are `CLOCK_BOOTTIME` ns, so they are taken relative to the machine's boot
//! (`model_machine.boot_time`; 0 without one, which leaves them Unix ns).
//! Object ids (`proc:…`) become process keys through the file's own
//! process records, or, for Perch's recordings, from the id itself
//! (`proc:perch:<start ns>:<pid>`).
use std::collections::HashMap;

use perch_proto::v1::{
    AddressFamily, Connection, ConnectionDirection, Flag, FlagKind, ListeningSocket, MitreMapping,
    NetProtocol, Process, ProcessKey, Severity, Trace, TraceStatus,
};

use super::{
    schema::{ConnRec, FlagRec, ProcRec, SockRec, TraceRec},
    secs_to_ns,
};

/// The auid of a process without a login session.
const NO_AUID: u32 = u32::MAX;

/// Spyderbat object ids to process keys.
#[derive(Debug, Default)]
pub struct Keys {
    pub boot_ns: u64,
    by_id: HashMap<String, ProcessKey>,
}

impl Keys {
    #[must_use]
    pub fn new(boot_ns: u64, processes: &[ProcRec]) -> Keys {
        let mut keys = Keys {
            boot_ns,
            by_id: HashMap::with_capacity(processes.len()),
        };
        for p in processes {
            let key = ProcessKey {
                pid: p.pid,
                start_time_ns: keys.boot(start_secs(p)),
            };
            keys.by_id.insert(p.id.clone(), key);
        }
        keys
    }

    /// Unix seconds as ns after boot.
    #[must_use]
    pub fn boot(&self, unix_secs: f64) -> u64 {
        secs_to_ns(unix_secs).saturating_sub(self.boot_ns)
    }

    /// The process `id` names, when known.
    #[must_use]
    pub fn key(&self, id: &str) -> Option<ProcessKey> {
        self.by_id.get(id).copied().or_else(|| perch_key(id))
    }
}

/// When a process started, in Unix seconds.
#[must_use]
pub fn start_secs(p: &ProcRec) -> f64 {
    if p.create_time > 0.0 {
        p.create_time
    } else {
        p.valid_from
    }
}

/// The id of a process in a Perch recording.
#[must_use]
pub fn perch_proc_id(key: ProcessKey) -> String {
    format!("proc:perch:{}:{}", key.start_time_ns, key.pid)
}

fn perch_key(id: &str) -> Option<ProcessKey> {
    let rest = id.strip_prefix("proc:perch:")?;
    let (start, pid) = rest.split_once(':')?;
    Some(ProcessKey {
        pid: pid.parse().ok()?,
        start_time_ns: start.parse().ok()?,
    })
}

/// A numeric id for a connection or socket: the number of a Perch
/// recording's `<prefix>:perch:<n>`, else a stable hash of the id (FNV-1a).
#[must_use]
pub fn numeric_id(id: &str) -> u64 {
    if let Some(n) = id
        .split_once(":perch:")
        .and_then(|(_, n)| n.parse::<u64>().ok())
    {
        return n;
    }
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A process version without what changes with time (usage, state,
/// exit: the recording fills those in for the instant asked).
#[must_use]
pub fn process(r: &ProcRec, keys: &Keys) -> Process {
    let parent = r.ppuid.as_deref().and_then(|id| keys.key(id));
    let loginuid = r.auid.filter(|&a| a != NO_AUID);
    Process {
        key: Some(ProcessKey {
            pid: r.pid,
            start_time_ns: keys.boot(start_secs(r)),
        }),
        ppid: r.ppid,
        parent_start_time_ns: parent.map_or(0, |k| k.start_time_ns),
        uid: r.euid,
        euid: r.euid,
        egid: r.egid,
        user: r.euser.clone(),
        comm: r.name.clone(),
        exe: r.exe.clone(),
        argv: r.args.clone(),
        cwd: r.cwd.clone(),
        cgroup_path: r
            .cgroup
            .split_once(':')
            .map_or(r.cgroup.as_str(), |(_, p)| p)
            .to_owned(),
        container_id: r.container.clone().unwrap_or_default(),
        kernel_thread: r.kind == "kernel thread",
        loginuid,
        login_user: if loginuid.is_some() {
            r.auser.clone()
        } else {
            String::new()
        },
        ..Process::default()
    }
}

#[must_use]
pub fn severity(s: &str) -> Severity {
    match s {
        "info" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => Severity::Unspecified,
    }
}

#[must_use]
pub fn flag(r: &FlagRec, keys: &Keys) -> Flag {
    let time_ns = keys.boot(r.time);
    Flag {
        id: r.id.clone(),
        // event_redflag:<family>:<version>
        rule_id: r.schema.split(':').nth(1).unwrap_or_default().to_owned(),
        short_name: r.short_name.clone(),
        kind: FlagKind::Red.into(),
        severity: severity(&r.severity).into(),
        mitre_mapping: r
            .mitre_mapping
            .iter()
            .map(|m| MitreMapping {
                technique: m.technique.clone(),
                tactic: m.tactic.clone(),
                technique_name: m.technique_name.clone(),
                tactic_name: m.tactic_name.clone(),
            })
            .collect(),
        description: r.description.clone(),
        impact: r.impact.clone(),
        class: r.class.clone(),
        process: keys.key(&r.reference),
        name: r.name.clone(),
        args: r.args.clone(),
        euser: r.euser.clone(),
        auser: r.auser.clone(),
        ancestors: r.ancestors.clone(),
        time_ns,
        last_time_ns: time_ns,
        repeat_count: 1,
        excepted: r.false_positive,
        trace_id: r.traces.first().cloned().unwrap_or_default(),
        ..Flag::default()
    }
}

/// A trace version; `flag_ids` are filled in for the instant asked.
#[must_use]
pub fn trace(r: &TraceRec, keys: &Keys) -> Trace {
    let closed = r.status == "closed";
    let last = r
        .activity_timestamps
        .last()
        .and_then(|a| a.get(1).copied())
        .unwrap_or(r.time);
    let s = r.severities;
    let max_severity = if s.critical > 0 {
        Severity::Critical
    } else if s.high > 0 {
        Severity::High
    } else if s.medium > 0 {
        Severity::Medium
    } else if s.low > 0 {
        Severity::Low
    } else {
        Severity::Unspecified
    };
    Trace {
        id: r.id.clone(),
        name: r.name.clone(),
        trigger: r.trigger.clone(),
        trigger_short_name: r.trigger_short_name.clone(),
        trigger_ancestors: r.trigger_ancestors.clone(),
        root: keys.key(&r.root_node),
        root_proc_name: r.root_proc_name.clone(),
        status: if closed {
            TraceStatus::Closed
        } else {
            TraceStatus::Active
        }
        .into(),
        interactive: !r.interactive_users.is_empty(),
        users: r
            .interactive_users
            .iter()
            .chain(&r.non_interactive_users)
            .cloned()
            .collect(),
        process_count: r.process_count,
        connection_count: r.connection_count,
        flag_count: r.flag_count,
        unique_flag_count: r.unique_flag_count,
        mitre_mapping: r.mitre_mapping.clone(),
        score: r.score,
        notable: r.score >= NOTABLE_SCORE,
        suppressed: r.suppressed,
        start_time_ns: keys.boot(r.valid_from),
        last_time_ns: keys.boot(last),
        closed_time_ns: match r.valid_to {
            Some(to) if closed => keys.boot(to),
            _ => 0,
        },
        max_severity: max_severity.into(),
        ..Trace::default()
    }
}

/// Spyderbat's triage threshold (shared/notes/spyderbat.md §4.2).
pub const NOTABLE_SCORE: u32 = 50;

fn protocol(p: &str) -> NetProtocol {
    match p {
        "TCP" => NetProtocol::Tcp,
        "UDP" => NetProtocol::Udp,
        _ => NetProtocol::Unspecified,
    }
}

fn family(f: &str) -> AddressFamily {
    match f {
        "IPV4" => AddressFamily::Ipv4,
        "IPV6" => AddressFamily::Ipv6,
        _ => AddressFamily::Unspecified,
    }
}

/// An open connection's version; the recording sets the end for the
/// instant asked.
#[must_use]
pub fn connection(r: &ConnRec, keys: &Keys) -> Connection {
    let proto = protocol(&r.proto);
    let create = if r.create_time > 0.0 {
        r.create_time
    } else {
        r.valid_from
    };
    Connection {
        id: numeric_id(&r.id),
        proto: proto.into(),
        family: family(&r.family).into(),
        local_ip: r.local_ip.clone(),
        local_port: r.local_port,
        remote_ip: r.remote_ip.clone(),
        remote_port: r.remote_port,
        direction: match r.direction.as_str() {
            "inbound" => ConnectionDirection::Inbound,
            "outbound" => ConnectionDirection::Outbound,
            "unknown" => ConnectionDirection::Unknown,
            _ => ConnectionDirection::Unspecified,
        }
        .into(),
        process: r.puids.first().and_then(|id| keys.key(id)),
        proc_name: r.proc_name.clone(),
        create_time_ns: keys.boot(create),
        status: r.perch_state.clone().unwrap_or_else(|| open_status(proto)),
        bytes_tx: r.bytes_tx,
        bytes_rx: r.bytes_rx,
        packets_tx: r.packets_tx,
        packets_rx: r.packets_rx,
        counters_known: proto == NetProtocol::Tcp,
        peer_proc_name: r.peer_proc_name.clone().unwrap_or_default(),
        ..Connection::default()
    }
}

/// What an open connection's status is called when the record has no
/// TCP state.
#[must_use]
pub fn open_status(proto: NetProtocol) -> String {
    if proto == NetProtocol::Udp {
        "OPEN"
    } else {
        "ESTABLISHED"
    }
    .to_owned()
}

#[must_use]
pub fn listening(r: &SockRec, keys: &Keys) -> ListeningSocket {
    ListeningSocket {
        id: numeric_id(&r.id),
        proto: protocol(&r.proto).into(),
        family: family(&r.family).into(),
        local_ip: r.local_ip.clone(),
        local_port: r.local_port,
        process: keys.key(&r.puid),
        proc_name: r.proc_name.clone(),
        create_time_ns: keys.boot(r.valid_from),
        ..ListeningSocket::default()
    }
}
