//! Keeping Redis bounded: finished jobs' live records go after the retention (the Postgres
//! record answers for them afterwards); the events stream is trimmed below what every
//! consumer group has acknowledged, with a hard cap as the explicit loss policy for a group
//! nobody reads any more; workers and consumers gone for a day are dropped. Every worker
//! process runs it every few seconds; many may run it at once.

use crate::error::JobsError;
use crate::keys::WORKERS_GROUP;
use crate::queue::Queue;
use crate::retry::pause;
use redis::streams::{StreamInfoConsumersReply, StreamInfoGroupsReply, StreamPendingReply};
use redis::AsyncCommands;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Events kept at most, read or not (a group nobody reads any more would keep them all).
pub const EVENTS_CAP: usize = 1_000_000;
/// Finished jobs removed per script call.
const EXPIRE_BATCH: usize = 500;
/// Workers and consumers silent this long are forgotten.
const GONE: Duration = Duration::from_secs(24 * 3600);
/// How often a worker process keeps house.
pub const EVERY: Duration = Duration::from_secs(5);

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Housekept {
    /// Finished jobs whose live records went.
    pub expired: usize,
    /// Events every group had acknowledged, trimmed.
    pub events_trimmed: usize,
    /// Events dropped unread because the stream was over its cap.
    pub events_lost: usize,
}

impl Queue {
    /// One round of housekeeping.
    pub async fn housekeep(&self) -> Result<Housekept, JobsError> {
        let mut done = Housekept::default();
        loop {
            let n: usize = self
                .scripts
                .expire
                .arg(self.keys().prefix())
                .arg(self.config.limits.retention_ms)
                .arg(EXPIRE_BATCH)
                .invoke_async(&mut self.connection())
                .await?;
            done.expired += n;
            if n < EXPIRE_BATCH {
                break;
            }
        }
        (done.events_trimmed, done.events_lost) = self.trim_events().await?;
        self.forget_gone_workers().await?;
        Ok(done)
    }

    /// Trims the events below the oldest one some group has not acknowledged; then, over
    /// the cap, the oldest whatever they are. Returns (trimmed, lost).
    async fn trim_events(&self) -> Result<(usize, usize), JobsError> {
        let mut con = self.connection();
        let events = self.keys().events();
        let groups: StreamInfoGroupsReply = match con.xinfo_groups(&events).await {
            Ok(groups) => groups,
            // No stream yet.
            Err(e)
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) =>
            {
                return Ok((0, 0))
            }
            Err(e) => return Err(e.into()),
        };
        let mut keep_from: Option<(u64, u64)> = None;
        for group in &groups.groups {
            let oldest = if group.pending > 0 {
                match con.xpending(&events, &group.name).await? {
                    StreamPendingReply::Data(data) => data.start_id,
                    _ => group.last_delivered_id.clone(),
                }
            } else {
                group.last_delivered_id.clone()
            };
            let id = parse_id(&oldest);
            keep_from = Some(keep_from.map_or(id, |k| k.min(id)));
        }
        let mut trimmed = 0;
        if let Some((ms, seq)) = keep_from {
            trimmed = redis::cmd("XTRIM")
                .arg(&events)
                .arg("MINID")
                .arg("~")
                .arg(format!("{ms}-{seq}"))
                .query_async(&mut con)
                .await?;
        }
        let len: usize = con.xlen(&events).await?;
        let mut lost = 0;
        if len > EVENTS_CAP {
            lost = redis::cmd("XTRIM")
                .arg(&events)
                .arg("MAXLEN")
                .arg(EVENTS_CAP)
                .query_async(&mut con)
                .await?;
            tracing::warn!(
                lost,
                cap = EVENTS_CAP,
                "events dropped unread: a consumer group is far behind or abandoned"
            );
        }
        Ok((trimmed, lost))
    }

    /// Drops workers not heard from for a day, and consumers of every group with nothing
    /// pending that have been idle as long.
    async fn forget_gone_workers(&self) -> Result<(), JobsError> {
        let mut con = self.connection();
        let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut con).await?;
        let now = secs * 1000 + micros / 1000;
        let gone = GONE.as_millis() as u64;
        let seen: HashMap<String, u64> = con.hgetall(self.keys().workers()).await?;
        let old: Vec<&String> = seen
            .iter()
            .filter(|(_, at)| now.saturating_sub(**at) > gone)
            .map(|(w, _)| w)
            .collect();
        if !old.is_empty() {
            let _: usize = con.hdel(self.keys().workers(), &old).await?;
        }
        let mut groups = vec![(self.keys().work(), WORKERS_GROUP.to_owned())];
        if let Ok(info) = con
            .xinfo_groups::<_, StreamInfoGroupsReply>(self.keys().events())
            .await
        {
            groups.extend(
                info.groups
                    .into_iter()
                    .map(|g| (self.keys().events(), g.name)),
            );
        }
        for (stream, group) in groups {
            let Ok(consumers) = con
                .xinfo_consumers::<_, _, StreamInfoConsumersReply>(&stream, &group)
                .await
            else {
                continue;
            };
            for c in consumers.consumers {
                if c.pending == 0 && c.idle as u64 > gone {
                    let _: usize = con.xgroup_delconsumer(&stream, &group, &c.name).await?;
                }
            }
        }
        Ok(())
    }
}

fn parse_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Keeps house every few seconds until `stop`.
pub async fn run(queue: Queue, stop: CancellationToken) {
    while pause(&stop, EVERY).await {
        match queue.housekeep().await {
            Ok(done) if done != Housekept::default() => tracing::debug!(?done, "housekeeping"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; retrying"),
        }
    }
}
