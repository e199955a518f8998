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

/// The container of a voice note, recognised by its first bytes (never by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    Ogg,
    Mp3,
    M4a,
    Wav,
    /// Matroska/WebM: what browsers record (Opus inside).
    WebM,
}

/// Longest CPU time one ffmpeg run on a user's file may take, in seconds (a 5-minute note
/// decodes in about one).
pub const FFMPEG_CPU_SECONDS: u32 = 30;

impl AudioKind {
    /// The kind a voice note's first bytes call for; anything else is refused.
    pub fn sniff(head: &[u8]) -> Result<Self, InputError> {
        if head.starts_with(b"OggS") {
            Ok(Self::Ogg)
        } else if head.starts_with(b"ID3")
            || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0)
        {
            Ok(Self::Mp3)
        } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
            Ok(Self::M4a)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
            Ok(Self::Wav)
        } else if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
            Ok(Self::WebM)
        } else {
            Err(InputError::AudioFormat)
        }
    }

    /// The file extension it is stored under.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Ogg => "ogg",
            Self::Mp3 => "mp3",
            Self::M4a => "m4a",
            Self::Wav => "wav",
            Self::WebM => "webm",
        }
    }

    /// ffmpeg's demuxer for it.
    pub fn demuxer(self) -> &'static str {
        match self {
            Self::Ogg => "ogg",
            Self::Mp3 => "mp3",
            Self::M4a => "mov",
            Self::Wav => "wav",
            Self::WebM => "matroska",
        }
    }

    /// The ffmpeg options that go before `-i` to open a user's file of this kind and
    /// nothing else: the demuxer pinned to the sniffed kind (no probing, so no playlist,
    /// concat or HLS demuxer can be reached, whatever follows a tag), local files only (no
    /// URL), and a CPU-time limit.
    pub fn ffmpeg_input(self) -> [String; 6] {
        [
            "-protocol_whitelist".into(),
            "file".into(),
            "-timelimit".into(),
            FFMPEG_CPU_SECONDS.to_string(),
            "-f".into(),
            self.demuxer().into(),
        ]
    }
}

/// The file extension a voice note's first bytes call for (OGG, MP3, M4A/MP4, WAV or WebM).
pub fn sniff_audio(head: &[u8]) -> Result<&'static str, InputError> {
    AudioKind::sniff(head).map(AudioKind::extension)
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
    fn audio_is_known_by_its_first_bytes() {
        assert_eq!(AudioKind::sniff(b"OggS\0\x02rest"), Ok(AudioKind::Ogg));
        assert_eq!(
            AudioKind::sniff(b"RIFF\0\0\0\0WAVEfmt "),
            Ok(AudioKind::Wav)
        );
        assert_eq!(
            AudioKind::sniff(b"\0\0\0\x20ftypM4A \0\0"),
            Ok(AudioKind::M4a)
        );
        assert_eq!(AudioKind::sniff(b"ID3\x04\0\0"), Ok(AudioKind::Mp3));
        assert_eq!(
            AudioKind::sniff(b"\x1a\x45\xdf\xa3\x9f"),
            Ok(AudioKind::WebM)
        );
        assert_eq!(AudioKind::sniff(b"#EXTM3U\n"), Err(InputError::AudioFormat));
        assert_eq!(
            AudioKind::sniff(b"ffconcat version 1.0"),
            Err(InputError::AudioFormat)
        );
        // An ID3 tag in front of a playlist is still opened as MP3, never probed.
        let args = AudioKind::sniff(b"ID3\x04\0\0\0\0\0\x10ffconcat")
            .map(AudioKind::ffmpeg_input)
            .expect("mp3");
        assert_eq!(args[4..], ["-f".to_owned(), "mp3".to_owned()]);
        assert_eq!(
            args[..2],
            ["-protocol_whitelist".to_owned(), "file".to_owned()]
        );
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
