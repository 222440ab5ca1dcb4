//! Reading a Spyderbat/Spydertop NDJSON recording (plain or gzip, told
//! apart by the gzip magic bytes, not the file name) into its records,
//! grouped by the schema prefix before the first `:`.  A line that is not
//! a record is skipped and counted, the first one's line number and error
//! kept; a schema Perch does not read is counted by name and ignored.
use std::{
    collections::BTreeMap,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::{Path, PathBuf},
};

use flate2::read::MultiGzDecoder;
use serde::de::DeserializeOwned;

use super::{
    schema::{AnyRec, ConnRec, FlagRec, Head, MachineRec, ProcRec, SockRec, TopRec, TraceRec},
    top::Sample,
};

/// What reading a file found: the counts `perch replay` reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Records read, by schema prefix (`model_process`, ...).
    pub records: BTreeMap<String, u64>,
    /// Lines that were not a record of a known schema (bad JSON, a field
    /// of the wrong type, no `id`/`time`), and the first one's line
    /// number (1-based) and error.
    pub malformed: u64,
    pub first_error: Option<(u64, String)>,
    /// Records of schemas Perch does not read, by schema prefix.
    pub unknown: BTreeMap<String, u64>,
    /// `model_process` records of threads: Perch models processes, so
    /// they are counted, not shown.
    pub threads: u64,
}

impl ImportReport {
    /// Records read, all schemas.
    #[must_use]
    pub fn total_records(&self) -> u64 {
        self.records.values().sum()
    }

    /// Records of schemas Perch does not read.
    #[must_use]
    pub fn total_unknown(&self) -> u64 {
        self.unknown.values().sum()
    }

    fn bad(&mut self, line: u64, error: String) {
        self.malformed += 1;
        if self.first_error.is_none() {
            self.first_error = Some((line, error));
        }
    }
}

/// A file that could not be read at all (a bad line is not one of these).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot open {}: {error}", path.display())]
    Open { path: PathBuf, error: io::Error },
    #[error("cannot read {} at line {line}: {error}", path.display())]
    Read {
        path: PathBuf,
        line: u64,
        error: io::Error,
    },
}

/// The records of a file, grouped by schema, in file order.
#[derive(Debug, Default)]
pub struct Records {
    pub processes: Vec<ProcRec>,
    pub connections: Vec<ConnRec>,
    pub listening: Vec<SockRec>,
    pub flags: Vec<FlagRec>,
    pub traces: Vec<TraceRec>,
    pub machines: Vec<MachineRec>,
    pub samples: Vec<Sample>,
    /// `model_session` and `model_container` records (ids): no perch.v1
    /// message holds them yet.
    pub sessions: u64,
    pub containers: u64,
    pub report: ImportReport,
}

/// Reads the file at `path`.
pub fn read_file(path: &Path) -> Result<Records, ImportError> {
    let file = File::open(path).map_err(|error| ImportError::Open {
        path: path.to_owned(),
        error,
    })?;
    read(file).map_err(|(line, error)| ImportError::Read {
        path: path.to_owned(),
        line,
        error,
    })
}

/// Reads NDJSON, gzip-compressed or not, from `input`; an I/O error comes
/// with the line it happened at.
pub fn read(input: impl Read) -> Result<Records, (u64, io::Error)> {
    let mut buf = BufReader::with_capacity(1 << 16, input);
    let gzip = buf
        .fill_buf()
        .map_err(|e| (0, e))?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        read_lines(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(buf)))
    } else {
        read_lines(buf)
    }
}

fn read_lines(mut input: impl BufRead) -> Result<Records, (u64, io::Error)> {
    let mut records = Records::default();
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).map_err(|e| (n + 1, e))? == 0 {
            break;
        }
        n += 1;
        records.report.lines = n;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Err(e) = records.add(&line) {
            records.report.bad(n, e);
        }
    }
    Ok(records)
}

/// `line` as a `T`, with `id` and `time` checked (serde's defaults would
/// let a record without them through).
fn parse<T: DeserializeOwned + Stamped>(line: &[u8]) -> Result<T, String> {
    let rec: T = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let (id, time) = rec.stamp();
    if id.is_empty() {
        return Err("field `id` is missing or empty".into());
    }
    if !(time.is_finite() && time > 0.0) {
        return Err(format!(
            "field `time` must be a positive number of Unix seconds, not {time}"
        ));
    }
    Ok(rec)
}

/// A record's id and time.
trait Stamped {
    fn stamp(&self) -> (&str, f64);
}

macro_rules! stamped {
    ($($t:ty),*) => {$(
        impl Stamped for $t {
            fn stamp(&self) -> (&str, f64) {
                (&self.id, self.time)
            }
        }
    )*};
}
stamped!(
    ProcRec, ConnRec, SockRec, FlagRec, TraceRec, MachineRec, TopRec
);

impl Records {
    fn add(&mut self, line: &[u8]) -> Result<(), String> {
        let head: Head = serde_json::from_slice(line).map_err(|e| e.to_string())?;
        let prefix = head.schema.split(':').next().unwrap_or_default().to_owned();
        match prefix.as_str() {
            "model_process" => {
                let rec: ProcRec = parse(line)?;
                if rec.kind == "thread" {
                    self.report.threads += 1;
                } else {
                    self.processes.push(rec);
                }
            }
            "model_connection" => self.connections.push(parse(line)?),
            "model_listening_socket" => self.listening.push(parse(line)?),
            "event_redflag" => self.flags.push(parse(line)?),
            "model_spydertrace" => self.traces.push(parse(line)?),
            "model_machine" => self.machines.push(parse(line)?),
            "event_top_data" => self.samples.push(Sample::from_rec(parse(line)?)?),
            "model_session" | "model_container" => {
                let rec: AnyRec = serde_json::from_slice(line).map_err(|e| e.to_string())?;
                if rec.id.is_empty() || !rec.time.is_finite() {
                    return Err("field `id` or `time` is missing".into());
                }
                if prefix == "model_session" {
                    self.sessions += 1;
                } else {
                    self.containers += 1;
                }
            }
            _ => {
                *self.report.unknown.entry(prefix).or_default() += 1;
                return Ok(());
            }
        }
        *self.report.records.entry(prefix).or_default() += 1;
        Ok(())
    }
}
