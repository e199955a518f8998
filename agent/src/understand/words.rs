//! A message cut into words with their offsets (to cut the message where a word is found), and
//! what is read off the words alone: a job id, a chosen voice, a stop of the video, a go, a
//! greeting.

use super::lexicon::{fold, lexicon as lx, Phrases};

/// `text` lower-cased where that keeps every byte offset (ASCII, Cyrillic, Greek, most
/// accented Latin), so positions found in it cut the text as written.
pub fn lower(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(one), None) if one.len_utf8() == c.len_utf8() => one,
                _ => c,
            }
        })
        .collect()
}

/// Where `word` occurs in `lower` as a whole word (or phrase).
pub fn find_word(lower: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(word) {
        let at = from + i;
        let before = lower[..at].chars().next_back();
        let after = lower[at + word.len()..].chars().next();
        if before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
        {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// A message cut into words, with their offsets and lower-case forms.
pub struct Words<'a> {
    raw: &'a str,
    pub offsets: Vec<usize>,
    pub lower: Vec<String>,
}

impl<'a> Words<'a> {
    pub fn new(raw: &'a str) -> Self {
        let mut offsets = Vec::new();
        let mut lower = Vec::new();
        let mut start = None;
        for (i, c) in raw.char_indices().chain(std::iter::once((raw.len(), ' '))) {
            match (start, c.is_whitespace()) {
                (None, false) => start = Some(i),
                (Some(s), true) => {
                    offsets.push(s);
                    lower.push(fold(Self::trim(&raw[s..i])));
                    start = None;
                }
                _ => {}
            }
        }
        Self {
            raw,
            offsets,
            lower,
        }
    }

    fn trim(word: &str) -> &str {
        word.trim_matches(|c: char| {
            !(c.is_alphanumeric() || c == '-' || c == '_' || c == ':' || c == '\'')
        })
    }

    /// Word `i` as written.
    pub fn original(&self, i: usize) -> &'a str {
        let start = self.offsets[i];
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.raw.len());
        Self::trim(self.raw[start..end].trim())
    }

    pub fn has(&self, word: &str) -> bool {
        self.lower.iter().any(|w| w == word)
    }

    pub fn has_any(&self, words: &Phrases) -> bool {
        self.lower.iter().any(|w| words.has(w))
    }

    /// A 32-hex-digit job id anywhere in the message, as written (not squeezed: an id may
    /// repeat a digit three times).
    pub fn job_id(&self) -> Option<String> {
        (0..self.lower.len())
            .map(|i| self.original(i))
            .find(|w| w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
    }

    /// `use the amy voice`, `switch voice to X`, `use voice X`.
    pub fn chosen_voice(&self) -> Option<String> {
        let voices = &lx().voices;
        let w = &self.lower;
        let i = w.iter().position(|v| voices.voice_words.has(v))?;
        let asks = w[..i].iter().any(|v| voices.choose_verbs.has(v));
        let named = |at: usize| Some(self.original(at)).filter(|n| is_voice_name(n));
        let name = if w.get(i + 1).is_some_and(|v| voices.name_follows.has(v)) && i + 2 < w.len() {
            named(i + 2)
        } else if !asks {
            None
        } else if i >= 1 && !voices.not_a_name_before.has(&w[i - 1]) && named(i - 1).is_some() {
            named(i - 1)
        } else {
            named(i + 1).filter(|_| i + 1 < w.len())
        }?;
        (!voices.not_names.has(&fold(name))).then(|| name.to_owned())
    }

    /// Whether the word at `i` ends a clause ("cancel, wrong name").
    fn ends_clause(&self, i: usize) -> bool {
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.raw.len());
        self.raw[self.offsets[i]..end]
            .trim_end()
            .ends_with([',', '.', '!', '?', ';', ':', '—', '-'])
    }

    /// "cancel", "stop the video", "kill that render pls", "abort abort": a stop word whose
    /// object is the video (or nothing), not "cancel my dentist appointment", "stop at the
    /// pharmacy" or "cancel culture".
    pub fn stops_a_video(&self) -> bool {
        let stop = &lx().stop;
        let w = &self.lower;
        (0..w.len()).any(|i| {
            if !stop.verbs.has(&w[i]) {
                return false;
            }
            let mut j = i;
            loop {
                if self.ends_clause(j) || j + 1 >= w.len() {
                    return true;
                }
                j += 1;
                if stop.objects.has(&w[j]) {
                    return true;
                }
                if !(stop.skip.has(&w[j]) || stop.verbs.has(&w[j])) {
                    return false;
                }
            }
        })
    }

    /// `go`, `yes, render it`, `looks good, go ahead`, `make the video`; not "ok" alone,
    /// which acknowledges.
    pub fn is_go(&self) -> bool {
        let go = &lx().go;
        let acknowledgement = matches!(self.lower.as_slice(), [w] if go.acknowledgements.has(w));
        !acknowledgement
            && self.lower.iter().any(|w| go.words.has(w))
            && self
                .lower
                .iter()
                .all(|w| w.is_empty() || go.words.has(w) || go.filler.has(w))
    }

    pub fn is_greeting(&self) -> bool {
        let greeting = &lx().help.greeting_words;
        self.lower.iter().any(|w| !w.is_empty())
            && self.lower.iter().all(|w| w.is_empty() || greeting.has(w))
    }
}

/// A voice's name as people type it: letters, digits, `-` and `_`.
pub fn is_voice_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
