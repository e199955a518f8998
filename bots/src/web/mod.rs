//! The web chat adapter: the chat served by the binary itself (one page and the API under
//! `/api/`, in `server`), each browser a user `web:<id>` named by a signed cookie. What the
//! loop says goes into the user's transcript (`transcript`), which the page reads after a
//! reload and follows live by Server-Sent Events; a video is kept in the object store under
//! the user's uploads (so forgetting them removes it) and served only to them.

mod page;
mod server;
pub mod transcript;

pub use server::listen;

use crate::error::BotError;
use crate::platform::{upload_time, Control, Incoming, Platform};
use spinbot_core::{UserId, VoiceEntry};
use spinbot_jobs::{keys, Queue, Store};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpListener;
use transcript::{Entry, Transcripts};

/// The largest video kept for the page (a render is far smaller).
pub const UPLOAD_LIMIT: u64 = 200 * 1_000_000;
/// A browser takes edits as fast as they come; this keeps a render's progress readable.
const EDIT_PACE: Duration = Duration::from_millis(250);

/// What the web chat needs.
pub struct Settings {
    /// Already bound, so the address is known (and taken) before anything starts.
    pub listener: TcpListener,
    pub queue: Queue,
    pub store: Store,
    /// The voices the menu offers.
    pub voices: Vec<VoiceEntry>,
    /// Redis, for the channel that announces transcript appends (may carry a password).
    pub redis_url: String,
    /// The address browsers use, when set (behind a proxy): the only origin writes may come
    /// from; its cookie is `Secure` when it is https.
    pub public_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the visitor.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// The web chat, as the conversation loop calls it.
pub struct Web {
    listener: Mutex<Option<TcpListener>>,
    queue: Queue,
    store: Store,
    transcripts: Transcripts,
    voices: Vec<VoiceEntry>,
    redis_url: String,
    public_url: Option<String>,
    trusted_proxies: Vec<std::net::IpAddr>,
}

impl Web {
    pub fn new(settings: Settings) -> Self {
        let transcripts =
            Transcripts::new(settings.queue.connection(), settings.queue.keys().clone());
        Self {
            listener: Mutex::new(Some(settings.listener)),
            queue: settings.queue,
            store: settings.store,
            transcripts,
            voices: settings.voices,
            redis_url: settings.redis_url,
            public_url: settings.public_url,
            trusted_proxies: settings.trusted_proxies,
        }
    }

    /// The user a chat is (a web chat is one browser's).
    fn user(chat: &str) -> Result<UserId, BotError> {
        UserId::parse(&format!("web:{chat}"))
            .map_err(|_| BotError::Config(format!("not a web chat: {chat}")))
    }

    /// The store key of a video `name` of `user`'s.
    fn video_key(user: &UserId, name: &str) -> String {
        format!("{}web-video-{name}.mp4", keys::uploads_prefix(user))
    }
}

impl Platform for Web {
    const NAME: &'static str = "web";

    fn upload_limit(&self, _chat: &str) -> u64 {
        UPLOAD_LIMIT
    }

    fn edit_pace(&self, _chat: &str) -> Duration {
        EDIT_PACE
    }

    fn upload_time(&self, bytes: u64) -> Duration {
        upload_time(bytes)
    }

    async fn send_text(&self, chat: &str, text: &str) -> Result<String, BotError> {
        let user = Self::user(chat)?;
        self.transcripts.append(&user, &Entry::bot(text, &[])).await
    }

    async fn answer(
        &self,
        incoming: &Incoming,
        text: &str,
        controls: &[Control],
    ) -> Result<String, BotError> {
        let user = Self::user(&incoming.chat)?;
        self.transcripts
            .append(&user, &Entry::bot(text, controls))
            .await
    }

    async fn edit_status(
        &self,
        chat: &str,
        message: &str,
        text: &str,
        controls: &[Control],
    ) -> Result<(), BotError> {
        if !transcript::valid_id(message) {
            return Err(BotError::MessageGone);
        }
        let user = Self::user(chat)?;
        self.transcripts
            .append(&user, &Entry::edit(message, text, controls))
            .await?;
        Ok(())
    }

    async fn send_video(
        &self,
        chat: &str,
        _status: Option<&str>,
        path: &Path,
        caption: &str,
    ) -> Result<String, BotError> {
        let user = Self::user(chat)?;
        let name = uuid::Uuid::new_v4().simple().to_string();
        self.store
            .put_file(&Self::video_key(&user, &name), path)
            .await?;
        let entry = Entry {
            video: Some(format!("/api/videos/{name}")),
            ..Entry::bot(caption, &[])
        };
        self.transcripts.append(&user, &entry).await
    }
}
