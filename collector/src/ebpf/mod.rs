//! The eBPF source of process events: resolves kernel layouts (BTF,
//! tracefs), loads and attaches the programs from collector-ebpf, and drains
//! their ring buffer into decoded records.
mod btf;
mod decode;
mod decode_sec;
mod detach;
mod loader;
mod offsets;
mod sec;
mod tracefs;

pub use decode::{Decoder, RawEvent};
pub use loader::{EbpfSource, KindCount, LoadOptions, LossWindow};
pub use offsets::resolve_offsets;
pub use sec::Missing;

/// Why the eBPF source could not start; perchd then falls back to /proc.
#[derive(Debug, thiserror::Error)]
pub enum EbpfError {
    #[error("BTF: {0}")]
    Btf(String),
    #[error("tracefs: {0}")]
    Tracefs(String),
    #[error("loading the eBPF programs: {0}")]
    Load(String),
    #[error("attaching {program}: {detail}")]
    Attach {
        program: &'static str,
        detail: String,
    },
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::ModelEvent;

    /// Loads the real programs and watches a real child: exec with argv,
    /// fork with the right parent, exit with the right status.
    #[tokio::test]
    async fn sees_fork_exec_exit_of_a_child() {
        let mut src = EbpfSource::start(&LoadOptions {
            wakeup_bytes: 64 * 1024,
            ..LoadOptions::default()
        })
        .expect("eBPF loads (run as root)");
        let decoder = Decoder::default();
        let child = std::process::Command::new("/bin/sh")
            .args(["-c", "exit 7", "perch-ebpf-test-arg"])
            .spawn()
            .expect("spawn");
        let pid = child.id();
        let status = child.wait_with_output().expect("wait").status;
        assert_eq!(status.code(), Some(7));
        let (mut fork, mut exec, mut exit) = (None, None, None);
        for _ in 0..200 {
            src.wait(Duration::from_millis(10)).await;
            src.drain(|bytes| match decoder.decode(bytes) {
                Some(ModelEvent::Fork { child, .. }) if child.key.pid == pid => fork = Some(child),
                Some(ModelEvent::Exec { process, .. }) if process.key.pid == pid => {
                    exec = Some(process);
                }
                Some(ModelEvent::Exit { key, exit: e, .. }) if key.pid == pid => {
                    exit = Some((key, e));
                }
                _ => {}
            });
            if exit.is_some() {
                break;
            }
        }
        let fork = fork.expect("fork seen");
        let exec = exec.expect("exec seen");
        let (key, exit) = exit.expect("exit seen");
        assert_eq!(fork.ppid, std::process::id());
        assert_eq!(exec.exe, "/bin/sh");
        assert_eq!(
            exec.argv,
            ["/bin/sh", "-c", "exit 7", "perch-ebpf-test-arg"]
        );
        assert_eq!(exec.uid, nix::unistd::getuid().as_raw());
        assert_eq!(exec.ppid, std::process::id());
        assert_eq!(exec.pgid, nix::unistd::getpgrp().as_raw().cast_unsigned());
        assert!(exec.key.same_as(&fork.key) && key.same_as(&exec.key));
        assert_eq!(exit.code, Some(7));
        assert_eq!(src.lost(), 0);
    }

    /// Every security program passes the verifier and attaches; only the
    /// module syscalls, which this kernel lacks, are missing, and say why.
    #[tokio::test]
    async fn security_programs_attach_where_their_tracepoints_exist() {
        let src = EbpfSource::start(&LoadOptions::default()).expect("eBPF loads (run as root)");
        let missing: Vec<&str> = src.missing().iter().map(|(c, _)| *c).collect();
        assert_eq!(missing, ["module_load"], "{:?}", src.missing());
        let why = &src.missing()[0].1;
        assert!(
            why.contains("no syscalls:sys_enter_init_module tracepoint")
                && why.contains("no loadable-module support"),
            "{why}"
        );
    }
}

#[cfg(test)]
#[path = "net_tests.rs"]
mod net_tests;
