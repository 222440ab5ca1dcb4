//! Reading /proc/PID/stat and other /proc files into reused buffers, for
//! the reader, the per-second sampler and the poller, which read them for
//! every process every second.  The stat parser itself is
//! `perch_proto::stat`, the one every client uses too (see there why not
//! the `procfs` crate's).
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};

pub(crate) use perch_proto::stat::{StatFields, parse_stat};

/// `PF_KTHREAD` in `task_struct.flags`.
pub(crate) const PF_KTHREAD: u32 = 0x0020_0000;

/// Reads a whole file into `buf` (cleared first), reusing its capacity.
///
/// The files read here (stat, io, status, cmdline...) are generated whole
/// by the kernel on the first read, so a read that does not fill the chunk
/// has reached the end: open, one read, close — as htop reads them.
/// (`read_to_end` would add a `statx` and an `lseek` per file and a final
/// empty read: twice the system calls, at 10k processes a second.)
pub(crate) fn read_into(path: &str, buf: &mut Vec<u8>) -> io::Result<()> {
    const CHUNK: usize = 4096;
    buf.clear();
    let mut file = File::open(path)?;
    loop {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = loop {
            match file.read(&mut buf[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        };
        buf.truncate(start + n);
        if n < CHUNK {
            return Ok(());
        }
    }
}

/// Builds `<root>/<pid>/<file>` paths in one reused `String`.
#[derive(Debug)]
pub(crate) struct PidPath {
    buf: String,
    root_len: usize,
}

impl PidPath {
    pub fn new(root: &std::path::Path) -> Self {
        let buf = root.to_string_lossy().trim_end_matches('/').to_owned();
        let root_len = buf.len();
        Self { buf, root_len }
    }

    pub fn get(&mut self, pid: u32, file: &str) -> &str {
        self.buf.truncate(self.root_len);
        // Writing to a String cannot fail.
        let _ = write!(self.buf, "/{pid}/{file}");
        &self.buf
    }
}

/// Reads and parses /proc/PID/stat with caller-owned buffers.
pub(crate) fn read_stat(path: &mut PidPath, pid: u32, buf: &mut Vec<u8>) -> io::Result<StatFields> {
    read_into(path.get(pid, "stat"), buf)?;
    // An empty or cut read happens when the task is being torn down.
    parse_stat(buf)
        .map(|(s, _)| s)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_path_reuses_prefix() {
        let mut p = PidPath::new(std::path::Path::new("/proc/"));
        assert_eq!(p.get(12, "stat"), "/proc/12/stat");
        assert_eq!(p.get(3, "io"), "/proc/3/io");
    }
}
