//! A collector's history as a [`TimeSource`]: the range from
//! `GetInfo.history`, states from the `History` service's `GetStateAt`
//! stream.  The `--at` commands and the console's time travel use it.
use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use futures::future::BoxFuture;
use perch_client::Target;
use perch_proto::v1::{GetInfoRequest, GetStateAtRequest, HistoryInfo, HistoryStatus, Process};
use tonic::{Code, transport::Channel};

use crate::travel::{SourceError, StateAt, TimeSource};

/// How soon a call on a kept connection must fail to be tried again on a
/// new one.
const RETRY_WITHIN: Duration = Duration::from_secs(1);

/// The history of one collector, asked over gRPC.
#[derive(Clone, Debug)]
pub struct GrpcHistory {
    target: Target,
    timeout: Duration,
    /// The connection of earlier states, kept for the next: a seek
    /// should not pay a connection's set-up (a TLS handshake, for a
    /// remote collector). Dropped after a failed call, so the next one
    /// connects afresh (perchd restarted, say).
    channel: Arc<Mutex<Option<Channel>>>,
}

impl GrpcHistory {
    #[must_use]
    pub fn new(target: Target, timeout: Duration) -> Self {
        Self {
            target,
            timeout,
            channel: Arc::default(),
        }
    }

    /// The kept connection (and `true`), or a new one (then kept).
    async fn channel(&self) -> Result<(Channel, bool), SourceError> {
        let kept = self
            .channel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(c) = kept {
            return Ok((c, true));
        }
        let c = perch_client::channel_within(&self.target, self.timeout)
            .await
            .map_err(|e| SourceError::Unavailable(e.to_string()))?;
        *self.channel.lock().unwrap_or_else(PoisonError::into_inner) = Some(c.clone());
        Ok((c, false))
    }

    /// Forgets the kept connection after a call on it failed.
    fn forget_channel(&self) {
        *self.channel.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The store's state as `GetInfo` reports it.
    pub async fn info(&self) -> Result<HistoryInfo, SourceError> {
        let mut client = perch_client::connect_within(&self.target, self.timeout)
            .await
            .map_err(|e| SourceError::Unavailable(e.to_string()))?;
        let info = self
            .within(client.get_info(GetInfoRequest {}))
            .await?
            .into_inner();
        Ok(info.history.unwrap_or_default())
    }

    async fn within<T>(
        &self,
        call: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, SourceError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(s)) => Err(SourceError::Unavailable(format!(
                "{} ({:?})",
                s.message(),
                s.code()
            ))),
            Err(_) => Err(SourceError::Unavailable(format!(
                "no answer from the collector within {} s",
                self.timeout.as_secs()
            ))),
        }
    }

    async fn range_now(&self) -> Result<(u64, u64), SourceError> {
        let h = self.info().await?;
        match h.status() {
            HistoryStatus::Ok => Ok((h.oldest_unix_ns, h.newest_unix_ns)),
            HistoryStatus::Disabled => Err(SourceError::Unavailable(format!(
                "history is disabled on this collector ({})",
                h.detail
            ))),
            HistoryStatus::Broken => Err(SourceError::Unavailable(format!(
                "the collector's history store {} is broken: {}",
                h.path, h.detail
            ))),
            HistoryStatus::Unspecified => Err(SourceError::Unavailable(
                "this collector does not report a history store (too old?)".to_owned(),
            )),
        }
    }

    /// The state at `at_unix_ns`, its processes handed to `parts` message
    /// by message (kept in the state when `parts` is `None`).
    async fn state<'p>(
        &self,
        at_unix_ns: u64,
        mut parts: Option<&mut (dyn FnMut(Vec<Process>) + Send + 'p)>,
    ) -> Result<StateAt, SourceError> {
        let started = std::time::Instant::now();
        let (channel, kept) = self.channel().await?;
        let mut answered = false;
        let state = self
            .state_on(channel, at_unix_ns, parts.as_deref_mut(), &mut answered)
            .await;
        if !matches!(state, Err(SourceError::Unavailable(_))) {
            return state;
        }
        self.forget_channel();
        // The channel reconnects by itself once it has seen its connection
        // close (perchd restarted since the last seek), but a call that
        // races the close fails at once: once more on a new connection.
        // A call that failed by waiting is not asked to wait again, and
        // one that failed after a message (some processes handed to
        // `parts`) is not asked again either.
        if kept && !answered && started.elapsed() < RETRY_WITHIN {
            let (channel, _) = self.channel().await?;
            let state = self
                .state_on(channel, at_unix_ns, parts, &mut answered)
                .await;
            if matches!(state, Err(SourceError::Unavailable(_))) {
                self.forget_channel();
            }
            return state;
        }
        state
    }

    async fn state_on<'p>(
        &self,
        channel: Channel,
        at_unix_ns: u64,
        mut parts: Option<&mut (dyn FnMut(Vec<Process>) + Send + 'p)>,
        answered: &mut bool,
    ) -> Result<StateAt, SourceError> {
        let mut client = perch_client::history_client(channel);
        let req = GetStateAtRequest {
            at_unix_ns,
            chunk_size: 0,
        };
        let answer = tokio::time::timeout(self.timeout, client.get_state_at(req)).await;
        let mut stream = match answer {
            Ok(Ok(r)) => r.into_inner(),
            Ok(Err(s)) if s.code() == Code::OutOfRange => {
                let (oldest_unix_ns, newest_unix_ns) = self.range_now().await?;
                return Err(SourceError::OutOfRange {
                    oldest_unix_ns,
                    newest_unix_ns,
                });
            }
            Ok(Err(s)) => {
                return Err(SourceError::Unavailable(format!(
                    "{} ({:?})",
                    s.message(),
                    s.code()
                )));
            }
            Err(_) => {
                return Err(SourceError::Unavailable(format!(
                    "no answer from the collector within {} s",
                    self.timeout.as_secs()
                )));
            }
        };
        let mut state = StateAt::default();
        loop {
            let Some(mut chunk) = self.within(stream.message()).await? else {
                return Err(SourceError::Unavailable(
                    "the collector ended the state early".to_owned(),
                ));
            };
            *answered = true;
            let last = chunk.last;
            if let Some(parts) = parts.as_deref_mut() {
                parts(std::mem::take(&mut chunk.processes));
            }
            state.absorb(chunk);
            if last {
                return Ok(state);
            }
        }
    }
}

impl TimeSource for GrpcHistory {
    fn name(&self) -> String {
        self.target.to_string()
    }

    fn range(&self) -> BoxFuture<'_, Result<(u64, u64), SourceError>> {
        Box::pin(self.range_now())
    }

    fn state_at(&self, at_unix_ns: u64) -> BoxFuture<'_, Result<StateAt, SourceError>> {
        Box::pin(self.state(at_unix_ns, None))
    }

    fn state_at_parts<'a>(
        &'a self,
        at_unix_ns: u64,
        parts: &'a mut (dyn FnMut(Vec<Process>) + Send),
    ) -> BoxFuture<'a, Result<StateAt, SourceError>> {
        Box::pin(self.state(at_unix_ns, Some(parts)))
    }
}
