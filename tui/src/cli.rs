//! The `perch` command line: global connection flags and the subcommands.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use perch::client::{ConnectError, DEFAULT_SOCKET, Target};

/// Perch: processes and process events from a perchd collector.
#[derive(Debug, Parser)]
#[command(name = "perch", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Connection,
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
    /// Ask a remote collector over TCP with TLS instead (needs --tls-ca).
    #[arg(
        long,
        global = true,
        env = "PERCH_CONNECT",
        value_name = "HOST:PORT",
        requires = "tls_ca"
    )]
    pub connect: Option<String>,
    /// CA certificate (PEM) that signed the remote collector's certificate.
    #[arg(long, global = true, env = "PERCH_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
}

impl Connection {
    pub fn target(&self) -> Result<Target, ConnectError> {
        match (&self.connect, &self.tls_ca) {
            (Some(addr), Some(ca)) => Target::tls(addr, ca.clone()),
            // clap enforces --tls-ca with --connect; without it, the socket.
            _ => Ok(Target::Unix(self.socket.clone())),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List processes: a table, or one JSON object per line with --json.
    Ps(PsArgs),
    /// Print live events until Ctrl-C: one line each, or NDJSON with --json.
    Events(EventsArgs),
}

#[derive(Debug, Default, Args)]
pub struct PsArgs {
    /// One JSON object per process per line, instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Include processes that exited recently (within the collector's retention).
    #[arg(long, short = 'a')]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// One JSON object per event per line (NDJSON).
    #[arg(long)]
    pub json: bool,
    /// Start after this sequence number (the last one seen) instead of with
    /// the next new event.
    #[arg(long, value_name = "SEQ")]
    pub resume_after: Option<u64>,
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
                all: true
            }))
        ));
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
        assert!(Cli::try_parse_from(["perch", "--connect", "h:1"]).is_err());
        let cli = Cli::try_parse_from(["perch", "--connect", "h:1", "--tls-ca", "ca.pem"]).unwrap();
        assert!(matches!(
            cli.conn.target().unwrap(),
            Target::Tls { port: 1, .. }
        ));
    }
}
