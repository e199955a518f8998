//! `spinbot bot telegram|discord|web`: one chat front end, with the agent in-process; renders happen on
//! the workers, and the videos come back through the job events. Runs until SIGINT or
//! SIGTERM, then stops taking messages and finishes what it started. With
//! `SPINBOT_METRICS_ADDR`, it serves the metrics; with `DATABASE_URL`, it brings the record's
//! schema up to date first (waiting while Postgres is away).

use crate::commands::{migrate_when_up, queue, record};
use clap::{Args, ValueEnum};
use secrecy::ExposeSecret;
use spinbot_agent::{Agent, Executor, Prompts};
use spinbot_bots::discord::{self, Discord};
use spinbot_bots::telegram::{self, Telegram};
use spinbot_bots::web::{self, Web};
use spinbot_bots::{courier, BotError, Conversation, Courier, Platform};
use spinbot_core::config::Rule;
use spinbot_core::limits::{DEFAULT_VOICE, PRUNE_EVERY_S};
use spinbot_core::VoiceEntry;
use spinbot_core::{Config, ConfigError};
use spinbot_farm::{voices, Assets};
use spinbot_jobs::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct BotArgs {
    platform: BotPlatform,
}

#[derive(Clone, Copy, ValueEnum)]
enum BotPlatform {
    Telegram,
    Discord,
    /// The web chat, served on SPINBOT_WEB_ADDR.
    Web,
}

/// The agent's texts: the configured folder's, else the built-in ones.
pub fn prompts(config: &Config) -> anyhow::Result<Prompts> {
    Prompts::configured(config.prompts.as_deref()).map_err(|e| {
        ConfigError(format!(
            "SPINBOT_PROMPTS must be {} laid out like prompts/ ({e}).",
            Rule::Folder { existing: true }.must_be()
        ))
        .into()
    })
}

/// The voices of the assets folder (just the default one when there is none).
fn voices(config: &Config) -> Vec<VoiceEntry> {
    voices::list_voices(&Assets::at(&config.assets))
        .ok()
        .map(|voices| voices.iter().map(voices::VoiceInfo::entry).collect())
        .filter(|v: &Vec<VoiceEntry>| !v.is_empty())
        .unwrap_or_else(|| {
            vec![VoiceEntry {
                name: DEFAULT_VOICE.to_owned(),
                language: "en-US".into(),
                accent: "American".into(),
                gender: "male".into(),
                recommended: false,
                timbre: None,
            }]
        })
}

pub async fn run(args: BotArgs, config: Config) -> anyhow::Result<()> {
    let stop = crate::shutdown::on_signal()?;
    // A bot records users and jobs: their tables exist before the first message.
    if !migrate_when_up(&config, &stop).await? {
        return Ok(());
    }
    let mut roles = JoinSet::new();
    if let Some(addr) = config.metrics_addr {
        let served = spinbot_jobs::metrics::serve(addr, queue(&config)?, stop.clone()).await?;
        tracing::info!(%addr, "metrics on /metrics");
        roles.spawn(async move { Ok(served.await?) });
    }
    match args.platform {
        BotPlatform::Telegram => start_telegram(&config, &stop, &mut roles).await?,
        BotPlatform::Discord => start_discord(&config, &stop, &mut roles).await?,
        BotPlatform::Web => {
            let addr = start_web(&config, &stop, &mut roles).await?;
            eprintln!("the web chat is on http://{addr} (Ctrl-C stops it)");
        }
    }
    while let Some(role) = roles.join_next().await {
        role??;
    }
    Ok(())
}

/// Starts the Telegram bot (its updates and its courier) into `roles`.
pub async fn start_telegram(
    config: &Config,
    stop: &CancellationToken,
    roles: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let token = config.telegram.token.as_ref().ok_or_else(|| {
        ConfigError("TELEGRAM_BOT_TOKEN must be set to the token @BotFather gave you.".into())
    })?;
    let platform = Arc::new(Telegram::new(
        token.expose_secret(),
        config.telegram.api_url.as_deref(),
    )?);
    start(config, stop, roles, platform, telegram::listen).await
}

/// Starts the Discord bot (its gateway client and its courier) into `roles`.
pub async fn start_discord(
    config: &Config,
    stop: &CancellationToken,
    roles: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let token = config.discord.token.as_ref().ok_or_else(|| {
        ConfigError(
            "DISCORD_BOT_TOKEN must be set to the bot's token from the Discord Developer Portal."
                .into(),
        )
    })?;
    let platform = Arc::new(Discord::new(discord::Settings {
        token: token.expose_secret().to_owned(),
        api_url: config.discord.api_url.clone(),
        guild: config.discord.guild,
        message_content: config.discord.message_content,
        voices: {
            // The recommended voices first: Discord shows 25.
            let mut voices = voices(config);
            voices.sort_by_key(|v| !v.recommended);
            voices
        },
    })?);
    start(config, stop, roles, platform, discord::listen).await
}

/// Starts the web chat (its server and its courier) into `roles`; the address it serves on.
pub async fn start_web(
    config: &Config,
    stop: &CancellationToken,
    roles: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(config.web_addr)
        .await
        .map_err(|e| {
            ConfigError(format!(
                "The web chat can't listen on {} (SPINBOT_WEB_ADDR): {e}.",
                config.web_addr
            ))
        })?;
    let addr = listener.local_addr()?;
    let platform = Arc::new(Web::new(web::Settings {
        listener,
        queue: queue(config)?,
        store: Store::from_config(config),
        voices: voices(config),
        redis_url: config.redis_url.expose().to_owned(),
        public_url: config.web_public_url.clone(),
        trusted_proxies: config.web_trusted_proxies.clone(),
    }));
    start(config, stop, roles, platform, web::listen).await?;
    Ok(addr)
}

/// Starts a bot on `platform` into `roles`: its conversation loop fed by `listen`, and its
/// courier.
async fn start<P, L, F>(
    config: &Config,
    stop: &CancellationToken,
    roles: &mut JoinSet<anyhow::Result<()>>,
    platform: Arc<P>,
    listen: L,
) -> anyhow::Result<()>
where
    P: Platform,
    L: FnOnce(Arc<P>, Arc<Conversation<P>>, CancellationToken) -> F + Send + 'static,
    F: Future<Output = Result<(), BotError>> + Send + 'static,
{
    spinbot_jobs::metrics::process().bot_started(P::NAME);
    let queue = queue(config)?;
    let store = Store::from_config(config);
    let record = record(config)?;
    // Read once: the help text for the executor, the rest for the model.
    let prompts = prompts(config)?;
    let executor = Executor::new(
        queue.clone(),
        store.clone(),
        record,
        voices(config),
        prompts.help.clone(),
    );
    let executor = if config.skip_voice_question {
        executor.without_voice_question()
    } else {
        executor
    };
    let agent = Arc::new(Agent::new(
        config.ollama.clone(),
        prompts,
        Arc::new(executor).into(),
    ));
    let Some(me) = queue
        .join_when_up(
            &courier::group::<P>(),
            P::NAME,
            config.bot_id.as_deref(),
            stop,
        )
        .await
    else {
        return Ok(());
    };
    let pruned = queue.clone();
    let courier = Courier::new(platform.clone(), store.clone(), queue, me);
    let conversation = Arc::new(Conversation::new(
        platform.clone(),
        agent,
        store,
        courier.clone(),
    ));
    // What is kept in memory per person or chat stays bounded by those active lately.
    let (kept, stop_pruning) = (conversation.clone(), stop.clone());
    roles.spawn(async move {
        let every = Duration::from_secs(PRUNE_EVERY_S);
        while spinbot_jobs::retry::pause(&stop_pruning, every).await {
            kept.prune();
            pruned.prune();
        }
        Ok(())
    });
    // Messages stop first; the courier then finishes the deliveries it started.
    let updates_done = CancellationToken::new();
    let (updates_stop, done) = (stop.clone(), updates_done.clone());
    roles.spawn(async move {
        let listened = listen(platform, conversation, updates_stop).await;
        done.cancel();
        Ok(listened?)
    });
    roles.spawn(async move { Ok(courier.run(updates_done).await?) });
    Ok(())
}
