//! Dead letters: jobs that failed too often wait here for an admin, who may requeue them.

use super::Queue;
use crate::error::JobsError;
use redis::streams::StreamRangeReply;
use redis::AsyncCommands;
use spinbot_core::JobId;

/// A job in the dead-letter stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    pub entry: String,
    pub job: String,
    pub user: String,
    pub reason: String,
    pub attempts: u32,
}

impl Queue {
    /// The dead-letter stream.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, JobsError> {
        let reply: StreamRangeReply = self.con.clone().xrange_all(self.keys.dead()).await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|e| DeadLetter {
                job: e.get("job").unwrap_or_default(),
                user: e.get("user").unwrap_or_default(),
                reason: e.get("reason").unwrap_or_default(),
                attempts: e.get("attempts").unwrap_or(0),
                entry: e.id,
            })
            .collect())
    }

    /// Puts a dead letter back in its user's queue; `None` when there is no such entry.
    pub async fn requeue(&self, entry: &str) -> Result<Option<JobId>, JobsError> {
        let reply: String = self
            .scripts
            .requeue
            .arg(self.keys.prefix())
            .arg(entry)
            .invoke_async(&mut self.con.clone())
            .await?;
        Ok(JobId::parse(&reply).ok())
    }
}
