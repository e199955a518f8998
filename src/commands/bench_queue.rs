//! `spinbot bench queue`: the job plane alone, with a no-op stage: jobs per second through
//! admission, dispatch and completion, and submit-to-start latency, for 1 and 4 workers
//! (tasks, each as a worker process runs its control loop). Runs on the configured Redis
//! under a key prefix of its own, removed afterwards.

use serde_json::json;
use spinbot_core::{Config, JobClass, JobId, Plan, SpeechText, UserId};
use spinbot_jobs::{Admission, Outcome, Queue, QueueConfig};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

pub async fn run(config: &Config, jobs: usize, users: usize) -> anyhow::Result<()> {
    for workers in [1usize, 4] {
        let prefix = format!("spinbot-bench-{}-{workers}", std::process::id());
        let mut queue_config = QueueConfig {
            prefix: prefix.clone(),
            ..QueueConfig::from_config(config)
        };
        let limits = &mut queue_config.limits;
        limits.renders_per_hour = 1_000_000;
        limits.render_burst = 1_000_000;
        limits.max_queued_per_user = 1_000_000;
        limits.max_running_per_user = 1_000;
        limits.max_queue = 10_000_000;
        limits.flood_per_second = 1_000_000;
        let queue = Queue::new(queue_config)?;
        let result = measure(&queue, workers, jobs, users.max(1)).await;
        queue.delete_all().await?;
        let (throughput, latencies) = result?;
        println!(
            "{}",
            json!({
                "bench": "queue",
                "workers": workers,
                "jobs": jobs,
                "users": users,
                "jobs_per_s": throughput,
                "p50_submit_to_start_ms": percentile(&latencies, 0.50),
                "p99_submit_to_start_ms": percentile(&latencies, 0.99),
                "latency_samples": latencies.len(),
            })
        );
    }
    Ok(())
}

type Submitted = Arc<Mutex<HashMap<JobId, Instant>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Workers that take jobs and finish them at once, counting each job once.
fn spawn_workers(
    queue: &Queue,
    workers: usize,
    total: usize,
    submitted: Submitted,
    started: Arc<Mutex<Vec<f64>>>,
) -> JoinSet<anyhow::Result<()>> {
    let finished = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for w in 0..workers {
        let (queue, submitted, started, finished) = (
            queue.clone(),
            submitted.clone(),
            started.clone(),
            finished.clone(),
        );
        set.spawn(async move {
            let name = format!("bench-{w}");
            while finished.load(Ordering::Relaxed) < total {
                match queue.dispatch(&name, false).await? {
                    Some(lease) => {
                        if let Some(at) = lock(&submitted).get(&lease.job).copied() {
                            lock(&started).push(at.elapsed().as_secs_f64() * 1000.0);
                        }
                        let done = Outcome::Done {
                            result: String::new(),
                        };
                        queue.finish(&name, &lease, &done).await?;
                        finished.fetch_add(1, Ordering::Relaxed);
                    }
                    None => tokio::time::sleep(Duration::from_micros(500)).await,
                }
            }
            Ok(())
        });
    }
    set
}

/// (jobs per second for a burst of `jobs`, submit-to-start latencies of paced submissions).
async fn measure(
    queue: &Queue,
    workers: usize,
    jobs: usize,
    users: usize,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let plan = Plan::say(SpeechText::parse("benchmark")?, "jobs/bench/inputs/photo");
    let users: Vec<UserId> = (0..users)
        .map(|u| UserId::parse(&format!("bench:u{u}")))
        .collect::<Result<_, _>>()?;
    let submit = |i: usize, submitted: Submitted| {
        let (queue, plan, user) = (queue.clone(), plan.clone(), users[i % users.len()].clone());
        async move {
            let job = JobId::new();
            lock(&submitted).insert(job.clone(), Instant::now());
            match queue
                .submit_as(job, &user, &plan, JobClass::Any, None, None)
                .await?
            {
                Admission::Accepted { .. } => Ok(()),
                Admission::Refused(refusal) => anyhow::bail!("refused: {}", refusal.code()),
            }
        }
    };
    let drain = |mut set: JoinSet<anyhow::Result<()>>| async move {
        while let Some(worker) = set.join_next().await {
            worker??;
        }
        anyhow::Ok(())
    };

    // Throughput: a burst of jobs submitted while the workers drain them.
    let submitted = Submitted::default();
    let started = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let set = spawn_workers(queue, workers, jobs, submitted.clone(), started.clone());
    for i in 0..jobs {
        submit(i, submitted.clone()).await?;
    }
    drain(set).await?;
    let throughput = jobs as f64 / start.elapsed().as_secs_f64();

    // Latency: jobs arriving one at a time (every 2 ms), well under capacity.
    let paced = (jobs / 4).max(50);
    let submitted = Submitted::default();
    let started = Arc::new(Mutex::new(Vec::new()));
    let set = spawn_workers(queue, workers, paced, submitted.clone(), started.clone());
    for i in 0..paced {
        submit(i, submitted.clone()).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drain(set).await?;
    let latencies = lock(&started).clone();
    Ok((throughput, latencies))
}

fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}
