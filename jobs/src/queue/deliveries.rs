//! Deliveries: posting a finished video into a chat, at least once. A claim is taken before
//! posting (a process that dies while holding it loses it to the next one), marked sent
//! with a `delivered` event in one step after the platform took the video, and given back
//! when posting failed. A video is posted twice only when a process dies between the
//! platform taking it and the claim being marked.

use super::Queue;
use crate::error::JobsError;
use crate::members::Member;
use redis::AsyncCommands;
use spinbot_core::{JobId, UserId};
use std::time::Duration;

/// What a claim on a delivery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours: post the video.
    Claimed,
    /// Posted already.
    Sent,
    /// A live process is posting it.
    Busy,
}

/// A delivery: a job's video into a chat of a platform.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub platform: &'a str,
    pub job: &'a JobId,
    pub user: &'a UserId,
    pub chat: &'a str,
}

impl Queue {
    fn claim_key(&self, d: &Delivery<'_>) -> String {
        self.keys().delivery(d.platform, d.job, d.chat)
    }

    /// Claims the delivery for `me` for `hold` (longer than posting may take).
    pub async fn claim_delivery(
        &self,
        d: &Delivery<'_>,
        me: &Member,
        hold: Duration,
    ) -> Result<Claim, JobsError> {
        let answer: String = self
            .scripts
            .claim
            .arg(self.keys().prefix())
            .arg(self.claim_key(d))
            .arg(me.owner())
            .arg(hold.as_millis() as u64)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(match answer.as_str() {
            "sent" => Claim::Sent,
            "busy" => Claim::Busy,
            _ => Claim::Claimed,
        })
    }

    /// Marks the delivery sent (`message` is the platform's id of the post) and announces
    /// it; `false` when another process took the claim over meanwhile.
    pub async fn delivered(
        &self,
        d: &Delivery<'_>,
        me: &Member,
        message: &str,
    ) -> Result<bool, JobsError> {
        let answer: String = self
            .scripts
            .delivered
            .arg(self.keys().prefix())
            .arg(self.claim_key(d))
            .arg(me.owner())
            .arg(self.config.limits.retention_ms)
            .arg(d.job.as_str())
            .arg(d.user.as_str())
            .arg(d.platform)
            .arg(d.chat)
            .arg(message)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(answer == "sent")
    }

    /// Gives the claim back after a failed post, so the next try may take it.
    pub async fn give_back_delivery(&self, d: &Delivery<'_>) -> Result<(), JobsError> {
        let _: u32 = self.connection().del(self.claim_key(d)).await?;
        Ok(())
    }

    /// Records the status message that shows a job's progress in its chat.
    pub async fn set_status_message(&self, job: &JobId, message: &str) -> Result<(), JobsError> {
        let key = self.keys().job(job);
        // Only on a job that still exists (it may have expired or been forgotten).
        let script = redis::Script::new(
            "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'reply_message', ARGV[1]) end",
        );
        let _: () = script
            .key(key)
            .arg(message)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }
}
