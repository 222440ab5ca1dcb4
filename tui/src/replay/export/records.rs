//! The Spyderbat records of one object version or one state's sample,
//! as [`super::write`] writes them.
use std::collections::BTreeMap;

use perch_proto::{
    NS_PER_SEC,
    v1::{
        AddressFamily, Connection, ConnectionDirection, Exit, Flag, ListeningSocket, NetProtocol,
        Process, ProcessKey, Severity, Trace, TraceStatus,
    },
};

use super::{CLK_TCK, MUID};
use crate::{
    replay::{
        map::{self, perch_proc_id},
        ns_to_secs,
        schema::{
            ConnRec, CpuTicks, FlagRec, MitreRec, PidRec, ProcRec, Severities, SockRec, Tasks,
            TopRec, TraceRec,
        },
        top::{self, PAGE_SIZE},
    },
    travel::StateAt,
};

fn proc_id(key: Option<ProcessKey>) -> Option<String> {
    key.map(perch_proc_id)
}

pub(super) fn proc_rec(
    at: u64,
    p: &Process,
    exit: Option<Exit>,
    secs: &dyn Fn(u64) -> f64,
) -> ProcRec {
    let key = p.key.unwrap_or_default();
    ProcRec {
        schema: "model_process::1.2.0".into(),
        id: perch_proc_id(key),
        time: ns_to_secs(at),
        muid: MUID.into(),
        valid_from: secs(key.start_time_ns),
        valid_to: exit.map(|e| secs(e.time_ns)),
        create_time: secs(key.start_time_ns),
        pid: key.pid,
        ppid: p.ppid,
        ppuid: (p.ppid != 0).then(|| {
            perch_proc_id(ProcessKey {
                pid: p.ppid,
                start_time_ns: p.parent_start_time_ns,
            })
        }),
        args: p.argv.clone(),
        name: p.comm.clone(),
        exe: p.exe.clone(),
        cwd: p.cwd.clone(),
        euid: p.euid,
        egid: p.egid,
        euser: p.user.clone(),
        auid: Some(p.loginuid.unwrap_or(u32::MAX)),
        auser: if p.loginuid.is_some() {
            p.login_user.clone()
        } else {
            "SYSTEM".into()
        },
        cgroup: if p.cgroup_path.is_empty() {
            String::new()
        } else {
            format!("systemd:{}", p.cgroup_path)
        },
        container: (!p.container_id.is_empty()).then(|| p.container_id.clone()),
        thread: false,
        kind: if p.kernel_thread {
            "kernel thread"
        } else {
            "normal"
        }
        .into(),
        status: if exit.is_some() { "closed" } else { "active" }.into(),
        exit: exit.and_then(|e| e.code).map(i64::from),
        perch_signal: exit.and_then(|e| e.signal),
    }
}

pub(super) fn conn_rec(at: u64, c: &Connection, end_ns: u64, secs: &dyn Fn(u64) -> f64) -> ConnRec {
    let status = if end_ns == 0 { "active" } else { "closed" };
    ConnRec {
        schema: "model_connection::1.1.0".into(),
        id: format!("conn:perch:{}", c.id),
        time: ns_to_secs(at),
        muid: MUID.into(),
        valid_from: secs(c.create_time_ns),
        valid_to: (end_ns != 0).then(|| secs(end_ns)),
        create_time: secs(c.create_time_ns),
        puids: proc_id(c.process).into_iter().collect(),
        proc_name: c.proc_name.clone(),
        family: family(c.family()).into(),
        proto: proto(c.proto()).into(),
        local_ip: c.local_ip.clone(),
        local_port: c.local_port,
        remote_ip: c.remote_ip.clone(),
        remote_port: c.remote_port,
        direction: match c.direction() {
            ConnectionDirection::Inbound => "inbound",
            ConnectionDirection::Outbound => "outbound",
            ConnectionDirection::Unknown => "unknown",
            ConnectionDirection::Unspecified => "",
        }
        .into(),
        bytes_tx: c.bytes_tx,
        bytes_rx: c.bytes_rx,
        packets_tx: c.packets_tx,
        packets_rx: c.packets_rx,
        status: status.into(),
        peer_proc_name: (!c.peer_proc_name.is_empty()).then(|| c.peer_proc_name.clone()),
        perch_state: (c.status != map::open_status(c.proto())).then(|| c.status.clone()),
    }
}

pub(super) fn sock_rec(
    at: u64,
    l: &ListeningSocket,
    end_ns: u64,
    secs: &dyn Fn(u64) -> f64,
) -> SockRec {
    SockRec {
        schema: "model_listening_socket::1.0.0".into(),
        id: format!("sock:perch:{}", l.id),
        time: ns_to_secs(at),
        muid: MUID.into(),
        valid_from: secs(l.create_time_ns),
        valid_to: (end_ns != 0).then(|| secs(end_ns)),
        puid: proc_id(l.process).unwrap_or_default(),
        proc_name: l.proc_name.clone(),
        family: family(l.family()).into(),
        proto: proto(l.proto()).into(),
        local_ip: l.local_ip.clone(),
        local_port: l.local_port,
        status: if end_ns == 0 { "active" } else { "closed" }.into(),
    }
}

pub(super) fn flag_rec(f: &Flag, traces: Vec<String>, secs: &dyn Fn(u64) -> f64) -> FlagRec {
    FlagRec {
        schema: format!("event_redflag:{}:1.1.0", f.rule_id),
        id: f.id.clone(),
        time: secs(f.time_ns),
        muid: MUID.into(),
        reference: proc_id(f.process).unwrap_or_default(),
        short_name: f.short_name.clone(),
        description: f.description.clone(),
        impact: f.impact.clone(),
        severity: severity_name(f.severity()).into(),
        class: f.class.clone(),
        mitre_mapping: f
            .mitre_mapping
            .iter()
            .map(|m| MitreRec {
                technique: m.technique.clone(),
                technique_name: m.technique_name.clone(),
                tactic: m.tactic.clone(),
                tactic_name: m.tactic_name.clone(),
            })
            .collect(),
        name: f.name.clone(),
        args: f.args.clone(),
        ancestors: f.ancestors.clone(),
        euser: f.euser.clone(),
        auser: f.auser.clone(),
        false_positive: f.excepted,
        traces,
    }
}

pub(super) fn trace_rec(at: u64, t: &Trace, secs: &dyn Fn(u64) -> f64) -> TraceRec {
    let closed = t.status() == TraceStatus::Closed;
    let mut severities = Severities::default();
    match t.max_severity() {
        Severity::Critical => severities.critical = 1,
        Severity::High => severities.high = 1,
        Severity::Medium => severities.medium = 1,
        Severity::Low => severities.low = 1,
        Severity::Info | Severity::Unspecified => {}
    }
    let (interactive_users, non_interactive_users) = if t.interactive {
        (t.users.clone(), Vec::new())
    } else {
        (Vec::new(), t.users.clone())
    };
    TraceRec {
        schema: "model_spydertrace::0.3.1".into(),
        id: t.id.clone(),
        time: ns_to_secs(at),
        muid: MUID.into(),
        valid_from: secs(t.start_time_ns),
        valid_to: closed.then(|| secs(t.closed_time_ns)),
        name: t.name.clone(),
        score: t.score,
        status: if closed { "closed" } else { "active" }.into(),
        root_node: proc_id(t.root).unwrap_or_default(),
        root_proc_name: t.root_proc_name.clone(),
        trigger: t.trigger.clone(),
        trigger_short_name: t.trigger_short_name.clone(),
        trigger_ancestors: t.trigger_ancestors.clone(),
        interactive_users,
        non_interactive_users,
        process_count: t.process_count,
        connection_count: t.connection_count,
        flag_count: t.flag_count,
        unique_flag_count: t.unique_flag_count,
        mitre_mapping: t.mitre_mapping.clone(),
        severities,
        suppressed: t.suppressed,
        activity_timestamps: vec![vec![
            secs(t.start_time_ns),
            secs(t.last_time_ns),
            f64::from(t.flag_count),
        ]],
    }
}

/// The sample of one state: every live process's figures (in ticks and
/// pages, as the agent writes them) and the host meters, exactly in
/// `perch_host` and as cumulative ticks for Spydertop.
pub(super) fn top_rec(s: &StateAt, prev_at: Option<u64>, cpu_ticks: &mut Vec<CpuTicks>) -> TopRec {
    let ticks = |ns: u64| ns.saturating_mul(CLK_TCK) / NS_PER_SEC;
    let mut processes = BTreeMap::new();
    processes.insert(
        "default".to_owned(),
        PidRec {
            state: Some("S".into()),
            ..PidRec::default()
        },
    );
    for p in &s.processes {
        let (Some(u), None) = (&p.usage, &p.exit) else {
            continue;
        };
        let key = p.key.unwrap_or_default();
        let nonzero = |v: u64| (v != 0).then_some(v);
        processes.insert(
            key.pid.to_string(),
            PidRec {
                start_time: nonzero(ticks(key.start_time_ns)),
                utime: nonzero(ticks(u.cpu_time_ns)),
                rss: nonzero(u.rss_bytes / PAGE_SIZE),
                shared: nonzero(u.shared_bytes / PAGE_SIZE),
                vsize: nonzero(u.virtual_bytes),
                nice: (p.nice != 0).then_some(p.nice),
                priority: (u.priority != 0).then_some(u.priority),
                state: (p.state != "S").then(|| p.state.clone()),
                ..PidRec::default()
            },
        );
    }
    let host = s.host.clone().unwrap_or_default();
    let secs = prev_at.map_or(0.0, |p| s.at_unix_ns.saturating_sub(p) as f64 / 1e9);
    cpu_ticks.resize(host.cpus.len(), CpuTicks::default());
    let mut cpu_time = BTreeMap::new();
    for (i, (c, acc)) in host.cpus.iter().zip(cpu_ticks.iter_mut()).enumerate() {
        let add = |pct: f64| to_ticks(pct / 100.0 * secs * CLK_TCK as f64);
        acc.user_space_time += add(c.user_percent);
        acc.system_time += add(c.system_percent);
        acc.iowait_time_broken += add(c.iowait_percent);
        cpu_time.insert(format!("cpu{i}"), *acc);
    }
    let memory = (host.memory_total_bytes != 0).then(|| {
        BTreeMap::from([
            ("MemTotal".to_owned(), host.memory_total_bytes),
            ("MemAvailable".to_owned(), host.memory_available_bytes),
            ("Cached".to_owned(), host.memory_cached_bytes),
            ("SwapTotal".to_owned(), host.swap_total_bytes),
            (
                "SwapFree".to_owned(),
                host.swap_total_bytes.saturating_sub(host.swap_used_bytes),
            ),
        ])
    });
    TopRec {
        schema: "event_top_data::1.0.0".into(),
        id: format!("top:{MUID}:{}", s.at_unix_ns),
        time: ns_to_secs(s.at_unix_ns),
        muid: MUID.into(),
        clk_tck: CLK_TCK,
        load_avg: vec![host.load1, host.load5, host.load15],
        tasks: Tasks {
            running: host.tasks_running,
            total_tasks: host.tasks_total,
            total_threads: host.threads_total,
            ..Tasks::default()
        },
        cpu_time,
        memory,
        disk: None,
        network: None,
        processes,
        perch_host: s.host.as_ref().map(top::to_perch),
    }
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a non-negative tick count of one interval, far below u64::MAX"
)]
fn to_ticks(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    }
}

fn family(f: AddressFamily) -> &'static str {
    match f {
        AddressFamily::Ipv4 => "IPV4",
        AddressFamily::Ipv6 => "IPV6",
        AddressFamily::Unspecified => "",
    }
}

fn proto(p: NetProtocol) -> &'static str {
    match p {
        NetProtocol::Tcp => "TCP",
        NetProtocol::Udp => "UDP",
        NetProtocol::Unspecified => "",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
        Severity::Unspecified => "",
    }
}
