//! `perch record`'s part that needs no collector: the states of any
//! [`TimeSource`] over a window, one per step, and a recording file of
//! them (gzip when the name ends in `.gz`).  The command wires a
//! collector's History service in as the source.
use std::{fs::File, io::BufWriter, path::Path};

use flate2::{Compression, write::GzEncoder};

use super::export::{self, Machine};
use crate::travel::{SourceError, StateAt, TimeSource};

/// Why a window could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("--from must be before --to (from {from} ns, to {to} ns Unix)")]
    Window { from: u64, to: u64 },
    #[error("the step must be at least 1 ms and at most 1 h, not {0} ns")]
    Step(u64),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
}

/// The states of `source` from `from` to `to` (Unix ns, clamped to what
/// the source holds), asked every `step_ns`, each as it stood at its
/// sample's instant; a state whose sample was already taken is not
/// repeated.
pub async fn states(
    source: &dyn TimeSource,
    from: u64,
    to: u64,
    step_ns: u64,
) -> Result<Vec<StateAt>, RecordError> {
    if from >= to {
        return Err(RecordError::Window { from, to });
    }
    if !(1_000_000..=3_600_000_000_000).contains(&step_ns) {
        return Err(RecordError::Step(step_ns));
    }
    let (oldest, newest) = source.range().await?;
    let (from, to) = (from.max(oldest), to.min(newest));
    let mut out: Vec<StateAt> = Vec::new();
    let mut at = from;
    while at <= to {
        let mut state = source.state_at(at).await?;
        if out.last().is_none_or(|s| s.at_unix_ns != state.at_unix_ns) {
            // The state at the sample's own instant: the one asked later
            // may hold processes started after the sample, which a reader
            // of the file would not see at the sample's time.
            if state.at_unix_ns != at {
                state = source.state_at(state.at_unix_ns).await?;
            }
            out.push(state);
        }
        at = at.saturating_add(step_ns);
    }
    Ok(out)
}

/// Writes `states` to `path` as a recording; returns the records written.
pub fn write_file(path: &Path, machine: &Machine, states: &[StateAt]) -> Result<u64, RecordError> {
    let err = |error| RecordError::Write {
        path: path.to_owned(),
        error,
    };
    let file = BufWriter::new(File::create(path).map_err(err)?);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = GzEncoder::new(file, Compression::default());
        let n = export::write(&mut gz, machine, states).map_err(err)?;
        gz.finish().map_err(err)?;
        Ok(n)
    } else {
        let mut file = file;
        let n = export::write(&mut file, machine, states).map_err(err)?;
        std::io::Write::flush(&mut file).map_err(err)?;
        Ok(n)
    }
}
