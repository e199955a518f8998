//! The job plane from a terminal: `submit`, `status`, `cancel`, each as a given user (any
//! `namespace:id` is accepted here), and `admin` (retention, dead letters, blocking users).

use crate::commands::{queue, required_record, Refused, RequestArgs};
use clap::{Args, Subcommand};
use serde_json::json;
use spinbot_core::{Config, InputError, JobClass, JobId, Plan, Refusal, UserId};
use spinbot_farm::input::{check_voice_note, load_photo};
use spinbot_jobs::keys::job_input;
use spinbot_jobs::queue::Cancel;
use spinbot_jobs::{Admission, Store};

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
    /// Block a user (namespace:id): every message of theirs gets one sentence and nothing is
    /// rendered, on every platform, until they are unblocked.
    Block {
        user: String,
        /// Why (kept for the admins; never shown to the user).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Unblock a user.
    Unblock { user: String },
    /// The blocked users and the reasons given.
    Blocked {
        #[arg(long)]
        json: bool,
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

pub async fn submit(args: SubmitArgs, config: &Config) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    // Every check a worker would make on the files, before anything is stored.
    let (photo, note) = (args.request.photo.clone(), args.request.voice_note.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        load_photo(&photo)?;
        if let Some(note) = note {
            check_voice_note(&note)?;
        }
        Ok(())
    })
    .await??;
    let job = JobId::new();
    let (photo_key, note_key) = (job_input(&job, "photo"), job_input(&job, "voice-note"));
    let speech = args.request.speech(|| note_key.clone())?;
    let plan = Plan {
        crop: args.request.crop,
        size: args.request.size,
        ..Plan::new(speech, photo_key.clone())
    };
    plan.validate()?;
    let store = Store::from_config(config);
    store.put_file(&photo_key, &args.request.photo).await?;
    if let Some(note) = &args.request.voice_note {
        store.put_file(&note_key, note).await?;
    }
    let class = if args.gpu_only {
        JobClass::Gpu
    } else {
        JobClass::Any
    };
    match queue(config)?
        .submit_as(job.clone(), &user, &plan, class, None, None)
        .await?
    {
        Admission::Accepted { job, position } => {
            if args.json {
                println!("{}", json!({ "job_id": job, "position": position }));
            } else {
                println!("{job}");
            }
            Ok(())
        }
        Admission::Refused(refusal) => {
            let _ = store.delete(&photo_key).await;
            let _ = store.delete(&note_key).await;
            Err(Refused {
                refusal,
                json: args.json,
            }
            .into())
        }
    }
}

fn not_found(json: bool) -> anyhow::Error {
    Refused {
        refusal: Refusal::NotFound,
        json,
    }
    .into()
}

pub async fn status(args: JobArgs, config: &Config) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    let job = JobId::parse(&args.job)?;
    let record = crate::commands::record(config)?;
    let status = queue(config)?
        .status_anywhere(&job, &user, record.as_ref())
        .await?;
    let Some(status) = status else {
        return Err(not_found(args.json));
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

pub async fn cancel(args: JobArgs, config: &Config) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    let job = JobId::parse(&args.job)?;
    let answer = match queue(config)?.cancel(&job, &user).await? {
        Cancel::NotFound => return Err(not_found(args.json)),
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

pub async fn admin(args: AdminArgs, config: &Config) -> anyhow::Result<()> {
    let queue = queue(config)?;
    match args.what {
        AdminWhat::Retention {
            older_than_s,
            prefix,
            json,
        } => {
            let cutoff =
                std::time::SystemTime::now() - std::time::Duration::from_secs(older_than_s);
            let store = Store::from_config(config);
            let removed = spinbot_jobs::store::expire(&store, &prefix, cutoff).await?;
            if let (Some(record), false) = (crate::commands::record(config)?, removed.is_empty()) {
                record.mark_deleted(&removed).await?;
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
            let dead = queue.dead_letters().await?;
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
        } => match queue.requeue(&entry).await? {
            Some(job) => println!("{job} queued"),
            None => {
                return Err(InputError::Option(format!("There is no dead letter {entry}.")).into())
            }
        },
        AdminWhat::Block { user, reason } => {
            let user = UserId::parse(&user)?;
            queue.block(&user, &reason).await?;
            println!("{user} blocked");
        }
        AdminWhat::Unblock { user } => {
            let user = UserId::parse(&user)?;
            if queue.unblock(&user).await? {
                println!("{user} unblocked");
            } else {
                return Err(InputError::Option(format!("{user} is not blocked.")).into());
            }
        }
        AdminWhat::Blocked { json } => {
            let blocked = queue.blocked().await?;
            if json {
                let list: Vec<_> = blocked
                    .iter()
                    .map(|(user, reason)| json!({ "user": user, "reason": reason }))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for (user, reason) in blocked {
                    println!("{user}\t{reason}");
                }
            }
        }
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

/// `spinbot migrate`: brings the Postgres schema up to date.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    required_record(config)?.migrate().await?;
    println!("migrated");
    Ok(())
}

/// `spinbot history --user U`: the user's jobs with their outcome and result.
pub async fn history(args: HistoryArgs, config: &Config) -> anyhow::Result<()> {
    let user = UserId::parse(&args.user)?;
    let mut rows = required_record(config)?.history(&user).await?;
    // Results as links the user can open, where the store gives links (S3: a day).
    let store = Store::from_config(config);
    for row in &mut rows {
        if let Some(key) = &row.result {
            row.link = store
                .link(key, std::time::Duration::from_secs(86_400))
                .await?;
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
