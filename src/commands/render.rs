//! `spinbot render`: the farm's pipeline run directly on local files, no services.

use crate::commands::RequestArgs;
use crate::progress::Bar;
use anyhow::Context;
use clap::Args;
use spinbot_core::limits::{DEFAULT_FPS, MAX_SIZE, MIN_SIZE};
use spinbot_core::{Config, InputError, Plan, Target};
use spinbot_farm::{device, Assets, Pipeline};
use std::path::PathBuf;

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// Frames per second.
    #[arg(long, default_value_t = DEFAULT_FPS)]
    fps: u32,
    /// Upscale the frames K times (bicubic and sharpening): only when asked.
    #[arg(long, default_value_t = 1)]
    upscale: u32,
    /// With the whole photo, the cap on its short side in pixels (default: SPINBOT_MAX_SIDE,
    /// else 720); a larger photo is scaled down, a smaller one keeps its size.
    #[arg(long)]
    max_side: Option<u32>,
    /// auto, cpu, cuda or cuda:N (default: SPINBOT_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// Largest output file in bytes (e.g. 10485760 for Discord); picks the bitrate.
    #[arg(long)]
    max_bytes: Option<u64>,
    /// Keep the stage outputs (speech.wav, phones.json, face.json, video.mp4, mouth.json) in
    /// this folder and resume from them.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Where to write the MP4.
    #[arg(short, long)]
    output: PathBuf,
}

pub async fn run(args: RenderArgs, config: Config) -> anyhow::Result<()> {
    // The whole render is blocking work (files, models, frames, ffmpeg).
    tokio::task::spawn_blocking(move || render(args, &config)).await?
}

fn render(args: RenderArgs, config: &Config) -> anyhow::Result<()> {
    let note = args.request.voice_note.clone().unwrap_or_default();
    let speech = args
        .request
        .speech(|| note.to_string_lossy().into_owned())?;
    let plan = Plan {
        crop: args.request.crop,
        size: args.request.size,
        fps: args.fps,
        upscale: args.upscale,
        target: Target {
            max_bytes: args.max_bytes,
        },
        ..Plan::new(speech, args.request.photo.to_string_lossy())
    };
    plan.validate()?;
    let choice = crate::commands::device_choice(args.device.as_deref(), config)?;
    let max_side = args.max_side.unwrap_or(config.max_side);
    if !(MIN_SIZE..=MAX_SIZE).contains(&max_side) {
        return Err(InputError::Option(format!(
            "--max-side must be from {MIN_SIZE} to {MAX_SIZE} pixels."
        ))
        .into());
    }
    let pipeline = Pipeline::new(Assets::at(&config.assets), device::resolve(choice)?)
        .with_mark(config.mark)
        .with_max_side(max_side);

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
