//! `spinbot worker`: render jobs from the job plane until SIGINT or SIGTERM: one render slot
//! per device (every visible GPU, or the CPU) unless `--concurrency` says how many, the
//! models loaded once for all of them; housekeeping (finished jobs expire, read events are
//! trimmed); with `DATABASE_URL`, the recorder; with `SPINBOT_METRICS_ADDR`, the metrics.

use crate::commands::{queue, record};
use clap::Args;
use spinbot_core::Config;
use spinbot_farm::worker::WorkerConfig;
use spinbot_farm::{device, Assets, Models, Pipeline, Renders};
use spinbot_jobs::recorder::run_recorder;
use spinbot_jobs::Store;
use std::sync::Arc;
use std::time::Duration;
use tch::Device;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct WorkerArgs {
    /// Jobs rendered at once (default: one per device), sharing the models.
    #[arg(long)]
    concurrency: Option<usize>,
    /// auto, cpu, cuda (every GPU) or cuda:N (default: SPINBOT_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// A name for this worker, kept across restarts (default: host and process id).
    #[arg(long)]
    name: Option<String>,
}

impl WorkerArgs {
    /// The device from the configuration, a slot per device, a generated name.
    pub fn defaults() -> Self {
        Self {
            concurrency: None,
            device: None,
            name: None,
        }
    }

    /// A named worker with `concurrency` slots on the CPU (`spinbot bench load`'s).
    pub fn for_bench(name: String, concurrency: usize) -> Self {
        Self {
            concurrency: Some(concurrency),
            device: Some("cpu".into()),
            name: Some(name),
        }
    }
}

pub async fn run(args: WorkerArgs, config: Config) -> anyhow::Result<()> {
    let stop = crate::shutdown::on_signal()?;
    let mut roles = JoinSet::new();
    start(args, &config, &stop, &mut roles).await?;
    while let Some(role) = roles.join_next().await {
        role??;
    }
    Ok(())
}

/// Starts the worker's slots, its recorder and its metrics into `roles`; they end after
/// `stop`.
pub async fn start(
    args: WorkerArgs,
    config: &Config,
    stop: &CancellationToken,
    roles: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let models = Models::new(Assets::at(&config.assets));
    let (mark, max_side) = (config.mark, config.max_side);
    let pipeline = move |device| -> Arc<dyn Renders> {
        Arc::new(
            Pipeline::with_models(models.clone(), device)
                .with_mark(mark)
                .with_max_side(max_side),
        )
    };
    start_with(args, config, stop, roles, pipeline).await
}

/// [`start`] with what each slot runs made by `renders` for its device (`spinbot bench load`
/// puts a stand-in for the pipeline there).
pub async fn start_with(
    args: WorkerArgs,
    config: &Config,
    stop: &CancellationToken,
    roles: &mut JoinSet<anyhow::Result<()>>,
    renders: impl Fn(Device) -> Arc<dyn Renders>,
) -> anyhow::Result<()> {
    let choice = crate::commands::device_choice(args.device.as_deref(), config)?;
    let devices = tokio::task::spawn_blocking(move || device::devices(choice)).await??;
    let queue = queue(config)?;
    let store = Store::from_config(config);
    let host = tokio::fs::read_to_string("/etc/hostname")
        .await
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let base = args
        .name
        .unwrap_or_else(|| format!("{host}-{}", std::process::id()));
    if devices.iter().any(|d| d.is_cuda()) {
        spinbot_jobs::metrics::process()
            .gpus_watched
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(addr) = config.metrics_addr {
        let served = spinbot_jobs::metrics::serve(addr, queue.clone(), stop.clone()).await?;
        tracing::info!(%addr, "metrics on /metrics");
        roles.spawn(async move { Ok(served.await?) });
    }
    // The record: migrated on start and fed from the events stream. A Postgres outage only
    // delays it (the recorder waits), never a render.
    if let Some(record) = record(config)? {
        let (queue, stop) = (queue.clone(), stop.clone());
        roles.spawn(async move { Ok(run_recorder(&queue, &record, None, &stop).await?) });
    }
    // Redis stays bounded: finished jobs expire, read events are trimmed.
    let (keeper, stop_keeping) = (queue.clone(), stop.clone());
    roles.spawn(async move {
        spinbot_jobs::housekeeping::run(keeper, stop_keeping).await;
        Ok(())
    });
    let work_root = std::env::temp_dir().join(format!("spinbot-worker-{base}"));
    for (slot, device) in device::slot_devices(&devices, args.concurrency)
        .into_iter()
        .enumerate()
    {
        let slot = WorkerConfig {
            name: format!("{base}-{slot}"),
            gpu: device.is_cuda(),
            idle_wait: Duration::from_millis(200),
            work_root: work_root.clone(),
        };
        let pipeline = renders(device);
        let (queue, store, stop) = (queue.clone(), store.clone(), stop.clone());
        roles.spawn(async move {
            spinbot_farm::worker::run(slot, queue, store, pipeline, stop).await;
            Ok(())
        });
    }
    Ok(())
}
