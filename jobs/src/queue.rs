//! The queue on Redis. Every decision that must hold across processes (admission, fair
//! share, dispatch, leases, finishing, cancel) is one Lua script, so it is atomic; this file
//! only calls them and reads the records.

use crate::config::QueueConfig;
use crate::error::JobsError;
use redis::{Connection, Script, Value};
use spinbot_core::{JobEvent, JobId, JobState, Plan, UserId};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

struct Scripts {
    submit: Script,
    dispatch: Script,
    reclaim: Script,
    heartbeat: Script,
    finish: Script,
    cancel: Script,
    requeue: Script,
    position: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            submit: script(include_str!("lua/submit.lua")),
            dispatch: script(include_str!("lua/dispatch.lua")),
            reclaim: script(include_str!("lua/reclaim.lua")),
            heartbeat: script(include_str!("lua/heartbeat.lua")),
            finish: script(include_str!("lua/finish.lua")),
            cancel: script(include_str!("lua/cancel.lua")),
            requeue: script(include_str!("lua/requeue.lua")),
            position: script(include_str!("lua/position.lua")),
        }
    }
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    Accepted {
        job: JobId,
        position: u64,
    },
    /// `reason` is `rate_limited`, `too_many_queued` or `busy`.
    Refused {
        reason: String,
        retry_after_s: f64,
    },
}

/// A job held by a worker: the stream entry is its lease.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub job: JobId,
    pub entry: String,
    pub user: UserId,
    pub plan: Plan,
    pub attempt: u32,
    /// When the job was submitted (ms since the epoch).
    pub created_ms: u64,
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

/// A job in the dead-letter stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    pub entry: String,
    pub job: String,
    pub user: String,
    pub reason: String,
    pub attempts: u32,
}

type FloodGuard = governor::DefaultKeyedRateLimiter<UserId>;

/// A connection to the queue.
pub struct Queue {
    con: Connection,
    config: QueueConfig,
    scripts: Scripts,
    flood: FloodGuard,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Queue {
    /// Connects and makes sure the work stream's consumer group and the admin list exist.
    pub fn connect(config: QueueConfig) -> Result<Self, JobsError> {
        let client = redis::Client::open(config.redis_url.as_str())?;
        let mut con = client.get_connection_with_timeout(Duration::from_secs(5))?;
        let work = format!("{}:work", config.prefix);
        let created: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&work)
            .arg("workers")
            .arg("$")
            .arg("MKSTREAM")
            .query(&mut con);
        if let Err(e) = created {
            if e.code() != Some("BUSYGROUP") {
                return Err(e.into());
            }
        }
        if !config.admins.is_empty() {
            let key = format!("{}:admins", config.prefix);
            let mut cmd = redis::cmd("SADD");
            cmd.arg(&key);
            for a in &config.admins {
                cmd.arg(a.as_str());
            }
            cmd.query::<()>(&mut con)?;
        }
        let per_second = std::num::NonZeroU32::new(config.flood_per_second.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let flood = governor::RateLimiter::keyed(governor::Quota::per_second(per_second));
        Ok(Self {
            con,
            config,
            scripts: Scripts::new(),
            flood,
        })
    }

    /// The farm-wide figures the scripts keep, for the metrics.
    pub fn figures(&mut self) -> Result<crate::metrics::PlaneFigures, JobsError> {
        let number = |v: Option<String>| v.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        let mut get = |parts: &[&str]| -> Result<i64, JobsError> {
            let v: Option<String> = redis::cmd("GET")
                .arg(self.key(parts))
                .query(&mut self.con)?;
            Ok(number(v))
        };
        let queued = get(&["count", "queued"])?.max(0);
        let running = get(&["count", "running"])?.max(0);
        let mut outcomes = Vec::new();
        for outcome in ["done", "failed", "cancelled", "dead_lettered", "retried"] {
            outcomes.push((
                outcome.to_owned(),
                get(&["count", "outcome", outcome])?.max(0) as u64,
            ));
        }
        let mut refusals = Vec::new();
        for reason in ["rate_limited", "too_many_queued", "busy"] {
            refusals.push((
                reason.to_owned(),
                get(&["count", "refused", reason])?.max(0) as u64,
            ));
        }
        let seen: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(&["workers"]))
            .query(&mut self.con)?;
        let now = now_ms() as f64;
        let mut workers: Vec<(String, f64)> = seen
            .into_iter()
            .filter_map(|(w, ms)| Some((w, ((now - ms.parse::<f64>().ok()?) / 1000.0).max(0.0))))
            .collect();
        workers.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(crate::metrics::PlaneFigures {
            queued,
            running,
            outcomes,
            refusals,
            workers,
        })
    }

    /// Opens a fresh connection (after Redis went away).
    pub fn reconnect(&mut self) -> Result<(), JobsError> {
        let client = redis::Client::open(self.config.redis_url.as_str())?;
        self.con = client.get_connection_with_timeout(Duration::from_secs(5))?;
        Ok(())
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn key(&self, parts: &[&str]) -> String {
        format!("{}:{}", self.config.prefix, parts.join(":"))
    }

    /// Admits a plan for `user` as a new job or says why not; `gpu_only` plans go to GPU
    /// workers only.
    pub fn submit(
        &mut self,
        user: &UserId,
        plan: &Plan,
        gpu_only: bool,
    ) -> Result<Admission, JobsError> {
        self.submit_as(JobId::new(), user, plan, gpu_only)
    }

    /// Like [`Queue::submit`], under an id chosen beforehand (its inputs already stored).
    pub fn submit_as(
        &mut self,
        job: JobId,
        user: &UserId,
        plan: &Plan,
        gpu_only: bool,
    ) -> Result<Admission, JobsError> {
        let admin = self.config.admins.contains(user);
        if !admin {
            if let Err(not_until) = self.flood.check_key(user) {
                crate::metrics::process().flood_refusals.inc();
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                return Ok(Admission::Refused {
                    reason: "rate_limited".into(),
                    retry_after_s: wait.as_secs_f64().max(0.001),
                });
            }
        }
        let plan_json =
            serde_json::to_string(plan).map_err(|e| JobsError::Record(e.to_string()))?;
        let reply: Vec<String> = self
            .scripts
            .submit
            .arg(&self.config.prefix)
            .arg(job.as_str())
            .arg(user.as_str())
            .arg(plan_json)
            .arg(if gpu_only { "gpu" } else { "any" })
            .arg(now_ms())
            .arg(self.config.interval_ms())
            .arg(self.config.render_burst)
            .arg(self.config.max_queued_per_user)
            .arg(self.config.max_queue)
            .arg(if admin { "1" } else { "0" })
            .invoke(&mut self.con)?;
        let number = |i: usize| {
            reply
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        match reply.first().map(String::as_str) {
            Some("ok") => Ok(Admission::Accepted {
                job,
                position: number(1) as u64,
            }),
            Some(reason) => Ok(Admission::Refused {
                reason: reason.to_owned(),
                retry_after_s: number(1),
            }),
            None => Err(JobsError::Record("empty reply from submit".into())),
        }
    }

    /// The next job for `worker`, fairly across users: GPU-only work first when the worker
    /// has a GPU, then work any worker may take.
    pub fn dispatch(&mut self, worker: &str, gpu: bool) -> Result<Option<Lease>, JobsError> {
        let mut call = self.scripts.dispatch.prepare_invoke();
        call.arg(&self.config.prefix)
            .arg(worker)
            .arg(now_ms())
            .arg(self.config.max_running_per_user);
        if gpu {
            call.arg("gpu");
        }
        call.arg("any");
        let reply: Option<(String, String)> = call.invoke(&mut self.con)?;
        self.lease_of(reply)
    }

    /// Takes over one job whose worker went silent for longer than the lease.
    pub fn reclaim(&mut self, worker: &str) -> Result<Option<Lease>, JobsError> {
        let reply: Option<(String, String)> = self
            .scripts
            .reclaim
            .arg(&self.config.prefix)
            .arg(worker)
            .arg(now_ms())
            .arg(self.config.lease.as_millis() as u64)
            .arg(self.config.max_attempts)
            .invoke(&mut self.con)?;
        self.lease_of(reply)
    }

    fn lease_of(&mut self, reply: Option<(String, String)>) -> Result<Option<Lease>, JobsError> {
        let Some((job, entry)) = reply else {
            return Ok(None);
        };
        let job = JobId::parse(&job).map_err(|e| JobsError::Record(e.to_string()))?;
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(&["job", job.as_str()]))
            .query(&mut self.con)?;
        let user = fields
            .get("user")
            .and_then(|u| UserId::parse(u).ok())
            .ok_or_else(|| JobsError::Record(format!("job {job} has no user")))?;
        let plan: Plan = serde_json::from_str(fields.get("plan").map_or("", String::as_str))
            .map_err(|e| JobsError::Record(format!("job {job}: plan: {e}")))?;
        let attempt = fields
            .get("attempts")
            .and_then(|a| a.parse().ok())
            .unwrap_or(1);
        let created_ms = fields
            .get("created_ms")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok(Some(Lease {
            job,
            entry,
            user,
            plan,
            attempt,
            created_ms,
        }))
    }

    /// Renews the lease; tells the worker to stop if the job was cancelled or taken over.
    pub fn heartbeat(&mut self, worker: &str, lease: &Lease) -> Result<Heartbeat, JobsError> {
        let reply: String = self
            .scripts
            .heartbeat
            .arg(&self.config.prefix)
            .arg(worker)
            .arg(&lease.entry)
            .arg(lease.job.as_str())
            .invoke(&mut self.con)?;
        Ok(match reply.as_str() {
            "ok" => Heartbeat::Held,
            "cancel" => Heartbeat::Cancel,
            _ => Heartbeat::Lost,
        })
    }

    /// Announces a stage's progress.
    pub fn progress(&mut self, lease: &Lease, stage: &str, percent: u8) -> Result<(), JobsError> {
        let key = self.key(&["job", lease.job.as_str()]);
        redis::pipe()
            .hset(&key, "stage", stage)
            .hset(&key, "percent", percent)
            .cmd("XADD")
            .arg(self.key(&["events"]))
            .arg("MAXLEN")
            .arg("~")
            .arg(100_000)
            .arg("*")
            .arg("job")
            .arg(lease.job.as_str())
            .arg("user")
            .arg(lease.user.as_str())
            .arg("kind")
            .arg("progress")
            .arg("stage")
            .arg(stage)
            .arg("percent")
            .arg(percent)
            .query::<()>(&mut self.con)?;
        Ok(())
    }

    /// Counts that a stage really ran for a job (not resumed from its stored output).
    pub fn record_stage_run(&mut self, job: &JobId, stage: &str) -> Result<(), JobsError> {
        redis::cmd("HINCRBY")
            .arg(self.key(&["job", job.as_str()]))
            .arg(format!("runs:{stage}"))
            .arg(1)
            .query::<()>(&mut self.con)?;
        Ok(())
    }

    /// How many times each stage ran for a job.
    pub fn stage_runs(&mut self, job: &JobId) -> Result<HashMap<String, u32>, JobsError> {
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(&["job", job.as_str()]))
            .query(&mut self.con)?;
        Ok(fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("runs:")?.to_owned(), v.parse().ok()?)))
            .collect())
    }

    /// Ends the worker's hold on a job. Answers `lost` when another worker has it now.
    pub fn finish(
        &mut self,
        worker: &str,
        lease: &Lease,
        outcome: &Outcome,
    ) -> Result<String, JobsError> {
        let (name, detail) = match outcome {
            Outcome::Done { result } => ("done", result.as_str()),
            Outcome::Failed { reason } => ("failed", reason.as_str()),
            Outcome::Cancelled => ("cancelled", ""),
            Outcome::Retry { reason } => ("retry", reason.as_str()),
        };
        let backoff = self.config.retry_backoff.as_millis() as u64
            * 2u64.pow(lease.attempt.saturating_sub(1).min(10));
        Ok(self
            .scripts
            .finish
            .arg(&self.config.prefix)
            .arg(worker)
            .arg(&lease.entry)
            .arg(lease.job.as_str())
            .arg(name)
            .arg(detail)
            .arg(now_ms())
            .arg(backoff)
            .arg(self.config.max_attempts)
            .invoke(&mut self.con)?)
    }

    /// Cancels `user`'s job: at once when queued, within a second when running.
    pub fn cancel(&mut self, job: &JobId, user: &UserId) -> Result<Cancel, JobsError> {
        let reply: String = self
            .scripts
            .cancel
            .arg(&self.config.prefix)
            .arg(job.as_str())
            .arg(user.as_str())
            .arg(now_ms())
            .invoke(&mut self.con)?;
        Ok(match reply.as_str() {
            "cancelled" => Cancel::Cancelled,
            "cancelling" => Cancel::Stopping,
            "not_found" => Cancel::NotFound,
            other => JobState::parse(other).map_or(Cancel::NotFound, Cancel::AlreadyFinished),
        })
    }

    /// Deletes the live record of `user`'s finished job (its plan, texts and result key);
    /// returns whether it did. Jobs of others, and jobs still queued or running, stay.
    pub fn forget(&mut self, job: &JobId, user: &UserId) -> Result<bool, JobsError> {
        let Some(status) = self.status(job, Some(user))? else {
            return Ok(false);
        };
        if !status.state.is_final() {
            return Ok(false);
        }
        let removed: u32 = redis::cmd("DEL")
            .arg(self.key(&["job", job.as_str()]))
            .query(&mut self.con)?;
        Ok(removed > 0)
    }

    /// A job's status, if it exists and (when `user` is given) belongs to that user.
    pub fn status(
        &mut self,
        job: &JobId,
        user: Option<&UserId>,
    ) -> Result<Option<JobStatus>, JobsError> {
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(&["job", job.as_str()]))
            .query(&mut self.con)?;
        let Some(owner) = fields.get("user").and_then(|u| UserId::parse(u).ok()) else {
            return Ok(None);
        };
        if user.is_some_and(|u| *u != owner) {
            return Ok(None);
        }
        let state = fields
            .get("state")
            .and_then(|s| JobState::parse(s))
            .ok_or_else(|| JobsError::Record(format!("job {job} has no state")))?;
        let position: u64 = if state == JobState::Queued {
            self.scripts
                .position
                .arg(&self.config.prefix)
                .arg(job.as_str())
                .invoke(&mut self.con)?
        } else {
            0
        };
        let text = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
        Ok(Some(JobStatus {
            job: job.clone(),
            user: owner,
            state,
            position: (position > 0).then_some(position),
            stage: text("stage").unwrap_or_default(),
            percent: fields
                .get("percent")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
            attempts: fields
                .get("attempts")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0),
            result: text("result"),
            error: text("error"),
        }))
    }

    /// Job events after the stream id `after` (`0` for all), waiting up to `block` for some.
    pub fn events(
        &mut self,
        after: &str,
        block: Option<Duration>,
        count: usize,
    ) -> Result<Vec<(String, JobEvent)>, JobsError> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(count);
        if let Some(b) = block {
            cmd.arg("BLOCK").arg(b.as_millis() as u64);
        }
        cmd.arg("STREAMS").arg(self.key(&["events"])).arg(after);
        let reply: Value = cmd.query(&mut self.con)?;
        let mut out = Vec::new();
        for (id, fields) in stream_entries(&reply) {
            if let Some(event) = parse_event(&fields) {
                out.push((id, event));
            }
        }
        Ok(out)
    }

    /// Creates consumer group `group` on the stream `stream` (from its start) if missing.
    pub fn ensure_group(&mut self, stream: &str, group: &str) -> Result<(), JobsError> {
        let created: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.key(&[stream]))
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query(&mut self.con);
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Reads job events of `stream` as `consumer` of `group`: `start` `0` re-reads what this
    /// consumer has not acknowledged, `>` waits up to `block` for new ones.
    pub fn read_group(
        &mut self,
        stream: &str,
        group: &str,
        consumer: &str,
        start: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<(String, JobEvent)>, JobsError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count);
        if start == ">" {
            cmd.arg("BLOCK").arg(block.as_millis() as u64);
        }
        cmd.arg("STREAMS").arg(self.key(&[stream])).arg(start);
        let reply: Value = cmd.query(&mut self.con)?;
        Ok(stream_entries(&reply)
            .into_iter()
            .filter_map(|(id, fields)| Some((id, parse_event(&fields)?)))
            .collect())
    }

    /// Acknowledges entries of `stream` for `group`.
    pub fn ack(&mut self, stream: &str, group: &str, ids: &[&str]) -> Result<(), JobsError> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::cmd("XACK")
            .arg(self.key(&[stream]))
            .arg(group)
            .arg(ids)
            .query::<()>(&mut self.con)?;
        Ok(())
    }

    /// The dead-letter stream.
    pub fn dead_letters(&mut self) -> Result<Vec<DeadLetter>, JobsError> {
        let reply: Value = redis::cmd("XRANGE")
            .arg(self.key(&["dead"]))
            .arg("-")
            .arg("+")
            .query(&mut self.con)?;
        Ok(stream_entries(&reply)
            .into_iter()
            .map(|(entry, f)| DeadLetter {
                entry,
                job: f.get("job").cloned().unwrap_or_default(),
                user: f.get("user").cloned().unwrap_or_default(),
                reason: f.get("reason").cloned().unwrap_or_default(),
                attempts: f.get("attempts").and_then(|a| a.parse().ok()).unwrap_or(0),
            })
            .collect())
    }

    /// Puts a dead letter back in its user's queue; `None` when there is no such entry.
    pub fn requeue(&mut self, entry: &str) -> Result<Option<JobId>, JobsError> {
        let reply: String = self
            .scripts
            .requeue
            .arg(&self.config.prefix)
            .arg(entry)
            .arg(now_ms())
            .invoke(&mut self.con)?;
        Ok(JobId::parse(&reply).ok())
    }
}

/// Entries of an XRANGE or XREAD reply as (id, fields).
fn stream_entries(reply: &Value) -> Vec<(String, HashMap<String, String>)> {
    fn text(v: &Value) -> Option<String> {
        match v {
            Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn entries(list: &[Value], out: &mut Vec<(String, HashMap<String, String>)>) {
        for e in list {
            if let Value::Array(pair) = e {
                if let (Some(id), Some(Value::Array(kv))) =
                    (pair.first().and_then(text), pair.get(1))
                {
                    let map = kv
                        .chunks(2)
                        .filter_map(|c| Some((text(c.first()?)?, text(c.get(1)?)?)))
                        .collect();
                    out.push((id, map));
                }
            }
        }
    }
    let mut out = Vec::new();
    match reply {
        // XRANGE: [[id, [k, v, ...]], ...]: an entry's second element holds strings, where
        // XREAD's (below) holds entries. (A stream name may contain '-' like an id does.)
        Value::Array(list)
            if list.first().is_some_and(|e| {
                matches!(e, Value::Array(p)
                    if matches!(p.get(1), Some(Value::Array(kv)) if kv.first().is_some_and(|x| text(x).is_some())))
            }) =>
        {
            entries(list, &mut out)
        }
        // XREAD: [[stream, [[id, [k, v]], ...]], ...] (RESP2) or a map (RESP3).
        Value::Array(streams) => {
            for s in streams {
                if let Value::Array(pair) = s {
                    if let Some(Value::Array(list)) = pair.get(1) {
                        entries(list, &mut out);
                    }
                }
            }
        }
        Value::Map(streams) => {
            for (_, v) in streams {
                if let Value::Array(list) = v {
                    entries(list, &mut out);
                }
            }
        }
        _ => {}
    }
    out
}

fn parse_event(f: &HashMap<String, String>) -> Option<JobEvent> {
    let job = JobId::parse(f.get("job")?).ok()?;
    let user = UserId::parse(f.get("user")?).ok()?;
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let text = |k: &str| f.get(k).cloned().unwrap_or_default();
    Some(match f.get("kind")?.as_str() {
        "queued" => JobEvent::Queued {
            job,
            user,
            position: num("position") as u64,
        },
        "started" => JobEvent::Started {
            job,
            user,
            worker: text("worker"),
            attempt: num("attempt") as u32,
        },
        "progress" => JobEvent::Progress {
            job,
            user,
            stage: text("stage"),
            percent: num("percent") as u8,
        },
        "retrying" => JobEvent::Retrying {
            job,
            user,
            attempt: num("attempt") as u32,
            reason: text("reason"),
            retry_in_s: num("retry_in_s"),
        },
        "done" => JobEvent::Done {
            job,
            user,
            result: text("result"),
        },
        "failed" => JobEvent::Failed {
            job,
            user,
            reason: text("reason"),
        },
        "cancelled" => JobEvent::Cancelled { job, user },
        _ => return None,
    })
}
