//! Names of live processes in a role (`recorder`, `bot-telegram`): each process holds its
//! name in Redis while it lives (renewed every 2 s, gone 10 s after the process is), so its
//! consumer name in a group is stable and distinct. A name not given is the lowest free one
//! (`telegram-1`, `telegram-2`, ...), so a restarted process usually gets its old name back.
//! Pending events of names nobody holds any more are taken over by the living, and a claim
//! held by a process that is gone is taken over too.

use crate::error::JobsError;
use crate::queue::Queue;
use redis::AsyncCommands;
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How long a name outlives its process.
const HOLD: Duration = Duration::from_secs(10);
/// How often a live process renews its name.
const RENEW: Duration = Duration::from_secs(2);
/// Pending events idle this long whose consumer is gone are taken over.
const TAKE_OVER_IDLE: Duration = Duration::from_secs(10);

/// A live process's name in its role, held while this value lives.
pub struct Member {
    role: String,
    name: String,
    instance: String,
    _renewal: DropGuard,
}

impl Member {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This process as the owner of a claim: role, name and instance.
    pub fn owner(&self) -> String {
        format!("{}/{}/{}", self.role, self.name, self.instance)
    }
}

impl Queue {
    /// Takes a name in `role`: `name` when given (a fixed name is this process's even if a
    /// previous life still holds it), else the lowest free `<base>-<n>`.
    pub async fn join(
        &self,
        role: &str,
        base: &str,
        name: Option<&str>,
    ) -> Result<Member, JobsError> {
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let hold = HOLD.as_millis() as u64;
        let mut con = self.connection();
        let name = match name {
            Some(fixed) => {
                let _: () = con
                    .pset_ex(self.keys().member(role, fixed), &instance, hold)
                    .await?;
                fixed.to_owned()
            }
            None => {
                let mut n = 1;
                loop {
                    let candidate = format!("{base}-{n}");
                    let taken: Option<String> = redis::cmd("SET")
                        .arg(self.keys().member(role, &candidate))
                        .arg(&instance)
                        .arg("NX")
                        .arg("PX")
                        .arg(hold)
                        .query_async(&mut con)
                        .await?;
                    if taken.is_some() {
                        break candidate;
                    }
                    n += 1;
                }
            }
        };
        let stop = CancellationToken::new();
        let renewal = stop.clone().drop_guard();
        let key = self.keys().member(role, &name);
        let value = instance.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => {
                        let _: redis::RedisResult<()> = con.del(&key).await;
                        return;
                    }
                    _ = tokio::time::sleep(RENEW) => {}
                }
                let renewed: redis::RedisResult<()> = con.pset_ex(&key, &value, hold).await;
                if let Err(e) = renewed {
                    tracing::warn!(error = %e, "could not renew this process's name");
                }
            }
        });
        tracing::info!(role, name = %name, "joined");
        Ok(Member {
            role: role.to_owned(),
            name,
            instance,
            _renewal: renewal,
        })
    }

    /// [`Queue::join`], waiting while Redis is away; `None` when `stop` came first.
    pub async fn join_when_up(
        &self,
        role: &str,
        base: &str,
        name: Option<&str>,
        stop: &CancellationToken,
    ) -> Option<Member> {
        let mut backoff = crate::retry::Backoff::default();
        loop {
            match self.join(role, base, name).await {
                Ok(me) => return Some(me),
                Err(e) => {
                    tracing::warn!(error = %e, role, "cannot reach Redis to take a name; waiting");
                    if !backoff.wait(stop).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Whether a process holds `name` in `role` now.
    pub async fn is_alive(&self, role: &str, name: &str) -> Result<bool, JobsError> {
        Ok(self
            .connection()
            .exists(self.keys().member(role, name))
            .await?)
    }

    /// Claims for `me` the events of `group` pending with consumers of `role` that are gone;
    /// returns how many (they come back through the reader's backlog).
    pub async fn take_over_events(
        &self,
        group: &str,
        role: &str,
        me: &Member,
    ) -> Result<usize, JobsError> {
        let idle = TAKE_OVER_IDLE.as_millis() as u64;
        let mut con = self.connection();
        let pending: redis::RedisResult<Vec<(String, String, u64, u64)>> = redis::cmd("XPENDING")
            .arg(self.keys().events())
            .arg(group)
            .arg("IDLE")
            .arg(idle)
            .arg("-")
            .arg("+")
            .arg(1000)
            .query_async(&mut con)
            .await;
        let pending = match pending {
            Ok(pending) => pending,
            // The group is made by its first read: before it, nothing can be orphaned.
            Err(e) if e.code() == Some("NOGROUP") => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut orphans = Vec::new();
        let mut gone = std::collections::HashMap::new();
        for (id, consumer, _, _) in pending {
            if consumer == me.name {
                continue;
            }
            let dead = match gone.get(&consumer) {
                Some(dead) => *dead,
                None => {
                    let dead = !self.is_alive(role, &consumer).await?;
                    gone.insert(consumer.clone(), dead);
                    dead
                }
            };
            if dead {
                orphans.push(id);
            }
        }
        if orphans.is_empty() {
            return Ok(0);
        }
        let claimed: Vec<String> = redis::cmd("XCLAIM")
            .arg(self.keys().events())
            .arg(group)
            .arg(&me.name)
            .arg(idle)
            .arg(&orphans)
            .arg("JUSTID")
            .query_async(&mut con)
            .await?;
        if !claimed.is_empty() {
            tracing::info!(
                group,
                taken = claimed.len(),
                "took over events of a process that is gone"
            );
        }
        Ok(claimed.len())
    }
}
