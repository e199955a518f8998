//! A render plan: what to say (or which voice note), which photo, and how to encode, plus
//! the stages it runs through, each with a stored output and a progress weight.

use crate::input::{InputError, SpeechText};
use crate::limits::{
    DEFAULT_FPS, DEFAULT_SIZE, DEFAULT_VOICE, MAX_FPS, MAX_SIZE, MAX_UPSCALE, MIN_SIZE,
};
use serde::{Deserialize, Serialize};

/// Where the speech comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Speech {
    /// Text spoken by a Piper voice.
    Text { text: SpeechText, voice: String },
    /// A recorded voice note (its location), which is the speech itself.
    VoiceNote { audio: String },
}

/// What the encoded file must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Target {
    /// Largest file size in bytes (a platform's upload limit); `None` means quality first.
    pub max_bytes: Option<u64>,
}

/// What part of the photo the video shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crop {
    /// The whole photo at its own aspect and size (its short side capped by the renderer).
    #[default]
    Photo,
    /// A square around the face, `size` pixels a side (an avatar square).
    Face,
}

impl std::str::FromStr for Crop {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "photo" => Ok(Crop::Photo),
            "face" => Ok(Crop::Face),
            _ => Err(InputError::Option(
                "The crop must be \"photo\" (the whole photo) or \"face\" (a square around the face).".into(),
            )),
        }
    }
}

/// Everything the farm needs to render one video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub speech: Speech,
    /// Location of the photo.
    pub photo: String,
    /// What the video shows: the whole photo (the default) or a square around the face.
    #[serde(default)]
    pub crop: Crop,
    /// Side of the square face crop, in pixels (`Crop::Face` only).
    pub size: u32,
    pub fps: u32,
    /// The rendered frames are upscaled this many times.
    pub upscale: u32,
    pub target: Target,
}

impl Plan {
    /// A plan with the default size, frame rate and no upscale.
    pub fn new(speech: Speech, photo: impl Into<String>) -> Self {
        Self {
            speech,
            photo: photo.into(),
            crop: Crop::Photo,
            size: DEFAULT_SIZE,
            fps: DEFAULT_FPS,
            upscale: 1,
            target: Target::default(),
        }
    }

    /// A plan that speaks `text` with the default voice.
    pub fn say(text: SpeechText, photo: impl Into<String>) -> Self {
        Self::new(
            Speech::Text {
                text,
                voice: DEFAULT_VOICE.to_owned(),
            },
            photo,
        )
    }

    /// Checks the numbers again (the farm trusts nothing it is handed).
    pub fn validate(&self) -> Result<(), InputError> {
        if !(MIN_SIZE..=MAX_SIZE).contains(&self.size) || !self.size.is_multiple_of(2) {
            return Err(InputError::Option(format!(
                "The size must be an even number of pixels from {MIN_SIZE} to {MAX_SIZE}."
            )));
        }
        if !(1..=MAX_FPS).contains(&self.fps) {
            return Err(InputError::Option(format!(
                "The frame rate must be from 1 to {MAX_FPS}."
            )));
        }
        if !(1..=MAX_UPSCALE).contains(&self.upscale) {
            return Err(InputError::Option(format!(
                "The upscale factor must be from 1 to {MAX_UPSCALE}."
            )));
        }
        Ok(())
    }

    /// The stages in the order they run.
    pub fn stages(&self) -> [Stage; 3] {
        [Stage::Speech, Stage::Face, Stage::Render]
    }
}

/// One step of a plan. Each writes one stored output so an interrupted job resumes after
/// the last finished stage. Raw frames are never stored: `Render` streams them into the
/// encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Text to speech, or the voice note decoded: `speech.wav`.
    Speech,
    /// Face detection and landmarks: `face.json`.
    Face,
    /// Frames rendered and encoded with the speech: `video.mp4`.
    Render,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Speech => "speech",
            Stage::Face => "face",
            Stage::Render => "render",
        }
    }

    /// File name of the stage's stored output.
    pub fn output_file(self) -> &'static str {
        match self {
            Stage::Speech => "speech.wav",
            Stage::Face => "face.json",
            Stage::Render => "video.mp4",
        }
    }

    /// Share of the whole job's progress, summing to 1 over a plan's stages.
    pub fn weight(self) -> f64 {
        match self {
            Stage::Speech => 0.2,
            Stage::Face => 0.1,
            Stage::Render => 0.7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan::say(SpeechText::parse("hi").expect("text"), "me.jpg")
    }

    #[test]
    fn defaults_are_valid_and_weights_sum_to_one() {
        let p = plan();
        assert_eq!(p.validate(), Ok(()));
        let sum: f64 = p.stages().iter().map(|s| s.weight()).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert_eq!(p.crop, Crop::Photo);
    }

    #[test]
    fn bad_numbers_are_refused() {
        for (size, fps, up) in [
            (0, 25, 1),
            (513, 25, 1),
            (4096, 25, 1),
            (512, 0, 1),
            (512, 25, 9),
        ] {
            let p = Plan {
                size,
                fps,
                upscale: up,
                ..plan()
            };
            assert!(p.validate().is_err(), "{size} {fps} {up}");
        }
    }

    #[test]
    fn a_plan_queued_before_crops_existed_shows_the_whole_photo() {
        let mut json = serde_json::to_value(plan()).expect("serialize");
        json.as_object_mut().expect("object").remove("crop");
        let old: Plan = serde_json::from_value(json).expect("deserialize");
        assert_eq!(old.crop, Crop::Photo);
    }

    #[test]
    fn plan_round_trips_as_json() {
        let p = plan();
        let json = serde_json::to_string(&p).expect("serialize");
        let back: Plan = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, p);
    }
}
