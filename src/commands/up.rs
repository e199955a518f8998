//! `spinbot up`: every role in one process: the Postgres schema brought up to date (when
//! `DATABASE_URL` is set), a render worker (with the recorder), and every bot whose token is
//! set (`TELEGRAM_BOT_TOKEN`, `DISCORD_BOT_TOKEN`). It runs until SIGINT or SIGTERM; if a role fails, the
//! process ends with its error.

use crate::commands::{bot, record, worker};
use spinbot_core::Config;
use tokio::task::JoinSet;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let stop = crate::shutdown::on_signal()?;
    if let Some(record) = record(&config)? {
        // Postgres may come up later: wait for it (Ctrl-C still stops).
        let mut backoff = spinbot_jobs::retry::Backoff::default();
        while let Err(e) = record.migrate().await {
            tracing::warn!(error = %e, "the record is not ready; waiting");
            if !backoff.wait(&stop).await {
                return Ok(());
            }
        }
        tracing::info!("the record is up to date");
    }
    let mut roles = JoinSet::new();
    worker::start(worker::WorkerArgs::defaults(), &config, &stop, &mut roles).await?;
    let mut bots = Vec::new();
    if config.telegram.token.is_some() {
        bot::start_telegram(&config, &stop, &mut roles).await?;
        bots.push("the Telegram bot");
    }
    if config.discord.token.is_some() {
        bot::start_discord(&config, &stop, &mut roles).await?;
        bots.push("the Discord bot");
    }
    if bots.is_empty() {
        eprintln!(
            "spinbot is up: a render worker (set TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN to chat with it; Ctrl-C stops it)"
        );
    } else {
        eprintln!(
            "spinbot is up: a render worker and {} (Ctrl-C stops them)",
            bots.join(" and ")
        );
    }
    while let Some(role) = roles.join_next().await {
        if let Err(e) = role? {
            stop.cancel();
            return Err(e);
        }
    }
    Ok(())
}
