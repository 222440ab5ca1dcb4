//! `perch.v1` messages as JSON, for `--json` output.  prost types carry no
//! serde support, so this is written out by hand: keys are the proto field
//! names, enums are lowercase names without their prefix ("ebpf",
//! `resync_required`), and unset message or `optional` fields are omitted.
//! Plain scalars are always present, so every line has the same shape.
use perch_proto::names::{self, Named};
use perch_proto::v1::{
    CpuSample, Event, Exit, HostSample, Notice, NoticeKind, Process, ProcessKey, ProcessSample,
    ProcessSource, ResourceUsage, ThreadSample, event::Kind,
};
use serde_json::{Map, Value, json};

/// A process, as one JSON object.
#[must_use]
pub fn process(p: &Process) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "key", p.key.as_ref().map(key));
    m.insert("ppid".into(), p.ppid.into());
    m.insert("parent_start_time_ns".into(), p.parent_start_time_ns.into());
    m.insert("pgid".into(), p.pgid.into());
    m.insert("sid".into(), p.sid.into());
    m.insert("uid".into(), p.uid.into());
    m.insert("euid".into(), p.euid.into());
    m.insert("gid".into(), p.gid.into());
    m.insert("user".into(), p.user.clone().into());
    m.insert("comm".into(), p.comm.clone().into());
    m.insert("exe".into(), p.exe.clone().into());
    m.insert("argv".into(), p.argv.clone().into());
    m.insert("argv_truncated".into(), p.argv_truncated.into());
    m.insert("cwd".into(), p.cwd.clone().into());
    m.insert("tty".into(), p.tty.clone().into());
    m.insert("cgroup_id".into(), p.cgroup_id.into());
    m.insert("cgroup_path".into(), p.cgroup_path.clone().into());
    m.insert("container_id".into(), p.container_id.clone().into());
    m.insert(
        "container_runtime".into(),
        p.container_runtime.clone().into(),
    );
    m.insert("pod_uid".into(), p.pod_uid.clone().into());
    m.insert("pod_namespace".into(), p.pod_namespace.clone().into());
    m.insert("pod_name".into(), p.pod_name.clone().into());
    m.insert("kernel_thread".into(), p.kernel_thread.into());
    m.insert("source".into(), enum_name::<ProcessSource>(p.source));
    put_opt(&mut m, "exit", p.exit.as_ref().map(exit));
    put_opt(&mut m, "usage", p.usage.as_ref().map(usage));
    m.insert("threads".into(), p.threads.into());
    m.insert("nice".into(), p.nice.into());
    Value::Object(m)
}

/// An event, as one JSON object: `seq`, `time_ns`, `kind` (its lowercase
/// name) and the payload under the proto's oneof field name.
#[must_use]
pub fn event(ev: &Event) -> Value {
    let mut out = Map::new();
    out.insert("seq".into(), ev.seq.into());
    out.insert("time_ns".into(), ev.time_ns.into());
    let Some(kind) = &ev.kind else {
        return Value::Object(out);
    };
    let payload = match kind {
        Kind::Exec(x) => {
            let mut obj = Map::new();
            put_opt(&mut obj, "process", x.process.as_ref().map(process));
            obj.insert("old_pid".into(), x.old_pid.into());
            obj
        }
        Kind::Fork(x) => {
            let mut obj = Map::new();
            put_opt(&mut obj, "child", x.child.as_ref().map(process));
            put_opt(&mut obj, "parent", x.parent.as_ref().map(key));
            obj
        }
        Kind::Exit(x) => {
            let mut obj = Map::new();
            put_opt(&mut obj, "key", x.key.as_ref().map(key));
            put_opt(&mut obj, "exit", x.exit.as_ref().map(exit));
            obj
        }
        Kind::Update(x) => {
            let mut obj = Map::new();
            put_opt(&mut obj, "process", x.process.as_ref().map(process));
            obj
        }
        Kind::ProcessSamples(x) => {
            let mut obj = Map::new();
            obj.insert("samples".into(), x.samples.iter().map(sample).collect());
            obj.insert("interval_ns".into(), x.interval_ns.into());
            obj
        }
        Kind::HostSample(x) => host_sample(x),
        Kind::ThreadSamples(x) => {
            let mut obj = Map::new();
            let procs = x.processes.iter().map(|p| {
                json!({
                    "key": p.key.as_ref().map(key),
                    "threads": p.threads.iter().map(thread).collect::<Vec<_>>(),
                })
            });
            obj.insert("processes".into(), procs.collect());
            obj.insert("interval_ns".into(), x.interval_ns.into());
            obj
        }
        Kind::Notice(x) => notice(x),
        Kind::Action(x) => match action::record(x) {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        Kind::Flag(x) => match x.flag.as_ref().map(detect::flag) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        },
        Kind::Trace(x) => match x.trace.as_ref().map(detect::trace) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        },
        Kind::Deviation(x) => match x.deviation.as_ref().map(detect::deviation) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        },
        Kind::Connect(x) | Kind::Accept(x) => net::connection_event(x),
        Kind::Listen(x) => net::listen_event(x),
        Kind::Close(x) => net::close_event(x),
        Kind::ConnectionUpdates(x) => net::updates(x),
        Kind::Security(x) => security::event(x),
    };
    let name = kind_name(ev);
    out.insert("kind".into(), name.into());
    out.insert(name.into(), Value::Object(payload));
    Value::Object(out)
}

/// The lowercase name of an event's kind: the oneof field name ("exec",
/// `process_samples`, ..., "notice").
#[must_use]
pub fn kind_name(e: &Event) -> &'static str {
    match &e.kind {
        None => "unspecified",
        Some(Kind::Exec(_)) => "exec",
        Some(Kind::Fork(_)) => "fork",
        Some(Kind::Exit(_)) => "exit",
        Some(Kind::Update(_)) => "update",
        Some(Kind::ProcessSamples(_)) => "process_samples",
        Some(Kind::HostSample(_)) => "host_sample",
        Some(Kind::ThreadSamples(_)) => "thread_samples",
        Some(Kind::Notice(_)) => "notice",
        Some(Kind::Action(_)) => "action",
        Some(Kind::Flag(_)) => "flag",
        Some(Kind::Trace(_)) => "trace",
        Some(Kind::Deviation(_)) => "deviation",
        Some(Kind::Connect(_)) => "connect",
        Some(Kind::Accept(_)) => "accept",
        Some(Kind::Listen(_)) => "listen",
        Some(Kind::Close(_)) => "close",
        Some(Kind::ConnectionUpdates(_)) => "connection_updates",
        Some(Kind::Security(_)) => "security",
    }
}

/// A notice's kind as a lowercase name ("lagged", `resync_required`, ...).
#[must_use]
pub fn notice_kind(n: &Notice) -> Value {
    enum_name::<NoticeKind>(n.kind)
}

fn notice(n: &Notice) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("kind".into(), notice_kind(n));
    o.insert("message".into(), n.message.clone().into());
    o.insert("resume_after_seq".into(), n.resume_after_seq.into());
    o.insert("oldest_seq".into(), n.oldest_seq.into());
    o.insert("lost_events".into(), n.lost_events.into());
    o
}

fn key(k: &ProcessKey) -> Value {
    json!({ "pid": k.pid, "start_time_ns": k.start_time_ns })
}

fn exit(x: &Exit) -> Value {
    let mut o = Map::new();
    o.insert("time_ns".into(), x.time_ns.into());
    put_opt(&mut o, "code", x.code.map(Value::from));
    put_opt(&mut o, "signal", x.signal.map(Value::from));
    o.insert("core_dumped".into(), x.core_dumped.into());
    // Only when set: the OOM killer's victims are rare, and lines for
    // every other exit stay as they were.
    if x.oom_killed {
        o.insert("oom_killed".into(), true.into());
    }
    Value::Object(o)
}

fn usage(u: &ResourceUsage) -> Value {
    json!({
        "cpu_percent": u.cpu_percent,
        "cpu_time_ns": u.cpu_time_ns,
        "rss_bytes": u.rss_bytes,
        "read_bytes": u.read_bytes,
        "write_bytes": u.write_bytes,
        "read_bytes_per_sec": u.read_bytes_per_sec,
        "write_bytes_per_sec": u.write_bytes_per_sec,
        "mem_percent": u.mem_percent,
        "virtual_bytes": u.virtual_bytes,
        "shared_bytes": u.shared_bytes,
        "priority": u.priority,
        "net_rx_bytes_per_sec": u.net_rx_bytes_per_sec,
        "net_tx_bytes_per_sec": u.net_tx_bytes_per_sec,
    })
}

fn thread(t: &ThreadSample) -> Value {
    json!({
        "tid": t.tid,
        "comm": t.comm,
        "state": t.state,
        "cpu_percent": t.cpu_percent,
        "cpu_time_ns": t.cpu_time_ns,
        "nice": t.nice,
        "priority": t.priority,
    })
}

fn sample(s: &ProcessSample) -> Value {
    let mut o = Map::new();
    put_opt(&mut o, "key", s.key.as_ref().map(key));
    put_opt(&mut o, "usage", s.usage.as_ref().map(usage));
    o.insert("threads".into(), s.threads.into());
    put_opt(&mut o, "nice", s.nice.map(Value::from));
    Value::Object(o)
}

fn cpu(c: &CpuSample) -> Value {
    json!({
        "busy_percent": c.busy_percent,
        "user_percent": c.user_percent,
        "system_percent": c.system_percent,
        "iowait_percent": c.iowait_percent,
    })
}

fn host_sample(h: &HostSample) -> Map<String, Value> {
    let v = json!({
        "cpus": h.cpus.iter().map(cpu).collect::<Vec<_>>(),
        "memory_total_bytes": h.memory_total_bytes,
        "memory_used_bytes": h.memory_used_bytes,
        "memory_available_bytes": h.memory_available_bytes,
        "memory_cached_bytes": h.memory_cached_bytes,
        "swap_total_bytes": h.swap_total_bytes,
        "swap_used_bytes": h.swap_used_bytes,
        "load1": h.load1,
        "load5": h.load5,
        "load15": h.load15,
        "disk_read_bytes_per_sec": h.disk_read_bytes_per_sec,
        "disk_write_bytes_per_sec": h.disk_write_bytes_per_sec,
        "net_rx_bytes_per_sec": h.net_rx_bytes_per_sec,
        "net_tx_bytes_per_sec": h.net_tx_bytes_per_sec,
        "tasks_total": h.tasks_total,
        "tasks_running": h.tasks_running,
        "threads_total": h.threads_total,
        "uptime_ns": h.uptime_ns,
        "interval_ns": h.interval_ns,
        "events_lost": h.events_lost,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn put_opt(m: &mut Map<String, Value>, name: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(name.to_owned(), v);
    }
}

/// `PROCESS_SOURCE_EBPF` -> "ebpf"; a value this build does not know (a
/// newer collector) stays a number rather than being guessed at.
fn enum_name<T: Named>(raw: i32) -> Value {
    names::short_of::<T>(raw).map_or_else(|| raw.into(), Value::from)
}

pub mod action;
pub mod detect;
pub mod net;
pub mod security;

#[cfg(test)]
mod tests;
