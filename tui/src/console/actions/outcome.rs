//! What an action's answer says happened, in words for the result toast:
//! a signal's outcome per process ("TERM delivered to 4242 sleep: still
//! running after 2 s"), perchd's own list of whom a dry run would hit, and
//! whether to offer KILL for what is still running.
use perch_proto::v1::{ActResponse, ActionMode, ActionOutcome, ProcessOutcome, Signal};

use crate::{act, console::format, text::clean};

/// The toast's words for an answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Described {
    pub detail: String,
    /// One line per process listed (a dry run's resolution, or what still runs).
    pub list: Vec<String>,
    /// Something the signal was meant to end still runs.
    pub still_running: bool,
}

/// `TERM`, `34`.
fn signal_text(kind: perch_proto::v1::ActionKind, raw: i32) -> String {
    let n = act::signal_number(kind, raw);
    match Signal::try_from(n) {
        Ok(s) if s != Signal::Unspecified => act::signal_name(s).to_owned(),
        _ => format::signal_name(n).trim_start_matches("SIG").to_owned(),
    }
}

/// `  4242 root  nginx: master` with `#` marking what runs as root.
fn listed(p: &perch_proto::v1::AffectedProcess) -> String {
    let pid = p.key.map_or(0, |k| k.pid);
    let user = if p.user.is_empty() {
        p.uid.map_or_else(|| "?".to_owned(), |u| u.to_string())
    } else {
        clean(&p.user).into_owned()
    };
    let cmd = if p.argv.is_empty() {
        clean(&p.comm).into_owned()
    } else {
        p.argv
            .iter()
            .map(|a| clean(a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mark = if p.root { '#' } else { ' ' };
    let detail = if p.detail.is_empty() {
        String::new()
    } else {
        format!("  ({})", clean(&p.detail))
    };
    format!("{mark}{pid:>7} {user:<9} {cmd}{detail}")
}

/// Describes `resp`.
#[must_use]
pub fn describe(resp: &ActResponse) -> Described {
    let Some(r) = &resp.record else {
        return Described {
            detail: act::summary(resp),
            ..Described::default()
        };
    };
    if r.mode() == ActionMode::DryRun {
        let mut list: Vec<String> = r.processes.iter().map(listed).collect();
        if r.processes.iter().any(|p| p.root) {
            list.push("(# runs as root)".to_owned());
        }
        return Described {
            detail: act::summary(resp),
            list,
            still_running: false,
        };
    }
    let watched = matches!(
        resp.outcome(),
        ActionOutcome::Exited | ActionOutcome::StillRunning | ActionOutcome::Stopped
    );
    if !watched || !act::takes_signal(r.action()) {
        return Described {
            detail: act::summary(resp),
            ..Described::default()
        };
    }
    let sig = signal_text(r.action(), r.signal);
    let still: Vec<&perch_proto::v1::AffectedProcess> = r
        .processes
        .iter()
        .filter(|p| p.outcome() == ProcessOutcome::StillRunning)
        .collect();
    let detail = match &r.processes[..] {
        [one] => {
            let what = if one.detail.is_empty() {
                match one.outcome() {
                    ProcessOutcome::StillRunning => "still running".to_owned(),
                    ProcessOutcome::Exited => "exited".to_owned(),
                    ProcessOutcome::Stopped => "stopped".to_owned(),
                    _ => "delivered".to_owned(),
                }
            } else {
                // perchd says "TERM delivered; still running after 2 s":
                // the first half is this line's start already.
                let d = clean(&one.detail).into_owned();
                d.split_once("; ")
                    .map_or(d.clone(), |(_, seen)| seen.to_owned())
            };
            format!(
                "{sig} delivered to {} {}: {what}",
                one.key.map_or(0, |k| k.pid),
                clean(&one.comm)
            )
        }
        all => {
            let mut parts = Vec::new();
            for (n, word) in [
                (resp.exited, "exited"),
                (resp.still_running, "still running"),
                (resp.stopped, "stopped"),
                (resp.already_gone, "already gone"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {word}"));
                }
            }
            format!(
                "{sig} delivered to {}: {}",
                crate::console::overlays::processes(all.len()),
                parts.join(", ")
            )
        }
    };
    Described {
        detail,
        list: if r.processes.len() > 1 {
            still.iter().map(|p| listed(p)).collect()
        } else {
            Vec::new()
        },
        still_running: resp.still_running > 0 || !still.is_empty(),
    }
}
