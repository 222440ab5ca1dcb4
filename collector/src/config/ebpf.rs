//! The eBPF source's settings in the configuration file: the ring buffer's
//! size and which environment variables each exec reports (`exec_env`).
use std::path::Path;

use super::{ConfigError, File, Settings, limits, line_of};
use crate::model::EnvFilter;

/// Applies `ring_buffer_bytes` and `exec_env` from `file` (the text of
/// `path`) to `s`.
pub(super) fn merge(
    s: &mut Settings,
    file: &File,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    if let Some(v) = &file.ring_buffer_bytes {
        s.ring_buffer_bytes = ring_bytes(*v.get_ref()).map_err(|message| ConfigError::Value {
            path: path.to_owned(),
            line: line_of(text, v.span().start),
            key: "ring_buffer_bytes",
            message,
        })?;
    }
    if let Some(list) = &file.exec_env {
        // One entry at a time, so the error names the entry's line.
        for e in list {
            EnvFilter::new(&[e.get_ref()]).map_err(|message| ConfigError::Value {
                path: path.to_owned(),
                line: line_of(text, e.span().start),
                key: "exec_env",
                message,
            })?;
        }
        let names: Vec<&str> = list.iter().map(|e| e.get_ref().as_str()).collect();
        let line = list.first().map_or(1, |e| line_of(text, e.span().start));
        s.exec_env = EnvFilter::new(&names).map_err(|message| ConfigError::Value {
            path: path.to_owned(),
            line,
            key: "exec_env",
            message,
        })?;
    }
    Ok(())
}

/// A ring buffer size the kernel accepts: a power of two in
/// [`limits::RING_BUFFER_BYTES`] (which starts at the page size).
pub fn ring_bytes(v: u64) -> Result<u32, String> {
    let range = limits::RING_BUFFER_BYTES;
    if !range.contains(&v) || !v.is_power_of_two() {
        return Err(format!(
            "must be a power of two in {}..={} (got {v})",
            range.start(),
            range.end()
        ));
    }
    u32::try_from(v).map_err(|_| format!("{v} is too large"))
}

#[cfg(test)]
mod tests {
    use crate::config::tests::merge;

    use super::*;

    #[test]
    fn ring_size_must_be_a_power_of_two_in_range() {
        assert_eq!(
            merge("ring_buffer_bytes = 65536\n")
                .expect("valid")
                .ring_buffer_bytes,
            65536
        );
        assert_eq!(
            merge("\nring_buffer_bytes = 5000\n")
                .expect_err("not 2^n")
                .to_string(),
            "config perchd.toml line 2: ring_buffer_bytes: must be a power of two in 4096..=268435456 (got 5000)"
        );
        assert!(merge("ring_buffer_bytes = 1024\n").is_err());
        assert_eq!(ring_bytes(4096), Ok(4096));
    }

    #[test]
    fn exec_env_entries_are_checked_with_their_line() {
        let s = merge("exec_env = [\"LD_PRELOAD\", \"MY_*\"]\n").expect("valid");
        assert_eq!(
            s.exec_env,
            EnvFilter::new(&["LD_PRELOAD", "MY_*"]).expect("valid")
        );
        let e = merge("exec_env = [\n  \"LD_PRELOAD\",\n  \"LD-AUDIT\",\n]\n")
            .expect_err("bad name")
            .to_string();
        assert!(
            e.starts_with(
                "config perchd.toml line 3: exec_env: \"LD-AUDIT\" is not a variable name"
            ),
            "{e}"
        );
        let e = merge("exec_env = \"LD_PRELOAD\"\n")
            .expect_err("not a list")
            .to_string();
        assert!(e.contains("line 1"), "{e}");
        // An empty list reports nothing.
        assert_eq!(
            merge("exec_env = []\n").expect("valid").exec_env,
            EnvFilter::new::<&str>(&[]).expect("empty")
        );
    }
}
