//! `spinbot worker`: render jobs from the job plane until stopped.

use clap::Args;
use spinbot_core::limits::DEVICE_ENV;
use spinbot_farm::worker::WorkerConfig;
use spinbot_farm::{Assets, DeviceChoice};
use spinbot_jobs::{ObjectStore, QueueConfig};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct WorkerArgs {
    /// Jobs rendered at once (each slot loads its own models).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// auto, cpu or cuda (default: $SPINBOT_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// A name for this worker (default: host and process id).
    #[arg(long)]
    name: Option<String>,
}

impl WorkerArgs {
    /// One slot, the device from the environment, a generated name.
    pub fn single() -> Self {
        Self {
            concurrency: 1,
            device: None,
            name: None,
        }
    }
}

pub fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let choice: DeviceChoice = match args.device.or_else(|| std::env::var(DEVICE_ENV).ok()) {
        Some(d) => d.parse()?,
        None => DeviceChoice::Auto,
    };
    let device = choice.resolve()?;
    let queue = QueueConfig::from_env();
    let store: Arc<dyn ObjectStore> = spinbot_jobs::store::from_env()?;
    let assets = Assets::locate()?;
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let base = args
        .name
        .unwrap_or_else(|| format!("{host}-{}", std::process::id()));
    let work_root = std::env::temp_dir().join(format!("spinbot-worker-{base}"));
    let stop = Arc::new(AtomicBool::new(false));
    if let Ok(addr) = std::env::var("SPINBOT_METRICS_ADDR") {
        spinbot_jobs::metrics::serve(&addr, queue.clone())?;
        tracing::info!(%addr, "metrics on /metrics");
    }
    // The record: migrated on start and fed from the events stream, when configured. A
    // Postgres outage only delays it (the recorder waits), never a render.
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let (queue, stop, name) = (queue.clone(), stop.clone(), format!("{base}-recorder"));
        std::thread::spawn(move || {
            let result = spinbot_jobs::Record::connect(&url).and_then(|record| {
                let mut q = spinbot_jobs::Queue::connect(queue)?;
                spinbot_jobs::record::run_recorder(&mut q, &record, &name, &stop)
            });
            if let Err(e) = result {
                tracing::error!(error = %e, "the recorder stopped");
            }
        });
    }
    let slots: Vec<_> = (0..args.concurrency.max(1))
        .map(|slot| {
            let config = WorkerConfig {
                name: format!("{base}-{slot}"),
                device,
                gpu: device.is_cuda(),
                idle_wait: Duration::from_millis(200),
                work_root: work_root.clone(),
            };
            let (queue, store, assets, stop) =
                (queue.clone(), store.clone(), assets.clone(), stop.clone());
            std::thread::spawn(move || {
                spinbot_farm::worker::run(&config, &queue, store, assets, &stop)
            })
        })
        .collect();
    for slot in slots {
        match slot.join() {
            Ok(result) => result?,
            Err(_) => anyhow::bail!("a worker slot crashed"),
        }
    }
    Ok(())
}
