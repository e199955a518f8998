//! What the agent remembers of each person between messages, in Redis (so any bot process
//! can take the next message): the latest photo and voice note they sent, the photo and
//! voice note in use, their chosen voice, a script waiting for "go", and their jobs.

use crate::error::AgentError;
use redis::{Commands, Connection};
use spinbot_core::UserId;
use std::collections::HashMap;

/// Forgotten after this long without a message (30 days).
const KEEP_S: i64 = 30 * 24 * 3600;

/// One person's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub latest_photo: Option<String>,
    pub latest_voice_note: Option<String>,
    /// The photo their videos use.
    pub photo: Option<String>,
    /// The voice note the next video speaks.
    pub voice_note: Option<String>,
    pub voice: Option<String>,
    /// A script shown to them, rendered on "go".
    pub pending_text: Option<String>,
    pub last_job: Option<String>,
}

/// A field of [`State`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    LatestPhoto,
    LatestVoiceNote,
    Photo,
    VoiceNote,
    Voice,
    PendingText,
    LastJob,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::LatestPhoto => "latest_photo",
            Field::LatestVoiceNote => "latest_voice_note",
            Field::Photo => "photo",
            Field::VoiceNote => "voice_note",
            Field::Voice => "voice",
            Field::PendingText => "pending_text",
            Field::LastJob => "last_job",
        }
    }
}

/// The conversations, on one Redis connection.
pub struct Conversations {
    con: Connection,
    prefix: String,
}

impl Conversations {
    pub fn connect(redis_url: &str, prefix: &str) -> Result<Self, AgentError> {
        let con = redis::Client::open(redis_url)?.get_connection()?;
        Ok(Self {
            con,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, user: &UserId) -> String {
        format!("{}:conv:{}", self.prefix, user.as_str())
    }

    fn jobs_key(&self, user: &UserId) -> String {
        format!("{}:conv:{}:jobs", self.prefix, user.as_str())
    }

    pub fn load(&mut self, user: &UserId) -> Result<State, AgentError> {
        let mut fields: HashMap<String, String> = self.con.hgetall(self.key(user))?;
        let mut take = |f: Field| fields.remove(f.name()).filter(|v| !v.is_empty());
        Ok(State {
            latest_photo: take(Field::LatestPhoto),
            latest_voice_note: take(Field::LatestVoiceNote),
            photo: take(Field::Photo),
            voice_note: take(Field::VoiceNote),
            voice: take(Field::Voice),
            pending_text: take(Field::PendingText),
            last_job: take(Field::LastJob),
        })
    }

    /// Sets (or with `None` clears) fields, in one step.
    pub fn set(
        &mut self,
        user: &UserId,
        changes: &[(Field, Option<&str>)],
    ) -> Result<(), AgentError> {
        let key = self.key(user);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (field, value) in changes {
            match value {
                Some(v) => pipe.hset(&key, field.name(), *v).ignore(),
                None => pipe.hdel(&key, field.name()).ignore(),
            };
        }
        pipe.expire(&key, KEEP_S).ignore();
        pipe.query::<()>(&mut self.con)?;
        Ok(())
    }

    /// Notes a job the agent started for `user`; it becomes their latest.
    pub fn add_job(&mut self, user: &UserId, job: &str) -> Result<(), AgentError> {
        let jobs = self.jobs_key(user);
        let key = self.key(user);
        redis::pipe()
            .atomic()
            .sadd(&jobs, job)
            .ignore()
            .expire(&jobs, KEEP_S)
            .ignore()
            .hset(&key, Field::LastJob.name(), job)
            .ignore()
            .expire(&key, KEEP_S)
            .ignore()
            .query::<()>(&mut self.con)?;
        Ok(())
    }

    /// The jobs the agent started for `user`.
    pub fn jobs(&mut self, user: &UserId) -> Result<Vec<String>, AgentError> {
        Ok(self.con.smembers(self.jobs_key(user))?)
    }

    /// Forgets everything about `user`.
    pub fn forget(&mut self, user: &UserId) -> Result<(), AgentError> {
        let _: u32 = self.con.del(&[self.key(user), self.jobs_key(user)])?;
        Ok(())
    }
}
