//! Embedded mode: when no collector answers, the console runs the same
//! collector code (perchd's engine and gRPC server) in-process on a private
//! socket, and follows it like any other — one code path for both.  It
//! records actions in perchd's audit log when this user may write it (the
//! log takes several writers), else in the user's own state directory.
//! Its history goes to the user's state directory, never into the store a
//! real perchd owns: time travel works in the console `./x run` opens,
//! and a second console finds that store locked and runs without one.
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, anyhow};
use perchd::{
    audit::AuditLog,
    config::{DEFAULT_AUDIT_LOG, Settings},
    engine::Engine,
    server::{self, ServeOptions},
};

/// A collector running inside the console; stops when dropped.
pub struct Embedded {
    pub socket: PathBuf,
    _engine: Engine,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Embedded {
    /// Starts the engine (eBPF when permitted, /proc polling otherwise).
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("perch-embedded-")
            .tempdir()
            .context("temp dir")?;
        let socket = dir.path().join("perchd.sock");
        let settings = Settings {
            socket: Some(socket.clone()),
            history: history_settings(),
            ..Settings::default()
        };
        let bound = server::bind(ServeOptions {
            socket: Some(socket.clone()),
            ..ServeOptions::default()
        })
        .await
        .context("embedded collector socket")?;
        let audit = open_audit_log().context("embedded collector")?;
        let engine = Engine::start_with_audit(&settings, audit)
            .await
            .context("embedded collector")?;
        let api = engine.shared();
        let server = tokio::spawn(async move {
            let _ = bound.serve(api, std::future::pending::<()>()).await;
        });
        Ok(Self {
            socket,
            _engine: engine,
            _dir: dir,
            server,
        })
    }
}

/// The embedded collector's store: `<state>/perch/history.db`, a quarter
/// of perchd's default size (it lives in a home directory), perchd's age
/// bound; off when there is no state directory.
fn history_settings() -> perchd::history::HistorySettings {
    let default = perchd::history::HistorySettings::default();
    match user_state_dir(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME")) {
        Some(state) => perchd::history::HistorySettings {
            path: state.join("perch/history.db"),
            max_bytes: default.max_bytes / 4,
            ..default
        },
        None => perchd::history::HistorySettings {
            enabled: false,
            ..default
        },
    }
}

/// perchd's audit log, or `$XDG_STATE_HOME/perch/audit.log` (default
/// `~/.local/state/perch/audit.log`) when that cannot be opened.
fn open_audit_log() -> anyhow::Result<AuditLog> {
    let system_err = match AuditLog::open(Path::new(DEFAULT_AUDIT_LOG)) {
        Ok(log) => return Ok(log),
        Err(e) => e,
    };
    let Some(user) = user_state_dir(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
        .map(|s| s.join("perch/audit.log"))
    else {
        return Err(anyhow!(
            "{system_err}; and neither XDG_STATE_HOME nor HOME is set"
        ));
    };
    AuditLog::open(&user).map_err(|e| anyhow!("{system_err}; and {e}"))
}

/// The user's state directory by the XDG base directory rules (a relative
/// `XDG_STATE_HOME` is ignored).
fn user_state_dir(xdg_state_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    xdg_state_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".local/state"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dir_follows_xdg_rules() {
        let os = |s: &str| Some(OsString::from(s));
        let user_audit_log = |x, h| user_state_dir(x, h).map(|s| s.join("perch/audit.log"));
        assert_eq!(
            user_audit_log(os("/s"), os("/home/a")),
            Some(PathBuf::from("/s/perch/audit.log"))
        );
        assert_eq!(
            user_audit_log(None, os("/home/a")),
            Some(PathBuf::from("/home/a/.local/state/perch/audit.log"))
        );
        assert_eq!(
            user_audit_log(os("relative"), os("/home/a")),
            Some(PathBuf::from("/home/a/.local/state/perch/audit.log"))
        );
        assert_eq!(user_audit_log(None, None), None);
        assert_eq!(user_audit_log(None, os("")), None);
    }
}
