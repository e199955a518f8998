//! The record in a real Postgres: a job's whole event history arrives, and an outage of
//! Postgres delays the record without losing or doubling any event.

mod common;

use common::{config, submit_ok, user, RedisServer};
use spinbot_jobs::record::{run_recorder, Record};
use spinbot_jobs::{Outcome, Queue};
use spinbot_testkit::PostgresServer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A recorder thread on its own connections.
fn recorder(
    redis: &RedisServer,
    database_url: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let config = config(redis);
    std::thread::spawn(move || {
        let mut queue = Queue::connect(config).expect("queue");
        let record = Record::connect(&database_url).expect("record");
        run_recorder(&mut queue, &record, "test-recorder", &stop).expect("recorder");
    })
}

/// Plays a worker through one job: start, progress, done.
fn work_one(q: &mut Queue) -> bool {
    let Some(lease) = q.dispatch("w", false).expect("dispatch") else {
        return false;
    };
    q.progress(&lease, "speech", 50).expect("progress");
    q.progress(&lease, "render", 100).expect("progress");
    q.finish(
        "w",
        &lease,
        &Outcome::Done {
            result: format!("results/{}.mp4", lease.job),
        },
    )
    .expect("finish");
    true
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn every_event_reaches_postgres_once_even_across_an_outage() {
    let redis = RedisServer::start(false);
    let mut postgres = PostgresServer::start();
    let stop = Arc::new(AtomicBool::new(false));
    let rec = recorder(&redis, postgres.url(), stop.clone());
    let mut q = Queue::connect(config(&redis)).expect("queue");
    let anna = user("anna");

    // Before the outage.
    let first = submit_ok(&mut q, &anna, "before");
    assert!(work_one(&mut q));
    let record = Record::connect(&postgres.url()).expect("record");
    wait_for("the first job's history", Duration::from_secs(30), || {
        record
            .events_of(first.as_str())
            .map(|e| e.len() == 5)
            .unwrap_or(false)
    });
    let kinds: Vec<String> = record
        .events_of(first.as_str())
        .expect("events")
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(kinds, ["queued", "started", "progress", "progress", "done"]);

    // Postgres goes away for 30 s while jobs are submitted and rendered.
    postgres.pause();
    let down = Instant::now();
    let during: Vec<_> = (0..5)
        .map(|i| submit_ok(&mut q, &user(&format!("u{i}")), "during"))
        .collect();
    let mut finished = 0;
    while finished < during.len() {
        if work_one(&mut q) {
            finished += 1;
        }
    }
    for job in &during {
        let status = q.status(job, None).expect("status").expect("job");
        assert_eq!(
            status.state,
            spinbot_core::JobState::Done,
            "renders go on without Postgres"
        );
    }
    std::thread::sleep(Duration::from_secs(30).saturating_sub(down.elapsed()));
    postgres.resume();

    // Everything arrives, once.
    let redis_events = q.events("0", None, 100_000).expect("events");
    let record = Record::connect(&postgres.url()).expect("record");
    wait_for("the record to catch up", Duration::from_secs(60), || {
        during.iter().all(|j| {
            record
                .events_of(j.as_str())
                .map(|e| e.len() == 5)
                .unwrap_or(false)
        })
    });
    let mut recorded = 0;
    for job in std::iter::once(&first).chain(during.iter()) {
        let in_postgres: Vec<String> = record
            .events_of(job.as_str())
            .expect("events")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let in_redis: Vec<String> = redis_events
            .iter()
            .filter(|(_, e)| e.job() == job)
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(in_postgres, in_redis, "{job}");
        recorded += in_postgres.len();
    }
    assert_eq!(recorded, redis_events.len());
    let history = record.history(&anna).expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, "done");
    assert_eq!(
        history[0].result.as_deref(),
        Some(format!("results/{first}.mp4").as_str())
    );
    stop.store(true, Ordering::Relaxed);
    rec.join().expect("recorder");
}
