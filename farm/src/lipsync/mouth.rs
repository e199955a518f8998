//! Mouth parameters per video frame from the speech: how far the mouth opens (loudness and
//! low-band energy, where the first formant of open vowels sits), how wide it stretches and
//! how round it gets (spectral shape: "ee" is bright and wide, "oo" dark and round), with
//! coarticulation smoothing and a closed mouth in silence.

use crate::audio::Audio;
use crate::error::FarmError;
use tch::{Device, Kind, Tensor};

/// Below the clip's loud level by this many decibels, the mouth is closed.
const SILENCE_BELOW_PEAK_DB: f32 = 32.0;
/// Loudness is measured over this range below the loud level.
const LOUDNESS_RANGE_DB: f32 = 30.0;

/// The mouth, frame by frame, each value in [0, 1].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MouthTrack {
    /// The gap between the lips: 0 shut, 1 wide open (`rig::OPEN_GAP` mouth widths).
    pub open: Vec<f32>,
    /// How much the corners stretch outwards.
    pub wide: Vec<f32>,
    /// How much the lips round and pull in.
    pub round: Vec<f32>,
    /// How much the lips press together beyond the photo's own pose (1: shut, even when the
    /// photo's lips are parted).
    pub seal: Vec<f32>,
    /// How much the mouth is at rest, in the photo's own pose (1 in a pause), whatever
    /// `open` says.
    pub rest: Vec<f32>,
    /// Loudness the opening was drawn from (for tests and tuning).
    pub loudness: Vec<f32>,
}

impl MouthTrack {
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// A shut mouth for `frames` frames.
    pub fn closed(frames: usize) -> Self {
        Self {
            open: vec![0.0; frames],
            wide: vec![0.0; frames],
            round: vec![0.0; frames],
            seal: vec![0.0; frames],
            rest: vec![0.0; frames],
            loudness: vec![0.0; frames],
        }
    }
}

/// Per-frame band energies of `audio` at `fps`: (total, low band, centroid in Hz).
fn frame_features(
    audio: &Audio,
    fps: u32,
    frames: usize,
) -> Result<Vec<(f32, f32, f32)>, FarmError> {
    let rate = audio.rate as f32;
    let hop = (audio.rate / fps.max(1)).max(1) as i64;
    let n_fft = 1024i64;
    if audio.samples.len() < n_fft as usize {
        return Ok(vec![(0.0, 0.0, 0.0); frames]);
    }
    // Centred frames: frame f looks at the audio around f / fps.
    let signal = Tensor::f_from_slice(&audio.samples)?.f_constant_pad_nd([n_fft / 2, n_fft / 2])?;
    let window = Tensor::f_hann_window(n_fft, (Kind::Float, Device::Cpu))?;
    let power = signal
        .f_stft(n_fft, hop, n_fft, Some(&window), false, true, true, false)?
        .f_abs()?
        .f_square()?; // [bins, T]
    let bins = power.size()[0];
    let t = power.size()[1] as usize;
    let hz = |k: i64| k as f32 * rate / n_fft as f32;
    let band = |lo: f32, hi: f32| -> Result<Tensor, FarmError> {
        let k0 = ((lo / rate * n_fft as f32).round() as i64).clamp(0, bins - 1);
        let k1 = ((hi / rate * n_fft as f32).round() as i64).clamp(k0 + 1, bins);
        Ok(power.f_narrow(0, k0, k1 - k0)?.f_sum_dim_intlist(
            Some(&[0i64][..]),
            false,
            Kind::Float,
        )?)
    };
    let total = band(80.0, 5000.0)?;
    let low = band(250.0, 1000.0)?;
    let freqs: Vec<f32> = (0..bins).map(hz).collect();
    let weights = Tensor::f_from_slice(&freqs)?.f_unsqueeze(1)?;
    let speech = power.f_narrow(0, 4, (bins / 4).max(5) - 4)?; // ~90 Hz to ~5.5 kHz
    let centroid = speech
        .f_mul(&weights.f_narrow(0, 4, (bins / 4).max(5) - 4)?)?
        .f_sum_dim_intlist(Some(&[0i64][..]), false, Kind::Float)?
        .f_div(
            &speech
                .f_sum_dim_intlist(Some(&[0i64][..]), false, Kind::Float)?
                .f_add_scalar(1e-9)?,
        )?;
    let to_vec =
        |x: Tensor| -> Result<Vec<f32>, FarmError> { Ok(Vec::<f32>::try_from(x.f_contiguous()?)?) };
    let (total, low, centroid) = (to_vec(total)?, to_vec(low)?, to_vec(centroid)?);
    Ok((0..frames)
        .map(|f| {
            let i = f.min(t - 1);
            (total[i], low[i], centroid[i])
        })
        .collect())
}

/// The mouth track of `frames` video frames at `fps` for `audio`.
pub fn mouth_track(audio: &Audio, fps: u32, frames: usize) -> Result<MouthTrack, FarmError> {
    let features = frame_features(audio, fps, frames)?;
    let db: Vec<f32> = features
        .iter()
        .map(|f| 10.0 * (f.0 + 1e-10).log10())
        .collect();
    let peak = percentile(&db, 0.95);
    let mut track = MouthTrack::closed(frames);
    for (i, &(total, low, centroid)) in features.iter().enumerate() {
        if db[i] < peak - SILENCE_BELOW_PEAK_DB || total <= 0.0 {
            continue;
        }
        let loud = ((db[i] - (peak - LOUDNESS_RANGE_DB)) / LOUDNESS_RANGE_DB).clamp(0.0, 1.0);
        let low_share = (low / total).clamp(0.0, 1.0);
        // Bright sounds (high centroid) stretch the lips, dark voiced ones round them.
        let brightness = ((centroid - 900.0) / 1600.0).clamp(0.0, 1.0);
        track.loudness[i] = loud;
        track.open[i] = (loud.powf(0.8) * (0.55 + 0.6 * low_share)).clamp(0.0, 1.0);
        track.wide[i] = loud * brightness;
        track.round[i] = loud * (1.0 - brightness) * low_share;
    }
    // At rest in silence, leaving it as the sound starts.
    track.rest = coarticulate(&track.loudness)
        .iter()
        .map(|&l| (1.0 - 4.0 * l).clamp(0.0, 1.0))
        .collect();
    track.open = coarticulate(&track.open);
    track.wide = coarticulate(&track.wide);
    track.round = coarticulate(&track.round);
    Ok(track)
}

/// Lips move fast towards a target and a little slower away from it, and a sound's shape
/// starts a frame early: an asymmetric follower, then a light three-tap blur.
fn coarticulate(x: &[f32]) -> Vec<f32> {
    let mut followed = Vec::with_capacity(x.len());
    let mut state = 0.0f32;
    for (i, &v) in x.iter().enumerate() {
        // Two silent frames in a row: the mouth is shut, not still closing.
        if v == 0.0 && i > 0 && x[i - 1] == 0.0 {
            state = 0.0;
        }
        let rate = if v > state { 0.75 } else { 0.55 };
        state += rate * (v - state);
        followed.push(state);
    }
    let n = followed.len();
    (0..n)
        .map(|i| {
            if followed[i] == 0.0 {
                return 0.0;
            }
            let prev = followed[i.saturating_sub(1)];
            let next = followed[(i + 1).min(n.saturating_sub(1))];
            0.2 * prev + 0.5 * followed[i] + 0.3 * next
        })
        .collect()
}

fn percentile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted[((sorted.len() - 1) as f32 * q).round() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half a second of tone, half a second of silence, twice, at 22.05 kHz.
    fn bursts() -> Audio {
        let rate = 22_050;
        let samples = (0..rate * 2)
            .map(|i| {
                let t = i as f32 / rate as f32;
                if (t % 1.0) < 0.5 {
                    0.5 * (2.0 * std::f32::consts::PI * 500.0 * t).sin()
                } else {
                    0.0
                }
            })
            .collect();
        Audio {
            samples,
            rate: rate as u32,
        }
    }

    #[test]
    fn opens_on_sound_and_closes_in_silence() {
        let track = mouth_track(&bursts(), 25, 50).expect("track");
        assert_eq!(track.len(), 50);
        // Middle of each burst: open; middle of each pause: shut.
        for f in [6, 31] {
            assert!(track.open[f] > 0.5, "frame {f}: {}", track.open[f]);
        }
        for f in [18, 19, 43, 44] {
            assert_eq!(track.open[f], 0.0, "frame {f}");
        }
    }

    #[test]
    fn silence_keeps_the_mouth_closed() {
        let audio = Audio {
            samples: vec![0.0; 22_050],
            rate: 22_050,
        };
        let track = mouth_track(&audio, 25, 25).expect("track");
        assert!(track.open.iter().all(|&o| o == 0.0));
    }
}
