//! Admission: a plan becomes a job when the user is not blocked and their rate, their caps
//! and the farm's bound allow (one script, so it holds whichever process submits), recorded
//! with the chat it answers; cancel; and the admins' block list.

use super::Queue;
use crate::error::JobsError;
use redis::AsyncCommands;
use spinbot_core::job::ReplyTo;
use spinbot_core::limits::{
    ANONYMOUS_RENDERS_PER_HOUR, ANONYMOUS_RENDER_BURST, KEPT_ENTRIES_BEFORE_PRUNING,
};
use spinbot_core::{JobClass, JobId, JobState, Plan, Refusal, UserId};

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    Accepted { job: JobId, position: u64 },
    Refused(Refusal),
}

/// What `cancel` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// Not a job of this user (or no such job).
    NotFound,
    Cancelled,
    /// Running: its worker stops within a second.
    Stopping,
    AlreadyFinished(JobState),
}

impl Queue {
    /// Admits a plan for `user` as a new job or says why not.
    pub async fn submit(
        &self,
        user: &UserId,
        plan: &Plan,
        class: JobClass,
    ) -> Result<Admission, JobsError> {
        self.submit_as(JobId::new(), user, plan, class, None, None)
            .await
    }

    /// Drops the in-process flood state of users that is no different from a fresh one's.
    pub fn prune(&self) {
        self.flood.retain_recent();
        self.flood.shrink_to_fit();
        crate::metrics::kept("submit_flood", self.flood.len());
    }

    /// Like [`Queue::submit`], under an id chosen beforehand (its inputs already stored),
    /// with the chat its progress and video go to recorded in the same step. `network`: for
    /// an anonymous user (whose identity costs nothing to make), the network they came from;
    /// the job also counts against its limit and the bound for all anonymous users.
    pub async fn submit_as(
        &self,
        job: JobId,
        user: &UserId,
        plan: &Plan,
        class: JobClass,
        reply: Option<&ReplyTo>,
        network: Option<&str>,
    ) -> Result<Admission, JobsError> {
        let admin = self.config.limits.admins.contains(user);
        if !admin {
            if self.flood.len() > KEPT_ENTRIES_BEFORE_PRUNING {
                self.prune();
            }
            if let Err(not_until) = self.flood.check_key(user) {
                crate::metrics::process().flood_refusals.inc();
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                return Ok(Admission::Refused(Refusal::RateLimited {
                    retry_after_s: wait.as_secs_f64().max(0.001),
                }));
            }
        }
        let plan_json =
            serde_json::to_string(plan).map_err(|e| JobsError::Record(e.to_string()))?;
        let (answer, number): (String, String) = self
            .scripts
            .submit
            .arg(self.keys.prefix())
            .arg(job.as_str())
            .arg(user.as_str())
            .arg(plan_json)
            .arg(class.as_str())
            .arg(self.config.interval_ms())
            .arg(self.config.limits.render_burst)
            .arg(self.config.limits.max_queued_per_user)
            .arg(self.config.limits.max_queue)
            .arg(if admin { "1" } else { "0" })
            .arg(reply.map_or("", |r| r.platform.as_str()))
            .arg(reply.map_or("", |r| r.chat.as_str()))
            .arg(network.unwrap_or(""))
            .arg(3_600_000 / u64::from(ANONYMOUS_RENDERS_PER_HOUR.max(1)))
            .arg(ANONYMOUS_RENDER_BURST)
            .invoke_async(&mut self.con.clone())
            .await?;
        let number: f64 = number.parse().unwrap_or(0.0);
        if answer == "ok" {
            return Ok(Admission::Accepted {
                job,
                position: number as u64,
            });
        }
        Refusal::from_code(&answer, number)
            .map(Admission::Refused)
            .ok_or_else(|| JobsError::Record(format!("submit answered {answer:?}")))
    }

    /// Blocks `user`: every submission of theirs is refused (and the bots answer them with
    /// one sentence) until they are unblocked. Their jobs already queued or running go on.
    pub async fn block(&self, user: &UserId, reason: &str) -> Result<(), JobsError> {
        let _: i64 = self
            .con
            .clone()
            .hset(self.keys.blocked(), user.as_str(), reason)
            .await?;
        Ok(())
    }

    /// Unblocks `user`; false when they were not blocked.
    pub async fn unblock(&self, user: &UserId) -> Result<bool, JobsError> {
        let removed: i64 = self
            .con
            .clone()
            .hdel(self.keys.blocked(), user.as_str())
            .await?;
        Ok(removed > 0)
    }

    pub async fn is_blocked(&self, user: &UserId) -> Result<bool, JobsError> {
        Ok(self
            .con
            .clone()
            .hexists(self.keys.blocked(), user.as_str())
            .await?)
    }

    /// The blocked users with the reasons given, by user.
    pub async fn blocked(&self) -> Result<Vec<(String, String)>, JobsError> {
        let all: std::collections::BTreeMap<String, String> =
            self.con.clone().hgetall(self.keys.blocked()).await?;
        Ok(all.into_iter().collect())
    }

    /// Cancels `user`'s job: at once when queued, within a second when running.
    pub async fn cancel(&self, job: &JobId, user: &UserId) -> Result<Cancel, JobsError> {
        let reply: String = self
            .scripts
            .cancel
            .arg(self.keys.prefix())
            .arg(job.as_str())
            .arg(user.as_str())
            .invoke_async(&mut self.con.clone())
            .await?;
        Ok(match reply.as_str() {
            "cancelled" => Cancel::Cancelled,
            "cancelling" => Cancel::Stopping,
            "not_found" => Cancel::NotFound,
            other => JobState::parse(other).map_or(Cancel::NotFound, Cancel::AlreadyFinished),
        })
    }
}
