//! A collector's history as a [`TimeSource`]: the range from
//! `GetInfo.history`, states from the `History` service's `GetStateAt`
//! stream.  The `--at` commands and the console's time travel use it.
use std::time::Duration;

use futures::future::BoxFuture;
use perch_client::Target;
use perch_proto::v1::{GetInfoRequest, GetStateAtRequest, HistoryInfo, HistoryStatus};
use tonic::Code;

use crate::travel::{SourceError, StateAt, TimeSource};

/// The history of one collector, asked over gRPC.
#[derive(Clone, Debug)]
pub struct GrpcHistory {
    target: Target,
    timeout: Duration,
}

impl GrpcHistory {
    #[must_use]
    pub fn new(target: Target, timeout: Duration) -> Self {
        Self { target, timeout }
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

    async fn state(&self, at_unix_ns: u64) -> Result<StateAt, SourceError> {
        let channel = perch_client::channel_within(&self.target, self.timeout)
            .await
            .map_err(|e| SourceError::Unavailable(e.to_string()))?;
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
            let Some(chunk) = self.within(stream.message()).await? else {
                return Err(SourceError::Unavailable(
                    "the collector ended the state early".to_owned(),
                ));
            };
            let last = chunk.last;
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
        Box::pin(self.state(at_unix_ns))
    }
}
