//! Numbers as the console prints them: short, fixed-width-friendly, and the
//! same everywhere (bytes, rates, CPU time, start times, exit statuses).
use perch_proto::v1::Exit;

/// A full date and time for the detail view: `2026-11-23 14:05:09`.
pub use crate::when::date_time;
use crate::when::{civil_from_days, local_day};

fn to_f64(n: u64) -> f64 {
    n as f64
}

/// `512`, `1.5K`, `20M`, `3.2G`: powers of 1024, at most 5 characters.
#[must_use]
pub fn bytes(n: u64) -> String {
    bytes_f(to_f64(n))
}

/// Like [`bytes`] for a float (rates); negative and NaN print as 0.
#[must_use]
pub fn bytes_f(n: f64) -> String {
    let mut v = if n.is_finite() && n > 0.0 { n } else { 0.0 };
    if v < 1024.0 {
        return format!("{v:.0}");
    }
    for unit in ['K', 'M', 'G', 'T'] {
        v /= 1024.0;
        if v < 1024.0 {
            return if v < 9.95 {
                format!("{v:.1}{unit}")
            } else {
                format!("{v:.0}{unit}")
            };
        }
    }
    format!("{:.0}P", v / 1024.0)
}

/// A rate for the header: `1.5M/s`.
#[must_use]
pub fn rate(n: f64) -> String {
    format!("{}/s", bytes_f(n))
}

/// A percentage with one decimal below 100, none above (`99.5`, `250`).
#[must_use]
pub fn percent(p: f64) -> String {
    let p = if p.is_finite() && p > 0.0 { p } else { 0.0 };
    if p < 99.95 {
        format!("{p:.1}")
    } else {
        format!("{p:.0}")
    }
}

/// CPU time like htop's TIME+: `M:SS.cc` below an hour, `HhMM:SS` above.
#[must_use]
pub fn cpu_time(ns: u64) -> String {
    let centis = ns / 10_000_000;
    let secs = centis / 100;
    if secs < 3600 {
        format!("{}:{:02}.{:02}", secs / 60, secs % 60, centis % 100)
    } else {
        format!("{}h{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60)
    }
}

/// Time since a start, like ps's ELAPSED: `MM:SS`, `HH:MM:SS`, `D-HH:MM:SS`.
#[must_use]
pub fn elapsed(ns: u64) -> String {
    let s = ns / perch_proto::NS_PER_SEC;
    let (days, h, m, s) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    match (days, h) {
        (0, 0) => format!("{m:02}:{s:02}"),
        (0, h) => format!("{h:02}:{m:02}:{s:02}"),
        (d, h) => format!("{d}-{h:02}:{m:02}:{s:02}"),
    }
}

/// Memory as htop's meters say it: in K at least, one decimal from G up
/// (`23.5G`), none below (`812M`, `0K`).
#[must_use]
pub fn memory(n: u64) -> String {
    let mut v = to_f64(n) / 1024.0;
    let mut unit = 'K';
    for u in ['M', 'G', 'T', 'P'] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    match unit {
        'K' | 'M' => format!("{v:.0}{unit}"),
        _ => format!("{v:.1}{unit}"),
    }
}

/// An uptime: `3 days, 04:05:06` or `04:05:06`.
#[must_use]
pub fn uptime(ns: u64) -> String {
    let s = ns / perch_proto::NS_PER_SEC;
    let (days, h, m, s) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    match days {
        0 => format!("{h:02}:{m:02}:{s:02}"),
        1 => format!("1 day, {h:02}:{m:02}:{s:02}"),
        d => format!("{d} days, {h:02}:{m:02}:{s:02}"),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A start time like htop's START: `HH:MM` the same day as `now`, else `Mon DD`.
#[must_use]
pub fn start_time(unix_secs: i64, now_unix_secs: i64, utc_offset_secs: i32) -> String {
    let (day, sod) = local_day(unix_secs, utc_offset_secs);
    let (today, _) = local_day(now_unix_secs, utc_offset_secs);
    if day == today {
        format!("{:02}:{:02}", sod / 3600, (sod / 60) % 60)
    } else {
        let (_, m, d) = civil_from_days(day);
        let month = MONTHS.get(m.saturating_sub(1) as usize).unwrap_or(&"???");
        format!("{month}{d:02}")
    }
}

/// The conventional name of a signal number (`SIGKILL`), or `SIG42`.
#[must_use]
pub fn signal_name(sig: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(sig)
        .ok()
        .and_then(|i| NAMES.get(i))
        .filter(|n| !n.is_empty())
        .map_or_else(|| format!("SIG{sig}"), |n| (*n).to_owned())
}

/// An exit status as the table shows it: `exit 0`, `exit 3`, `SIGKILL`,
/// `SIGSEGV (core)`, `OOM kill`, `exited`.
#[must_use]
pub fn exit_status(x: &Exit) -> String {
    if x.oom_killed {
        return "OOM kill".to_owned();
    }
    let mut s = match (x.code, x.signal) {
        (_, Some(sig)) if sig > 0 => signal_name(sig),
        (Some(code), _) => format!("exit {code}"),
        _ => "exited".to_owned(),
    };
    if x.core_dumped {
        s.push_str(" (core)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(bytes(0), "0");
        assert_eq!(bytes(1023), "1023");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(20 << 20), "20M");
        assert_eq!(bytes(u64::MAX), "16384P");
        assert_eq!(bytes_f(f64::NAN), "0");
        assert_eq!(rate(-3.0), "0/s");
        assert_eq!(percent(12.345), "12.3");
        assert_eq!(percent(250.0), "250");
        assert_eq!(percent(f64::INFINITY), "0.0");
    }

    #[test]
    fn times() {
        assert_eq!(cpu_time(61_230_000_000), "1:01.23");
        assert_eq!(cpu_time(3_725_000_000_000), "1h02:05");
        assert_eq!(uptime(90_061_000_000_000), "1 day, 01:01:01");
        assert_eq!(elapsed(61_000_000_000), "01:01");
        assert_eq!(elapsed(3_661_000_000_000), "01:01:01");
        assert_eq!(elapsed(90_061_000_000_000), "1-01:01:01");
        assert_eq!(memory(23_500 << 20), "22.9G");
        assert_eq!(memory(812 << 20), "812M");
        assert_eq!(memory(0), "0K");
        // 2026-11-23 14:05:09 UTC.
        let t = 1_795_442_709;
        assert_eq!(date_time(t, 0), "2026-11-23 14:05:09");
        assert_eq!(date_time(t, 3600), "2026-11-23 15:05:09");
        assert_eq!(start_time(t, t + 60, 0), "14:05");
        assert_eq!(start_time(t - 86_400 * 3, t, 0), "Nov20");
        assert_eq!(date_time(0, 0), "1970-01-01 00:00:00");
        assert_eq!(date_time(-1, 0), "1969-12-31 23:59:59");
    }

    #[test]
    fn exit_statuses() {
        let x = |code, signal, core_dumped| Exit {
            time_ns: 0,
            code,
            signal,
            core_dumped,
            oom_killed: false,
        };
        assert_eq!(exit_status(&x(Some(3), None, false)), "exit 3");
        assert_eq!(exit_status(&x(None, Some(9), false)), "SIGKILL");
        assert_eq!(exit_status(&x(None, Some(11), true)), "SIGSEGV (core)");
        assert_eq!(exit_status(&x(None, Some(99), false)), "SIG99");
        assert_eq!(exit_status(&x(None, None, false)), "exited");
    }
}
