//! The job plane from a terminal: `submit`, `status`, `cancel` and `admin dead-letter`, each
//! as a given user (any `namespace:id` is accepted here).

use crate::commands::{Refused, RequestArgs};
use clap::{Args, Subcommand};
use serde_json::json;
use spinbot_core::{InputError, JobId, Plan, UserId};
use spinbot_farm::input::{check_voice_note, load_photo};
use spinbot_farm::worker::input_key;
use spinbot_jobs::queue::Cancel;
use spinbot_jobs::{Admission, Queue, QueueConfig};

#[derive(Args)]
pub struct SubmitArgs {
    /// Who asks (namespace:id).
    #[arg(long)]
    user: String,
    #[command(flatten)]
    request: RequestArgs,
    /// Only a GPU worker may take it.
    #[arg(long)]
    gpu_only: bool,
    #[arg(long)]
    json: bool,
}

/// A job of a user's, as `status` and `cancel` take it.
#[derive(Args)]
pub struct JobArgs {
    job: String,
    /// Whose job (only its owner sees or cancels it).
    #[arg(long)]
    user: String,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    what: AdminWhat,
}

#[derive(Subcommand)]
enum AdminWhat {
    /// Delete stored objects older than a number of seconds (and mark them in the record).
    Retention {
        #[arg(long)]
        older_than_s: u64,
        /// Only objects under this key prefix (e.g. `results/`).
        #[arg(long, default_value = "")]
        prefix: String,
        #[arg(long)]
        json: bool,
    },
    /// Jobs that failed too often: `list`, or `requeue ENTRY`.
    DeadLetter {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
}

#[derive(Subcommand)]
enum DeadLetterAction {
    List {
        #[arg(long)]
        json: bool,
    },
    Requeue {
        entry: String,
    },
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    // Every check a worker would make on the files, before anything is stored.
    load_photo(&args.request.photo)?;
    let job = JobId::new();
    let store = spinbot_jobs::store::from_env()?;
    let photo_key = input_key(job.as_str(), "photo");
    let speech = args.request.speech(|note| {
        check_voice_note(note)?;
        let key = input_key(job.as_str(), "voice-note");
        store.put_file(&key, note)?;
        Ok(key)
    })?;
    let plan = Plan {
        size: args.request.size,
        ..Plan::new(speech, photo_key.clone())
    };
    plan.validate()?;
    store.put_file(&photo_key, &args.request.photo)?;
    let mut queue = Queue::connect(QueueConfig::from_env())?;
    match queue.submit_as(job.clone(), &user, &plan, args.gpu_only)? {
        Admission::Accepted { job, position } => {
            if args.json {
                println!("{}", json!({ "job_id": job, "position": position }));
            } else {
                println!("{job}");
            }
            Ok(())
        }
        Admission::Refused {
            reason,
            retry_after_s,
        } => {
            let _ = store.delete(&photo_key);
            let _ = store.delete(&input_key(job.as_str(), "voice-note"));
            Err(Refused {
                reason,
                retry_after_s,
                json: args.json,
            }
            .into())
        }
    }
}

pub fn status(args: JobArgs) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    let job = JobId::parse(&args.job)?;
    let mut queue = Queue::connect(QueueConfig::from_env())?;
    let Some(status) = queue.status(&job, Some(&user))? else {
        return Err(Refused {
            reason: "not_found".into(),
            retry_after_s: 0.0,
            json: args.json,
        }
        .into());
    };
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        let mut line = format!("{} {}", status.job, status.state.as_str());
        if let Some(p) = status.position {
            line.push_str(&format!(", number {p} in line"));
        }
        if !status.stage.is_empty() && !status.state.is_final() {
            line.push_str(&format!(", {} {}%", status.stage, status.percent));
        }
        if let Some(r) = &status.result {
            line.push_str(&format!(", {r}"));
        }
        if let Some(e) = &status.error {
            line.push_str(&format!(": {e}"));
        }
        println!("{line}");
    }
    Ok(())
}

pub fn cancel(args: JobArgs) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    let job = JobId::parse(&args.job)?;
    let mut queue = Queue::connect(QueueConfig::from_env())?;
    let answer = match queue.cancel(&job, &user)? {
        Cancel::NotFound => {
            return Err(Refused {
                reason: "not_found".into(),
                retry_after_s: 0.0,
                json: args.json,
            }
            .into())
        }
        Cancel::Cancelled => "cancelled",
        Cancel::Stopping => "stopping",
        Cancel::AlreadyFinished(state) => state.as_str(),
    };
    if args.json {
        println!("{}", json!({ "job_id": job, "state": answer }));
    } else {
        println!("{job} {answer}");
    }
    Ok(())
}

pub fn admin(args: AdminArgs) -> anyhow::Result<()> {
    let mut queue = Queue::connect(QueueConfig::from_env())?;
    match args.what {
        AdminWhat::Retention {
            older_than_s,
            prefix,
            json,
        } => {
            let cutoff =
                std::time::SystemTime::now() - std::time::Duration::from_secs(older_than_s);
            let store = spinbot_jobs::store::from_env()?;
            let removed = spinbot_jobs::store::expire(store.as_ref(), &prefix, cutoff)?;
            if std::env::var("DATABASE_URL").is_ok() && !removed.is_empty() {
                record()?.mark_deleted(&removed)?;
            }
            if json {
                println!("{}", serde_json::json!({ "deleted": removed }));
            } else {
                for key in removed {
                    println!("deleted {key}");
                }
            }
        }
        AdminWhat::DeadLetter {
            action: DeadLetterAction::List { json },
        } => {
            let dead = queue.dead_letters()?;
            if json {
                println!("{}", serde_json::to_string(&dead)?);
            } else {
                for d in dead {
                    println!(
                        "{}\t{}\t{}\t{} attempts\t{}",
                        d.entry, d.job, d.user, d.attempts, d.reason
                    );
                }
            }
        }
        AdminWhat::DeadLetter {
            action: DeadLetterAction::Requeue { entry },
        } => match queue.requeue(&entry)? {
            Some(job) => println!("{job} queued"),
            None => {
                return Err(InputError::Option(format!("There is no dead letter {entry}.")).into())
            }
        },
    }
    Ok(())
}

#[derive(Args)]
pub struct HistoryArgs {
    #[arg(long)]
    user: String,
    #[arg(long)]
    json: bool,
}

fn record() -> anyhow::Result<spinbot_jobs::Record> {
    let url = std::env::var("DATABASE_URL").map_err(|_| {
        InputError::Option("DATABASE_URL is not set; the record needs Postgres.".into())
    })?;
    Ok(spinbot_jobs::Record::connect(&url)?)
}

/// `spinbot migrate`: brings the Postgres schema up to date.
pub fn migrate() -> anyhow::Result<()> {
    record()?.migrate()?;
    println!("migrated");
    Ok(())
}

/// `spinbot history --user U`: the user's jobs with their outcome and result.
pub fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    let mut rows = record()?.history(&user)?;
    // Results as links the user can open, where the store gives links (S3: a day).
    let store = spinbot_jobs::store::from_env()?;
    for row in &mut rows {
        if let Some(key) = &row.result {
            if let Some(link) = store.link(key, std::time::Duration::from_secs(86_400))? {
                row.link = Some(link);
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        for r in rows {
            let outcome = r.link.or(r.result).or(r.reason).unwrap_or_default();
            println!("{}\t{}\t{}\t{}", r.created_at, r.job_id, r.state, outcome);
        }
    }
    Ok(())
}
