//! `spinbot bench e2e`: a chat round trip on this machine. A worker and a bot (Telegram, or
//! Discord with `--platform discord`) run as processes of this binary against a fake of the
//! platform (the real one is out of reach), on the
//! configured Redis under a key prefix of their own (removed afterwards), with the
//! configured store (S3 or the folder) and record (Postgres, when set), where the uploads
//! and results stay. A user sends a selfie, then asks for a clip of about five seconds (in a
//! message on Telegram, with `/say` on Discord). Measured from the request: the first reply
//! (on Discord, the interaction's deferral), and the video posted.

use anyhow::Context;
use serde_json::json;
use spinbot_core::Config;
use spinbot_jobs::{Queue, QueueConfig};
use spinbot_testkit::fake_discord::{File, Person, Place, Sent as DiscordSent};
use spinbot_testkit::fake_telegram::{Chat, Sent};
use spinbot_testkit::{FakeDiscord, FakeTelegram};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TELEGRAM_TOKEN: &str = "100000:bench-token";
const DISCORD_TOKEN: &str = "MTAwMDAw.YmVuY2g.bench-token";
/// About five seconds of speech with the default voice.
const CLIP_TEXT: &str =
    "Hello everyone! This short clip was made from just one selfie, and it took only a few seconds.";
const WAIT: Duration = Duration::from_secs(300);

struct Children(Vec<Child>);

impl Drop for Children {
    /// Asks each to stop (SIGTERM: they finish what they started), then kills what is
    /// still running after a few seconds.
    fn drop(&mut self) {
        for child in &self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for child in &mut self.0 {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The chat platform a round trip goes through.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum BenchPlatform {
    Telegram,
    Discord,
}

pub async fn run(
    config: &Config,
    platform: BenchPlatform,
    rounds: usize,
    photo: &std::path::Path,
) -> anyhow::Result<()> {
    let selfie = tokio::fs::read(photo)
        .await
        .with_context(|| format!("{}", photo.display()))?;
    let prefix = format!("spinbot-bench-e2e-{}", std::process::id());
    let store = match &config.s3 {
        Some(s3) => format!("s3://{}", s3.bucket),
        None => config.store_dir.display().to_string(),
    };
    let logs = config.log != "warn";
    let child_prefix = prefix.clone();
    // The fake's API and the waits for it are blocking: off the async threads.
    let measured = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let fake = Fake::start(platform);
        let (bot_env, bot) = fake.bot();
        let exe = std::env::current_exe()?;
        let spawn = |args: &[&str]| -> anyhow::Result<Child> {
            Ok(Command::new(&exe)
                .args(args)
                .envs(bot_env.iter().map(|(k, v)| (k, v)))
                .env("SPINBOT_REDIS_PREFIX", &child_prefix)
                .env("SPINBOT_BOT_ID", "bench-e2e")
                // Benchmarks never ask which voice.
                .env("SPINBOT_SKIP_VOICE_QUESTION", "1")
                .env("SPINBOT_RENDERS_PER_HOUR", "10000")
                .env("SPINBOT_RENDER_BURST", "10000")
                .env_remove("OLLAMA_API_BASE_URL")
                .env_remove("OLLAMA_MODEL")
                .stdout(Stdio::null())
                .stderr(if logs {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                })
                .spawn()?)
        };
        let _children = Children(vec![
            spawn(&["worker", "--name", "bench-e2e"])?,
            spawn(&["bot", bot])?,
        ]);
        measure(&fake, &selfie, rounds.max(1), &store)
    })
    .await?;
    let queue = Queue::new(QueueConfig {
        prefix,
        ..QueueConfig::from_config(config)
    })?;
    queue.delete_all().await?;
    measured
}

/// The fake platform the round trips go through, and the person writing.
enum Fake {
    Telegram(FakeTelegram, Chat),
    Discord(FakeDiscord, Place, Person),
}

/// What came back for one request: when the first answer came, when the video came, and
/// its bytes.
struct Answered {
    first_reply: Instant,
    video: Instant,
    bytes: Vec<u8>,
}

impl Fake {
    fn start(platform: BenchPlatform) -> Self {
        match platform {
            BenchPlatform::Telegram => Self::Telegram(
                FakeTelegram::start(TELEGRAM_TOKEN),
                Chat::private(4242, "Bench"),
            ),
            BenchPlatform::Discord => Self::Discord(
                FakeDiscord::start(DISCORD_TOKEN),
                Place::guild(4242, 4243),
                Person::new(4244, "bench"),
            ),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Telegram(..) => "telegram (fake Bot API)",
            Self::Discord(..) => "discord (fake gateway and REST API)",
        }
    }

    /// The bot's settings for this fake, and its subcommand.
    fn bot(&self) -> (Vec<(&'static str, String)>, &'static str) {
        match self {
            Self::Telegram(telegram, _) => (
                vec![
                    ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN.to_owned()),
                    ("TELEGRAM_API_URL", telegram.url().to_owned()),
                ],
                "telegram",
            ),
            Self::Discord(discord, _, _) => (
                vec![
                    ("DISCORD_BOT_TOKEN", DISCORD_TOKEN.to_owned()),
                    ("DISCORD_API_URL", discord.url().to_owned()),
                ],
                "discord",
            ),
        }
    }

    /// Waits for the bot to be connected, where the platform says so.
    fn wait_ready(&self) -> anyhow::Result<()> {
        match self {
            Self::Telegram(..) => Ok(()),
            Self::Discord(discord, _, _) => {
                anyhow::ensure!(discord.wait_ready(WAIT), "the Discord bot never connected");
                Ok(())
            }
        }
    }

    /// Sends the selfie and waits for its answer.
    fn send_selfie(&self, selfie: &[u8]) -> anyhow::Result<()> {
        let since = Instant::now();
        match self {
            Self::Telegram(telegram, chat) => {
                telegram.send_photo(chat, &[(512, 512, selfie.to_vec())], None);
                first_after(telegram, chat, since, |s| s.method == "sendmessage")?;
            }
            Self::Discord(discord, place, person) => {
                let file = File::new("selfie.jpg", "image/jpeg", selfie.to_vec());
                discord.send_message(*place, person, "here's my selfie", &[file], true);
                first_discord(discord, |s| s.channel == place.channel && s.at >= since)?;
            }
        }
        Ok(())
    }

    /// Asks for a clip saying `text` (a message on Telegram, `/say` on Discord).
    fn ask(&self, text: &str) -> anyhow::Result<Answered> {
        let sent_at = Instant::now();
        match self {
            Self::Telegram(telegram, chat) => {
                telegram.send_text(chat, &format!("say {text}"));
                let reply = first_after(telegram, chat, sent_at, |s| s.method == "sendmessage")?;
                let video = first_after(telegram, chat, sent_at, |s| s.method == "sendvideo")?;
                Ok(Answered {
                    first_reply: reply.at,
                    video: video.at,
                    bytes: video.file.unwrap_or_default(),
                })
            }
            Self::Discord(discord, place, person) => {
                let id = discord.slash(*place, person, "say", &[("text", text)], None);
                let of = |s: &DiscordSent| s.interaction.as_deref() == Some(id.as_str());
                let reply = first_discord(discord, of)?;
                let video = first_discord(discord, |s| of(s) && s.file.is_some())?;
                Ok(Answered {
                    first_reply: reply.at,
                    video: video.at,
                    bytes: video.file.unwrap_or_default(),
                })
            }
        }
    }
}

/// Waits for the first thing sent to `chat` after `since` that `wanted` accepts.
fn first_after(
    telegram: &FakeTelegram,
    chat: &Chat,
    since: Instant,
    wanted: impl Fn(&Sent) -> bool,
) -> anyhow::Result<Sent> {
    let found = |sent: &[Sent]| {
        sent.iter()
            .find(|s| s.chat_id == chat.id && s.at >= since && wanted(s))
            .cloned()
    };
    found(&telegram.wait_for(WAIT, |sent| found(sent).is_some()))
        .context("no answer from the bot in time")
}

/// Waits for the first thing the Discord bot sent that `wanted` accepts.
fn first_discord(
    discord: &FakeDiscord,
    wanted: impl Fn(&DiscordSent) -> bool,
) -> anyhow::Result<DiscordSent> {
    let found = |sent: &[DiscordSent]| sent.iter().find(|s| wanted(s)).cloned();
    found(&discord.wait_for(WAIT, |sent| found(sent).is_some()))
        .context("no answer from the bot in time")
}

fn measure(fake: &Fake, selfie: &[u8], rounds: usize, store: &str) -> anyhow::Result<()> {
    fake.wait_ready()?;
    fake.send_selfie(selfie)?;
    // One round to warm up (the worker loads its models on its first job), then the rounds.
    for round in 0..=rounds {
        let sent_at = Instant::now();
        let answered = fake.ask(CLIP_TEXT)?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("clip.mp4");
        std::fs::write(&path, &answered.bytes)?;
        let clip_s = spinbot_testkit::media::stream_seconds(&path, "v");
        if round == 0 {
            continue;
        }
        let first_reply_s = answered.first_reply.duration_since(sent_at).as_secs_f64();
        let video_s = answered.video.duration_since(sent_at).as_secs_f64();
        println!(
            "{}",
            json!({
                "bench": "e2e",
                "platform": fake.name(),
                "round": round,
                "clip_s": (clip_s * 100.0).round() / 100.0,
                "first_reply_s": (first_reply_s * 1000.0).round() / 1000.0,
                "video_s": (video_s * 100.0).round() / 100.0,
                "store": store,
            })
        );
    }
    Ok(())
}
