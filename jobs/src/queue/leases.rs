//! Leases: a worker takes the next fair job (or a silent worker's), keeps it by heartbeat,
//! reports progress, and ends it (done, failed, cancelled, retry later, or handed back).

use super::Queue;
use crate::error::JobsError;
use redis::AsyncCommands;
use spinbot_core::{JobEvent, JobId, Plan, UserId};

/// A job held by a worker: the stream entry is its lease.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub job: JobId,
    pub entry: String,
    pub user: UserId,
    pub plan: Plan,
    pub attempt: u32,
    /// How long it waited from submission to this attempt's start (Redis's clock).
    pub waited_ms: u64,
}

/// How a worker ends its hold on a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done {
        result: String,
    },
    /// A permanent failure; `reason` is a sentence for the user.
    Failed {
        reason: String,
    },
    Cancelled,
    /// A transient failure: try again later (dead-lettered after too many attempts).
    Retry {
        reason: String,
    },
    /// The worker is stopping: the job goes back to the front of the line, untried.
    Release,
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Held,
    /// The owner asked to stop.
    Cancel,
    /// Another worker took the job over.
    Lost,
}

/// What `finish` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    Done,
    Failed,
    Cancelled,
    /// Queued again after a back-off.
    Retrying,
    /// Failed too often: in the dead-letter stream.
    DeadLettered,
    /// Back in line for another worker.
    Released,
    /// Another worker holds the job now; this outcome was dropped.
    Lost,
    /// Its user asked to be forgotten: its record is gone, and its files must go too.
    Forgotten,
}

impl Queue {
    /// The next job for `worker`, fairly across users: GPU-only work first when the worker
    /// has a GPU, then work any worker may take.
    pub async fn dispatch(&self, worker: &str, gpu: bool) -> Result<Option<Lease>, JobsError> {
        let mut call = self.scripts.dispatch.prepare_invoke();
        call.arg(self.keys.prefix())
            .arg(worker)
            .arg(self.config.limits.max_running_per_user);
        if gpu {
            call.arg("gpu");
        }
        call.arg("any");
        let reply: Option<(String, String)> = call.invoke_async(&mut self.con.clone()).await?;
        self.lease_of(reply).await
    }

    /// Takes over one job whose worker went silent for longer than the lease.
    pub async fn reclaim(&self, worker: &str) -> Result<Option<Lease>, JobsError> {
        let reply: Option<(String, String)> = self
            .scripts
            .reclaim
            .arg(self.keys.prefix())
            .arg(worker)
            .arg(self.config.limits.lease_ms)
            .arg(self.config.limits.max_attempts)
            .invoke_async(&mut self.con.clone())
            .await?;
        self.lease_of(reply).await
    }

    async fn lease_of(&self, reply: Option<(String, String)>) -> Result<Option<Lease>, JobsError> {
        let Some((job, entry)) = reply else {
            return Ok(None);
        };
        let job = JobId::parse(&job).map_err(|e| JobsError::Record(e.to_string()))?;
        let record = self
            .job(&job)
            .await?
            .ok_or_else(|| JobsError::Record(format!("job {job} vanished")))?;
        Ok(Some(Lease {
            job,
            entry,
            user: record.user,
            plan: record.plan,
            attempt: record.attempts.max(1),
            waited_ms: record
                .started_ms
                .unwrap_or(record.created_ms)
                .saturating_sub(record.created_ms),
        }))
    }

    /// Renews the lease; tells the worker to stop if the job was cancelled or taken over.
    pub async fn heartbeat(&self, worker: &str, lease: &Lease) -> Result<Heartbeat, JobsError> {
        let reply: String = self
            .scripts
            .heartbeat
            .arg(self.keys.prefix())
            .arg(worker)
            .arg(&lease.entry)
            .arg(lease.job.as_str())
            .invoke_async(&mut self.con.clone())
            .await?;
        Ok(match reply.as_str() {
            "ok" => Heartbeat::Held,
            "cancel" => Heartbeat::Cancel,
            _ => Heartbeat::Lost,
        })
    }

    /// Announces a stage's progress.
    pub async fn progress(&self, lease: &Lease, stage: &str, percent: u8) -> Result<(), JobsError> {
        let event = JobEvent::Progress {
            job: lease.job.clone(),
            user: lease.user.clone(),
            stage: stage.to_owned(),
            percent,
        };
        let json = serde_json::to_string(&event).map_err(|e| JobsError::Record(e.to_string()))?;
        let _: u32 = self
            .scripts
            .progress
            .arg(self.keys.prefix())
            .arg(lease.job.as_str())
            .arg(json)
            .arg(stage)
            .arg(percent)
            .invoke_async(&mut self.con.clone())
            .await?;
        Ok(())
    }

    /// Counts that a stage really ran for a job (not resumed from its stored output).
    pub async fn record_stage_run(&self, job: &JobId, stage: &str) -> Result<(), JobsError> {
        let _: i64 = self
            .con
            .clone()
            .hincr(self.keys.job(job), format!("runs:{stage}"), 1)
            .await?;
        Ok(())
    }

    /// Ends the worker's hold on a job; [`Finished::Lost`] when another worker has it now,
    /// [`Finished::Forgotten`] when its user asked to be forgotten meanwhile (nothing of it
    /// may stay).
    pub async fn finish(
        &self,
        worker: &str,
        lease: &Lease,
        outcome: &Outcome,
    ) -> Result<Finished, JobsError> {
        let (name, detail) = match outcome {
            Outcome::Done { result } => ("done", result.as_str()),
            Outcome::Failed { reason } => ("failed", reason.as_str()),
            Outcome::Cancelled => ("cancelled", ""),
            Outcome::Retry { reason } => ("retry", reason.as_str()),
            Outcome::Release => ("release", ""),
        };
        let backoff =
            self.config.limits.retry_backoff_ms * 2u64.pow(lease.attempt.saturating_sub(1).min(10));
        let answer: String = self
            .scripts
            .finish
            .arg(self.keys.prefix())
            .arg(worker)
            .arg(&lease.entry)
            .arg(lease.job.as_str())
            .arg(name)
            .arg(detail)
            .arg(backoff)
            .arg(self.config.limits.max_attempts)
            .invoke_async(&mut self.con.clone())
            .await?;
        Ok(match answer.as_str() {
            "done" => Finished::Done,
            "failed" => Finished::Failed,
            "cancelled" => Finished::Cancelled,
            "retrying" => Finished::Retrying,
            "dead" => Finished::DeadLettered,
            "released" => Finished::Released,
            "forgotten" => Finished::Forgotten,
            _ => Finished::Lost,
        })
    }
}
