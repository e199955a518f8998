//! The agent's entry points: a message in, actions carried out, one reply out
//! ([`Agent::handle`]); or the actions only ([`Agent::plan`]). The model decides when it is
//! configured and usable; otherwise the built-in parser does, so there is always an answer.

use crate::action::{Action, Pressed};
use crate::admin;
use crate::executor::{Caller, Declined, Hands, Upload};
use crate::model::{run_model, Model};
use crate::prompts::Prompts;
use crate::run::{Run, Step};
use crate::understand;
use spinbot_core::config::OllamaSettings;
use spinbot_core::limits::MAX_MESSAGE_CHARS;
use spinbot_core::{JobId, Refusal, UserId};
use std::sync::Arc;
use tracing::Instrument;

/// A chat message: who sent it (from the platform), its text and the files that came with
/// it (already stored under the sender's uploads prefix).
#[derive(Debug, Clone)]
pub struct Message {
    pub caller: Caller,
    pub text: String,
    pub uploads: Vec<Upload>,
    /// A button, a menu choice or a slash command: done as typed, the text left unread.
    pub pressed: Option<Pressed>,
}

/// Who decided the actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    Model,
    Parser,
    /// The person, by pressing a button or using a slash command.
    Pressed,
}

impl DecidedBy {
    /// `model` or `parser`, as in the metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Parser => "parser",
            Self::Pressed => "pressed",
        }
    }
}

/// What the agent did with a message.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The answer for the chat, one sentence per action.
    pub text: String,
    /// Jobs started (or asked about) by this message.
    pub jobs: Vec<JobId>,
    /// Of those, the jobs it started (its renders): the ones a chat follows.
    pub started: Vec<JobId>,
    pub steps: Vec<Step>,
    pub decided_by: DecidedBy,
}

impl Reply {
    pub fn actions(&self) -> Vec<Action> {
        self.steps.iter().map(|s| s.action.clone()).collect()
    }
}

pub struct Agent {
    model: Option<Model>,
    prompts: Prompts,
    hands: Hands,
}

impl Agent {
    /// Without a usable model (none configured, or no HTTP client), the parser decides.
    pub fn new(model: Option<OllamaSettings>, prompts: Prompts, hands: Hands) -> Self {
        let model = model.and_then(|settings| {
            Model::new(settings)
                .inspect_err(|e| tracing::error!(error = %e, "the model is off"))
                .ok()
        });
        Self {
            model,
            prompts,
            hands,
        }
    }

    /// An agent that only plans (`spinbot plan`): it reads and changes nothing.
    pub fn planner(model: Option<OllamaSettings>, prompts: Prompts) -> Self {
        Self::new(model, prompts, Hands::DryRun)
    }

    /// What would be done with `text`.
    pub async fn plan(&self, caller: &Caller, text: &str) -> (Vec<Action>, DecidedBy) {
        let decided = self.act(caller, text).await;
        (
            decided.steps.into_iter().map(|s| s.action).collect(),
            decided.by,
        )
    }

    /// The sentence a message from `user` is answered with when they may not be served at
    /// all (an admin blocked them); `None` when they may.
    pub async fn declines(&self, user: &UserId) -> Option<String> {
        let caller = Caller {
            user: user.clone(),
            max_bytes: None,
            reply: None,
            network: None,
        };
        match self.hands.is_blocked(&caller).await {
            Ok(true) => Some(Declined::from(Refusal::Blocked).0),
            Ok(false) => None,
            Err(declined) => Some(declined.0),
        }
    }

    /// Carries out a message and answers it.
    pub async fn handle(&self, message: Message) -> Reply {
        let span = tracing::info_span!("message", user = %message.caller.user);
        async {
            let caller = &message.caller;
            if let Some(answer) = self.gate(caller, &message.text).await {
                return answer;
            }
            let run = Run::new(self.hands.clone());
            let uploaded = match self.take_uploads(&run, caller, &message.uploads).await {
                Ok(uploaded) => uploaded,
                Err(refused) => return reply(vec![refused], DecidedBy::Parser),
            };
            let mut steps = run.steps();
            if let Some(pressed) = &message.pressed {
                steps.extend(self.pressed(caller, pressed).await);
                let answer = reply(steps, DecidedBy::Pressed);
                tracing::info!(actions = ?answer.actions().iter().map(Action::name).collect::<Vec<_>>(), "pressed");
                return answer;
            }
            let text = message.text.trim();
            let mut by = DecidedBy::Parser;
            let mut said = None;
            // With a model, an answer to the bot's question is the model's to read (it hears
            // the question); without one, a yes or a voice answers it here.
            let answered = if text.is_empty() || self.hears(text) {
                None
            } else {
                self.hands.answer_question(caller, text).await
            };
            if let Some((action, result)) = answered {
                // A yes to the question asked before: that, and nothing else.
                steps.push(Step { action, result });
            } else if !text.is_empty() {
                let began = std::time::Instant::now();
                let decided = self.act(caller, &message.text).await;
                spinbot_jobs::metrics::process()
                    .decision(decided.by.name(), began.elapsed().as_secs_f64());
                steps.extend(decided.steps);
                by = decided.by;
                said = decided.said;
            } else if uploaded.voice_note && steps.iter().all(|s| s.result.is_ok()) {
                // A voice note alone means "make my video say this".
                let render = Action::Render { text: None, voice: None };
                let result = run.perform(caller.clone(), render.clone()).await;
                steps.push(Step { action: render, result });
            } else if steps.is_empty() {
                steps.extend(self.with_parser(caller, "help").await);
            }
            let mut answer = reply(steps, by);
            for said in [uploaded.matched, said].into_iter().flatten() {
                if !answer.text.is_empty() {
                    answer.text.push('\n');
                }
                answer.text.push_str(&said);
            }
            tracing::info!(actions = ?answer.actions().iter().map(Action::name).collect::<Vec<_>>(), by = ?answer.decided_by, "answered");
            answer
        }
        .instrument(span)
        .await
    }

    /// A blocked user gets one sentence and nothing is stored or done; an admin's command is
    /// run and answered. `None`: the message goes on.
    async fn gate(&self, caller: &Caller, text: &str) -> Option<Reply> {
        let blocked = match self.hands.is_blocked(caller).await {
            Ok(true) => Some(Declined::from(Refusal::Blocked)),
            Ok(false) => None,
            Err(declined) => Some(declined),
        };
        if let Some(declined) = blocked {
            tracing::info!("a message from a blocked user");
            let step = Step {
                action: Action::Unsupported,
                result: Err(declined),
            };
            return Some(reply(vec![step], DecidedBy::Parser));
        }
        let command = admin::parse(text)?;
        let text = match admin::run(&self.hands, caller, command).await {
            Ok(said) => said,
            Err(declined) => declined.0,
        };
        Some(Reply {
            text,
            jobs: Vec::new(),
            started: Vec::new(),
            steps: Vec::new(),
            decided_by: DecidedBy::Parser,
        })
    }

    /// Notes the files that came with the message (the latest photo, the latest voice note)
    /// as steps of `run`; a file refused ends the message with its sentence.
    async fn take_uploads(
        &self,
        run: &Arc<Run>,
        caller: &Caller,
        uploads: &[Upload],
    ) -> Result<Uploaded, Step> {
        let mut uploaded = Uploaded::default();
        for upload in uploads {
            let action = match upload {
                Upload::Photo { .. } => Action::UsePhoto,
                Upload::VoiceNote { .. } => {
                    uploaded.voice_note = true;
                    Action::UseVoiceNote
                }
            };
            match self.hands.remember_upload(caller, upload).await {
                Err(declined) => {
                    return Err(Step {
                        action,
                        result: Err(declined),
                    })
                }
                Ok(Some(sentence)) => uploaded.matched = Some(sentence),
                Ok(None) => {}
            }
            run.perform(caller.clone(), action).await.ok();
        }
        Ok(uploaded)
    }

    /// Decides and carries out what `text` asks: the model first when there is one, the
    /// parser when there is not or it fails before acting. A model that answers without
    /// calling a tool (a question back, a refusal) is taken at its word: nothing is done.
    async fn act(&self, caller: &Caller, text: &str) -> Decided {
        let chars = text.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            let declined = Declined(format!(
                "That message is {chars} characters long; please keep it under {MAX_MESSAGE_CHARS}."
            ));
            return Decided::parser(vec![Step {
                action: Action::Unsupported,
                result: Err(declined),
            }]);
        }
        let Some(model) = self.model.as_ref().filter(|_| self.hears(text)) else {
            return Decided::parser(self.with_parser(caller, text).await);
        };
        // The question asked before, if any: the model hears it with the message.
        let question = self.hands.take_question(caller).await.ok().flatten();
        let run = Run::with_question(self.hands.clone(), question);
        let outcome = run_model(model, &self.prompts, &run, caller, text).await;
        // Actions begun finish even when the run was given up: never a second try.
        let steps = run.settled_steps().await;
        match outcome {
            Ok(_) if !steps.is_empty() => Decided::model(steps, None),
            Ok(answer) => {
                tracing::info!("the model answered without acting");
                let answer = answer.trim();
                let said = if answer.is_empty() {
                    UNCLEAR.to_owned()
                } else {
                    answer.chars().take(MAX_MODEL_REPLY_CHARS).collect()
                };
                Decided::model(Vec::new(), Some(said))
            }
            // What the model already did stands; doing it again would double it.
            Err(e) if run.acted() => {
                tracing::warn!(error = %e, "the model failed after acting");
                Decided::model(steps, None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the model is unusable; the built-in parser answers");
                // The question it did not hear is answered as without a model.
                if let Some(question) = run.open_question() {
                    let answer = self.hands.answer_text(caller, question, text).await;
                    if let Some((action, result)) = answer {
                        return Decided::parser(vec![Step { action, result }]);
                    }
                }
                Decided::parser(self.with_parser(caller, text).await)
            }
        }
    }

    /// Whether the model (when there is one) reads `text`: everything but a slash command,
    /// which means exactly one thing.
    fn hears(&self, text: &str) -> bool {
        self.model.is_some() && !text.trim_start().starts_with('/')
    }

    /// A press: the answer to the question asked when it is one, else its action, done as
    /// typed (no model, no parser).
    async fn pressed(&self, caller: &Caller, pressed: &Pressed) -> Vec<Step> {
        let question = match self.hands.take_question(caller).await {
            Ok(question) => question,
            Err(declined) => {
                return vec![Step {
                    action: Action::Unsupported,
                    result: Err(declined),
                }]
            }
        };
        let run = Run::with_question(self.hands.clone(), question);
        run.press(caller.clone(), pressed.clone()).await.ok();
        run.steps()
    }

    async fn with_parser(&self, caller: &Caller, text: &str) -> Vec<Step> {
        let run = Run::new(self.hands.clone());
        for action in understand::parse(text) {
            run.perform(caller.clone(), action).await.ok();
        }
        run.steps()
    }
}

/// What the files of a message did: whether a voice note came, and the voice it matched
/// (a sentence to tell the person).
#[derive(Default)]
struct Uploaded {
    voice_note: bool,
    matched: Option<String>,
}

/// What was decided for a message, and done: the steps, who decided, and the model's own
/// words when it answered without acting.
struct Decided {
    steps: Vec<Step>,
    by: DecidedBy,
    said: Option<String>,
}

impl Decided {
    fn parser(steps: Vec<Step>) -> Self {
        Self {
            steps,
            by: DecidedBy::Parser,
            said: None,
        }
    }

    fn model(steps: Vec<Step>, said: Option<String>) -> Self {
        Self {
            steps,
            by: DecidedBy::Model,
            said,
        }
    }
}

/// The answer when the model said nothing and did nothing.
const UNCLEAR: &str = "Sorry, I didn't get that. /help shows what I can do.";
/// The most of a model's own answer passed on.
const MAX_MODEL_REPLY_CHARS: usize = 1500;

fn reply(steps: Vec<Step>, decided_by: DecidedBy) -> Reply {
    // What was done is said once, even when two steps did it (a selfie sent with "here is
    // my selfie" is taken by the upload and asked for by the words); every refusal is said,
    // one for each thing asked.
    let mut said: Vec<String> = Vec::new();
    for step in &steps {
        match &step.result {
            Ok(done) if said.contains(&done.say) => {}
            Ok(done) => said.push(done.say.clone()),
            Err(declined) => said.push(declined.0.clone()),
        }
    }
    let text = said.join("\n");
    let job = |s: &Step| s.result.as_ref().ok().and_then(|d| d.job.clone());
    let jobs = steps.iter().filter_map(job).collect();
    let started = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Render { .. }))
        .filter_map(job)
        .collect();
    Reply {
        text,
        jobs,
        started,
        steps,
        decided_by,
    }
}
