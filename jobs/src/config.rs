//! The job plane's settings: where Redis is, the key prefix, and the configuration's limits
//! (tests and benches build their own).

use spinbot_core::config::Limits;
use spinbot_core::Config;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Redis (may carry a password: never logged).
    pub redis_url: String,
    /// Prefix of every key, so several deployments (or tests) can share one Redis.
    pub prefix: String,
    pub limits: Limits,
}

impl QueueConfig {
    pub fn from_config(config: &Config) -> Self {
        Self {
            redis_url: config.redis_url.expose().to_owned(),
            prefix: config.redis_prefix.clone(),
            limits: config.limits.clone(),
        }
    }

    /// A worker silent for this long loses its job to another.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.limits.lease_ms)
    }

    /// The first retry delay; doubled on every further attempt.
    pub fn retry_backoff(&self) -> Duration {
        Duration::from_millis(self.limits.retry_backoff_ms)
    }

    /// Milliseconds between two renders of one user at the sustained rate.
    pub fn interval_ms(&self) -> u64 {
        3_600_000 / u64::from(self.limits.renders_per_hour.max(1))
    }
}

impl Default for QueueConfig {
    /// The defaults of the configuration.
    fn default() -> Self {
        Self::from_config(&Config::defaults())
    }
}
