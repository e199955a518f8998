//! Which mouth a render draws and why: the speech engine's own phone times, the phone
//! recogniser's on a voice note it can read, or the loudness of the sound when there are no
//! phones to trust (another language, noise, music, no recogniser installed).

use super::mouth::{mouth_track, MouthTrack};
use super::phones::{Phones, Timing, PAUSE};
use super::visemes::phone_track;
use crate::audio::Audio;
use crate::error::FarmError;
use crate::recogniser::Recogniser;
use serde::{Deserialize, Serialize};

/// Below this agreement between the recognised phones' opening and the sound's loudness,
/// the recogniser did not hear speech it knows: the mouth follows the loudness.
pub const MIN_AGREEMENT: f64 = 0.2;
/// A recognised phone no louder than this (the acoustic track's 0..1 loudness) is silence.
const SILENT: f32 = 0.05;
/// Nor when less than this share of the sounding frames fall in recognised phones (real
/// speakers read well: all of them; a poor read of a synthesised note: about half).
const MIN_SPEECH_SHARE: f64 = 0.85;

/// The mouth track's source, as the work dir's `mouth.json` and the benches name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Piper,
    Kokoro,
    Recogniser,
    Loudness,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Piper => "piper",
            Source::Kokoro => "kokoro",
            Source::Recogniser => "recogniser",
            Source::Loudness => "loudness",
        }
    }
}

impl From<Timing> for Source {
    fn from(t: Timing) -> Self {
        match t {
            Timing::Piper => Source::Piper,
            Timing::Kokoro => Source::Kokoro,
            Timing::Recogniser => Source::Recogniser,
        }
    }
}

/// What the render's mouth was drawn from (`mouth.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub track: Source,
    /// Why the loudness was used, or how well the recognised phones agreed with the sound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<f64>,
    /// The share of the sounding frames that fell in recognised phones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered: Option<f64>,
    pub phones: usize,
}

/// The mouth of `frames` frames at `fps` for `audio`: from `phones` when the engine gave
/// them, else (a voice note) from the recogniser when it reads the note, else the loudness.
/// Returns the recogniser's phones too, to be stored with the speech.
pub fn choose(
    audio: &Audio,
    phones: Option<Phones>,
    fps: u32,
    frames: usize,
) -> Result<(MouthTrack, Choice, Option<Phones>), FarmError> {
    if let Some(phones) = phones {
        let choice = Choice {
            track: phones.timing.into(),
            reason: None,
            agreement: None,
            covered: None,
            phones: phones.phones.len(),
        };
        return Ok((phone_track(&phones, fps, frames), choice, None));
    }
    let loud = mouth_track(audio, fps, frames)?;
    let fallback = |reason: String, agreement: Option<f64>, phones: usize| Choice {
        track: Source::Loudness,
        reason: Some(reason),
        agreement,
        covered: None,
        phones,
    };
    let recogniser = match Recogniser::installed() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "no phone recogniser; the mouth follows the loudness");
            return Ok((loud, fallback(e.to_string(), None, 0), None));
        }
    };
    let phones = match recogniser.phones(audio) {
        Ok(p) => quiet_as_pauses(p, &loud, fps),
        Err(e) => {
            tracing::warn!(error = %e, "the recogniser failed; the mouth follows the loudness");
            return Ok((loud, fallback(e.to_string(), None, 0), None));
        }
    };
    let track = phone_track(&phones, fps, frames);
    let (agreement, covered) = agreement(&track, &loud, &phones, fps);
    let n = phones.phones.len();
    if agreement < MIN_AGREEMENT || covered < MIN_SPEECH_SHARE {
        let reason = format!(
            "the recognised phones do not match the sound (agreement {agreement:.2}, \
             {:.0}% of the sound in phones)",
            covered * 100.0
        );
        tracing::info!(
            agreement,
            covered,
            "voice note not read; the mouth follows the loudness"
        );
        let choice = Choice {
            covered: Some(covered),
            ..fallback(reason, Some(agreement), n)
        };
        return Ok((loud, choice, Some(phones)));
    }
    let choice = Choice {
        track: Source::Recogniser,
        reason: None,
        agreement: Some(agreement),
        covered: Some(covered),
        phones: n,
    };
    Ok((track, choice, Some(phones)))
}

/// Recognised phones where the sound is silent (breath, a click, room noise) are pauses.
fn quiet_as_pauses(mut phones: Phones, loud: &MouthTrack, fps: u32) -> Phones {
    let fps = f64::from(fps.max(1));
    let frames = loud.loudness.len();
    for phone in &mut phones.phones {
        let first = ((phone.start * fps).floor().max(0.0) as usize).min(frames);
        let last = ((phone.end * fps).ceil().max(0.0) as usize).min(frames);
        let heard = loud.loudness[first..last.max(first)]
            .iter()
            .any(|&l| l > SILENT);
        if !heard {
            phone.symbol = PAUSE.to_owned();
        }
    }
    phones
}

/// How well recognised phones fit the sound: the correlation of their opening (before the
/// closures are forced) with the loudness, and the share of the sounding frames (loudness
/// above a tenth) that fall in a phone rather than a pause.
fn agreement(track: &MouthTrack, loud: &MouthTrack, phones: &Phones, fps: u32) -> (f64, f64) {
    let a: Vec<f64> = track.loudness.iter().map(|&v| f64::from(v)).collect();
    let b: Vec<f64> = loud.loudness.iter().map(|&v| f64::from(v)).collect();
    let r = pearson(&a, &b).unwrap_or(0.0);
    let sounding: Vec<usize> = (0..b.len()).filter(|&f| b[f] > 0.1).collect();
    if sounding.is_empty() {
        return (r, 0.0);
    }
    let in_phone = sounding
        .iter()
        .filter(|&&f| {
            let t = f as f64 / f64::from(fps.max(1));
            phones
                .phones
                .iter()
                .any(|p| p.symbol != PAUSE && p.start <= t && t < p.end)
        })
        .count();
    (r, in_phone as f64 / sounding.len() as f64)
}

/// Pearson's correlation, `None` when either side is flat or they differ in length.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    (va > 0.0 && vb > 0.0).then(|| cov / (va.sqrt() * vb.sqrt()))
}
