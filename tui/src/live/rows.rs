//! A past state's processes made into console rows while the state is
//! still arriving: the collector sends a state of 10,000 processes in
//! messages of a thousand, and each message's rows are made on a blocking
//! thread as it comes, so a seek's model is mostly built by the time the
//! last message is in (and the draw loop's thread never makes them).
use perch_proto::v1::Process;

use crate::{
    console::{HostId, model::Proc},
    travel::{SourceError, StateAt, TimeSource},
};

/// `source`'s state at `at_unix_ns`, with its processes as `host`'s rows
/// (the state's own `processes` then empty). An error leaves no rows.
/// Outside a tokio runtime (a caller polling with another executor) the
/// rows are made on the calling thread.
pub(super) async fn state_with_rows(
    source: &dyn TimeSource,
    host: HostId,
    at_unix_ns: u64,
) -> Result<(StateAt, Vec<Proc>), SourceError> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        let mut rows = Vec::new();
        let mut make = |part: Vec<Process>| {
            rows.extend(part.into_iter().map(|p| Proc::from_owned(host, p)));
        };
        let state = source.state_at_parts(at_unix_ns, &mut make).await?;
        return Ok((state, rows));
    };
    let (tx, rx) = std::sync::mpsc::channel::<Vec<Process>>();
    let maker = runtime.spawn_blocking(move || {
        let mut rows = Vec::new();
        for part in rx {
            rows.reserve(part.len());
            rows.extend(part.into_iter().map(|p| Proc::from_owned(host, p)));
        }
        rows
    });
    let mut hand = move |part: Vec<Process>| {
        // The maker ends only when this sender is dropped.
        let _ = tx.send(part);
    };
    let state = source.state_at_parts(at_unix_ns, &mut hand).await;
    // Closes the channel: the maker finishes the parts it holds.
    drop(hand);
    let rows = maker
        .await
        .map_err(|e| SourceError::Unavailable(format!("making the state's rows failed: {e}")))?;
    Ok((state?, rows))
}
