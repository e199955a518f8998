//! Helpers of the job plane's scenario tests.

#![allow(dead_code)]

use spinbot_core::{Plan, SpeechText, UserId};
use spinbot_jobs::{Admission, Queue, QueueConfig};
pub use spinbot_testkit::RedisServer;
use std::time::Duration;

/// Queue settings for `redis` with generous limits (tests tighten what they test).
pub fn config(redis: &RedisServer) -> QueueConfig {
    QueueConfig {
        redis_url: redis.url(),
        renders_per_hour: 100_000,
        render_burst: 1_000,
        max_queued_per_user: 1_000,
        max_running_per_user: 1,
        max_queue: 10_000,
        lease: Duration::from_millis(400),
        retry_backoff: Duration::from_millis(20),
        flood_per_second: 1_000_000,
        ..QueueConfig::default()
    }
}

pub fn user(name: &str) -> UserId {
    UserId::parse(&format!("cli:{name}")).expect("user")
}

pub fn plan(text: &str) -> Plan {
    Plan::say(
        SpeechText::parse(text).expect("text"),
        "jobs/x/inputs/photo",
    )
}

/// Submits and insists it was accepted.
pub fn submit_ok(queue: &mut Queue, who: &UserId, text: &str) -> spinbot_core::JobId {
    match queue.submit(who, &plan(text), false).expect("submit") {
        Admission::Accepted { job, .. } => job,
        refused => panic!("refused: {refused:?}"),
    }
}
