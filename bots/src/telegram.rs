//! The Telegram adapter (teloxide): long-polls updates, turns each message the bot should
//! answer (private chats; in groups, when mentioned or replied to) into an [`Incoming`] with
//! its files downloaded, keeps each chat's messages in order, and carries out the loop's
//! calls with the Bot API's rules (a "not modified" edit is fine, flood waits are reported).

use crate::conversation::Conversation;
use crate::error::BotError;
use crate::platform::{FileKind, Incoming, IncomingFile, Platform};
use spinbot_core::limits::TELEGRAM_UPLOAD_BYTES;
use spinbot_core::UserId;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{FileMeta, InputFile, MessageId, UpdateKind};
use teloxide::{ApiError, RequestError};

/// What bots may download from Telegram (20 MB).
pub const DOWNLOAD_LIMIT: u32 = 20 * 1_000_000;
/// Seconds a `getUpdates` call waits for news.
const POLL_TIMEOUT_S: u32 = 10;

/// The Bot API, as the conversation loop calls it.
pub struct Telegram {
    bot: Bot,
}

impl Telegram {
    /// A bot for `token`, talking to `api_url` (the real API when `None`).
    pub fn new(token: &str, api_url: Option<&str>) -> Result<Self, BotError> {
        let mut bot = Bot::new(token);
        if let Some(url) = api_url {
            let url = url
                .parse()
                .map_err(|e| BotError::Config(format!("TELEGRAM_API_URL: {e}")))?;
            bot = bot.set_api_url(url);
        }
        Ok(Self { bot })
    }
}

fn chat_id(chat: &str) -> Result<ChatId, BotError> {
    chat.parse()
        .map(ChatId)
        .map_err(|_| BotError::Config(format!("not a Telegram chat: {chat}")))
}

fn api_error(e: RequestError) -> BotError {
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

/// Polls updates until `stop`, handing each chat's messages, in order, to `conversation`.
pub async fn run(
    telegram: Arc<Telegram>,
    conversation: Arc<Conversation<Telegram>>,
    stop: Arc<AtomicBool>,
) -> Result<(), BotError> {
    let me = telegram.bot.get_me().await.map_err(api_error)?;
    let username = me.user.username.clone().unwrap_or_default();
    tracing::info!(bot = %username, "polling Telegram");
    let mut offset = 0i32;
    let mut chats: HashMap<i64, tokio::sync::mpsc::UnboundedSender<Message>> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        let updates = match telegram
            .bot
            .get_updates()
            .offset(offset)
            .timeout(POLL_TIMEOUT_S)
            .await
        {
            Ok(updates) => updates,
            Err(e) => {
                let e = api_error(e);
                tracing::warn!(error = %e, "getUpdates failed");
                let wait = match e {
                    BotError::RetryAfter(wait) => wait,
                    _ => Duration::from_secs(1),
                };
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        for update in updates {
            offset = offset.max(update.id.0 as i32 + 1);
            let UpdateKind::Message(message) = update.kind else {
                continue;
            };
            if !for_me(&message, me.user.id, &username) {
                continue;
            }
            let chat = message.chat.id.0;
            let sender = chats.entry(chat).or_insert_with(|| {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
                let (telegram, conversation, username) =
                    (telegram.clone(), conversation.clone(), username.clone());
                tokio::spawn(async move {
                    while let Some(message) = rx.recv().await {
                        let dir = match tempfile::tempdir() {
                            Ok(dir) => dir,
                            Err(e) => {
                                tracing::error!(error = %e, "no temporary folder");
                                continue;
                            }
                        };
                        if let Some(incoming) =
                            incoming(&telegram.bot, &message, &username, dir.path()).await
                        {
                            conversation.handle(incoming).await;
                        }
                    }
                });
                tx
            });
            let _ = sender.send(message);
        }
    }
    Ok(())
}

/// Private chats always; groups when the bot is mentioned, addressed by a command, or
/// replied to.
fn for_me(message: &Message, me: UserId_, username: &str) -> bool {
    if message.chat.is_private() {
        return true;
    }
    let text = message.text().or(message.caption()).unwrap_or_default();
    let mention = format!("@{username}");
    (!username.is_empty() && text.contains(&mention))
        || message
            .reply_to_message()
            .and_then(|m| m.from.as_ref())
            .is_some_and(|from| from.id == me)
}

type UserId_ = teloxide::types::UserId;

/// The message as the loop takes it, with its file downloaded into `dir`.
async fn incoming(bot: &Bot, message: &Message, username: &str, dir: &Path) -> Option<Incoming> {
    let from = message.from.as_ref()?;
    let user = UserId::parse(&format!("telegram:{}", from.id.0)).ok()?;
    let mut text = message
        .text()
        .or(message.caption())
        .unwrap_or_default()
        .to_owned();
    if !username.is_empty() {
        text = text.replace(&format!("@{username}"), "").trim().to_owned();
    }
    let mut incoming = Incoming {
        user,
        chat: message.chat.id.0.to_string(),
        text,
        files: Vec::new(),
        refusal: None,
    };
    let file: Option<(FileKind, &FileMeta)> = if let Some(sizes) = message.photo() {
        // The largest size Telegram lets a bot download.
        sizes
            .iter()
            .filter(|s| s.file.size <= DOWNLOAD_LIMIT)
            .max_by_key(|s| u64::from(s.width) * u64::from(s.height))
            .map(|s| (FileKind::Photo, &s.file))
    } else if let Some(doc) = message.document() {
        let mime = doc
            .mime_type
            .as_ref()
            .map(|m| m.essence_str().to_owned())
            .unwrap_or_default();
        if mime.starts_with("image/") {
            Some((FileKind::Photo, &doc.file))
        } else if mime.starts_with("audio/") {
            Some((FileKind::VoiceNote, &doc.file))
        } else {
            incoming.refusal =
                Some("I can use photos (JPEG, PNG or WebP) and voice notes; not that file.".into());
            None
        }
    } else if let Some(voice) = message.voice() {
        Some((FileKind::VoiceNote, &voice.file))
    } else if let Some(audio) = message.audio() {
        Some((FileKind::VoiceNote, &audio.file))
    } else {
        message
            .video_note()
            .map(|note| (FileKind::VoiceNote, &note.file))
    };
    if message.photo().is_some() && file.is_none() {
        incoming.refusal =
            Some("That photo is too big for me to download (the limit is 20 MB).".into());
    }
    if let Some((kind, meta)) = file {
        if meta.size > DOWNLOAD_LIMIT {
            incoming.refusal =
                Some("That file is too big for me to download (the limit is 20 MB).".into());
            return Some(incoming);
        }
        match download(bot, meta, dir).await {
            Ok(path) => incoming.files.push(IncomingFile { kind, path }),
            Err(e) => {
                tracing::warn!(error = %e, "a download failed");
                incoming.refusal =
                    Some("I couldn't download that file; please send it again.".into());
            }
        }
    }
    Some(incoming)
}

async fn download(bot: &Bot, meta: &FileMeta, dir: &Path) -> Result<std::path::PathBuf, BotError> {
    let file = bot.get_file(meta.id.clone()).await.map_err(api_error)?;
    let path = dir.join("upload");
    let mut out = tokio::fs::File::create(&path).await?;
    bot.download_file(&file.path, &mut out)
        .await
        .map_err(|e| BotError::Platform {
            platform: "telegram",
            message: format!("download: {e}"),
        })?;
    // tokio writes in the background: the last bytes are only on disk after a flush.
    tokio::io::AsyncWriteExt::flush(&mut out).await?;
    Ok(path)
}
