//! The conversation loop every bot shares: a message in (text and files, from a platform
//! adapter), per-chat flood control, the files stored under the sender's uploads, the agent
//! deciding and acting, the answer out, and a render's answer kept as the status message
//! that the courier edits with progress and follows with the video.

use crate::courier::Courier;
use crate::error::BotError;
use crate::platform::{Control, FileKind, Incoming, Platform};
use governor::{DefaultKeyedRateLimiter, Quota};
use spinbot_agent::{Action, Agent, Ask, Caller, Message, Upload};
use spinbot_core::job::ReplyTo;
use spinbot_core::limits::{MAX_PHOTO_BYTES, MAX_VOICE_NOTE_BYTES};
use spinbot_core::{sniff_audio, sniff_photo, InputError, Timbre};
use spinbot_jobs::{keys, Store};
use std::num::NonZeroU32;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tracing::Instrument;

/// Messages per chat per minute, sustained, before the bot asks to slow down...
pub const MESSAGES_PER_MINUTE: u32 = 30;
/// ...after a burst of this many back to back.
pub const MESSAGE_BURST: u32 = 10;

pub struct Conversation<P: Platform> {
    platform: Arc<P>,
    agent: Arc<Agent>,
    store: Store,
    courier: Arc<Courier<P>>,
    flood: DefaultKeyedRateLimiter<String>,
    /// One "slow down" per chat per minute.
    warned: DefaultKeyedRateLimiter<String>,
}

impl<P: Platform> Conversation<P> {
    pub fn new(
        platform: Arc<P>,
        agent: Arc<Agent>,
        store: Store,
        courier: Arc<Courier<P>>,
    ) -> Self {
        let per_minute = NonZeroU32::new(MESSAGES_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(MESSAGE_BURST).unwrap_or(NonZeroU32::MIN);
        Self {
            platform,
            agent,
            store,
            courier,
            flood: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            warned: DefaultKeyedRateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
        }
    }

    /// Answers one message. Errors are logged; the user always gets a sentence when the
    /// platform can still be reached.
    pub async fn handle(&self, incoming: Incoming) {
        let span = tracing::info_span!("chat", user = %incoming.user, chat = %incoming.chat);
        spinbot_jobs::metrics::process().chat_message(P::NAME);
        async {
            if let Err(e) = self.answer(&incoming).await {
                tracing::error!(error = %e, "a message was not answered");
                let sorry = "Something went wrong on my side; please try again in a minute.";
                let _ = self.platform.answer(&incoming, sorry, &[]).await;
            }
        }
        .instrument(span)
        .await
    }

    async fn answer(&self, incoming: &Incoming) -> Result<(), BotError> {
        if self.flood.check_key(&incoming.chat).is_err() {
            tracing::info!("flood control");
            // One warning per window: the next message over the limit is dropped silently
            // (unless the sender sees an answer pending).
            if self.warned.check_key(&incoming.chat).is_ok() || incoming.awaited {
                let slow_down = "You're sending messages very fast; please wait a minute.";
                self.platform.answer(incoming, slow_down, &[]).await?;
            }
            return Ok(());
        }
        if let Some(refusal) = &incoming.refusal {
            self.platform.answer(incoming, refusal, &[]).await?;
            return Ok(());
        }
        let mut uploads = Vec::new();
        for file in &incoming.files {
            match self.store_upload(incoming, file.kind, &file.path).await {
                Ok(upload) => uploads.push(upload),
                Err(StoreError::Input(e)) => {
                    self.platform.answer(incoming, &e.to_string(), &[]).await?;
                    return Ok(());
                }
                Err(StoreError::Bot(e)) => return Err(e),
            }
        }
        let caller = Caller {
            user: incoming.user.clone(),
            max_bytes: Some(self.platform.upload_limit(&incoming.chat)),
            reply: Some(ReplyTo {
                platform: P::NAME.to_owned(),
                chat: incoming.chat.clone(),
                message: None,
            }),
        };
        let reply = self
            .agent
            .handle(Message {
                caller,
                text: incoming.text.clone(),
                uploads,
            })
            .await;
        let started: Vec<_> = reply
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::Render { .. }))
            .filter_map(|s| s.result.as_ref().ok().and_then(|d| d.job.clone()))
            .collect();
        let text = if reply.text.trim().is_empty() {
            "👍"
        } else {
            reply.text.as_str()
        };
        let mut controls: Vec<Control> = started.iter().cloned().map(Control::Cancel).collect();
        if reply
            .steps
            .iter()
            .any(|s| matches!(s.action, Action::ListVoices) && s.result.is_ok())
        {
            controls.push(Control::PickVoice);
        }
        // A question gets its buttons: a yes, or the voices.
        for step in &reply.steps {
            match step.result.as_ref().ok().and_then(|done| done.asks) {
                Some(Ask::Yes) => controls.push(Control::Confirm),
                Some(Ask::Voice) if !controls.contains(&Control::PickVoice) => {
                    controls.push(Control::PickVoice)
                }
                _ => {}
            }
        }
        let message = self.platform.answer(incoming, text, &controls).await?;
        for job in started {
            self.courier.watch(&job, &incoming.chat, &message).await?;
        }
        Ok(())
    }

    /// Checks a downloaded file and stores it under the sender's uploads.
    async fn store_upload(
        &self,
        incoming: &Incoming,
        kind: FileKind,
        path: &std::path::Path,
    ) -> Result<Upload, StoreError> {
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| StoreError::Bot(e.into()))?
            .len();
        let mut head = [0u8; 16];
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| StoreError::Bot(e.into()))?;
        let n = file
            .read(&mut head)
            .await
            .map_err(|e| StoreError::Bot(e.into()))?;
        let head = &head[..n];
        let (ext, name) = match kind {
            FileKind::Photo => {
                if size > MAX_PHOTO_BYTES {
                    return Err(StoreError::Input(InputError::PhotoTooLarge {
                        mb: size as f64 / 1e6,
                    }));
                }
                (sniff_photo(head).map_err(StoreError::Input)?, "photo")
            }
            FileKind::VoiceNote => {
                if size > MAX_VOICE_NOTE_BYTES {
                    return Err(StoreError::Input(InputError::AudioTooLarge {
                        mb: size as f64 / 1e6,
                    }));
                }
                (sniff_audio(head).map_err(StoreError::Input)?, "voice-note")
            }
        };
        let key = keys::upload(&incoming.user, name, ext);
        self.store
            .put_file(&key, path)
            .await
            .map_err(|e| StoreError::Bot(e.into()))?;
        Ok(match kind {
            FileKind::Photo => Upload::Photo { key },
            FileKind::VoiceNote => Upload::VoiceNote {
                key,
                timbre: timbre_of(path).await,
            },
        })
    }
}

/// How long decoding a voice note to measure it may take.
const MEASURE_TIME: Duration = Duration::from_secs(20);

/// How the speaker of a voice note sounds: its first 30 s decoded by ffmpeg (mono, 16 kHz)
/// and measured off the async threads; `None` when it cannot be (the render refuses a
/// broken note with its own sentence).
async fn timbre_of(path: &Path) -> Option<Timbre> {
    const RATE: u32 = 16_000;
    let decode = tokio::process::Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-t", "30", "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(MEASURE_TIME, decode)
        .await
        .ok()?
        .ok()?;
    if !output.status.success() {
        return None;
    }
    tokio::task::spawn_blocking(move || {
        let samples: Vec<f32> = output
            .stdout
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect();
        spinbot_core::timbre::measure(&samples, RATE)
    })
    .await
    .ok()
    .flatten()
}

enum StoreError {
    Input(InputError),
    Bot(BotError),
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
    async fn a_voice_note_is_measured_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let high = timbre_of(&note(dir.path(), "en-us+f3", "80"))
            .await
            .expect("measured");
        let low = timbre_of(&note(dir.path(), "en-us", "10"))
            .await
            .expect("measured");
        assert!(high.pitch_hz > 1.5 * low.pitch_hz, "{high:?} {low:?}");
        assert!((50.0..400.0).contains(&low.pitch_hz), "{low:?}");
        let broken = dir.path().join("broken.ogg");
        std::fs::write(&broken, b"OggS not really").expect("write");
        assert_eq!(timbre_of(&broken).await, None);
    }
}
