//! One module per subcommand, and what they share.

pub mod bench;
pub mod bench_e2e;
pub mod bench_lips;
pub mod bench_load;
pub mod bench_queue;
pub mod bot;
pub mod config;
pub mod doctor;
pub mod plan;
pub mod queue;
pub mod recorder;
pub mod render;
pub mod up;
pub mod voices;
pub mod worker;

use clap::Args;
use spinbot_core::limits::{DEFAULT_SIZE, DEFAULT_VOICE};
use spinbot_core::{
    Config, ConfigError, Crop, DeviceChoice, InputError, Refusal, Speech, SpeechText,
};
use spinbot_jobs::{Queue, QueueConfig, Record};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

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
    /// What the video shows: `photo` (the whole photo, framed as it was taken) or `face`
    /// (a square around the face, `--size` pixels a side).
    #[arg(long, default_value = "photo")]
    pub crop: Crop,
    /// Side of the square with `--crop face`, in pixels.
    #[arg(long, default_value_t = DEFAULT_SIZE)]
    pub size: u32,
}

impl RequestArgs {
    /// The speech: the text, checked, or the voice note at `place` (a path or a store key).
    pub fn speech(&self, place: impl FnOnce() -> String) -> anyhow::Result<Speech> {
        match (&self.say, &self.voice_note) {
            (Some(text), _) => Ok(Speech::Text {
                text: SpeechText::parse(text)?,
                voice: self.voice.clone(),
            }),
            (None, Some(_)) => Ok(Speech::VoiceNote { audio: place() }),
            (None, None) => {
                Err(InputError::Option("Give --say TEXT or --voice-note FILE.".into()).into())
            }
        }
    }
}

/// A request the job plane turned down (exit status 3), with `--json` or not.
#[derive(Debug)]
pub struct Refused {
    pub refusal: Refusal,
    pub json: bool,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.refusal.fmt(f)
    }
}

impl std::error::Error for Refused {}

/// The device a `--device` option asks for, else the configuration's (`SPINBOT_DEVICE`).
/// Parsed here, not by clap, so a bad value is one sentence like every other.
pub fn device_choice(arg: Option<&str>, config: &Config) -> Result<DeviceChoice, InputError> {
    arg.map_or(Ok(config.device), str::parse)
}

/// The job plane of the configuration.
pub fn queue(config: &Config) -> anyhow::Result<Queue> {
    Ok(Queue::new(QueueConfig::from_config(config))?)
}

/// The record, when the configuration names one.
pub fn record(config: &Config) -> anyhow::Result<Option<Record>> {
    Ok(match &config.database_url {
        Some(url) => Some(Record::connect(url)?),
        None => None,
    })
}

/// Brings the record's schema up to date when the configuration names one, waiting while
/// Postgres is away; false when `stop` came first.
pub async fn migrate_when_up(config: &Config, stop: &CancellationToken) -> anyhow::Result<bool> {
    let Some(record) = record(config)? else {
        return Ok(true);
    };
    let mut backoff = spinbot_jobs::retry::Backoff::default();
    while let Err(e) = record.migrate().await {
        tracing::warn!(error = %e, "the record is not ready; waiting");
        if !backoff.wait(stop).await {
            return Ok(false);
        }
    }
    tracing::info!("the record is up to date");
    Ok(true)
}

/// The record, which this command needs.
pub fn required_record(config: &Config) -> anyhow::Result<Record> {
    record(config)?.ok_or_else(|| {
        ConfigError("DATABASE_URL must be set: this command needs the Postgres record.".into())
            .into()
    })
}
