//! Discord's gateway through serenity's client (it identifies, heartbeats, resumes a dropped
//! socket, reconnects): messages for the bot (DMs, mentions, and replies to it when the
//! MESSAGE_CONTENT intent is granted) and interactions (slash commands, buttons, the voice
//! menu) become [`Incoming`] messages for the loop, their attachments checked from what
//! Discord says about them before they are downloaded. An interaction is deferred before
//! anything else is done for it. One person's messages are answered in order; an event seen
//! twice (a resumed session replaying) is answered once.

use super::{commands, Discord, Me};
use crate::conversation::Conversation;
use crate::error::BotError;
use crate::platform::{FileKind, Incoming, IncomingFile};
use serenity::all::{
    Attachment, ClientBuilder, CommandDataOptionValue, CommandInteraction, ComponentInteraction,
    ComponentInteractionDataKind, Context, EventHandler, GatewayIntents, Interaction, Message,
    MessageFlags, Ready,
};
use spinbot_core::limits::{MAX_PHOTO_BYTES, MAX_VOICE_NOTE_BYTES};
use spinbot_core::{InputError, UserId};
use spinbot_jobs::retry::Backoff;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long an attachment download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Events remembered to answer each once.
const SEEN: usize = 4096;

type Shared = Arc<Conversation<Discord>>;

/// Answers Discord's events until `stop`, then finishes the messages it took. A token
/// Discord refuses is an error; Discord out of reach is waited for.
pub async fn listen(
    discord: Arc<Discord>,
    conversation: Shared,
    stop: CancellationToken,
) -> Result<(), BotError> {
    let mut backoff = Backoff::default();
    loop {
        match discord.current_user().await {
            Ok(user) => {
                tracing::info!(%user, "connecting to Discord");
                break;
            }
            Err(e @ BotError::Config(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "Discord is out of reach; waiting");
                if !backoff.wait(&stop).await {
                    return Ok(());
                }
            }
        }
    }
    let settings = discord.settings.clone();
    let mut intents = GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    if settings.message_content {
        intents |= GatewayIntents::MESSAGE_CONTENT;
    }
    let handler = Arc::new(Handler {
        discord,
        conversation,
        tasks: TaskTracker::new(),
        people: Mutex::new(HashMap::new()),
        seen: Mutex::new(Seen::default()),
        // An attachment's URL is Discord's CDN; a redirect elsewhere is not followed.
        downloads: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| BotError::Config(format!("HTTP client: {e}")))?,
    });
    let http = super::rest::http(&settings.token, settings.api_url.as_deref());
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler_arc(handler.clone())
        .await
        .map_err(gateway)?;
    let shards = client.shard_manager.clone();
    let outcome = tokio::select! {
        done = client.start() => done.map_err(gateway),
        () = stop.cancelled() => {
            shards.shutdown_all().await;
            Ok(())
        }
    };
    handler.tasks.close();
    handler.tasks.wait().await;
    outcome
}

fn gateway(e: serenity::Error) -> BotError {
    match e {
        serenity::Error::Gateway(serenity::gateway::GatewayError::InvalidAuthentication) => {
            BotError::Config("Discord refused DISCORD_BOT_TOKEN; check it in the Developer Portal.".into())
        }
        serenity::Error::Gateway(serenity::gateway::GatewayError::DisallowedGatewayIntents) => {
            BotError::Config(
                "Discord refused the MESSAGE_CONTENT intent; enable it in the Developer Portal or unset DISCORD_MESSAGE_CONTENT.".into(),
            )
        }
        e => BotError::Platform {
            platform: "discord",
            message: format!("gateway: {e}"),
        },
    }
}

/// Ids of events answered lately.
#[derive(Default)]
struct Seen {
    ids: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Seen {
    /// True the first time `id` is seen.
    fn first(&mut self, id: u64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

struct Handler {
    discord: Arc<Discord>,
    conversation: Shared,
    tasks: TaskTracker,
    /// One lock per person: their messages answered in order.
    people: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    seen: Mutex<Seen>,
    downloads: reqwest::Client,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let me = Me {
            user: ready.user.id,
            application: ready.application.id,
        };
        if self.discord.set_me(me) {
            match self.discord.register_commands(me.application).await {
                Ok(()) => tracing::info!("slash commands registered"),
                Err(e) => tracing::error!(error = %e, "slash commands were not registered"),
            }
        }
    }

    async fn message(&self, _ctx: Context, message: Message) {
        if !self.first(message.id.get()) {
            return;
        }
        let work = self.on_message(message);
        self.tasks.track_future(work).await;
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        if !self.first(interaction.id().get()) {
            return;
        }
        match interaction {
            Interaction::Command(command) => {
                self.tasks.track_future(self.on_command(command)).await;
            }
            Interaction::Component(component) => {
                self.tasks.track_future(self.on_component(component)).await;
            }
            _ => {}
        }
    }
}

impl Handler {
    fn first(&self, id: u64) -> bool {
        super::lock(&self.seen).first(id)
    }

    /// Waits for the sender's earlier messages to be answered; their next waits while the
    /// guard is held.
    async fn turn(&self, incoming: &Incoming) -> tokio::sync::OwnedMutexGuard<()> {
        let key = incoming.user.to_string();
        let turn = {
            let mut people = super::lock(&self.people);
            people.retain(|_, l| Arc::strong_count(l) > 1);
            people.entry(key).or_default().clone()
        };
        turn.lock_owned().await
    }

    /// Answers `incoming` after the sender's earlier messages.
    async fn answer(&self, incoming: Incoming) {
        let _turn = self.turn(&incoming).await;
        self.conversation.handle(incoming).await;
    }

    async fn on_message(&self, message: Message) {
        let Some(me) = self.discord.me() else {
            return;
        };
        if message.author.bot || !self.for_me(&message, me) {
            return;
        }
        let Ok(user) = UserId::parse(&format!("discord:{}", message.author.id)) else {
            return;
        };
        let channel = message.channel_id.to_string();
        if let Err(e) = self.discord.typing(&channel).await {
            tracing::debug!(error = %e, "typing");
        }
        let text = message
            .content
            .replace(&format!("<@{}>", me.user), "")
            .replace(&format!("<@!{}>", me.user), "")
            .trim()
            .to_owned();
        let mut incoming = Incoming {
            user,
            chat: channel,
            text,
            files: Vec::new(),
            refusal: None,
            answering: Some(format!("m:{}", message.id)),
            awaited: false,
            network: None,
            pressed: None,
        };
        let voice_message = message
            .flags
            .is_some_and(|f| f.contains(MessageFlags::IS_VOICE_MESSAGE));
        let turn = self.turn(&incoming).await;
        if !self.conversation.admit(&incoming).await {
            return;
        }
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => {
                tracing::error!(error = %e, "no room for a download");
                return;
            }
        };
        self.take_files(
            &mut incoming,
            &message.attachments,
            voice_message,
            dir.path(),
        )
        .await;
        self.conversation.respond(&incoming).await;
        drop(turn);
    }

    /// DMs; in guilds, mentions, and replies to the bot when messages can be read.
    fn for_me(&self, message: &Message, me: Me) -> bool {
        message.guild_id.is_none()
            || message.mentions.iter().any(|u| u.id == me.user)
            || (self.discord.settings.message_content
                && message
                    .referenced_message
                    .as_ref()
                    .is_some_and(|m| m.author.id == me.user))
    }

    async fn on_command(&self, command: CommandInteraction) {
        let name = command.data.name.as_str();
        // The answer to /say is for the channel to see; the rest only for the asker.
        let ephemeral = name != "say";
        if let Err(e) = self
            .discord
            .defer(
                command.id,
                command.application_id,
                &command.token,
                ephemeral,
            )
            .await
        {
            tracing::warn!(error = %e, "an interaction could not be deferred");
            return;
        }
        let channel = command.channel_id.to_string();
        self.discord
            .learn_upload_limit(&channel, u64::from(command.attachment_size_limit));
        let Ok(user) = UserId::parse(&format!("discord:{}", command.user.id)) else {
            return;
        };
        let mut text_option = None;
        let mut voice_option = None;
        let mut photo = None;
        for option in &command.data.options {
            match (&option.value, option.name.as_str()) {
                (CommandDataOptionValue::String(s), "text") => text_option = Some(s.as_str()),
                (CommandDataOptionValue::String(s), "voice" | "name") => {
                    voice_option = Some(s.as_str());
                }
                (CommandDataOptionValue::Attachment(id), _) => {
                    photo = command.data.resolved.attachments.get(id);
                }
                _ => {}
            }
        }
        let mut incoming = Incoming {
            user,
            chat: channel,
            text: commands::as_text(name, text_option, voice_option),
            files: Vec::new(),
            refusal: None,
            answering: Some(format!("i:{}", command.id)),
            awaited: true,
            network: None,
            pressed: commands::as_pressed(name, text_option, voice_option).or(Some(
                spinbot_agent::Pressed::Act(spinbot_agent::Action::Help),
            )),
        };
        let turn = self.turn(&incoming).await;
        if !self.conversation.admit(&incoming).await {
            return;
        }
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => {
                tracing::error!(error = %e, "no room for a download");
                return;
            }
        };
        if let Some(photo) = photo {
            self.take_files(
                &mut incoming,
                std::slice::from_ref(photo),
                false,
                dir.path(),
            )
            .await;
        }
        self.conversation.respond(&incoming).await;
        drop(turn);
    }

    async fn on_component(&self, component: ComponentInteraction) {
        if let Err(e) = self
            .discord
            .defer(
                component.id,
                component.application_id,
                &component.token,
                true,
            )
            .await
        {
            tracing::warn!(error = %e, "a button press could not be deferred");
            return;
        }
        let Ok(user) = UserId::parse(&format!("discord:{}", component.user.id)) else {
            return;
        };
        let values = match &component.data.kind {
            ComponentInteractionDataKind::StringSelect { values } => values.clone(),
            _ => Vec::new(),
        };
        let pressed = crate::platform::pressed(&component.data.custom_id, &values)
            .unwrap_or(spinbot_agent::Pressed::Act(spinbot_agent::Action::Help));
        self.answer(Incoming {
            user,
            chat: component.channel_id.to_string(),
            text: String::new(),
            files: Vec::new(),
            refusal: None,
            answering: Some(format!("i:{}", component.id)),
            awaited: true,
            network: None,
            pressed: Some(pressed),
        })
        .await;
    }

    /// Downloads the photo and the voice note among `attachments` into `dir`, after checking
    /// what Discord says of their type and size; else a refusal.
    async fn take_files(
        &self,
        incoming: &mut Incoming,
        attachments: &[Attachment],
        voice_message: bool,
        dir: &Path,
    ) {
        let mut kinds = Vec::new();
        for attachment in attachments {
            let Some(kind) = kind_of(attachment, voice_message) else {
                incoming.refusal = Some(
                    "I can use photos (JPEG, PNG or WebP) and voice messages or audio files; not that file."
                        .into(),
                );
                return;
            };
            if kinds.contains(&kind) {
                continue;
            }
            let size = u64::from(attachment.size);
            let mb = size as f64 / 1e6;
            let too_large = match kind {
                FileKind::Photo if size > MAX_PHOTO_BYTES => Some(InputError::PhotoTooLarge { mb }),
                FileKind::VoiceNote if size > MAX_VOICE_NOTE_BYTES => {
                    Some(InputError::AudioTooLarge { mb })
                }
                _ => None,
            };
            if let Some(e) = too_large {
                incoming.refusal = Some(e.to_string());
                return;
            }
            let path = dir.join(format!("upload-{}", kinds.len()));
            match self.download(&attachment.url, size, &path).await {
                Ok(()) => {
                    kinds.push(kind);
                    incoming.files.push(IncomingFile { kind, path });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a download failed");
                    incoming.refusal =
                        Some("I couldn't download that file; please send it again.".into());
                    return;
                }
            }
        }
    }

    /// Fetches `url` into `path`, no more than the `size` Discord announced.
    async fn download(&self, url: &str, size: u64, path: &PathBuf) -> Result<(), BotError> {
        let failed = |what: &str| BotError::Platform {
            platform: "discord",
            message: format!("download: {what}"),
        };
        let fetch = async {
            let mut response = self
                .downloads
                .get(url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|_| failed("refused or out of reach"))?;
            let mut out = tokio::fs::File::create(path).await?;
            let mut got = 0u64;
            while let Some(chunk) = response.chunk().await.map_err(|_| failed("cut off"))? {
                got += chunk.len() as u64;
                if got > size {
                    return Err(failed("larger than announced"));
                }
                tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
            Ok(())
        };
        tokio::time::timeout(DOWNLOAD_TIMEOUT, fetch)
            .await
            .map_err(|_| failed("too slow"))?
    }
}

/// A photo or a voice note, from the attachment's content type (a voice message is audio).
fn kind_of(attachment: &Attachment, voice_message: bool) -> Option<FileKind> {
    let content_type = attachment.content_type.as_deref().unwrap_or_default();
    if content_type.starts_with("image/") {
        Some(FileKind::Photo)
    } else if content_type.starts_with("audio/") || voice_message {
        Some(FileKind::VoiceNote)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn an_event_is_answered_once_and_old_ones_are_forgotten() {
        let mut seen = Seen::default();
        assert!(seen.first(1));
        assert!(!seen.first(1));
        for id in 2..=(super::SEEN as u64 + 1) {
            assert!(seen.first(id));
        }
        assert!(seen.first(1), "the oldest id was forgotten");
        assert!(seen.ids.len() <= super::SEEN);
    }
}
