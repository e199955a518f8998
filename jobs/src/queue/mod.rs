//! The queue on Redis, through one connection manager that reconnects by itself. Every
//! decision that must hold across processes is one Lua script, so it is atomic (and reads
//! Redis's own clock); this module calls them and reads the records, split by what it does:
//! `admission` (submit, cancel, forget), `leases` (dispatch, take-over, heartbeat, progress,
//! finish), `events` (the events stream and its readers), `deliveries` (claims on posting a
//! video) and `dead` (dead letters).

mod admission;
mod dead;
mod deliveries;
mod events;
mod forget;
mod leases;

pub use admission::{Admission, Cancel};
pub use dead::DeadLetter;
pub use deliveries::{Claim, Delivery};
pub use events::EventReader;
pub use leases::{Finished, Heartbeat, Lease, Outcome};

use crate::config::QueueConfig;
use crate::error::JobsError;
use crate::keys::Keys;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use spinbot_core::{Job, JobId, JobState, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};

const COMMON: &str = include_str!("../lua/common.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{}\n{COMMON}\n{body}", Keys::lua_prelude()))
}

pub(crate) struct Scripts {
    pub(crate) submit: Script,
    pub(crate) dispatch: Script,
    pub(crate) reclaim: Script,
    pub(crate) heartbeat: Script,
    pub(crate) finish: Script,
    pub(crate) cancel: Script,
    pub(crate) requeue: Script,
    pub(crate) position: Script,
    pub(crate) expire: Script,
    pub(crate) claim: Script,
    pub(crate) forget: Script,
    pub(crate) progress: Script,
    pub(crate) delivered: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            submit: script(include_str!("../lua/submit.lua")),
            dispatch: script(include_str!("../lua/dispatch.lua")),
            reclaim: script(include_str!("../lua/reclaim.lua")),
            heartbeat: script(include_str!("../lua/heartbeat.lua")),
            finish: script(include_str!("../lua/finish.lua")),
            cancel: script(include_str!("../lua/cancel.lua")),
            requeue: script(include_str!("../lua/requeue.lua")),
            position: script(include_str!("../lua/position.lua")),
            expire: script(include_str!("../lua/expire.lua")),
            claim: script(include_str!("../lua/claim.lua")),
            forget: script(include_str!("../lua/forget.lua")),
            progress: script(include_str!("../lua/progress.lua")),
            delivered: script(include_str!("../lua/delivered.lua")),
        }
    }
}

/// A job as its owner sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobStatus {
    pub job: JobId,
    pub user: UserId,
    pub state: JobState,
    /// Place in line while queued (1 = next).
    pub position: Option<u64>,
    pub stage: String,
    pub percent: u8,
    pub attempts: u32,
    pub result: Option<String>,
    pub error: Option<String>,
}

type FloodGuard = governor::DefaultKeyedRateLimiter<UserId>;

/// The queue: cheap to clone, shared by every task of a process.
#[derive(Clone)]
pub struct Queue {
    con: ConnectionManager,
    pub(crate) config: Arc<QueueConfig>,
    keys: Keys,
    pub(crate) scripts: Arc<Scripts>,
    flood: Arc<FloodGuard>,
    /// Stops the connection's keeper when the last clone goes.
    _keeper: Arc<DropGuard>,
}

/// A connection manager for `url` that connects on first use and reconnects whenever
/// Redis went away; `response` bounds one command (a blocking read needs longer). While
/// Redis is away, a command waits for one round of reconnection (a few seconds) and fails.
pub fn connection(url: &str, response: Duration) -> Result<ConnectionManager, JobsError> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response))
        .set_number_of_retries(5)
        .set_max_delay(Duration::from_secs(1));
    Ok(ConnectionManager::new_lazy_with_config(client, config)?)
}

/// Keeps a connection fresh: a PING every half second notices a Redis that went away, and
/// reconnects once it is back, before anyone's command meets the dead connection. Stops
/// when the guard is dropped.
fn keep_fresh(con: ConnectionManager) -> DropGuard {
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        let mut con = con;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            let _: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut con).await;
        }
    });
    token.drop_guard()
}

impl Queue {
    /// A queue on `config`'s Redis (call it inside the tokio runtime). Nothing is sent
    /// until the first call, so Redis may be down now; every call fails while it is, and
    /// works again once it is back.
    pub fn new(config: QueueConfig) -> Result<Self, JobsError> {
        let con = connection(&config.redis_url, Duration::from_secs(5))?;
        let per_second = std::num::NonZeroU32::new(config.limits.flood_per_second.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let flood = governor::RateLimiter::keyed(governor::Quota::per_second(per_second));
        Ok(Self {
            _keeper: Arc::new(keep_fresh(con.clone())),
            con,
            keys: Keys::new(&config.prefix),
            config: Arc::new(config),
            scripts: Arc::new(Scripts::new()),
            flood: Arc::new(flood),
        })
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The shared connection, for other state kept beside the queue (conversations,
    /// watches).
    pub fn connection(&self) -> ConnectionManager {
        self.con.clone()
    }

    /// A user's queued and running jobs, oldest first.
    pub async fn active_jobs(&self, user: &UserId) -> Result<Vec<JobId>, JobsError> {
        let ids: Vec<String> = redis::AsyncCommands::zrange(
            &mut self.connection(),
            self.keys().user_jobs(user),
            0,
            -1,
        )
        .await?;
        Ok(ids.iter().filter_map(|id| JobId::parse(id).ok()).collect())
    }

    /// A job's record, if it exists.
    pub async fn job(&self, job: &JobId) -> Result<Option<Job>, JobsError> {
        let fields: HashMap<String, String> = self.con.clone().hgetall(self.keys.job(job)).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        Ok(Some(Job::from_fields(job, &fields)?))
    }

    /// A job's status, if it exists and (when `user` is given) belongs to that user.
    pub async fn status(
        &self,
        job: &JobId,
        user: Option<&UserId>,
    ) -> Result<Option<JobStatus>, JobsError> {
        let Some(record) = self.job(job).await? else {
            return Ok(None);
        };
        if user.is_some_and(|u| *u != record.user) {
            return Ok(None);
        }
        let position: u64 = if record.state == JobState::Queued {
            self.scripts
                .position
                .arg(self.keys.prefix())
                .arg(job.as_str())
                .invoke_async(&mut self.con.clone())
                .await?
        } else {
            0
        };
        Ok(Some(JobStatus {
            job: record.id,
            user: record.user,
            state: record.state,
            position: (position > 0).then_some(position),
            stage: record.stage,
            percent: record.percent,
            attempts: record.attempts,
            result: record.result,
            error: record.error,
        }))
    }

    /// `user`'s job as they see it: live from Redis, or from the record once its live record
    /// has expired.
    pub async fn status_anywhere(
        &self,
        job: &JobId,
        user: &UserId,
        record: Option<&crate::Record>,
    ) -> Result<Option<JobStatus>, JobsError> {
        if let Some(status) = self.status(job, Some(user)).await? {
            return Ok(Some(status));
        }
        let Some(record) = record else {
            return Ok(None);
        };
        let Some(row) = record.job(user, job).await? else {
            return Ok(None);
        };
        let Some(state) = JobState::parse(&row.state) else {
            return Ok(None);
        };
        Ok(Some(JobStatus {
            job: job.clone(),
            user: user.clone(),
            state,
            position: None,
            stage: String::new(),
            percent: if state == JobState::Done { 100 } else { 0 },
            attempts: row.attempts.max(0) as u32,
            result: row.result,
            error: row.reason,
        }))
    }

    /// Every key under this queue's prefix (for clean-up and inspection).
    pub async fn all_keys(&self) -> Result<Vec<String>, JobsError> {
        let mut con = self.con.clone();
        let mut iter: redis::AsyncIter<String> = con.scan_match(self.keys.all_pattern()).await?;
        let mut keys = Vec::new();
        while let Some(key) = iter.next_item().await {
            keys.push(key?);
        }
        Ok(keys)
    }

    /// Deletes every key under this queue's prefix (a benchmark's, when it is done).
    pub async fn delete_all(&self) -> Result<(), JobsError> {
        let keys = self.all_keys().await?;
        let mut con = self.con.clone();
        for chunk in keys.chunks(500) {
            let _: usize = con.del(chunk).await?;
        }
        Ok(())
    }

    /// The farm-wide figures the scripts keep, for the metrics.
    pub async fn figures(&self) -> Result<crate::metrics::PlaneFigures, JobsError> {
        const OUTCOMES: [&str; 5] = ["done", "failed", "cancelled", "dead_lettered", "retried"];
        const REFUSALS: [&str; 4] = ["rate_limited", "too_many_queued", "busy", "blocked"];
        let mut names = vec![self.keys.count(&["queued"]), self.keys.count(&["running"])];
        names.extend(OUTCOMES.iter().map(|o| self.keys.count(&["outcome", o])));
        names.extend(REFUSALS.iter().map(|r| self.keys.count(&["refused", r])));
        let mut con = self.con.clone();
        let values: Vec<Option<i64>> = con.mget(&names).await?;
        let value = |i: usize| values.get(i).copied().flatten().unwrap_or(0).max(0);
        let seen: HashMap<String, u64> = con.hgetall(self.keys.workers()).await?;
        // Redis's clock, which wrote the times.
        let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut con).await?;
        let now = secs * 1000 + micros / 1000;
        let mut workers: Vec<(String, f64)> = seen
            .into_iter()
            .map(|(w, ms)| (w, now.saturating_sub(ms) as f64 / 1000.0))
            .collect();
        workers.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(crate::metrics::PlaneFigures {
            queued: value(0),
            running: value(1),
            outcomes: OUTCOMES
                .iter()
                .enumerate()
                .map(|(i, o)| ((*o).to_owned(), value(2 + i) as u64))
                .collect(),
            refusals: REFUSALS
                .iter()
                .enumerate()
                .map(|(i, r)| ((*r).to_owned(), value(2 + OUTCOMES.len() + i) as u64))
                .collect(),
            workers,
        })
    }
}
