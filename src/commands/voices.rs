//! `spinbot voices`: every installed voice, one line each: the name `--voice` takes, the
//! language code, the accent and the gender; each language's recommended woman's and man's
//! voice first. `--measure` measures each voice's pitch and brightness from its own output
//! and keeps them in the assets folder, for matching a user's voice note to a voice.

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spinbot_farm::{device, voices, Assets, Pipeline};

#[derive(Args)]
pub struct VoicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Measure every voice's pitch and brightness (once, at set-up; about a second a voice).
    #[arg(long)]
    measure: bool,
}

pub async fn run(args: VoicesArgs, config: &spinbot_core::Config) -> anyhow::Result<()> {
    let assets = Assets::at(&config.assets);
    // Listing reads the assets folder; measuring runs every voice: off the async threads.
    tokio::task::spawn_blocking(move || list_or_measure(&args, &assets)).await?
}

fn list_or_measure(args: &VoicesArgs, assets: &Assets) -> anyhow::Result<()> {
    let mut voices = voices::list_voices(assets)?;
    if args.measure {
        let bar =
            ProgressBar::with_draw_target(Some(voices.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("measuring voices [{wide_bar}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let pipeline = Pipeline::new(
            assets.clone(),
            device::resolve(spinbot_core::DeviceChoice::Cpu)?,
        );
        let figures = voices::measure(&pipeline, &voices, |name| {
            bar.set_message(name.to_owned());
            bar.inc(1);
        })?;
        bar.finish_and_clear();
        voices::save_figures(assets, &figures)?;
        voices = voices::list_voices(assets)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&voices)?);
    } else {
        for v in voices {
            let figures = v.timbre.map_or_else(String::new, |t| {
                format!("\t{:.0} Hz\t{:.0} Hz", t.pitch_hz, t.brightness_hz)
            });
            println!(
                "{}\t{}\t{}\t{}{figures}",
                v.name, v.language, v.accent, v.gender
            );
        }
    }
    Ok(())
}
