//! One allocation-free parser for /proc/PID/stat, for everyone who reads
//! it: perchd's reader, sampler, poller and executor, the client (its own
//! start time, so perchd can refuse to act on it) and the tests.  Half of
//! every `ProcessKey` is field 22 of this file, so it is parsed in one
//! place; comm may hold spaces and parentheses, which is where hand-rolled
//! copies go wrong.
//!
//! Why not `procfs::process::Stat`: perchd's sampler and poller read stat
//! for every process every second (100k processes on big hosts), and the
//! crate opens an `O_PATH` fd, allocates a buffer, a lossy `String` and the
//! comm `String`, and parses all 52 fields per call.  Here the caller's
//! buffer is reused and only the fields perch uses are decoded.
use std::str::FromStr;

use crate::NS_PER_TICK;

/// The fields of /proc/PID/stat perch uses.  Tick counts are raw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFields {
    pub state: u8,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    pub tty_nr: u32,
    pub flags: u32,
    pub utime: u64,
    pub stime: u64,
    /// The kernel's priority as printed (20 + nice; -1 - rtprio for
    /// real-time tasks): htop's PRI.
    pub priority: i32,
    pub nice: i32,
    pub num_threads: u32,
    pub starttime: u64,
    /// Virtual memory size in bytes (htop's VIRT).
    pub vsize: u64,
    pub rss_pages: u64,
    /// Raw wait status of a zombie; `None` on kernels before 3.5.
    pub exit_code: Option<i32>,
}

impl StatFields {
    /// The start time as keys carry it: `CLOCK_BOOTTIME` ns, at clock-tick
    /// precision.
    #[must_use]
    pub fn start_time_ns(&self) -> u64 {
        self.starttime.saturating_mul(NS_PER_TICK)
    }

    /// A zombie that is really finished: a thread-group leader that called
    /// `pthread_exit` also shows `Z` while its other threads keep running,
    /// and those still count in `num_threads`.
    #[must_use]
    pub fn is_exited_zombie(&self) -> bool {
        self.state == b'Z' && self.num_threads <= 1
    }
}

fn num<T: FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Parses a stat line; returns the fields and the raw comm bytes.  comm may
/// contain spaces and parentheses, so it spans from the first `(` to the
/// last `)`.  `None` on anything malformed (including an empty read from a
/// process that just vanished).
#[must_use]
pub fn parse_stat(buf: &[u8]) -> Option<(StatFields, &[u8])> {
    let open = buf.iter().position(|&b| b == b'(')?;
    let close = buf.iter().rposition(|&b| b == b')')?;
    let comm = buf.get(open + 1..close)?;
    let rest = buf.get(close + 2..)?;
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    let mut s = StatFields::default();
    let mut seen = 0usize;
    // Index 0 is field 3 (state) of proc(5).
    for (i, f) in rest.split(|&b| b == b' ').enumerate() {
        match i {
            0 => s.state = *f.first()?,
            1 => s.ppid = num(f)?,
            2 => s.pgrp = num(f)?,
            3 => s.session = num(f)?,
            // Printed as %d; a negative value would be nonsense, treat as none.
            4 => s.tty_nr = num(f).unwrap_or(0),
            6 => s.flags = num(f)?,
            11 => s.utime = num(f)?,
            12 => s.stime = num(f)?,
            15 => s.priority = num(f)?,
            16 => s.nice = num(f)?,
            17 => s.num_threads = num(f)?,
            19 => s.starttime = num(f)?,
            20 => s.vsize = num(f)?,
            21 => s.rss_pages = num::<i64>(f).map_or(0, |v| u64::try_from(v).unwrap_or(0)),
            49 => {
                s.exit_code = num(f);
                break;
            }
            _ => {}
        }
        seen = i;
    }
    (seen >= 21).then_some((s, comm))
}

/// /proc/PID/stat of a process, parsed; `None` when it is gone (or the
/// file does not parse).  For callers that read one process now and then;
/// perchd reads with reused buffers instead.
#[must_use]
pub fn read_pid(pid: u32) -> Option<StatFields> {
    read(&format!("/proc/{pid}/stat"))
}

/// The calling process's own stat.
#[must_use]
pub fn read_self() -> Option<StatFields> {
    read("/proc/self/stat")
}

fn read(path: &str) -> Option<StatFields> {
    let buf = std::fs::read(path).ok()?;
    parse_stat(&buf).map(|(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = b"475071 (my (odd) cat) R 323893 475071 323893 34826 475071 4194304 94 0 0 0 7 3 0 0 20 -5 1 0 201288208 5738496 225 18446744073709551615 94881179934720 94881179954601 140722831478832 0 0 0 0 0 0 0 0 0 17 4 0 0 0 0 0 94881179970608 94881179972224 94881184485376 140722831483757 140722831483777 140722831483777 140722831486955 256\n";

    #[test]
    fn parses_fields_and_comm_with_parens() {
        let (s, comm) = parse_stat(LINE).expect("valid line");
        assert_eq!(comm, b"my (odd) cat");
        assert_eq!(s.state, b'R');
        assert_eq!(
            (s.ppid, s.pgrp, s.session, s.tty_nr),
            (323_893, 475_071, 323_893, 34826)
        );
        assert_eq!(s.flags, 4_194_304);
        assert_eq!((s.utime, s.stime, s.nice, s.num_threads), (7, 3, -5, 1));
        assert_eq!((s.starttime, s.rss_pages), (201_288_208, 225));
        assert_eq!((s.priority, s.vsize), (20, 5_738_496));
        assert_eq!(s.exit_code, Some(256));
    }

    #[test]
    fn old_kernel_without_exit_code() {
        let cut = b"1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 100 50";
        let (s, _) = parse_stat(cut).expect("21 fields are enough");
        assert_eq!((s.starttime, s.rss_pages, s.exit_code), (9, 50, None));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            &b""[..],
            b"12 (x",
            b"12 x) R 1",
            b"1 (a) R 1 2 3",
            b"1 (a) R x 1 1 0 0 0",
        ] {
            assert!(parse_stat(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn random_and_cut_input_never_panics() {
        for cut in 0..=LINE.len() {
            let _ = parse_stat(&LINE[..cut]);
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let alphabet = b"() 0123456789-RZ\n\xff";
        for _ in 0..2000 {
            let line: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[usize::try_from(x % 18).unwrap_or(0)]
                })
                .collect();
            let _ = parse_stat(&line);
        }
    }

    #[test]
    fn this_process_reads_like_proc_says() {
        let me = read_self().expect("own stat");
        let again = read_pid(std::process::id()).expect("own stat by pid");
        assert_eq!(me.starttime, again.starttime);
        assert_eq!(me.start_time_ns(), me.starttime * NS_PER_TICK);
        assert!(me.start_time_ns() > 0);
        assert_eq!(read_pid(0), None);
    }
}
