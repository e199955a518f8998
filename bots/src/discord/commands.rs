//! The slash commands and buttons: their definitions as registered with Discord, and each
//! one as the text the conversation loop takes (`/say hello` is a render of "hello"), so
//! Discord's commands mean exactly what the same words mean on Telegram.

use serde_json::{json, Value};
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

/// A slash command as the loop's text; `None` for one the bot does not have.
pub fn as_text(name: &str, text: Option<&str>, voice: Option<&str>) -> Option<String> {
    Some(match name {
        "say" => {
            let text = text.unwrap_or_default().trim();
            match voice {
                Some(voice) => format!("/say {text} with the voice {voice}"),
                None => format!("/say {text}"),
            }
        }
        "voice" => format!("/voice {}", voice.unwrap_or_default()),
        "status" | "cancel" | "voices" | "forget" | "help" => format!("/{name}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_buttons_become_the_words_they_mean() {
        assert_eq!(
            as_text("say", Some(" hi there "), None).as_deref(),
            Some("/say hi there")
        );
        assert_eq!(
            as_text("say", Some("hi"), Some("en_US-joe-medium")).as_deref(),
            Some("/say hi with the voice en_US-joe-medium")
        );
        assert_eq!(as_text("status", None, None).as_deref(), Some("/status"));
        assert_eq!(as_text("rm", None, None), None);
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
            assert!(as_text(name, Some("x"), Some("joe")).is_some(), "{name}");
        }
        assert_eq!(defs[4]["options"][0]["choices"][0]["value"], "joe");
        assert_eq!(
            defs[4]["options"][0]["choices"][0]["name"],
            "joe (American man)"
        );
    }
}
