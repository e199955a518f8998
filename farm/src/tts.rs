//! Text to speech with Piper voices (VITS as ONNX): espeak-ng phonemes -> ids -> audio,
//! one sentence at a time, each peak-normalised, as Piper itself does. The model's own
//! durations (`w_ceil`, made an output when the voice loads) time the phones it spoke.

use crate::assets::Assets;
use crate::audio::Audio;
use crate::error::FarmError;
use crate::lipsync::phones::{Phones, Timing};
use crate::onnx;
use crate::phonemize::phonemize;
use crate::speech::Spoken;
use ort::session::Session;
use ort::value::Tensor;
use serde::{Deserialize, Serialize};
use spinbot_core::{InputError, SpeechText};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The model's inner tensor of per-id durations (`w_ceil`, frames of 256 samples).
const DURATIONS: &str = "/Ceil_output_0";

/// The parts of a Piper `.onnx.json` that synthesis needs.
#[derive(Debug, Clone, Deserialize)]
struct VoiceConfig {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: Scales,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    num_speakers: u32,
    #[serde(default)]
    language: Option<Language>,
}

#[derive(Debug, Clone, Deserialize)]
struct AudioConfig {
    sample_rate: u32,
    #[serde(default)]
    quality: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Language {
    code: String,
}

/// Synthesis knobs: `noise_scale` (voice variation), `length_scale` (slower above 1) and
/// `noise_w` (timing variation). Zero noise makes synthesis deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Scales {
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
}

/// A voice as `spinbot voices` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceInfo {
    pub name: String,
    pub language: String,
    pub quality: String,
    pub sample_rate: u32,
}

/// The voices in the assets folder, by name.
pub fn list_voices(assets: &Assets) -> Result<Vec<VoiceInfo>, FarmError> {
    let dir = assets.voices_dir();
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| FarmError::io(format!("reading {}", dir.display()), e))?;
    let mut voices = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".onnx") else {
            continue;
        };
        let config = read_config(&path.with_extension("onnx.json"))?;
        voices.push(VoiceInfo {
            name: stem.to_owned(),
            language: config.language.map_or(config.espeak.voice, |l| l.code),
            quality: config.audio.quality.unwrap_or_default(),
            sample_rate: config.audio.sample_rate,
        });
    }
    voices.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(voices)
}

fn read_config(path: &Path) -> Result<VoiceConfig, FarmError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FarmError::io(format!("reading {}", path.display()), e))?;
    serde_json::from_str(&text).map_err(|e| FarmError::Model(format!("{}: {e}", path.display())))
}

/// A loaded Piper voice.
pub struct Voice {
    name: String,
    config: VoiceConfig,
    session: Session,
}

impl Voice {
    /// Loads the voice called `name` (a file `voices/NAME.onnx`).
    pub fn load(assets: &Assets, name: &str) -> Result<Self, FarmError> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !name.starts_with('.');
        let model: PathBuf = assets.voices_dir().join(format!("{name}.onnx"));
        if !valid || !model.is_file() {
            return Err(InputError::UnknownVoice(name.to_owned()).into());
        }
        let config = read_config(&model.with_extension("onnx.json"))?;
        let session = onnx::session_with_output(
            assets,
            &model,
            onnx::default_threads(),
            DURATIONS,
            onnx::FLOAT,
        )?;
        Ok(Self {
            name: name.to_owned(),
            config,
            session,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sample_rate(&self) -> u32 {
        self.config.audio.sample_rate
    }

    /// The voice's own synthesis settings.
    pub fn default_scales(&self) -> Scales {
        self.config.inference
    }

    /// Speaks `text` with the voice's own settings.
    pub fn speak(&mut self, text: &SpeechText) -> Result<Audio, FarmError> {
        let scales = self.default_scales();
        self.speak_with(text.as_str(), scales)
    }

    /// Speaks `text` with the given settings.
    pub fn speak_with(&mut self, text: &str, scales: Scales) -> Result<Audio, FarmError> {
        Ok(self.speak_timed(text, scales)?.audio)
    }

    /// Speaks `text` with the given settings, with the phones' times.
    pub fn speak_timed(&mut self, text: &str, scales: Scales) -> Result<Spoken, FarmError> {
        let rate = f64::from(self.sample_rate());
        let mut clips = Vec::new();
        let mut phones = Phones::new(Timing::Piper);
        for sentence in phonemize(&self.config.espeak.voice, text)? {
            let (ids, symbols) = self.phoneme_ids(&sentence);
            let (clip, frames) = self.synthesize(ids, scales)?;
            // The durations count the clip's samples in frames of one size (256 samples);
            // spread exactly over the clip.
            let total: f32 = frames.iter().sum();
            let per_frame = if total > 0.0 {
                clip.len() as f64 / f64::from(total) / rate
            } else {
                0.0
            };
            let timed: Vec<(Option<char>, f64)> = symbols
                .into_iter()
                .zip(&frames)
                .map(|(s, &n)| (s, f64::from(n) * per_frame))
                .collect();
            phones.push_engine_symbols(&timed);
            clips.push(clip);
        }
        let audio = Audio::from_sentences(clips, self.sample_rate())?;
        Ok(Spoken { audio, phones })
    }

    /// Piper's ids: BOS, then each known symbol followed by PAD, then EOS; with each id's
    /// symbol (`None` for a PAD).
    fn phoneme_ids(&self, phonemes: &[String]) -> (Vec<i64>, Vec<Option<char>>) {
        let map = &self.config.phoneme_id_map;
        let id = |s: &str| map.get(s).cloned().unwrap_or_default();
        let pad = id("_");
        let mut ids = Vec::new();
        let mut symbols = Vec::new();
        let mut push = |v: &[i64], symbol: Option<char>| {
            ids.extend_from_slice(v);
            symbols.extend(std::iter::repeat_n(symbol, v.len()));
        };
        push(&id("^"), Some('^'));
        push(&pad, None);
        for p in phonemes {
            match map.get(p.as_str()) {
                Some(v) => {
                    push(v, p.chars().next());
                    push(&pad, None);
                }
                None => tracing::debug!(phoneme = %p, voice = %self.name, "phoneme not in voice"),
            }
        }
        push(&id("$"), Some('$'));
        (ids, symbols)
    }

    /// The audio of `ids` and each id's duration in frames.
    fn synthesize(
        &mut self,
        ids: Vec<i64>,
        scales: Scales,
    ) -> Result<(Vec<f32>, Vec<f32>), FarmError> {
        let model_error = |e: ort::Error| FarmError::Model(format!("piper: {e}"));
        let n = ids.len();
        let input = Tensor::from_array(([1usize, n], ids)).map_err(model_error)?;
        let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(model_error)?;
        let scales = Tensor::from_array((
            [3usize],
            vec![scales.noise_scale, scales.length_scale, scales.noise_w],
        ))
        .map_err(model_error)?;
        let outputs = if self.config.num_speakers > 1 {
            let sid = Tensor::from_array(([1usize], vec![0i64])).map_err(model_error)?;
            self.session.run(ort::inputs![
                "input" => input, "input_lengths" => lengths, "scales" => scales, "sid" => sid
            ])
        } else {
            self.session.run(ort::inputs![
                "input" => input, "input_lengths" => lengths, "scales" => scales
            ])
        }
        .map_err(model_error)?;
        let (_, audio) = outputs["output"]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let (_, durations) = outputs[DURATIONS]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        if durations.len() != n {
            return Err(FarmError::Model(format!(
                "piper: {} durations for {n} ids",
                durations.len()
            )));
        }
        Ok((audio.to_vec(), durations.to_vec()))
    }
}
