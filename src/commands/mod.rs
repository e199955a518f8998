//! One module per subcommand, and what they share.

pub mod bench;
pub mod bench_e2e;
pub mod bench_queue;
pub mod bot;
pub mod plan;
pub mod queue;
pub mod render;
pub mod up;
pub mod voices;
pub mod worker;

use clap::Args;
use spinbot_core::limits::{DEFAULT_SIZE, DEFAULT_VOICE};
use spinbot_core::{InputError, Speech, SpeechText};
use std::path::{Path, PathBuf};

/// What to render, as `render` and `submit` both take it.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("speech").required(true).args(["say", "voice_note"]))]
pub struct RequestArgs {
    /// The photo (JPEG, PNG or WebP).
    #[arg(long)]
    pub photo: PathBuf,
    /// Text to speak.
    #[arg(long)]
    pub say: Option<String>,
    /// A voice note to lip-sync instead (OGG/Opus, MP3, M4A or WAV).
    #[arg(long)]
    pub voice_note: Option<PathBuf>,
    /// Voice for `--say` (see `spinbot voices`).
    #[arg(long, default_value = DEFAULT_VOICE)]
    pub voice: String,
    /// Side of the rendered square face crop, in pixels.
    #[arg(long, default_value_t = DEFAULT_SIZE)]
    pub size: u32,
}

impl RequestArgs {
    /// The speech: the text, checked, or the voice note where `place` puts it (a path or a
    /// store key).
    pub fn speech(
        &self,
        place: impl FnOnce(&Path) -> anyhow::Result<String>,
    ) -> anyhow::Result<Speech> {
        match (&self.say, &self.voice_note) {
            (Some(text), _) => Ok(Speech::Text {
                text: SpeechText::parse(text)?,
                voice: self.voice.clone(),
            }),
            (None, Some(note)) => Ok(Speech::VoiceNote {
                audio: place(note)?,
            }),
            (None, None) => {
                Err(InputError::Option("Give --say TEXT or --voice-note FILE.".into()).into())
            }
        }
    }
}

/// A request the job plane turned down (exit status 3): why, and when to try again.
#[derive(Debug)]
pub struct Refused {
    pub reason: String,
    pub retry_after_s: f64,
    pub json: bool,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason.as_str() {
            "rate_limited" => write!(
                f,
                "You have made too many videos for now; try again in {:.0} seconds.",
                self.retry_after_s.ceil()
            ),
            "too_many_queued" => write!(
                f,
                "You already have the most videos waiting; try again when one is done."
            ),
            "busy" => write!(
                f,
                "The render farm is busy; try again in {:.0} seconds.",
                self.retry_after_s.ceil()
            ),
            "not_found" => write!(f, "There is no such job of yours."),
            other => write!(f, "Refused: {other}."),
        }
    }
}

impl std::error::Error for Refused {}
