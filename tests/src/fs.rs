//! File systems the tests make for themselves: a small tmpfs in a temp dir,
//! for logs that must run out of space for real.
use std::path::{Path, PathBuf};

/// A tmpfs of a given size mounted on a fresh temp dir (root only),
/// unmounted (lazily: a killed perchd may still hold files there) on drop.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` (rounded up to pages by the kernel).
    #[must_use]
    pub fn mount(bytes: u64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        nix::mount::mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some(format!("size={bytes},mode=0700").as_str()),
        )
        .expect("mount a tmpfs (needs root)");
        Self { dir }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the file system says it is full; returns it.
    #[must_use]
    pub fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).expect("create filler");
        let block = vec![0xa5_u8; 64 * 1024];
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        // Pages partly used by other files may still take a few bytes:
        // fill those too, one byte at a time.
        while matches!(f.write(&[0xa5]), Ok(1)) {}
        path
    }

    /// Names in the mount's root that contain `needle`.
    #[must_use]
    pub fn files_containing(&self, needle: &str) -> Vec<String> {
        std::fs::read_dir(self.path())
            .expect("read tmpfs")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(needle))
            .collect()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(self.dir.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}
