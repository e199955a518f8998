//! What the agent remembers of each person between messages, in Redis (so any bot process
//! can take the next message): the latest photo and voice note they sent, the photo and
//! voice note in use, their chosen voice, a script waiting for "go", and their latest job;
//! and the question waiting for their answer (an action asked about first: forgetting them
//! waits for a yes, a first video for the choice of a voice), which expires and is asked
//! once: whatever they say next answers it.
//! (Forgetting a user removes it with everything else of theirs: `Queue::forget_user`.)

use crate::action::Action;
use crate::error::AgentError;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use spinbot_core::UserId;
use spinbot_jobs::Keys;
use std::collections::HashMap;

/// Forgotten after this long without a message (30 days).
const KEEP_S: i64 = 30 * 24 * 3600;
/// How long a question waits for its answer (5 minutes).
pub const QUESTION_S: u64 = 300;

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
    /// Set once they have been asked which voice to use (they are not asked again).
    pub voice_asked: bool,
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
    VoiceAsked,
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
            Field::VoiceAsked => "voice_asked",
        }
    }
}

/// A question waiting for a user's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "question", content = "action", rename_all = "snake_case")]
pub enum Question {
    /// The action is carried out on a yes.
    Confirm(Action),
    /// The video (a render) is made once a voice is chosen, or with the default voice on a
    /// yes or "go".
    Voice(Action),
}

impl Question {
    /// What was asked, in a few words (for the model that hears the answer).
    pub fn asked(&self) -> &'static str {
        match self {
            Question::Confirm(Action::ForgetMe { .. }) => {
                "whether to delete everything kept about them, for good (a yes deletes it)"
            }
            Question::Confirm(_) => "whether to go ahead (a yes does it)",
            Question::Voice(_) => {
                "which voice should speak the video they asked for (a voice's name or a \
                 description chooses it; a yes or \"go\" makes it with the default voice)"
            }
        }
    }
}

/// The conversations, on the job plane's Redis connection.
#[derive(Clone)]
pub struct Conversations {
    con: ConnectionManager,
    keys: Keys,
}

impl Conversations {
    pub fn new(con: ConnectionManager, keys: Keys) -> Self {
        Self { con, keys }
    }

    pub async fn load(&self, user: &UserId) -> Result<State, AgentError> {
        let mut fields: HashMap<String, String> = self
            .con
            .clone()
            .hgetall(self.keys.conversation(user))
            .await?;
        let mut take = |f: Field| fields.remove(f.name()).filter(|v| !v.is_empty());
        Ok(State {
            latest_photo: take(Field::LatestPhoto),
            latest_voice_note: take(Field::LatestVoiceNote),
            photo: take(Field::Photo),
            voice_note: take(Field::VoiceNote),
            voice: take(Field::Voice),
            pending_text: take(Field::PendingText),
            last_job: take(Field::LastJob),
            voice_asked: take(Field::VoiceAsked).is_some(),
        })
    }

    /// Sets (or with `None` clears) fields, in one step.
    pub async fn set(
        &self,
        user: &UserId,
        changes: &[(Field, Option<&str>)],
    ) -> Result<(), AgentError> {
        let key = self.keys.conversation(user);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (field, value) in changes {
            match value {
                Some(v) => pipe.hset(&key, field.name(), *v).ignore(),
                None => pipe.hdel(&key, field.name()).ignore(),
            };
        }
        pipe.expire(&key, KEEP_S).ignore();
        pipe.exec_async(&mut self.con.clone()).await?;
        Ok(())
    }

    /// Takes a field's value and clears it, in one step: of two processes taking it at once,
    /// one gets it.
    pub async fn take(&self, user: &UserId, field: Field) -> Result<Option<String>, AgentError> {
        let key = self.keys.conversation(user);
        let (value, _): (Option<String>, i64) = redis::pipe()
            .atomic()
            .hget(&key, field.name())
            .hdel(&key, field.name())
            .query_async(&mut self.con.clone())
            .await?;
        Ok(value.filter(|v| !v.is_empty()))
    }

    /// Asks `user` `question`: their next message, within [`QUESTION_S`], answers it.
    /// Replaces an earlier question.
    pub async fn ask(&self, user: &UserId, question: &Question) -> Result<(), AgentError> {
        let json = serde_json::to_string(question)?;
        let _: () = self
            .con
            .clone()
            .set_ex(self.keys.question(user), json, QUESTION_S)
            .await?;
        Ok(())
    }

    /// Takes the question waiting for `user`'s answer, if any (each is answered once, by
    /// whichever bot process takes their next message).
    pub async fn take_question(&self, user: &UserId) -> Result<Option<Question>, AgentError> {
        let raw: Option<String> = redis::cmd("GETDEL")
            .arg(self.keys.question(user))
            .query_async(&mut self.con.clone())
            .await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }
}
