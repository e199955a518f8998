//! The render worker: takes jobs from the job plane (a silent worker's first, then the next
//! fair one), renders them with the pipeline while a heartbeat keeps the lease and listens
//! for cancel, stores each finished stage's output so another worker can resume after it,
//! and reports the outcome: done, a permanent failure (bad input), or a retry.

use crate::assets::Assets;
use crate::error::FarmError;
use crate::pipeline::{Pipeline, Progress};
use spinbot_core::{Plan, Speech, Stage};
use spinbot_jobs::queue::Heartbeat;
use spinbot_jobs::{Lease, ObjectStore, Outcome, Queue, QueueConfig};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tch::Device;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique among workers (host, process and slot).
    pub name: String,
    pub device: Device,
    /// Whether this worker takes GPU-only work.
    pub gpu: bool,
    /// Wait between looks at an empty queue.
    pub idle_wait: Duration,
    /// Where jobs are rendered (a folder per job, removed afterwards).
    pub work_root: PathBuf,
}

/// Where a job's objects live in the store.
pub fn input_key(job: &str, name: &str) -> String {
    format!("jobs/{job}/inputs/{name}")
}
pub fn stage_key(job: &str, stage: Stage) -> String {
    format!("jobs/{job}/stages/{}", stage.output_file())
}
pub fn result_key(job: &str) -> String {
    format!("results/{job}.mp4")
}

const LEASE_HELD: u8 = 0;
const LEASE_CANCEL: u8 = 1;
const LEASE_LOST: u8 = 2;

/// Runs jobs until `stop` is set.
pub fn run(
    config: &WorkerConfig,
    queue_config: &QueueConfig,
    store: Arc<dyn ObjectStore>,
    assets: Assets,
    stop: &AtomicBool,
) -> Result<(), FarmError> {
    let mut queue = Queue::connect(queue_config.clone())?;
    let mut pipeline = Pipeline::new(assets, config.device);
    tracing::info!(worker = %config.name, device = ?config.device, "worker ready");
    while !stop.load(Ordering::Relaxed) {
        let lease = match queue.reclaim(&config.name)? {
            Some(lease) => Some(lease),
            None => queue.dispatch(&config.name, config.gpu)?,
        };
        let Some(lease) = lease else {
            std::thread::sleep(config.idle_wait);
            continue;
        };
        let metrics = spinbot_jobs::metrics::process();
        if lease.attempt == 1 && lease.created_ms > 0 {
            let waited = spinbot_jobs::queue::now_ms().saturating_sub(lease.created_ms);
            metrics.wait_seconds.observe(waited as f64 / 1000.0);
        }
        let span = tracing::info_span!("job", job = %lease.job, user = %lease.user, attempt = lease.attempt);
        let _enter = span.enter();
        metrics.renders_in_flight.inc();
        let outcome = run_job(
            config,
            queue_config,
            &mut queue,
            store.as_ref(),
            &mut pipeline,
            &lease,
        );
        metrics.renders_in_flight.dec();
        match queue.finish(&config.name, &lease, &outcome)?.as_str() {
            "lost" => tracing::warn!("another worker took this job over; its outcome stands"),
            answer => tracing::info!(outcome = answer, "job finished"),
        }
    }
    Ok(())
}

/// Renders one job and says how it ended.
fn run_job(
    config: &WorkerConfig,
    queue_config: &QueueConfig,
    queue: &mut Queue,
    store: &dyn ObjectStore,
    pipeline: &mut Pipeline,
    lease: &Lease,
) -> Outcome {
    let job = lease.job.as_str();
    let work = config.work_root.join(job);
    let _ = std::fs::remove_dir_all(&work);
    let state = Arc::new(AtomicU8::new(LEASE_HELD));
    let done = Arc::new(AtomicBool::new(false));
    let heartbeat = spawn_heartbeat(config, queue_config, lease, state.clone(), done.clone());
    let result = render(queue, store, pipeline, lease, &work, &state);
    done.store(true, Ordering::Relaxed);
    if let Some(h) = heartbeat {
        let _ = h.join();
    }
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(key) => Outcome::Done { result: key },
        Err(FarmError::Cancelled) => Outcome::Cancelled,
        Err(FarmError::Input(e)) => Outcome::Failed {
            reason: e.to_string(),
        },
        Err(e) => {
            tracing::warn!(error = %e, "job failed; it will be retried");
            Outcome::Retry {
                reason: e.to_string(),
            }
        }
    }
}

/// Renews the lease a few times per lease period on its own connection; notes a cancel
/// or a lost lease for the render loop.
fn spawn_heartbeat(
    config: &WorkerConfig,
    queue_config: &QueueConfig,
    lease: &Lease,
    state: Arc<AtomicU8>,
    done: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    let mut queue = match Queue::connect(queue_config.clone()) {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %e, "no heartbeat connection");
            return None;
        }
    };
    let (name, lease) = (config.name.clone(), lease.clone());
    let every = (queue_config.lease / 4).max(Duration::from_millis(50));
    Some(std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            match queue.heartbeat(&name, &lease) {
                Ok(Heartbeat::Held) => {}
                Ok(Heartbeat::Cancel) => state.store(LEASE_CANCEL, Ordering::Relaxed),
                Ok(Heartbeat::Lost) => state.store(LEASE_LOST, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
            let mut slept = Duration::ZERO;
            while slept < every && !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                slept += Duration::from_millis(20);
            }
        }
    }))
}

/// Fetches the inputs and any stored stage outputs, runs the pipeline, stores each stage's
/// output as it finishes and the video as the result; returns the result's key.
fn render(
    queue: &mut Queue,
    store: &dyn ObjectStore,
    pipeline: &mut Pipeline,
    lease: &Lease,
    work: &Path,
    state: &AtomicU8,
) -> Result<String, FarmError> {
    let job = lease.job.as_str();
    std::fs::create_dir_all(work)
        .map_err(|e| FarmError::io(format!("creating {}", work.display()), e))?;
    let fetch = |key: &str, name: &str| -> Result<PathBuf, FarmError> {
        let path = work.join(name);
        if store.get_file(key, &path)? {
            Ok(path)
        } else {
            Err(FarmError::tool("store", format!("{key} is missing")))
        }
    };
    let mut plan: Plan = lease.plan.clone();
    plan.photo = fetch(&plan.photo, "input-photo")?
        .to_string_lossy()
        .into_owned();
    if let Speech::VoiceNote { audio } = &plan.speech {
        let local = fetch(audio, "input-voice-note")?;
        plan.speech = Speech::VoiceNote {
            audio: local.to_string_lossy().into_owned(),
        };
    }
    let mut stored = Vec::new();
    for stage in plan.stages() {
        if store.get_file(&stage_key(job, stage), &work.join(stage.output_file()))? {
            tracing::info!(stage = stage.name(), "resuming after a stored stage");
            stored.push(stage);
        }
    }
    let mut reporter = Reporter {
        queue,
        store,
        lease,
        work,
        state,
        stored,
        last: None,
        error: None,
        began: None,
    };
    let video = pipeline.run(&plan, work, &mut reporter);
    if let Some(e) = reporter.error.take() {
        return Err(e);
    }
    let video = video?;
    let key = result_key(job);
    store.put_file(&key, &video)?;
    Ok(key)
}

/// Turns the pipeline's progress into job events (each stage's start and every tenth),
/// counts the stages that really ran, stores finished stage outputs, and stops the
/// pipeline when the job is cancelled or lost.
struct Reporter<'a> {
    queue: &'a mut Queue,
    store: &'a dyn ObjectStore,
    lease: &'a Lease,
    work: &'a Path,
    state: &'a AtomicU8,
    stored: Vec<Stage>,
    last: Option<(Stage, u8)>,
    error: Option<FarmError>,
    /// When the stage that is running began.
    began: Option<(Stage, std::time::Instant)>,
}

impl Progress for Reporter<'_> {
    fn update(&mut self, stage: Stage, fraction: f64) {
        let job = self.lease.job.as_str();
        if fraction == 0.0 {
            self.began = Some((stage, std::time::Instant::now()));
            if let Err(e) = self.queue.record_stage_run(&self.lease.job, stage.name()) {
                tracing::warn!(error = %e, "could not count the stage run");
            }
        }
        if fraction >= 1.0 {
            if let Some((s, at)) = self.began.take_if(|(s, _)| *s == stage) {
                let label = spinbot_jobs::metrics::StageLabel {
                    stage: s.name().to_owned(),
                };
                spinbot_jobs::metrics::process()
                    .stage_seconds
                    .get_or_create(&label)
                    .observe(at.elapsed().as_secs_f64());
            }
        }
        if fraction >= 1.0 && stage != Stage::Render && !self.stored.contains(&stage) {
            match self
                .store
                .put_file(&stage_key(job, stage), &self.work.join(stage.output_file()))
            {
                Ok(()) => self.stored.push(stage),
                Err(e) => self.error = Some(e.into()),
            }
        }
        let percent = (fraction.clamp(0.0, 1.0) * 100.0).round() as u8;
        let tenth = |p: u8| p / 10;
        let report = match self.last {
            Some((s, p)) => s != stage || tenth(p) != tenth(percent),
            None => true,
        };
        if report {
            self.last = Some((stage, percent));
            if let Err(e) = self.queue.progress(self.lease, stage.name(), percent) {
                tracing::warn!(error = %e, "could not report progress");
            }
        }
    }

    fn cancelled(&self) -> bool {
        self.error.is_some() || self.state.load(Ordering::Relaxed) != LEASE_HELD
    }
}
