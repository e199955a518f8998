//! `spinbot voices`: the Piper voices in the assets folder.

use clap::Args;
use spinbot_farm::{tts, Assets};

#[derive(Args)]
pub struct VoicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: VoicesArgs, config: &spinbot_core::Config) -> anyhow::Result<()> {
    let voices = tts::list_voices(&Assets::at(&config.assets))?;
    if args.json {
        println!("{}", serde_json::to_string(&voices)?);
    } else {
        for v in voices {
            println!(
                "{}\t{}\t{}\t{} Hz",
                v.name, v.language, v.quality, v.sample_rate
            );
        }
    }
    Ok(())
}
