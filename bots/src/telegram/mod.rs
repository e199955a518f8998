//! The Telegram adapter (teloxide): the Bot API's limits, the loop's calls with its rules (a
//! "not modified" edit is fine, flood waits are reported, network errors never carry the
//! token; controls as inline buttons), and in `updates` the dispatcher that turns updates
//! (messages, button presses) into messages for the loop.

mod updates;

pub use updates::listen;

use crate::error::BotError;
use crate::platform::{split_text, upload_time, Control, Incoming, Platform};
use std::path::Path;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId};
use teloxide::{ApiError, RequestError};

/// The largest file a bot may upload (50 MB).
pub const UPLOAD_LIMIT: u64 = 50 * 1_000_000;
/// The longest text message.
pub const MAX_TEXT: usize = 4096;
/// What bots may download from Telegram (20 MB).
pub const DOWNLOAD_LIMIT: u32 = 20 * 1_000_000;
/// Edits of one private chat: about one message a second.
pub const PRIVATE_EDIT_PACE: Duration = Duration::from_secs(1);
/// Edits of one group: 20 messages a minute.
pub const GROUP_EDIT_PACE: Duration = Duration::from_secs(3);
/// Every other call: teloxide's own timeout (long polls take 10 s of it).
const CALL_TIMEOUT: Duration = Duration::from_secs(17);

/// The Bot API, as the conversation loop calls it.
pub struct Telegram {
    bot: Bot,
    /// The same bot on a client whose timeout fits the biggest upload; each upload gets a
    /// timeout sized to its file.
    uploads: Bot,
}

impl Telegram {
    /// A bot for `token`, talking to `api_url` (the real API when `None`).
    pub fn new(token: &str, api_url: Option<&str>) -> Result<Self, BotError> {
        let bot_on = |timeout: Duration| -> Result<Bot, BotError> {
            let client = teloxide::net::default_reqwest_settings()
                .timeout(timeout)
                .build()
                .map_err(|e| BotError::Config(format!("HTTP client: {e}")))?;
            let bot = Bot::with_client(token, client);
            Ok(match api_url {
                Some(url) => bot.set_api_url(
                    url.parse()
                        .map_err(|e| BotError::Config(format!("TELEGRAM_API_URL: {e}")))?,
                ),
                None => bot,
            })
        };
        Ok(Self {
            bot: bot_on(CALL_TIMEOUT)?,
            uploads: bot_on(upload_time(UPLOAD_LIMIT) + Duration::from_secs(30))?,
        })
    }

    pub fn bot(&self) -> &Bot {
        &self.bot
    }
}

/// Inline buttons for `controls` (the voice menu stays a text list here); none for none.
fn keyboard(controls: &[Control]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = controls
        .iter()
        .filter(|c| !matches!(c, Control::PickVoice))
        .map(|c| vec![InlineKeyboardButton::callback(c.label(), c.id())])
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
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

    fn upload_limit(&self, _chat: &str) -> u64 {
        UPLOAD_LIMIT
    }

    fn upload_time(&self, bytes: u64) -> Duration {
        upload_time(bytes)
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
        let mut last = String::new();
        for piece in split_text(text, MAX_TEXT) {
            let sent = self
                .bot
                .send_message(chat_id(chat)?, piece)
                .await
                .map_err(api_error)?;
            last = sent.id.0.to_string();
        }
        Ok(last)
    }

    /// A new message in the chat, the buttons under its last piece.
    async fn answer(
        &self,
        incoming: &Incoming,
        text: &str,
        controls: &[Control],
    ) -> Result<String, BotError> {
        let Some(buttons) = keyboard(controls) else {
            return self.send_text(&incoming.chat, text).await;
        };
        let mut pieces = split_text(text, MAX_TEXT);
        let last = pieces.pop().unwrap_or_default();
        for piece in pieces {
            self.send_text(&incoming.chat, &piece).await?;
        }
        let sent = self
            .bot
            .send_message(chat_id(&incoming.chat)?, last)
            .reply_markup(buttons)
            .await
            .map_err(api_error)?;
        Ok(sent.id.0.to_string())
    }

    async fn edit_status(
        &self,
        chat: &str,
        message: &str,
        text: &str,
        controls: &[Control],
    ) -> Result<(), BotError> {
        let id = message
            .parse()
            .map(MessageId)
            .map_err(|_| BotError::Config(format!("not a message id: {message}")))?;
        let text: String = text.chars().take(MAX_TEXT).collect();
        // Without a keyboard, the edit takes the buttons away.
        let mut edit = self.bot.edit_message_text(chat_id(chat)?, id, text);
        if let Some(buttons) = keyboard(controls) {
            edit = edit.reply_markup(buttons);
        }
        match edit.await {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(RequestError::Api(
                ApiError::MessageToEditNotFound | ApiError::MessageCantBeEdited,
            )) => Err(BotError::MessageGone),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn send_video(
        &self,
        chat: &str,
        _status: Option<&str>,
        path: &Path,
        caption: &str,
    ) -> Result<String, BotError> {
        let bytes = tokio::fs::metadata(path).await?.len();
        let upload = self
            .uploads
            .send_video(chat_id(chat)?, InputFile::file(path))
            .caption(caption)
            .supports_streaming(true);
        let sent = tokio::time::timeout(upload_time(bytes), upload)
            .await
            .map_err(|_| BotError::Platform {
                platform: "telegram",
                message: format!("an upload of {bytes} bytes took too long"),
            })?
            .map_err(api_error)?;
        Ok(sent.id.0.to_string())
    }
}
