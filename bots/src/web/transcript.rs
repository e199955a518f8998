//! A web chat's transcript: what was said, edited and sent in it, kept as a Redis stream per
//! user (capped, and gone after a month without a message), so the page shows it again after
//! a reload, any web process can follow it, and forgetting the user removes it. Every append
//! is announced on one Redis channel; each process has one subscriber to it (`listen`) that
//! wakes only the open pages of the transcript that grew, so an idle page costs Redis
//! nothing.

use crate::error::BotError;
use crate::platform::Control;
use futures::StreamExt;
use redis::aio::ConnectionManager;
use redis::streams::{StreamMaxlen, StreamRangeReply};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use spinbot_core::limits::ANONYMOUS_KEEP_S;
use spinbot_core::UserId;
use spinbot_jobs::keys::Keys;
use spinbot_jobs::retry::Backoff;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

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

/// A control as the page shows it: a button (pressing it sends its `id`), or the voice menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    /// `button` or `voices`.
    pub kind: String,
    pub label: String,
    pub id: String,
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
            id: control.id(),
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

/// The open pages of this process, by the user whose transcript they follow.
type Followers = Mutex<HashMap<String, Weak<Notify>>>;

#[derive(Clone)]
pub struct Transcripts {
    con: ConnectionManager,
    keys: Keys,
    followers: Arc<Followers>,
}

/// An open page's hold on its transcript's news; it lets go when dropped.
pub struct Follower {
    news: Arc<Notify>,
}

impl Follower {
    /// Resolves when the transcript next grows (or after a reconnection to Redis, when news
    /// may have been missed). Made (and enabled) before a read, it also sees an append that
    /// lands between the read and the wait.
    pub fn news(&self) -> tokio::sync::futures::Notified<'_> {
        self.news.notified()
    }
}

impl Transcripts {
    pub fn new(con: ConnectionManager, keys: Keys) -> Self {
        Self {
            con,
            keys,
            followers: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Adds `entry` to `user`'s transcript (which then lives a month from now) and announces
    /// it; its id.
    pub async fn append(&self, user: &UserId, entry: &Entry) -> Result<String, BotError> {
        let json = serde_json::to_string(entry).map_err(|e| BotError::Config(e.to_string()))?;
        let key = self.keys.transcript(user);
        let (id,): (String,) = redis::pipe()
            .xadd_maxlen(&key, StreamMaxlen::Approx(KEEP), "*", &[("entry", json)])
            .expire(&key, ANONYMOUS_KEEP_S as i64)
            .ignore()
            .publish(self.keys.web_appended(), user.as_str())
            .ignore()
            .query_async(&mut self.con.clone())
            .await?;
        self.wake(user.as_str());
        Ok(id)
    }

    /// Follows `user`'s transcript from an open page.
    pub fn follow(&self, user: &UserId) -> Follower {
        let mut followers = lock(&self.followers);
        if followers.len() > 1024 {
            followers.retain(|_, w| w.strong_count() > 0);
        }
        let news = match followers.get(user.as_str()).and_then(Weak::upgrade) {
            Some(news) => news,
            None => {
                let news = Arc::new(Notify::new());
                followers.insert(user.as_str().to_owned(), Arc::downgrade(&news));
                news
            }
        };
        Follower { news }
    }

    /// Wakes the pages that follow `user`'s transcript.
    fn wake(&self, user: &str) {
        let news = lock(&self.followers).get(user).and_then(Weak::upgrade);
        if let Some(news) = news {
            news.notify_waiters();
        }
    }

    /// Wakes every open page (news may have been missed).
    fn wake_all(&self) {
        let all: Vec<Arc<Notify>> = lock(&self.followers)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for news in all {
            news.notify_waiters();
        }
    }

    /// Hears every process's appends on Redis (`redis_url`) and wakes the pages they
    /// concern, until `stop`; reconnects (with back-off) whenever Redis goes away.
    pub async fn listen(&self, redis_url: &str, stop: CancellationToken) -> Result<(), BotError> {
        let client = redis::Client::open(redis_url)?;
        let channel = self.keys.web_appended();
        let mut backoff = Backoff::default();
        loop {
            let subscribed = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            match subscribed.await {
                Ok(mut pubsub) => {
                    backoff = Backoff::default();
                    // Appends made while no one listened.
                    self.wake_all();
                    let mut messages = pubsub.on_message();
                    loop {
                        tokio::select! {
                            () = stop.cancelled() => return Ok(()),
                            message = messages.next() => match message {
                                Some(message) => {
                                    if let Ok(user) = message.get_payload::<String>() {
                                        self.wake(&user);
                                    }
                                }
                                None => break,
                            },
                        }
                    }
                    tracing::warn!("lost the transcripts' channel; subscribing again");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to the transcripts' channel")
                }
            }
            if !backoff.wait(&stop).await {
                return Ok(());
            }
        }
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
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
