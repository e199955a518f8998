//! Jobs as every process sees them: ids, users, states, and the events a job emits.

use crate::input::InputError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A job's id: 32 lowercase hex digits (random), safe in keys, paths and URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

impl JobId {
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
        let valid_part = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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
}

impl JobEvent {
    pub fn job(&self) -> &JobId {
        match self {
            Self::Queued { job, .. }
            | Self::Started { job, .. }
            | Self::Progress { job, .. }
            | Self::Retrying { job, .. }
            | Self::Done { job, .. }
            | Self::Failed { job, .. }
            | Self::Cancelled { job, .. } => job,
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
        for bad in ["", "anna", ":x", "x:", "a:b:c", "web:a b", "web:*"] {
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
