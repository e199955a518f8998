//! Scenario tests of the job plane against a real Redis: fair share, admission limits,
//! cancel, leases taken over, retries and dead letters, durability across a restart. The
//! test plays the worker through the same calls a worker makes.

mod common;

use common::{config, plan, queue, submit_ok, user, RedisServer};
use spinbot_core::{JobClass, JobEvent, JobState, Refusal};
use spinbot_jobs::queue::{Cancel, Heartbeat};
use spinbot_jobs::{Admission, Finished, Outcome, Queue};
use std::time::Duration;

async fn done(queue: &Queue, worker: &str, lease: &spinbot_jobs::Lease) {
    let result = format!("results/{}.mp4", lease.job);
    let finished = queue
        .finish(worker, lease, &Outcome::Done { result })
        .await
        .expect("finish");
    assert_eq!(finished, Finished::Done);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_users_many_jobs_delay_anothers_by_at_most_one_render() {
    let redis = RedisServer::start(false);
    let q = queue(config(&redis));
    let (a, b) = (user("a"), user("b"));
    let mut a_jobs = Vec::new();
    for i in 0..20 {
        a_jobs.push(submit_ok(&q, &a, &format!("a job {i}")).await);
    }
    let b_job = submit_ok(&q, &b, "b's only job").await;
    // B is told it is second in line: after A's first.
    assert_eq!(
        q.status(&b_job, Some(&b))
            .await
            .expect("status")
            .and_then(|s| s.position),
        Some(2)
    );
    // A worker takes jobs one after another (each user may run one at a time).
    let mut started = Vec::new();
    for _ in 0..4 {
        let lease = q
            .dispatch("w1", false)
            .await
            .expect("dispatch")
            .expect("a job");
        started.push(lease.job.clone());
        done(&q, "w1", &lease).await;
    }
    let b_at = started.iter().position(|j| *j == b_job).expect("b started");
    let a_third = started
        .iter()
        .position(|j| *j == a_jobs[2])
        .expect("a's third started");
    assert!(b_at < a_third, "order {started:?}");
    assert_eq!(started[0], a_jobs[0]);
    assert_eq!(started[1], b_job);
}

#[tokio::test(flavor = "multi_thread")]
async fn someones_first_job_starts_before_anothers_second_whenever_it_came() {
    let redis = RedisServer::start(false);
    let q = queue(config(&redis));
    let (a, b, c) = (user("a"), user("b"), user("c"));
    let a_first = submit_ok(&q, &a, "a's first").await;
    let a_second = submit_ok(&q, &a, "a's second").await;
    let lease = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("a job");
    assert_eq!(lease.job, a_first);
    // B and C come while every worker is busy (nobody asks for work meanwhile).
    let b_job = submit_ok(&q, &b, "b's only job").await;
    let c_job = submit_ok(&q, &c, "c's only job").await;
    done(&q, "w1", &lease).await;
    let mut started = Vec::new();
    while let Some(lease) = q.dispatch("w1", false).await.expect("dispatch") {
        started.push(lease.job.clone());
        done(&q, "w1", &lease).await;
    }
    assert_eq!(started, vec![b_job, c_job, a_second]);
    // With nothing left queued or running, A starts afresh: its next job is a first again.
    let a_again = submit_ok(&q, &a, "a's third").await;
    let d_job = submit_ok(&q, &user("d"), "d's only job").await;
    let first = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("a job");
    assert_eq!(
        first.job, a_again,
        "the earlier of two fresh users goes first"
    );
    done(&q, "w1", &first).await;
    let next = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("a job");
    assert_eq!(next.job, d_job);
}

#[tokio::test(flavor = "multi_thread")]
async fn burst_then_rate_limit_with_the_time_to_wait() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.limits.renders_per_hour = 60; // one a minute
    config.limits.render_burst = 3;
    let q = queue(config);
    let a = user("a");
    for i in 0..3 {
        submit_ok(&q, &a, &format!("burst {i}")).await;
    }
    match q
        .submit(&a, &plan("one too many"), JobClass::Any)
        .await
        .expect("submit")
    {
        Admission::Refused(Refusal::RateLimited { retry_after_s }) => {
            // The next slot opens one interval (60 s) after the burst began.
            assert!(
                retry_after_s > 55.0 && retry_after_s <= 60.0,
                "{retry_after_s}"
            );
        }
        accepted => panic!("accepted: {accepted:?}"),
    }
    // Another user is not affected.
    submit_ok(&q, &user("b"), "someone else").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn per_user_queue_cap_and_global_busy() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.limits.max_queued_per_user = 2;
    config.limits.max_queue = 3;
    let q = queue(config);
    submit_ok(&q, &user("a"), "1").await;
    submit_ok(&q, &user("a"), "2").await;
    let refused = q
        .submit(&user("a"), &plan("3"), JobClass::Any)
        .await
        .expect("submit");
    assert!(
        matches!(refused, Admission::Refused(Refusal::TooManyQueued)),
        "{refused:?}"
    );
    submit_ok(&q, &user("b"), "3").await;
    let busy = q
        .submit(&user("c"), &plan("4"), JobClass::Any)
        .await
        .expect("submit");
    assert!(
        matches!(busy, Admission::Refused(Refusal::Busy { .. })),
        "{busy:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_queued_and_running_jobs_and_the_slot_is_freed() {
    let redis = RedisServer::start(false);
    let q = queue(config(&redis));
    let a = user("a");
    let first = submit_ok(&q, &a, "first").await;
    let second = submit_ok(&q, &a, "second").await;
    let third = submit_ok(&q, &a, "third").await;
    // Not yours: answered as not found, and nothing changes.
    assert_eq!(
        q.cancel(&third, &user("mallory")).await.expect("cancel"),
        Cancel::NotFound
    );
    assert!(q
        .status(&third, Some(&user("mallory")))
        .await
        .expect("status")
        .is_none());
    // Queued: cancelled at once, never dispatched.
    assert_eq!(
        q.cancel(&third, &a).await.expect("cancel"),
        Cancel::Cancelled
    );
    let lease = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("first");
    assert_eq!(lease.job, first);
    // A's running limit is one: nothing else for A until the first stops.
    assert!(q.dispatch("w2", false).await.expect("dispatch").is_none());
    // Running: the worker learns it at its next heartbeat and stops.
    assert_eq!(
        q.cancel(&first, &a).await.expect("cancel"),
        Cancel::Stopping
    );
    assert_eq!(
        q.heartbeat("w1", &lease).await.expect("heartbeat"),
        Heartbeat::Cancel
    );
    assert_eq!(
        q.finish("w1", &lease, &Outcome::Cancelled)
            .await
            .expect("finish"),
        Finished::Cancelled
    );
    assert_eq!(
        q.status(&first, Some(&a))
            .await
            .expect("status")
            .map(|s| s.state),
        Some(JobState::Cancelled)
    );
    // The slot is free: the second job starts.
    let next = q
        .dispatch("w2", false)
        .await
        .expect("dispatch")
        .expect("second");
    assert_eq!(next.job, second);
    assert!(
        q.dispatch("w2", false).await.expect("dispatch").is_none(),
        "the cancelled third job must not run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_workers_job_is_taken_over_and_finishes_once() {
    let redis = RedisServer::start(false);
    let q = queue(config(&redis));
    let a = user("a");
    let job = submit_ok(&q, &a, "survive a crash").await;
    let lost = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("job");
    // w1 goes silent. Before the lease runs out nobody can take the job.
    assert!(q.reclaim("w2").await.expect("reclaim").is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let taken = q.reclaim("w2").await.expect("reclaim").expect("taken over");
    assert_eq!(taken.job, job);
    assert_eq!(taken.attempt, 2);
    // w1 wakes up: its lease is gone and it cannot finish the job.
    assert_eq!(
        q.heartbeat("w1", &lost).await.expect("heartbeat"),
        Heartbeat::Lost
    );
    assert_eq!(
        q.finish(
            "w1",
            &lost,
            &Outcome::Done {
                result: "w1".into()
            }
        )
        .await
        .expect("finish"),
        Finished::Lost
    );
    done(&q, "w2", &taken).await;
    let events = q.events("0", 1000).await.expect("events");
    let dones: Vec<_> = events
        .iter()
        .filter(|(_, e)| matches!(e, JobEvent::Done { .. }))
        .collect();
    assert_eq!(dones.len(), 1, "{events:?}");
    assert!(matches!(&dones[0].1, JobEvent::Done { result, .. } if result.ends_with(".mp4")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_job_is_dead_lettered_while_others_flow_and_can_be_requeued() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.limits.max_attempts = 3;
    config.limits.max_running_per_user = 5;
    let q = queue(config);
    let poison = submit_ok(&q, &user("p"), "poison").await;
    let mut good = Vec::new();
    for i in 0..4 {
        good.push(submit_ok(&q, &user("g"), &format!("good {i}")).await);
    }
    let mut finished = Vec::new();
    let mut attempts = 0;
    for _ in 0..40 {
        match q.dispatch("w", false).await.expect("dispatch") {
            Some(lease) if lease.job == poison => {
                attempts += 1;
                let answer = q
                    .finish(
                        "w",
                        &lease,
                        &Outcome::Retry {
                            reason: "ffmpeg crashed".into(),
                        },
                    )
                    .await
                    .expect("finish");
                assert_eq!(
                    answer,
                    if attempts < 3 {
                        Finished::Retrying
                    } else {
                        Finished::DeadLettered
                    }
                );
            }
            Some(lease) => {
                finished.push(lease.job.clone());
                done(&q, "w", &lease).await;
            }
            None => tokio::time::sleep(Duration::from_millis(30)).await,
        }
        if attempts == 3 && finished.len() == good.len() {
            break;
        }
    }
    assert_eq!(attempts, 3);
    assert_eq!(finished, good, "the good jobs flowed past the poison one");
    let dead = q.dead_letters().await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].job, poison.as_str());
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(
        q.status(&poison, None)
            .await
            .expect("status")
            .map(|s| s.state),
        Some(JobState::Failed)
    );
    // An admin requeues it and it runs again.
    assert_eq!(
        q.requeue(&dead[0].entry).await.expect("requeue"),
        Some(poison.clone())
    );
    assert!(q.dead_letters().await.expect("dead letters").is_empty());
    let lease = q
        .dispatch("w", false)
        .await
        .expect("dispatch")
        .expect("requeued job");
    assert_eq!(lease.job, poison);
    done(&q, "w", &lease).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gpu_only_work_never_goes_to_a_cpu_worker() {
    let redis = RedisServer::start(false);
    let q = queue(config(&redis));
    let gpu_job = match q
        .submit(&user("a"), &plan("on a gpu"), JobClass::Gpu)
        .await
        .expect("submit")
    {
        Admission::Accepted { job, .. } => job,
        other => panic!("{other:?}"),
    };
    let any_job = submit_ok(&q, &user("b"), "anywhere").await;
    let cpu = q
        .dispatch("cpu-worker", false)
        .await
        .expect("dispatch")
        .expect("a job");
    assert_eq!(cpu.job, any_job);
    assert!(q
        .dispatch("cpu-worker", false)
        .await
        .expect("dispatch")
        .is_none());
    let gpu = q
        .dispatch("gpu-worker", true)
        .await
        .expect("dispatch")
        .expect("the gpu job");
    assert_eq!(gpu.job, gpu_job);
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_jobs_survive_a_redis_restart_under_load() {
    let mut redis = RedisServer::start(true);
    let config = config(&redis);
    let q = queue(config.clone());
    for i in 0..20 {
        submit_ok(&q, &user(&format!("u{}", i % 7)), &format!("before {i}")).await;
    }
    let running = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("a job");
    // A client keeps submitting while Redis shuts down and comes back; every submission
    // that was acknowledged must still be there afterwards. The restart waits for ten
    // acceptances and the end for ten more after it, so a slow machine changes nothing.
    let stop = tokio_util::sync::CancellationToken::new();
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let submitter = {
        let (q, stop, accepted) = (q.clone(), stop.clone(), accepted.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.is_cancelled() {
                i += 1;
                let who = user(&format!("u{}", i % 7));
                match q
                    .submit(&who, &plan(&format!("during {i}")), JobClass::Any)
                    .await
                {
                    Ok(Admission::Accepted { job, .. }) => {
                        accepted.lock().expect("accepted").push(job)
                    }
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
    };
    let count = || accepted.lock().expect("accepted").len();
    let wait_for = |n: usize| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while count() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} submissions went through, waiting for {n}",
                count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    wait_for(10).await;
    let _redis = tokio::task::spawn_blocking(move || {
        redis.restart();
        redis
    })
    .await
    .expect("restart");
    let after_restart = count();
    wait_for(after_restart + 10).await;
    stop.cancel();
    submitter.await.expect("submitter");
    let during = accepted.lock().expect("accepted").clone();
    assert!(during.len() >= 20, "{} submissions", during.len());
    let q = queue(config);
    let mut all: Vec<_> = q
        .events("0", 1_000_000)
        .await
        .expect("events")
        .into_iter()
        .filter_map(|(_, e)| match e {
            JobEvent::Queued { job, .. } => Some(job),
            _ => None,
        })
        .collect();
    all.sort();
    for job in &during {
        let status = q
            .status(job, None)
            .await
            .expect("status")
            .expect("an acknowledged job was lost");
        assert_eq!(status.state, JobState::Queued, "{job}");
        assert!(
            all.binary_search(job).is_ok(),
            "{job} lost its queued event"
        );
    }
    assert_eq!(
        q.status(&running.job, None)
            .await
            .expect("status")
            .map(|s| s.state),
        Some(JobState::Running)
    );
    // The queue still works: every job is dispatched exactly once, the running one after
    // its lease runs out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut seen = std::collections::HashSet::new();
    loop {
        let lease = match q.reclaim("w2").await.expect("reclaim") {
            Some(l) => l,
            None => match q.dispatch("w2", false).await.expect("dispatch") {
                Some(l) => l,
                None => break,
            },
        };
        assert!(seen.insert(lease.job.clone()), "{} twice", lease.job);
        done(&q, "w2", &lease).await;
    }
    for job in &during {
        assert!(seen.contains(job), "{job} was never dispatched");
    }
    // At most one more: a submission Redis took in just as it shut down, whose answer the
    // client never got (the submitter has one request in flight at a time).
    assert!(
        (20 + during.len()..=21 + during.len()).contains(&seen.len()),
        "{} dispatched",
        seen.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_from_one_user_is_stopped_in_process_before_redis() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.limits.flood_per_second = 5;
    let q = queue(config);
    let a = user("flooder");
    let mut answers = Vec::new();
    for i in 0..20 {
        let answer = q
            .submit(&a, &plan(&format!("spam {i}")), JobClass::Any)
            .await;
        answers.push(answer.expect("submit"));
    }
    let accepted = answers
        .iter()
        .filter(|a| matches!(a, Admission::Accepted { .. }))
        .count();
    assert!((5..=6).contains(&accepted), "{accepted} of 20 went through");
    assert!(answers.iter().any(|a| matches!(a, Admission::Refused(Refusal::RateLimited { retry_after_s }) if *retry_after_s > 0.0 && *retry_after_s <= 1.0)));
    // Redis saw only the accepted ones; another user is not held back.
    let queued = q.events("0", 1000).await.expect("events").len();
    assert_eq!(queued, accepted);
    submit_ok(&q, &user("calm"), "hello").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_are_read_under_a_prefix_with_dashes() {
    let redis = RedisServer::start(false);
    let config = spinbot_jobs::QueueConfig {
        prefix: "spinbot-bench-1".into(),
        ..config(&redis)
    };
    let q = queue(config);
    let job = submit_ok(&q, &user("a"), "hello").await;
    let read = q.events("0", 10).await.expect("events");
    assert!(read.iter().any(|(_, e)| e.job() == &job), "{read:?}");
    let mut reader = q.reader("g", "c").expect("reader");
    let grouped = reader.next(10).await.expect("read_group");
    assert!(grouped.iter().any(|(_, e)| e.job() == &job), "{grouped:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_during_a_failing_attempt_ends_it_and_it_never_runs_again() {
    let redis = RedisServer::start(false);
    let q = queue(config(&redis));
    let a = user("a");
    let job = submit_ok(&q, &a, "will fail").await;
    let lease = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("job");
    // The owner cancels while the attempt runs; then the attempt fails (it would retry).
    assert_eq!(q.cancel(&job, &a).await.expect("cancel"), Cancel::Stopping);
    let finished = q
        .finish(
            "w1",
            &lease,
            &Outcome::Retry {
                reason: "ffmpeg crashed".into(),
            },
        )
        .await
        .expect("finish");
    assert_eq!(finished, Finished::Cancelled);
    assert_eq!(
        q.status(&job, None).await.expect("status").map(|s| s.state),
        Some(JobState::Cancelled)
    );
    // Past any retry back-off, nothing is dispatched.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(q.dispatch("w2", false).await.expect("dispatch").is_none());
    let events = q.events("0", 100).await.expect("events");
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, JobEvent::Retrying { .. })),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_workers_jobs_are_taken_over_behind_many_live_leases() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.limits.max_running_per_user = 100;
    let q = queue(config);
    // 20 jobs in flight on 4 workers; the one that dies took its 5 last, behind 15 leases of
    // live workers (a take-over scanning a few pending entries would never reach them).
    for i in 0..20 {
        submit_ok(&q, &user(&format!("u{i}")), &format!("job {i}")).await;
    }
    let mut held = Vec::new();
    for w in ["w1", "w2", "w3", "dead"] {
        for _ in 0..5 {
            let lease = q
                .dispatch(w, false)
                .await
                .expect("dispatch")
                .expect("a job");
            held.push((w, lease));
        }
    }
    let dead: Vec<_> = held
        .iter()
        .filter(|(w, _)| *w == "dead")
        .map(|(_, l)| l.job.clone())
        .collect();
    assert_eq!(dead.len(), 5);
    // The live workers keep their leases by heartbeat; the dead one is silent.
    let stop = tokio_util::sync::CancellationToken::new();
    let heartbeats = {
        let (q, stop) = (q.clone(), stop.clone());
        let live: Vec<_> = held.iter().filter(|(w, _)| *w != "dead").cloned().collect();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                for (w, lease) in &live {
                    assert_eq!(
                        q.heartbeat(w, lease).await.expect("heartbeat"),
                        Heartbeat::Held
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut rescued = Vec::new();
    while let Some(lease) = q.reclaim("rescuer").await.expect("reclaim") {
        rescued.push(lease.job.clone());
        done(&q, "rescuer", &lease).await;
    }
    stop.cancel();
    heartbeats.await.expect("heartbeats");
    rescued.sort();
    let mut expected = dead.clone();
    expected.sort();
    assert_eq!(
        rescued, expected,
        "every job of the dead worker, and only those"
    );
    for job in &dead {
        assert_eq!(
            q.status(job, None).await.expect("status").map(|s| s.state),
            Some(JobState::Done)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dispatch_with_the_group_gone_changes_nothing_and_then_works() {
    let redis = RedisServer::start(false);
    let q = queue(config(&redis));
    let a = user("a");
    let job = submit_ok(&q, &a, "survives a lost group").await;
    let mut con = redis::Client::open(redis.url())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let counts = |con: &mut redis::Connection| -> Vec<Option<i64>> {
        redis::cmd("MGET")
            .arg(q.keys().count(&["queued"]))
            .arg(q.keys().count(&["running"]))
            .arg(q.keys().count(&["queued", a.as_str()]))
            .arg(q.keys().count(&["running", a.as_str()]))
            .query(con)
            .expect("counts")
    };
    let before = counts(&mut con);
    let _: () = redis::cmd("DEL")
        .arg(q.keys().work())
        .query(&mut con)
        .expect("the work stream and its group go");
    assert!(q.dispatch("w1", false).await.expect("dispatch").is_none());
    assert_eq!(counts(&mut con), before);
    assert_eq!(
        q.status(&job, Some(&a))
            .await
            .expect("status")
            .map(|s| (s.state, s.position)),
        Some((JobState::Queued, Some(1)))
    );
    // The group is back: the next look takes the job, and finishing it squares the counts.
    let lease = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("the job");
    assert_eq!(lease.job, job);
    done(&q, "w1", &lease).await;
    let after = counts(&mut con);
    assert_eq!(after[0].unwrap_or(0), 0, "{after:?}");
    assert_eq!(after[1].unwrap_or(0), 0, "{after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn finished_jobs_leave_redis_after_the_retention() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.limits.retention_ms = 2_000;
    let q = queue(config);
    let a = user("a");
    let job = submit_ok(&q, &a, "short-lived").await;
    let lease = q
        .dispatch("w1", false)
        .await
        .expect("dispatch")
        .expect("job");
    done(&q, "w1", &lease).await;
    let cancelled = submit_ok(&q, &a, "cancelled").await;
    q.cancel(&cancelled, &a).await.expect("cancel");
    // Within the retention, both are there.
    assert!(q.job(&job).await.expect("job").is_some());
    assert_eq!(q.housekeep().await.expect("housekeeping").expired, 0);
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert_eq!(q.housekeep().await.expect("housekeeping").expired, 2);
    let keys = q.all_keys().await.expect("keys");
    assert!(!keys.iter().any(|k| k.contains(a.as_str())), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains(job.as_str())), "{keys:?}");
    assert!(q.status(&job, Some(&a)).await.expect("status").is_none());
}
