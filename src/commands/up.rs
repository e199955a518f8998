//! `spinbot up`: every role in one process: the Postgres schema brought up to date (when
//! `DATABASE_URL` is set), a render worker (with the recorder), the web chat (on
//! `SPINBOT_WEB_ADDR`), and every bot whose token is set (`TELEGRAM_BOT_TOKEN`, `DISCORD_BOT_TOKEN`). It runs until SIGINT or SIGTERM; if a role fails, the
//! process ends with its error.

use crate::commands::{bot, migrate_when_up, worker};
use spinbot_core::Config;
use tokio::task::JoinSet;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let stop = crate::shutdown::on_signal()?;
    // Postgres may come up later: wait for it (Ctrl-C still stops).
    if !migrate_when_up(&config, &stop).await? {
        return Ok(());
    }
    let mut roles = JoinSet::new();
    worker::start(worker::WorkerArgs::defaults(), &config, &stop, &mut roles).await?;
    let web = bot::start_web(&config, &stop, &mut roles).await?;
    let mut bots = Vec::new();
    if config.telegram.token.is_some() {
        bot::start_telegram(&config, &stop, &mut roles).await?;
        bots.push("the Telegram bot");
    }
    if config.discord.token.is_some() {
        bot::start_discord(&config, &stop, &mut roles).await?;
        bots.push("the Discord bot");
    }
    let also = if bots.is_empty() {
        String::new()
    } else {
        format!(", {}", bots.join(" and "))
    };
    eprintln!(
        "spinbot is up: the web chat on http://{web}, a render worker{also} (Ctrl-C stops them)"
    );
    while let Some(role) = roles.join_next().await {
        if let Err(e) = role? {
            stop.cancel();
            return Err(e);
        }
    }
    Ok(())
}
