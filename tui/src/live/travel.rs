//! Time travel's side of the loop: a console's state query answered by
//! its [`TimeSource`] on a task of its own (the draw loop never waits; a
//! newer query aborts the one before), and the console on a recording
//! with no collector (`perch replay`).
use std::sync::Arc;

use tokio::{sync::mpsc, task::JoinHandle};

use super::conn::Update;
use crate::{
    console::{
        App,
        timeline::{TimeAnswer, TimeError, TimeQuery},
    },
    travel::TimeSource,
};

/// Answers `q` from `source`: past the newest stored instant is the newest
/// when the query clamps, else [`TimeError::PastNewest`].
pub async fn answer(source: &dyn TimeSource, q: TimeQuery) -> TimeAnswer {
    let result = async {
        let (_, newest) = source.range().await?;
        let at = if q.at_unix_ns > newest {
            if !q.clamp {
                return Err(TimeError::PastNewest);
            }
            newest
        } else {
            q.at_unix_ns
        };
        Ok(source.state_at(at).await?)
    }
    .await;
    TimeAnswer { id: q.id, result }
}

/// The console's time queries, each on a task that sends its answer back
/// as an [`Update::Time`].
pub(super) struct Asker {
    source: Arc<dyn TimeSource>,
    running: Option<JoinHandle<()>>,
}

impl Asker {
    pub(super) fn new(source: Arc<dyn TimeSource>) -> Asker {
        Asker {
            source,
            running: None,
        }
    }

    /// Sends the console's newest query, if it made one; the one before is
    /// abandoned (its answer would be dropped anyway).
    pub(super) fn send(&mut self, app: &mut App, tx: &mpsc::Sender<Update>) {
        let Some(q) = app.take_time_query() else {
            return;
        };
        if let Some(old) = self.running.take() {
            old.abort();
        }
        let (source, tx) = (Arc::clone(&self.source), tx.clone());
        self.running = Some(tokio::spawn(async move {
            let a = answer(source.as_ref(), q).await;
            let _ = tx.send(Update::Time(Box::new(a))).await;
        }));
    }
}

impl Drop for Asker {
    fn drop(&mut self) {
        if let Some(t) = self.running.take() {
            t.abort();
        }
    }
}
