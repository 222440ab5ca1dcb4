//! perchd's command line.  Ranges are the same as the config file's.
use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;

use crate::config::{ConfigError, Settings, limits};

/// perchd: the Perch collector.  Watches every process exec, fork and exit
/// with eBPF (falling back to /proc polling), samples resource usage, and
/// serves it over gRPC (perch.v1) on a Unix socket or TLS.
#[derive(Debug, Parser)]
#[command(name = "perchd", version)]
pub struct Args {
    /// Unix socket to serve on (mode 0660) [default: /run/perch/perchd.sock].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Group of the Unix socket (mode 0660): its members may connect, as
    /// viewers unless `[roles]` says more [default: `perch` if that group
    /// exists, else root's group].
    #[arg(long, value_name = "NAME")]
    pub socket_group: Option<String>,
    /// Do not serve on a Unix socket (only with --listen).
    #[arg(long, conflicts_with = "socket")]
    pub no_socket: bool,
    /// Also serve gRPC over TCP with TLS on HOST:PORT (needs --tls-cert and --tls-key).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain for --listen.
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --listen.
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate(s) for client certificates on --listen: a client
    /// presenting one it signed is identified by its subject CN (`cert:CN`
    /// in `[roles]`); clients without one are still served, as viewers.
    #[arg(long, value_name = "PATH")]
    pub tls_client_ca: Option<PathBuf>,
    /// Poll /proc instead of loading eBPF (misses processes shorter than the poll interval).
    #[arg(long)]
    pub procfs: bool,
    /// Audit log of response actions [default: /var/lib/perch/audit.log].
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// The history store's file (default /var/lib/perch/history.db).
    #[arg(long, value_name = "PATH", conflicts_with = "no_history")]
    pub history: Option<PathBuf>,
    /// Keep no history on disk.
    #[arg(long)]
    pub no_history: bool,
    /// TOML configuration file (flags override it).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Seconds exited processes stay visible [1..=86400, default 30].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(*limits::EXITED_RETENTION_SECS.start()..=*limits::EXITED_RETENTION_SECS.end()))]
    pub exited_retention_secs: Option<u64>,
    /// Resource sampling interval in ms [100..=60000, default 1000].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(*limits::SAMPLE_INTERVAL_MS.start()..=*limits::SAMPLE_INTERVAL_MS.end()))]
    pub sample_interval_ms: Option<u64>,
    /// /proc polling interval in ms in procfs mode [50..=60000, default 500].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(*limits::POLL_INTERVAL_MS.start()..=*limits::POLL_INTERVAL_MS.end()))]
    pub poll_interval_ms: Option<u64>,
    /// Events kept for clients resuming after a disconnect [1024..=4194304, default 65536].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(*limits::REPLAY_CAPACITY.start()..=*limits::REPLAY_CAPACITY.end()))]
    pub replay_capacity: Option<u64>,
    /// Bytes the replay ring may hold [1 MiB..=4 GiB, default 16 MiB].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(*limits::REPLAY_BYTES.start()..=*limits::REPLAY_BYTES.end()))]
    pub replay_bytes: Option<u64>,
    /// Bytes exited processes may hold before the oldest go early [64 KiB..=4 GiB, default 8 MiB].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(*limits::EXITED_BYTES.start()..=*limits::EXITED_BYTES.end()))]
    pub exited_bytes: Option<u64>,
    /// Size of the kernel's ring buffer in bytes: a power of two in
    /// [4096..=268435456, default 4194304].
    #[arg(long, value_name = "BYTES", value_parser = ring_bytes_arg)]
    pub ring_buffer_bytes: Option<u32>,
    /// A directory of detection rule files (`*.yaml`), read after the
    /// built-in rules and `[detect] rules_dirs`; repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// The policies directory (trace suppression policies) [default:
    /// `[detect] policies_dir`, else /etc/perch/policies.d].
    #[arg(long = "policies", value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Log filter (tracing `EnvFilter` syntax) [default: info, or `RUST_LOG`].
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,
}

impl Args {
    /// Defaults, then the config file, then these flags.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        if let Some(path) = &self.config {
            s.merge_file(path)?;
        }
        if let Some(p) = &self.socket {
            s.socket = Some(p.clone());
        }
        if let Some(g) = &self.socket_group {
            s.socket_group = Some(g.clone());
        }
        if self.no_socket {
            s.socket = None;
        }
        s.listen = self.listen.or(s.listen);
        s.tls_cert = self.tls_cert.clone().or(s.tls_cert);
        s.tls_key = self.tls_key.clone().or(s.tls_key);
        s.tls_client_ca = self.tls_client_ca.clone().or(s.tls_client_ca);
        s.force_procfs |= self.procfs;
        if let Some(p) = &self.audit_log {
            s.audit_log.clone_from(p);
        }
        if let Some(p) = &self.history {
            s.history.path.clone_from(p);
            s.history.enabled = true;
        }
        if self.no_history {
            s.history.enabled = false;
        }
        if let Some(v) = self.exited_retention_secs {
            s.exited_retention = std::time::Duration::from_secs(v);
        }
        if let Some(v) = self.sample_interval_ms {
            s.sample_interval = std::time::Duration::from_millis(v);
        }
        if let Some(v) = self.poll_interval_ms {
            s.poll_interval = std::time::Duration::from_millis(v);
        }
        if let Some(v) = self.replay_capacity {
            s.replay_capacity = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = self.replay_bytes {
            s.replay_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = self.exited_bytes {
            s.exited_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = self.ring_buffer_bytes {
            s.ring_buffer_bytes = v;
        }
        s.detect.rule_dirs.extend(self.rules.iter().cloned());
        if let Some(p) = &self.policies {
            s.detect.policies_dir.clone_from(p);
        }
        s.validate()?;
        Ok(s)
    }
}

/// `--ring-buffer-bytes`: the configuration file's rule, the same message.
fn ring_bytes_arg(v: &str) -> Result<u32, String> {
    let n: u64 = v.parse().map_err(|e| format!("{v:?}: {e}"))?;
    crate::config::ring_bytes(n)
}
