//! `spinbot up`: every role in one process: the Postgres schema brought up to date (when
//! `DATABASE_URL` is set), a render worker, and the Telegram bot when `TELEGRAM_BOT_TOKEN`
//! is set. It runs until stopped; if a role stops, the process ends with its error.

use crate::commands::{bot, worker};

pub fn run() -> anyhow::Result<()> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        spinbot_jobs::Record::connect(&url)?.migrate()?;
        tracing::info!("the record is up to date");
    }
    let worker = std::thread::Builder::new()
        .name("worker".into())
        .spawn(|| worker::run(worker::WorkerArgs::single()))?;
    let telegram = std::env::var("TELEGRAM_BOT_TOKEN").is_ok_and(|t| !t.trim().is_empty());
    if telegram {
        eprintln!("spinbot is up: a render worker and the Telegram bot (Ctrl-C stops them)");
        let bot = std::thread::Builder::new()
            .name("telegram".into())
            .spawn(bot::run_telegram)?;
        if let Ok(result) = bot.join() {
            result?;
        }
    } else {
        eprintln!(
            "spinbot is up: a render worker (set TELEGRAM_BOT_TOKEN to chat with it on Telegram; Ctrl-C stops it)"
        );
    }
    match worker.join() {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the worker crashed"),
    }
}
