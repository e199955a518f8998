//! Helpers of the job plane's scenario tests.

#![allow(dead_code)]

use spinbot_core::config::Limits;
use spinbot_core::{JobClass, Plan, SpeechText, UserId};
use spinbot_jobs::{Admission, Queue, QueueConfig};
pub use spinbot_testkit::RedisServer;

/// Queue settings for `redis` with generous limits (tests tighten what they test).
pub fn config(redis: &RedisServer) -> QueueConfig {
    QueueConfig {
        redis_url: redis.url(),
        limits: Limits {
            renders_per_hour: 100_000,
            render_burst: 1_000,
            max_queued_per_user: 1_000,
            max_running_per_user: 1,
            max_queue: 10_000,
            lease_ms: 400,
            retry_backoff_ms: 20,
            flood_per_second: 1_000_000,
            ..Limits::default()
        },
        ..QueueConfig::default()
    }
}

pub fn queue(config: QueueConfig) -> Queue {
    Queue::new(config).expect("queue")
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
pub async fn submit_ok(queue: &Queue, who: &UserId, text: &str) -> spinbot_core::JobId {
    match queue
        .submit(who, &plan(text), JobClass::Any)
        .await
        .expect("submit")
    {
        Admission::Accepted { job, .. } => job,
        refused => panic!("refused: {refused:?}"),
    }
}
