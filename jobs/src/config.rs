//! The job plane's settings: limits that suit a small community by default, each one
//! overridable from the environment.

use spinbot_core::limits;
use spinbot_core::UserId;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub redis_url: String,
    /// Prefix of every key, so several deployments (or tests) can share one Redis.
    pub prefix: String,
    /// Sustained renders per user per hour (GCRA).
    pub renders_per_hour: u32,
    /// How many renders a user may start back to back.
    pub render_burst: u32,
    pub max_running_per_user: u32,
    pub max_queued_per_user: u32,
    /// Above this many queued jobs in all, submissions are answered "busy".
    pub max_queue: u32,
    /// Users the limits do not apply to.
    pub admins: Vec<UserId>,
    /// A worker silent for this long loses its job to another.
    pub lease: Duration,
    /// Attempts before a job goes to the dead-letter stream.
    pub max_attempts: u32,
    /// First retry delay; doubled on every further attempt.
    pub retry_backoff: Duration,
    /// Submissions per second one user may make through one process before it refuses
    /// them without asking Redis (a flood guard in front of the shared limits).
    pub flood_per_second: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            redis_url: limits::DEFAULT_REDIS_URL.to_owned(),
            prefix: "spinbot".to_owned(),
            renders_per_hour: limits::DEFAULT_RENDERS_PER_HOUR,
            render_burst: limits::DEFAULT_RENDER_BURST,
            max_running_per_user: limits::DEFAULT_MAX_RUNNING_PER_USER,
            max_queued_per_user: limits::DEFAULT_MAX_QUEUED_PER_USER,
            max_queue: limits::DEFAULT_MAX_QUEUE,
            admins: Vec::new(),
            lease: Duration::from_millis(limits::DEFAULT_LEASE_MS),
            max_attempts: limits::DEFAULT_MAX_ATTEMPTS,
            retry_backoff: Duration::from_millis(limits::DEFAULT_RETRY_BACKOFF_MS),
            flood_per_second: limits::DEFAULT_FLOOD_PER_SECOND,
        }
    }
}

impl QueueConfig {
    /// The defaults, with `REDIS_URL` and the `SPINBOT_*` limits from the environment.
    pub fn from_env() -> Self {
        let num = |name: &str, default: u32| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        let d = Self::default();
        Self {
            redis_url: std::env::var("REDIS_URL").unwrap_or(d.redis_url),
            prefix: std::env::var("SPINBOT_REDIS_PREFIX").unwrap_or(d.prefix),
            renders_per_hour: num("SPINBOT_RENDERS_PER_HOUR", d.renders_per_hour).max(1),
            render_burst: num("SPINBOT_RENDER_BURST", d.render_burst).max(1),
            max_running_per_user: num("SPINBOT_MAX_RUNNING_PER_USER", d.max_running_per_user)
                .max(1),
            max_queued_per_user: num("SPINBOT_MAX_QUEUED_PER_USER", d.max_queued_per_user).max(1),
            max_queue: num("SPINBOT_MAX_QUEUE", d.max_queue).max(1),
            admins: std::env::var("SPINBOT_ADMINS")
                .unwrap_or_default()
                .split(',')
                .filter_map(|u| UserId::parse(u.trim()).ok())
                .collect(),
            lease: Duration::from_millis(u64::from(
                num("SPINBOT_LEASE_MS", d.lease.as_millis() as u32).max(100),
            )),
            max_attempts: num("SPINBOT_MAX_ATTEMPTS", d.max_attempts).max(1),
            retry_backoff: d.retry_backoff,
            flood_per_second: num("SPINBOT_FLOOD_PER_SECOND", d.flood_per_second).max(1),
        }
    }

    /// Milliseconds between two renders of one user at the sustained rate.
    pub fn interval_ms(&self) -> u64 {
        3_600_000 / u64::from(self.renders_per_hour.max(1))
    }
}
