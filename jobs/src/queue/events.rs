//! The events stream: every job event as one JSON field (`event`), read through redis's
//! typed stream replies. Readers in a consumer group (the recorder, each chat platform) get
//! a connection of their own, since a blocking read holds its connection.

use super::{connection, Queue};
use crate::error::JobsError;
use crate::keys::Keys;
use redis::aio::ConnectionManager;
use redis::streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::AsyncCommands;
use spinbot_core::JobEvent;
use std::time::Duration;

/// How long a group read waits for news.
const BLOCK: Duration = Duration::from_millis(1000);

/// The event of a stream entry; `None` (with a warning) for one that is not an event.
fn event_of(entry: &StreamId) -> Option<JobEvent> {
    let json: String = entry.get("event")?;
    serde_json::from_str(&json)
        .inspect_err(|e| tracing::warn!(entry = %entry.id, error = %e, "not a job event"))
        .ok()
}

impl Queue {
    /// Up to `count` events after the stream id `after` (`0` for all), without waiting.
    pub async fn events(
        &self,
        after: &str,
        count: usize,
    ) -> Result<Vec<(String, JobEvent)>, JobsError> {
        let start = if after == "0" {
            "-".to_owned()
        } else {
            format!("({after}")
        };
        let reply: StreamRangeReply = self
            .con
            .clone()
            .xrange_count(self.keys.events(), start, "+", count)
            .await?;
        Ok(reply
            .ids
            .iter()
            .filter_map(|entry| Some((entry.id.clone(), event_of(entry)?)))
            .collect())
    }

    /// Acknowledges events of `group` (from any task; a reader's own connection is busy
    /// with its blocking read).
    pub async fn ack_events(&self, group: &str, ids: &[&str]) -> Result<(), JobsError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _: usize = self
            .con
            .clone()
            .xack(self.keys.events(), group, ids)
            .await?;
        Ok(())
    }

    /// A reader of the events stream as `consumer` of `group`.
    pub fn reader(&self, group: &str, consumer: &str) -> Result<EventReader, JobsError> {
        Ok(EventReader {
            con: connection(&self.config.redis_url, BLOCK * 5)?,
            keys: self.keys.clone(),
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            ready: false,
            backlog: Some("0".into()),
        })
    }
}

/// One consumer of a group on the events stream: first what it had read but not
/// acknowledged (after a restart, or after Redis came back), then new events.
pub struct EventReader {
    con: ConnectionManager,
    keys: Keys,
    group: String,
    consumer: String,
    /// The group is known to exist.
    ready: bool,
    /// Its own unacknowledged events come next, after this id (`0`: from the first).
    backlog: Option<String>,
}

impl EventReader {
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The next events, waiting up to a second for some. An error (Redis away) is for the
    /// caller to wait out; the next call starts again from the unacknowledged events.
    pub async fn next(&mut self, count: usize) -> Result<Vec<(String, JobEvent)>, JobsError> {
        let result = self.read(count).await;
        if result.is_err() {
            self.ready = false;
            self.reread_backlog();
        }
        result
    }

    async fn read(&mut self, count: usize) -> Result<Vec<(String, JobEvent)>, JobsError> {
        if !self.ready {
            let created: redis::RedisResult<()> = self
                .con
                .xgroup_create_mkstream(self.keys.events(), &self.group, "0")
                .await;
            match created {
                Err(e) if e.code() != Some("BUSYGROUP") => return Err(e.into()),
                _ => self.ready = true,
            }
        }
        let mut entries = Vec::new();
        if let Some(after) = self.backlog.take() {
            entries = self.read_from(&after, count, None).await?;
            // The backlog goes on after its last entry, until it is read through.
            self.backlog = entries.last().map(|e| e.id.clone());
        }
        if entries.is_empty() {
            entries = self.read_from(">", count, Some(BLOCK)).await?;
        }
        let mut events = Vec::with_capacity(entries.len());
        let mut junk = Vec::new();
        for entry in &entries {
            match event_of(entry) {
                Some(event) => events.push((entry.id.clone(), event)),
                // Trimmed away, or not an event: nothing to do but let it go.
                None => junk.push(entry.id.as_str()),
            }
        }
        self.ack(&junk).await?;
        Ok(events)
    }

    /// Entries after `start` (an id: this consumer's unacknowledged ones after it; `>`: new
    /// ones, waiting up to `block`).
    async fn read_from(
        &mut self,
        start: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<StreamId>, JobsError> {
        let mut options = StreamReadOptions::default()
            .group(&self.group, &self.consumer)
            .count(count);
        if let Some(block) = block {
            options = options.block(block.as_millis() as usize);
        }
        let reply: Option<StreamReadReply> = self
            .con
            .xread_options(&[self.keys.events()], &[start], &options)
            .await?;
        Ok(reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default())
    }

    /// Acknowledges handled events.
    pub async fn ack(&mut self, ids: &[&str]) -> Result<(), JobsError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _: usize = self.con.xack(self.keys.events(), &self.group, ids).await?;
        Ok(())
    }

    /// Reads this consumer's unacknowledged events again, from the first, on the next call.
    pub fn reread_backlog(&mut self) {
        self.backlog = Some("0".into());
    }
}
