use perch_proto::v1;

use super::*;
use crate::console::model::HostId;

fn row(pid: u32, user: &str, argv: &[&str], cpu: f64, rss: u64) -> Proc {
    let p = v1::Process {
        key: Some(v1::ProcessKey {
            pid,
            start_time_ns: 1,
        }),
        ppid: 1,
        user: user.to_owned(),
        exe: format!("/usr/bin/{}", argv.first().unwrap_or(&"")),
        argv: argv.iter().map(ToString::to_string).collect(),
        container_id: if pid == 7 {
            "abcdef0123456789".to_owned()
        } else {
            String::new()
        },
        usage: Some(v1::ResourceUsage {
            cpu_percent: cpu,
            rss_bytes: rss,
            mem_percent: 1.5,
            cpu_time_ns: 90_000_000_000,
            ..v1::ResourceUsage::default()
        }),
        ..v1::Process::default()
    };
    Proc::from_proto(HostId(0), &p)
}

fn rows() -> Vec<Proc> {
    vec![
        row(1, "root", &["init"], 0.0, 10 << 20),
        row(7, "redis", &["redis-server", "*:6379"], 12.5, 300 << 20),
        row(42, "alice", &["bash", "-c", "sleep 5"], 0.5, 4 << 20),
        row(420, "Alice", &["python3", "Server.py"], 99.0, 2 << 30),
    ]
}

fn pids(filter: &str) -> Vec<u32> {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    rows()
        .iter()
        .filter(|p| f.matches(p, "web-1"))
        .map(|p| p.key.pid)
        .collect()
}

#[test]
fn good_filters() {
    assert_eq!(pids(""), [1, 7, 42, 420]);
    assert_eq!(pids("user:alice"), [42, 420]);
    assert_eq!(pids("USER:ALI !pid:42"), [420]);
    assert_eq!(pids("pid:42"), [42]);
    assert_eq!(pids("pid=42"), [42]);
    assert_eq!(pids("cpu>5"), [7, 420]);
    assert_eq!(pids("cpu>=12.5%"), [7, 420]);
    assert_eq!(pids("cpu<1 !user:root"), [42]);
    assert_eq!(pids("rss>100M"), [7, 420]);
    assert_eq!(pids("rss<=4m"), [42]);
    assert_eq!(pids("rss>1G"), [420]);
    assert_eq!(pids("mem<2"), [1, 7, 42, 420]);
    assert_eq!(pids("time>1m"), [1, 7, 42, 420]);
    assert_eq!(pids("time>2m"), Vec::<u32>::new());
    assert_eq!(pids("container:ABC"), [7]);
    assert_eq!(pids("is:container"), [7]);
    assert_eq!(pids("!is:container is:running"), [1, 42, 420]);
    assert_eq!(pids("server"), [7, 420]);
    assert_eq!(pids("\"sleep 5\""), [42]);
    assert_eq!(pids("cmd:\"-c sleep\""), [42]);
    assert_eq!(pids("host:web"), [1, 7, 42, 420]);
    assert_eq!(pids("!host:web"), Vec::<u32>::new());
    // Free text also finds pids and users.
    assert_eq!(pids("420"), [420]);
    assert_eq!(pids("  sleep   bash  "), [42]);
}

#[test]
fn bad_filters_say_where_and_what() {
    let err = |s: &str| Filter::parse(s).unwrap_err();
    let e = err("usr:root");
    assert_eq!(e.at, 0);
    assert!(e.message.starts_with("unknown column `usr`"), "{e}");
    assert!(err("cpu>lots").message.contains("`lots` is not a number"));
    assert_eq!(err("cpu>lots").at, 4);
    assert!(err("rss>10Q").message.contains("bytes"));
    assert_eq!(err("user:").message, "`user` needs a value");
    assert_eq!(err("pid:1 !").message, "`!` needs a term after it");
    assert_eq!(err("\"open").message, "unterminated quote");
    assert!(err(":x").message.contains("needs a column"));
    assert!(err("user>3").message.contains("is text"));
    assert!(err("is:zombie").message.contains("unknown state"));
    assert!(err("is>3").message.contains("is:exited"));
    assert!(err("cpu>inf").message.contains("not a number"));
    assert_eq!(err("pid:1 x:y").at, 6);
}

#[test]
fn never_panics_on_odd_input() {
    let samples = [
        "!",
        "!!",
        "\"",
        "\"\"",
        ":",
        "<",
        ">=",
        "==",
        "pid:",
        "pid::",
        "rss>k",
        "cpu>%",
        "time>m",
        "é:ü",
        "İ",
        "pid:İ",
        "\u{0}",
        "a\"b c\"d",
        "cpu>1e400",
        "rss>-5",
        "nice<-3",
        "!is:kernel",
    ];
    for s in samples {
        if let Ok(f) = Filter::parse(s) {
            for p in rows() {
                let _ = f.matches(&p, "h");
            }
        }
    }
}
