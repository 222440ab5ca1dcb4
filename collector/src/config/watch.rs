//! `[signal_watch_ms]`: how long perchd watches the processes an action
//! signalled before it says what they did, per signal, in milliseconds:
//!
//! ```toml
//! [signal_watch_ms]
//! TERM = 2000   # the default for TERM, INT, HUP, QUIT, USR1 and USR2
//! KILL = 0      # the default for KILL and STOP: not watched
//! ```
//!
//! Keys are signal names (`TERM`, `term` or `SIGTERM`); CONT is never
//! watched.  Every key and value error names the key and its line.
use std::{collections::BTreeMap, ops::RangeInclusive, path::Path, time::Duration};

use toml::Spanned;

use super::{ConfigError, line_of};
use crate::actions::SignalWatch;

/// Allowed watch, in ms: an `Act` call waits this long for its answer.
pub const WATCH_MS: RangeInclusive<u64> = 0..=10_000;

/// The table as written.
pub(super) type SignalWatchFile = BTreeMap<Spanned<String>, Spanned<u64>>;

/// Applies the table to `watch`.
pub(super) fn merge(
    watch: &mut SignalWatch,
    table: &SignalWatchFile,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    let at = |span: std::ops::Range<usize>, message: String| ConfigError::At {
        path: path.to_owned(),
        line: line_of(text, span.start),
        message,
    };
    for (key, ms) in table {
        let name = key.get_ref();
        let Some(signal) = SignalWatch::signal(name) else {
            return Err(at(
                key.span(),
                format!(
                    "signal_watch_ms.{name}: not a signal perchd watches (HUP, INT, QUIT, KILL, \
                     USR1, USR2, TERM, STOP; CONT is never watched)"
                ),
            ));
        };
        let value = *ms.get_ref();
        if !WATCH_MS.contains(&value) {
            return Err(at(
                ms.span(),
                format!(
                    "signal_watch_ms.{name} must be in {}..={} (got {value})",
                    WATCH_MS.start(),
                    WATCH_MS.end()
                ),
            ));
        }
        watch.set(signal, Duration::from_millis(value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::Settings;

    fn merge(text: &str) -> Result<Settings, String> {
        let mut s = Settings::default();
        s.merge_str(Path::new("perchd.toml"), text)
            .map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn defaults_and_overrides() {
        let s = merge("").expect("empty");
        assert_eq!(s.signal_watch.get(15), Duration::from_secs(2));
        assert_eq!(s.signal_watch.get(1), Duration::from_secs(2));
        assert_eq!(s.signal_watch.get(9), Duration::ZERO);
        assert_eq!(s.signal_watch.get(19), Duration::ZERO);
        let s = merge("[signal_watch_ms]\nTERM = 300\nsigkill = 1000\nstop = 50\n").expect("valid");
        assert_eq!(s.signal_watch.get(15), Duration::from_millis(300));
        assert_eq!(s.signal_watch.get(9), Duration::from_secs(1));
        assert_eq!(s.signal_watch.get(19), Duration::from_millis(50));
        assert_eq!(s.signal_watch.get(2), Duration::from_secs(2), "INT kept");
    }

    #[test]
    fn errors_name_key_and_line() {
        assert_eq!(
            merge("procfs = true\n[signal_watch_ms]\nTERM = 20000\n").expect_err("range"),
            "config perchd.toml line 3: signal_watch_ms.TERM must be in 0..=10000 (got 20000)"
        );
        let e = merge("[signal_watch_ms]\nTERM = 1\nCONT = 5\n").expect_err("cont");
        assert!(
            e.starts_with("config perchd.toml line 3: signal_watch_ms.CONT: not a signal"),
            "{e}"
        );
        let e = merge("[signal_watch_ms]\nTREM = 1\n").expect_err("typo");
        assert!(e.contains("line 2") && e.contains("TREM"), "{e}");
        let e = merge("[signal_watch_ms]\nTERM = -1\n").expect_err("negative");
        assert!(e.contains("line 2"), "{e}");
    }
}
