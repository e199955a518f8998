//! The stand-in for the render that `spinbot bench load` gives its workers: every stage
//! reports progress and leaves an output as the pipeline would, and the video is a clip
//! prepared before the run, so what the benchmark measures is the chat side and the job
//! plane. It exists only here, in the benchmark; no setting of a real worker reaches it.

use clap::Args;
use spinbot_core::{Config, Plan, Stage};
use spinbot_farm::{FarmError, Progress, Renders};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tch::Device;
use tokio::task::JoinSet;

/// `spinbot bench load-worker` (hidden): a worker process whose slots run the stand-in.
#[derive(Args)]
pub struct StandInArgs {
    /// The prepared video every job gets.
    #[arg(long)]
    clip: PathBuf,
    /// How long each stand-in render takes, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    render_ms: u64,
    /// Jobs taken at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long)]
    name: String,
}

/// Runs a worker whose slots render with the stand-in, until SIGINT or SIGTERM.
pub async fn run(args: StandInArgs, config: Config) -> anyhow::Result<()> {
    let stop = crate::shutdown::on_signal()?;
    let mut roles = JoinSet::new();
    let stand_in: Arc<dyn Renders> = Arc::new(StandIn {
        clip: args.clip,
        render: Duration::from_millis(args.render_ms),
    });
    let worker = crate::commands::worker::WorkerArgs::for_bench(args.name, args.concurrency);
    crate::commands::worker::start_with(worker, &config, &stop, &mut roles, |_| stand_in.clone())
        .await?;
    while let Some(role) = roles.join_next().await {
        role??;
    }
    Ok(())
}

/// Renders every job as the prepared clip after a fixed time.
struct StandIn {
    clip: PathBuf,
    render: Duration,
}

/// Steps a stand-in render reports its progress in.
const STEPS: u32 = 4;

impl Renders for StandIn {
    fn device(&self) -> Device {
        Device::Cpu
    }

    fn run(
        &self,
        plan: &Plan,
        work_dir: &Path,
        progress: &mut dyn Progress,
    ) -> Result<PathBuf, FarmError> {
        plan.validate()?;
        for stage in plan.stages() {
            let output = work_dir.join(stage.output_file());
            if stage == Stage::Render || output.exists() {
                continue;
            }
            progress.update(stage, 0.0);
            std::fs::write(&output, b"stand-in")
                .map_err(|e| FarmError::io(format!("writing {}", output.display()), e))?;
            progress.update(stage, 1.0);
        }
        progress.update(Stage::Render, 0.0);
        for step in 1..=STEPS {
            if progress.cancelled() {
                return Err(FarmError::Cancelled);
            }
            std::thread::sleep(self.render / STEPS);
            progress.update(Stage::Render, f64::from(step) / f64::from(STEPS));
        }
        let video = work_dir.join(Stage::Render.output_file());
        std::fs::copy(&self.clip, &video)
            .map_err(|e| FarmError::io(format!("copying {}", self.clip.display()), e))?;
        Ok(video)
    }
}
