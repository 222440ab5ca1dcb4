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
    model::EnvFilter,
    roles::{Principal, Roles},
    security::watch::WatchConfig,
};

mod ebpf;
mod paths;
pub use ebpf::ring_bytes;

pub use perch_proto::DEFAULT_SOCKET;
pub const DEFAULT_AUDIT_LOG: &str = perch_audit::DEFAULT_PATH;

/// Allowed ranges, shared by the file and the flags so both say the same.
pub mod limits {
    use std::ops::RangeInclusive;
    pub const EXITED_RETENTION_SECS: RangeInclusive<u64> = 1..=86_400;
    pub const SAMPLE_INTERVAL_MS: RangeInclusive<u64> = 100..=60_000;
    pub const POLL_INTERVAL_MS: RangeInclusive<u64> = 50..=60_000;
    pub const REPLAY_CAPACITY: RangeInclusive<u64> = 1_024..=4_194_304;
    pub const CLIENT_QUEUE: RangeInclusive<u64> = 1..=65_536;
    pub const WAKEUP_BYTES: RangeInclusive<u64> = 4_096..=4_194_304;
    /// A power of two in this range (the kernel's rule for ring buffers).
    pub const RING_BUFFER_BYTES: RangeInclusive<u64> = 4_096..=268_435_456;
}

/// The resolved settings perchd runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub socket: Option<PathBuf>,
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
    pub client_queue: usize,
    pub wakeup_bytes: u64,
    /// Size of the kernel's ring buffer.
    pub ring_buffer_bytes: u32,
    /// Environment variables reported from each exec.
    pub exec_env: EnvFilter,
    /// Paths whose changes (and reads, for secrets) are reported.
    pub watch: WatchConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            socket: Some(PathBuf::from(DEFAULT_SOCKET)),
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
            replay_capacity: 65_536,
            // Messages of at most 256 KiB: a stalled client pins <= 4 MiB.
            client_queue: 16,
            wakeup_bytes: 256 * 1024,
            ring_buffer_bytes: 4 * 1024 * 1024,
            exec_env: EnvFilter::default(),
            watch: WatchConfig::default(),
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
    client_queue: Option<Spanned<u64>>,
    ring_wakeup_bytes: Option<Spanned<u64>>,
    ring_buffer_bytes: Option<Spanned<u64>>,
    exec_env: Option<Vec<Spanned<String>>>,
    watch: Option<paths::WatchFile>,
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
        ebpf::merge(self, &file, path, text)?;
        paths::merge(self, &file, path, text)?;
        if let Some(v) = file.socket {
            self.socket = Some(v);
        }
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
mod tests {
    use super::*;

    fn merge(text: &str) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        s.merge_str(Path::new("perchd.toml"), text)?;
        Ok(s)
    }

    #[test]
    fn values_are_merged() {
        let s = merge("socket = \"/tmp/x.sock\"\nsample_interval_ms = 500\nprocfs = true\n")
            .expect("valid");
        assert_eq!(s.socket.as_deref(), Some(Path::new("/tmp/x.sock")));
        assert_eq!(s.sample_interval, Duration::from_millis(500));
        assert!(s.force_procfs);
    }

    #[test]
    fn out_of_range_names_key_line_and_range() {
        let e = merge("procfs = false\n\nsample_interval_ms = 5\n")
            .expect_err("too small")
            .to_string();
        assert_eq!(
            e,
            "config perchd.toml line 3: sample_interval_ms must be in 100..=60000 (got 5)"
        );
    }

    #[test]
    fn unknown_key_and_bad_type_name_the_line() {
        let e = merge("socket = \"/x\"\nsampel_interval_ms = 5\n")
            .expect_err("typo")
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("sampel_interval_ms"),
            "{e}"
        );
        let e = merge("replay_capacity = \"lots\"\n")
            .expect_err("type")
            .to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn roles_are_read() {
        let s = merge(
            "[roles]\nadmin = [\"group:root\", \"cert:alice\"]\noperator = [\"user:nobody\", \"uid:1000\"]\n",
        )
        .expect("valid");
        assert_eq!(
            s.roles.admin,
            [Principal::Gid(0), Principal::Cert("alice".into())]
        );
        assert_eq!(
            s.roles.operator,
            [Principal::Uid(65534), Principal::Uid(1000)]
        );
        assert_eq!(merge("").expect("empty").roles, Roles::default());
    }

    #[test]
    fn bad_role_entries_name_key_and_line() {
        let e = |text: &str| merge(text).expect_err("bad").to_string();
        assert_eq!(
            e(
                "procfs = true\n[roles]\nadmin = [\"uid:0\"]\noperator = [\n  \"uid:1000\",\n  \"user:no-such-user-perch\",\n]\n"
            ),
            "config perchd.toml line 6: roles.operator: unknown user \"no-such-user-perch\""
        );
        assert_eq!(
            e("[roles]\nadmin = [\"uid:x\"]\n"),
            "config perchd.toml line 2: roles.admin: bad uid \"x\": expected a number in 0..=4294967294"
        );
        assert!(
            e("[roles]\nadmin = [\"wheel\"]\n")
                .starts_with("config perchd.toml line 2: roles.admin: \"wheel\" has no kind")
        );
        assert!(e("[roles]\nadmin = [\"grp:wheel\"]\n").contains("unknown kind \"grp\""));
        assert!(
            e("[roles]\nadmin = [\"group:no-such-group-perch\"]\n")
                .contains("line 2: roles.admin: unknown group")
        );
        // Unknown role names and wrong types are parse errors with a line.
        let viewer = e("\n[roles]\nviewers = [\"uid:1\"]\n");
        assert!(
            viewer.contains("line 3") && viewer.contains("viewers"),
            "{viewer}"
        );
        let typed = e("[roles]\nadmin = \"uid:0\"\n");
        assert!(typed.contains("line 2"), "{typed}");
    }

    #[test]
    fn client_ca_needs_listen() {
        let s = Settings {
            tls_client_ca: Some("/etc/hostname".into()),
            ..Settings::default()
        };
        assert!(
            s.validate()
                .expect_err("no listen")
                .to_string()
                .contains("--tls-client-ca are only used with --listen")
        );
    }

    #[test]
    fn plain_tcp_is_refused() {
        let s = Settings {
            listen: Some("127.0.0.1:7443".parse().expect("addr")),
            ..Settings::default()
        };
        assert!(
            s.validate()
                .expect_err("no tls")
                .to_string()
                .contains("plain TCP is refused")
        );
    }
}
