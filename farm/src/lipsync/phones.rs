//! Phones with their times in the speech, whoever knew them: a speech engine's own durations
//! (Piper's and Kokoro's, per input symbol) folded onto the phones it spoke, or a recogniser's
//! segments of a voice note. Stored next to the speech as `phones.json` so a resumed job
//! draws the same mouth.

use serde::{Deserialize, Serialize};

/// The symbol of a pause (silence, punctuation, the engines' start and end).
pub const PAUSE: &str = "_";

/// One phone (IPA, one symbol; a diphthong or affricate is two) from `start` to `end`,
/// seconds from the start of the speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    pub symbol: String,
    pub start: f64,
    pub end: f64,
}

/// Who timed the phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Piper's durations (`w_ceil`), from the run that made the audio.
    Piper,
    /// Kokoro's durations (the predictor's frame counts).
    Kokoro,
    /// The phone recogniser, on a voice note.
    Recogniser,
}

impl Timing {
    /// How much earlier than its label the sound comes (measured per engine: the stops are
    /// quietest against the vowels with the labels moved this much earlier).
    pub fn lead(self) -> f64 {
        match self {
            Timing::Piper => 0.040,
            Timing::Kokoro => 0.060,
            Timing::Recogniser => 0.0,
        }
    }
}

/// The timed phones of one speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phones {
    pub timing: Timing,
    pub phones: Vec<Phone>,
}

impl Phones {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            phones: Vec::new(),
        }
    }

    /// Seconds from the first phone's start to the last one's end.
    pub fn span(&self) -> f64 {
        match (self.phones.first(), self.phones.last()) {
            (Some(a), Some(b)) => b.end - a.start,
            _ => 0.0,
        }
    }

    /// Appends `symbol` for `seconds`, after the last phone.
    pub fn push(&mut self, symbol: &str, seconds: f64) {
        let start = self.phones.last().map_or(0.0, |p| p.end);
        self.phones.push(Phone {
            symbol: symbol.to_owned(),
            start,
            end: start + seconds.max(0.0),
        });
    }

    /// Appends an engine's symbols with their durations (seconds), folded onto phones:
    /// a stress mark's time goes to the vowel after it, a length mark's to the phone before
    /// it, a space's to the phone before it (words run on), punctuation and the engine's
    /// own start/end/padding symbols (`None`) are pauses or belong to the phone before.
    pub fn push_engine_symbols(&mut self, symbols: &[(Option<char>, f64)]) {
        let mut carried = 0.0;
        for &(symbol, seconds) in symbols {
            match symbol {
                Some('ˈ' | 'ˌ') => carried += seconds,
                Some('ː' | ' ' | '\u{0303}' | '\u{0329}' | '\u{032f}') | None => {
                    match self.phones.last_mut() {
                        Some(last) => last.end += seconds,
                        None => self.push(PAUSE, seconds),
                    }
                }
                Some(c) if is_pause(c) => self.push(PAUSE, seconds + carried),
                Some(c) => {
                    let mut buffer = [0u8; 4];
                    self.push(c.encode_utf8(&mut buffer), seconds + carried);
                    carried = 0.0;
                }
            }
            if matches!(symbol, Some(c) if is_pause(c)) {
                carried = 0.0;
            }
        }
        if carried > 0.0 {
            self.push(PAUSE, carried);
        }
    }

    /// Appends a recognised ARPAbet phone (`AY`, `SIL`, `+NSN+`) for `seconds`; a diphthong
    /// or affricate is split into its two symbols, so the lips glide.
    pub fn push_arpabet(&mut self, phone: &str, seconds: f64) {
        let ipa: &[&str] = match phone {
            "AA" => &["ɑ"],
            "AE" => &["æ"],
            "AH" => &["ʌ"],
            "AO" => &["ɔ"],
            "AW" => &["a", "ʊ"],
            "AY" => &["a", "ɪ"],
            "B" => &["b"],
            "CH" => &["t", "ʃ"],
            "D" => &["d"],
            "DH" => &["ð"],
            "EH" => &["ɛ"],
            "ER" => &["ɚ"],
            "EY" => &["e", "ɪ"],
            "F" => &["f"],
            "G" => &["ɡ"],
            "HH" => &["h"],
            "IH" => &["ɪ"],
            "IY" => &["i"],
            "JH" => &["d", "ʒ"],
            "K" => &["k"],
            "L" => &["l"],
            "M" => &["m"],
            "N" => &["n"],
            "NG" => &["ŋ"],
            "OW" => &["o", "ʊ"],
            "OY" => &["ɔ", "ɪ"],
            "P" => &["p"],
            "R" => &["ɹ"],
            "S" => &["s"],
            "SH" => &["ʃ"],
            "T" => &["t"],
            "TH" => &["θ"],
            "UH" => &["ʊ"],
            "UW" => &["u"],
            "V" => &["v"],
            "W" => &["w"],
            "Y" => &["j"],
            "Z" => &["z"],
            "ZH" => &["ʒ"],
            _ => &[PAUSE],
        };
        let share = seconds / ipa.len() as f64;
        for symbol in ipa {
            self.push(symbol, share);
        }
    }
}

fn is_pause(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '!' | '?' | ';' | ':' | '…' | '—' | '-' | '"' | '(' | ')' | '^' | '$' | '_'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(phones: &Phones) -> Vec<&str> {
        phones.phones.iter().map(|p| p.symbol.as_str()).collect()
    }

    #[test]
    fn marks_fold_into_their_vowel_and_no_time_is_lost() {
        // "bˈiː mˈæp." with the engine's start and padding as None.
        let input: Vec<(Option<char>, f64)> = vec![
            (None, 0.3),
            (Some('b'), 0.05),
            (Some('ˈ'), 0.02),
            (Some('i'), 0.08),
            (Some('ː'), 0.04),
            (Some(' '), 0.01),
            (Some('m'), 0.06),
            (Some('ˈ'), 0.03),
            (Some('æ'), 0.1),
            (Some('p'), 0.07),
            (Some('.'), 0.2),
            (None, 0.1),
        ];
        let mut phones = Phones::new(Timing::Kokoro);
        phones.push_engine_symbols(&input);
        assert_eq!(symbols(&phones), ["_", "b", "i", "m", "æ", "p", "_"]);
        let total: f64 = input.iter().map(|s| s.1).sum();
        assert!((phones.span() - total).abs() < 1e-9, "{}", phones.span());
        let i = &phones.phones[2];
        assert!((i.end - i.start - 0.15).abs() < 1e-9, "{i:?}");
        let ae = &phones.phones[4];
        assert!((ae.end - ae.start - 0.13).abs() < 1e-9, "{ae:?}");
        // Phones follow each other without gaps.
        for pair in phones.phones.windows(2) {
            assert!((pair[0].end - pair[1].start).abs() < 1e-12);
        }
    }

    #[test]
    fn a_recognised_diphthong_glides_over_two_symbols() {
        let mut phones = Phones::new(Timing::Recogniser);
        phones.push_arpabet("SIL", 0.2);
        phones.push_arpabet("AY", 0.2);
        phones.push_arpabet("+NSN+", 0.1);
        assert_eq!(symbols(&phones), ["_", "a", "ɪ", "_"]);
        assert!((phones.span() - 0.5).abs() < 1e-9);
    }
}
