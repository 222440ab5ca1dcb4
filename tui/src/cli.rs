//! The `perch` command line: global connection flags and the subcommands.
pub mod act;
pub mod audit;
pub mod detect;
pub mod help;
pub mod policy;
pub mod query;
pub mod replay;

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use perch_client::{ClientCert, ConnectError, DEFAULT_SOCKET, Target};
use perch_proto::names;

pub use audit::{AuditCommand, AuditListArgs};
pub use query::{EventsArgs, PsArgs};

/// Perch: processes and process events from a perchd collector.
#[derive(Debug, Parser)]
#[command(name = "perch", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Connection,
    /// Console: hide every action (kill, renice, freeze…); look only.
    #[arg(long)]
    pub read_only: bool,
    #[arg(
        long,
        value_name = "TIME",
        value_parser = crate::cmd::audit::when::parse,
        allow_hyphen_values = true,
        help = "Console: start at this time, in the collector's history (time travel; \
                [ ] { } step, @ opens the time menu): 15:04[:05], 2026-11-23T15:04, -5m, \
                10 minutes ago, 1764300000; the same forms as audit list --since"
    )]
    pub at: Option<i128>,
    // A help string rather than a doc comment: the paths read badly in
    // backticks, which rustdoc lints want and --help would print.
    #[arg(
        long,
        env = "PERCH_CONFIG",
        value_name = "PATH",
        help = "The console's configuration file (TOML: refresh_ms, exited_retention_secs, \
                theme, colors, columns, keys; see tui/config.example.toml).  Default: \
                $XDG_CONFIG_HOME/perch/config.toml, else ~/.config/perch/config.toml, when it \
                exists.  A bad file stops the console before it starts.  `ps` and `events` do \
                not read it"
    )]
    pub config: Option<PathBuf>,
    /// What to do; without one, `perch` lists processes like `perch ps`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Which collector to ask.
#[derive(Debug, Args)]
pub struct Connection {
    /// The collector's Unix socket.
    #[arg(long, global = true, env = "PERCH_SOCKET", value_name = "PATH", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Watch this collector instead: a Unix socket path (starting with `/`
    /// or `.`) or HOST:PORT over TCP with TLS (needs --tls-ca).  Repeat it
    /// (or separate with commas) to watch several hosts at once; the console
    /// then shows a HOST column and `\host:NAME` filters by host.
    #[arg(
        long,
        global = true,
        env = "PERCH_CONNECT",
        value_name = "PATH|HOST:PORT",
        value_delimiter = ','
    )]
    pub connect: Vec<String>,
    /// CA certificate (PEM) that signed the remote collector's certificate.
    #[arg(long, global = true, env = "PERCH_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) to present over TLS: perchd's `[roles]` can
    /// make its CN (`cert:CN`) an operator or admin; without one a remote
    /// caller is a viewer.  Needs --tls-key.
    #[arg(
        long,
        global = true,
        env = "PERCH_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        global = true,
        env = "PERCH_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Seconds to wait for the collector: to connect, and for each answer
    /// (an action gets 30 s more; a stream of events is not cut) [1..=3600].
    #[arg(
        long,
        global = true,
        env = "PERCH_TIMEOUT",
        value_name = "SECS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub timeout: u64,
}

impl Connection {
    /// Every collector to watch: the `--connect` ones, else the socket.
    pub fn targets(&self) -> Result<Vec<Target>, ConnectError> {
        if self.connect.is_empty() {
            return Ok(vec![Target::Unix(self.socket.clone())]);
        }
        let mut out = Vec::with_capacity(self.connect.len());
        for addr in &self.connect {
            let target = Target::parse(addr, self.tls_ca.as_deref(), self.client_cert())?;
            if !out.contains(&target) {
                out.push(target);
            }
        }
        Ok(out)
    }

    /// The one collector a subcommand talks to.
    pub fn target(&self) -> Result<Target, ConnectError> {
        let mut targets = self.targets()?;
        if targets.len() > 1 {
            return Err(ConnectError::OneTarget {
                count: targets.len(),
            });
        }
        Ok(targets.remove(0))
    }

    /// The client certificate to present over TLS, if given.
    fn client_cert(&self) -> Option<ClientCert> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(ClientCert {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }

    /// How long to wait for the collector (`--timeout`).
    #[must_use]
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// True when the user named no collector (so an embedded one may stand
    /// in when the default socket does not answer).
    pub fn is_default(&self) -> bool {
        self.connect.is_empty()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List processes: a table, or one JSON object per line with --json.
    Ps(PsArgs),
    /// Print live events until Ctrl-C: one line each, or NDJSON with --json.
    Events(EventsArgs),
    /// List connections (TCP, and UDP by destination) with their process,
    /// direction and bytes: a table, or one JSON object per line with --json.
    Conns(NetArgs),
    /// List listening sockets with their process: a table, or one JSON
    /// object per line with --json.
    Listening(NetArgs),
    #[command(flatten)]
    Act(act::ActCommand),
    /// Check or print the audit log of response actions (read from the
    /// file itself, not from perchd).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Flags raised by perchd's detection rules, newest first.
    Flags(detect::FlagsArgs),
    /// Spydertraces (flags rolled up by ancestry), highest score first.
    Traces(detect::TracesArgs),
    /// One trace as text for a ticket: its summary, process tree and flags.
    Trace(detect::TraceArgs),
    /// Suppress a trace's shape: perchd writes a trace suppression policy
    /// (Spyderbat policy YAML) into its policies dir and puts it in force;
    /// audited, operator or admin.
    Suppress(detect::SuppressArgs),
    /// Manage perchd's policies (Spyderbat policy YAML in its policies
    /// dir): apply, list, enable, disable, delete, or check files locally.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// List perchd's detection rules, or check a rule file.
    #[command(subcommand)]
    Rules(detect::RulesCommand),
    /// Print a shell completion script: `perch completions bash >
    /// /usr/local/share/bash-completion/completions/perch` (`./x install`
    /// puts them and the man page in place).
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print perch's manual page (roff): `perch man | man -l -`.
    Man,
    /// Open a recording (Spyderbat/Spydertop NDJSON, or `perch record`'s):
    /// with --print, print its state at a time with the import counts.
    Replay(replay::ReplayArgs),
    /// Write a window of the collector's history to a recording file
    /// (Spyderbat NDJSON; `perch replay FILE` opens it).
    Record(replay::RecordArgs),
}

/// The shells `perch completions` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// An enum's lowercase name (as in the log) on the command line.
pub(crate) fn enum_arg<T: names::Named>(s: &str) -> Result<T, String> {
    names::parse(s).ok_or_else(|| {
        format!(
            "unknown value {s:?} (one of: {})",
            names::all::<T>()
                .into_iter()
                .filter(|n| n != "unspecified")
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[derive(Debug, Default, Args)]
pub struct NetArgs {
    /// One JSON object per line, instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Include those closed recently (within the collector's retention).
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Only those owned by this pid (repeat for several).
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::*;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_and_flags() {
        let cli = Cli::try_parse_from(["perch", "--socket", "/tmp/x.sock"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(
            cli.conn.target().unwrap(),
            Target::Unix("/tmp/x.sock".into())
        );
        let cli = Cli::try_parse_from(["perch", "--config", "/etc/p.toml"]).unwrap();
        assert_eq!(
            cli.config.as_deref(),
            Some(std::path::Path::new("/etc/p.toml"))
        );
        let cli = Cli::try_parse_from(["perch", "ps", "--json", "-a", "--socket", "/s"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Ps(PsArgs {
                json: true,
                all: true,
                ..
            }))
        ));
        let cli = Cli::try_parse_from(["perch", "events", "--kinds", "security,exec"]).unwrap();
        let Some(Command::Events(args)) = cli.command else {
            panic!("events")
        };
        assert_eq!(
            args.kind,
            [
                perch_proto::v1::EventKind::Security,
                perch_proto::v1::EventKind::Exec
            ]
        );
        let err = Cli::try_parse_from(["perch", "events", "--kinds", "sec"]).unwrap_err();
        assert!(err.to_string().contains("one of: exec"), "{err}");
        let cli = Cli::try_parse_from(["perch", "events", "--resume-after", "7"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Events(EventsArgs {
                resume_after: Some(7),
                ..
            }))
        ));
    }

    #[test]
    fn connect_needs_a_ca() {
        let cli = Cli::try_parse_from(["perch", "--connect", "h:1"]).unwrap();
        let err = cli.conn.targets().unwrap_err().to_string();
        assert!(err.contains("--tls-ca") && err.contains("h:1"), "{err}");
        let cli = Cli::try_parse_from(["perch", "--connect", "h:1", "--tls-ca", "ca.pem"]).unwrap();
        assert!(matches!(
            cli.conn.target().unwrap(),
            Target::Tls { port: 1, .. }
        ));
    }

    #[test]
    fn connect_repeats_and_mixes_sockets_and_tls() {
        let cli = Cli::try_parse_from([
            "perch",
            "--connect",
            "/run/a.sock",
            "--connect",
            "db1:7777,unix:rel.sock",
            "--connect",
            "/run/a.sock",
            "--tls-ca",
            "ca.pem",
        ])
        .unwrap();
        let targets = cli.conn.targets().unwrap();
        assert_eq!(targets.len(), 3, "duplicates collapse: {targets:?}");
        assert_eq!(targets[0], Target::Unix("/run/a.sock".into()));
        assert!(matches!(&targets[1], Target::Tls { host, port: 7777, .. } if host == "db1"));
        assert_eq!(targets[2], Target::Unix("rel.sock".into()));
        assert!(!cli.conn.is_default());
        let err = cli.conn.target().unwrap_err().to_string();
        assert!(err.contains("one collector"), "{err}");
        let cli = Cli::try_parse_from(["perch", "--connect", "db1:x", "--tls-ca", "c"]).unwrap();
        assert!(cli.conn.targets().is_err());
    }
}
