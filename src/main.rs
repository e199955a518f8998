//! The `spinbot` binary: reads the configuration once, sets up logging, runs one command on
//! the tokio runtime and maps its outcome to the exit status (0 done, 2 bad input or a bad
//! setting, 3 refused by policy, 1 anything else).

mod commands;
mod progress;
mod shutdown;
mod telemetry;

use clap::{Parser, Subcommand};
use spinbot_core::{Config, ConfigError};
use spinbot_farm::FarmError;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "spinbot", version, about = "Chat-driven talking-avatar videos")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every role in one process: a worker, and the Telegram bot when TELEGRAM_BOT_TOKEN is set.
    Up,
    /// Render a talking video from a photo and text or a voice note, with no services.
    Render(commands::render::RenderArgs),
    /// List the voices that `--voice` accepts.
    Voices(commands::voices::VoicesArgs),
    /// Measure a part of the system; prints one JSON object per line.
    Bench(commands::bench::BenchArgs),
    /// Render jobs from the queue until stopped.
    Worker(commands::worker::WorkerArgs),
    /// Copy job events into Postgres until stopped (workers with DATABASE_URL do it too).
    Recorder(commands::recorder::RecorderArgs),
    /// Queue a render as a user; prints the job id.
    Submit(commands::queue::SubmitArgs),
    /// A job's state, place in line and progress.
    Status(commands::queue::JobArgs),
    /// Cancel one of the user's jobs.
    Cancel(commands::queue::JobArgs),
    /// Administration: retention, the dead-letter stream, blocking users.
    Admin(commands::queue::AdminArgs),
    /// A user's jobs with their outcome and result (from Postgres).
    History(commands::queue::HistoryArgs),
    /// Bring the Postgres schema up to date (DATABASE_URL).
    Migrate,
    /// What the agent would do with a message (reads and changes nothing).
    Plan(commands::plan::PlanArgs),
    /// Run a chat bot (telegram: TELEGRAM_BOT_TOKEN) with the agent in-process.
    Bot(commands::bot::BotArgs),
    /// The configuration in effect: every variable, its value (secrets redacted) and source.
    Config(commands::config::ConfigArgs),
    /// Check every configured service and asset, one line each; exit 1 naming what failed.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => return report(&e.into()),
    };
    if let Err(e) = telemetry::init(&config.log) {
        return report(&e.into());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&e.into()),
    };
    let result = runtime.block_on(run(cli.command, config));
    // Blocking work still running (a render a stopped command started) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Up => commands::up::run(config).await,
        Command::Render(args) => commands::render::run(args, config).await,
        Command::Voices(args) => commands::voices::run(args, &config).await,
        Command::Bench(args) => commands::bench::run(args, config).await,
        Command::Worker(args) => commands::worker::run(args, config).await,
        Command::Recorder(args) => commands::recorder::run(args, config).await,
        Command::Submit(args) => commands::queue::submit(args, &config).await,
        Command::Status(args) => commands::queue::status(args, &config).await,
        Command::Cancel(args) => commands::queue::cancel(args, &config).await,
        Command::Admin(args) => commands::queue::admin(args, &config).await,
        Command::History(args) => commands::queue::history(args, &config).await,
        Command::Migrate => commands::queue::migrate(&config).await,
        Command::Plan(args) => commands::plan::run(args, &config).await,
        Command::Bot(args) => commands::bot::run(args, config).await,
        Command::Config(args) => commands::config::run(args, &config),
        Command::Doctor => commands::doctor::run(&config).await,
    }
}

/// Prints the error for a person and picks the exit status.
fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(refused) = err.downcast_ref::<commands::Refused>() {
        if refused.json {
            let retry = (refused.refusal.retry_after_s() * 1000.0).round() / 1000.0;
            println!(
                "{}",
                serde_json::json!({ "error": refused.refusal.code(), "retry_after_s": retry })
            );
        }
        eprintln!("{}", refused.refusal);
        return ExitCode::from(3);
    }
    let input = err
        .downcast_ref::<FarmError>()
        .and_then(FarmError::as_input)
        .or_else(|| err.downcast_ref::<spinbot_core::InputError>());
    if let Some(input) = input {
        eprintln!("{input}");
        return ExitCode::from(2);
    }
    if let Some(setting) = err.downcast_ref::<ConfigError>() {
        eprintln!("{setting}");
        return ExitCode::from(2);
    }
    eprintln!("error: {err:#}");
    ExitCode::from(1)
}
