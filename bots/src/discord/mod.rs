//! The Discord adapter (serenity): the platform's limits (2,000-character messages, the
//! upload limit each guild allows, the edit pace), the loop's calls with its rules (an
//! interaction answered in place while its token lives, then through its channel; mentions
//! never pinged, since user text is echoed back; buttons for cancel and the voice menu), in
//! `rest` the calls themselves, in `commands` the slash commands, and in `events` the gateway
//! client that turns messages and interactions into messages for the loop.

mod commands;
mod events;
mod rest;

pub use events::listen;

use crate::error::BotError;
use crate::platform::{split_text, upload_time, Control, Incoming, Platform};
use rest::{json, Rest, CALL_TIMEOUT};
use serde_json::{json, Value};
use serenity::builder::CreateAttachment;
use serenity::http::{LightMethod, Multipart, MultipartUpload, Request, Route};
use serenity::model::id::{ApplicationId, ChannelId, GuildId, InteractionId, MessageId, UserId};
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest message.
pub const MAX_TEXT: usize = 2000;
/// What a bot may upload where the guild allows no more (10 MiB).
pub const DEFAULT_UPLOAD_LIMIT: u64 = 10 * 1024 * 1024;
/// Edits of one channel: five per five seconds.
pub const EDIT_PACE: Duration = Duration::from_secs(1);
/// An interaction's token answers for 15 minutes; after a little less, the channel does.
const INTERACTION_LIFE: Duration = Duration::from_secs(14 * 60);
/// Rows of components on a message, and options in a select menu.
const MAX_ROWS: usize = 5;
const MAX_OPTIONS: usize = 25;
/// The message flag of an answer only its asker sees.
const EPHEMERAL: u64 = 1 << 6;

/// How the adapter is set up.
#[derive(Clone)]
pub struct Settings {
    pub token: String,
    /// Another server than discord.com (a local one, or a test fake).
    pub api_url: Option<String>,
    /// Slash commands registered in this guild only (at once), else globally.
    pub guild: Option<u64>,
    /// The privileged MESSAGE_CONTENT intent is granted: replies to the bot are read too.
    pub message_content: bool,
    /// The voices offered in `/voice` and the voice menu, in this order (the first 25: the
    /// recommended ones first), each shown with its accent and gender.
    pub voices: Vec<spinbot_core::VoiceEntry>,
}

/// An interaction that can still be answered through its token.
#[derive(Clone)]
struct Interaction {
    application: ApplicationId,
    token: String,
    since: Instant,
    ephemeral: bool,
}

impl Interaction {
    fn alive(&self) -> bool {
        self.since.elapsed() < INTERACTION_LIFE
    }
}

/// A message sent through an interaction: edited through its token while that lives.
#[derive(Clone)]
struct Answered {
    interaction: Interaction,
    /// The interaction's original response (else a follow-up).
    original: bool,
}

/// The bot's user and application, from READY.
/// The token is never shown.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("token", &"[redacted]")
            .field("api_url", &self.api_url)
            .field("guild", &self.guild)
            .field("message_content", &self.message_content)
            .field("voices", &self.voices.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct Me {
    user: UserId,
    application: ApplicationId,
}

/// Discord's REST API, as the conversation loop calls it.
pub struct Discord {
    rest: Rest,
    settings: Settings,
    me: Mutex<Option<Me>>,
    /// Interactions deferred, by interaction id, while their tokens live; and whether their
    /// original response was sent (later answers are follow-ups).
    pending: Mutex<HashMap<String, (Interaction, bool)>>,
    /// Messages sent through interactions, by message id.
    answered: Mutex<HashMap<String, Answered>>,
    /// Upload limits of channels, as their interactions tell.
    upload_limits: Mutex<HashMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A snowflake from its text.
fn snowflake<T: From<NonZeroU64>>(what: &str, raw: &str) -> Result<T, BotError> {
    raw.parse::<NonZeroU64>()
        .map(T::from)
        .map_err(|_| BotError::Config(format!("not a Discord {what}: {raw}")))
}

/// The message's id in a message object.
fn message_id(message: &Value) -> Result<String, BotError> {
    message
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| BotError::Platform {
            platform: "discord",
            message: "a message came back without an id".into(),
        })
}

/// At most [`MAX_TEXT`] characters.
fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(MAX_TEXT - 1).collect();
    clipped.push('…');
    clipped
}

/// Nothing the bot sends pings anyone: user text is echoed back.
fn no_mentions() -> Value {
    json!({"parse": []})
}

impl Discord {
    pub fn new(settings: Settings) -> Result<Self, BotError> {
        Ok(Self {
            rest: Rest::new(&settings.token, settings.api_url.as_deref())?,
            settings,
            me: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            answered: Mutex::new(HashMap::new()),
            upload_limits: Mutex::new(HashMap::new()),
        })
    }

    fn me(&self) -> Option<Me> {
        *lock(&self.me)
    }

    /// Remembers who the bot is (from READY); true the first time.
    fn set_me(&self, me: Me) -> bool {
        lock(&self.me).replace(me).is_none()
    }

    /// The bot's own user, checking the token (an error names it when Discord refuses it).
    async fn current_user(&self) -> Result<UserId, BotError> {
        let user = self
            .rest
            .call(Request::new(Route::UserMe, LightMethod::Get), CALL_TIMEOUT)
            .await?;
        let id = user.get("id").and_then(Value::as_str).unwrap_or_default();
        snowflake("user", id)
    }

    /// Replaces the bot's slash commands (in the configured guild, else everywhere).
    async fn register_commands(&self, application: ApplicationId) -> Result<(), BotError> {
        let body = commands::definitions(&self.settings.voices);
        let route = match self.settings.guild.and_then(NonZeroU64::new) {
            Some(guild) => Route::GuildCommands {
                application_id: application,
                guild_id: GuildId::from(guild),
            },
            None => Route::Commands {
                application_id: application,
            },
        };
        self.rest
            .call(json(route, LightMethod::Put, &body), CALL_TIMEOUT)
            .await?;
        Ok(())
    }

    /// The interaction callback that must come first and within three seconds: "thinking",
    /// seen by the asker only when `ephemeral`. The interaction is then answered in place.
    async fn defer(
        &self,
        id: InteractionId,
        application: ApplicationId,
        token: &str,
        ephemeral: bool,
    ) -> Result<(), BotError> {
        let mut body = json!({"type": 5});
        if ephemeral {
            body["data"] = json!({"flags": EPHEMERAL});
        }
        let route = Route::InteractionResponse {
            interaction_id: id,
            token,
        };
        self.rest
            .call(json(route, LightMethod::Post, &body), CALL_TIMEOUT)
            .await?;
        let mut pending = lock(&self.pending);
        pending.retain(|_, (i, _)| i.alive());
        pending.insert(
            id.to_string(),
            (
                Interaction {
                    application,
                    token: token.to_owned(),
                    since: Instant::now(),
                    ephemeral,
                },
                false,
            ),
        );
        Ok(())
    }

    /// What `channel` takes from the bot, as an interaction in it said.
    fn learn_upload_limit(&self, channel: &str, bytes: u64) {
        if bytes > 0 {
            let mut limits = lock(&self.upload_limits);
            if limits.len() > 100_000 {
                limits.clear();
            }
            limits.insert(channel.to_owned(), bytes);
        }
    }

    /// "The bot is typing…" in `channel`, while a message is being handled.
    async fn typing(&self, channel: &str) -> Result<(), BotError> {
        let channel_id: ChannelId = snowflake("channel", channel)?;
        let request = Request::new(Route::ChannelTyping { channel_id }, LightMethod::Post);
        self.rest.call(request, CALL_TIMEOUT).await?;
        Ok(())
    }

    /// Message components for `controls`.
    fn components(&self, controls: &[Control]) -> Value {
        let rows: Vec<Value> = controls
            .iter()
            .map(|control| match control {
                Control::PickVoice => {
                    let options: Vec<Value> = self
                        .settings
                        .voices
                        .iter()
                        .take(MAX_OPTIONS)
                        .map(|v| json!({"label": v.describe(), "value": v.name}))
                        .collect();
                    json!({"type": 1, "components": [
                        {"type": 3, "custom_id": control.id(), "placeholder": control.label(), "options": options}
                    ]})
                }
                // A red button.
                Control::Cancel(_) | Control::Confirm => json!({"type": 1, "components": [
                    {"type": 2, "style": 4, "label": control.label(), "custom_id": control.id()}
                ]}),
            })
            .take(MAX_ROWS)
            .collect();
        Value::Array(rows)
    }

    /// Answers `incoming` with `text` split into messages, `components` on the last; the
    /// last message's id.
    async fn answer_with(
        &self,
        incoming: &Incoming,
        text: &str,
        components: Value,
    ) -> Result<String, BotError> {
        let pieces = split_text(text, MAX_TEXT);
        let answering = incoming.answering.as_deref().unwrap_or_default();
        // The interaction, and whether its original response is still to be sent.
        let interaction = answering.strip_prefix("i:").and_then(|id| {
            let mut pending = lock(&self.pending);
            let (it, sent) = pending.get_mut(id).filter(|(it, _)| it.alive())?;
            let first = !*sent;
            *sent = true;
            Some((it.clone(), first))
        });
        let last = pieces.len() - 1;
        let mut id = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            let mut body = json!({"content": piece, "allowed_mentions": no_mentions()});
            if i == last {
                body["components"] = components.clone();
            }
            let (request, answered) = match &interaction {
                Some((it, true)) if i == 0 => (
                    json(
                        Route::WebhookOriginalInteractionResponse {
                            application_id: it.application,
                            token: &it.token,
                        },
                        LightMethod::Patch,
                        &body,
                    ),
                    Some(Answered {
                        interaction: it.clone(),
                        original: true,
                    }),
                ),
                Some((it, _)) => {
                    if it.ephemeral {
                        body["flags"] = json!(EPHEMERAL);
                    }
                    (
                        json(
                            Route::WebhookFollowupMessages {
                                application_id: it.application,
                                token: &it.token,
                            },
                            LightMethod::Post,
                            &body,
                        ),
                        Some(Answered {
                            interaction: it.clone(),
                            original: false,
                        }),
                    )
                }
                None => {
                    if i == 0 {
                        if let Some(message) = answering.strip_prefix("m:") {
                            body["message_reference"] =
                                json!({"message_id": message, "fail_if_not_exists": false});
                        }
                    }
                    let channel_id: ChannelId = snowflake("channel", &incoming.chat)?;
                    let route = Route::ChannelMessages { channel_id };
                    (json(route, LightMethod::Post, &body), None)
                }
            };
            id = message_id(&self.rest.call(request, CALL_TIMEOUT).await?)?;
            if let Some(answered) = answered {
                let mut all = lock(&self.answered);
                all.retain(|_, a| a.interaction.alive());
                all.insert(id.clone(), answered);
            }
        }
        Ok(id)
    }

    /// The interaction `message` was sent through, while its token lives.
    fn answered(&self, message: &str) -> Option<Answered> {
        lock(&self.answered)
            .get(message)
            .filter(|a| a.interaction.alive())
            .cloned()
    }
}

impl Platform for Discord {
    const NAME: &'static str = "discord";

    fn upload_limit(&self, chat: &str) -> u64 {
        lock(&self.upload_limits)
            .get(chat)
            .copied()
            .unwrap_or(DEFAULT_UPLOAD_LIMIT)
    }

    fn upload_time(&self, bytes: u64) -> Duration {
        upload_time(bytes)
    }

    fn edit_pace(&self, _chat: &str) -> Duration {
        EDIT_PACE
    }

    async fn send_text(&self, chat: &str, text: &str) -> Result<String, BotError> {
        let channel_id: ChannelId = snowflake("channel", chat)?;
        let mut last = String::new();
        for piece in split_text(text, MAX_TEXT) {
            let body = json!({"content": piece, "allowed_mentions": no_mentions()});
            let request = json(
                Route::ChannelMessages { channel_id },
                LightMethod::Post,
                &body,
            );
            last = message_id(&self.rest.call(request, CALL_TIMEOUT).await?)?;
        }
        Ok(last)
    }

    async fn answer(
        &self,
        incoming: &Incoming,
        text: &str,
        controls: &[Control],
    ) -> Result<String, BotError> {
        self.answer_with(incoming, text, self.components(controls))
            .await
    }

    async fn edit_status(
        &self,
        chat: &str,
        message: &str,
        text: &str,
        controls: &[Control],
    ) -> Result<(), BotError> {
        let body = json!({
            "content": clip(text),
            "components": self.components(controls),
            "allowed_mentions": no_mentions(),
        });
        let message_id: MessageId = snowflake("message", message)?;
        if let Some(answered) = self.answered(message) {
            let it = &answered.interaction;
            let route = if answered.original {
                Route::WebhookOriginalInteractionResponse {
                    application_id: it.application,
                    token: &it.token,
                }
            } else {
                Route::WebhookFollowupMessage {
                    application_id: it.application,
                    token: &it.token,
                    message_id,
                }
            };
            match self
                .rest
                .call(json(route, LightMethod::Patch, &body), CALL_TIMEOUT)
                .await
            {
                // The token ended early: the channel may still take it.
                Err(BotError::MessageGone) => {
                    lock(&self.answered).remove(message);
                }
                other => return other.map(|_| ()),
            }
        }
        let channel_id: ChannelId = snowflake("channel", chat)?;
        let route = Route::ChannelMessage {
            channel_id,
            message_id,
        };
        self.rest
            .call(json(route, LightMethod::Patch, &body), CALL_TIMEOUT)
            .await?;
        Ok(())
    }

    async fn send_video(
        &self,
        chat: &str,
        status: Option<&str>,
        path: &Path,
        caption: &str,
    ) -> Result<String, BotError> {
        let bytes = tokio::fs::read(path).await?;
        let size = bytes.len() as u64;
        let mut payload = json!({
            "content": clip(caption),
            "attachments": [{"id": 0, "filename": "video.mp4"}],
            "allowed_mentions": no_mentions(),
        });
        let answered = status.and_then(|s| self.answered(s));
        let route = match &answered {
            // A follow-up of the interaction that asked for it.
            Some(answered) => Route::WebhookFollowupMessages {
                application_id: answered.interaction.application,
                token: &answered.interaction.token,
            },
            None => {
                if let Some(status) = status {
                    payload["message_reference"] =
                        json!({"message_id": status, "fail_if_not_exists": false});
                }
                Route::ChannelMessages {
                    channel_id: snowflake("channel", chat)?,
                }
            }
        };
        let request = Request::new(route, LightMethod::Post).multipart(Some(Multipart {
            upload: MultipartUpload::Attachments(vec![CreateAttachment::bytes(bytes, "video.mp4")]),
            fields: vec![],
            payload_json: Some(payload.to_string()),
        }));
        let sent = self.rest.call(request, upload_time(size)).await?;
        message_id(&sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_never_show_the_token() {
        let settings = Settings {
            token: "MTIz.secret-token".into(),
            api_url: None,
            guild: None,
            message_content: false,
            voices: Vec::new(),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn texts_are_clipped_to_what_discord_takes() {
        assert_eq!(clip("hi"), "hi");
        let long = "x".repeat(MAX_TEXT + 5);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), MAX_TEXT);
        assert!(clipped.ends_with('…'));
    }

    #[test]
    fn controls_become_a_cancel_button_and_a_voice_menu() {
        let discord = Discord::new(Settings {
            token: "x.y.z".into(),
            api_url: Some("http://127.0.0.1:9".into()),
            guild: None,
            message_content: false,
            voices: (0..30)
                .map(|i| spinbot_core::VoiceEntry {
                    name: format!("voice-{i}"),
                    language: "en-US".into(),
                    accent: "American".into(),
                    gender: "female".into(),
                    recommended: false,
                    timbre: None,
                })
                .collect(),
        })
        .expect("adapter");
        let job = spinbot_core::JobId::new();
        let rows = discord.components(&[Control::Cancel(job.clone()), Control::PickVoice]);
        assert_eq!(
            rows[0]["components"][0]["custom_id"],
            format!("cancel:{job}")
        );
        assert_eq!(rows[1]["components"][0]["type"], 3);
        let options = rows[1]["components"][0]["options"]
            .as_array()
            .expect("options");
        assert_eq!(options.len(), MAX_OPTIONS);
        assert_eq!(options[0]["label"], "voice-0 (American woman)");
        assert_eq!(options[0]["value"], "voice-0");
        assert_eq!(discord.components(&[]), json!([]));
    }
}
