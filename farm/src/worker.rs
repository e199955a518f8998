//! The render worker: its control loop is async (take the next job, a silent worker's first,
//! then the next fair one; keep the lease by heartbeat; report progress; store each finished
//! stage so another worker can resume after it; report the outcome), and the pipeline runs
//! on a blocking thread. Redis or the store away: it waits and tries again, never exits.
//! Asked to stop, it hands its job back at once for another worker to resume.

use crate::error::FarmError;
use crate::pipeline::{Progress, Renders};
use spinbot_core::{Plan, Speech, Stage};
use spinbot_jobs::keys;
use spinbot_jobs::queue::Heartbeat;
use spinbot_jobs::retry::{pause, Backoff};
use spinbot_jobs::{Finished, Lease, Outcome, Queue, Store};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How a render slot runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique among workers (host, process and slot).
    pub name: String,
    /// Whether this worker takes GPU-only work.
    pub gpu: bool,
    /// Wait between looks at an empty queue.
    pub idle_wait: Duration,
    /// Where jobs are rendered (a folder per job, removed afterwards).
    pub work_root: PathBuf,
}

/// What became of the lease while the job ran.
const HELD: u8 = 0;
const CANCEL: u8 = 1;
const LOST: u8 = 2;
const STOP: u8 = 3;
const FAILED: u8 = 4;

/// Runs jobs until `stop` is cancelled.
pub async fn run(
    config: WorkerConfig,
    queue: Queue,
    store: Store,
    pipeline: Arc<dyn Renders>,
    stop: CancellationToken,
) {
    tracing::info!(worker = %config.name, device = ?pipeline.device(), "worker ready");
    let mut backoff = Backoff::default();
    while !stop.is_cancelled() {
        let next = match queue.reclaim(&config.name).await {
            Ok(None) => queue.dispatch(&config.name, config.gpu).await,
            other => other,
        };
        let lease = match next {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                backoff.reset();
                pause(&stop, config.idle_wait).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the queue is unreachable; waiting");
                backoff.wait(&stop).await;
                continue;
            }
        };
        backoff.reset();
        let span = tracing::info_span!("job", job = %lease.job, user = %lease.user, attempt = lease.attempt);
        let job = Job {
            config: &config,
            queue: &queue,
            store: &store,
            pipeline: &pipeline,
            lease: &lease,
        };
        async {
            let metrics = spinbot_jobs::metrics::process();
            if lease.attempt == 1 {
                metrics
                    .wait_seconds
                    .observe(lease.waited_ms as f64 / 1000.0);
            }
            metrics.renders_in_flight.inc();
            let outcome = job.run(&stop).await;
            metrics.renders_in_flight.dec();
            job.finish(&outcome, &stop).await;
        }
        .instrument(span)
        .await;
    }
    tracing::info!(worker = %config.name, "worker stopped");
}

/// One job on one slot.
struct Job<'a> {
    config: &'a WorkerConfig,
    queue: &'a Queue,
    store: &'a Store,
    pipeline: &'a Arc<dyn Renders>,
    lease: &'a Lease,
}

impl Job<'_> {
    /// Renders the job and says how it ended.
    async fn run(&self, stop: &CancellationToken) -> Outcome {
        let work = self.config.work_root.join(self.lease.job.as_str());
        let _ = tokio::fs::remove_dir_all(&work).await;
        let state = Arc::new(AtomicU8::new(HELD));
        let heartbeat = tokio::spawn(
            heartbeat(
                self.queue.clone(),
                self.config.name.clone(),
                self.lease.clone(),
                state.clone(),
                stop.clone(),
            )
            .in_current_span(),
        );
        let result = self.render(&work, &state).await;
        heartbeat.abort();
        let _ = tokio::fs::remove_dir_all(&work).await;
        let stopping = state.load(Ordering::Relaxed) == STOP;
        match result {
            Ok(key) => Outcome::Done { result: key },
            Err(_) if stopping => Outcome::Release,
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

    /// Reports the outcome, waiting for Redis while it is away. A worker that is stopping
    /// waits one lease at most: then the job's lease runs out and another worker takes it.
    async fn finish(&self, outcome: &Outcome, stop: &CancellationToken) {
        let lease = self.queue.config().lease();
        let deadline = async {
            stop.cancelled().await;
            tokio::time::sleep(lease).await;
        };
        tokio::pin!(deadline);
        let mut backoff = Backoff::default();
        loop {
            match self
                .queue
                .finish(&self.config.name, self.lease, outcome)
                .await
            {
                Ok(Finished::Lost) => {
                    tracing::warn!("another worker took this job over; its outcome stands");
                    return;
                }
                Ok(Finished::Forgotten) => {
                    tracing::info!("the job's user asked to be forgotten; deleting its files");
                    if let Err(e) = self.delete_files().await {
                        tracing::warn!(error = %e, "a forgotten job's files were not deleted");
                    }
                    return;
                }
                Ok(finished) => {
                    tracing::info!(outcome = ?finished, "job finished");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "the outcome was not recorded; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_wait()) => {}
                _ = &mut deadline => {
                    tracing::warn!("stopping without recording the outcome; the lease will run out");
                    return;
                }
            }
        }
    }

    /// Fetches the inputs and any stored stage outputs, runs the pipeline on a blocking
    /// thread while stage outputs are stored and progress is reported, and stores the video;
    /// returns the result's key.
    async fn render(&self, work: &Path, state: &Arc<AtomicU8>) -> Result<String, FarmError> {
        let job = &self.lease.job;
        tokio::fs::create_dir_all(work)
            .await
            .map_err(|e| FarmError::io(format!("creating {}", work.display()), e))?;
        let fetch = |key: String, name: &'static str| async move {
            let path = work.join(name);
            if self.store.get_file(&key, &path).await? {
                Ok(path.to_string_lossy().into_owned())
            } else {
                Err(FarmError::tool("store", format!("{key} is missing")))
            }
        };
        let mut plan: Plan = self.lease.plan.clone();
        plan.photo = fetch(plan.photo.clone(), "input-photo").await?;
        if let Speech::VoiceNote { audio } = &plan.speech {
            plan.speech = Speech::VoiceNote {
                audio: fetch(audio.clone(), "input-voice-note").await?,
            };
        }
        let mut stored = Vec::new();
        for stage in plan.stages() {
            let path = work.join(stage.output_file());
            if self
                .store
                .get_file(&keys::stage_output(job, stage), &path)
                .await?
            {
                tracing::info!(stage = stage.name(), "resuming after a stored stage");
                stored.push(stage);
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let reports = tokio::spawn(
            report(
                self.queue.clone(),
                self.store.clone(),
                self.lease.clone(),
                work.to_owned(),
                state.clone(),
                rx,
            )
            .in_current_span(),
        );
        let mut reporter = Reporter {
            tx,
            state: state.clone(),
            stored,
            last: None,
            began: None,
        };
        let pipeline = self.pipeline.clone();
        let dir = work.to_owned();
        let span = tracing::Span::current();
        let video = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            pipeline.run(&plan, &dir, &mut reporter)
        })
        .await
        .map_err(|e| FarmError::Model(format!("the render thread stopped: {e}")))?;
        let stage_error = reports
            .await
            .map_err(|e| FarmError::Model(format!("the reporter stopped: {e}")))?;
        let video = match (video, stage_error) {
            (_, Some(e)) => return Err(e),
            (video, None) => video?,
        };
        // The result is written only while the lease is still ours and the job wanted:
        // a worker that lost its job to another, or whose job was cancelled, writes nothing.
        match self.queue.heartbeat(&self.config.name, self.lease).await? {
            Heartbeat::Held => {}
            Heartbeat::Cancel => {
                set(state, CANCEL);
                return Err(FarmError::Cancelled);
            }
            Heartbeat::Lost => {
                set(state, LOST);
                return Err(FarmError::Cancelled);
            }
        }
        let key = keys::result(job);
        self.store.put_file(&key, &video).await?;
        Ok(key)
    }

    /// Deletes what the job left in the store (its user asked to be forgotten).
    async fn delete_files(&self) -> Result<(), FarmError> {
        let job = &self.lease.job;
        for (key, _) in self.store.list(&keys::job_prefix(job)).await? {
            self.store.delete(&key).await?;
        }
        self.store.delete(&keys::result(job)).await?;
        Ok(())
    }
}

/// Renews the lease a few times per lease period; notes a cancel, a lost lease or a stop
/// for the render loop.
async fn heartbeat(
    queue: Queue,
    worker: String,
    lease: Lease,
    state: Arc<AtomicU8>,
    stop: CancellationToken,
) {
    let every = (queue.config().lease() / 4).max(Duration::from_millis(50));
    loop {
        match queue.heartbeat(&worker, &lease).await {
            Ok(Heartbeat::Held) => {}
            Ok(Heartbeat::Cancel) => set(&state, CANCEL),
            Ok(Heartbeat::Lost) => set(&state, LOST),
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
        if !pause(&stop, every).await {
            set(&state, STOP);
            return;
        }
    }
}

/// Records the first thing that ended the lease.
fn set(state: &AtomicU8, to: u8) {
    let _ = state.compare_exchange(HELD, to, Ordering::Relaxed, Ordering::Relaxed);
}

/// What the pipeline reports from its thread.
enum Report {
    /// A stage really started (not resumed from its stored output).
    Ran(Stage),
    /// A stage's output is in the work folder: store it.
    Finished(Stage),
    Progress(Stage, u8),
}

/// Carries out the pipeline's reports in order: progress events, stage counts, stored
/// stage outputs. A stage output that cannot be stored stops the render (it is retried).
async fn report(
    queue: Queue,
    store: Store,
    lease: Lease,
    work: PathBuf,
    state: Arc<AtomicU8>,
    mut reports: mpsc::UnboundedReceiver<Report>,
) -> Option<FarmError> {
    let mut error = None;
    while let Some(report) = reports.recv().await {
        match report {
            Report::Ran(stage) => {
                if let Err(e) = queue.record_stage_run(&lease.job, stage.name()).await {
                    tracing::warn!(error = %e, "could not count the stage run");
                }
            }
            Report::Finished(stage) => {
                let key = keys::stage_output(&lease.job, stage);
                if let Err(e) = store.put_file(&key, &work.join(stage.output_file())).await {
                    set(&state, FAILED);
                    error.get_or_insert(e.into());
                }
            }
            Report::Progress(stage, percent) => {
                if let Err(e) = queue.progress(&lease, stage.name(), percent).await {
                    tracing::warn!(error = %e, "could not report progress");
                }
            }
        }
    }
    error
}

/// The pipeline's progress as reports (each stage's start and every tenth), stage timings
/// for the metrics, and the stop signal for the pipeline when the lease ended.
struct Reporter {
    tx: mpsc::UnboundedSender<Report>,
    state: Arc<AtomicU8>,
    stored: Vec<Stage>,
    last: Option<(Stage, u8)>,
    /// When the stage that is running began.
    began: Option<(Stage, Instant)>,
}

impl Progress for Reporter {
    fn update(&mut self, stage: Stage, fraction: f64) {
        // A closed channel means the job is over; nothing is left to report to.
        if fraction == 0.0 {
            self.began = Some((stage, Instant::now()));
            let _ = self.tx.send(Report::Ran(stage));
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
            if stage != Stage::Render && !self.stored.contains(&stage) {
                self.stored.push(stage);
                let _ = self.tx.send(Report::Finished(stage));
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
            let _ = self.tx.send(Report::Progress(stage, percent));
        }
    }

    fn cancelled(&self) -> bool {
        self.state.load(Ordering::Relaxed) != HELD
    }
}
