//! perchd's settings: defaults, an optional TOML file (`--config`) and
//! command-line flags, in that order of precedence.  Every value is checked
//! against its allowed range; a file error names the key and its line.
use std::{
    net::SocketAddr,
    ops::RangeInclusive,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;
use toml::Spanned;

use crate::{
    actions::SignalWatch,
    hub::HubLimits,
    model::{DEFAULT_EXITED_BYTES, EnvFilter},
    roles::{Principal, Roles},
    security::watch::WatchConfig,
    server::StreamLimits,
};

mod ebpf;
mod paths;
mod watch;
pub use ebpf::ring_bytes;

mod access;
pub use access::{Access, ConnLimits};

mod detect;
mod history;
mod net;

pub use perch_proto::DEFAULT_SOCKET;
pub const DEFAULT_AUDIT_LOG: &str = perch_audit::DEFAULT_PATH;

/// Allowed ranges, shared by the file and the flags so both say the same.
pub mod limits {
    use std::ops::RangeInclusive;
    pub const EXITED_RETENTION_SECS: RangeInclusive<u64> = 1..=86_400;
    pub const SAMPLE_INTERVAL_MS: RangeInclusive<u64> = 100..=60_000;
    pub const POLL_INTERVAL_MS: RangeInclusive<u64> = 50..=60_000;
    pub const REPLAY_CAPACITY: RangeInclusive<u64> = 1_024..=4_194_304;
    /// 1 MiB ..= 4 GiB.
    pub const REPLAY_BYTES: RangeInclusive<u64> = 1 << 20..=4 << 30;
    pub const CLIENT_QUEUE: RangeInclusive<u64> = 1..=65_536;
    /// 64 KiB ..= 256 MiB.
    pub const CLIENT_QUEUE_BYTES: RangeInclusive<u64> = 64 << 10..=256 << 20;
    /// 64 KiB ..= 4 GiB.
    pub const EXITED_BYTES: RangeInclusive<u64> = 64 << 10..=4 << 30;
    pub const MAX_STREAMS: RangeInclusive<u64> = 1..=65_536;
    pub const MAX_STREAMS_PER_CALLER: RangeInclusive<u64> = 1..=65_536;
    pub const WAKEUP_BYTES: RangeInclusive<u64> = 4_096..=4_194_304;
    /// A power of two in this range (the kernel's rule for ring buffers).
    pub const RING_BUFFER_BYTES: RangeInclusive<u64> = 4_096..=268_435_456;
}

/// The resolved settings perchd runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub socket: Option<PathBuf>,
    /// The socket's group (mode 0660); `None`: `perch` if it exists, else root's.
    pub socket_group: Option<String>,
    pub listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// CA whose client certificates identify TLS callers (for roles).
    pub tls_client_ca: Option<PathBuf>,
    pub force_procfs: bool,
    pub audit_log: PathBuf,
    pub roles: Roles,
    pub exited_retention: Duration,
    pub sample_interval: Duration,
    pub poll_interval: Duration,
    pub replay_capacity: usize,
    /// Bytes the replay ring may hold.
    pub replay_bytes: usize,
    pub client_queue: usize,
    /// Bytes queued per `WatchEvents` client.
    pub client_queue_bytes: usize,
    /// Bytes exited processes may hold in the model.
    pub exited_bytes: usize,
    /// Streaming calls open at once, in all and per caller.
    pub stream_limits: StreamLimits,
    pub wakeup_bytes: u64,
    /// Size of the kernel's ring buffer.
    pub ring_buffer_bytes: u32,
    /// Environment variables reported from each exec.
    pub exec_env: EnvFilter,
    /// Paths whose changes (and reads, for secrets) are reported.
    pub watch: WatchConfig,
    /// Refusal rate limit, connection limits and timeouts (`[access]`).
    pub access: Access,
    /// Detection rules, flags and traces (`[detect]`).
    pub detect: crate::detect::DetectSettings,
    /// How long processes are watched after each signal an action sends.
    pub signal_watch: SignalWatch,
    /// Bounds and retention of connections (`[network]`).
    pub network: crate::net::NetLimits,
    /// The on-disk history store (`[history]`).
    pub history: crate::history::HistorySettings,
}

impl Settings {
    /// The hub's bounds.
    #[must_use]
    pub fn hub_limits(&self) -> HubLimits {
        HubLimits {
            replay_events: self.replay_capacity,
            replay_bytes: self.replay_bytes,
            client_queue: self.client_queue,
            client_queue_bytes: self.client_queue_bytes,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        let hub = HubLimits::default();
        Self {
            socket: Some(PathBuf::from(DEFAULT_SOCKET)),
            socket_group: None,
            listen: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            force_procfs: false,
            audit_log: PathBuf::from(DEFAULT_AUDIT_LOG),
            roles: Roles::default(),
            exited_retention: Duration::from_secs(30),
            sample_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(500),
            replay_capacity: hub.replay_events,
            replay_bytes: hub.replay_bytes,
            client_queue: hub.client_queue,
            client_queue_bytes: hub.client_queue_bytes,
            exited_bytes: DEFAULT_EXITED_BYTES,
            stream_limits: StreamLimits::default(),
            wakeup_bytes: 256 * 1024,
            ring_buffer_bytes: 4 * 1024 * 1024,
            exec_env: EnvFilter::default(),
            watch: WatchConfig::default(),
            access: Access::default(),
            detect: crate::detect::DetectSettings::default(),
            signal_watch: SignalWatch::default(),
            network: crate::net::NetLimits::default(),
            history: crate::history::HistorySettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The OS error is part of the message, not a `source`, so that `{:#}`
    // chains do not print it twice.
    #[error("config {}: {error}", .path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path} line {line}: {key} must be in {range} (got {got})")]
    Range {
        path: PathBuf,
        line: usize,
        key: &'static str,
        range: String,
        got: u64,
    },
    #[error("config {path} line {line}: {key}: {message}")]
    Role {
        path: PathBuf,
        line: usize,
        key: &'static str,
        message: String,
    },
    /// A value at a line, with a sentence naming its key.
    #[error("config {path} line {line}: {message}")]
    At {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("config {path} line {line}: {key}: {message}")]
    Value {
        path: PathBuf,
        line: usize,
        key: &'static str,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The file's shape; unknown keys are errors (a typo must not pass silently).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    socket: Option<PathBuf>,
    socket_group: Option<String>,
    listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    procfs: Option<bool>,
    audit_log: Option<PathBuf>,
    roles: Option<RolesFile>,
    exited_retention_secs: Option<Spanned<u64>>,
    sample_interval_ms: Option<Spanned<u64>>,
    poll_interval_ms: Option<Spanned<u64>>,
    replay_capacity: Option<Spanned<u64>>,
    replay_bytes: Option<Spanned<u64>>,
    client_queue: Option<Spanned<u64>>,
    client_queue_bytes: Option<Spanned<u64>>,
    exited_bytes: Option<Spanned<u64>>,
    max_streams: Option<Spanned<u64>>,
    max_streams_per_caller: Option<Spanned<u64>>,
    ring_wakeup_bytes: Option<Spanned<u64>>,
    ring_buffer_bytes: Option<Spanned<u64>>,
    exec_env: Option<Vec<Spanned<String>>>,
    watch: Option<paths::WatchFile>,
    access: Option<access::AccessFile>,
    detect: Option<detect::DetectFile>,
    signal_watch_ms: Option<watch::SignalWatchFile>,
    network: Option<net::NetworkFile>,
    history: Option<history::HistoryFile>,
}

/// `[roles]`: lists of entries (see [`crate::roles`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    admin: Option<Vec<Spanned<String>>>,
    operator: Option<Vec<Spanned<String>>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Settings {
    /// Applies a TOML file on top of `self`.
    pub fn merge_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        self.merge_str(path, &text)
    }

    /// The `[access]`, `[detect]`, `[signal_watch_ms]`, `[network]` and
    /// `[history]` tables.
    fn merge_tables(
        &mut self,
        file: &File,
        path: &Path,
        text: &str,
        ranged: &impl Fn(&Spanned<u64>, &'static str, RangeInclusive<u64>) -> Result<u64, ConfigError>,
    ) -> Result<(), ConfigError> {
        if let Some(access) = &file.access {
            access.apply(&mut self.access, ranged)?;
        }
        if let Some(detect) = &file.detect {
            detect.apply(&mut self.detect, ranged)?;
        }
        if let Some(table) = &file.signal_watch_ms {
            watch::merge(&mut self.signal_watch, table, path, text)?;
        }
        if let Some(network) = &file.network {
            network.apply(&mut self.network, ranged)?;
        }
        if let Some(history) = &file.history {
            history.apply(&mut self.history, ranged)?;
        }
        Ok(())
    }

    pub fn merge_str(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("line {}: ", line_of(text, s.start)))
                .unwrap_or_default();
            ConfigError::Parse {
                path: path.to_owned(),
                message: format!("{at}{}", e.message()),
            }
        })?;
        let ranged = |v: &Spanned<u64>, key: &'static str, range: RangeInclusive<u64>| {
            if range.contains(v.get_ref()) {
                Ok(*v.get_ref())
            } else {
                Err(ConfigError::Range {
                    path: path.to_owned(),
                    line: line_of(text, v.span().start),
                    key,
                    range: format!("{}..={}", range.start(), range.end()),
                    got: *v.get_ref(),
                })
            }
        };
        self.merge_bounds(&file, &ranged)?;
        ebpf::merge(self, &file, path, text)?;
        paths::merge(self, &file, path, text)?;
        self.merge_tables(&file, path, text, &ranged)?;
        if let Some(v) = file.socket {
            self.socket = Some(v);
        }
        self.socket_group = file.socket_group.or(self.socket_group.take());
        self.listen = file.listen.or(self.listen);
        self.tls_cert = file.tls_cert.or(self.tls_cert.take());
        self.tls_key = file.tls_key.or(self.tls_key.take());
        self.tls_client_ca = file.tls_client_ca.or(self.tls_client_ca.take());
        self.force_procfs |= file.procfs.unwrap_or(false);
        if let Some(v) = file.audit_log {
            self.audit_log = v;
        }
        if let Some(v) = &file.exited_retention_secs {
            self.exited_retention = Duration::from_secs(ranged(
                v,
                "exited_retention_secs",
                limits::EXITED_RETENTION_SECS,
            )?);
        }
        if let Some(v) = &file.sample_interval_ms {
            self.sample_interval =
                Duration::from_millis(ranged(v, "sample_interval_ms", limits::SAMPLE_INTERVAL_MS)?);
        }
        if let Some(v) = &file.poll_interval_ms {
            self.poll_interval =
                Duration::from_millis(ranged(v, "poll_interval_ms", limits::POLL_INTERVAL_MS)?);
        }
        if let Some(v) = &file.replay_capacity {
            self.replay_capacity =
                usize::try_from(ranged(v, "replay_capacity", limits::REPLAY_CAPACITY)?)
                    .unwrap_or(usize::MAX);
        }
        if let Some(v) = &file.client_queue {
            self.client_queue = usize::try_from(ranged(v, "client_queue", limits::CLIENT_QUEUE)?)
                .unwrap_or(usize::MAX);
        }
        if let Some(v) = &file.ring_wakeup_bytes {
            self.wakeup_bytes = ranged(v, "ring_wakeup_bytes", limits::WAKEUP_BYTES)?;
        }
        if let Some(roles) = &file.roles {
            let entries = |list: &Option<Vec<Spanned<String>>>, key: &'static str| {
                list.as_ref()
                    .map(|list| {
                        list.iter()
                            .map(|e| {
                                Principal::parse(e.get_ref()).map_err(|message| ConfigError::Role {
                                    path: path.to_owned(),
                                    line: line_of(text, e.span().start),
                                    key,
                                    message,
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()
            };
            if let Some(admin) = entries(&roles.admin, "roles.admin")? {
                self.roles.admin = admin;
            }
            if let Some(operator) = entries(&roles.operator, "roles.operator")? {
                self.roles.operator = operator;
            }
        }
        Ok(())
    }

    /// The memory and stream bounds; `ranged` checks a value's range.
    fn merge_bounds(
        &mut self,
        file: &File,
        ranged: &impl Fn(&Spanned<u64>, &'static str, RangeInclusive<u64>) -> Result<u64, ConfigError>,
    ) -> Result<(), ConfigError> {
        // A count or a size, as usize.
        let get = |v: &Spanned<u64>, key, range| {
            ranged(v, key, range).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        if let Some(v) = &file.replay_bytes {
            self.replay_bytes = get(v, "replay_bytes", limits::REPLAY_BYTES)?;
        }
        if let Some(v) = &file.client_queue_bytes {
            self.client_queue_bytes = get(v, "client_queue_bytes", limits::CLIENT_QUEUE_BYTES)?;
        }
        if let Some(v) = &file.exited_bytes {
            self.exited_bytes = get(v, "exited_bytes", limits::EXITED_BYTES)?;
        }
        if let Some(v) = &file.max_streams {
            self.stream_limits.total = get(v, "max_streams", limits::MAX_STREAMS)?;
        }
        if let Some(v) = &file.max_streams_per_caller {
            self.stream_limits.per_caller =
                get(v, "max_streams_per_caller", limits::MAX_STREAMS_PER_CALLER)?;
        }
        Ok(())
    }

    /// Cross-field rules, checked once everything is merged.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.socket.is_none() && self.listen.is_none() {
            return Err(ConfigError::Invalid(
                "nothing to serve on: give --socket or --listen".into(),
            ));
        }
        if self.listen.is_some() && (self.tls_cert.is_none() || self.tls_key.is_none()) {
            return Err(ConfigError::Invalid(
                "--listen needs --tls-cert and --tls-key: plain TCP is refused (use the Unix socket locally)".into(),
            ));
        }
        if self.listen.is_none()
            && (self.tls_cert.is_some() || self.tls_key.is_some() || self.tls_client_ca.is_some())
        {
            return Err(ConfigError::Invalid(
                "--tls-cert/--tls-key/--tls-client-ca are only used with --listen".into(),
            ));
        }
        for (flag, path) in [
            ("--tls-cert", &self.tls_cert),
            ("--tls-key", &self.tls_key),
            ("--tls-client-ca", &self.tls_client_ca),
        ] {
            if let Some(p) = path
                && let Err(e) = std::fs::metadata(p)
            {
                return Err(ConfigError::Invalid(format!("{flag} {}: {e}", p.display())));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
