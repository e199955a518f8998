//! The slash commands: their definitions as registered with Discord, and each one with its
//! options as the typed action it means (`/say text:hello` is a render of "hello", never
//! words for the parser to read).

use serde_json::{json, Value};
use spinbot_agent::{Action, Pressed};
use spinbot_core::limits::MAX_TEXT_CHARS;
use spinbot_core::VoiceEntry;

/// Choices offered for a string option (Discord takes 25).
const MAX_CHOICES: usize = 25;
/// Option types.
const STRING: u8 = 3;
const ATTACHMENT: u8 = 11;
/// Where commands may be used: guilds and DMs with the bot.
const CONTEXTS: [u8; 2] = [0, 1];

/// The commands, for a bulk overwrite.
pub fn definitions(voices: &[VoiceEntry]) -> Value {
    let choices: Vec<Value> = voices
        .iter()
        .take(MAX_CHOICES)
        .map(|v| json!({"name": v.describe(), "value": v.name}))
        .collect();
    let command = |name: &str, description: &str, options: Value| {
        json!({"name": name, "type": 1, "description": description, "options": options,
               "contexts": CONTEXTS})
    };
    json!([
        command(
            "say",
            "Make your avatar say something",
            json!([
                {"type": STRING, "name": "text", "description": "What your avatar says",
                 "required": true, "max_length": MAX_TEXT_CHARS},
                {"type": ATTACHMENT, "name": "photo",
                 "description": "A selfie to animate (else the last one you sent)", "required": false},
                {"type": STRING, "name": "voice", "description": "The voice to speak with",
                 "required": false, "choices": choices},
            ])
        ),
        command("status", "How your latest video is doing", json!([])),
        command("cancel", "Stop your latest video", json!([])),
        command("voices", "The voices I can speak with", json!([])),
        command(
            "voice",
            "Choose the voice of your videos",
            json!([
                {"type": STRING, "name": "name", "description": "The voice", "required": true,
                 "choices": choices},
            ])
        ),
        command("forget", "Delete everything I keep about you", json!([])),
        command("help", "What I can do", json!([])),
    ])
}

/// A slash command with its options as the action it means, typed (the text option is
/// spoken as written, whatever it says); `None` for one the bot does not have.
pub fn as_pressed(name: &str, text: Option<&str>, voice: Option<&str>) -> Option<Pressed> {
    let voice = voice
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    Some(Pressed::Act(match name {
        "say" => match text.map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => Action::Render {
                text: Some(text.to_owned()),
                voice,
            },
            None => Action::Help,
        },
        "voice" => match voice {
            Some(voice) => Action::ChooseVoice { voice },
            None => Action::ListVoices,
        },
        "status" => Action::Status { job: None },
        "cancel" => Action::Cancel { job: None },
        "voices" => Action::ListVoices,
        "forget" => Action::ForgetMe { confirmed: false },
        "help" => Action::Help,
        _ => return None,
    }))
}

/// What the transcript and the logs show of a slash command: `/say hello`.
pub fn as_text(name: &str, text: Option<&str>, voice: Option<&str>) -> String {
    let mut shown = format!("/{name}");
    for option in [text, voice].into_iter().flatten() {
        shown.push(' ');
        shown.push_str(option.trim());
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_become_the_actions_they_mean_with_their_words_as_written() {
        // Words that end like a voice choice are spoken whole; the voice option chooses.
        assert_eq!(
            as_pressed("say", Some(" I sing along with the voice amy "), None),
            Some(Pressed::Act(Action::Render {
                text: Some("I sing along with the voice amy".into()),
                voice: None
            }))
        );
        assert_eq!(
            as_pressed("say", Some("hi"), Some("en_US-joe-medium")),
            Some(Pressed::Act(Action::Render {
                text: Some("hi".into()),
                voice: Some("en_US-joe-medium".into())
            }))
        );
        assert_eq!(
            as_pressed("status", None, None),
            Some(Pressed::Act(Action::Status { job: None }))
        );
        assert_eq!(as_pressed("rm", None, None), None);
        assert_eq!(as_text("say", Some("hi"), None), "/say hi");
    }

    #[test]
    fn every_command_is_defined_with_a_description() {
        let joe = VoiceEntry {
            name: "joe".into(),
            language: "en-US".into(),
            accent: "American".into(),
            gender: "male".into(),
            recommended: true,
            timbre: None,
        };
        let defs = definitions(&[joe]);
        let names: Vec<&str> = defs
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["say", "status", "cancel", "voices", "voice", "forget", "help"]
        );
        for name in names {
            assert!(as_pressed(name, Some("x"), Some("joe")).is_some(), "{name}");
        }
        assert_eq!(defs[4]["options"][0]["choices"][0]["value"], "joe");
        assert_eq!(
            defs[4]["options"][0]["choices"][0]["name"],
            "joe (American man)"
        );
    }
}
