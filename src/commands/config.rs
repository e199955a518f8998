//! `spinbot config`: the configuration in effect, read the way every command reads it: each
//! variable with its value (secrets redacted), where the value came from, and what it is.

use clap::Args;
use spinbot_core::config::Source;
use spinbot_core::Config;

#[derive(Args)]
pub struct ConfigArgs {
    /// One JSON list instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ConfigArgs, config: &Config) -> anyhow::Result<()> {
    let settings = config.settings();
    if args.json {
        let rows: Vec<_> = settings
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "value": s.shown,
                    "source": s.source,
                    "secret": s.secret,
                    "meaning": s.meaning,
                    "must_be": s.rule.must_be(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(());
    }
    let width = settings.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in settings {
        let source = match s.source {
            Source::Environment => "environment",
            Source::DotEnv => ".env",
            Source::Default => "default",
        };
        let value = if s.shown.is_empty() {
            "(unset)"
        } else {
            &s.shown
        };
        println!("{:width$}  {value}  [{source}]  {}", s.name, s.meaning);
    }
    Ok(())
}
