//! What the agent decided to do with a message: one list of actions, the same whether the
//! model or the built-in parser decided it, so `spinbot plan`, the evaluation set and the
//! executor all speak one vocabulary.

use serde::{Deserialize, Serialize};

/// One thing to do for the person who wrote the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Render a video: of `text` when given, else of the pending script or voice note.
    Render {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voice: Option<String>,
    },
    /// How a job is doing: the given one, else the latest.
    Status {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<String>,
    },
    /// Stop a job: the given one, else the latest.
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<String>,
    },
    ListVoices,
    ChooseVoice {
        voice: String,
    },
    /// A short script about `topic` (`text`, when a model wrote it), shown before it renders.
    WriteScript {
        topic: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Make the latest photo sent the avatar.
    UsePhoto,
    /// Speak the latest voice note sent.
    UseVoiceNote,
    /// Delete the person's files and records: asked first (`confirmed` false), done only
    /// after an explicit yes.
    ForgetMe {
        #[serde(default)]
        confirmed: bool,
    },
    Help,
    /// Outside what the product does.
    Unsupported,
}

impl Action {
    /// The action's name as it appears in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Render { .. } => "render",
            Action::Status { .. } => "status",
            Action::Cancel { .. } => "cancel",
            Action::ListVoices => "list_voices",
            Action::ChooseVoice { .. } => "choose_voice",
            Action::WriteScript { .. } => "write_script",
            Action::UsePhoto => "use_photo",
            Action::UseVoiceNote => "use_voice_note",
            Action::ForgetMe { .. } => "forget_me",
            Action::Help => "help",
            Action::Unsupported => "unsupported",
        }
    }

    pub fn render(text: impl Into<String>) -> Self {
        Action::Render {
            text: Some(text.into()),
            voice: None,
        }
    }
}

/// A button, a menu choice or a slash command's options: what it means, typed, so it is
/// never read as text (a slash command's words are spoken as they are, whatever they say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pressed {
    /// Do this.
    Act(Action),
    /// Yes to the question the bot asked (its confirm button).
    Yes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_the_action_and_leaves_out_what_is_absent() {
        let json = serde_json::to_string(&vec![
            Action::render("hello there"),
            Action::Status { job: None },
            Action::ListVoices,
        ])
        .unwrap_or_default();
        assert_eq!(
            json,
            r#"[{"action":"render","text":"hello there"},{"action":"status"},{"action":"list_voices"}]"#
        );
        let back: Vec<Action> = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].name(), "render");
    }
}
