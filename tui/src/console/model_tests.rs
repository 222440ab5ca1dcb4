//! Rows built from perch.v1 processes: keys, escaping, the search haystack;
//! `proto` is shared with the other console tests.
use super::*;

pub fn proto(pid: u32, ppid: u32, argv: &[&str]) -> v1::Process {
    v1::Process {
        key: Some(v1::ProcessKey {
            pid,
            start_time_ns: u64::from(pid) * 1_000_000_000,
        }),
        ppid,
        parent_start_time_ns: u64::from(ppid) * 1_000_000_000,
        user: "root".to_owned(),
        argv: argv.iter().map(ToString::to_string).collect(),
        ..v1::Process::default()
    }
}

#[test]
fn keys_compare_at_tick_granularity() {
    let a = ProcessKey::new(HostId(0), 5, 1_234_567_890);
    let b = ProcessKey::new(HostId(0), 5, 1_230_000_000);
    assert_eq!(a, b);
    assert_ne!(a, ProcessKey::new(HostId(1), 5, 1_234_567_890));
}

#[test]
fn haystack_is_lowercase_and_aligned() {
    let mut p = proto(42, 1, &["/usr/bin/Python3", "-c", "İx\x1b"]);
    p.exe = "/usr/bin/python3".to_owned();
    let row = Proc::from_proto(HostId(0), &p);
    assert_eq!(&*row.command, "/usr/bin/Python3 -c İx\\u{1b}");
    assert!(
        row.haystack()
            .starts_with("/usr/bin/python3 -c ix\\u{1b} /usr/bin/python3 root")
    );
    assert!(row.haystack().ends_with(" 42"));
    // Char i of the command is char i of the haystack, lowercased.
    let n = row.command.chars().count();
    let lowered: String = row
        .command
        .chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect();
    assert_eq!(row.haystack().chars().take(n).collect::<String>(), lowered);
}

#[test]
fn an_ascii_haystack_is_lowercased_byte_by_byte() {
    let mut p = proto(7, 1, &["/opt/App/RUN.sh", "--Mode=X"]);
    p.exe = "/opt/App/RUN.sh".to_owned();
    p.user = "Www-Data".to_owned();
    let row = Proc::from_proto(HostId(0), &p);
    assert_eq!(
        row.haystack(),
        "/opt/app/run.sh --mode=x /opt/app/run.sh www-data 7"
    );
}

/// The COMMAND text a row builds from its cleaned arguments is the one
/// `text::command` writes (the CLI's), for every shape of process; and the
/// strings a row takes over are cleaned like those it copies.
#[test]
fn a_row_s_command_and_strings_match_the_cli_s() {
    let mut truncated = proto(3, 1, &["sh", "-c", "echo \x07hi"]);
    truncated.argv_truncated = true;
    let mut kernel = proto(4, 2, &[]);
    kernel.kernel_thread = true;
    kernel.comm = "kworker/0:1\x1b".to_owned();
    let mut no_argv = proto(5, 1, &[]);
    no_argv.exe = "/bin/zombie\n".to_owned();
    let mut no_argv_truncated = no_argv.clone();
    no_argv_truncated.argv_truncated = true;
    for p in [
        proto(2, 1, &["/usr/bin/python3", "-c", "İx\x1b[2J"]),
        truncated,
        kernel,
        no_argv,
        no_argv_truncated,
    ] {
        let row = Proc::from_owned(HostId(0), p.clone());
        assert_eq!(&*row.command, crate::text::command(&p), "{p:?}");
        assert_eq!(&*row.comm, clean(&p.comm), "{p:?}");
        assert_eq!(&*row.exe, clean(&p.exe), "{p:?}");
        assert!(!row.command.contains(['\x1b', '\x07', '\n']), "{p:?}");
    }
}
