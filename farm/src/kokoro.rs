//! Text to speech with Kokoro-82M (StyleTTS 2 as ONNX, repaired at set-up): espeak-ng
//! phonemes in the voice's language -> Kokoro's symbol ids -> 24 kHz audio, one sentence (at
//! most 510 symbols) at a time. One model serves every Kokoro voice; a voice is a table of
//! style vectors, one row per input length. English (US and UK), Spanish, French, Italian,
//! Brazilian Portuguese and Hindi voices are offered. The model's own durations (its
//! predictor's frame counts, made an output when it loads) time the phones it spoke.

use crate::assets::Assets;
use crate::audio::Audio;
use crate::error::FarmError;
use crate::lipsync::phones::{Phones, Timing};
use crate::onnx;
use crate::phonemize::phonemize;
use crate::speech::Spoken;
use ort::session::Session;
use ort::value::Tensor;
use spinbot_core::InputError;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Kokoro's output rate.
pub const SAMPLE_RATE: u32 = 24_000;
/// The most symbols one run takes (the model's 512 less the two boundary tokens).
const MAX_SYMBOLS: usize = 510;
/// Floats in one style vector.
const STYLE: usize = 256;
/// Anything louder than this is a broken clip, not speech.
const BLOW_UP: f32 = 4.0;
/// The model's inner tensor of per-token durations (int64 frames of 600 samples).
const DURATIONS: &str = "/encoder/Cast_output_0";

/// The language a voice speaks, from the first letter of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// The code `spinbot voices` prints (`en-US`, `es`, ...).
    pub code: &'static str,
    /// espeak-ng's voice for the phonemes.
    pub espeak: &'static str,
    pub accent: &'static str,
}

/// Kokoro's offered languages by the first letter of a voice's name (`af_heart` is American
/// English). Japanese (`j`) and Mandarin (`z`) voices are installed but not offered: espeak-ng
/// reads kanji as "Chinese letter" and Mandarin as English-read tone digits, so they would
/// speak nonsense until a real grapheme-to-phoneme step exists for them.
const LANGUAGES: [(char, Language); 7] = [
    (
        'a',
        Language {
            code: "en-US",
            espeak: "en-us",
            accent: "American",
        },
    ),
    (
        'b',
        Language {
            code: "en-GB",
            espeak: "en-gb",
            accent: "British",
        },
    ),
    (
        'e',
        Language {
            code: "es",
            espeak: "es",
            accent: "Spanish",
        },
    ),
    (
        'f',
        Language {
            code: "fr",
            espeak: "fr-fr",
            accent: "French",
        },
    ),
    (
        'h',
        Language {
            code: "hi",
            espeak: "hi",
            accent: "Indian",
        },
    ),
    (
        'i',
        Language {
            code: "it",
            espeak: "it",
            accent: "Italian",
        },
    ),
    (
        'p',
        Language {
            code: "pt-BR",
            espeak: "pt-br",
            accent: "Brazilian",
        },
    ),
];

/// The language of the Kokoro voice called `name` (`af_heart`: language letter, f or m,
/// underscore), if it is one that is offered.
pub fn language(name: &str) -> Option<Language> {
    let bytes = name.as_bytes();
    if bytes.get(2) != Some(&b'_') || !matches!(bytes.get(1), Some(b'f' | b'm')) {
        return None;
    }
    let letter = name.chars().next()?;
    LANGUAGES
        .iter()
        .find(|(l, _)| *l == letter)
        .map(|(_, language)| *language)
}

/// An offered language by its code (`en-GB`).
pub fn language_by_code(code: &str) -> Option<Language> {
    LANGUAGES
        .iter()
        .find(|(_, l)| l.code == code)
        .map(|(_, language)| *language)
}

/// Whether `name` is an offered Kokoro voice installed in the assets folder.
pub fn is_installed(assets: &Assets, name: &str) -> bool {
    language(name).is_some()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && voice_file(assets, name).is_file()
}

fn voice_file(assets: &Assets, name: &str) -> std::path::PathBuf {
    assets
        .kokoro_dir()
        .join("voices")
        .join(format!("{name}.bin"))
}

/// `female` or `male`, from the second letter of a voice's name (`af_heart`, `am_adam`).
pub fn gender(name: &str) -> Option<&'static str> {
    match name.chars().nth(1)? {
        'f' => Some("female"),
        'm' => Some("male"),
        _ => None,
    }
}

/// The model and its symbol table, shared by every Kokoro voice.
pub struct Model {
    session: Session,
    vocab: HashMap<char, i64>,
}

impl Model {
    pub fn load(assets: &Assets) -> Result<Self, FarmError> {
        let model = assets.existing(assets.kokoro_dir().join("kokoro.onnx"))?;
        let vocab = read_vocab(&assets.existing(assets.kokoro_dir().join("vocab.json"))?)?;
        let session = onnx::session_with_output(
            assets,
            &model,
            onnx::default_threads(),
            DURATIONS,
            onnx::INT64,
        )?;
        Ok(Self { session, vocab })
    }

    /// The ids of the symbols Kokoro knows, in order (the others are dropped).
    pub fn ids(&self, symbols: &str) -> Vec<i64> {
        self.known(symbols).into_iter().map(|(_, id)| id).collect()
    }

    /// The symbols Kokoro knows with their ids, in order.
    pub fn known(&self, symbols: &str) -> Vec<(char, i64)> {
        symbols
            .chars()
            .filter_map(|c| self.vocab.get(&c).map(|&id| (c, id)))
            .collect()
    }

    /// Audio for at most `MAX_SYMBOLS` ids with one style row.
    pub fn synthesize(&mut self, ids: &[i64], style: &[f32]) -> Result<Vec<f32>, FarmError> {
        Ok(self.synthesize_timed(ids, style)?.0)
    }

    /// Audio for at most `MAX_SYMBOLS` ids with one style row, and the duration of each
    /// token (the start, each id, the end) in frames.
    pub fn synthesize_timed(
        &mut self,
        ids: &[i64],
        style: &[f32],
    ) -> Result<(Vec<f32>, Vec<i64>), FarmError> {
        let model_error = |e: ort::Error| FarmError::Model(format!("kokoro: {e}"));
        let mut tokens = Vec::with_capacity(ids.len() + 2);
        tokens.push(0);
        tokens.extend_from_slice(&ids[..ids.len().min(MAX_SYMBOLS)]);
        tokens.push(0);
        let n = tokens.len();
        let tokens = Tensor::from_array(([1usize, n], tokens)).map_err(model_error)?;
        let style = Tensor::from_array(([1usize, STYLE], style.to_vec())).map_err(model_error)?;
        let speed = Tensor::from_array(([1usize], vec![1.0f32])).map_err(model_error)?;
        let outputs = self
            .session
            .run(ort::inputs!["tokens" => tokens, "style" => style, "speed" => speed])
            .map_err(model_error)?;
        let (_, audio) = outputs["audio"]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let (_, durations) = outputs[DURATIONS]
            .try_extract_tensor::<i64>()
            .map_err(model_error)?;
        if durations.len() != n {
            return Err(FarmError::Model(format!(
                "kokoro: {} durations for {n} tokens",
                durations.len()
            )));
        }
        Ok((audio.to_vec(), durations.to_vec()))
    }
}

/// `vocab.json`: `{"vocab": {"a": 43, ...}}`.
fn read_vocab(path: &Path) -> Result<HashMap<char, i64>, FarmError> {
    #[derive(serde::Deserialize)]
    struct File {
        vocab: HashMap<String, i64>,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| FarmError::io(format!("reading {}", path.display()), e))?;
    let file: File = serde_json::from_str(&text)
        .map_err(|e| FarmError::Model(format!("{}: {e}", path.display())))?;
    Ok(file
        .vocab
        .into_iter()
        .filter_map(|(symbol, id)| {
            let mut chars = symbol.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some((c, id)),
                _ => None,
            }
        })
        .collect())
}

/// The names of the installed Kokoro voices (`kokoro/voices/NAME.bin`), sorted.
pub fn voice_names(assets: &Assets) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(assets.kokoro_dir().join("voices")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".bin")?.to_owned();
            (language(&stem).is_some() && gender(&stem).is_some()).then_some(stem)
        })
        .collect();
    names.sort();
    names
}

/// A Kokoro voice: its style table and the shared model.
pub struct Voice {
    name: String,
    language: Language,
    /// Rows of `STYLE` floats; row `n` styles an input of `n` symbols.
    styles: Vec<f32>,
    model: Arc<Mutex<Model>>,
}

impl Voice {
    /// The voice called `name` (`kokoro/voices/NAME.bin`) on `model`.
    pub fn load(assets: &Assets, name: &str, model: Arc<Mutex<Model>>) -> Result<Self, FarmError> {
        let language = language(name)
            .filter(|_| is_installed(assets, name))
            .ok_or_else(|| InputError::UnknownVoice(name.to_owned()))?;
        let path = voice_file(assets, name);
        let bytes = std::fs::read(&path)
            .map_err(|e| FarmError::io(format!("reading {}", path.display()), e))?;
        if bytes.is_empty() || bytes.len() % (STYLE * 4) != 0 {
            return Err(FarmError::Model(format!(
                "{}: {} bytes is not a table of {STYLE}-float styles",
                path.display(),
                bytes.len()
            )));
        }
        let styles = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Self {
            name: name.to_owned(),
            language,
            styles,
            model,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The style row for an input of `n` symbols.
    fn style(&self, n: usize) -> &[f32] {
        let rows = self.styles.len() / STYLE;
        let row = n.min(rows - 1);
        &self.styles[row * STYLE..(row + 1) * STYLE]
    }

    /// The symbols of each sentence of `text`, cut to what one run takes.
    pub fn symbols(&self, text: &str) -> Result<Vec<String>, FarmError> {
        let english = self.language.espeak.starts_with("en");
        let mut pieces = Vec::new();
        for sentence in phonemize(self.language.espeak, text)? {
            let mut symbols: String = sentence.concat();
            if english {
                // Kokoro's English symbols differ from espeak-ng's in four places.
                symbols = symbols
                    .chars()
                    .map(|c| match c {
                        'r' => 'ɹ',
                        'x' => 'k',
                        'ʲ' => 'j',
                        'ɬ' => 'l',
                        c => c,
                    })
                    .collect();
            }
            pieces.extend(split_at_spaces(symbols.trim(), MAX_SYMBOLS));
        }
        Ok(pieces)
    }

    /// Speaks `text`: each sentence synthesised, peak-normalised like Piper's, and joined.
    pub fn speak(&mut self, text: &str) -> Result<Audio, FarmError> {
        Ok(self.speak_timed(text)?.audio)
    }

    /// Speaks `text`, with the phones' times.
    pub fn speak_timed(&mut self, text: &str) -> Result<Spoken, FarmError> {
        let mut clips = Vec::new();
        let mut phones = Phones::new(Timing::Kokoro);
        for piece in self.symbols(text)? {
            let known = lock(&self.model).known(&piece);
            let known = &known[..known.len().min(MAX_SYMBOLS)];
            if known.is_empty() {
                continue;
            }
            let ids: Vec<i64> = known.iter().map(|&(_, id)| id).collect();
            let style = self.style(ids.len()).to_vec();
            let (clip, frames) = lock(&self.model).synthesize_timed(&ids, &style)?;
            // Frames of 600 samples, spread exactly over the clip.
            let total: i64 = frames.iter().sum();
            let per_frame = if total > 0 {
                clip.len() as f64 / total as f64 / f64::from(SAMPLE_RATE)
            } else {
                0.0
            };
            let symbols = std::iter::once(Some('^'))
                .chain(known.iter().map(|&(c, _)| Some(c)))
                .chain(std::iter::once(Some('$')));
            let timed: Vec<(Option<char>, f64)> = symbols
                .zip(&frames)
                .map(|(s, &n)| (s, n as f64 * per_frame))
                .collect();
            phones.push_engine_symbols(&timed);
            let peak = clip.iter().fold(0f32, |m, s| m.max(s.abs()));
            if !peak.is_finite() || peak > BLOW_UP {
                return Err(FarmError::Model(format!(
                    "kokoro: voice {} produced a broken clip (peak {peak})",
                    self.name
                )));
            }
            clips.push(clip);
        }
        let audio = Audio::from_sentences(clips, SAMPLE_RATE)?;
        Ok(Spoken { audio, phones })
    }
}

fn lock(model: &Mutex<Model>) -> std::sync::MutexGuard<'_, Model> {
    model
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `symbols` in pieces of at most `max` characters, cut at spaces where there are any.
fn split_at_spaces(symbols: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for word in symbols.split(' ').filter(|w| !w.is_empty()) {
        let needed = current.chars().count() + usize::from(!current.is_empty());
        if needed + word.chars().count() > max && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        while current.chars().count() > max {
            let cut: String = current.chars().take(max).collect();
            current = current.chars().skip(max).collect();
            pieces.push(cut);
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tell_language_and_gender() {
        assert_eq!(language("bf_emma").map(|l| l.code), Some("en-GB"));
        assert_eq!(language("pm_alex").map(|l| l.espeak), Some("pt-br"));
        assert_eq!(gender("am_adam"), Some("male"));
        assert_eq!(gender("zf_xiaobei"), Some("female"));
        assert_eq!(language("jf_alpha"), None);
        assert_eq!(language("en_US-joe-medium"), None);
        assert_eq!(language("xf_y"), None);
    }

    #[test]
    fn long_input_is_cut_at_spaces_within_the_limit() {
        let text = "abc ".repeat(300);
        let pieces = split_at_spaces(text.trim(), 510);
        assert!(pieces.len() >= 3);
        assert!(pieces.iter().all(|p| p.chars().count() <= 510));
        assert_eq!(pieces.concat().replace(' ', ""), text.replace(' ', ""));
        let word = "x".repeat(1200);
        assert!(split_at_spaces(&word, 510)
            .iter()
            .all(|p| p.chars().count() <= 510));
    }
}
