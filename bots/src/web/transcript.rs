//! A web chat's transcript: what was said, edited and sent in it, kept as a Redis stream per
//! user (capped), so the page shows it again after a reload, any web process can follow it,
//! and forgetting the user removes it. Every append wakes this process's followers.

use crate::error::BotError;
use crate::platform::{pressed, Control};
use redis::aio::ConnectionManager;
use redis::streams::{StreamMaxlen, StreamRangeReply};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use spinbot_core::UserId;
use spinbot_jobs::keys::Keys;
use std::sync::Arc;
use tokio::sync::Notify;

/// Entries kept per chat.
const KEEP: usize = 1000;

/// One entry: a message (from the user or the bot), or an edit of a bot's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `message` or `edit`.
    pub kind: String,
    /// The message an edit changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `you` or `bot`.
    pub from: String,
    pub text: String,
    /// What came with a user's message (`photo`, `voice note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<Button>,
    /// Where the page gets the video a message carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<String>,
}

/// A control as the page shows it: a button that sends `words`, or the voice menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    /// `button` or `voices`.
    pub kind: String,
    pub label: String,
    pub words: String,
}

impl Button {
    pub fn of(control: &Control) -> Self {
        let kind = match control {
            Control::PickVoice => "voices",
            _ => "button",
        };
        Self {
            kind: kind.to_owned(),
            label: control.label().to_owned(),
            words: pressed(&control.id(), &[]).unwrap_or_default(),
        }
    }
}

impl Entry {
    /// A message from the bot.
    pub fn bot(text: &str, controls: &[Control]) -> Self {
        Self {
            kind: "message".into(),
            message: None,
            from: "bot".into(),
            text: text.to_owned(),
            attachment: None,
            controls: controls.iter().map(Button::of).collect(),
            video: None,
        }
    }

    /// A message from the user.
    pub fn user(text: &str, attachment: Option<&str>) -> Self {
        Self {
            from: "you".into(),
            attachment: attachment.map(str::to_owned),
            ..Self::bot(text, &[])
        }
    }

    /// An edit of the bot's message `message`.
    pub fn edit(message: &str, text: &str, controls: &[Control]) -> Self {
        Self {
            kind: "edit".into(),
            message: Some(message.to_owned()),
            ..Self::bot(text, controls)
        }
    }
}

/// An entry with its id in the stream (which is also the id of the message it is).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Numbered {
    pub id: String,
    #[serde(flatten)]
    pub entry: Entry,
}

#[derive(Clone)]
pub struct Transcripts {
    con: ConnectionManager,
    keys: Keys,
    appended: Arc<Notify>,
}

impl Transcripts {
    pub fn new(con: ConnectionManager, keys: Keys) -> Self {
        Self {
            con,
            keys,
            appended: Arc::new(Notify::new()),
        }
    }

    /// Adds `entry` to `user`'s transcript; its id.
    pub async fn append(&self, user: &UserId, entry: &Entry) -> Result<String, BotError> {
        let json = serde_json::to_string(entry).map_err(|e| BotError::Config(e.to_string()))?;
        let id: String = self
            .con
            .clone()
            .xadd_maxlen(
                self.keys.transcript(user),
                StreamMaxlen::Approx(KEEP),
                "*",
                &[("entry", json)],
            )
            .await?;
        self.appended.notify_waiters();
        Ok(id)
    }

    /// Up to `count` entries after `after` (from the start without it), oldest first.
    pub async fn after(
        &self,
        user: &UserId,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Numbered>, BotError> {
        let start = match after {
            Some(id) if valid_id(id) => format!("({id}"),
            _ => "-".to_owned(),
        };
        let reply: StreamRangeReply = self
            .con
            .clone()
            .xrange_count(self.keys.transcript(user), start, "+", count)
            .await?;
        Ok(numbered(reply))
    }

    /// The last `count` entries, oldest first.
    pub async fn last(&self, user: &UserId, count: usize) -> Result<Vec<Numbered>, BotError> {
        let reply: StreamRangeReply = self
            .con
            .clone()
            .xrevrange_count(self.keys.transcript(user), "+", "-", count)
            .await?;
        let mut entries = numbered(reply);
        entries.reverse();
        Ok(entries)
    }

    /// Resolves when something is next appended here. Made (and enabled) before a read, it
    /// also sees an append that lands between the read and the wait.
    pub fn appended(&self) -> tokio::sync::futures::Notified<'_> {
        self.appended.notified()
    }
}

/// The entries of a range's reply (one that does not parse is skipped).
fn numbered(reply: StreamRangeReply) -> Vec<Numbered> {
    reply
        .ids
        .into_iter()
        .filter_map(|item| {
            let json: String = item.get("entry")?;
            let entry = serde_json::from_str(&json).ok()?;
            Some(Numbered { id: item.id, entry })
        })
        .collect()
}

/// A stream id: `milliseconds-sequence`.
pub fn valid_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.len() <= 20
            && seq.len() <= 20
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}
