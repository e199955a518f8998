//! `spinbot recorder`: the record alone (job events from Redis into Postgres) until SIGINT
//! or SIGTERM, for a farm that keeps it apart from its workers (every worker with
//! `DATABASE_URL` runs one too); with housekeeping, so Redis stays bounded.

use crate::commands::required_record;
use clap::Args;
use spinbot_core::Config;
use spinbot_jobs::recorder::run_recorder;

#[derive(Args)]
pub struct RecorderArgs {
    /// A name for this recorder, kept across restarts (default: the lowest free one).
    #[arg(long)]
    name: Option<String>,
}

pub async fn run(args: RecorderArgs, config: Config) -> anyhow::Result<()> {
    let stop = crate::shutdown::on_signal()?;
    let record = required_record(&config)?;
    let queue = crate::commands::queue(&config)?;
    let housekeeping = tokio::spawn(spinbot_jobs::housekeeping::run(queue.clone(), stop.clone()));
    run_recorder(&queue, &record, args.name.as_deref(), &stop).await?;
    stop.cancel();
    housekeeping.await?;
    Ok(())
}
