//! flock(2) guards on the log file.  Every process that appends (perchd, an
//! embedded collector in a console) takes the exclusive lock around "read
//! what others appended, then append", so two writers extend one chain
//! instead of forking it.  The lock lives on an open file description; the
//! guards own a duplicate of the descriptor and unlock it when dropped.
use std::{fs::File, io};

fn retry(mut f: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Held while appending.
pub struct Exclusive(File);

impl Exclusive {
    pub fn lock(file: File) -> io::Result<Self> {
        retry(|| file.lock())?;
        Ok(Self(file))
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Held by a reader while it looks again at a tail that seemed torn.
pub struct Shared(File);

impl Shared {
    pub fn lock(file: File) -> io::Result<Self> {
        retry(|| file.lock_shared())?;
        Ok(Self(file))
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}
