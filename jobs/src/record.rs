//! The lasting record in Postgres (sqlx, queries checked at run time so the build needs no
//! database): the migrations, job events written in batches (a replay writes nothing twice),
//! the history a user sees, avatars, voices, deliveries and retention marks.

use crate::error::JobsError;
use serde::Serialize;
use spinbot_core::config::SecretUrl;
use spinbot_core::{JobEvent, JobId, UserId};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

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

/// The columns of a history row, from `jobs`.
const HISTORY: &str = "SELECT id AS job_id, state, result_key AS result, reason, attempts,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,
    to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at
    FROM jobs";

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

/// The Postgres record: a pool that connects when first used and again after an outage.
#[derive(Clone)]
pub struct Record {
    pool: PgPool,
}

impl Record {
    /// A handle that connects when first used (so Postgres may be down now).
    pub fn connect(database_url: &SecretUrl) -> Result<Self, JobsError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy(database_url.expose())?;
        Ok(Self { pool })
    }

    pub async fn migrate(&self) -> Result<(), JobsError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Writes a batch of events (stream id, event) in one transaction; events already
    /// recorded are skipped, and a job's row only moves forward in time.
    pub async fn write_events(&self, events: &[(String, JobEvent)]) -> Result<(), JobsError> {
        let mut tx = self.pool.begin().await?;
        for (stream_id, event) in events {
            let millis: i64 = stream_id
                .split('-')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            let at = millis as f64 / 1000.0;
            let (job, user) = (event.job().as_str(), event.user().as_str());
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
            let kind = event.kind();
            sqlx::query(
                "INSERT INTO job_events (stream_id, job_id, kind, event, at)
                     VALUES ($1, $2, $3, $4, to_timestamp($5)) ON CONFLICT DO NOTHING",
            )
            .bind(stream_id)
            .bind(job)
            .bind(kind)
            .bind(json)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if let JobEvent::Delivered {
                platform,
                chat,
                message,
                ..
            } = event
            {
                sqlx::query(
                    "INSERT INTO deliveries (job_id, platform, chat_id, message_id) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING",
                )
                .bind(job)
                .bind(platform)
                .bind(chat)
                .bind(message)
                .execute(&mut *tx)
                .await?;
            }
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
    }

    /// The user's jobs, newest first.
    pub async fn history(&self, user: &UserId) -> Result<Vec<HistoryRow>, JobsError> {
        Ok(sqlx::query_as::<_, HistoryRow>(&format!(
            "{HISTORY} WHERE user_id = $1 ORDER BY jobs.created_at DESC, id"
        ))
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// One of the user's jobs (another user's is not found).
    pub async fn job(&self, user: &UserId, job: &JobId) -> Result<Option<HistoryRow>, JobsError> {
        Ok(
            sqlx::query_as::<_, HistoryRow>(&format!("{HISTORY} WHERE user_id = $1 AND id = $2"))
                .bind(user.as_str())
                .bind(job.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records a photo a user chose as their avatar.
    pub async fn save_avatar(&self, user: &UserId, object_key: &str) -> Result<(), JobsError> {
        let mut tx = self.pool.begin().await?;
        ensure_user(&mut tx, user).await?;
        sqlx::query("INSERT INTO avatars (user_id, object_key) VALUES ($1, $2)")
            .bind(user.as_str())
            .bind(object_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a voice a user chose, or a voice note of theirs (`object_key`).
    pub async fn save_voice(
        &self,
        user: &UserId,
        name: &str,
        object_key: Option<&str>,
    ) -> Result<(), JobsError> {
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
    }

    /// The object keys of a user's avatars and voice notes.
    pub async fn user_files(&self, user: &UserId) -> Result<Vec<String>, JobsError> {
        Ok(sqlx::query_scalar(
            "SELECT object_key FROM avatars WHERE user_id = $1
                 UNION SELECT object_key FROM voices WHERE user_id = $1 AND object_key IS NOT NULL",
        )
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes everything recorded of a user (their jobs, events, artifacts, deliveries,
    /// avatars and voices go with them); returns whether there was anything.
    pub async fn forget_user(&self, user: &UserId) -> Result<bool, JobsError> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records that these objects were deleted (retention).
    pub async fn mark_deleted(&self, keys: &[String]) -> Result<(), JobsError> {
        sqlx::query("UPDATE artifacts SET deleted_at = now() WHERE object_key = ANY($1) AND deleted_at IS NULL")
                .bind(keys)
                .execute(&self.pool)
                .await?;
        Ok(())
    }

    /// How many events the record holds.
    pub async fn events_count(&self) -> Result<i64, JobsError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM job_events")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Rows in each of the record's tables (`spinbot bench load` counts what a job costs).
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>, JobsError> {
        const TABLES: [&str; 7] = [
            "users",
            "avatars",
            "voices",
            "jobs",
            "job_events",
            "artifacts",
            "deliveries",
        ];
        let mut counts = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await?;
            counts.push((table, n));
        }
        Ok(counts)
    }

    /// A job's recorded events as (stream id, kind), in order.
    pub async fn events_of(&self, job: &str) -> Result<Vec<(String, String)>, JobsError> {
        Ok(sqlx::query_as(
                "SELECT stream_id, kind FROM job_events WHERE job_id = $1
                 ORDER BY split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint",
            )
            .bind(job)
            .fetch_all(&self.pool)
            .await?)
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
        JobEvent::Delivered { .. } => (None, None, None, None),
    }
}
