//! `spinbot render`: the farm's pipeline run directly on local files, no services.

use crate::progress::Bar;
use anyhow::Context;
use clap::Args;
use spinbot_core::limits::{DEFAULT_FPS, DEFAULT_SIZE, DEFAULT_VOICE, DEVICE_ENV};
use spinbot_core::{InputError, Plan, Speech, SpeechText, Target};
use spinbot_farm::{Assets, DeviceChoice, Pipeline};
use std::path::PathBuf;

#[derive(Args)]
#[command(group = clap::ArgGroup::new("speech").required(true).args(["say", "voice_note"]))]
pub struct RenderArgs {
    /// The photo (JPEG, PNG or WebP).
    #[arg(long)]
    photo: PathBuf,
    /// Text to speak.
    #[arg(long)]
    say: Option<String>,
    /// A voice note to lip-sync instead (OGG/Opus, MP3, M4A or WAV).
    #[arg(long)]
    voice_note: Option<PathBuf>,
    /// Voice for `--say` (see `spinbot voices`).
    #[arg(long, default_value = DEFAULT_VOICE)]
    voice: String,
    /// Side of the rendered square face crop, in pixels.
    #[arg(long, default_value_t = DEFAULT_SIZE)]
    size: u32,
    /// Frames per second.
    #[arg(long, default_value_t = DEFAULT_FPS)]
    fps: u32,
    /// Multiply the output size by K.
    #[arg(long, default_value_t = 1)]
    upscale: u32,
    /// auto, cpu or cuda (default: $SPINBOT_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// Largest output file in bytes (e.g. 10485760 for Discord); picks the bitrate.
    #[arg(long)]
    max_bytes: Option<u64>,
    /// Keep the stage outputs (speech.wav, face.json, video.mp4) in this folder and resume
    /// from them.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Where to write the MP4.
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let speech = match (&args.say, &args.voice_note) {
        (Some(text), _) => Speech::Text {
            text: SpeechText::parse(text)?,
            voice: args.voice.clone(),
        },
        (None, Some(note)) => Speech::VoiceNote {
            audio: note.to_string_lossy().into_owned(),
        },
        (None, None) => {
            return Err(InputError::Option("Give --say TEXT or --voice-note FILE.".into()).into())
        }
    };
    let plan = Plan {
        size: args.size,
        fps: args.fps,
        upscale: args.upscale,
        target: Target {
            max_bytes: args.max_bytes,
        },
        ..Plan::new(speech, args.photo.to_string_lossy())
    };
    plan.validate()?;
    let choice: DeviceChoice = match args.device.or_else(|| std::env::var(DEVICE_ENV).ok()) {
        Some(d) => d.parse()?,
        None => DeviceChoice::Auto,
    };
    let mut pipeline = Pipeline::new(Assets::locate()?, choice.resolve()?);

    let temp;
    let work_dir = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("spinbot-render-")
                .tempdir()?;
            temp.path().to_owned()
        }
    };
    let mut bar = Bar::new(&plan);
    let result = pipeline.run(&plan, &work_dir, &mut bar);
    bar.finish();
    let video = result?;
    if let Some(parent) = args.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::copy(&video, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!("{}", args.output.display());
    Ok(())
}
