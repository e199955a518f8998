//! `spinbot up`: every role in one process: the Postgres schema brought up to date (when
//! `DATABASE_URL` is set), a render worker (with the recorder), and the Telegram bot when
//! `TELEGRAM_BOT_TOKEN` is set. It runs until SIGINT or SIGTERM; if a role fails, the
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
    if config.telegram.token.is_some() {
        bot::start_telegram(&config, &stop, &mut roles).await?;
        eprintln!("spinbot is up: a render worker and the Telegram bot (Ctrl-C stops them)");
    } else {
        eprintln!(
            "spinbot is up: a render worker (set TELEGRAM_BOT_TOKEN to chat with it on Telegram; Ctrl-C stops it)"
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
