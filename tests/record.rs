//! The record's recorders as processes (`spinbot recorder`): two share the events; one is
//! killed in the middle of a batch while Postgres is down for a minute; afterwards the
//! record holds exactly the events of the stream, each once.

mod common;

use spinbot_core::{JobClass, Plan, SpeechText, UserId};
use spinbot_jobs::{Outcome, Queue, QueueConfig};
use spinbot_testkit::{PostgresServer, RedisServer};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Plays a worker through `n` jobs of different users: submit, start, progress, done.
async fn make_events(queue: &Queue, from: usize, n: usize) {
    let plan = Plan::say(SpeechText::parse("hello").expect("text"), "photo");
    for i in from..from + n {
        let user = UserId::parse(&format!("cli:r{i}")).expect("user");
        queue
            .submit(&user, &plan, JobClass::Any)
            .await
            .expect("submit");
        let lease = queue
            .dispatch("w", false)
            .await
            .expect("dispatch")
            .expect("the job");
        queue
            .progress(&lease, "speech", 50)
            .await
            .expect("progress");
        let done = Outcome::Done {
            result: format!("results/{}.mp4", lease.job),
        };
        queue.finish("w", &lease, &done).await.expect("finish");
    }
}

fn recorder(redis: &RedisServer, postgres: &PostgresServer, name: &str) -> Child {
    common::spinbot()
        .args(["recorder", "--name", name])
        .env("REDIS_URL", redis.url())
        .env("DATABASE_URL", postgres.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("recorder")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_recorders_one_killed_mid_batch_with_postgres_down_record_the_stream_exactly() {
    let redis = RedisServer::start(false);
    // A group that reads nothing: the stream is trimmed only below what every group has
    // acknowledged, so it keeps every event for the comparison.
    let mut con = redis::Client::open(redis.url().as_str())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", "spinbot:events", "audit", "0", "MKSTREAM"])
        .query(&mut con)
        .expect("group");
    let mut postgres = PostgresServer::start();
    let mut first = recorder(&redis, &postgres, "rec-a");
    let mut second = recorder(&redis, &postgres, "rec-b");
    let queue = Queue::new(QueueConfig {
        redis_url: redis.url(),
        limits: spinbot_core::config::Limits {
            renders_per_hour: 1_000_000,
            render_burst: 1_000_000,
            flood_per_second: 1_000_000,
            ..Default::default()
        },
        ..QueueConfig::default()
    })
    .expect("queue");
    make_events(&queue, 0, 50).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while common::psql(postgres.port, "SELECT count(*) FROM job_events") != "200"
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Postgres goes away for a minute; both recorders hold batches they cannot write.
    postgres.pause();
    let down = Instant::now();
    make_events(&queue, 50, 100).await;
    let pending = |consumer: &'static str| {
        let url = redis.url();
        move || -> usize {
            let mut con = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection())
                .expect("redis");
            let info: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
                .arg("CONSUMERS")
                .arg("spinbot:events")
                .arg("recorder")
                .query(&mut con)
                .expect("consumers");
            info.consumers
                .iter()
                .find(|c| c.name == consumer)
                .map_or(0, |c| c.pending)
        }
    };
    let a_pending = pending("rec-a");
    let deadline = Instant::now() + Duration::from_secs(30);
    while a_pending() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a_pending() > 0, "the first recorder holds a batch");
    // Killed with its batch read and not written.
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let stream: Vec<String> = queue
        .events("0", 1_000_000)
        .await
        .expect("events")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        stream.len(),
        150 * 4,
        "submit, start, progress and done per job"
    );
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(down.elapsed())).await;
    postgres.resume();
    // The survivor takes over the dead one's batch; everything arrives, once.
    let count = || common::psql(postgres.port, "SELECT count(*) FROM job_events");
    let deadline = Instant::now() + Duration::from_secs(90);
    while count() != stream.len().to_string() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let recorded = common::psql(
        postgres.port,
        "SELECT stream_id FROM job_events ORDER BY split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint",
    );
    let recorded: Vec<&str> = recorded.lines().collect();
    assert_eq!(recorded, stream);
    assert_eq!(
        common::psql(
            postgres.port,
            "SELECT count(*) FROM jobs WHERE state = 'done'"
        ),
        "150"
    );
    assert!(
        matches!(second.try_wait(), Ok(None)),
        "the survivor runs on"
    );
    let _ = second.kill();
    let _ = second.wait();
}
