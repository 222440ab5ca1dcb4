//! Embedded mode: when no collector answers, the console runs the same
//! collector code (perchd's engine and gRPC server) in-process on a private
//! socket, and follows it like any other — one code path for both.
use std::path::PathBuf;

use anyhow::Context as _;
use perchd::{
    config::Settings,
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
            ..Settings::default()
        };
        let bound = server::bind(ServeOptions {
            socket: Some(socket.clone()),
            listen: None,
            tls: None,
        })
        .await
        .context("embedded collector socket")?;
        let engine = Engine::start(&settings)
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
