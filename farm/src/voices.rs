//! The catalogue of installed voices, whatever their engine: each with the name `--voice`
//! takes, its language, accent and gender, listed language by language with the language's
//! recommended woman's and man's voice first.

use crate::assets::Assets;
use crate::error::FarmError;
use crate::{kokoro, tts};
use serde::Serialize;

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
            name,
        });
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
