//! A voice as the chat sees it (name, language, accent, gender), choosing one the way people
//! ask: by its name, a part of it ("heart" for `af_heart`), or a description ("a woman's
//! voice", "a British man", "a deeper voice", "Spanish"), and the voice for the language a
//! text is written in.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceEntry {
    pub name: String,
    /// `en-US`, `en-GB`, `es`, ...
    pub language: String,
    /// `American`, `British`, `Spanish`, ...
    pub accent: String,
    /// `female` or `male`.
    pub gender: String,
    /// The language's recommended woman's or man's voice.
    pub recommended: bool,
    /// Its pitch and brightness, once measured (`spinbot voices --measure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timbre: Option<crate::Timbre>,
}

impl VoiceEntry {
    /// "af_heart (American woman)".
    pub fn describe(&self) -> String {
        let who = match self.gender.as_str() {
            "female" => "woman",
            "male" => "man",
            _ => "voice",
        };
        format!("{} ({} {who})", self.name, self.accent)
    }
}

/// What a description asks for; `None` where it says nothing.
#[derive(Debug, Default, PartialEq, Eq)]
struct Wish {
    gender: Option<&'static str>,
    language: Option<&'static str>,
}

/// Words that describe a voice.
fn wish(description: &str) -> Wish {
    let lower = description.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_end_matches("'s"))
        .filter(|w| !w.is_empty())
        .collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    let gender = if has(&[
        "woman", "women", "female", "girl", "lady", "feminine", "higher", "mujer", "femme", "frau",
        "donna", "mulher",
    ]) {
        Some("female")
    } else if has(&[
        "man",
        "men",
        "male",
        "guy",
        "boy",
        "masculine",
        "deeper",
        "deep",
        "lower",
        "hombre",
        "homme",
        "mann",
        "uomo",
        "homem",
    ]) {
        Some("male")
    } else {
        None
    };
    let language = [
        (
            &["british", "uk", "england", "english", "brit", "london"][..],
            "en-GB",
        ),
        (&["american", "us", "usa", "america"][..], "en-US"),
        (
            &["spanish", "español", "espanol", "castellano", "spain"][..],
            "es",
        ),
        (&["french", "français", "francais", "france"][..], "fr"),
        (&["italian", "italiano", "italy"][..], "it"),
        (
            &[
                "brazilian",
                "portuguese",
                "português",
                "portugues",
                "brazil",
            ][..],
            "pt-BR",
        ),
        (&["hindi", "indian", "india"][..], "hi"),
    ]
    .iter()
    .find(|(names, _)| has(names))
    .map(|(_, code)| *code);
    // "English" alone means the default English; with "British" it is British.
    let language = match language {
        Some("en-GB") if has(&["english"]) && !has(&["british", "uk", "england", "brit"]) => {
            Some("en-US")
        }
        other => other,
    };
    Wish { gender, language }
}

/// Whether `text` describes a voice (a gender, an accent or a language).
pub fn describes_a_voice(text: &str) -> bool {
    wish(text) != Wish::default()
}

/// The voice `wanted` names or describes, if any: a full name, a unique part of one, else
/// the best voice matching the description (the recommended one first).
pub fn choose<'a>(wanted: &str, voices: &'a [VoiceEntry]) -> Option<&'a VoiceEntry> {
    let lower = wanted.trim().to_lowercase();
    if lower.is_empty() {
        return None;
    }
    if let Some(exact) = voices.iter().find(|v| v.name.to_lowercase() == lower) {
        return Some(exact);
    }
    let parts: Vec<&VoiceEntry> = voices
        .iter()
        .filter(|v| {
            v.name
                .to_lowercase()
                .split(['_', '-'])
                .any(|part| part == lower)
        })
        .collect();
    if let [one] = parts.as_slice() {
        return Some(one);
    }
    let wish = wish(&lower);
    if wish == Wish::default() {
        return None;
    }
    let fits = |v: &&VoiceEntry| {
        wish.gender.is_none_or(|g| v.gender == g)
            && wish.language.is_none_or(|l| v.language == l)
            // Without a language, an English voice (US first).
            && (wish.language.is_some() || v.language.starts_with("en"))
    };
    let mut matching: Vec<&VoiceEntry> = voices.iter().filter(fits).collect();
    matching.sort_by_key(|v| (!v.recommended, v.language != "en-US"));
    matching.first().copied()
}

/// The languages the voices may speak, as whatlang names them, with the code prefix of our
/// voices and the name a person reads.
const SPOKEN: [(whatlang::Lang, &str, &str); 6] = [
    (whatlang::Lang::Eng, "en", "English"),
    (whatlang::Lang::Spa, "es", "Spanish"),
    (whatlang::Lang::Fra, "fr", "French"),
    (whatlang::Lang::Ita, "it", "Italian"),
    (whatlang::Lang::Por, "pt", "Portuguese"),
    (whatlang::Lang::Hin, "hi", "Hindi"),
];

/// The voice to speak `text` with when `chosen` (the user's voice) does not speak its
/// language: `Ok(None)` to keep `chosen` (its language, or a text too short to tell), `Ok`
/// with the language's voice of the same gender (the recommended one first), or one sentence
/// saying no voice speaks it.
pub fn for_text<'a>(
    text: &str,
    chosen: &VoiceEntry,
    voices: &'a [VoiceEntry],
) -> Result<Option<&'a VoiceEntry>, String> {
    let Some(info) = whatlang::detect(text).filter(|i| i.is_reliable()) else {
        return Ok(None);
    };
    let spoken: Vec<&str> = voices
        .iter()
        .filter_map(|v| {
            SPOKEN
                .iter()
                .find(|(_, code, _)| v.language.starts_with(code))
                .map(|(_, _, name)| *name)
        })
        .fold(Vec::new(), |mut names, name| {
            if !names.contains(&name) {
                names.push(name);
            }
            names
        });
    let cannot = || {
        format!(
            "I can't speak {} yet; my voices speak {}.",
            info.lang().eng_name(),
            spoken.join(", ")
        )
    };
    let Some((_, code, _)) = SPOKEN.iter().find(|(lang, _, _)| *lang == info.lang()) else {
        return Err(cannot());
    };
    if chosen.language.starts_with(code) {
        return Ok(None);
    }
    let mut speakers: Vec<&VoiceEntry> = voices
        .iter()
        .filter(|v| v.language.starts_with(code))
        .collect();
    speakers.sort_by_key(|v| (v.gender != chosen.gender, !v.recommended));
    speakers.first().map(|v| Some(*v)).ok_or_else(cannot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str, language: &str, accent: &str, gender: &str, recommended: bool) -> VoiceEntry {
        VoiceEntry {
            name: name.into(),
            language: language.into(),
            accent: accent.into(),
            gender: gender.into(),
            recommended,
            timbre: None,
        }
    }

    fn catalogue() -> Vec<VoiceEntry> {
        vec![
            v("af_heart", "en-US", "American", "female", true),
            v("am_michael", "en-US", "American", "male", true),
            v("af_bella", "en-US", "American", "female", false),
            v("en_US-joe-medium", "en-US", "American", "male", false),
            v("bf_emma", "en-GB", "British", "female", true),
            v("bm_george", "en-GB", "British", "male", true),
            v("ef_dora", "es", "Spanish", "female", true),
            v("em_alex", "es", "Spanish", "male", true),
        ]
    }

    fn chosen(wanted: &str) -> Option<String> {
        choose(wanted, &catalogue()).map(|v| v.name.clone())
    }

    #[test]
    fn by_name_or_a_part_of_it() {
        assert_eq!(chosen("AF_BELLA").as_deref(), Some("af_bella"));
        assert_eq!(chosen("joe").as_deref(), Some("en_US-joe-medium"));
        assert_eq!(chosen("emma").as_deref(), Some("bf_emma"));
        assert_eq!(chosen("nobody"), None);
        assert_eq!(chosen(""), None);
    }

    #[test]
    fn a_text_gets_a_voice_that_speaks_its_language() {
        let voices = catalogue();
        let joe = &voices[3];
        let spanish = "Hola mamá, feliz cumpleaños. Te quiero mucho y nos vemos el sábado.";
        let picked = for_text(spanish, joe, &voices).expect("spanish is spoken");
        assert_eq!(picked.map(|v| v.name.as_str()), Some("em_alex"));
        let heart = &voices[0];
        let picked = for_text(spanish, heart, &voices).expect("spanish is spoken");
        assert_eq!(picked.map(|v| v.name.as_str()), Some("ef_dora"));
        // English keeps the chosen voice; so does a text too short to tell.
        let english = "Happy birthday, Anna! I hope you have a wonderful day with your friends.";
        assert_eq!(for_text(english, joe, &voices), Ok(None));
        assert_eq!(for_text("ok", joe, &voices), Ok(None));
        // A language no voice speaks gets one sentence naming it.
        let german = "Alles Gute zum Geburtstag, liebe Oma! Wir sehen uns am Wochenende in Berlin.";
        let refused = for_text(german, joe, &voices).expect_err("no german voice");
        assert!(refused.contains("German"), "{refused}");
        assert!(refused.contains("Spanish"), "{refused}");
    }

    #[test]
    fn by_description() {
        assert_eq!(chosen("a woman's voice").as_deref(), Some("af_heart"));
        assert_eq!(chosen("female").as_deref(), Some("af_heart"));
        assert_eq!(chosen("a British man").as_deref(), Some("bm_george"));
        assert_eq!(chosen("british woman please").as_deref(), Some("bf_emma"));
        assert_eq!(chosen("a deeper voice").as_deref(), Some("am_michael"));
        assert_eq!(chosen("spanish").as_deref(), Some("ef_dora"));
        assert_eq!(chosen("un hombre español").as_deref(), Some("em_alex"));
        assert_eq!(chosen("an English guy").as_deref(), Some("am_michael"));
        assert_eq!(
            choose("a woman", &catalogue()).map(VoiceEntry::describe),
            Some("af_heart (American woman)".into())
        );
    }
}
