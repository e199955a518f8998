//! A voice as the chat sees it (name, language, accent, gender), and choosing one the way
//! people ask: by its name, a part of it ("heart" for `af_heart`), or a description ("a
//! woman's voice", "a British man", "a deeper voice", "Spanish").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
