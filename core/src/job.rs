//! Jobs as every process sees them: ids, users, the job record itself, its states, and the
//! events a job emits.

use crate::input::InputError;
use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A job's id: 32 lowercase hex digits (random), safe in keys, paths and URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

/// How many characters of a job id people see in chat ("3f2a9c1d is done").
pub const SHORT_ID_CHARS: usize = 8;

impl JobId {
    /// The id as people see it in chat: its first [`SHORT_ID_CHARS`] characters.
    pub fn short(&self) -> &str {
        self.0.get(..SHORT_ID_CHARS).unwrap_or(&self.0)
    }

    /// A fresh random id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let ok = raw.len() == 32
            && raw
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InputError::Option(format!(
                "\"{}\" is not a job id.",
                raw.chars().take(40).collect::<String>()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for JobId {
    type Error = InputError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<JobId> for String {
    fn from(value: JobId) -> Self {
        value.0
    }
}

/// A user: `namespace:id` (`telegram:12345`, `discord:67890`, `web:<uuid>`, `cli:<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        // Each part becomes a folder name of the user's uploads: never "." or "..".
        let valid_part = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && s.chars().any(|c| c != '.')
        };
        match raw.split_once(':') {
            Some((ns, id)) if valid_part(ns, 16) && valid_part(id, 64) => Ok(Self(raw.to_owned())),
            _ => Err(InputError::Option(
                "A user is namespace:id, like telegram:12345 or cli:anna.".to_owned(),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The platform part (`telegram`) and the id within it (`12345`).
    pub fn parts(&self) -> (&str, &str) {
        self.0.split_once(':').unwrap_or((&self.0, ""))
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UserId {
    type Error = InputError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserId> for String {
    fn from(value: UserId) -> Self {
        value.0
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Done, failed or cancelled: nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }
}

/// Which workers may take a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobClass {
    /// Any worker.
    Any,
    /// Only a worker with a GPU.
    Gpu,
}

impl JobClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Gpu => "gpu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "any" => Some(Self::Any),
            "gpu" => Some(Self::Gpu),
            _ => None,
        }
    }
}

/// Where a job's progress and video go: a chat of a platform, and the message that shows the
/// job's status once it is sent. Recorded with the job when it is submitted, so a finished job
/// always finds its chat, even when the answer never went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// `telegram`, `discord`, `web`.
    pub platform: String,
    pub chat: String,
    /// The status message, once it exists.
    pub message: Option<String>,
}

/// A job as the job plane keeps it (one Redis hash; the field names are this struct's).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub user: UserId,
    pub plan: Plan,
    pub state: JobState,
    pub class: JobClass,
    /// Attempts started so far.
    pub attempts: u32,
    /// When it was submitted, started (the latest attempt) and ended (ms since the epoch).
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub finished_ms: Option<u64>,
    /// The running stage and its percent.
    pub stage: String,
    pub percent: u8,
    /// The worker that holds it, and the work-stream entry that is its lease.
    pub worker: Option<String>,
    pub lease: Option<String>,
    /// Its owner asked to stop it while it ran.
    pub cancel: bool,
    /// The result's object key when done.
    pub result: Option<String>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// How many times each stage really ran (not resumed from a stored output).
    pub runs: BTreeMap<String, u32>,
    /// Where its progress and video go, when a chat asked for it.
    pub reply: Option<ReplyTo>,
}

/// A job record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job {job}: {problem}")]
pub struct JobRecordError {
    pub job: String,
    pub problem: String,
}

impl Job {
    /// The job from its hash's fields.
    pub fn from_fields(
        id: &JobId,
        fields: &HashMap<String, String>,
    ) -> Result<Self, JobRecordError> {
        let problem = |problem: &str| JobRecordError {
            job: id.to_string(),
            problem: problem.to_owned(),
        };
        let text = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
        let number = |k: &str| fields.get(k).and_then(|v| v.parse::<u64>().ok());
        let user = text("user")
            .and_then(|u| UserId::parse(&u).ok())
            .ok_or_else(|| problem("no user"))?;
        let plan = serde_json::from_str(fields.get("plan").map_or("", String::as_str))
            .map_err(|e| problem(&format!("plan: {e}")))?;
        let state = text("state")
            .and_then(|s| JobState::parse(&s))
            .ok_or_else(|| problem("no state"))?;
        let class = text("class")
            .and_then(|c| JobClass::parse(&c))
            .unwrap_or(JobClass::Any);
        Ok(Self {
            id: id.clone(),
            user,
            plan,
            state,
            class,
            attempts: number("attempts").unwrap_or(0) as u32,
            created_ms: number("created_ms").unwrap_or(0),
            started_ms: number("started_ms"),
            finished_ms: number("finished_ms"),
            stage: text("stage").unwrap_or_default(),
            percent: number("percent").unwrap_or(0).min(100) as u8,
            worker: text("worker"),
            lease: text("lease"),
            cancel: fields.get("cancel").is_some_and(|c| c == "1"),
            result: text("result"),
            error: text("error"),
            runs: fields
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("runs:")?.to_owned(), v.parse().ok()?)))
                .collect(),
            reply: match (text("reply_platform"), text("reply_chat")) {
                (Some(platform), Some(chat)) => Some(ReplyTo {
                    platform,
                    chat,
                    message: text("reply_message"),
                }),
                _ => None,
            },
        })
    }
}

/// What happened to a job, as the job plane announces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobEvent {
    Queued {
        job: JobId,
        user: UserId,
        position: u64,
    },
    Started {
        job: JobId,
        user: UserId,
        worker: String,
        attempt: u32,
    },
    Progress {
        job: JobId,
        user: UserId,
        stage: String,
        percent: u8,
    },
    Retrying {
        job: JobId,
        user: UserId,
        attempt: u32,
        reason: String,
        retry_in_s: f64,
    },
    Done {
        job: JobId,
        user: UserId,
        result: String,
    },
    Failed {
        job: JobId,
        user: UserId,
        reason: String,
    },
    Cancelled {
        job: JobId,
        user: UserId,
    },
    /// The video was posted into a chat (`message` is the platform's id of it).
    Delivered {
        job: JobId,
        user: UserId,
        platform: String,
        chat: String,
        message: String,
    },
}

impl JobEvent {
    pub fn user(&self) -> &UserId {
        match self {
            Self::Queued { user, .. }
            | Self::Started { user, .. }
            | Self::Progress { user, .. }
            | Self::Retrying { user, .. }
            | Self::Done { user, .. }
            | Self::Failed { user, .. }
            | Self::Cancelled { user, .. }
            | Self::Delivered { user, .. } => user,
        }
    }

    /// The job's last event: done, failed or cancelled.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Done { .. } | Self::Failed { .. } | Self::Cancelled { .. }
        )
    }

    /// The event's kind, as it is tagged in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Queued { .. } => "queued",
            Self::Started { .. } => "started",
            Self::Progress { .. } => "progress",
            Self::Retrying { .. } => "retrying",
            Self::Done { .. } => "done",
            Self::Failed { .. } => "failed",
            Self::Delivered { .. } => "delivered",
            Self::Cancelled { .. } => "cancelled",
        }
    }

    pub fn job(&self) -> &JobId {
        match self {
            Self::Queued { job, .. }
            | Self::Started { job, .. }
            | Self::Progress { job, .. }
            | Self::Retrying { job, .. }
            | Self::Done { job, .. }
            | Self::Failed { job, .. }
            | Self::Cancelled { job, .. }
            | Self::Delivered { job, .. } => job,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_strictly() {
        let id = JobId::new();
        assert_eq!(JobId::parse(id.as_str()), Ok(id));
        assert!(JobId::parse("../../etc").is_err());
        assert!(JobId::parse(&"A".repeat(32)).is_err());
        assert!(UserId::parse("telegram:12345").is_ok());
        assert!(UserId::parse("cli:anna").is_ok());
        for bad in [
            "", "anna", ":x", "x:", "a:b:c", "web:a b", "web:*", "cli:..", "..:x",
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_round_trip_as_json() {
        let e = JobEvent::Done {
            job: JobId::new(),
            user: UserId::parse("cli:a").expect("user"),
            result: "x".into(),
        };
        let text = serde_json::to_string(&e).expect("json");
        assert!(text.contains("\"kind\":\"done\""));
        assert_eq!(serde_json::from_str::<JobEvent>(&text).expect("back"), e);
    }
}
