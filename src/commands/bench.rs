//! `spinbot bench ...`: measurements printed as one JSON object per line.

use clap::{Args, Subcommand};
use serde_json::json;
use spinbot_core::limits::DEFAULT_VOICE;
use spinbot_farm::{Assets, DeviceChoice, Pipeline};
use std::time::Instant;

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Text to speech: seconds of audio per second of work (real-time factor).
    Tts {
        #[arg(long, default_value = DEFAULT_VOICE)]
        voice: String,
        /// How many times to speak the benchmark text.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
}

/// A short paragraph with the clause shapes chat messages have.
const TTS_TEXT: &str = "Happy birthday, Anna! I hope your day is full of sunshine, \
good friends and far too much cake. We should meet up soon: how about next Friday? \
Call me when you get this message.";

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchWhat::Tts { voice, rounds } => tts(&voice, rounds.max(1)),
    }
}

fn tts(voice_name: &str, rounds: u32) -> anyhow::Result<()> {
    let mut pipeline = Pipeline::new(Assets::locate()?, DeviceChoice::Cpu.resolve()?);
    let load = Instant::now();
    let voice = pipeline.voice(voice_name)?;
    let load_s = load.elapsed().as_secs_f64();
    // One warm-up run so the first-call costs do not count.
    voice.speak_with("Warming up.", voice.default_scales())?;
    let mut audio_s = 0.0;
    let start = Instant::now();
    for _ in 0..rounds {
        audio_s += voice
            .speak_with(TTS_TEXT, voice.default_scales())?
            .seconds();
    }
    let wall_s = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "bench": "tts",
            "voice": voice_name,
            "rounds": rounds,
            "chars": TTS_TEXT.len() as u32 * rounds,
            "audio_s": audio_s,
            "wall_s": wall_s,
            "rtf": wall_s / audio_s,
            "load_s": load_s,
            "threads": spinbot_farm::onnx::default_threads(),
        })
    );
    Ok(())
}
