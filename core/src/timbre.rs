//! How a voice sounds, in two figures: its pitch (the median fundamental frequency of its
//! voiced frames) and its brightness (the root-mean-square frequency of its spectrum), and
//! the installed voice nearest to a user's voice note by them. The voices' own figures are
//! measured from their output at set-up (`spinbot voices --measure`).

use crate::voices::VoiceEntry;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timbre {
    pub pitch_hz: f32,
    pub brightness_hz: f32,
}

/// Frames of 40 ms every 10 ms; pitch sought between 60 and 400 Hz.
const FRAME_S: f32 = 0.040;
const HOP_S: f32 = 0.010;
const MIN_HZ: f32 = 60.0;
const MAX_HZ: f32 = 400.0;
/// A frame is voiced where its normalised difference dips below this (YIN's threshold).
const VOICED_DIP: f32 = 0.15;

/// The figures of mono `samples` at `rate`; `None` when too little of it is voiced speech.
pub fn measure(samples: &[f32], rate: u32) -> Option<Timbre> {
    let rate_f = rate as f32;
    let frame = (FRAME_S * rate_f) as usize;
    let hop = (HOP_S * rate_f).max(1.0) as usize;
    let (min_lag, max_lag) = ((rate_f / MAX_HZ) as usize, (rate_f / MIN_HZ) as usize);
    if frame <= max_lag || samples.len() < frame + max_lag {
        return None;
    }
    let loudest = samples.chunks(frame).map(rms).fold(0f32, f32::max);
    let mut pitches = Vec::new();
    let mut start = 0;
    while start + frame + max_lag <= samples.len() {
        let window = &samples[start..start + frame + max_lag];
        // Quiet frames (pauses, breath) are not speech.
        if rms(&window[..frame]) > 0.1 * loudest {
            if let Some(lag) = yin_lag(window, frame, min_lag, max_lag) {
                pitches.push(rate_f / lag);
            }
        }
        start += hop;
    }
    // At least a quarter of a second of voiced speech.
    if (pitches.len() as f32) * HOP_S < 0.25 {
        return None;
    }
    pitches.sort_by(f32::total_cmp);
    let pitch_hz = pitches[pitches.len() / 2];
    // The mean square of the signal's slope against its own: (2 pi f_rms / rate)^2.
    let slope: f64 = samples
        .windows(2)
        .map(|w| f64::from(w[1] - w[0]).powi(2))
        .sum();
    let power: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
    let brightness_hz = ((slope / power).sqrt() * f64::from(rate) / std::f64::consts::TAU) as f32;
    Some(Timbre {
        pitch_hz,
        brightness_hz,
    })
}

/// The installed voice whose figures are nearest to `note`'s (pitch counts twice as much as
/// brightness, both on a log scale); `None` when no voice has figures.
pub fn nearest<'a>(note: &Timbre, voices: &'a [VoiceEntry]) -> Option<&'a VoiceEntry> {
    let distance = |t: &Timbre| {
        2.0 * (note.pitch_hz / t.pitch_hz).ln().abs()
            + (note.brightness_hz / t.brightness_hz).ln().abs()
    };
    voices
        .iter()
        .filter_map(|v| v.timbre.as_ref().map(|t| (v, distance(t))))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(v, _)| v)
}

fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
}

/// The period of a frame in samples (YIN: the first dip of the cumulative-mean-normalised
/// difference below the threshold, refined by a parabola); `None` for an unvoiced frame.
fn yin_lag(window: &[f32], frame: usize, min_lag: usize, max_lag: usize) -> Option<f32> {
    let diff: Vec<f32> = (0..=max_lag)
        .map(|lag| {
            window[..frame]
                .iter()
                .zip(&window[lag..lag + frame])
                .map(|(a, b)| (a - b) * (a - b))
                .sum()
        })
        .collect();
    let mut normalised = vec![1.0f32; diff.len()];
    let mut running = 0.0;
    for lag in 1..diff.len() {
        running += diff[lag];
        normalised[lag] = if running > 0.0 {
            diff[lag] * lag as f32 / running
        } else {
            1.0
        };
    }
    let mut lag = min_lag.max(2);
    while lag < max_lag {
        if normalised[lag] < VOICED_DIP {
            while lag + 1 < max_lag && normalised[lag + 1] < normalised[lag] {
                lag += 1;
            }
            let (a, b, c) = (normalised[lag - 1], normalised[lag], normalised[lag + 1]);
            let bend = a - 2.0 * b + c;
            let shift = if bend.abs() > 1e-9 {
                (0.5 * (a - c) / bend).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            return Some(lag as f32 + shift);
        }
        lag += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buzz at `hz` with falling harmonics (a vowel-like source), with a pause in it.
    fn buzz(hz: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (seconds * rate as f32) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                if (0.4..0.6).contains(&t) {
                    return 0.0;
                }
                (1..8)
                    .map(|k| (std::f32::consts::TAU * hz * k as f32 * t).sin() / k as f32)
                    .sum::<f32>()
                    * 0.3
            })
            .collect()
    }

    fn voice(name: &str, pitch_hz: f32, brightness_hz: f32) -> VoiceEntry {
        VoiceEntry {
            name: name.into(),
            language: "en-US".into(),
            accent: "American".into(),
            gender: String::new(),
            recommended: false,
            timbre: Some(Timbre {
                pitch_hz,
                brightness_hz,
            }),
        }
    }

    #[test]
    fn the_pitch_of_a_buzz_is_its_fundamental() {
        for (hz, rate) in [(110.0, 16_000), (220.0, 16_000), (180.0, 24_000)] {
            let t = measure(&buzz(hz, rate, 1.5), rate).expect("voiced");
            assert!((t.pitch_hz / hz - 1.0).abs() < 0.03, "{hz}: {t:?}");
        }
        // More harmonics up high: brighter.
        let low = measure(&buzz(110.0, 16_000, 1.5), 16_000).expect("voiced");
        let high = measure(&buzz(220.0, 16_000, 1.5), 16_000).expect("voiced");
        assert!(
            high.brightness_hz > 1.5 * low.brightness_hz,
            "{low:?} {high:?}"
        );
    }

    #[test]
    fn silence_and_noise_have_no_pitch() {
        assert_eq!(measure(&vec![0.0; 32_000], 16_000), None);
        let mut x = 12345u32;
        let noise: Vec<f32> = (0..32_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        assert_eq!(measure(&noise, 16_000), None);
        assert_eq!(measure(&[0.1; 100], 16_000), None);
    }

    #[test]
    fn the_nearest_voice_follows_the_pitch() {
        let voices = [
            voice("deep", 100.0, 900.0),
            voice("middle", 150.0, 1000.0),
            voice("high", 210.0, 1200.0),
            VoiceEntry {
                timbre: None,
                ..voice("unmeasured", 0.0, 0.0)
            },
        ];
        let note = |pitch_hz| Timbre {
            pitch_hz,
            brightness_hz: 1000.0,
        };
        assert_eq!(
            nearest(&note(95.0), &voices).map(|v| v.name.as_str()),
            Some("deep")
        );
        assert_eq!(
            nearest(&note(240.0), &voices).map(|v| v.name.as_str()),
            Some("high")
        );
        assert_eq!(nearest(&note(150.0), &voices[3..]), None);
    }
}
