//! The recorder: copies job events from the Redis stream into Postgres through the consumer
//! group `recorder`, and acknowledges a batch only once it is committed, so an outage of
//! Postgres delays the record (events wait in Redis) but never a render, and a replay
//! writes nothing twice. Each recorder holds a stable name (`recorder-1`, ...); the pending
//! events of a recorder that is gone are taken over. Events of a user who asked to be
//! forgotten are dropped.

use crate::error::JobsError;
use crate::queue::Queue;
use crate::record::Record;
use crate::retry::Backoff;
use spinbot_core::JobEvent;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The consumer group of recorders on the events stream (and their role's name).
pub const RECORDER_GROUP: &str = "recorder";
/// Events written per transaction.
const BATCH: usize = 200;
/// How often a recorder looks for events of recorders that are gone.
const TAKE_OVER_EVERY: Duration = Duration::from_secs(5);

/// Brings the schema up to date (waiting while Postgres is away), then copies events until
/// `stop`: first what this recorder had read but not acknowledged, then new ones. `name`
/// fixes its name; else it takes the lowest free one.
pub async fn run_recorder(
    queue: &Queue,
    record: &Record,
    name: Option<&str>,
    stop: &CancellationToken,
) -> Result<(), JobsError> {
    let mut backoff = Backoff::default();
    while let Err(e) = record.migrate().await {
        tracing::warn!(error = %e, "the record is not ready; events wait in Redis");
        if !backoff.wait(stop).await {
            return Ok(());
        }
    }
    let Some(me) = queue
        .join_when_up(RECORDER_GROUP, RECORDER_GROUP, name, stop)
        .await
    else {
        return Ok(());
    };
    let mut reader = queue.reader(RECORDER_GROUP, me.name())?;
    let mut looked = Instant::now();
    loop {
        if looked.elapsed() >= TAKE_OVER_EVERY {
            looked = Instant::now();
            match queue
                .take_over_events(RECORDER_GROUP, RECORDER_GROUP, &me)
                .await
            {
                Ok(0) => {}
                Ok(_) => reader.reread_backlog(),
                Err(e) => tracing::warn!(error = %e, "could not look for orphaned events"),
            }
        }
        let batch = tokio::select! {
            batch = reader.next(BATCH) => batch,
            _ = stop.cancelled() => return Ok(()),
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "the recorder lost Redis; retrying");
                if !backoff.wait(stop).await {
                    return Ok(());
                }
                continue;
            }
        };
        backoff.reset();
        if batch.is_empty() {
            continue;
        }
        let kept = match without_forgotten(queue, &batch).await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "the recorder lost Redis; retrying");
                reader.reread_backlog();
                continue;
            }
        };
        while let Err(e) = record.write_events(&kept).await {
            tracing::warn!(error = %e, waiting = kept.len(), "postgres unavailable; retrying");
            if !backoff.wait(stop).await {
                return Ok(());
            }
        }
        backoff.reset();
        let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
        if let Err(e) = reader.ack(&ids).await {
            // Written already: a replay of these finds them recorded.
            tracing::warn!(error = %e, "a recorded batch was not acknowledged");
            reader.reread_backlog();
        }
    }
}

/// The batch without the events of users who asked to be forgotten.
async fn without_forgotten(
    queue: &Queue,
    batch: &[(String, JobEvent)],
) -> Result<Vec<(String, JobEvent)>, JobsError> {
    let mut forgotten = HashMap::new();
    let mut kept = Vec::with_capacity(batch.len());
    for (id, event) in batch {
        let user = event.user();
        let gone = match forgotten.get(user) {
            Some(gone) => *gone,
            None => {
                let gone = queue.is_forgotten(user).await?;
                forgotten.insert(user.clone(), gone);
                gone
            }
        };
        if !gone {
            kept.push((id.clone(), event.clone()));
        }
    }
    Ok(kept)
}
