//! Scenario tests of the job plane against a real Redis: fair share, admission limits,
//! cancel, leases taken over, retries and dead letters, durability across a restart. The
//! test plays the worker through the same calls a worker makes.

mod common;

use common::{config, plan, submit_ok, user, RedisServer};
use spinbot_core::{JobEvent, JobState};
use spinbot_jobs::queue::{Cancel, Heartbeat};
use spinbot_jobs::{Admission, Outcome, Queue};
use std::time::Duration;

fn done(queue: &mut Queue, worker: &str, lease: &spinbot_jobs::Lease) {
    assert_eq!(
        queue
            .finish(
                worker,
                lease,
                &Outcome::Done {
                    result: format!("results/{}.mp4", lease.job)
                }
            )
            .expect("finish"),
        "done"
    );
}

#[test]
fn one_users_many_jobs_delay_anothers_by_at_most_one_render() {
    let redis = RedisServer::start(false);
    let mut q = Queue::connect(config(&redis)).expect("connect");
    let (a, b) = (user("a"), user("b"));
    let a_jobs: Vec<_> = (0..20)
        .map(|i| submit_ok(&mut q, &a, &format!("a job {i}")))
        .collect();
    let b_job = submit_ok(&mut q, &b, "b's only job");
    // B is told it is second in line: after A's first.
    assert_eq!(
        q.status(&b_job, Some(&b))
            .expect("status")
            .and_then(|s| s.position),
        Some(2)
    );
    // A worker takes jobs one after another (each user may run one at a time).
    let mut started = Vec::new();
    for _ in 0..4 {
        let lease = q.dispatch("w1", false).expect("dispatch").expect("a job");
        started.push(lease.job.clone());
        done(&mut q, "w1", &lease);
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

#[test]
fn burst_then_rate_limit_with_the_time_to_wait() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.renders_per_hour = 60; // one a minute
    config.render_burst = 3;
    let mut q = Queue::connect(config).expect("connect");
    let a = user("a");
    for i in 0..3 {
        submit_ok(&mut q, &a, &format!("burst {i}"));
    }
    match q.submit(&a, &plan("one too many"), false).expect("submit") {
        Admission::Refused {
            reason,
            retry_after_s,
        } => {
            assert_eq!(reason, "rate_limited");
            // The next slot opens one interval (60 s) after the burst began.
            assert!(
                retry_after_s > 55.0 && retry_after_s <= 60.0,
                "{retry_after_s}"
            );
        }
        accepted => panic!("accepted: {accepted:?}"),
    }
    // Another user is not affected.
    submit_ok(&mut q, &user("b"), "someone else");
}

#[test]
fn per_user_queue_cap_and_global_busy() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.max_queued_per_user = 2;
    config.max_queue = 3;
    let mut q = Queue::connect(config).expect("connect");
    submit_ok(&mut q, &user("a"), "1");
    submit_ok(&mut q, &user("a"), "2");
    let refused = q.submit(&user("a"), &plan("3"), false).expect("submit");
    assert!(
        matches!(refused, Admission::Refused { ref reason, .. } if reason == "too_many_queued"),
        "{refused:?}"
    );
    submit_ok(&mut q, &user("b"), "3");
    let busy = q.submit(&user("c"), &plan("4"), false).expect("submit");
    assert!(
        matches!(busy, Admission::Refused { ref reason, .. } if reason == "busy"),
        "{busy:?}"
    );
}

#[test]
fn cancel_queued_and_running_jobs_and_the_slot_is_freed() {
    let redis = RedisServer::start(false);
    let mut q = Queue::connect(config(&redis)).expect("connect");
    let a = user("a");
    let first = submit_ok(&mut q, &a, "first");
    let second = submit_ok(&mut q, &a, "second");
    let third = submit_ok(&mut q, &a, "third");
    // Not yours: answered as not found, and nothing changes.
    assert_eq!(
        q.cancel(&third, &user("mallory")).expect("cancel"),
        Cancel::NotFound
    );
    assert!(q
        .status(&third, Some(&user("mallory")))
        .expect("status")
        .is_none());
    // Queued: cancelled at once, never dispatched.
    assert_eq!(q.cancel(&third, &a).expect("cancel"), Cancel::Cancelled);
    let lease = q.dispatch("w1", false).expect("dispatch").expect("first");
    assert_eq!(lease.job, first);
    // A's running limit is one: nothing else for A until the first stops.
    assert!(q.dispatch("w2", false).expect("dispatch").is_none());
    // Running: the worker learns it at its next heartbeat and stops.
    assert_eq!(q.cancel(&first, &a).expect("cancel"), Cancel::Stopping);
    assert_eq!(
        q.heartbeat("w1", &lease).expect("heartbeat"),
        Heartbeat::Cancel
    );
    assert_eq!(
        q.finish("w1", &lease, &Outcome::Cancelled).expect("finish"),
        "cancelled"
    );
    assert_eq!(
        q.status(&first, Some(&a)).expect("status").map(|s| s.state),
        Some(JobState::Cancelled)
    );
    // The slot is free: the second job starts.
    let next = q.dispatch("w2", false).expect("dispatch").expect("second");
    assert_eq!(next.job, second);
    assert!(
        q.dispatch("w2", false).expect("dispatch").is_none(),
        "the cancelled third job must not run"
    );
}

#[test]
fn a_silent_workers_job_is_taken_over_and_finishes_once() {
    let redis = RedisServer::start(false);
    let mut q = Queue::connect(config(&redis)).expect("connect");
    let a = user("a");
    let job = submit_ok(&mut q, &a, "survive a crash");
    let lost = q.dispatch("w1", false).expect("dispatch").expect("job");
    // w1 goes silent. Before the lease runs out nobody can take the job.
    assert!(q.reclaim("w2").expect("reclaim").is_none());
    std::thread::sleep(Duration::from_millis(500));
    let taken = q.reclaim("w2").expect("reclaim").expect("taken over");
    assert_eq!(taken.job, job);
    assert_eq!(taken.attempt, 2);
    // w1 wakes up: its lease is gone and it cannot finish the job.
    assert_eq!(
        q.heartbeat("w1", &lost).expect("heartbeat"),
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
        .expect("finish"),
        "lost"
    );
    done(&mut q, "w2", &taken);
    let events = q.events("0", None, 1000).expect("events");
    let dones: Vec<_> = events
        .iter()
        .filter(|(_, e)| matches!(e, JobEvent::Done { .. }))
        .collect();
    assert_eq!(dones.len(), 1, "{events:?}");
    assert!(matches!(&dones[0].1, JobEvent::Done { result, .. } if result.ends_with(".mp4")));
}

#[test]
fn a_poison_job_is_dead_lettered_while_others_flow_and_can_be_requeued() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.max_attempts = 3;
    config.max_running_per_user = 5;
    let mut q = Queue::connect(config).expect("connect");
    let poison = submit_ok(&mut q, &user("p"), "poison");
    let good: Vec<_> = (0..4)
        .map(|i| submit_ok(&mut q, &user("g"), &format!("good {i}")))
        .collect();
    let mut finished = Vec::new();
    let mut attempts = 0;
    for _ in 0..40 {
        match q.dispatch("w", false).expect("dispatch") {
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
                    .expect("finish");
                assert_eq!(answer, if attempts < 3 { "retrying" } else { "dead" });
            }
            Some(lease) => {
                finished.push(lease.job.clone());
                done(&mut q, "w", &lease);
            }
            None => std::thread::sleep(Duration::from_millis(30)),
        }
        if attempts == 3 && finished.len() == good.len() {
            break;
        }
    }
    assert_eq!(attempts, 3);
    assert_eq!(finished, good, "the good jobs flowed past the poison one");
    let dead = q.dead_letters().expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].job, poison.as_str());
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(
        q.status(&poison, None).expect("status").map(|s| s.state),
        Some(JobState::Failed)
    );
    // An admin requeues it and it runs again.
    assert_eq!(
        q.requeue(&dead[0].entry).expect("requeue"),
        Some(poison.clone())
    );
    assert!(q.dead_letters().expect("dead letters").is_empty());
    let lease = q
        .dispatch("w", false)
        .expect("dispatch")
        .expect("requeued job");
    assert_eq!(lease.job, poison);
    done(&mut q, "w", &lease);
}

#[test]
fn gpu_only_work_never_goes_to_a_cpu_worker() {
    let redis = RedisServer::start(false);
    let mut q = Queue::connect(config(&redis)).expect("connect");
    let gpu_job = match q
        .submit(&user("a"), &plan("on a gpu"), true)
        .expect("submit")
    {
        Admission::Accepted { job, .. } => job,
        other => panic!("{other:?}"),
    };
    let any_job = submit_ok(&mut q, &user("b"), "anywhere");
    let cpu = q
        .dispatch("cpu-worker", false)
        .expect("dispatch")
        .expect("a job");
    assert_eq!(cpu.job, any_job);
    assert!(q.dispatch("cpu-worker", false).expect("dispatch").is_none());
    let gpu = q
        .dispatch("gpu-worker", true)
        .expect("dispatch")
        .expect("the gpu job");
    assert_eq!(gpu.job, gpu_job);
}

#[test]
fn accepted_jobs_survive_a_redis_restart_under_load() {
    let mut redis = RedisServer::start(true);
    let config = config(&redis);
    let mut q = Queue::connect(config.clone()).expect("connect");
    for i in 0..20 {
        submit_ok(
            &mut q,
            &user(&format!("u{}", i % 7)),
            &format!("before {i}"),
        );
    }
    let running = q.dispatch("w1", false).expect("dispatch").expect("a job");
    // A client keeps submitting while Redis shuts down and comes back; every submission
    // that was acknowledged must still be there afterwards.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let submitter = {
        let (config, stop) = (config.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut accepted = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let Ok(mut q) = Queue::connect(config.clone()) else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                while let Ok(Admission::Accepted { job, .. }) = q.submit(
                    &user(&format!("u{}", i % 7)),
                    &plan(&format!("during {i}")),
                    false,
                ) {
                    accepted.push(job);
                    i += 1;
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                }
            }
            accepted
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    redis.restart();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = submitter.join().expect("submitter");
    assert!(
        during.len() > 20,
        "only {} submissions went through",
        during.len()
    );
    let mut q = Queue::connect(config).expect("reconnect");
    let mut all: Vec<_> = q
        .events("0", None, 1_000_000)
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
            .expect("status")
            .map(|s| s.state),
        Some(JobState::Running)
    );
    // The queue still works: every job is dispatched exactly once, the running one after
    // its lease runs out.
    std::thread::sleep(Duration::from_millis(500));
    let mut seen = std::collections::HashSet::new();
    loop {
        let lease = match q.reclaim("w2").expect("reclaim") {
            Some(l) => l,
            None => match q.dispatch("w2", false).expect("dispatch") {
                Some(l) => l,
                None => break,
            },
        };
        assert!(seen.insert(lease.job.clone()), "{} twice", lease.job);
        done(&mut q, "w2", &lease);
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

#[test]
fn a_flood_from_one_user_is_stopped_in_process_before_redis() {
    let redis = RedisServer::start(false);
    let mut config = config(&redis);
    config.flood_per_second = 5;
    let mut q = Queue::connect(config).expect("connect");
    let a = user("flooder");
    let answers: Vec<Admission> = (0..20)
        .map(|i| {
            q.submit(&a, &plan(&format!("spam {i}")), false)
                .expect("submit")
        })
        .collect();
    let accepted = answers
        .iter()
        .filter(|a| matches!(a, Admission::Accepted { .. }))
        .count();
    assert!((5..=6).contains(&accepted), "{accepted} of 20 went through");
    assert!(answers.iter().any(|a| matches!(a, Admission::Refused { reason, retry_after_s } if reason == "rate_limited" && *retry_after_s > 0.0 && *retry_after_s <= 1.0)));
    // Redis saw only the accepted ones; another user is not held back.
    let queued = q.events("0", None, 1000).expect("events").len();
    assert_eq!(queued, accepted);
    submit_ok(&mut q, &user("calm"), "hello");
}

#[test]
fn events_are_read_under_a_prefix_with_dashes() {
    let redis = RedisServer::start(false);
    let config = spinbot_jobs::QueueConfig {
        prefix: "spinbot-bench-1".into(),
        ..config(&redis)
    };
    let mut q = Queue::connect(config).expect("connect");
    let job = submit_ok(&mut q, &user("a"), "hello");
    let read = q.events("0", None, 10).expect("events");
    assert!(read.iter().any(|(_, e)| e.job() == &job), "{read:?}");
    q.ensure_group("events", "g").expect("group");
    let grouped = q
        .read_group("events", "g", "c", ">", 10, Duration::from_millis(10))
        .expect("read_group");
    assert!(grouped.iter().any(|(_, e)| e.job() == &job), "{grouped:?}");
}
