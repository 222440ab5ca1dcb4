//! The command line as clap builds it, with each subcommand's help listing
//! only the options it uses.  The connection options are global (so
//! `perch --socket S ps` and `perch ps --socket S` both work), which
//! makes clap list them under every subcommand; where a subcommand asks no
//! collector they are hidden from its help, its completions and the man
//! page (still accepted, and ignored, for scripts that pass them
//! everywhere).
use clap::{Command, CommandFactory as _};

use super::Cli;

/// Every connection option, by clap id.
const CONNECTION: &[&str] = &[
    "socket", "connect", "tls_ca", "tls_cert", "tls_key", "timeout",
];

/// What each subcommand that asks no collector (or only the local socket)
/// hides: `audit verify` compares with perchd's head on --socket only;
/// `audit list` asks perchd with --perchd, so it keeps them all.
const HIDDEN: &[(&[&str], &[&str])] = &[
    (&["audit"], CONNECTION),
    (
        &["audit", "verify"],
        &["connect", "tls_ca", "tls_cert", "tls_key", "timeout"],
    ),
    (&["completions"], CONNECTION),
    (&["man"], CONNECTION),
    (&["replay"], CONNECTION),
];

/// The `perch` command, built, with the help of each subcommand trimmed.
#[must_use]
pub fn command() -> Command {
    let mut cmd = Cli::command();
    // Globals are copied into the subcommands when the command is built:
    // hide the copies after that.
    cmd.build();
    for (path, ids) in HIDDEN {
        hide(&mut cmd, path, ids);
    }
    cmd
}

/// Hides the arguments `ids` of the subcommand at `path` under `cmd`.
fn hide(cmd: &mut Command, path: &[&str], ids: &[&str]) {
    let Some(sub) = path
        .iter()
        .try_fold(cmd, |c, name| c.find_subcommand_mut(name))
    else {
        return;
    };
    *sub = std::mem::take(sub).mut_args(|a| {
        if ids.contains(&a.get_id().as_str()) {
            a.hide(true)
        } else {
            a
        }
    });
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches as _;

    use super::*;

    fn help(args: &[&str]) -> String {
        let mut words = vec!["perch"];
        words.extend(args);
        words.push("--help");
        let text = command()
            .try_get_matches_from(words)
            .unwrap_err()
            .to_string();
        // The options, not the descriptions that mention them.
        text.split_once("Options:")
            .map(|(_, o)| o.to_owned())
            .unwrap_or(text)
    }

    #[test]
    fn audit_help_lists_only_what_audit_uses() {
        let audit = help(&["audit"]);
        for flag in ["--socket", "--connect", "--tls-ca", "--timeout"] {
            assert!(!audit.contains(flag), "{flag} in:\n{audit}");
        }
        let verify = help(&["audit", "verify"]);
        assert!(verify.contains("--socket"), "{verify}");
        for flag in ["--connect", "--tls-ca", "--tls-cert", "--timeout"] {
            assert!(!verify.contains(flag), "{flag} in:\n{verify}");
        }
        // `list --perchd` asks perchd: every connection option applies.
        let list = help(&["audit", "list"]);
        for flag in ["--perchd", "--socket", "--connect", "--tls-ca", "--timeout"] {
            assert!(list.contains(flag), "{flag} not in:\n{list}");
        }
        // Elsewhere nothing changes.
        let ps = help(&["ps"]);
        assert!(ps.contains("--socket") && ps.contains("--timeout"), "{ps}");
        assert!(!help(&["man"]).contains("--socket"));
    }

    #[test]
    fn hidden_options_still_parse_where_scripts_pass_them() {
        let m = command()
            .try_get_matches_from([
                "perch",
                "audit",
                "verify",
                "--socket",
                "/s",
                "--timeout",
                "3",
            ])
            .unwrap();
        let cli = Cli::from_arg_matches(&m).unwrap();
        assert_eq!(cli.conn.socket, std::path::PathBuf::from("/s"));
        assert_eq!(cli.conn.timeout, 3);
        let m = command()
            .try_get_matches_from(["perch", "--socket", "/t", "ps"])
            .unwrap();
        let cli = Cli::from_arg_matches(&m).unwrap();
        assert_eq!(cli.conn.socket, std::path::PathBuf::from("/t"));
    }
}
