//! `spinbot doctor`: every configured service and every asset checked, one line each (`ok`
//! with what was checked, or `FAIL` with what is wrong), and exit 1 naming what failed.
//! Secrets never appear: URLs are shown redacted.

use crate::commands::{queue, record};
use spinbot_core::limits::DEFAULT_VOICE;
use spinbot_core::{Config, UserId};
use spinbot_farm::{voices, Assets};
use spinbot_jobs::Store;
use std::future::Future;
use std::time::Duration;

/// The longest a service may take to answer.
const WAIT: Duration = Duration::from_secs(5);

/// One check's outcome: what was checked, or what is wrong.
type Outcome = Result<String, String>;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let mut checks: Vec<(&str, Outcome)> = vec![("redis", redis(config).await)];
    if let Some(url) = &config.database_url {
        checks.push(("postgres", postgres(config, url.redacted()).await));
    }
    let store = if config.s3.is_some() { "s3" } else { "store" };
    checks.push((store, object_store(config).await));
    let assets = Assets::at(&config.assets);
    let files = assets.clone();
    let found = tokio::task::spawn_blocking(move || asset_checks(&files)).await?;
    checks.extend(found);
    for tool in ["ffmpeg", "espeak-ng"] {
        checks.push((tool, program(tool).await));
    }
    let mut failed = Vec::new();
    for (name, outcome) in &checks {
        match outcome {
            Ok(detail) => println!("ok    {name:12} {detail}"),
            Err(problem) => {
                println!("FAIL  {name:12} {problem}");
                failed.push(*name);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("not ready: {}", failed.join(", "))
    }
}

/// `work` within [`WAIT`], its error as one line.
async fn within<T, E: std::fmt::Display>(
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(WAIT, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", WAIT.as_secs())),
    }
}

async fn redis(config: &Config) -> Outcome {
    let queue = queue(config).map_err(|e| e.to_string())?;
    let figures = within(queue.figures()).await?;
    Ok(format!(
        "{} ({} queued, {} running, {} workers)",
        config.redis_url.redacted(),
        figures.queued,
        figures.running,
        figures.workers.len()
    ))
}

async fn postgres(config: &Config, shown: String) -> Outcome {
    let record = record(config)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "DATABASE_URL is not set".to_owned())?;
    let probe = UserId::parse("cli:doctor").map_err(|e| e.to_string())?;
    within(record.history(&probe))
        .await
        .map_err(|e| format!("{shown}: {e} (run `spinbot migrate` if the schema is missing)"))?;
    Ok(shown)
}

async fn object_store(config: &Config) -> Outcome {
    let shown = match &config.s3 {
        Some(s3) => format!("{} bucket {}", s3.endpoint, s3.bucket),
        None => config.store_dir.display().to_string(),
    };
    let store = Store::from_config(config);
    within(store.exists("doctor/probe"))
        .await
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(shown)
}

/// The models and voices a worker loads.
fn asset_checks(assets: &Assets) -> Vec<(&'static str, Outcome)> {
    let mut checks = vec![(
        "onnxruntime",
        assets
            .onnxruntime_library()
            .map(|p| p.display().to_string())
            .map_err(|e| e.to_string()),
    )];
    let faces: Result<Vec<_>, _> = ["pnet", "rnet", "onet", "face_landmark"]
        .iter()
        .map(|m| assets.face_model(m))
        .collect();
    checks.push((
        "face models",
        faces
            .map(|found| format!("{} models", found.len()))
            .map_err(|e| e.to_string()),
    ));
    let listed = voices::list_voices(assets).map_err(|e| e.to_string());
    checks.push((
        "voices",
        listed.and_then(|list| {
            if list.iter().any(|v| v.name == DEFAULT_VOICE) {
                let measured = list.iter().filter(|v| v.timbre.is_some()).count();
                Ok(format!("{} voices ({measured} measured)", list.len()))
            } else {
                Err(format!(
                    "the default voice {DEFAULT_VOICE} is missing: run `make setup`"
                ))
            }
        }),
    ));
    checks
}

/// A program the farm runs, found and answering `-version`.
async fn program(name: &str) -> Outcome {
    let flag = if name == "ffmpeg" {
        "-version"
    } else {
        "--version"
    };
    let run = tokio::process::Command::new(name)
        .arg(flag)
        .kill_on_drop(true)
        .output();
    let output = within(run)
        .await
        .map_err(|e| format!("cannot run it: {e}"))?;
    let first = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    if output.status.success() {
        Ok(first)
    } else {
        Err(format!("exited with {}", output.status))
    }
}
