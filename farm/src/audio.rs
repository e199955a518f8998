//! Speech audio: mono samples with their rate, WAV files, and voice notes decoded by ffmpeg.

use crate::error::FarmError;
use crate::input::check_voice_note;
use spinbot_core::limits::MAX_VOICE_NOTE_SECONDS;
use spinbot_core::InputError;
use std::path::Path;
use std::process::{Command, Stdio};

/// Mono audio in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub rate: u32,
}

impl Audio {
    /// Sentences spoken one by one, each scaled to full scale (as Piper does), joined; an
    /// error when there is nothing to say.
    pub fn from_sentences(clips: Vec<Vec<f32>>, rate: u32) -> Result<Self, FarmError> {
        let mut samples = Vec::new();
        for mut clip in clips {
            let peak = clip.iter().fold(0f32, |m, s| m.max(s.abs()));
            if peak > 1e-8 {
                clip.iter_mut()
                    .for_each(|s| *s = (*s / peak).clamp(-1.0, 1.0));
            }
            samples.extend(clip);
        }
        if samples.is_empty() {
            return Err(InputError::TextEmpty.into());
        }
        Ok(Self { samples, rate })
    }

    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }

    /// Root mean square level.
    pub fn rms(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .samples
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        (sum / self.samples.len() as f64).sqrt()
    }

    /// Writes 16-bit PCM mono WAV.
    pub fn write_wav(&self, path: &Path) -> Result<(), FarmError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: self.rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let wav_error =
            |e: hound::Error| FarmError::tool("wav", format!("{}: {e}", path.display()));
        let mut writer = hound::WavWriter::create(path, spec).map_err(wav_error)?;
        for &s in &self.samples {
            let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            writer.write_sample(v).map_err(wav_error)?;
        }
        writer.finalize().map_err(wav_error)
    }

    /// Reads a WAV file (16-bit PCM or 32-bit float), mixing channels down to mono.
    pub fn read_wav(path: &Path) -> Result<Self, FarmError> {
        let wav_error =
            |e: hound::Error| FarmError::tool("wav", format!("{}: {e}", path.display()));
        let mut reader = hound::WavReader::open(path).map_err(wav_error)?;
        let spec = reader.spec();
        let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, 32) => reader
                .samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(wav_error)?,
            (hound::SampleFormat::Int, 16) => reader
                .samples::<i16>()
                .map(|s| s.map(|v| f32::from(v) / 32768.0))
                .collect::<Result<_, _>>()
                .map_err(wav_error)?,
            (format, bits) => {
                return Err(FarmError::tool(
                    "wav",
                    format!("{}: unsupported {bits}-bit {format:?} WAV", path.display()),
                ))
            }
        };
        let channels = usize::from(spec.channels.max(1));
        let samples = interleaved
            .chunks(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32)
            .collect();
        Ok(Self {
            samples,
            rate: spec.sample_rate,
        })
    }
}

/// Decodes a voice note (OGG/Opus, WebM, MP3, M4A or WAV) to mono audio at `rate` with
/// ffmpeg, opened as the kind its bytes show and nothing else (see
/// [`spinbot_core::AudioKind::ffmpeg_input`]), refusing files that are damaged, silent or longer than the
/// limit.
pub fn decode_voice_note(path: &Path, rate: u32) -> Result<Audio, FarmError> {
    let kind = check_voice_note(path)?;
    // Decode a little past the limit, never the whole of a very long file.
    let cap = format!("{:.1}", MAX_VOICE_NOTE_SECONDS + 1.0);
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-xerror"])
        .args(kind.ffmpeg_input())
        .arg("-i")
        .arg(path)
        .args([
            "-t",
            &cap,
            "-vn",
            "-ac",
            "1",
            "-ar",
            &rate.to_string(),
            "-f",
            "s16le",
            "-",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| FarmError::tool("ffmpeg", format!("cannot run ffmpeg: {e}")))?;
    // At the error log level ffmpeg only speaks of damage ("End of file" in a cut Ogg
    // stream, "corrupt input packet" in a short WAV), even when it exits 0.
    let complaints = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || !complaints.trim().is_empty() {
        tracing::debug!(stderr = %complaints, "voice note decode failed");
        return Err(InputError::AudioCorrupt.into());
    }
    let samples: Vec<f32> = output
        .stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    let audio = Audio { samples, rate };
    if audio.seconds() > MAX_VOICE_NOTE_SECONDS {
        return Err(InputError::AudioTooLong {
            seconds: audio.seconds(),
        }
        .into());
    }
    if audio.seconds() < 0.1 || audio.rms() < 1e-4 {
        return Err(InputError::AudioEmpty.into());
    }
    Ok(audio)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trip_keeps_length_and_level() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.wav");
        let samples: Vec<f32> = (0..22050).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let audio = Audio {
            samples,
            rate: 22050,
        };
        audio.write_wav(&path).expect("write");
        let back = Audio::read_wav(&path).expect("read");
        assert_eq!(back.samples.len(), 22050);
        assert_eq!(back.rate, 22050);
        assert!((back.rms() - audio.rms()).abs() < 1e-3);
    }
}
