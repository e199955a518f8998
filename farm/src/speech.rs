//! One speech interface over the engines: a voice by name, Piper's or Kokoro's, speaking
//! text into audio at the voice's own rate (22.05 kHz or 24 kHz; the rest of the pipeline
//! follows the audio's rate).

use crate::assets::Assets;
use crate::audio::Audio;
use crate::error::FarmError;
use crate::lipsync::phones::Phones;
use crate::{kokoro, tts};
use spinbot_core::SpeechText;
use std::sync::{Arc, Mutex};

/// Speech with the times of its phones.
#[derive(Debug, Clone)]
pub struct Spoken {
    pub audio: Audio,
    pub phones: Phones,
}

/// A loaded voice of either engine.
pub enum Speaker {
    Piper(tts::Voice),
    Kokoro(kokoro::Voice),
}

impl Speaker {
    /// The voice called `name`: a Kokoro voice when one has that name, else a Piper voice.
    /// `kokoro` gives the shared Kokoro model (loaded once by the caller).
    pub fn load(
        assets: &Assets,
        name: &str,
        kokoro: impl FnOnce() -> Result<Arc<Mutex<kokoro::Model>>, FarmError>,
    ) -> Result<Self, FarmError> {
        if kokoro::is_installed(assets, name) {
            return Ok(Self::Kokoro(kokoro::Voice::load(assets, name, kokoro()?)?));
        }
        Ok(Self::Piper(tts::Voice::load(assets, name)?))
    }

    /// Speaks checked text with the voice's own settings.
    pub fn speak(&mut self, text: &SpeechText) -> Result<Spoken, FarmError> {
        self.speak_timed(text.as_str())
    }

    /// Speaks `text` with the voice's own settings (benchmarks and tests).
    pub fn speak_str(&mut self, text: &str) -> Result<Audio, FarmError> {
        Ok(self.speak_timed(text)?.audio)
    }

    /// Speaks `text` with the voice's own settings, with its phones' times.
    pub fn speak_timed(&mut self, text: &str) -> Result<Spoken, FarmError> {
        match self {
            Self::Piper(v) => v.speak_timed(text, v.default_scales()),
            Self::Kokoro(v) => v.speak_timed(text),
        }
    }
}
