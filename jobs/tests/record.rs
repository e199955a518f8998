//! The record in a real Postgres: a job's whole event history arrives, and an outage of
//! Postgres delays the record without losing or doubling any event.

mod common;

use common::{config, queue, submit_ok, user, RedisServer};
use spinbot_core::config::SecretUrl;
use spinbot_jobs::record::Record;
use spinbot_jobs::recorder::run_recorder;
use spinbot_jobs::{Outcome, Queue};
use spinbot_testkit::PostgresServer;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Plays a worker through one job: start, progress, done.
async fn work_one(q: &Queue) -> bool {
    let Some(lease) = q.dispatch("w", false).await.expect("dispatch") else {
        return false;
    };
    q.progress(&lease, "speech", 50).await.expect("progress");
    q.progress(&lease, "render", 100).await.expect("progress");
    let result = format!("results/{}.mp4", lease.job);
    q.finish("w", &lease, &Outcome::Done { result })
        .await
        .expect("finish");
    true
}

/// How many events of `job` the record holds (0 while Postgres is away).
async fn recorded(record: &Record, job: &spinbot_core::JobId) -> usize {
    record.events_of(job.as_str()).await.map_or(0, |e| e.len())
}

async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    timeout: Duration,
    mut ok: impl FnMut() -> F,
) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_reaches_postgres_once_even_across_an_outage() {
    let redis = RedisServer::start(false);
    let mut postgres = PostgresServer::start();
    let url = SecretUrl::new(postgres.url());
    let stop = CancellationToken::new();
    let q = queue(config(&redis));
    let record = Record::connect(&url).expect("record");
    let rec = {
        let (q, record, stop) = (q.clone(), record.clone(), stop.clone());
        tokio::spawn(async move { run_recorder(&q, &record, Some("test-recorder"), &stop).await })
    };
    let anna = user("anna");

    // Before the outage.
    let first = submit_ok(&q, &anna, "before").await;
    assert!(work_one(&q).await);
    wait_for("the first job's history", Duration::from_secs(30), || {
        let (record, first) = (&record, &first);
        async move { recorded(record, first).await == 5 }
    })
    .await;
    let kinds: Vec<String> = record
        .events_of(first.as_str())
        .await
        .expect("events")
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(kinds, ["queued", "started", "progress", "progress", "done"]);

    // Postgres goes away for 30 s while jobs are submitted and rendered.
    postgres.pause();
    let down = Instant::now();
    let mut during = Vec::new();
    for i in 0..5 {
        during.push(submit_ok(&q, &user(&format!("u{i}")), "during").await);
    }
    let mut finished = 0;
    while finished < during.len() {
        if work_one(&q).await {
            finished += 1;
        }
    }
    for job in &during {
        let status = q.status(job, None).await.expect("status").expect("job");
        assert_eq!(
            status.state,
            spinbot_core::JobState::Done,
            "renders go on without Postgres"
        );
    }
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(down.elapsed())).await;
    postgres.resume();

    // Everything arrives, once.
    let redis_events = q.events("0", 100_000).await.expect("events");
    wait_for("the record to catch up", Duration::from_secs(60), || {
        let (record, during) = (&record, &during);
        async move {
            for job in during {
                if recorded(record, job).await != 5 {
                    return false;
                }
            }
            true
        }
    })
    .await;
    let mut recorded = 0;
    for job in std::iter::once(&first).chain(during.iter()) {
        let in_postgres: Vec<String> = record
            .events_of(job.as_str())
            .await
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
    let history = record.history(&anna).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, "done");
    assert_eq!(
        history[0].result.as_deref(),
        Some(format!("results/{first}.mp4").as_str())
    );
    stop.cancel();
    rec.await.expect("recorder").expect("recorder");
}

#[tokio::test(flavor = "multi_thread")]
async fn under_10_000_jobs_redis_stays_bounded_and_the_record_answers_for_expired_jobs() {
    let redis = RedisServer::start(false);
    let postgres = PostgresServer::start();
    let mut config = config(&redis);
    config.limits.retention_ms = 2_000;
    config.limits.max_running_per_user = 100;
    let q = queue(config);
    let record = Record::connect(&SecretUrl::new(postgres.url())).expect("record");
    let stop = CancellationToken::new();
    let recorder = {
        let (q, record, stop) = (q.clone(), record.clone(), stop.clone());
        tokio::spawn(async move { run_recorder(&q, &record, None, &stop).await })
    };
    let keeper = tokio::spawn(spinbot_jobs::housekeeping::run(q.clone(), stop.clone()));
    const JOBS: usize = 10_000;
    let users: Vec<_> = (0..100).map(|i| user(&format!("u{i}"))).collect();
    let mut first = None;
    for i in 0..JOBS {
        let job = submit_ok(&q, &users[i % users.len()], "bounded").await;
        first.get_or_insert(job);
        if i % 4 == 3 {
            // Four jobs in flight at a time, each started and finished.
            for _ in 0..4 {
                let lease = q
                    .dispatch("w", false)
                    .await
                    .expect("dispatch")
                    .expect("a job");
                let result = format!("results/{}.mp4", lease.job);
                q.finish("w", &lease, &Outcome::Done { result })
                    .await
                    .expect("finish");
            }
        }
    }
    let first = first.expect("jobs");
    // The record catches up; the stream is trimmed below what it acknowledged; the
    // finished jobs' live records go after the retention.
    let events = JOBS * 3;
    wait_for("the record", Duration::from_secs(300), || {
        let record = &record;
        async move {
            record
                .events_count()
                .await
                .is_ok_and(|n| n == events as i64)
        }
    })
    .await;
    wait_for("the housekeeping", Duration::from_secs(60), || {
        let q = &q;
        async move {
            q.all_keys()
                .await
                .is_ok_and(|keys| !keys.iter().any(|k| k.contains(":job:")))
        }
    })
    .await;
    let keys = q.all_keys().await.expect("keys");
    let leftovers: Vec<&String> = keys
        .iter()
        .filter(|k| k.contains("user_jobs") || k.contains(":cli:") || k.contains("expiring"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The next round trims what the record acknowledged last (with `~`: whole stream
    // nodes, so a few entries may stay).
    let stream_len = || {
        let url = redis.url();
        let key = q.keys().events();
        async move {
            let mut con = redis::Client::open(url)
                .and_then(|c| c.get_connection())
                .expect("redis");
            redis::cmd("XLEN")
                .arg(key)
                .query::<usize>(&mut con)
                .expect("xlen")
        }
    };
    wait_for("the trimming", Duration::from_secs(30), || async {
        stream_len().await <= 100
    })
    .await;
    assert!(keys.len() < 30, "{} keys: {keys:?}", keys.len());
    // An expired job still answers, from the record.
    let status = q
        .status_anywhere(&first, &users[0], Some(&record))
        .await
        .expect("status")
        .expect("the record knows it");
    assert_eq!(status.state, spinbot_core::JobState::Done);
    assert!(q.status(&first, None).await.expect("status").is_none());
    stop.cancel();
    recorder.await.expect("recorder").expect("recorder");
    keeper.await.expect("housekeeping");
}
