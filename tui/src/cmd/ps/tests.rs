//! `perch ps`'s filter, order and columns over fixed processes.
use perch_proto::v1::{Exit, Process, ProcessKey, ResourceUsage};

use super::*;

fn p(pid: u32, comm: &str, user: &str, cpu: f64, rss: u64) -> Process {
    Process {
        key: Some(ProcessKey {
            pid,
            start_time_ns: u64::from(pid) * NS_PER_SEC,
        }),
        ppid: 1,
        user: user.to_owned(),
        comm: comm.to_owned(),
        argv: vec![comm.to_owned(), "-x".to_owned()],
        state: "S".to_owned(),
        usage: Some(ResourceUsage {
            cpu_percent: cpu,
            cpu_time_ns: 65 * NS_PER_SEC,
            rss_bytes: rss,
            ..ResourceUsage::default()
        }),
        ..Process::default()
    }
}

fn sample() -> Vec<Process> {
    let mut gone = p(40, "gone", "root", 0.0, 0);
    gone.exit = Some(Exit::default());
    vec![
        p(10, "nginx", "www", 2.0, 30 << 20),
        p(20, "xmrig", "root", 99.5, 5 << 20),
        p(30, "bash", "alice", 0.1, 4 << 20),
        gone,
    ]
}

fn pids(rows: &[Row]) -> Vec<u32> {
    rows.iter().map(|r| r.proc.key.pid).collect()
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "select takes the Option the CLI gives"
)]
fn sort(s: &str) -> Option<SortBy> {
    Some(SortBy::parse(s).unwrap())
}

#[test]
fn sorts_by_a_field_and_reverses() {
    let all = Filter::default();
    assert_eq!(pids(&select(sample(), &all, None, false)), [10, 20, 30, 40]);
    assert_eq!(
        pids(&select(sample(), &all, sort("cpu"), false)),
        [40, 30, 10, 20]
    );
    assert_eq!(
        pids(&select(sample(), &all, sort("-cpu"), false)),
        [20, 10, 30, 40]
    );
    assert_eq!(
        pids(&select(sample(), &all, sort("cpu"), true)),
        [20, 10, 30, 40]
    );
    assert_eq!(
        pids(&select(sample(), &all, sort("-mem"), false)),
        [10, 20, 30, 40]
    );
    assert_eq!(
        pids(&select(sample(), &all, sort("comm"), false)),
        [30, 40, 10, 20]
    );
}

#[test]
fn the_console_filter_selects() {
    let f = |s: &str| filter(&s.split(' ').map(str::to_owned).collect::<Vec<_>>()).unwrap();
    assert_eq!(
        pids(&select(sample(), &f("user:root"), None, false)),
        [20, 40]
    );
    assert_eq!(pids(&select(sample(), &f("cpu>5%"), None, false)), [20]);
    assert_eq!(pids(&select(sample(), &f("rss>10M"), None, false)), [10]);
    assert_eq!(
        pids(&select(sample(), &f("!is:exited user:root"), None, false)),
        [20]
    );
    assert_eq!(pids(&select(sample(), &f("xmr"), None, false)), [20]);
    let err = filter(&["cpu>lots".to_owned()])
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.starts_with("filter \"cpu>lots\": ")));
}

#[test]
fn fields_are_checked_and_printed_in_order() {
    assert_eq!(Field::parse("CPU"), Ok(Field::Cpu));
    let err = Field::parse("colour").unwrap_err();
    assert!(
        err.contains("\"colour\"") && err.contains("pid, ppid, user"),
        "{err}"
    );
    assert!(SortBy::parse("-nope").is_err());
    let rows = select(sample(), &Filter::default(), sort("-cpu"), false);
    let fields = [
        Field::Pid,
        Field::User,
        Field::Cpu,
        Field::Rss,
        Field::Time,
        Field::State,
        Field::Comm,
    ];
    let out = table(&rows[..2], &fields, Clock::default());
    assert_eq!(
        out,
        "PID USER CPU%   RSS TIME S COMM\n 20 root 99.5  5.0M 1:05 S xmrig\n 10 www   2.0 30.0M 1:05 S nginx\n"
    );
    let gone = select(sample(), &Filter::parse("is:exited").unwrap(), None, false);
    assert_eq!(table(&gone, &[Field::State], Clock::default()), "S\nX\n");
}

#[test]
fn start_is_a_time_today_else_a_date() {
    let c = Clock {
        boot_time_unix_ns: 1_700_000_000 * NS_PER_SEC,
        utc_offset_secs: 0,
        now_unix_secs: 1_700_000_100,
    };
    assert_eq!(start(30 * NS_PER_SEC, c), "22:13:50");
    let later = Clock {
        now_unix_secs: 1_700_000_000 + 86_400 * 3,
        ..c
    };
    assert_eq!(start(30 * NS_PER_SEC, later), "2023-11-14");
}
