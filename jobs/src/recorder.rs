//! The recorder: copies job events from the Redis stream into Postgres through the consumer
//! group `recorder`, and acknowledges a batch only once it is committed, so an outage of
//! Postgres delays the record (events wait in Redis) but never a render, and a replay
//! writes nothing twice.

use crate::error::JobsError;
use crate::queue::Queue;
use crate::record::Record;
use crate::retry::Backoff;
use tokio_util::sync::CancellationToken;

/// The consumer group of recorders on the events stream.
pub const RECORDER_GROUP: &str = "recorder";
/// Events written per transaction.
const BATCH: usize = 200;

/// Brings the schema up to date (waiting while Postgres is away), then copies events until
/// `stop`: first what this recorder had read but not acknowledged, then new ones.
pub async fn run_recorder(
    queue: &Queue,
    record: &Record,
    name: &str,
    stop: &CancellationToken,
) -> Result<(), JobsError> {
    let mut backoff = Backoff::default();
    while let Err(e) = record.migrate().await {
        tracing::warn!(error = %e, "the record is not ready; events wait in Redis");
        if !backoff.wait(stop).await {
            return Ok(());
        }
    }
    let mut reader = queue.reader(RECORDER_GROUP, name)?;
    loop {
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
        while let Err(e) = record.write_events(&batch).await {
            tracing::warn!(error = %e, waiting = batch.len(), "postgres unavailable; retrying");
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
