//! `spinbot bench queue`: the job plane alone, with a no-op stage: jobs per second through
//! admission, dispatch and completion, and submit-to-start latency, for 1 and 4 workers.
//! Runs on `REDIS_URL` under a key prefix of its own, removed afterwards.

use serde_json::json;
use spinbot_core::{JobId, Plan, SpeechText, UserId};
use spinbot_jobs::{Admission, Outcome, Queue, QueueConfig};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn run(jobs: usize, users: usize) -> anyhow::Result<()> {
    for workers in [1usize, 4] {
        let prefix = format!("spinbot-bench-{}-{workers}", std::process::id());
        let config = QueueConfig {
            prefix: prefix.clone(),
            renders_per_hour: 1_000_000,
            render_burst: 1_000_000,
            max_queued_per_user: 1_000_000,
            max_running_per_user: 1_000,
            max_queue: 10_000_000,
            flood_per_second: 1_000_000,
            ..QueueConfig::from_env()
        };
        let result = measure(&config, workers, jobs, users.max(1));
        cleanup(&config, &prefix)?;
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

/// Workers that take jobs and finish them at once, counting each job once.
fn spawn_workers(
    config: &QueueConfig,
    workers: usize,
    total: usize,
    submitted: Arc<Mutex<HashMap<JobId, Instant>>>,
    started: Arc<Mutex<Vec<f64>>>,
) -> Vec<std::thread::JoinHandle<anyhow::Result<()>>> {
    let finished = Arc::new(AtomicUsize::new(0));
    (0..workers)
        .map(|w| {
            let (config, submitted, started, finished) = (
                config.clone(),
                submitted.clone(),
                started.clone(),
                finished.clone(),
            );
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut queue = Queue::connect(config)?;
                let name = format!("bench-{w}");
                while finished.load(Ordering::Relaxed) < total {
                    match queue.dispatch(&name, false)? {
                        Some(lease) => {
                            let at = submitted
                                .lock()
                                .map_err(|_| anyhow::anyhow!("poisoned"))?
                                .get(&lease.job)
                                .copied();
                            if let Some(at) = at {
                                started
                                    .lock()
                                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                                    .push(at.elapsed().as_secs_f64() * 1000.0);
                            }
                            queue.finish(
                                &name,
                                &lease,
                                &Outcome::Done {
                                    result: String::new(),
                                },
                            )?;
                            finished.fetch_add(1, Ordering::Relaxed);
                        }
                        None => std::thread::sleep(Duration::from_micros(500)),
                    }
                }
                Ok(())
            })
        })
        .collect()
}

/// (jobs per second for a burst of `jobs`, submit-to-start latencies of paced submissions).
fn measure(
    config: &QueueConfig,
    workers: usize,
    jobs: usize,
    users: usize,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let plan = Plan::say(SpeechText::parse("benchmark")?, "jobs/bench/inputs/photo");
    let users: Vec<UserId> = (0..users)
        .map(|u| UserId::parse(&format!("bench:u{u}")))
        .collect::<Result<_, _>>()?;
    let mut queue = Queue::connect(config.clone())?;
    let submit = |queue: &mut Queue,
                  i: usize,
                  submitted: &Mutex<HashMap<JobId, Instant>>|
     -> anyhow::Result<()> {
        let job = JobId::new();
        submitted
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .insert(job.clone(), Instant::now());
        match queue.submit_as(job, &users[i % users.len()], &plan, false)? {
            Admission::Accepted { .. } => Ok(()),
            Admission::Refused { reason, .. } => anyhow::bail!("refused: {reason}"),
        }
    };

    // Throughput: a burst of jobs submitted while the workers drain them.
    let submitted = Arc::new(Mutex::new(HashMap::new()));
    let started = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let handles = spawn_workers(config, workers, jobs, submitted.clone(), started.clone());
    for i in 0..jobs {
        submit(&mut queue, i, &submitted)?;
    }
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a bench worker crashed"))??;
    }
    let throughput = jobs as f64 / start.elapsed().as_secs_f64();

    // Latency: jobs arriving one at a time (every 2 ms), well under capacity.
    let paced = (jobs / 4).max(50);
    let submitted = Arc::new(Mutex::new(HashMap::new()));
    let started = Arc::new(Mutex::new(Vec::new()));
    let handles = spawn_workers(config, workers, paced, submitted.clone(), started.clone());
    for i in 0..paced {
        submit(&mut queue, i, &submitted)?;
        std::thread::sleep(Duration::from_millis(2));
    }
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a bench worker crashed"))??;
    }
    let latencies = started
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
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

/// Removes every key under the bench's prefix.
pub fn cleanup(config: &QueueConfig, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(config.redis_url.as_str())?;
    let mut con = client.get_connection()?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut con)?;
    for chunk in keys.chunks(500) {
        redis::cmd("DEL").arg(chunk).query::<()>(&mut con)?;
    }
    Ok(())
}
