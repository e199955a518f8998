//! User input that is parsed once, and the one-sentence answers given when it is bad.

use crate::limits::{
    MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS, MAX_TEXT_CHARS, MAX_VOICE_NOTE_BYTES, MAX_VOICE_NOTE_SECONDS,
};
use serde::{Deserialize, Serialize};

/// Why an input was refused. Each message is one clear sentence meant for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("I can't read that file: {0}.")]
    Unreadable(String),
    #[error("That photo isn't a JPEG, PNG or WebP image.")]
    PhotoFormat,
    #[error("That photo is {mb:.1} MB; the limit is {} MB.", MAX_PHOTO_BYTES / 1_000_000)]
    PhotoTooLarge { mb: f64 },
    #[error(
        "That photo is {megapixels:.1} megapixels; the limit is {} megapixels.",
        MAX_PHOTO_PIXELS / 1_000_000
    )]
    PhotoTooManyPixels { megapixels: f64 },
    #[error("That photo looks damaged or truncated and can't be decoded.")]
    PhotoCorrupt,
    #[error("I couldn't find a face in that photo.")]
    NoFace,
    #[error("There is no text to speak.")]
    TextEmpty,
    #[error("That text is {chars} characters long; the limit is {MAX_TEXT_CHARS}.")]
    TextTooLong { chars: usize },
    #[error("That voice note isn't OGG/Opus, WebM, MP3, M4A or WAV audio.")]
    AudioFormat,
    #[error("That voice note is {mb:.1} MB; the limit is {} MB.", MAX_VOICE_NOTE_BYTES / 1_000_000)]
    AudioTooLarge { mb: f64 },
    #[error(
        "That voice note is {seconds:.0} seconds long; the limit is {} minutes.",
        MAX_VOICE_NOTE_SECONDS / 60.0
    )]
    AudioTooLong { seconds: f64 },
    #[error("That voice note looks damaged or truncated and can't be decoded.")]
    AudioCorrupt,
    #[error("That voice note is silent or empty.")]
    AudioEmpty,
    #[error("There is no voice called \"{0}\"; `spinbot voices` lists them.")]
    UnknownVoice(String),
    #[error("{0}")]
    Option(String),
}

/// Text to speak: trimmed, 1 to [`MAX_TEXT_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpeechText(String);

impl SpeechText {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars == 0 || !text.chars().any(|c| c.is_alphanumeric()) {
            return Err(InputError::TextEmpty);
        }
        if chars > MAX_TEXT_CHARS {
            return Err(InputError::TextTooLong { chars });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SpeechText {
    type Error = InputError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SpeechText> for String {
    fn from(value: SpeechText) -> Self {
        value.0
    }
}

/// The file extension a photo's first bytes call for (JPEG, PNG or WebP); anything else is
/// refused. The farm decodes and checks the photo fully; this is the chat's quick answer.
pub fn sniff_photo(head: &[u8]) -> Result<&'static str, InputError> {
    if head.starts_with(&[0xff, 0xd8, 0xff]) {
        Ok("jpg")
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("png")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Ok("webp")
    } else {
        Err(InputError::PhotoFormat)
    }
}

/// The file extension a voice note's first bytes call for (OGG, MP3, M4A/MP4, WAV or WebM).
pub fn sniff_audio(head: &[u8]) -> Result<&'static str, InputError> {
    if head.starts_with(b"OggS") {
        Ok("ogg")
    } else if head.starts_with(b"ID3")
        || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0)
    {
        Ok("mp3")
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Ok("m4a")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        Ok("wav")
    } else if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        // Matroska/WebM: what browsers record (Opus inside).
        Ok("webm")
    } else {
        Err(InputError::AudioFormat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(
            SpeechText::parse("  hi there \n").map(|t| t.0),
            Ok("hi there".into())
        );
        assert_eq!(SpeechText::parse("   "), Err(InputError::TextEmpty));
        assert_eq!(SpeechText::parse("?!."), Err(InputError::TextEmpty));
        let long = "a".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            SpeechText::parse(&long),
            Err(InputError::TextTooLong {
                chars: MAX_TEXT_CHARS + 1
            })
        );
        assert!(SpeechText::parse(&"é".repeat(MAX_TEXT_CHARS)).is_ok());
    }

    #[test]
    fn text_from_json_is_checked() {
        let bad: Result<SpeechText, _> = serde_json::from_str("\"  \"");
        assert!(bad.is_err());
        let good: SpeechText = serde_json::from_str("\"hello\"").expect("valid text");
        assert_eq!(good.as_str(), "hello");
    }

    #[test]
    fn every_message_is_one_sentence() {
        let all = [
            InputError::Unreadable("no such file".into()),
            InputError::PhotoFormat,
            InputError::PhotoTooLarge { mb: 21.0 },
            InputError::PhotoTooManyPixels { megapixels: 50.0 },
            InputError::PhotoCorrupt,
            InputError::NoFace,
            InputError::TextEmpty,
            InputError::TextTooLong { chars: 1001 },
            InputError::AudioFormat,
            InputError::AudioTooLarge { mb: 30.0 },
            InputError::AudioTooLong { seconds: 400.0 },
            InputError::AudioCorrupt,
            InputError::AudioEmpty,
            InputError::UnknownVoice("x".into()),
        ];
        for e in all {
            let m = e.to_string();
            assert!(m.ends_with('.'), "{m}");
            assert!(!m.contains('\n'), "{m}");
        }
    }
}
