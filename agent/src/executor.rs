//! Actions carried out on the job plane for one caller: the only place the agent changes
//! anything. The caller always comes from the platform, never from a model; every job id
//! given is checked against the caller, and one that is not theirs is "not found".

use crate::action::{Action, Pressed};
pub use crate::conversation::Question;
use crate::conversation::{Conversations, Field, State};
use crate::error::AgentError;
use spinbot_core::job::ReplyTo;
use spinbot_core::limits::{DEFAULT_VOICE, MAX_SCRIPT_CHARS, MAX_TOPIC_CHARS};
use spinbot_core::{
    InputError, JobClass, JobId, JobState, Plan, Speech, SpeechText, Timbre, UserId, VoiceEntry,
};
use spinbot_jobs::keys::{self, uploads_prefix};
use spinbot_jobs::queue::Cancel;
use spinbot_jobs::{Admission, Queue, Record, Store};
use std::sync::Arc;

/// Who a message came from, as the platform says, what their chat can receive, and where
/// the progress and video of what they start go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caller {
    pub user: UserId,
    /// The largest video file the chat takes, in bytes.
    pub max_bytes: Option<u64>,
    /// The chat that answers them (none from a terminal).
    pub reply: Option<ReplyTo>,
    /// For an anonymous user (the web chat's), the network they came from: what they start
    /// also counts against its limits.
    #[serde(default)]
    pub network: Option<String>,
}

impl rig_core::tool::ContextValue for Caller {
    const KEY: &'static str = "spinbot_caller";
}

/// What an action did: a sentence for the user, the job it started, and what the sentence
/// asks when it is a question waiting for the user's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub say: String,
    pub job: Option<JobId>,
    pub asks: Option<Ask>,
}

/// What a question waits for (a chat shows buttons for it where it has them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// A yes.
    Yes,
    /// The choice of a voice.
    Voice,
}

impl Done {
    fn say(text: impl Into<String>) -> Self {
        Self {
            say: text.into(),
            job: None,
            asks: None,
        }
    }

    fn job(say: String, job: JobId) -> Self {
        Self {
            say,
            job: Some(job),
            asks: None,
        }
    }

    /// A question asked with [`Conversations::ask`]: the next message answers it.
    fn asking(text: impl Into<String>, asks: Ask) -> Self {
        Self {
            asks: Some(asks),
            ..Self::say(text)
        }
    }
}

/// Why an action was not done, as one sentence for the user: a policy refusal (from
/// [`spinbot_core::Refusal`]'s table), bad input, "not found", or a failure on our side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Declined(pub String);

impl From<InputError> for Declined {
    fn from(e: InputError) -> Self {
        Declined(e.to_string())
    }
}

impl From<AgentError> for Declined {
    fn from(e: AgentError) -> Self {
        tracing::error!(error = %e, "an action failed");
        Declined("Something went wrong on my side; please try again in a minute.".into())
    }
}

impl From<spinbot_jobs::JobsError> for Declined {
    fn from(e: spinbot_jobs::JobsError) -> Self {
        AgentError::from(e).into()
    }
}

impl From<spinbot_core::Refusal> for Declined {
    fn from(refusal: spinbot_core::Refusal) -> Self {
        Declined(refusal.to_string())
    }
}

/// A file that came with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    Photo {
        key: String,
    },
    VoiceNote {
        key: String,
        /// How the speaker sounds, when the bot could measure it.
        timbre: Option<Timbre>,
    },
}

/// Who carries out actions: the job plane, or a dry run that only lists them
/// (`spinbot plan`).
#[derive(Clone)]
pub enum Hands {
    Live(Arc<Executor>),
    DryRun,
}

impl From<Arc<Executor>> for Hands {
    fn from(executor: Arc<Executor>) -> Self {
        Hands::Live(executor)
    }
}

impl Hands {
    pub async fn perform(&self, caller: &Caller, action: &Action) -> Result<Done, Declined> {
        match self {
            Hands::Live(executor) => executor.perform(caller, action).await,
            Hands::DryRun => Ok(Done::say(format!("(would {})", action.name()))),
        }
    }

    /// The waiting question, carried out when `text` is a yes (see
    /// [`Executor::answer_question`]); a dry run has none.
    pub async fn answer_question(
        &self,
        caller: &Caller,
        text: &str,
    ) -> Option<(Action, Result<Done, Declined>)> {
        match self {
            Hands::Live(executor) => executor.answer_question(caller, text).await,
            Hands::DryRun => None,
        }
    }

    /// The question waiting for the caller's answer, taken (a dry run has none).
    pub async fn take_question(&self, caller: &Caller) -> Result<Option<Question>, Declined> {
        match self {
            Hands::Live(executor) => executor.take_question(caller).await,
            Hands::DryRun => Ok(None),
        }
    }

    /// `question` answered by a press (see [`Executor::answer`]).
    pub async fn answer(
        &self,
        caller: &Caller,
        question: Option<Question>,
        pressed: &Pressed,
    ) -> Option<(Action, Result<Done, Declined>)> {
        match (self, pressed) {
            (Hands::Live(executor), _) => executor.answer(caller, question, pressed).await,
            (Hands::DryRun, Pressed::Yes) => Some(nothing_asked()),
            (Hands::DryRun, Pressed::Act(_)) => None,
        }
    }

    /// `question` answered by words (see [`Executor::answer_text`]).
    pub async fn answer_text(
        &self,
        caller: &Caller,
        question: Question,
        text: &str,
    ) -> Option<(Action, Result<Done, Declined>)> {
        match self {
            Hands::Live(executor) => executor.answer_text(caller, question, text).await,
            Hands::DryRun => None,
        }
    }

    /// Whether an admin blocked the caller (a dry run blocks no one).
    pub async fn is_blocked(&self, caller: &Caller) -> Result<bool, Declined> {
        match self {
            Hands::Live(executor) => Ok(executor.queue.is_blocked(&caller.user).await?),
            Hands::DryRun => Ok(false),
        }
    }

    /// Notes a file the caller sent (already in the object store); a sentence for them
    /// when it chose their voice.
    pub async fn remember_upload(
        &self,
        caller: &Caller,
        upload: &Upload,
    ) -> Result<Option<String>, Declined> {
        match self {
            Hands::Live(executor) => executor.remember_upload(caller, upload).await,
            Hands::DryRun => Ok(None),
        }
    }
}

/// The live job plane: queue, conversations, object store and (optionally) the record.
pub struct Executor {
    queue: Queue,
    conversations: Conversations,
    store: Store,
    record: Option<Record>,
    voices: Vec<VoiceEntry>,
    help: String,
    /// Whether a chat user who never chose a voice is asked before their first video.
    voice_question: bool,
}

impl Executor {
    /// The job plane it acts on.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    pub fn new(
        queue: Queue,
        store: Store,
        record: Option<Record>,
        voices: Vec<VoiceEntry>,
        help: String,
    ) -> Self {
        let conversations = Conversations::new(queue.connection(), queue.keys().clone());
        Self {
            queue,
            conversations,
            store,
            record,
            voices,
            help,
            voice_question: true,
        }
    }

    /// New chat users get the default voice without being asked first.
    pub fn without_voice_question(self) -> Self {
        Self {
            voice_question: false,
            ..self
        }
    }

    async fn state(&self, user: &UserId) -> Result<State, AgentError> {
        self.conversations.load(user).await
    }

    async fn set(
        &self,
        user: &UserId,
        changes: &[(Field, Option<&str>)],
    ) -> Result<(), AgentError> {
        self.conversations.set(user, changes).await
    }

    /// A voice by its full name, a unique part of it (`amy` for `en_US-amy-medium`) or a
    /// description ("a British man").
    fn resolve_voice(&self, name: &str) -> Result<String, Declined> {
        spinbot_core::voices::choose(name, &self.voices)
            .map(|v| v.name.clone())
            .ok_or_else(|| {
                Declined(format!(
                    "There is no voice called \"{}\"; say \"voices\" to see them.",
                    name.chars().take(40).collect::<String>()
                ))
            })
    }

    /// The voice for `text`: one asked for in the request as asked; else the user's (or the
    /// default) unless it does not speak the text's language, then a voice that does, or one
    /// sentence when none does.
    fn voice_for(
        &self,
        text: &SpeechText,
        voice: String,
        explicit: bool,
    ) -> Result<String, Declined> {
        let entry = self.voices.iter().find(|v| v.name == voice);
        let Some(entry) = entry.filter(|_| !explicit) else {
            return Ok(voice);
        };
        match spinbot_core::voices::for_text(text.as_str(), entry, &self.voices) {
            Ok(Some(other)) => Ok(other.name.clone()),
            Ok(None) => Ok(voice),
            Err(sentence) => Err(Declined(sentence)),
        }
    }

    /// The voices in a few lines: each language's recommended ones by name and kind, how
    /// many more there are, and how to pick.
    fn voice_list(&self) -> String {
        if self.voices.len() <= 1 {
            return format!("I have one voice: {DEFAULT_VOICE}.");
        }
        let mut shown: Vec<&VoiceEntry> = self.voices.iter().filter(|v| v.recommended).collect();
        if shown.is_empty() {
            shown = self.voices.iter().take(12).collect();
        }
        let list: Vec<String> = shown.iter().map(|v| v.describe()).collect();
        let more = self.voices.len() - shown.len();
        let more = if more > 0 {
            format!(" and {more} more (`spinbot voices` lists them all)")
        } else {
            String::new()
        };
        format!(
            "Voices: {}{more}. Say \"use af_heart\", or describe one: \"a British man's voice\".",
            list.join(", ")
        )
    }

    /// The question before a first video: the recommended voices of the text's language (or
    /// of English), by name and kind.
    fn voice_question(&self, text: &SpeechText) -> String {
        let default = self.voices.iter().find(|v| v.name == DEFAULT_VOICE);
        let language = default
            .and_then(|d| spinbot_core::voices::for_text(text.as_str(), d, &self.voices).ok())
            .flatten()
            .map(|v| v.language.clone());
        let offered: Vec<String> = self
            .voices
            .iter()
            .filter(|v| v.recommended)
            .filter(|v| match &language {
                Some(l) => &v.language == l,
                None => v.language.starts_with("en"),
            })
            .map(VoiceEntry::describe)
            .collect();
        format!(
            "Before your first video: which voice should speak it? {}. Reply with a name or \
             describe one (\"a British man\"), or say \"go\" for {DEFAULT_VOICE}.",
            offered.join(", ")
        )
    }

    /// The job an action means: the one named (if the caller's), else their latest.
    async fn job_of(&self, caller: &Caller, job: Option<&str>) -> Result<JobId, Declined> {
        let raw = match job {
            Some(j) => j.to_owned(),
            None => self
                .state(&caller.user)
                .await?
                .last_job
                .ok_or_else(|| Declined("You have no videos yet.".into()))?,
        };
        JobId::parse(raw.trim()).map_err(|_| not_found())
    }

    async fn render(
        &self,
        caller: &Caller,
        text: Option<&str>,
        voice: Option<&str>,
    ) -> Result<Done, Declined> {
        let user = &caller.user;
        let state = self.state(user).await?;
        let photo = state
            .photo
            .clone()
            .or(state.latest_photo.clone())
            .ok_or_else(|| Declined("Send me a selfie first, then tell me what to say.".into()))?;
        if let Some(asked) = self.ask_voice_first(caller, &state, text, voice).await? {
            return Ok(asked);
        }
        let (speech, taken) = self.speech(user, &state, text, voice).await?;
        let mut plan = Plan::new(speech, photo);
        plan.target.max_bytes = caller.max_bytes;
        if let Err(e) = plan.validate() {
            if let Some((field, value)) = &taken {
                self.set(user, &[(*field, Some(value.as_str()))]).await?;
            }
            return Err(e.into());
        }
        self.submit(caller, &plan, taken).await
    }

    /// A chat user who never chose a voice is asked once, before their first video of
    /// words (a voice note speaks for itself; the command line never asks): the question.
    async fn ask_voice_first(
        &self,
        caller: &Caller,
        state: &State,
        text: Option<&str>,
        voice: Option<&str>,
    ) -> Result<Option<Done>, Declined> {
        let user = &caller.user;
        let words = text.or(state.pending_text.as_deref());
        let Some(words) = words.filter(|_| {
            self.voice_question
                && caller.reply.is_some()
                && voice.is_none()
                && state.voice.is_none()
                && !state.voice_asked
                && self.voices.len() > 1
        }) else {
            return Ok(None);
        };
        let question = self.voice_question(&SpeechText::parse(words)?);
        let render = Action::Render {
            text: text.map(str::to_owned),
            voice: None,
        };
        self.conversations
            .ask(user, &Question::Voice(render))
            .await?;
        self.set(user, &[(Field::VoiceAsked, Some("1"))]).await?;
        Ok(Some(Done::asking(question, Ask::Voice)))
    }

    /// What the video says and with which voice: `text`, else what was prepared (a script,
    /// a voice note); with what was taken for it, to put back if no job is made.
    async fn speech(
        &self,
        user: &UserId,
        state: &State,
        text: Option<&str>,
        voice: Option<&str>,
    ) -> Result<(Speech, Option<(Field, String)>), Declined> {
        let explicit = voice.is_some();
        let voice = match voice.or(state.voice.as_deref()) {
            Some(v) => self.resolve_voice(v)?,
            None => DEFAULT_VOICE.to_owned(),
        };
        // What was prepared (a script, a voice note) is taken as the job is made: of two
        // "go"s at once (two bot processes), one makes the video.
        let (speech, taken) = match text {
            Some(t) => {
                let text = SpeechText::parse(t)?;
                let voice = self.voice_for(&text, voice, explicit)?;
                (Speech::Text { text, voice }, None)
            }
            None => {
                if let Some(t) = self.conversations.take(user, Field::PendingText).await? {
                    let text = SpeechText::parse(&t)?;
                    let voice = match self.voice_for(&text, voice, explicit) {
                        Ok(voice) => voice,
                        Err(declined) => {
                            self.set(user, &[(Field::PendingText, Some(&t))]).await?;
                            return Err(declined);
                        }
                    };
                    (Speech::Text { text, voice }, Some((Field::PendingText, t)))
                } else if let Some(audio) = self.conversations.take(user, Field::VoiceNote).await? {
                    (
                        Speech::VoiceNote {
                            audio: audio.clone(),
                        },
                        Some((Field::VoiceNote, audio)),
                    )
                } else if state.pending_text.is_some() || state.voice_note.is_some() {
                    return Err(Declined("That video is already on its way.".into()));
                } else {
                    return Err(Declined(
                        "Tell me what to say (for example: say Hello everyone!), or send a voice note."
                            .into(),
                    ));
                }
            }
        };
        Ok((speech, taken))
    }

    /// Queues `plan` for the caller; what was taken for it is put back when it is refused.
    async fn submit(
        &self,
        caller: &Caller,
        plan: &Plan,
        taken: Option<(Field, String)>,
    ) -> Result<Done, Declined> {
        let user = &caller.user;
        let reply = caller.reply.as_ref();
        match self
            .queue
            .submit_as(
                JobId::new(),
                user,
                plan,
                JobClass::Any,
                reply,
                caller.network.as_deref(),
            )
            .await?
        {
            Admission::Accepted { job, position } => {
                self.set(user, &[(Field::LastJob, Some(job.as_str()))])
                    .await?;
                self.set(
                    user,
                    &[(Field::PendingText, None), (Field::VoiceNote, None)],
                )
                .await?;
                let line = if position <= 1 {
                    "you're next in line".to_owned()
                } else {
                    format!("you're number {position} in line")
                };
                Ok(Done::job(
                    format!("On it! Your video is queued ({line})."),
                    job,
                ))
            }
            Admission::Refused(refusal) => {
                // Kept for the next try.
                if let Some((field, value)) = &taken {
                    self.set(user, &[(*field, Some(value.as_str()))]).await?;
                }
                Err(refusal.into())
            }
        }
    }

    async fn status(&self, caller: &Caller, job: Option<&str>) -> Result<Done, Declined> {
        let job = self.job_of(caller, job).await?;
        let status = self
            .queue
            .status_anywhere(&job, &caller.user, self.record.as_ref())
            .await?
            .ok_or_else(not_found)?;
        let short = job.short();
        let say = match status.state {
            JobState::Queued => match status.position {
                Some(p) if p > 1 => format!("Your video {short} is waiting: number {p} in line."),
                _ => format!("Your video {short} is next in line."),
            },
            JobState::Running => format!(
                "Your video {short} is being made: {} ({}%).",
                if status.stage.is_empty() {
                    "starting"
                } else {
                    &status.stage
                },
                status.percent
            ),
            JobState::Done => format!("Your video {short} is ready."),
            JobState::Failed => format!(
                "Your video {short} failed: {}",
                status
                    .error
                    .unwrap_or_else(|| "no reason was given.".into())
            ),
            JobState::Cancelled => format!("Your video {short} was cancelled."),
        };
        Ok(Done::job(say, job))
    }

    async fn cancel(&self, caller: &Caller, job: Option<&str>) -> Result<Done, Declined> {
        let job = self.job_of(caller, job).await?;
        let short = job.short().to_owned();
        let say = match self.queue.cancel(&job, &caller.user).await? {
            Cancel::NotFound => return Err(not_found()),
            Cancel::Cancelled => format!("Cancelled your video {short}."),
            Cancel::Stopping => format!("Stopping your video {short}; it ends within a second."),
            Cancel::AlreadyFinished(state) => {
                format!("Your video {short} had already ended ({}).", state.as_str())
            }
        };
        // Several on their way: say which one stopped, and which go on.
        let others: Vec<String> = self
            .queue
            .active_jobs(&caller.user)
            .await?
            .into_iter()
            .filter(|other| *other != job)
            .map(|other| other.short().to_owned())
            .collect();
        let say = if others.is_empty() {
            say
        } else {
            format!("{say} Still on their way: {}.", others.join(", "))
        };
        Ok(Done::job(say, job))
    }

    /// Forgets the caller everywhere: Redis first (their jobs stop, and the recorder
    /// drops their later events), then their files, then the record.
    async fn forget_me(&self, caller: &Caller) -> Result<Done, Declined> {
        let user = &caller.user;
        let mut jobs = self.queue.forget_user(user).await?;
        if let Some(record) = &self.record {
            let history = record.history(user).await?;
            jobs.extend(
                history
                    .iter()
                    .filter_map(|row| JobId::parse(&row.job_id).ok()),
            );
        }
        jobs.sort();
        jobs.dedup();
        for job in &jobs {
            for (key, _) in self.store.list(&keys::job_prefix(job)).await? {
                self.store.delete(&key).await?;
            }
            self.store.delete(&keys::result(job)).await?;
        }
        for (key, _) in self.store.list(&uploads_prefix(user)).await? {
            self.store.delete(&key).await?;
        }
        if let Some(record) = &self.record {
            record.forget_user(user).await?;
        }
        Ok(Done::say(
            "Done: I deleted your photos, voice notes, videos and history.",
        ))
    }

    /// Carries out `action` for `caller`.
    pub async fn perform(&self, caller: &Caller, action: &Action) -> Result<Done, Declined> {
        let user = &caller.user;
        match action {
            Action::Render { text, voice } => {
                self.render(caller, text.as_deref(), voice.as_deref()).await
            }
            Action::Status { job } => self.status(caller, job.as_deref()).await,
            Action::Cancel { job } => self.cancel(caller, job.as_deref()).await,
            Action::ListVoices => Ok(Done::say(self.voice_list())),
            Action::ChooseVoice { voice } => {
                let voice = self.resolve_voice(voice)?;
                self.set(user, &[(Field::Voice, Some(&voice))]).await?;
                if let Some(record) = &self.record {
                    record.save_voice(user, &voice, None).await?;
                }
                let described = self
                    .voices
                    .iter()
                    .find(|v| v.name == voice)
                    .map_or_else(|| voice.clone(), VoiceEntry::describe);
                Ok(Done::say(format!(
                    "Your videos will use the voice {described}."
                )))
            }
            Action::WriteScript { topic, text } => {
                if topic.chars().count() > MAX_TOPIC_CHARS {
                    return Err(Declined(format!(
                        "Please give me a shorter topic (up to {MAX_TOPIC_CHARS} characters)."
                    )));
                }
                let Some(text) = text else {
                    return Err(Declined(
                        "I can't write scripts right now; tell me the exact words instead, like: say Hello everyone!".into(),
                    ));
                };
                let script = SpeechText::parse(text)?;
                if script.as_str().chars().count() > MAX_SCRIPT_CHARS {
                    return Err(Declined(
                        "That script came out too long; please ask again.".into(),
                    ));
                }
                self.set(
                    user,
                    &[
                        (Field::PendingText, Some(script.as_str())),
                        (Field::VoiceNote, None),
                    ],
                )
                .await?;
                Ok(Done::say(format!(
                    "Here's a script about {topic}:\n\n{}\n\nSay \"go\" to make the video, or send your own words.",
                    script.as_str()
                )))
            }
            Action::UsePhoto => {
                let state = self.state(user).await?;
                let photo = state.latest_photo.ok_or_else(|| {
                    Declined("Send me a photo first (a selfie works best).".into())
                })?;
                self.set(user, &[(Field::Photo, Some(&photo))]).await?;
                if let Some(record) = &self.record {
                    record.save_avatar(user, &photo).await?;
                }
                Ok(Done::say(
                    "Got your photo. Now tell me what to say, or send a voice note.",
                ))
            }
            Action::UseVoiceNote => {
                let state = self.state(user).await?;
                let note = state
                    .latest_voice_note
                    .ok_or_else(|| Declined("Send me a voice note first.".into()))?;
                self.set(
                    user,
                    &[(Field::VoiceNote, Some(&note)), (Field::PendingText, None)],
                )
                .await?;
                if let Some(record) = &self.record {
                    record.save_voice(user, "voice note", Some(&note)).await?;
                }
                Ok(Done::say("Got your voice note."))
            }
            Action::ForgetMe { confirmed: false } => {
                let confirmed = Action::ForgetMe { confirmed: true };
                self.conversations
                    .ask(user, &Question::Confirm(confirmed))
                    .await?;
                Ok(Done::asking(FORGET_QUESTION, Ask::Yes))
            }
            Action::ForgetMe { confirmed: true } => self.forget_me(caller).await,
            Action::Help => Ok(Done::say(self.help.clone())),
            Action::Unsupported => Ok(Done::say(UNSUPPORTED)),
        }
    }

    /// The question waiting for `caller`'s answer, taken: whatever they send next answers
    /// it or drops it.
    pub async fn take_question(&self, caller: &Caller) -> Result<Option<Question>, Declined> {
        Ok(self.conversations.take_question(&caller.user).await?)
    }

    /// Carries out the question waiting for `caller`'s answer when `text` answers it (a yes;
    /// for the voice, a voice or "go"); any other message drops the question. `None`: no
    /// question was waiting or it was dropped.
    pub async fn answer_question(
        &self,
        caller: &Caller,
        text: &str,
    ) -> Option<(Action, Result<Done, Declined>)> {
        match self.take_question(caller).await {
            Ok(question) => self.answer_text(caller, question?, text).await,
            Err(declined) => Some((Action::Unsupported, Err(declined))),
        }
    }

    /// `question`, carried out when `text` answers it; `None` when it does not.
    pub async fn answer_text(
        &self,
        caller: &Caller,
        question: Question,
        text: &str,
    ) -> Option<(Action, Result<Done, Declined>)> {
        match question {
            Question::Confirm(asked) => {
                if !crate::understand::is_yes(text) {
                    tracing::info!(
                        question = asked.name(),
                        "the question was not answered with a yes"
                    );
                    return None;
                }
                let done = self.perform(caller, &asked).await;
                Some((asked, done))
            }
            Question::Voice(render) => self.answer_voice(caller, render, text).await,
        }
    }

    /// The answer to the voice question: a voice (by name, description or the menu) is
    /// chosen and the video made with it; a yes or "go" makes it with the default voice;
    /// a voice that does not exist asks again.
    async fn answer_voice(
        &self,
        caller: &Caller,
        render: Action,
        text: &str,
    ) -> Option<(Action, Result<Done, Declined>)> {
        let parsed = crate::understand::parse(text);
        let wanted = match parsed.first() {
            Some(Action::ChooseVoice { voice }) => Some(voice.clone()),
            Some(Action::Render { text: None, .. }) => None,
            _ if crate::understand::is_yes(text) => None,
            _ if spinbot_core::voices::describes_a_voice(text) => Some(text.to_owned()),
            _ => {
                tracing::info!("the voice question was not answered");
                return None;
            }
        };
        Some(self.render_with_voice(caller, render, wanted).await)
    }

    /// `question` (taken before), answered by a press when the press is its answer: a yes
    /// (the confirm button, or the model's `confirm`) carries it out, a voice picked makes
    /// the video waiting with it. `None`: the press is not an answer and its action is to be
    /// done as pressed; a yes with no question gets a sentence.
    pub async fn answer(
        &self,
        caller: &Caller,
        question: Option<Question>,
        pressed: &Pressed,
    ) -> Option<(Action, Result<Done, Declined>)> {
        match (question, pressed) {
            (Some(Question::Confirm(asked)), Pressed::Yes) => {
                let done = self.perform(caller, &asked).await;
                Some((asked, done))
            }
            (Some(Question::Voice(render)), Pressed::Yes) => {
                Some(self.render_with_voice(caller, render, None).await)
            }
            (Some(Question::Voice(render)), Pressed::Act(Action::ChooseVoice { voice })) => Some(
                self.render_with_voice(caller, render, Some(voice.clone()))
                    .await,
            ),
            (_, Pressed::Yes) => Some(nothing_asked()),
            (_, Pressed::Act(_)) => None,
        }
    }

    /// The video waiting for the voice question, made with `wanted` (else the default,
    /// chosen); a voice that does not exist asks again.
    async fn render_with_voice(
        &self,
        caller: &Caller,
        render: Action,
        wanted: Option<String>,
    ) -> (Action, Result<Done, Declined>) {
        let mut chosen = String::new();
        if wanted.is_none() {
            // The default, chosen: a voice note later does not change it.
            if let Err(e) = self
                .set(&caller.user, &[(Field::Voice, Some(DEFAULT_VOICE))])
                .await
            {
                return (render, Err(e.into()));
            }
        }
        if let Some(voice) = wanted {
            let choose = Action::ChooseVoice { voice };
            match self.perform(caller, &choose).await {
                Ok(done) => chosen = format!("{} ", done.say),
                Err(declined) => {
                    let asked_again = self
                        .conversations
                        .ask(&caller.user, &Question::Voice(render))
                        .await;
                    if let Err(e) = asked_again {
                        return (choose, Err(e.into()));
                    }
                    return (choose, Err(declined));
                }
            }
        }
        let done = self.perform(caller, &render).await.map(|done| Done {
            say: format!("{chosen}{}", done.say),
            ..done
        });
        (render, done)
    }

    /// Notes a file the caller sent, as their latest photo or voice note. A voice note from
    /// someone who never chose a voice gives them the voice nearest to theirs (and they are
    /// not asked which one): the voice, to tell them.
    pub async fn remember_upload(
        &self,
        caller: &Caller,
        upload: &Upload,
    ) -> Result<Option<String>, Declined> {
        let (field, key, timbre) = match upload {
            Upload::Photo { key } => (Field::LatestPhoto, key, None),
            Upload::VoiceNote { key, timbre } => (Field::LatestVoiceNote, key, timbre.as_ref()),
        };
        if !key.starts_with(&uploads_prefix(&caller.user)) {
            // Uploads are stored by the bot under the caller's own prefix; nothing else.
            return Err(not_found());
        }
        let user = &caller.user;
        self.set(user, &[(field, Some(key))]).await?;
        let Some(note) = timbre else {
            return Ok(None);
        };
        if self.state(user).await?.voice.is_some() {
            return Ok(None);
        }
        let Some(nearest) = spinbot_core::timbre::nearest(note, &self.voices) else {
            return Ok(None);
        };
        self.set(
            user,
            &[
                (Field::Voice, Some(&nearest.name)),
                (Field::VoiceAsked, Some("1")),
            ],
        )
        .await?;
        tracing::info!(
            voice = %nearest.name,
            pitch_hz = note.pitch_hz,
            "a voice matched to the voice note"
        );
        Ok(Some(format!(
            "Your typed messages will speak with {}, the voice nearest to yours (say \"voices\" to change it).",
            nearest.describe()
        )))
    }
}

fn not_found() -> Declined {
    spinbot_core::Refusal::NotFound.into()
}

/// What forgetting asks first.
/// The step of a yes given when no question waits.
pub fn nothing_asked() -> (Action, Result<Done, Declined>) {
    (Action::Unsupported, Err(Declined(NOTHING_ASKED.into())))
}

/// The answer to a yes pressed when no question waits (it expired, or was answered).
pub const NOTHING_ASKED: &str =
    "That question is no longer open (questions wait 5 minutes); ask me again.";

pub const FORGET_QUESTION: &str = "This deletes everything I keep about you, for good: your photos, voice notes, videos, chosen voice and history, and stops any video in the making. Reply \"yes\" within 5 minutes to go ahead; anything else keeps it all.";

/// The answer to a request outside the product.
pub const UNSUPPORTED: &str =
    "I only make talking videos from your photo: send a selfie and tell me what to say (or /help).";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::QUESTION_S;

    #[test]
    fn the_sentences_about_questions_say_how_long_they_wait() {
        let wait = format!("{} minutes", QUESTION_S / 60);
        assert!(FORGET_QUESTION.contains(&wait), "{FORGET_QUESTION}");
        assert!(NOTHING_ASKED.contains(&wait), "{NOTHING_ASKED}");
    }
}
