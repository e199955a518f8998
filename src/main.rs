//! The `spinbot` binary: parses the command line, sets up logging, runs one command and maps
//! its outcome to the exit status (0 done, 2 bad input, 3 refused by policy, 1 anything
//! else).

mod commands;
mod progress;
mod telemetry;

use clap::{Parser, Subcommand};
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
    /// Queue a render as a user; prints the job id.
    Submit(commands::queue::SubmitArgs),
    /// A job's state, place in line and progress.
    Status(commands::queue::JobArgs),
    /// Cancel one of the user's jobs.
    Cancel(commands::queue::JobArgs),
    /// Administration: the dead-letter stream.
    Admin(commands::queue::AdminArgs),
    /// A user's jobs with their outcome and result (from Postgres).
    History(commands::queue::HistoryArgs),
    /// Bring the Postgres schema up to date (DATABASE_URL).
    Migrate,
    /// What the agent would do with a message (reads and changes nothing).
    Plan(commands::plan::PlanArgs),
    /// Run a chat bot (telegram: TELEGRAM_BOT_TOKEN) with the agent in-process.
    Bot(commands::bot::BotArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let result = match cli.command {
        Command::Up => commands::up::run(),
        Command::Render(args) => commands::render::run(args),
        Command::Voices(args) => commands::voices::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Worker(args) => commands::worker::run(args),
        Command::Submit(args) => commands::queue::submit(args),
        Command::Status(args) => commands::queue::status(args),
        Command::Cancel(args) => commands::queue::cancel(args),
        Command::Admin(args) => commands::queue::admin(args),
        Command::History(args) => commands::queue::history(args),
        Command::Migrate => commands::queue::migrate(),
        Command::Plan(args) => commands::plan::run(args),
        Command::Bot(args) => commands::bot::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

/// Prints the error for a person and picks the exit status.
fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(refused) = err.downcast_ref::<commands::Refused>() {
        if refused.json {
            let retry = (refused.retry_after_s * 1000.0).round() / 1000.0;
            println!(
                "{}",
                serde_json::json!({ "error": refused.reason, "retry_after_s": retry })
            );
        }
        eprintln!("{refused}");
        return ExitCode::from(3);
    }
    if let Some(input) = err
        .downcast_ref::<FarmError>()
        .and_then(FarmError::as_input)
    {
        eprintln!("{input}");
        return ExitCode::from(2);
    }
    if let Some(input) = err.downcast_ref::<spinbot_core::InputError>() {
        eprintln!("{input}");
        return ExitCode::from(2);
    }
    eprintln!("error: {err:#}");
    ExitCode::from(1)
}
