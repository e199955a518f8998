//! `spinbot bench e2e`: a chat round trip on this machine. A worker and a Telegram bot run
//! as processes of this binary against a fake Bot API (the real one is out of reach), on the
//! configured Redis under a key prefix of their own (removed afterwards), with the
//! configured store (S3 or the folder) and record (Postgres, when set), where the uploads
//! and results stay. A user sends a selfie, then asks for a clip of about five seconds.
//! Measured from the message: the first reply, and the video posted.

use anyhow::Context;
use serde_json::json;
use spinbot_core::Config;
use spinbot_jobs::{Queue, QueueConfig};
use spinbot_testkit::fake_telegram::{Chat, Sent};
use spinbot_testkit::FakeTelegram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "100000:bench-token";
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

pub async fn run(config: &Config, rounds: usize, photo: &std::path::Path) -> anyhow::Result<()> {
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
        let telegram = FakeTelegram::start(TOKEN);
        let exe = std::env::current_exe()?;
        let spawn = |args: &[&str]| -> anyhow::Result<Child> {
            Ok(Command::new(&exe)
                .args(args)
                .env("SPINBOT_REDIS_PREFIX", &child_prefix)
                .env("TELEGRAM_BOT_TOKEN", TOKEN)
                .env("TELEGRAM_API_URL", telegram.url())
                .env("SPINBOT_BOT_ID", "bench-e2e")
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
            spawn(&["bot", "telegram"])?,
        ]);
        measure(&telegram, &selfie, rounds.max(1), &store)
    })
    .await?;
    let queue = Queue::new(QueueConfig {
        prefix,
        ..QueueConfig::from_config(config)
    })?;
    queue.delete_all().await?;
    measured
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

fn measure(
    telegram: &FakeTelegram,
    selfie: &[u8],
    rounds: usize,
    store: &str,
) -> anyhow::Result<()> {
    let chat = Chat::private(4242, "Bench");
    let since = Instant::now();
    telegram.send_photo(&chat, &[(512, 512, selfie.to_vec())], None);
    first_after(telegram, &chat, since, |s| s.method == "sendmessage")?;
    // One round to warm up (the worker loads its models on its first job), then the rounds.
    for round in 0..=rounds {
        let sent_at = Instant::now();
        telegram.send_text(&chat, &format!("say {CLIP_TEXT}"));
        let reply = first_after(telegram, &chat, sent_at, |s| s.method == "sendmessage")?;
        let video = first_after(telegram, &chat, sent_at, |s| s.method == "sendvideo")?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("clip.mp4");
        std::fs::write(&path, video.file.unwrap_or_default())?;
        let clip_s = spinbot_testkit::media::stream_seconds(&path, "v");
        if round == 0 {
            continue;
        }
        let first_reply_s = reply.at.duration_since(sent_at).as_secs_f64();
        let video_s = video.at.duration_since(sent_at).as_secs_f64();
        println!(
            "{}",
            json!({
                "bench": "e2e",
                "platform": "telegram (fake Bot API)",
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
