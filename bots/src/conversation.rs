//! The conversation loop every bot shares: a message in (text and files, from a platform
//! adapter), the cheap checks first (flood control per person in a chat, a blocked sender)
//! before anything is downloaded or decoded, the files checked and stored under the sender's
//! uploads, the agent deciding and acting, the answer out, and a render's answer kept as the
//! status message that the courier edits with progress and follows with the video.

use crate::courier::Courier;
use crate::error::BotError;
use crate::media::{self, CheckError};
use crate::platform::{Control, FileKind, Incoming, Platform};
use governor::{DefaultKeyedRateLimiter, Quota};
use spinbot_agent::{Action, Agent, Ask, Caller, Message, Upload};
use spinbot_core::job::ReplyTo;
use spinbot_core::limits::KEPT_ENTRIES_BEFORE_PRUNING;
use spinbot_core::UserId;
use spinbot_jobs::{keys, Store};
use std::num::NonZeroU32;
use std::sync::Arc;
use tracing::Instrument;

/// Messages per person per chat per minute, sustained, before the bot asks to slow down...
pub const MESSAGES_PER_MINUTE: u32 = 30;
/// ...after a burst of this many back to back.
pub const MESSAGE_BURST: u32 = 10;
/// The answer to a message over the flood limit.
pub const SLOW_DOWN: &str = "You're sending messages very fast; please wait a minute.";

/// What the cheap checks say of a message, before anything of it is downloaded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Answered with this sentence, and nothing else done.
    Refused(String),
    /// Dropped without a word (a flood already warned about).
    Dropped,
}

pub struct Conversation<P: Platform> {
    platform: Arc<P>,
    agent: Arc<Agent>,
    store: Store,
    courier: Arc<Courier<P>>,
    flood: DefaultKeyedRateLimiter<String>,
    /// One "slow down" per chat per minute.
    warned: DefaultKeyedRateLimiter<String>,
}

impl<P: Platform> Conversation<P> {
    pub fn new(
        platform: Arc<P>,
        agent: Arc<Agent>,
        store: Store,
        courier: Arc<Courier<P>>,
    ) -> Self {
        let per_minute = NonZeroU32::new(MESSAGES_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(MESSAGE_BURST).unwrap_or(NonZeroU32::MIN);
        Self {
            platform,
            agent,
            store,
            courier,
            flood: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            warned: DefaultKeyedRateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
        }
    }

    /// Drops the flood state of people no different from a fresh one's, and the courier's
    /// edit turns that have come.
    pub fn prune(&self) {
        self.flood.retain_recent();
        self.flood.shrink_to_fit();
        self.warned.retain_recent();
        self.warned.shrink_to_fit();
        spinbot_jobs::metrics::kept("message_flood", self.flood.len());
        spinbot_jobs::metrics::kept("flood_warned", self.warned.len());
        self.courier.prune();
    }

    /// The cheap checks on a message from `user` in `chat`: flood control (per person in a
    /// chat, so one member cannot silence a group) and the block list. `awaited`: the sender
    /// sees an answer pending, so a flood is always answered.
    pub async fn gate(&self, user: &UserId, chat: &str, awaited: bool) -> Gate {
        if self.flood.len() > KEPT_ENTRIES_BEFORE_PRUNING {
            self.prune();
        }
        let key = format!("{chat} {user}");
        if self.flood.check_key(&key).is_err() {
            tracing::info!("flood control");
            // One warning per window: the next message over the limit is dropped silently.
            if self.warned.check_key(&key).is_ok() || awaited {
                return Gate::Refused(SLOW_DOWN.to_owned());
            }
            return Gate::Dropped;
        }
        match self.agent.declines(user).await {
            Some(sentence) => Gate::Refused(sentence),
            None => Gate::Open,
        }
    }

    /// [`Conversation::gate`], answering a refusal; whether the message may go on.
    pub async fn admit(&self, incoming: &Incoming) -> bool {
        let span = tracing::info_span!("chat", user = %incoming.user, chat = %incoming.chat);
        async {
            match self
                .gate(&incoming.user, &incoming.chat, incoming.awaited)
                .await
            {
                Gate::Open => true,
                Gate::Dropped => false,
                Gate::Refused(sentence) => {
                    if let Err(e) = self.platform.answer(incoming, &sentence, &[]).await {
                        tracing::warn!(error = %e, "a refusal was not answered");
                    }
                    false
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Answers one message: the checks, its files, the agent. Errors are logged; the user
    /// always gets a sentence when the platform can still be reached.
    pub async fn handle(&self, incoming: Incoming) {
        if self.admit(&incoming).await {
            self.respond(&incoming).await;
        }
    }

    /// Answers a message that passed [`Conversation::admit`]: its files are checked and
    /// stored (a bad one is answered with its sentence), then the agent acts.
    pub async fn respond(&self, incoming: &Incoming) {
        let span = tracing::info_span!("chat", user = %incoming.user, chat = %incoming.chat);
        async {
            let answered = match self.take_uploads(incoming).await {
                Ok(uploads) => self.answer(incoming, uploads).await,
                Err(CheckError::Input(e)) => self
                    .platform
                    .answer(incoming, &e.to_string(), &[])
                    .await
                    .map(|_| ()),
                Err(CheckError::Bot(e)) => Err(e),
            };
            if let Err(e) = answered {
                self.sorry(incoming, &e).await;
            }
        }
        .instrument(span)
        .await
    }

    /// Like [`Conversation::respond`], with the files already taken.
    pub async fn respond_with(&self, incoming: &Incoming, uploads: Vec<Upload>) {
        let span = tracing::info_span!("chat", user = %incoming.user, chat = %incoming.chat);
        async {
            if let Err(e) = self.answer(incoming, uploads).await {
                self.sorry(incoming, &e).await;
            }
        }
        .instrument(span)
        .await
    }

    async fn sorry(&self, incoming: &Incoming, e: &BotError) {
        tracing::error!(error = %e, "a message was not answered");
        let sorry = "Something went wrong on my side; please try again in a minute.";
        let _ = self.platform.answer(incoming, sorry, &[]).await;
    }

    /// Checks the message's files (the adapter's refusal first) and stores them under the
    /// sender's uploads.
    pub async fn take_uploads(&self, incoming: &Incoming) -> Result<Vec<Upload>, CheckError> {
        if let Some(refusal) = &incoming.refusal {
            return Err(spinbot_core::InputError::Option(refusal.clone()).into());
        }
        let mut uploads = Vec::new();
        for file in &incoming.files {
            let checked = media::check(file.kind, &file.path).await?;
            let name = match file.kind {
                FileKind::Photo => "photo",
                FileKind::VoiceNote => "voice-note",
            };
            let key = keys::upload(&incoming.user, name, checked.extension);
            self.store
                .put_file(&key, &file.path)
                .await
                .map_err(BotError::from)?;
            uploads.push(match file.kind {
                FileKind::Photo => Upload::Photo { key },
                FileKind::VoiceNote => Upload::VoiceNote {
                    key,
                    timbre: checked.timbre,
                },
            });
        }
        Ok(uploads)
    }

    async fn answer(&self, incoming: &Incoming, uploads: Vec<Upload>) -> Result<(), BotError> {
        spinbot_jobs::metrics::process().chat_message(P::NAME);
        let caller = Caller {
            user: incoming.user.clone(),
            max_bytes: Some(self.platform.upload_limit(&incoming.chat)),
            network: incoming.network.clone(),
            reply: Some(ReplyTo {
                platform: P::NAME.to_owned(),
                chat: incoming.chat.clone(),
                message: None,
            }),
        };
        let reply = self
            .agent
            .handle(Message {
                caller,
                text: incoming.text.clone(),
                uploads,
                pressed: incoming.pressed.clone(),
            })
            .await;
        let started = reply.started.clone();
        let text = if reply.text.trim().is_empty() {
            "👍"
        } else {
            reply.text.as_str()
        };
        let mut controls: Vec<Control> = started.iter().cloned().map(Control::Cancel).collect();
        if reply
            .steps
            .iter()
            .any(|s| matches!(s.action, Action::ListVoices) && s.result.is_ok())
        {
            controls.push(Control::PickVoice);
        }
        // A question gets its buttons: a yes, or the voices.
        for step in &reply.steps {
            match step.result.as_ref().ok().and_then(|done| done.asks) {
                Some(Ask::Yes) => controls.push(Control::Confirm),
                Some(Ask::Voice) if !controls.contains(&Control::PickVoice) => {
                    controls.push(Control::PickVoice)
                }
                _ => {}
            }
        }
        let message = self.platform.answer(incoming, text, &controls).await?;
        for job in started {
            self.courier.watch(&job, &incoming.chat, &message).await?;
        }
        Ok(())
    }
}
