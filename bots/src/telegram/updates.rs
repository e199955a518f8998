//! Telegram updates through teloxide's dispatcher: its long-polling listener (webhook
//! deleted at start, messages and callback queries asked for, exponential back-off while the
//! Bot API is away) and its per-chat workers (a chat's messages in order, bounded queues,
//! idle workers dropped). Each message the bot should answer (private chats; in groups, when
//! mentioned or replied to) becomes an [`Incoming`]; its file is downloaded only once the
//! loop's cheap checks let it through. The sender is the chat a message was sent as when
//! there is one (an anonymous group admin, a post sent as a channel): `from` is then one of
//! Telegram's shared bot accounts, the same in every group.

use super::{api_error, Telegram, DOWNLOAD_LIMIT};
use crate::conversation::Conversation;
use crate::error::BotError;
use crate::platform::{FileKind, Incoming, IncomingFile};
use spinbot_core::UserId;
use spinbot_jobs::retry::Backoff;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use teloxide::dispatching::{Dispatcher, UpdateFilterExt};
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, FileMeta, Me};
use teloxide::update_listeners::Polling;
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

/// Seconds a `getUpdates` call waits for news.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);
/// Updates waiting per chat before the listener waits for that chat.
const CHAT_QUEUE: usize = 16;

type Shared = Arc<Conversation<Telegram>>;

/// Answers updates until `stop`, then finishes the messages it took. A token Telegram
/// refuses is an error; a Bot API out of reach is waited for.
pub async fn listen(
    telegram: Arc<Telegram>,
    conversation: Shared,
    stop: CancellationToken,
) -> Result<(), BotError> {
    let bot = telegram.bot().clone();
    // The dispatcher asks for `getMe` itself, but gives up at once when it fails.
    let mut backoff = Backoff::default();
    loop {
        match bot.get_me().await {
            Ok(me) => {
                tracing::info!(bot = ?me.username, "polling Telegram");
                break;
            }
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                return Err(BotError::Config(
                    "Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather.".into(),
                ))
            }
            Err(e) => {
                tracing::warn!(error = %api_error(e), "the Bot API is out of reach; waiting");
                if !backoff.wait(&stop).await {
                    return Ok(());
                }
            }
        }
    }
    let listener = Polling::builder(bot.clone())
        .timeout(POLL_TIMEOUT)
        .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
        .delete_webhook()
        .await
        .build();
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback));
    let mut dispatcher = Dispatcher::builder(bot, handler)
        .dependencies(dptree::deps![conversation])
        .default_handler(|_| async {})
        .worker_queue_size(CHAT_QUEUE)
        .build();
    let token = dispatcher.shutdown_token();
    tokio::spawn(async move {
        stop.cancelled().await;
        // The dispatcher may not be running yet; ask until it is.
        loop {
            match token.shutdown() {
                Ok(done) => {
                    done.await;
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    dispatcher
        .try_dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("Telegram updates"),
        )
        .await
        .map_err(api_error)
}

/// A message: answered when it is for the bot.
async fn on_message(
    bot: Bot,
    me: Me,
    message: Message,
    conversation: Shared,
) -> Result<(), BotError> {
    if !for_me(&message, &me) {
        return Ok(());
    }
    let username = me.username.clone().unwrap_or_default();
    let Some(mut incoming) = incoming(&message, &username) else {
        return Ok(());
    };
    if !conversation.admit(&incoming).await {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    take_file(&bot, &message, &mut incoming, dir.path()).await;
    conversation.respond(&incoming).await;
    Ok(())
}

/// A button press: acknowledged at once, then answered as the action it means (typed,
/// never read as text), for the person who pressed it.
async fn on_callback(bot: Bot, query: CallbackQuery, conversation: Shared) -> Result<(), BotError> {
    bot.answer_callback_query(query.id.clone())
        .await
        .map_err(api_error)?;
    let (Some(message), Some(data)) = (&query.message, &query.data) else {
        return Ok(());
    };
    let Some(pressed) = crate::platform::pressed(data, &[]) else {
        return Ok(());
    };
    let Ok(user) = UserId::parse(&format!("telegram:{}", query.from.id.0)) else {
        return Ok(());
    };
    conversation
        .handle(Incoming {
            user,
            chat: message.chat().id.0.to_string(),
            text: String::new(),
            files: Vec::new(),
            refusal: None,
            answering: None,
            awaited: false,
            network: None,
            pressed: Some(pressed),
        })
        .await;
    Ok(())
}

/// Private chats always; groups when the bot is mentioned, addressed by a command, or
/// replied to.
fn for_me(message: &Message, me: &Me) -> bool {
    if message.chat.is_private() {
        return true;
    }
    let username = me.username.clone().unwrap_or_default();
    let text = message.text().or(message.caption()).unwrap_or_default();
    let mention = format!("@{username}");
    (!username.is_empty() && text.contains(&mention))
        || message
            .reply_to_message()
            .and_then(|m| m.from.as_ref())
            .is_some_and(|from| from.id == me.id)
}

/// Who sent `message`: the chat it was sent as, when it was (an anonymous admin is their
/// group, a post sent as a channel is that channel), else the person.
fn sender(message: &Message) -> Option<UserId> {
    let id = match &message.sender_chat {
        Some(chat) => chat.id.0.to_string(),
        None => message.from.as_ref()?.id.0.to_string(),
    };
    UserId::parse(&format!("telegram:{id}")).ok()
}

/// The message as the loop takes it, its file not yet downloaded.
fn incoming(message: &Message, username: &str) -> Option<Incoming> {
    let user = sender(message)?;
    let mut text = message
        .text()
        .or(message.caption())
        .unwrap_or_default()
        .to_owned();
    if !username.is_empty() {
        text = text.replace(&format!("@{username}"), "").trim().to_owned();
    }
    Some(Incoming {
        user,
        chat: message.chat.id.0.to_string(),
        text,
        files: Vec::new(),
        refusal: None,
        answering: None,
        awaited: false,
        network: None,
        pressed: None,
    })
}

/// Downloads the message's file into `dir` for `incoming`, or says why not.
async fn take_file(bot: &Bot, message: &Message, incoming: &mut Incoming, dir: &Path) {
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
            return;
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
