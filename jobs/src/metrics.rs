//! The metrics of `deploy/metrics.md`: this process's own, kept here, and the farm-wide
//! ones, read from Redis at every scrape; served as OpenMetrics text on `/metrics`.

use crate::error::JobsError;
use crate::queue::Queue;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlatformLabel {
    pub platform: String,
}

/// A map a process keeps per person or chat in memory.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MapLabel {
    pub map: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeciderLabel {
    /// `model` or `parser`.
    pub decider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabel {
    pub platform: String,
    /// `posted` or `failed`.
    pub outcome: String,
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Posted,
    Failed,
}

/// This process's metrics.
pub struct ProcessMetrics {
    pub stage_seconds: Family<StageLabel, Histogram>,
    pub wait_seconds: Histogram,
    pub renders_in_flight: Gauge,
    pub flood_refusals: Counter,
    pub chat_messages: Family<PlatformLabel, Counter>,
    pub decisions: Family<DeciderLabel, Counter>,
    pub decision_seconds: Family<DeciderLabel, Histogram>,
    pub deliveries: Family<DeliveryLabel, Counter>,
    pub delivery_seconds: Family<PlatformLabel, Histogram>,
    /// Entries kept per person or chat, by map, as of the last pruning.
    pub kept_entries: Family<MapLabel, Gauge>,
    /// Set on workers that render on a GPU: their GPUs are then reported.
    pub gpus_watched: std::sync::atomic::AtomicBool,
}

impl ProcessMetrics {
    /// A bot on `platform` starts: its series exist from the start (at 0), so that rates
    /// see their first increment.
    pub fn bot_started(&self, platform: &str) {
        self.chat_messages
            .get_or_create(&platform_label(platform))
            .inc_by(0);
        for outcome in [DeliveryOutcome::Posted, DeliveryOutcome::Failed] {
            self.deliveries
                .get_or_create(&delivery_label(platform, outcome))
                .inc_by(0);
        }
        self.decisions
            .get_or_create(&decider_label("parser"))
            .inc_by(0);
    }

    /// A chat message came in on `platform`.
    pub fn chat_message(&self, platform: &str) {
        self.chat_messages
            .get_or_create(&platform_label(platform))
            .inc();
    }

    /// The agent decided what a message asks (`decider`: `model` or `parser`) in `seconds`.
    pub fn decision(&self, decider: &str, seconds: f64) {
        let label = decider_label(decider);
        self.decisions.get_or_create(&label).inc();
        self.decision_seconds.get_or_create(&label).observe(seconds);
    }

    /// A video's delivery on `platform` ended; `latency` from the job's end to the post.
    pub fn delivery(&self, platform: &str, outcome: DeliveryOutcome, latency: Option<f64>) {
        self.deliveries
            .get_or_create(&delivery_label(platform, outcome))
            .inc();
        if let (DeliveryOutcome::Posted, Some(seconds)) = (outcome, latency) {
            self.delivery_seconds
                .get_or_create(&platform_label(platform))
                .observe(seconds);
        }
    }
}

fn platform_label(platform: &str) -> PlatformLabel {
    PlatformLabel {
        platform: platform.to_owned(),
    }
}

fn decider_label(decider: &str) -> DeciderLabel {
    DeciderLabel {
        decider: decider.to_owned(),
    }
}

fn delivery_label(platform: &str, outcome: DeliveryOutcome) -> DeliveryLabel {
    DeliveryLabel {
        platform: platform.to_owned(),
        outcome: match outcome {
            DeliveryOutcome::Posted => "posted",
            DeliveryOutcome::Failed => "failed",
        }
        .to_owned(),
    }
}

/// The process's metrics, created on first use.
pub fn process() -> &'static ProcessMetrics {
    static METRICS: OnceLock<ProcessMetrics> = OnceLock::new();
    METRICS.get_or_init(|| ProcessMetrics {
        stage_seconds: Family::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 2.0, 12))
        }),
        wait_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 16)),
        renders_in_flight: Gauge::default(),
        flood_refusals: Counter::default(),
        chat_messages: Family::default(),
        decisions: Family::default(),
        decision_seconds: Family::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        }),
        deliveries: Family::default(),
        delivery_seconds: Family::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 2.0, 14))
        }),
        kept_entries: Family::default(),
        gpus_watched: std::sync::atomic::AtomicBool::new(false),
    })
}

/// Notes how many entries `map` keeps after a pruning.
pub fn kept(map: &str, entries: usize) {
    process()
        .kept_entries
        .get_or_create(&MapLabel {
            map: map.to_owned(),
        })
        .set(i64::try_from(entries).unwrap_or(i64::MAX));
}

/// Farm-wide figures kept in Redis by the job plane's scripts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaneFigures {
    pub queued: i64,
    pub running: i64,
    /// (outcome, count)
    pub outcomes: Vec<(String, u64)>,
    /// (reason, count)
    pub refusals: Vec<(String, u64)>,
    /// (worker, seconds since last heard)
    pub workers: Vec<(String, f64)>,
}

/// The whole metrics page.
pub async fn render(queue: &Queue) -> Result<String, JobsError> {
    let figures = queue.figures().await?;
    let mut registry = Registry::with_prefix("spinbot");
    let p = process();
    registry.register(
        "stage_seconds",
        "Duration of stages that really ran here",
        p.stage_seconds.clone(),
    );
    registry.register(
        "job_wait_seconds",
        "Submit to start, for jobs this worker started",
        p.wait_seconds.clone(),
    );
    registry.register(
        "renders_in_flight",
        "Jobs this process is rendering now",
        p.renders_in_flight.clone(),
    );
    registry.register(
        "flood_refusals",
        "Submissions refused in-process as a flood",
        p.flood_refusals.clone(),
    );
    registry.register(
        "kept_entries",
        "Entries this process keeps in memory per person or chat, by map, as of the last pruning",
        p.kept_entries.clone(),
    );
    registry.register(
        "chat_messages",
        "Chat messages this bot received, by platform",
        p.chat_messages.clone(),
    );
    registry.register(
        "agent_decisions",
        "Messages the agent decided on, by decider (model or parser)",
        p.decisions.clone(),
    );
    registry.register(
        "agent_decision_seconds",
        "Time the agent took to decide and carry out a message, by decider",
        p.decision_seconds.clone(),
    );
    registry.register(
        "deliveries",
        "Videos this bot posted or gave up posting, by platform and outcome",
        p.deliveries.clone(),
    );
    registry.register(
        "delivery_seconds",
        "From a job's end to its video posted in the chat, by platform",
        p.delivery_seconds.clone(),
    );
    if p.gpus_watched.load(std::sync::atomic::Ordering::Relaxed) {
        let gpus = tokio::task::spawn_blocking(crate::gpu::read)
            .await
            .unwrap_or_default();
        register_gpus(&mut registry, &gpus);
    }

    let queue_jobs = Family::<Vec<(String, String)>, Gauge>::default();
    queue_jobs
        .get_or_create(&vec![("state".into(), "queued".into())])
        .set(figures.queued);
    queue_jobs
        .get_or_create(&vec![("state".into(), "running".into())])
        .set(figures.running);
    registry.register(
        "queue_jobs",
        "Jobs waiting and jobs being rendered",
        queue_jobs,
    );
    let jobs = Family::<Vec<(String, String)>, Counter>::default();
    for (outcome, n) in &figures.outcomes {
        jobs.get_or_create(&vec![("outcome".into(), outcome.clone())])
            .inc_by(*n);
    }
    registry.register("jobs", "Jobs that ended so", jobs);
    let refusals = Family::<Vec<(String, String)>, Counter>::default();
    for (reason, n) in &figures.refusals {
        refusals
            .get_or_create(&vec![("reason".into(), reason.clone())])
            .inc_by(*n);
    }
    registry.register("refusals", "Submissions refused by admission", refusals);
    let live: Gauge = Gauge::default();
    let ages = Family::<Vec<(String, String)>, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let lease = queue.config().lease().as_secs_f64();
    for (worker, age) in &figures.workers {
        if *age <= 3.0 * lease {
            live.inc();
            ages.get_or_create(&vec![("worker".into(), worker.clone())])
                .set(*age);
        }
    }
    registry.register("workers_live", "Workers seen within three leases", live);
    registry.register(
        "worker_heartbeat_age_seconds",
        "Time since each live worker was heard from",
        ages,
    );
    let rss = Family::<Vec<(String, String)>, Gauge>::default();
    rss.get_or_create(&vec![("device".into(), "cpu".into())])
        .set(resident_bytes());
    registry.register(
        "process_resident_memory_bytes",
        "Resident memory of the process",
        rss,
    );

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|e| JobsError::Record(format!("metrics: {e}")))?;
    Ok(text)
}

/// Each GPU's utilisation and memory, labelled by its index only.
fn register_gpus(registry: &mut Registry, gpus: &[crate::gpu::GpuFigures]) {
    let utilization =
        Family::<Vec<(String, String)>, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let used = Family::<Vec<(String, String)>, Gauge>::default();
    let total = Family::<Vec<(String, String)>, Gauge>::default();
    for gpu in gpus {
        let label = vec![("gpu".to_owned(), gpu.index.to_string())];
        utilization.get_or_create(&label).set(gpu.utilization);
        used.get_or_create(&label)
            .set(i64::try_from(gpu.memory_used).unwrap_or(i64::MAX));
        total
            .get_or_create(&label)
            .set(i64::try_from(gpu.memory_total).unwrap_or(i64::MAX));
    }
    registry.register(
        "gpu_utilization_ratio",
        "Share of time each GPU was busy over NVML's last sample period",
        utilization,
    );
    registry.register("gpu_memory_used_bytes", "GPU memory in use", used);
    registry.register("gpu_memory_total_bytes", "GPU memory in all", total);
}

fn resident_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Serves `/metrics` on `addr` until `stop`.
pub async fn serve(
    addr: std::net::SocketAddr,
    queue: Queue,
    stop: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, JobsError> {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| JobsError::Record(format!("metrics on {addr}: {e}")))?;
    let page = move || {
        let queue = queue.clone();
        async move {
            match render(&queue).await {
                Ok(text) => (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    text,
                )
                    .into_response(),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics unavailable");
                    (StatusCode::SERVICE_UNAVAILABLE, "redis unavailable").into_response()
                }
            }
        }
    };
    let app = axum::Router::new().route("/metrics", axum::routing::get(page));
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the metrics server stopped");
        }
    }))
}
