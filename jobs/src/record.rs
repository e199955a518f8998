//! The lasting record in Postgres (sqlx, queries checked at run time so the build needs no
//! database): the migrations, the recorder that copies job events from the Redis stream into
//! Postgres and acknowledges only what is committed (so an outage delays the record, never a
//! render, and a replay writes nothing twice), and the history a user sees.

use crate::error::JobsError;
use crate::queue::Queue;
use crate::runtime::BlockingRuntime;
use serde::Serialize;
use spinbot_core::{JobEvent, UserId};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The consumer group of recorders on the events stream.
pub const RECORDER_GROUP: &str = "recorder";

impl From<sqlx::Error> for JobsError {
    fn from(e: sqlx::Error) -> Self {
        JobsError::Record(format!("postgres: {e}"))
    }
}

impl From<sqlx::migrate::MigrateError> for JobsError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        JobsError::Record(format!("migrations: {e}"))
    }
}

/// One of a user's jobs, as `spinbot history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub job_id: String,
    pub state: String,
    pub result: Option<String>,
    pub reason: Option<String>,
    pub attempts: i32,
    pub created_at: String,
    pub updated_at: String,
    /// A download link for the result, where the store gives one (filled in by the caller).
    #[sqlx(skip)]
    pub link: Option<String>,
}

/// A blocking handle on the Postgres record.
pub struct Record {
    pool: PgPool,
    runtime: BlockingRuntime,
}

impl Record {
    /// A handle that connects when first used (so Postgres may be down now).
    pub fn connect(database_url: &str) -> Result<Self, JobsError> {
        let runtime =
            BlockingRuntime::new().map_err(|e| JobsError::Record(format!("runtime: {e}")))?;
        let pool = {
            let _guard = runtime.enter();
            PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(3))
                .connect_lazy(database_url)?
        };
        Ok(Self { pool, runtime })
    }

    pub fn migrate(&self) -> Result<(), JobsError> {
        self.runtime.block_on(MIGRATOR.run(&self.pool))?;
        Ok(())
    }

    /// Writes a batch of events (stream id, event) in one transaction; events already
    /// recorded are skipped, and a job's row only moves forward in time.
    pub fn write_events(&self, events: &[(String, JobEvent)]) -> Result<(), JobsError> {
        self.runtime.block_on(async {
            let mut tx = self.pool.begin().await?;
            for (stream_id, event) in events {
                let millis: i64 = stream_id.split('-').next().and_then(|m| m.parse().ok()).unwrap_or(0);
                let at = millis as f64 / 1000.0;
                let (job, user) = event_ids(event);
                let (state, result, reason, attempts) = event_effect(event);
                sqlx::query("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING")
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO jobs (id, user_id, state, result_key, reason, attempts, created_at, updated_at)
                     VALUES ($1, $2, COALESCE($3, 'queued'), $4, $5, COALESCE($6, 0), to_timestamp($7), to_timestamp($7))
                     ON CONFLICT (id) DO UPDATE SET
                       state = COALESCE($3, jobs.state),
                       result_key = COALESCE($4, jobs.result_key),
                       reason = COALESCE($5, jobs.reason),
                       attempts = GREATEST(jobs.attempts, COALESCE($6, 0)),
                       updated_at = GREATEST(jobs.updated_at, to_timestamp($7))
                     WHERE $3 IS NULL OR jobs.updated_at <= to_timestamp($7)",
                )
                .bind(job)
                .bind(user)
                .bind(state)
                .bind(result)
                .bind(reason)
                .bind(attempts)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let json = serde_json::to_value(event).map_err(|e| JobsError::Record(e.to_string()))?;
                let kind = json.get("kind").and_then(|k| k.as_str()).unwrap_or("").to_owned();
                sqlx::query(
                    "INSERT INTO job_events (stream_id, job_id, kind, event, at)
                     VALUES ($1, $2, $3, $4, to_timestamp($5)) ON CONFLICT (stream_id) DO NOTHING",
                )
                .bind(stream_id)
                .bind(job)
                .bind(kind)
                .bind(json)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if let JobEvent::Done { result, .. } = event {
                    sqlx::query("INSERT INTO artifacts (job_id, object_key) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(job)
                        .bind(result)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The user's jobs, newest first.
    pub fn history(&self, user: &UserId) -> Result<Vec<HistoryRow>, JobsError> {
        self.runtime.block_on(async {
            Ok(sqlx::query_as::<_, HistoryRow>(
                "SELECT id AS job_id, state, result_key AS result, reason, attempts,
                        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,
                        to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at
                 FROM jobs WHERE user_id = $1 ORDER BY jobs.created_at DESC, id",
            )
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await?)
        })
    }

    /// Records a photo a user chose as their avatar.
    pub fn save_avatar(&self, user: &UserId, object_key: &str) -> Result<(), JobsError> {
        self.runtime.block_on(async {
            let mut tx = self.pool.begin().await?;
            ensure_user(&mut tx, user).await?;
            sqlx::query("INSERT INTO avatars (user_id, object_key) VALUES ($1, $2)")
                .bind(user.as_str())
                .bind(object_key)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Records a voice a user chose, or a voice note of theirs (`object_key`).
    pub fn save_voice(
        &self,
        user: &UserId,
        name: &str,
        object_key: Option<&str>,
    ) -> Result<(), JobsError> {
        self.runtime.block_on(async {
            let mut tx = self.pool.begin().await?;
            ensure_user(&mut tx, user).await?;
            sqlx::query("INSERT INTO voices (user_id, name, object_key) VALUES ($1, $2, $3)")
                .bind(user.as_str())
                .bind(name)
                .bind(object_key)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The object keys of a user's avatars and voice notes.
    pub fn user_files(&self, user: &UserId) -> Result<Vec<String>, JobsError> {
        self.runtime.block_on(async {
            Ok(sqlx::query_scalar(
                "SELECT object_key FROM avatars WHERE user_id = $1
                 UNION SELECT object_key FROM voices WHERE user_id = $1 AND object_key IS NOT NULL",
            )
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await?)
        })
    }

    /// Deletes everything recorded of a user (their jobs, events, artifacts, deliveries,
    /// avatars and voices go with them); returns whether there was anything.
    pub fn forget_user(&self, user: &UserId) -> Result<bool, JobsError> {
        self.runtime.block_on(async {
            let done = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(user.as_str())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Records that a job's video was posted into a chat (once per job and chat).
    pub fn record_delivery(
        &self,
        job: &str,
        platform: &str,
        chat: &str,
        message: &str,
    ) -> Result<(), JobsError> {
        self.runtime.block_on(async {
            sqlx::query(
                "INSERT INTO deliveries (job_id, platform, chat_id, message_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(job)
            .bind(platform)
            .bind(chat)
            .bind(message)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    /// Records that these objects were deleted (retention).
    pub fn mark_deleted(&self, keys: &[String]) -> Result<(), JobsError> {
        self.runtime.block_on(async {
            sqlx::query("UPDATE artifacts SET deleted_at = now() WHERE object_key = ANY($1) AND deleted_at IS NULL")
                .bind(keys)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    /// A job's recorded events as (stream id, kind), in order.
    pub fn events_of(&self, job: &str) -> Result<Vec<(String, String)>, JobsError> {
        self.runtime.block_on(async {
            Ok(sqlx::query_as(
                "SELECT stream_id, kind FROM job_events WHERE job_id = $1
                 ORDER BY split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint",
            )
            .bind(job)
            .fetch_all(&self.pool)
            .await?)
        })
    }
}

async fn ensure_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user: &UserId,
) -> Result<(), JobsError> {
    sqlx::query("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(user.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn event_ids(event: &JobEvent) -> (&str, &str) {
    match event {
        JobEvent::Queued { job, user, .. }
        | JobEvent::Started { job, user, .. }
        | JobEvent::Progress { job, user, .. }
        | JobEvent::Retrying { job, user, .. }
        | JobEvent::Done { job, user, .. }
        | JobEvent::Failed { job, user, .. }
        | JobEvent::Cancelled { job, user } => (job.as_str(), user.as_str()),
    }
}

/// What an event changes in the job's row: (state, result, reason, attempts).
fn event_effect(
    event: &JobEvent,
) -> (
    Option<&'static str>,
    Option<&str>,
    Option<&str>,
    Option<i32>,
) {
    match event {
        JobEvent::Queued { .. } => (Some("queued"), None, None, None),
        JobEvent::Started { attempt, .. } => (Some("running"), None, None, Some(*attempt as i32)),
        JobEvent::Progress { .. } => (None, None, None, None),
        JobEvent::Retrying { reason, .. } => (Some("queued"), None, Some(reason.as_str()), None),
        JobEvent::Done { result, .. } => (Some("done"), Some(result.as_str()), None, None),
        JobEvent::Failed { reason, .. } => (Some("failed"), None, Some(reason.as_str()), None),
        JobEvent::Cancelled { .. } => (Some("cancelled"), None, None, None),
    }
}

/// Copies job events into Postgres until `stop` is set: first what this recorder had read
/// but not acknowledged, then new events. While Postgres is away, events wait in Redis.
pub fn run_recorder(
    queue: &mut Queue,
    record: &Record,
    name: &str,
    stop: &AtomicBool,
) -> Result<(), JobsError> {
    while !stop.load(Ordering::Relaxed) {
        match record.migrate() {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, "record not ready; events wait in Redis");
                pause(stop, Duration::from_secs(1));
            }
        }
    }
    let mut backlog = true;
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = record_batch(queue, record, name, &mut backlog, stop) {
            // Redis went away: wait, reconnect and carry on from what is unacknowledged.
            tracing::warn!(error = %e, "recorder lost Redis; retrying");
            pause(stop, Duration::from_secs(1));
            if queue.reconnect().is_ok() {
                backlog = true;
            }
        }
    }
    Ok(())
}

/// Reads one batch (the backlog first), writes it until Postgres takes it, acknowledges it.
fn record_batch(
    queue: &mut Queue,
    record: &Record,
    name: &str,
    backlog: &mut bool,
    stop: &AtomicBool,
) -> Result<(), JobsError> {
    queue.ensure_group("events", RECORDER_GROUP)?;
    let start = if *backlog { "0" } else { ">" };
    let batch = queue.read_group(
        "events",
        RECORDER_GROUP,
        name,
        start,
        200,
        Duration::from_millis(500),
    )?;
    if batch.is_empty() {
        *backlog = false;
        return Ok(());
    }
    loop {
        match record.write_events(&batch) {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, waiting = batch.len(), "postgres unavailable; retrying");
                pause(stop, Duration::from_secs(1));
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
            }
        }
    }
    let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
    queue.ack("events", RECORDER_GROUP, &ids)
}

fn pause(stop: &AtomicBool, total: Duration) {
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        slept += Duration::from_millis(50);
    }
}
