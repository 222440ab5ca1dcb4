//! One cell of the process table as text: every column but COMMAND (which
//! the table draws with its tree guides, markers and search highlights).
//! Exited rows show `-` in the resource columns: their last figures are
//! history, not load.
use crate::console::{
    App,
    columns::Column,
    format,
    model::{Proc, Usage},
    threads::Thread,
};

/// The text of `col` for `p`, with `u` its usage (a collapsed node's
/// subtree sum).
pub(super) fn cell(app: &App, col: Column, p: &Proc, u: &Usage) -> String {
    if p.is_exited() && col.is_usage() {
        return "-".to_owned();
    }
    let host = p.key.host;
    match col {
        Column::Pid => p.key.pid.to_string(),
        Column::User => p.user.to_string(),
        Column::AUser => p.login_user.to_string(),
        Column::State => state(p),
        Column::Pri if p.is_exited() => "-".to_owned(),
        Column::Pri => u.priority.to_string(),
        Column::Nice => p.nice.to_string(),
        Column::Cpu => format::percent(u.cpu_percent),
        Column::Mem => format::percent(u.mem_percent),
        Column::Virt => format::bytes(u.virtual_bytes),
        Column::Rss => format::bytes(u.rss_bytes),
        Column::Shr => format::bytes(u.shared_bytes),
        Column::Threads => p.threads.to_string(),
        Column::Read => format::bytes_f(u.read_per_sec),
        Column::Write => format::bytes_f(u.write_per_sec),
        Column::NetRx => format::bytes_f(u.net_rx_per_sec),
        Column::NetTx => format::bytes_f(u.net_tx_per_sec),
        Column::Start => {
            let now = app.host_now_ns(host).unwrap_or(p.start_time_ns);
            match (
                app.unix_secs(host, p.start_time_ns),
                app.unix_secs(host, now),
            ) {
                (Some(start), Some(now)) => {
                    format::start_time(start, now, app.config().utc_offset_secs)
                }
                _ => "?".to_owned(),
            }
        }
        Column::Elapsed => {
            let end = p
                .exit
                .map(|x| x.time_ns)
                .or_else(|| app.host_now_ns(host))
                .unwrap_or(p.start_time_ns);
            format::elapsed(end.saturating_sub(p.start_time_ns))
        }
        Column::Time => format::cpu_time(u.cpu_time_ns),
        Column::Ppid if p.parent_unknown => "?".to_owned(),
        Column::Ppid => p.ppid.to_string(),
        Column::Pgrp => p.pgid.to_string(),
        Column::Sid => p.sid.to_string(),
        Column::Tty if p.tty.is_empty() => "?".to_owned(),
        Column::Tty => p.tty.to_string(),
        Column::Exe => format!("{}{}", p.exe_shown(), p.binary_mark()),
        Column::Container => p.container_label().to_owned(),
        Column::Flags => p.flags.count.to_string(),
        Column::Host => app.host_name(host).to_owned(),
        Column::Command => String::new(),
    }
}

/// The text of `col` on a thread row of `p`: the thread's own tid, state,
/// priority, nice and CPU; the process's for the rest (threads share its
/// memory, user and command); nothing where a count of threads would go.
pub(super) fn thread_cell(app: &App, col: Column, p: &Proc, th: &Thread) -> String {
    match col {
        Column::Pid => th.tid.to_string(),
        Column::State if th.state == 0 => String::new(),
        Column::State => char::from(th.state).to_string(),
        Column::Pri => th.priority.to_string(),
        Column::Nice => th.nice.to_string(),
        Column::Cpu => format::percent(th.cpu_percent),
        Column::Time => format::cpu_time(th.cpu_time_ns),
        Column::Ppid => p.key.pid.to_string(),
        Column::Threads
        | Column::Read
        | Column::Write
        | Column::NetRx
        | Column::NetTx
        | Column::Elapsed
        | Column::Start => String::new(),
        _ => cell(app, col, p, &p.usage),
    }
}

/// The state letter; `-` once exited, empty before the first sample.
fn state(p: &Proc) -> String {
    if p.is_exited() {
        "-".to_owned()
    } else if p.state == 0 {
        String::new()
    } else {
        char::from(p.state).to_string()
    }
}
