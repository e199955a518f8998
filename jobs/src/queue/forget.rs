//! Forgetting a user in Redis: their jobs, claims, counters, rate state and conversation
//! (one script), and their events in the stream; a marker (a digest, not their id) tells
//! the recorder to drop events of theirs that come later.

use super::Queue;
use crate::error::JobsError;
use redis::streams::StreamRangeReply;
use redis::AsyncCommands;
use spinbot_core::{JobEvent, JobId, UserId};

/// Events looked at per read when the stream is searched.
const CHUNK: usize = 1000;

impl Queue {
    /// Forgets `user` in Redis; returns the ids of their jobs. A running job stops at its
    /// next heartbeat and leaves nothing when it ends.
    pub async fn forget_user(&self, user: &UserId) -> Result<Vec<JobId>, JobsError> {
        // Longer than any event of theirs can wait in the stream.
        let marker_ms = self.config.limits.retention_ms.max(7 * 24 * 3600 * 1000);
        let jobs: Vec<String> = self
            .scripts
            .forget
            .arg(self.keys().prefix())
            .arg(user.as_str())
            .arg(self.keys().forgotten(user))
            .arg(marker_ms)
            .invoke_async(&mut self.connection())
            .await?;
        self.delete_events_of(user).await?;
        Ok(jobs.iter().filter_map(|j| JobId::parse(j).ok()).collect())
    }

    /// Whether `user` asked to be forgotten.
    pub async fn is_forgotten(&self, user: &UserId) -> Result<bool, JobsError> {
        Ok(self
            .connection()
            .exists(self.keys().forgotten(user))
            .await?)
    }

    /// Deletes `user`'s events from the stream.
    async fn delete_events_of(&self, user: &UserId) -> Result<(), JobsError> {
        let mut con = self.connection();
        let events = self.keys().events();
        let mut start = "-".to_owned();
        loop {
            let page: StreamRangeReply = con.xrange_count(&events, &start, "+", CHUNK).await?;
            let Some(last) = page.ids.last() else { break };
            start = format!("({}", last.id);
            let theirs: Vec<&str> = page
                .ids
                .iter()
                .filter(|e| {
                    e.get::<String>("event")
                        .and_then(|json| serde_json::from_str::<JobEvent>(&json).ok())
                        .is_some_and(|event| event.user() == user)
                })
                .map(|e| e.id.as_str())
                .collect();
            if !theirs.is_empty() {
                let _: usize = con.xdel(&events, &theirs).await?;
            }
            if page.ids.len() < CHUNK {
                break;
            }
        }
        Ok(())
    }
}
