//! `spinbot voices`: every installed voice, one line each: the name `--voice` takes, the
//! language code, the accent and the gender; each language's recommended woman's and man's
//! voice first.

use clap::Args;
use spinbot_farm::{voices, Assets};

#[derive(Args)]
pub struct VoicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: VoicesArgs, config: &spinbot_core::Config) -> anyhow::Result<()> {
    let voices = voices::list_voices(&Assets::at(&config.assets))?;
    if args.json {
        println!("{}", serde_json::to_string(&voices)?);
    } else {
        for v in voices {
            println!("{}\t{}\t{}\t{}", v.name, v.language, v.accent, v.gender);
        }
    }
    Ok(())
}
