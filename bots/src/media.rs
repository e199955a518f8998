//! What the bots check of a file a person sent, before it is stored: its size, its kind from
//! its first bytes (never its name or the platform's word), and for a voice note a decode by
//! ffmpeg opened exactly as the worker opens it (the sniffed demuxer pinned, local files only,
//! a CPU-time and a wall-clock limit), which also measures how the speaker sounds.

use crate::error::BotError;
use crate::platform::FileKind;
use spinbot_core::limits::{MAX_PHOTO_BYTES, MAX_VOICE_NOTE_BYTES};
use spinbot_core::{sniff_photo, AudioKind, InputError, Timbre};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How long decoding a voice note to check and measure it may take.
const DECODE_TIME: Duration = Duration::from_secs(20);
/// The part of a voice note decoded here (the worker decodes it all).
const DECODE_SECONDS: &str = "30";
/// The rate a voice note is decoded at to be measured.
const RATE: u32 = 16_000;

/// A file that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The extension it is stored under.
    pub extension: &'static str,
    /// How the speaker of a voice note sounds, when it could be measured.
    pub timbre: Option<Timbre>,
}

/// Why a file was not taken.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The person's file is bad: the sentence to answer with.
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Bot(#[from] BotError),
}

/// Checks a downloaded file of `kind`.
pub async fn check(kind: FileKind, path: &Path) -> Result<Checked, CheckError> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(BotError::from)?
        .len();
    let mut head = [0u8; 16];
    let mut file = tokio::fs::File::open(path).await.map_err(BotError::from)?;
    let n = file.read(&mut head).await.map_err(BotError::from)?;
    let head = &head[..n];
    let mb = size as f64 / 1e6;
    match kind {
        FileKind::Photo => {
            if size > MAX_PHOTO_BYTES {
                return Err(InputError::PhotoTooLarge { mb }.into());
            }
            Ok(Checked {
                extension: sniff_photo(head)?,
                timbre: None,
            })
        }
        FileKind::VoiceNote => {
            if size > MAX_VOICE_NOTE_BYTES {
                return Err(InputError::AudioTooLarge { mb }.into());
            }
            let audio = AudioKind::sniff(head)?;
            let samples = decode(audio, path).await?;
            if samples.len() < RATE as usize / 10 || rms(&samples) < 1e-4 {
                return Err(InputError::AudioEmpty.into());
            }
            let timbre =
                tokio::task::spawn_blocking(move || spinbot_core::timbre::measure(&samples, RATE))
                    .await
                    .ok()
                    .flatten();
            Ok(Checked {
                extension: audio.extension(),
                timbre,
            })
        }
    }
}

/// The first seconds of a voice note, mono at [`RATE`]; a note ffmpeg cannot decode cleanly
/// in time is damaged.
async fn decode(kind: AudioKind, path: &Path) -> Result<Vec<f32>, CheckError> {
    let run = tokio::process::Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-xerror"])
        .args(kind.ffmpeg_input())
        .arg("-i")
        .arg(path)
        .args(["-t", DECODE_SECONDS, "-vn", "-ac", "1", "-ar"])
        .arg(RATE.to_string())
        .args(["-f", "s16le", "-"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(DECODE_TIME, run).await {
        Ok(ran) => ran.map_err(|e| BotError::Config(format!("cannot run ffmpeg: {e}")))?,
        Err(_) => return Err(InputError::AudioCorrupt.into()),
    };
    // At the error level ffmpeg speaks only of damage, sometimes while exiting 0.
    if !output.status.success() || !output.stderr.trim_ascii().is_empty() {
        tracing::debug!(stderr = %String::from_utf8_lossy(&output.stderr), "a voice note did not decode");
        return Err(InputError::AudioCorrupt.into());
    }
    Ok(output
        .stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect())
}

fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A voice note (OGG/Opus, as Telegram sends them) spoken by espeak-ng at a base pitch.
    fn note(dir: &Path, variant: &str, pitch: &str) -> std::path::PathBuf {
        let wav = dir.join(format!("{pitch}.wav"));
        let ogg = dir.join(format!("{pitch}.ogg"));
        let spoken = Command::new("espeak-ng")
            .args(["-v", variant, "-p", pitch, "-w"])
            .arg(&wav)
            .arg("Good morning, this is a short voice note for my video.")
            .status()
            .expect("espeak-ng runs");
        assert!(spoken.success());
        let encoded = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(&wav)
            .args(["-c:a", "libopus"])
            .arg(&ogg)
            .status()
            .expect("ffmpeg runs");
        assert!(encoded.success());
        ogg
    }

    #[tokio::test]
    async fn a_voice_note_is_measured_and_a_broken_one_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let measure = |path: std::path::PathBuf| async move {
            check(FileKind::VoiceNote, &path)
                .await
                .expect("taken")
                .timbre
                .expect("measured")
        };
        let high = measure(note(dir.path(), "en-us+f3", "80")).await;
        let low = measure(note(dir.path(), "en-us", "10")).await;
        assert!(high.pitch_hz > 1.5 * low.pitch_hz, "{high:?} {low:?}");
        assert!((50.0..400.0).contains(&low.pitch_hz), "{low:?}");
        let broken = dir.path().join("broken.ogg");
        std::fs::write(&broken, b"OggS not really").expect("write");
        assert!(matches!(
            check(FileKind::VoiceNote, &broken).await,
            Err(CheckError::Input(InputError::AudioCorrupt))
        ));
    }

    #[tokio::test]
    async fn a_playlist_behind_an_id3_tag_never_reaches_its_neighbour() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The neighbour: loud speech that would pass every check if it were read.
        let neighbour = note(dir.path(), "en-us", "50");
        let name = neighbour
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name");
        for body in [
            format!("ffconcat version 1.0\nfile {name}\n"),
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{name}\n#EXT-X-ENDLIST\n"),
        ] {
            let mut bytes = b"ID3\x04\0\0\0\0\0\0".to_vec();
            bytes.extend_from_slice(body.as_bytes());
            let sent = dir.path().join("note.mp3");
            std::fs::write(&sent, &bytes).expect("write");
            let checked = check(FileKind::VoiceNote, &sent).await;
            assert!(
                matches!(
                    checked,
                    Err(CheckError::Input(
                        InputError::AudioCorrupt | InputError::AudioEmpty
                    ))
                ),
                "{body}: {checked:?}"
            );
        }
        // The same neighbour sent as itself is taken: the refusal above is the tag's.
        assert!(check(FileKind::VoiceNote, &neighbour).await.is_ok());
    }

    #[tokio::test]
    async fn files_are_known_by_their_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("selfie.jpg");
        std::fs::write(&fake, b"#EXTM3U\nhttp://example.invalid/a.mp3\n").expect("write");
        assert!(matches!(
            check(FileKind::Photo, &fake).await,
            Err(CheckError::Input(InputError::PhotoFormat))
        ));
        assert!(matches!(
            check(FileKind::VoiceNote, &fake).await,
            Err(CheckError::Input(InputError::AudioFormat))
        ));
    }
}
