//! Logging: `tracing` to stderr, filtered by `RUST_LOG` from the configuration (default:
//! warnings only, so a command's stdout and progress bar stay clean).

use spinbot_core::config::Rule;
use spinbot_core::ConfigError;
use tracing_subscriber::EnvFilter;

/// Starts logging with `filter`; a filter that does not parse names `RUST_LOG`.
pub fn init(filter: &str) -> Result<(), ConfigError> {
    let filter = EnvFilter::builder().parse(filter).map_err(|_| {
        ConfigError(format!(
            "RUST_LOG must be {}, not \"{}\".",
            Rule::LogFilter.must_be(),
            filter.chars().take(40).collect::<String>()
        ))
    })?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    Ok(())
}
