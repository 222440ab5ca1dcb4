//! Human-readable output of `perch ps` and `perch events`: an aligned
//! process table and one line per event.  Everything a process controls
//! (argv, comm, paths) is escaped, so a hostile command line cannot send
//! escape sequences to the user's terminal.
use std::{borrow::Cow, fmt::Write as _};

pub use perch_client::clean;

pub mod net;
pub mod trace;
use perch_client::json;
use perch_proto::{
    NS_PER_SEC, names,
    v1::{
        ActionKind, ActionMode, ActionResult, AuditRecord, Event, Exit, HostSample, Notice,
        Process, ProcessKey, event::Kind,
    },
};

/// What to show as a process's command: its argv, else its executable,
/// else `[comm]` (kernel threads have neither).
#[must_use]
pub fn command(p: &Process) -> String {
    command_with(p, p.argv.iter().map(|a| clean(a)))
}

/// [`command`] from `p`'s arguments already cleaned (the console's rows
/// clean them once for every column that shows them).
#[must_use]
pub fn command_with<S: AsRef<str>>(
    p: &Process,
    cleaned_argv: impl IntoIterator<Item = S>,
) -> String {
    let mut cmd = if !p.argv.is_empty() && !p.kernel_thread {
        let mut c = String::new();
        for (i, a) in cleaned_argv.into_iter().enumerate() {
            if i > 0 {
                c.push(' ');
            }
            c.push_str(a.as_ref());
        }
        c
    } else if !p.exe.is_empty() && !p.kernel_thread {
        clean(&p.exe).into_owned()
    } else {
        format!("[{}]", clean(&p.comm))
    };
    if p.argv_truncated {
        cmd.push_str("...");
    }
    cmd
}

fn user(p: &Process) -> Cow<'_, str> {
    if p.user.is_empty() {
        Cow::Owned(p.uid.to_string())
    } else {
        clean(&p.user)
    }
}

fn exit_text(x: &Exit) -> String {
    let mut s = match (x.code, x.signal) {
        (Some(code), _) => format!("code={code}"),
        (None, Some(sig)) => format!("signal={sig}"),
        (None, None) => "status unknown".to_owned(),
    };
    if x.core_dumped {
        s.push_str(" (core dumped)");
    }
    if x.oom_killed {
        s.push_str(" (OOM killer)");
    }
    s
}

/// An aligned table: PID PPID USER COMMAND, one row per process; exited
/// processes end with their exit status.
#[must_use]
pub fn process_table(processes: &[Process]) -> String {
    let pid = |p: &Process| p.key.map_or(0, |k| k.pid).to_string();
    let width_pid = processes
        .iter()
        .map(|p| pid(p).len())
        .chain([3])
        .max()
        .unwrap_or(3);
    let width_parent = processes
        .iter()
        .map(|p| p.ppid.to_string().len())
        .chain([4])
        .max()
        .unwrap_or(4);
    let width_user = processes
        .iter()
        .map(|p| user(p).chars().count())
        .chain([4])
        .max()
        .unwrap_or(4);
    let mut out = format!(
        "{:>width_pid$} {:>width_parent$} {:<width_user$} COMMAND\n",
        "PID", "PPID", "USER"
    );
    for p in processes {
        let mut cmd = command(p);
        if let Some(x) = &p.exit {
            let _ = write!(cmd, "  <exited, {}>", exit_text(x));
        }
        let _ = writeln!(
            out,
            "{:>width_pid$} {:>width_parent$} {:<width_user$} {cmd}",
            pid(p),
            p.ppid,
            user(p)
        );
    }
    out
}

fn key_text(k: Option<&ProcessKey>) -> String {
    k.map_or_else(|| "pid=?".to_owned(), |k| format!("pid={}", k.pid))
}

/// One line for an event: sequence, seconds since boot, kind, details.
#[must_use]
pub fn event_line(e: &Event) -> String {
    let secs = e.time_ns / NS_PER_SEC;
    let micros = (e.time_ns % NS_PER_SEC) / 1_000;
    event_line_at(e, &format!("{secs:>6}.{micros:06}"), None)
}

/// One line for an event with its time already written (`perch events`
/// writes wall-clock time) and, for an exit, the command name of the
/// process that exited (the exit event carries only its key).
#[must_use]
pub fn event_line_at(e: &Event, time: &str, exit_comm: Option<&str>) -> String {
    let details = match &e.kind {
        None => String::new(),
        Some(Kind::Exec(x)) => x.process.as_ref().map_or_else(String::new, |p| {
            format!(
                "{} ppid={} user={} {}",
                key_text(p.key.as_ref()),
                p.ppid,
                user(p),
                command(p)
            )
        }),
        Some(Kind::Fork(x)) => {
            let parent = x
                .parent
                .map_or_else(|| "?".to_owned(), |k| k.pid.to_string());
            let child = x.child.as_ref();
            let comm = child.map_or(Cow::Borrowed(""), |c| clean(&c.comm));
            format!(
                "{} parent={parent} {comm}",
                key_text(child.and_then(|c| c.key.as_ref()))
            )
        }
        Some(Kind::Exit(x)) => {
            let status = x.exit.as_ref().map_or_else(String::new, exit_text);
            let comm = exit_comm.map_or_else(String::new, |c| format!(" comm={}", clean(c)));
            format!("{}{comm} {status}", key_text(x.key.as_ref()))
        }
        Some(Kind::Update(x)) => x.process.as_ref().map_or_else(String::new, |p| {
            format!(
                "{} user={} cwd={} {}",
                key_text(p.key.as_ref()),
                user(p),
                clean(&p.cwd),
                command(p)
            )
        }),
        Some(Kind::ProcessSamples(x)) => {
            let secs = x.interval_ns as f64 / NS_PER_SEC as f64;
            format!("{} processes over {secs:.1}s", x.samples.len())
        }
        Some(Kind::HostSample(h)) => host_text(h),
        Some(Kind::ThreadSamples(x)) => {
            let threads: usize = x.processes.iter().map(|p| p.threads.len()).sum();
            format!("{threads} threads of {} processes", x.processes.len())
        }
        Some(Kind::Notice(n)) => notice_text(n),
        Some(Kind::Action(r)) => action_text(r),
        Some(Kind::Flag(f)) => f.flag.as_ref().map_or_else(String::new, flag_text),
        Some(Kind::Trace(t)) => t.trace.as_ref().map_or_else(String::new, trace_text),
        Some(Kind::Deviation(d)) => d
            .deviation
            .as_ref()
            .map_or_else(String::new, deviation_text),
        Some(Kind::Connect(x) | Kind::Accept(x)) => x
            .connection
            .as_ref()
            .map_or_else(String::new, net::connection_line),
        Some(Kind::Listen(x)) => x
            .socket
            .as_ref()
            .map_or_else(String::new, net::listening_line),
        Some(Kind::Close(x)) => net::close_text(x),
        Some(Kind::ConnectionUpdates(x)) => net::updates_text(x),
        Some(Kind::Security(x)) => format!(
            "{} {}",
            key_text(x.key.as_ref()),
            perch_client::security_line(x)
        ),
    };
    format!(
        "{:>8} {time} {:<15} {}",
        e.seq,
        json::kind_name(e),
        details.trim_end()
    )
}

/// `high reverse_shell pid=42 x2 "bash with stdio on a TCP socket..."`.
#[must_use]
pub fn flag_text(f: &perch_proto::v1::Flag) -> String {
    let sev = names::short_of::<perch_proto::v1::Severity>(f.severity).unwrap_or_default();
    let excepted = if f.excepted { " excepted" } else { "" };
    format!(
        "{sev} {} {} x{}{excepted} {} \"{}\"",
        clean(&f.short_name),
        key_text(f.process.as_ref()),
        f.repeat_count,
        clean(&f.trace_id),
        clean(&f.description)
    )
}

/// `trace:3 score=56 active root=sshd flags=2 "trace_from_sshd_at_..."`.
#[must_use]
pub fn trace_text(t: &perch_proto::v1::Trace) -> String {
    let status = names::short_of::<perch_proto::v1::TraceStatus>(t.status).unwrap_or_default();
    format!(
        "{} score={} {status} root={} {} flags={} \"{}\"",
        clean(&t.id),
        t.score,
        clean(&t.root_proc_name),
        key_text(t.root.as_ref()),
        t.flag_count,
        clean(&t.name)
    )
}

/// `web-policy process pid=42 x3 enforced "sh (/bin/dash) under python_0 ..."
/// agentKillProcess: success`.
#[must_use]
pub fn deviation_text(d: &perch_proto::v1::Deviation) -> String {
    let kind = names::short_of::<perch_proto::v1::DeviationKind>(d.kind).unwrap_or_default();
    let mode = match (d.dry_run, d.enforced) {
        (true, _) => "dry-run",
        (false, true) => "enforced",
        (false, false) => "audit",
    };
    let mut out = format!(
        "{} {kind} {} x{} {mode} \"{}\"",
        clean(&d.policy),
        key_text(d.process.as_ref()),
        d.count,
        clean(&d.summary)
    );
    for r in &d.responses {
        let outcome =
            names::short_of::<perch_proto::v1::ResponseOutcome>(r.outcome).unwrap_or_default();
        let detail = if r.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", clean(&r.detail))
        };
        let _ = write!(out, " {}: {outcome}{detail}", clean(&r.action));
    }
    out
}

/// `kill_tree pid=42 by root: partial (3 done, 1 gone) "reason"`.
fn action_text(r: &AuditRecord) -> String {
    let action = names::short_of::<ActionKind>(r.action).unwrap_or_else(|| "?".to_owned());
    let result = names::short_of::<ActionResult>(r.result).unwrap_or_else(|| "?".to_owned());
    let dry = if r.mode == i32::from(ActionMode::DryRun) {
        " (dry run)"
    } else {
        ""
    };
    format!(
        "{action}{dry} {} by {}: {result} {} {} \"{}\"",
        key_text(r.target.as_ref().and_then(|t| t.key.as_ref())),
        clean(&r.actor_user),
        clean(&r.code),
        clean(&r.detail),
        clean(&r.reason)
    )
}

fn host_text(h: &HostSample) -> String {
    let (cpu, used, total) = (
        h.cpus.iter().map(|c| c.busy_percent).sum::<f64>() / h.cpus.len().max(1) as f64,
        h.memory_used_bytes as f64 / f64::from(1u32 << 30),
        h.memory_total_bytes as f64 / f64::from(1u32 << 30),
    );
    format!(
        "cpu {cpu:.1}% avg over {} cores, mem {used:.1}/{total:.1} GiB, load {:.2} {:.2} {:.2}",
        h.cpus.len(),
        h.load1,
        h.load5,
        h.load15
    )
}

fn notice_text(n: &Notice) -> String {
    let kind = json::notice_kind(n);
    let kind = kind
        .as_str()
        .map_or_else(|| kind.to_string(), str::to_owned);
    format!("{kind}: {}", clean(&n.message))
}

#[cfg(test)]
mod tests {
    use perch_proto::v1::{ProcessExec, ProcessExit};

    use super::*;

    fn proc(pid: u32, user: &str, argv: &[&str]) -> Process {
        Process {
            key: Some(ProcessKey {
                pid,
                start_time_ns: 0,
            }),
            ppid: 1,
            uid: 1000,
            user: user.to_owned(),
            comm: "c".to_owned(),
            argv: argv.iter().map(ToString::to_string).collect(),
            ..Process::default()
        }
    }

    #[test]
    fn table_is_aligned_and_escapes_control_characters() {
        let mut kthread = proc(2, "root", &[]);
        kthread.kernel_thread = true;
        kthread.comm = "kthreadd".to_owned();
        let mut exited = proc(31337, "", &["sh", "-c", "printf '\x1b[2J'\n"]);
        exited.exit = Some(Exit {
            time_ns: 1,
            code: None,
            signal: Some(9),
            core_dumped: false,
            oom_killed: false,
        });
        let table = process_table(&[kthread, exited]);
        let expected = "  PID PPID USER COMMAND\n    2    1 root [kthreadd]\n\
                        31337    1 1000 sh -c printf '\\u{1b}[2J'\\n  <exited, signal=9>\n";
        assert_eq!(table, expected);
        assert!(!table.contains('\x1b'));
    }

    #[test]
    fn disguises_in_the_table_are_shown_not_dropped() {
        let p = proc(7, "bob\u{2066}", &["/tmp/\u{202e}fdp.sh"]);
        let table = process_table(&[p]);
        assert!(
            table.contains("bob\\u{2066}") && table.contains("/tmp/\\u{202e}fdp.sh"),
            "{table}"
        );
    }

    #[test]
    fn event_lines_are_readable() {
        let exec = Event {
            seq: 12,
            time_ns: 3_500_000_000,
            kind: Some(Kind::Exec(ProcessExec {
                process: Some(proc(42, "alice", &["ls", "-l"])),
                old_pid: 0,
            })),
        };
        assert_eq!(
            event_line(&exec),
            "      12      3.500000 exec            pid=42 ppid=1 user=alice ls -l"
        );
        let exit = Exit {
            time_ns: 0,
            code: Some(1),
            signal: None,
            core_dumped: true,
            oom_killed: false,
        };
        let key = Some(ProcessKey {
            pid: 42,
            start_time_ns: 0,
        });
        let exit = Event {
            seq: 13,
            time_ns: 0,
            kind: Some(Kind::Exit(ProcessExit {
                key,
                exit: Some(exit),
            })),
        };
        assert!(
            event_line(&exit).ends_with("exit            pid=42 code=1 (core dumped)"),
            "{}",
            event_line(&exit)
        );
    }
}
