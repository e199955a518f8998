//! The catalogue of installed voices, whatever their engine: each with the name `--voice`
//! takes, its language, accent and gender, listed language by language with the language's
//! recommended woman's and man's voice first.

use crate::assets::Assets;
use crate::error::FarmError;
use crate::{kokoro, tts, Pipeline};
use serde::Serialize;
use spinbot_core::timbre::{self, Timbre};
use std::collections::BTreeMap;

/// The file of the voices' measured figures, in the assets folder.
const FIGURES: &str = "voice-figures.json";

/// A sentence in each language, about the same length (for measuring and testing voices).
pub fn sample_sentence(language: &str) -> &'static str {
    match language {
        "es" => "Hola, mañana tenemos una reunión a las diez en la oficina.",
        "fr" => "Bonjour, nous avons une réunion demain à dix heures au bureau.",
        "it" => "Ciao, domani abbiamo una riunione alle dieci in ufficio.",
        "pt-BR" => "Olá, amanhã temos uma reunião às dez horas no escritório.",
        "hi" => "नमस्ते, कल सुबह दस बजे दफ़्तर में हमारी बैठक है।",
        _ => "Hello, we have a meeting tomorrow at ten in the office.",
    }
}

/// Each voice's pitch and brightness, measured from its own output (a sample sentence and
/// a second one), by name; `progress` is told each voice's name as it is done.
pub fn measure(
    pipeline: &Pipeline,
    voices: &[VoiceInfo],
    mut progress: impl FnMut(&str),
) -> Result<BTreeMap<String, Timbre>, FarmError> {
    let mut figures = BTreeMap::new();
    for info in voices {
        let voice = pipeline.models().voice(&info.name)?;
        let mut voice = voice
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let audio = voice.speak_str(sample_sentence(&info.language))?;
        if let Some(timbre) = timbre::measure(&audio.samples, audio.rate) {
            figures.insert(info.name.clone(), timbre);
        }
        progress(&info.name);
    }
    Ok(figures)
}

/// Keeps measured figures in the assets folder, where [`list_voices`] finds them.
pub fn save_figures(assets: &Assets, figures: &BTreeMap<String, Timbre>) -> Result<(), FarmError> {
    let path = assets.root().join(FIGURES);
    let json = serde_json::to_string_pretty(figures)
        .map_err(|e| FarmError::tool("voices", e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| FarmError::io(path.display().to_string(), e))
}

/// The figures measured at set-up; none when they were not measured (or the file is bad).
fn load_figures(assets: &Assets) -> BTreeMap<String, Timbre> {
    std::fs::read_to_string(assets.root().join(FIGURES))
        .ok()
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// The engine that speaks a voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Piper,
    Kokoro,
}

/// A voice as `spinbot voices` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceInfo {
    pub name: String,
    /// `en-US`, `en-GB`, `es`, ...
    pub language: String,
    /// `American`, `British`, `Spanish`, ...
    pub accent: String,
    /// `female` or `male`.
    pub gender: String,
    pub engine: Engine,
    pub sample_rate: u32,
    /// The language's recommended woman's or man's voice.
    pub recommended: bool,
    /// Pitch and brightness, when measured (`spinbot voices --measure`).
    pub timbre: Option<Timbre>,
}

impl VoiceInfo {
    /// The voice as the chat sees it.
    pub fn entry(&self) -> spinbot_core::VoiceEntry {
        spinbot_core::VoiceEntry {
            name: self.name.clone(),
            language: self.language.clone(),
            accent: self.accent.clone(),
            gender: self.gender.clone(),
            recommended: self.recommended,
            timbre: self.timbre,
        }
    }
}

/// Languages in the order they are listed.
const LANGUAGES: [&str; 7] = ["en-US", "en-GB", "es", "fr", "it", "pt-BR", "hi"];

/// Each language's recommended woman's and man's voice.
const RECOMMENDED: [(&str, &str, &str); 7] = [
    ("en-US", "af_heart", "am_michael"),
    ("en-GB", "bf_emma", "bm_george"),
    ("es", "ef_dora", "em_alex"),
    ("fr", "ff_siwis", ""),
    ("it", "if_sara", "im_nicola"),
    ("pt-BR", "pf_dora", "pm_alex"),
    ("hi", "hf_alpha", "hm_omega"),
];

/// Piper's speakers by the middle of their name (`en_US-joe-medium`): Piper's files do not
/// say who speaks.
const PIPER_GENDERS: [(&str, &str); 16] = [
    ("joe", "male"),
    ("ryan", "male"),
    ("alan", "male"),
    ("norman", "male"),
    ("john", "male"),
    ("kusal", "male"),
    ("hfc_male", "male"),
    ("danny", "male"),
    ("amy", "female"),
    ("lessac", "female"),
    ("kathleen", "female"),
    ("alba", "female"),
    ("cori", "female"),
    ("jenny_dioco", "female"),
    ("hfc_female", "female"),
    ("kristin", "female"),
];

fn accent_of(code: &str) -> &'static str {
    kokoro::language_by_code(code).map_or("", |l| l.accent)
}

/// Every installed voice: Piper's (`voices/`) and Kokoro's (`kokoro/voices/`).
pub fn list_voices(assets: &Assets) -> Result<Vec<VoiceInfo>, FarmError> {
    let mut voices = Vec::new();
    for piper in tts::list_voices(assets)? {
        let code = piper.language.replace('_', "-");
        let speaker = piper.name.split('-').nth(1).unwrap_or_default();
        let gender = PIPER_GENDERS
            .iter()
            .find(|(who, _)| *who == speaker)
            .map_or("unknown", |(_, g)| g);
        voices.push(VoiceInfo {
            accent: accent_of(&code).to_owned(),
            language: code,
            gender: gender.to_owned(),
            engine: Engine::Piper,
            sample_rate: piper.sample_rate,
            recommended: false,
            timbre: None,
            name: piper.name,
        });
    }
    for name in kokoro::voice_names(assets) {
        let (Some(language), Some(gender)) = (kokoro::language(&name), kokoro::gender(&name))
        else {
            continue;
        };
        voices.push(VoiceInfo {
            recommended: RECOMMENDED.iter().any(|(code, woman, man)| {
                *code == language.code && (name == *woman || name == *man)
            }),
            language: language.code.to_owned(),
            accent: language.accent.to_owned(),
            gender: gender.to_owned(),
            engine: Engine::Kokoro,
            sample_rate: kokoro::SAMPLE_RATE,
            timbre: None,
            name,
        });
    }
    let figures = load_figures(assets);
    for v in &mut voices {
        v.timbre = figures.get(&v.name).copied();
    }
    voices.sort_by_key(order);
    Ok(voices)
}

/// Language by language; in each, the recommended woman, the recommended man, the rest.
fn order(v: &VoiceInfo) -> (usize, u8, String) {
    let language = LANGUAGES
        .iter()
        .position(|l| *l == v.language)
        .unwrap_or(LANGUAGES.len());
    let rank = match (v.recommended, v.gender.as_str()) {
        (true, "female") => 0,
        (true, _) => 1,
        _ => 2,
    };
    (language, rank, v.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(name: &str, language: &str, gender: &str, recommended: bool) -> VoiceInfo {
        VoiceInfo {
            name: name.into(),
            language: language.into(),
            accent: String::new(),
            gender: gender.into(),
            engine: Engine::Kokoro,
            sample_rate: 24_000,
            recommended,
            timbre: None,
        }
    }

    #[test]
    fn recommended_woman_and_man_lead_each_language() {
        let mut v = [
            voice("es_x", "es", "male", false),
            voice("am_michael", "en-US", "male", true),
            voice("af_alloy", "en-US", "female", false),
            voice("af_heart", "en-US", "female", true),
            voice("bf_emma", "en-GB", "female", true),
        ];
        v.sort_by_key(order);
        let names: Vec<_> = v.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["af_heart", "am_michael", "af_alloy", "bf_emma", "es_x"]
        );
    }

    #[test]
    fn accents_follow_the_language() {
        assert_eq!(accent_of("en-GB"), "British");
        assert_eq!(accent_of("es"), "Spanish");
        assert_eq!(accent_of("pt-BR"), "Brazilian");
    }
}
