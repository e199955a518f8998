//! Encoding with the system ffmpeg (through `ffmpeg-sidecar`, never its downloader): raw RGB
//! frames piped in, H.264 yuv420p + AAC out, `+faststart`, and a bitrate that makes the file
//! fit a platform's upload limit when one is given.

use crate::error::FarmError;
use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::command::FfmpegCommand;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ChildStdin;
use std::thread::JoinHandle;

/// Share of a size budget left for the container and bitrate overshoot.
const BUDGET_MARGIN: f64 = 0.90;
/// Lowest video bitrate worth sending, in bits per second.
const MIN_VIDEO_BPS: f64 = 40_000.0;

/// Bitrates that fit `max_bytes` for `seconds` of video: (video, audio) in bits per second.
pub fn bitrates_for(max_bytes: u64, seconds: f64) -> Result<(u64, u64), FarmError> {
    let seconds = seconds.max(0.1);
    let total = max_bytes as f64 * 8.0 * BUDGET_MARGIN / seconds;
    let audio = if total > 600_000.0 {
        128_000.0
    } else if total > 200_000.0 {
        64_000.0
    } else {
        32_000.0
    };
    let video = (total - audio).min(8_000_000.0);
    if video < MIN_VIDEO_BPS {
        return Err(FarmError::Input(spinbot_core::InputError::Option(format!(
            "A {seconds:.0}-second video can't fit in {max_bytes} bytes."
        ))));
    }
    Ok((video as u64, audio as u64))
}

/// A running encode: write frames, then [`Encoder::finish`].
pub struct Encoder {
    child: FfmpegChild,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<String>>,
    frame_bytes: usize,
    frames: u64,
    output: PathBuf,
}

/// What an encode needs to know.
#[derive(Debug, Clone)]
pub struct EncodeSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Speech length, for the bitrate when `max_bytes` is set.
    pub seconds: f64,
    pub max_bytes: Option<u64>,
}

impl Encoder {
    /// Starts ffmpeg reading RGB24 frames from a pipe and the speech from `audio`.
    pub fn start(
        settings: &EncodeSettings,
        audio: &Path,
        output: &Path,
    ) -> Result<Self, FarmError> {
        let mut cmd = FfmpegCommand::new();
        cmd.hide_banner()
            .args(["-nostdin", "-nostats", "-loglevel", "error"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
            .args(["-s", &format!("{}x{}", settings.width, settings.height)])
            .args(["-r", &settings.fps.to_string()])
            .input("-")
            .input(audio)
            .args(["-map", "0:v:0", "-map", "1:a:0"])
            .args([
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            ])
            .args(["-profile:v", "high", "-r", &settings.fps.to_string()]);
        match settings.max_bytes {
            Some(max) => {
                let (video, audio) = bitrates_for(max, settings.seconds)?;
                cmd.args(["-b:v", &video.to_string(), "-maxrate", &video.to_string()])
                    .args(["-bufsize", &video.to_string()])
                    .args(["-c:a", "aac", "-b:a", &audio.to_string()]);
            }
            None => {
                cmd.args(["-crf", "20", "-c:a", "aac", "-b:a", "128000"]);
            }
        }
        cmd.args(["-movflags", "+faststart", "-f", "mp4"])
            .overwrite()
            .output(output);
        let mut child = cmd
            .spawn()
            .map_err(|e| FarmError::tool("ffmpeg", format!("cannot run ffmpeg: {e}")))?;
        let stdin = child.take_stdin();
        let stderr = child.take_stderr().map(|mut err| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = err.read_to_string(&mut text);
                text
            })
        });
        Ok(Self {
            child,
            stdin,
            stderr,
            frame_bytes: settings.width as usize * settings.height as usize * 3,
            frames: 0,
            output: output.to_owned(),
        })
    }

    /// Writes whole frames (RGB24, row-major, `width * height * 3` bytes each).
    pub fn write_frames(&mut self, rgb: &[u8]) -> Result<(), FarmError> {
        if !rgb.len().is_multiple_of(self.frame_bytes) {
            return Err(FarmError::tool(
                "ffmpeg",
                "partial frame written to the encoder",
            ));
        }
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| FarmError::tool("ffmpeg", "encoder input already closed"))?;
        if let Err(e) = stdin.write_all(rgb) {
            let detail = self.stop();
            return Err(FarmError::tool("ffmpeg", format!("{e}: {detail}")));
        }
        self.frames += (rgb.len() / self.frame_bytes) as u64;
        Ok(())
    }

    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Closes the input and waits for the file.
    pub fn finish(mut self) -> Result<PathBuf, FarmError> {
        drop(self.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| FarmError::tool("ffmpeg", e.to_string()))?;
        let log = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(FarmError::tool(
                "ffmpeg",
                format!("encode failed: {}", log.trim()),
            ));
        }
        Ok(self.output.clone())
    }

    fn stop(&mut self) -> String {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.stop();
        }
    }
}

/// Re-encodes `input` at a lower bitrate into `output` (when a file came out over its limit).
pub fn shrink(
    input: &Path,
    output: &Path,
    max_bytes: u64,
    seconds: f64,
    factor: f64,
) -> Result<(), FarmError> {
    let (video, audio) = bitrates_for(max_bytes, seconds)?;
    let video = ((video as f64 * factor) as u64).max(MIN_VIDEO_BPS as u64);
    let mut child = FfmpegCommand::new()
        .hide_banner()
        .args(["-nostdin", "-nostats", "-loglevel", "error"])
        .input(input)
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        ])
        .args([
            "-b:v",
            &video.to_string(),
            "-maxrate",
            &video.to_string(),
            "-bufsize",
            &video.to_string(),
        ])
        .args([
            "-c:a",
            "aac",
            "-b:a",
            &audio.to_string(),
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ])
        .overwrite()
        .output(output)
        .spawn()
        .map_err(|e| FarmError::tool("ffmpeg", format!("cannot run ffmpeg: {e}")))?;
    let mut log = String::new();
    if let Some(mut err) = child.take_stderr() {
        let _ = err.read_to_string(&mut log);
    }
    let status = child
        .wait()
        .map_err(|e| FarmError::tool("ffmpeg", e.to_string()))?;
    if !status.success() {
        return Err(FarmError::tool(
            "ffmpeg",
            format!("re-encode failed: {}", log.trim()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates_fit_the_budget() {
        let (v, a) = bitrates_for(10 * 1024 * 1024, 60.0).expect("fits");
        let bytes = (v + a) as f64 * 60.0 / 8.0;
        assert!(bytes < 10.0 * 1024.0 * 1024.0, "{bytes}");
        assert!(v > 1_000_000);
        assert!(bitrates_for(100_000, 300.0).is_err());
    }
}
