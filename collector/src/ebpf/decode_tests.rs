//! Decoding hand-built records: the same bytes the kernel programs send.
use perch_common::{ENV_MAX, ExecEvent};

use super::*;

/// The bytes of a plain-data record.
fn bytes_of<T>(v: &T) -> &[u8] {
    // SAFETY: T is a #[repr(C)] plain-data record.
    unsafe { std::slice::from_raw_parts(std::ptr::from_ref(v).cast::<u8>(), size_of::<T>()) }
}

fn decode(bytes: &[u8]) -> Option<RawEvent> {
    Decoder::default().decode(bytes)
}

fn split_argv(bytes: &[u8]) -> Vec<String> {
    Argv::from_cmdline(bytes).0.to_vec()
}

#[test]
fn argv_splitting() {
    assert_eq!(split_argv(b"sh\0-c\0echo hi\0"), ["sh", "-c", "echo hi"]);
    assert_eq!(split_argv(b"a\0\0b\0"), ["a", "", "b"]);
    assert!(split_argv(b"").is_empty());
}

#[test]
fn short_or_unknown_records_are_rejected() {
    assert!(decode(&[1, 0, 0]).is_none());
    let h = Header {
        kind: 99,
        ..Header::default()
    };
    assert!(decode(bytes_of(&h)).is_none());
}

#[test]
fn exit_status_is_decoded() {
    let ev = ExitEvent {
        header: Header {
            kind: kind::EXIT,
            tgid: 7,
            ..Header::default()
        },
        exit_code: 3 << 8,
        ..ExitEvent::default()
    };
    let Some(ModelEvent::Exit { key, exit, .. }) = decode(bytes_of(&ev)) else {
        panic!("not an exit")
    };
    assert_eq!((key.pid, exit.code, exit.signal), (7, Some(3), None));
    assert_eq!(tty_name("pts12"), "pts/12");
    assert_eq!(tty_name("ttyS0"), "ttyS0");
}

/// An exec record with this tail: filename, path names (leaf first), env, argv.
fn exec_record(ev: &ExecEvent, tail: [&[u8]; 4]) -> Vec<u8> {
    let mut ev = *ev;
    ev.header.kind = kind::EXEC;
    ev.filename_len = u32::try_from(tail[0].len()).expect("len");
    ev.exe_len = u32::try_from(tail[1].len()).expect("len");
    ev.env_len = u32::try_from(tail[2].len()).expect("len");
    ev.argv_len = u32::try_from(tail[3].len()).expect("len");
    let mut out = bytes_of(&ev).to_vec();
    for part in tail {
        out.extend_from_slice(part);
    }
    out
}

#[test]
fn exec_record_with_its_tail() {
    let mut ev = ExecEvent::default();
    ev.header.tgid = 42;
    ev.flags = EXEC_LOGINUID;
    ev.loginuid = 1000;
    ev.exe.nlink = 0;
    ev.exe.mode = 0o104_755;
    ev.exe.dev = (8 << 20) | 1;
    // fd 0: a TCP socket to 127.0.0.1:4444; fd 1: a pipe; fd 2 closed.
    ev.stdio[0] = FdInfo {
        mode: 0o140_777,
        ino: 99,
        family: 2,
        protocol: 6,
        local_port: 5555,
        peer_port: 4444,
        local_addr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        peer_addr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ..FdInfo::default()
    };
    ev.stdio[1] = FdInfo {
        mode: 0o010_600,
        ino: 7,
        ..FdInfo::default()
    };
    let bytes = exec_record(
        &ev,
        [
            b"/tmp/x/sshd\0",
            b"sleep\0bin\0usr\0",
            b"PATH=/bin\0LD_PRELOAD=/tmp/e.so\0SECRET=x\0",
            b"sshd\x0030\0",
        ],
    );
    let Some(ModelEvent::Exec { process: p, .. }) = decode(&bytes) else {
        panic!("not an exec")
    };
    assert_eq!(p.exe, "/tmp/x/sshd");
    assert_eq!(p.argv, ["sshd", "30"]);
    let f = p.facts.expect("facts");
    assert_eq!(f.exe.path, "/usr/bin/sleep");
    assert!(f.exe.deleted() && f.exe.setuid() && !f.exe.from_memfd);
    assert_eq!((f.exe.dev_major, f.exe.dev_minor), (8, 1));
    assert_eq!(f.loginuid, Some(1000));
    assert_eq!(f.stdio[0].kind, FdKind::Tcp);
    assert_eq!(
        f.stdio[0].peer,
        Some("127.0.0.1:4444".parse().expect("addr"))
    );
    assert_eq!(
        f.stdio[0].local,
        Some("127.0.0.1:5555".parse().expect("addr"))
    );
    assert_eq!((f.stdio[1].kind, f.stdio[1].inode), (FdKind::Pipe, 7));
    assert_eq!(f.stdio[2].kind, FdKind::Closed);
    let env: Vec<(&str, &str)> = f
        .env
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(env, [("LD_PRELOAD", "/tmp/e.so")]);
}

#[test]
fn memfd_and_lengths_beyond_the_record_are_handled() {
    let mut ev = ExecEvent {
        flags: EXEC_EXE_PSEUDO,
        ..ExecEvent::default()
    };
    ev.exe.nlink = 1;
    let bytes = exec_record(&ev, [b"/dev/fd/3\0", b"memfd:payload\0", b"", b"x\0"]);
    let Some(ModelEvent::Exec { process: p, .. }) = decode(&bytes) else {
        panic!("not an exec")
    };
    let f = p.facts.expect("facts");
    assert_eq!(f.exe.path, "/memfd:payload");
    assert!(f.exe.from_memfd && !f.exe.deleted());
    assert!(f.loginuid.is_none());
    // A record cut short of the lengths it claims is rejected, not trusted.
    let mut cut = exec_record(&ev, [b"/bin/x\0", b"x\0", &[b'A'; ENV_MAX], b"x\0"]);
    cut.truncate(cut.len() - 3);
    assert!(decode(&cut).is_none());
}

#[test]
fn rename_and_kernel_thread_fork() {
    let mut ren = RenameEvent::default();
    ren.header.kind = kind::RENAME;
    ren.header.tgid = 5;
    ren.comm[..6].copy_from_slice(b"worker");
    let Some(ModelEvent::Rename { key, comm, .. }) = decode(bytes_of(&ren)) else {
        panic!("not a rename")
    };
    assert_eq!((key.pid, comm.as_str()), (5, "worker"));
    let mut fork = ForkEvent::default();
    fork.header.kind = kind::FORK;
    fork.task_flags = PF_KTHREAD;
    let Some(ModelEvent::Fork { child, .. }) = decode(bytes_of(&fork)) else {
        panic!("not a fork")
    };
    assert!(child.kernel_thread);
}
