//! `spinbot bot telegram`: one chat front end, with the agent in-process; renders happen on
//! the workers, and the videos come back through the job events.

use clap::{Args, ValueEnum};
use spinbot_agent::{Agent, Executor, OllamaSettings, Prompts};
use spinbot_bots::telegram::{self, Telegram};
use spinbot_bots::{Conversation, Courier};
use spinbot_core::limits::DEFAULT_VOICE;
use spinbot_farm::{tts, Assets};
use spinbot_jobs::{Queue, QueueConfig, Record};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Args)]
pub struct BotArgs {
    platform: BotPlatform,
}

#[derive(Clone, Copy, ValueEnum)]
enum BotPlatform {
    Telegram,
}

fn record() -> anyhow::Result<Option<Record>> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Ok(Some(Record::connect(&url)?)),
        _ => Ok(None),
    }
}

/// The voices of the assets folder (just the default one when there is none).
fn voices() -> Vec<String> {
    Assets::locate()
        .ok()
        .and_then(|assets| tts::list_voices(&assets).ok())
        .map(|voices| voices.into_iter().map(|v| v.name).collect())
        .filter(|v: &Vec<String>| !v.is_empty())
        .unwrap_or_else(|| vec![DEFAULT_VOICE.to_owned()])
}

pub fn run(args: BotArgs) -> anyhow::Result<()> {
    match args.platform {
        BotPlatform::Telegram => run_telegram(),
    }
}

pub fn run_telegram() -> anyhow::Result<()> {
    let token = std::env::var("TELEGRAM_BOT_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            spinbot_core::InputError::Option(
                "Set TELEGRAM_BOT_TOKEN to the token @BotFather gave you.".into(),
            )
        })?;
    let api_url = std::env::var("TELEGRAM_API_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let config = QueueConfig::from_env();
    let store = spinbot_jobs::store::from_env()?;
    let prompts = Prompts::from_env()?;
    let executor = Executor::new(
        Queue::connect(config.clone())?,
        store.clone(),
        record()?,
        voices(),
        prompts.help.clone(),
    )?;
    let agent = Arc::new(Agent::new(
        OllamaSettings::from_env(),
        prompts,
        Arc::new(executor),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let platform = Arc::new(Telegram::new(&token, api_url.as_deref())?);
    let consumer = std::env::var("SPINBOT_BOT_ID").unwrap_or_else(|_| "telegram-1".to_owned());
    let courier = Arc::new(Courier::new(
        platform.clone(),
        store.clone(),
        record()?,
        config,
        &consumer,
        runtime.handle().clone(),
    )?);
    let stop = Arc::new(AtomicBool::new(false));
    let events = {
        let (courier, stop) = (courier.clone(), stop.clone());
        std::thread::Builder::new()
            .name("courier".into())
            .spawn(move || courier.run(&stop))?
    };
    let conversation = Arc::new(Conversation::new(platform.clone(), agent, store, courier));
    let polled = runtime.block_on(telegram::run(platform, conversation, stop.clone()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = events.join();
    Ok(polled?)
}
