//! The Telegram adapter (teloxide): the Bot API's limits, the loop's calls with its rules (a
//! "not modified" edit is fine, flood waits are reported, network errors never carry the
//! token), and in `updates` the dispatcher that turns updates into messages for the loop.

mod updates;

pub use updates::listen;

use crate::error::BotError;
use crate::platform::Platform;
use spinbot_core::limits::TELEGRAM_UPLOAD_BYTES;
use std::path::Path;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{InputFile, MessageId};
use teloxide::{ApiError, RequestError};

/// What bots may download from Telegram (20 MB).
pub const DOWNLOAD_LIMIT: u32 = 20 * 1_000_000;
/// Edits of one private chat: about one message a second.
pub const PRIVATE_EDIT_PACE: Duration = Duration::from_secs(1);
/// Edits of one group: 20 messages a minute.
pub const GROUP_EDIT_PACE: Duration = Duration::from_secs(3);
/// Bytes per second an upload is given at least, on top of [`UPLOAD_GRACE`], before it is
/// given up (1 MB/s: a 50 MB video gets 60 s).
const UPLOAD_RATE: u64 = 1_000_000;
const UPLOAD_GRACE: Duration = Duration::from_secs(10);

/// The Bot API, as the conversation loop calls it.
pub struct Telegram {
    bot: Bot,
}

impl Telegram {
    /// A bot for `token`, talking to `api_url` (the real API when `None`).
    pub fn new(token: &str, api_url: Option<&str>) -> Result<Self, BotError> {
        // Uploads of big videos take longer than teloxide's default request timeout.
        let client = teloxide::net::default_reqwest_settings()
            .timeout(UPLOAD_GRACE + Duration::from_secs(TELEGRAM_UPLOAD_BYTES / UPLOAD_RATE))
            .build()
            .map_err(|e| BotError::Config(format!("HTTP client: {e}")))?;
        let mut bot = Bot::with_client(token, client);
        if let Some(url) = api_url {
            let url = url
                .parse()
                .map_err(|e| BotError::Config(format!("TELEGRAM_API_URL: {e}")))?;
            bot = bot.set_api_url(url);
        }
        Ok(Self { bot })
    }

    pub fn bot(&self) -> &Bot {
        &self.bot
    }
}

fn chat_id(chat: &str) -> Result<ChatId, BotError> {
    chat.parse()
        .map(ChatId)
        .map_err(|_| BotError::Config(format!("not a Telegram chat: {chat}")))
}

pub(crate) fn api_error(e: RequestError) -> BotError {
    match e {
        RequestError::RetryAfter(wait) => BotError::RetryAfter(wait.duration()),
        // The token is in the request URL: never let a network error's text carry it.
        RequestError::Network(_) => BotError::Platform {
            platform: "telegram",
            message: "can't reach the Bot API".into(),
        },
        other => BotError::Platform {
            platform: "telegram",
            message: other.to_string(),
        },
    }
}

impl Platform for Telegram {
    const NAME: &'static str = "telegram";

    fn upload_limit(&self) -> u64 {
        TELEGRAM_UPLOAD_BYTES
    }

    fn edit_pace(&self, chat: &str) -> Duration {
        // Groups and channels have negative ids.
        if chat.starts_with('-') {
            GROUP_EDIT_PACE
        } else {
            PRIVATE_EDIT_PACE
        }
    }

    async fn send_text(&self, chat: &str, text: &str) -> Result<String, BotError> {
        let sent = self
            .bot
            .send_message(chat_id(chat)?, text)
            .await
            .map_err(api_error)?;
        Ok(sent.id.0.to_string())
    }

    async fn edit_text(&self, chat: &str, message: &str, text: &str) -> Result<(), BotError> {
        let id = message
            .parse()
            .map(MessageId)
            .map_err(|_| BotError::Config(format!("not a message id: {message}")))?;
        match self.bot.edit_message_text(chat_id(chat)?, id, text).await {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn send_video(&self, chat: &str, path: &Path, caption: &str) -> Result<String, BotError> {
        let sent = self
            .bot
            .send_video(chat_id(chat)?, InputFile::file(path))
            .caption(caption)
            .supports_streaming(true)
            .await
            .map_err(api_error)?;
        Ok(sent.id.0.to_string())
    }
}
