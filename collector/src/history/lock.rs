//! One writer per store: `<store>.lock`, held with `flock` for as long as
//! the writer runs, so a second perchd (or a console's embedded collector)
//! pointed at the same file reports the store as in use instead of closing
//! the first one's open process versions as a restart would.  The lock
//! file holds the holder's pid, for the message.
use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{Read as _, Seek as _, Write as _},
    path::{Path, PathBuf},
};

use super::HistoryError;

/// The lock file beside `store`.
fn lock_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the store's lock; the store stays locked while the file lives.
pub fn take(store: &Path) -> Result<File, HistoryError> {
    if let Some(dir) = store.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| HistoryError::open(store, &e))?;
    }
    let path = lock_path(store);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| HistoryError::open(&path, &e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            return Err(HistoryError::open(
                store,
                &format!("in use by another perchd or console{who}"),
            ));
        }
        Err(TryLockError::Error(e)) => return Err(HistoryError::open(&path, &e)),
    }
    // Ours now: say who holds it.
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    written.map_err(|e| HistoryError::open(&path, &e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = dir.path().join("sub/h.db");
        let first = take(&store).expect("first");
        let second = take(&store).expect_err("second while the first holds it");
        let text = second.to_string();
        assert!(
            text.contains("in use by another perchd or console"),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        take(&store).expect("free again");
    }
}
