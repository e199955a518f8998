//! The model's tools: each one turns its arguments into an [`Action`] and hands it to the
//! run's [`Hands`] for the caller found in the tool context. No tool takes a user, and
//! unknown argument names are refused, so a model cannot point a tool at someone else.

use crate::action::{Action, Pressed};
use crate::executor::{Caller, Declined};
use crate::prompts::Prompts;
use crate::run::Run;
use rig_core::tool::{Tool, ToolContext, ToolExecutionError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::marker::PhantomData;
use std::sync::Arc;

/// What a tool is: its name, arguments and schema, and the action they make.
pub trait Kind: Send + Sync + 'static {
    const NAME: &'static str;
    type Args: DeserializeOwned + Send + Sync;
    fn schema() -> Value;
    fn action(args: Self::Args) -> Action;
    /// What calling it presses: its action, unless the tool answers the question asked.
    fn pressed(args: Self::Args) -> Pressed {
        Pressed::Act(Self::action(args))
    }
}

/// A tool of kind `K` bound to one run.
pub struct ActionTool<K> {
    run: Arc<Run>,
    description: String,
    kind: PhantomData<K>,
}

impl<K: Kind> ActionTool<K> {
    pub fn new(run: &Arc<Run>, prompts: &Prompts) -> Self {
        Self {
            run: run.clone(),
            description: prompts.tool(K::NAME),
            kind: PhantomData,
        }
    }
}

impl<K: Kind> Tool for ActionTool<K> {
    const NAME: &'static str = K::NAME;
    type Args = K::Args;
    type Output = String;
    type Error = Declined;

    fn description(&self) -> String {
        self.description.clone()
    }

    fn parameters(&self) -> Value {
        K::schema()
    }

    fn map_error(&self, error: Declined) -> ToolExecutionError {
        // The model sees the sentence, so it can tell the user.
        let feedback = error.0.clone();
        ToolExecutionError::from_error(error).with_model_feedback(feedback)
    }

    async fn call(&self, context: &mut ToolContext, args: K::Args) -> Result<String, Declined> {
        let caller = context
            .get::<Caller>()
            .ok()
            .flatten()
            .ok_or_else(|| Declined("I can't tell who is asking.".into()))?;
        self.run
            .press(caller, K::pressed(args))
            .await
            .map(|done| done.say)
    }
}

/// Arguments of a tool that takes none (anything given is refused).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

fn no_args() -> Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

fn job_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"job": {"type": "string", "description": "A job id the person gave; leave out for their latest"}},
        "additionalProperties": false
    })
}

pub struct Say;
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SayArgs {
    text: String,
    #[serde(default)]
    voice: Option<String>,
}
impl Kind for Say {
    const NAME: &'static str = "say";
    type Args = SayArgs;
    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "The exact words to speak, as the person wrote them"},
                "voice": {"type": "string", "description": "A voice name, only if the person named one"}
            },
            "required": ["text"],
            "additionalProperties": false
        })
    }
    fn action(args: SayArgs) -> Action {
        Action::Render {
            text: Some(args.text),
            voice: args.voice,
        }
    }
}

pub struct Render;
impl Kind for Render {
    const NAME: &'static str = "render";
    type Args = NoArgs;
    fn schema() -> Value {
        no_args()
    }
    fn action(_: NoArgs) -> Action {
        Action::Render {
            text: None,
            voice: None,
        }
    }
}

pub struct UsePhoto;
impl Kind for UsePhoto {
    const NAME: &'static str = "use_photo";
    type Args = NoArgs;
    fn schema() -> Value {
        no_args()
    }
    fn action(_: NoArgs) -> Action {
        Action::UsePhoto
    }
}

pub struct UseVoiceNote;
impl Kind for UseVoiceNote {
    const NAME: &'static str = "use_voice_note";
    type Args = NoArgs;
    fn schema() -> Value {
        no_args()
    }
    fn action(_: NoArgs) -> Action {
        Action::UseVoiceNote
    }
}

pub struct ChooseVoice;
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceArgs {
    voice: String,
}
impl Kind for ChooseVoice {
    const NAME: &'static str = "choose_voice";
    type Args = VoiceArgs;
    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {"voice": {"type": "string", "description": "The voice's name"}},
            "required": ["voice"],
            "additionalProperties": false
        })
    }
    fn action(args: VoiceArgs) -> Action {
        Action::ChooseVoice { voice: args.voice }
    }
}

pub struct ListVoices;
impl Kind for ListVoices {
    const NAME: &'static str = "list_voices";
    type Args = NoArgs;
    fn schema() -> Value {
        no_args()
    }
    fn action(_: NoArgs) -> Action {
        Action::ListVoices
    }
}

pub struct WriteScript;
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptArgs {
    topic: String,
    script: String,
}
impl Kind for WriteScript {
    const NAME: &'static str = "write_script";
    type Args = ScriptArgs;
    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "topic": {"type": "string", "description": "What the person asked the script to be about"},
                "script": {"type": "string", "description": "The script, at most 60 words"}
            },
            "required": ["topic", "script"],
            "additionalProperties": false
        })
    }
    fn action(args: ScriptArgs) -> Action {
        Action::WriteScript {
            topic: args.topic,
            text: Some(args.script),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobArgs {
    #[serde(default)]
    job: Option<String>,
}

pub struct Status;
impl Kind for Status {
    const NAME: &'static str = "status";
    type Args = JobArgs;
    fn schema() -> Value {
        job_schema()
    }
    fn action(args: JobArgs) -> Action {
        Action::Status { job: args.job }
    }
}

pub struct CancelJob;
impl Kind for CancelJob {
    const NAME: &'static str = "cancel";
    type Args = JobArgs;
    fn schema() -> Value {
        job_schema()
    }
    fn action(args: JobArgs) -> Action {
        Action::Cancel { job: args.job }
    }
}

pub struct ForgetMe;
impl Kind for ForgetMe {
    const NAME: &'static str = "forget_me";
    type Args = NoArgs;
    fn schema() -> Value {
        no_args()
    }
    fn action(_: NoArgs) -> Action {
        Action::ForgetMe { confirmed: false }
    }
}

pub struct Help;
impl Kind for Help {
    const NAME: &'static str = "help";
    type Args = NoArgs;
    fn schema() -> Value {
        no_args()
    }
    fn action(_: NoArgs) -> Action {
        Action::Help
    }
}

/// Yes to the question the person was asked (offered only while one is open).
pub struct Confirm;
impl Kind for Confirm {
    const NAME: &'static str = crate::prompts::CONFIRM_TOOL;
    type Args = NoArgs;
    fn schema() -> Value {
        no_args()
    }
    /// Not an action of its own: what it confirms is the question's.
    fn action(_: NoArgs) -> Action {
        Action::Unsupported
    }
    fn pressed(_: NoArgs) -> Pressed {
        Pressed::Yes
    }
}
