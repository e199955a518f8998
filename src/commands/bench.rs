//! `spinbot bench ...`: measurements printed as one JSON object per line.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use spinbot_core::limits::{DEFAULT_FPS, DEFAULT_MAX_SIDE, DEFAULT_SIZE, DEFAULT_VOICE};
use spinbot_core::{Config, Crop, DeviceChoice, Plan};
use spinbot_farm::audio::Audio;
use spinbot_farm::encode::{EncodeSettings, Encoder};
use spinbot_farm::face::FaceData;
use spinbot_farm::input::load_photo;
use spinbot_farm::lipsync::mouth::mouth_track;
use spinbot_farm::lipsync::phones::Phones;
use spinbot_farm::lipsync::track;
use spinbot_farm::lipsync::LipSync;
use spinbot_farm::render::View;
use spinbot_farm::{device, Assets, Pipeline};
use std::path::PathBuf;
use std::time::Instant;
use tch::Device;

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
    /// The job plane with a no-op stage, for 1 and 4 workers (needs REDIS_URL).
    Queue {
        #[arg(long, default_value_t = 2000)]
        jobs: usize,
        #[arg(long, default_value_t = 50)]
        users: usize,
    },
    /// The agent on the evaluation set (its tuning and held-out test parts): accuracy,
    /// per-action precision and recall, a confusion matrix, destructive false positives, and
    /// time per message. The built-in parser, or with `--ollama` a real Ollama.
    Agent {
        /// An Ollama server to evaluate instead of the parser (e.g. http://localhost:11434).
        #[arg(long)]
        ollama: Option<String>,
        /// The model on that Ollama (default: OLLAMA_MODEL, else qwen3:8b).
        #[arg(long)]
        model: Option<String>,
        /// Only the first N messages of each part.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// A chat round trip (needs REDIS_URL): seconds from a message to the first reply and
    /// to the posted video of a ~5 s clip, through a worker and a bot (Telegram or Discord).
    E2e {
        /// The chat platform, through its fake.
        #[arg(long, value_enum, default_value = "telegram")]
        platform: crate::commands::bench_e2e::BenchPlatform,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The selfie (default: the sample photo from the assets).
        #[arg(long)]
        photo: Option<PathBuf>,
    },
    /// Many people chatting at once (needs REDIS_URL): reply and video latency, refusals,
    /// jobs accepted, done and lost, fair share, every process's memory, Redis's memory and
    /// Postgres rows per job, with bots and workers whose render is a prepared clip.
    Load(crate::commands::bench_load::LoadArgs),
    /// A worker for `bench load` whose render is the prepared clip.
    #[command(hide = true)]
    LoadWorker(crate::commands::bench_load::StandInArgs),
    /// Lip-sync against real people: for each clip in --clips (its first frame the selfie,
    /// its audio the voice note) the render's inner-lip opening against the person's, frame
    /// by frame (one line per clip, then a summary).
    Lips {
        /// A folder of video clips of one person speaking each.
        #[arg(long)]
        clips: PathBuf,
        /// auto, cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// The render pipeline: one line per stage (tts, face, render, encode) and one for the
    /// whole pipeline (`"stage": "total"`), or the render stage alone from stored inputs.
    Render(RenderBench),
}

#[derive(Args)]
struct RenderBench {
    /// Seconds of speech to render.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// `photo` (the whole photo, the default) or `face` (a square `--size` pixels a side).
    #[arg(long, default_value = "photo")]
    crop: Crop,
    /// Side of the square with `--crop face`.
    #[arg(long, default_value_t = DEFAULT_SIZE)]
    size: u32,
    /// Cap on the whole photo's short side.
    #[arg(long, default_value_t = DEFAULT_MAX_SIDE)]
    max_side: u32,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// The voice that speaks (see `spinbot voices`).
    #[arg(long, default_value = DEFAULT_VOICE)]
    voice: String,
    /// The photo (default: the sample group photo from the assets).
    #[arg(long)]
    photo: Option<PathBuf>,
    /// `render` times the render stage alone from --audio, --photo and --face.
    #[arg(long, value_enum, default_value_t = BenchStage::All)]
    stage: BenchStage,
    /// Stored speech (WAV) for `--stage render`.
    #[arg(long)]
    audio: Option<PathBuf>,
    /// Stored face.json for `--stage render`.
    #[arg(long)]
    face: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchStage {
    All,
    Render,
}

/// A paragraph with the clause shapes chat messages have.
const TTS_TEXT: &str = "Happy birthday, Anna! I hope your day is full of sunshine, \
good friends and far too much cake. We should meet up soon: how about next Friday? \
Call me when you get this message.";

const BATCH: usize = 25;

pub async fn run(args: BenchArgs, config: Config) -> anyhow::Result<()> {
    let assets = Assets::at(&config.assets);
    match args.what {
        // Models and frames: blocking work.
        BenchWhat::Tts { voice, rounds } => {
            tokio::task::spawn_blocking(move || tts(assets, &voice, rounds.max(1))).await?
        }
        BenchWhat::Render(args) => {
            tokio::task::spawn_blocking(move || render(assets, &args)).await?
        }
        BenchWhat::Lips { clips, device } => {
            tokio::task::spawn_blocking(move || {
                crate::commands::bench_lips::run(assets, &clips, &device)
            })
            .await?
        }
        BenchWhat::Queue { jobs, users } => {
            crate::commands::bench_queue::run(&config, jobs.max(1), users).await
        }
        BenchWhat::Agent {
            ollama,
            model,
            limit,
        } => agent(&config, ollama, model, limit).await,
        BenchWhat::Load(args) => {
            crate::commands::bench_load::run(args, &config, assets.root()).await
        }
        BenchWhat::LoadWorker(args) => {
            crate::commands::bench_load::run_stand_in(args, config).await
        }
        BenchWhat::E2e {
            platform,
            rounds,
            photo,
        } => {
            let photo = photo.unwrap_or_else(|| assets.root().join("photos").join("t1.jpg"));
            crate::commands::bench_e2e::run(&config, platform, rounds, &photo).await
        }
    }
}

fn tts(assets: Assets, voice_name: &str, rounds: u32) -> anyhow::Result<()> {
    let pipeline = Pipeline::new(assets, device::resolve(DeviceChoice::Cpu)?);
    let load = Instant::now();
    let voice = pipeline.models().voice(voice_name)?;
    let mut voice = voice
        .lock()
        .map_err(|_| anyhow::anyhow!("the voice broke"))?;
    let load_s = load.elapsed().as_secs_f64();
    // One warm-up run so the first-call costs do not count.
    voice.speak_str("Warming up.")?;
    let mut audio_s = 0.0;
    let start = Instant::now();
    for _ in 0..rounds {
        audio_s += voice.speak_str(TTS_TEXT)?.seconds();
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

/// The process's peak resident memory so far, in MiB (Linux).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What a render benchmark's lines share: the frames' size (once the face is known), the
/// device, the voice (none for a given audio file) and what the mouth followed (once it is
/// known).
struct Setting<'a> {
    size: Option<(u32, u32)>,
    device: Device,
    voice: Option<&'a str>,
    mouth: Option<&'static str>,
}

/// Prints one stage's line.
fn report(stage: &str, wall_s: f64, frames: usize, audio_s: f64, setting: &Setting) {
    let Setting {
        size,
        device,
        voice,
        mouth,
    } = *setting;
    println!(
        "{}",
        json!({
            "bench": "render",
            "stage": stage,
            "voice": voice,
            "mouth": mouth,
            "fps": frames as f64 / wall_s,
            "rtf": wall_s / audio_s,
            "seconds": wall_s,
            "frames": frames,
            "audio_s": audio_s,
            "width": size.map(|s| s.0),
            "height": size.map(|s| s.1),
            "device": format!("{device:?}").to_lowercase(),
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}

/// Times the render stage (the mouth track, renderer set-up and every frame to memory) and
/// reports it; `phones` are the engine's, none for a voice note.
fn time_render(
    image: &image::RgbImage,
    face: &FaceData,
    audio: &Audio,
    phones: Option<Phones>,
    view: View,
    setting: &mut Setting,
) -> anyhow::Result<(Vec<u8>, usize)> {
    let start = Instant::now();
    let frames = ((audio.seconds() * f64::from(DEFAULT_FPS)).round() as usize).max(1);
    let (track, choice, _) = track::choose(audio, phones, DEFAULT_FPS, frames)?;
    setting.mouth = Some(choice.track.name());
    let lipsync = LipSync::new(image, face, view, DEFAULT_FPS, setting.device)?;
    let rgb = render_frames(&lipsync, &track, frames)?;
    report(
        "render",
        start.elapsed().as_secs_f64(),
        frames,
        audio.seconds(),
        setting,
    );
    Ok((rgb, frames))
}

/// Renders `frames` frames of `track` to memory with the lip-sync renderer.
fn render_frames(
    lipsync: &LipSync,
    track: &spinbot_farm::lipsync::mouth::MouthTrack,
    frames: usize,
) -> anyhow::Result<Vec<u8>> {
    let mut rgb = Vec::new();
    let mut done = 0;
    while done < frames {
        let n = BATCH.min(frames - done);
        rgb.extend(lipsync.render(track, done, n)?);
        done += n;
    }
    Ok(rgb)
}

fn render(assets: Assets, args: &RenderBench) -> anyhow::Result<()> {
    let device = device::resolve(args.device.parse()?)?;
    let fps = DEFAULT_FPS;
    let mut setting = Setting {
        size: None,
        device,
        voice: Some(args.voice.as_str()),
        mouth: None,
    };
    if args.stage == BenchStage::Render {
        // The audio file's voice is not known.
        setting.voice = None;
        let (audio, photo, face) = match (&args.audio, &args.photo, &args.face) {
            (Some(a), Some(p), Some(f)) => (a, p, f),
            _ => anyhow::bail!("--stage render needs --audio, --photo and --face"),
        };
        let audio = Audio::read_wav(audio)?;
        let image = load_photo(photo)?;
        let face: FaceData = serde_json::from_slice(
            &std::fs::read(face).with_context(|| format!("reading {}", face.display()))?,
        )?;
        let view = View::of(args.crop, &face, args.size, args.max_side);
        setting.size = Some((view.width, view.height));
        // One short warm-up batch (CUDA kernels, allocator), then the timed run.
        LipSync::new(&image, &face, view, fps, device)?.render(
            &mouth_track(&audio, fps, BATCH)?,
            0,
            BATCH,
        )?;
        time_render(&image, &face, &audio, None, view, &mut setting)?;
        return Ok(());
    }

    let photo_path = match &args.photo {
        Some(p) => p.clone(),
        None => assets.root().join("photos").join("t1.jpg"),
    };
    let pipeline = Pipeline::new(assets, device).with_max_side(args.max_side);
    let models = pipeline.models();
    // Models load once per worker, not per job: load and warm them outside the timings.
    let voice = models.voice(&args.voice)?;
    let mut voice = voice
        .lock()
        .map_err(|_| anyhow::anyhow!("the voice broke"))?;
    voice.speak_str("Warming up.")?;
    let image = load_photo(&photo_path)?;
    let view = View::of(
        args.crop,
        &models.with_faces(|faces| faces.analyse(&image))?,
        args.size,
        args.max_side,
    );
    setting.size = Some((view.width, view.height));

    // Sentences until the speech is about the asked length (its rate measured on the
    // paragraph once, outside the timings).
    let chars_per_s = TTS_TEXT.len() as f64 / voice.speak_str(TTS_TEXT)?.seconds();
    let sentences: Vec<&str> = TTS_TEXT
        .split_inclusive(['.', '!', '?'])
        .map(str::trim)
        .collect();
    let mut text = String::new();
    for sentence in sentences.iter().cycle() {
        if text.len() as f64 >= args.seconds * chars_per_s {
            break;
        }
        text.push_str(sentence);
        text.push(' ');
    }
    let text = spinbot_core::SpeechText::parse(&text)?;

    let start = Instant::now();
    let spoken = voice.speak(&text)?;
    let audio = spoken.audio;
    let tts_s = start.elapsed().as_secs_f64();
    drop(voice);
    let frames = ((audio.seconds() * f64::from(fps)).round() as usize).max(1);
    report("tts", tts_s, frames, audio.seconds(), &setting);

    let start = Instant::now();
    let face = models.with_faces(|faces| faces.analyse(&image))?;
    report(
        "face",
        start.elapsed().as_secs_f64(),
        frames,
        audio.seconds(),
        &setting,
    );

    let (rgb, frames) = time_render(
        &image,
        &face,
        &audio,
        Some(spoken.phones),
        view,
        &mut setting,
    )?;

    let dir = tempfile::Builder::new()
        .prefix("spinbot-bench-")
        .tempdir()?;
    let wav = dir.path().join("speech.wav");
    audio.write_wav(&wav)?;
    let settings = EncodeSettings {
        width: view.width,
        height: view.height,
        fps,
        seconds: audio.seconds(),
        max_bytes: None,
        mark: true,
    };
    let start = Instant::now();
    let mut encoder = Encoder::start(&settings, &wav, &dir.path().join("encode.mp4"))?;
    encoder.write_frames(&rgb)?;
    encoder.finish()?;
    report(
        "encode",
        start.elapsed().as_secs_f64(),
        frames,
        audio.seconds(),
        &setting,
    );
    drop(rgb);

    // The whole pipeline as a job runs it: speech, face, frames streamed into the encoder.
    let speech = spinbot_core::Speech::Text {
        text,
        voice: args.voice.clone(),
    };
    let plan = Plan {
        crop: args.crop,
        size: args.size,
        ..Plan::new(speech, photo_path.to_string_lossy())
    };
    let start = Instant::now();
    pipeline.run(&plan, &dir.path().join("job"), &mut |_, _| {})?;
    let total = start.elapsed().as_secs_f64();
    report("total", total, frames, audio.seconds(), &setting);
    Ok(())
}

/// Times the evaluation set is parsed over for `bench agent`'s time per message.
const TIMING_ROUNDS: usize = 10;

/// The built-in understanding (or a model) on the evaluation set: whole-list accuracy,
/// per-action accuracy, the time one message takes (the set parsed `TIMING_ROUNDS` times
/// over to be measurable), and the data's coverage (phrases no line of the set matches).
async fn agent(
    config: &Config,
    ollama: Option<String>,
    model: Option<String>,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    use spinbot_agent::{eval, understand, Agent, Caller};
    let parts = [
        ("tuning", eval::tuning_cases().context("the tuning part")?),
        ("test", eval::test_cases().context("the test part")?),
    ];
    // A model: every message planned by it (nothing done, nothing read), one at a time.
    let planner = ollama.map(|url| {
        let mut settings = config
            .ollama
            .clone()
            .unwrap_or(spinbot_core::config::OllamaSettings {
                base_url: url.clone(),
                model: spinbot_core::limits::DEFAULT_OLLAMA_MODEL.to_owned(),
                timeout_ms: spinbot_core::limits::DEFAULT_OLLAMA_TIMEOUT_MS,
                stream: false,
                think: false,
            });
        settings.base_url = url;
        if let Some(model) = model {
            settings.model = model;
        }
        let name = settings.model.clone();
        (
            Agent::planner(Some(settings), spinbot_agent::Prompts::built_in()),
            name,
        )
    });
    let caller = Caller {
        user: spinbot_core::UserId::parse("cli:bench")?,
        max_bytes: None,
        reply: None,
        network: None,
    };
    for (part, cases) in &parts {
        let cases = &cases[..limit.unwrap_or(cases.len()).min(cases.len())];
        let started = Instant::now();
        let (report, decider, rounds) = match &planner {
            Some((agent, name)) => {
                let mut decided = std::collections::HashMap::new();
                for case in cases {
                    let (actions, _) = agent.plan(&caller, &case.text).await;
                    decided.insert(case.text.clone(), actions);
                }
                let report = eval::score(cases, |t| decided.get(t).cloned().unwrap_or_default());
                (report, format!("ollama {name}"), 1)
            }
            None => {
                let report = eval::score(cases, understand::parse);
                for _ in 0..TIMING_ROUNDS {
                    for case in cases {
                        std::hint::black_box(understand::parse(std::hint::black_box(&case.text)));
                    }
                }
                (report, "parser".to_owned(), TIMING_ROUNDS + 1)
            }
        };
        let per_message_us =
            started.elapsed().as_secs_f64() * 1e6 / (rounds * cases.len().max(1)) as f64;
        println!(
            "{}",
            json!({
                "bench": "agent",
                "decider": decider,
                "part": part,
                "utterances": report.utterances,
                "correct": report.correct,
                "accuracy": report.accuracy,
                "destructive_false_positives": report.destructive_false_positives,
                "per_action": report.per_action,
                "confusion": report.confusion,
                "misses": report.misses,
                "per_message_us": (per_message_us * 100.0).round() / 100.0,
            })
        );
    }
    // The built-in understanding's coverage: every phrase should be matched by a line of
    // the set (the whole set, whatever the limit).
    if planner.is_some() {
        return Ok(());
    }
    let texts: Vec<&str> = parts
        .iter()
        .flat_map(|(_, cases)| cases.iter().map(|c| c.text.as_str()))
        .collect();
    let sections = understand::lexicon::sections().context("the understanding's data")?;
    let phrases: usize = sections
        .values()
        .flat_map(|lists| lists.values())
        .map(|list| list.iter().count())
        .sum();
    let uncovered = understand::lexicon::uncovered(&texts).context("the understanding's data")?;
    println!(
        "{}",
        json!({
            "bench": "agent",
            "coverage": {
                "rules": sections.len(),
                "lists": sections.values().map(|l| l.len()).sum::<usize>(),
                "phrases": phrases,
                "uncovered": uncovered,
            },
        })
    );
    Ok(())
}
