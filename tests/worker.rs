//! Worker processes against a real Redis: two share one queue, a worker killed mid-render
//! has its job finished by another without rendering a finished stage again, and a running
//! job is cancelled from the command line.

mod common;

use serde_json::Value;
use spinbot_core::{JobEvent, JobId, JobState};
use spinbot_jobs::{Queue, QueueConfig};
use spinbot_testkit::{PostgresServer, RedisServer, SeaweedServer};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Farm {
    redis: RedisServer,
    postgres: Option<PostgresServer>,
    s3: Option<SeaweedServer>,
    store: tempfile::TempDir,
    workers: Vec<Child>,
}

impl Farm {
    fn new() -> Self {
        Self {
            redis: RedisServer::start(false),
            postgres: None,
            s3: None,
            store: tempfile::tempdir().expect("tempdir"),
            workers: Vec::new(),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = common::spinbot();
        cmd.env("REDIS_URL", self.redis.url())
            .env("SPINBOT_STORE", self.store.path())
            .env("SPINBOT_LEASE_MS", "1500")
            .env("SPINBOT_MAX_RUNNING_PER_USER", "1");
        if let Some(pg) = &self.postgres {
            cmd.env("DATABASE_URL", pg.url());
        }
        if let Some(s3) = &self.s3 {
            cmd.envs(s3.env());
        }
        cmd
    }

    fn start_worker(&mut self, name: &str) -> usize {
        let child = self
            .command()
            .args(["worker", "--device", "cpu", "--name", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker");
        self.workers.push(child);
        self.workers.len() - 1
    }

    fn submit(&self, user: &str, text: &str, size: &str) -> JobId {
        let photo = common::face_photo();
        self.submit_with(&[
            "--user",
            user,
            "--photo",
            photo.to_str().expect("utf-8"),
            "--say",
            text,
            "--crop",
            "face",
            "--size",
            size,
        ])
    }

    /// `spinbot submit ARGS --json`, which must be accepted; the job's id.
    fn submit_with(&self, args: &[&str]) -> JobId {
        let out = self
            .command()
            .arg("submit")
            .args(args)
            .arg("--json")
            .output()
            .expect("submit");
        assert!(out.status.success(), "{}", common::stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        JobId::parse(v["job_id"].as_str().expect("job_id")).expect("id")
    }

    /// One value from the farm's Postgres (`psql -tA`).
    fn psql(&self, sql: &str) -> String {
        let pg = self.postgres.as_ref().expect("a farm with Postgres");
        common::psql(pg.port, sql)
    }

    fn cli(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("spinbot")
    }

    fn queue(&self) -> Queue {
        Queue::new(QueueConfig {
            redis_url: self.redis.url(),
            ..QueueConfig::default()
        })
        .expect("queue")
    }

    async fn events(&self) -> Vec<JobEvent> {
        self.queue()
            .events("0", 100_000)
            .await
            .expect("events")
            .into_iter()
            .map(|(_, e)| e)
            .collect()
    }

    async fn wait_until(&self, what: &str, mut done: impl FnMut(&[JobEvent]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(240);
        while Instant::now() < deadline {
            if done(&self.events().await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}: {:?}", self.events().await);
    }

    async fn state(&self, job: &JobId) -> JobState {
        let record = self.queue().job(job).await.expect("job");
        record.expect("a record").state
    }

    /// Waits until `job` is a tenth into its render stage.
    async fn wait_for_render(&self, job: &JobId) {
        self.wait_until("the render stage", |events| {
            events.iter().any(|e| matches!(e, JobEvent::Progress { job: j, stage, percent, .. } if j == job && stage == "render" && *percent >= 10))
        })
        .await;
    }

    /// Waits until `job` reaches `stage`.
    async fn wait_for_stage(&self, job: &JobId, stage: &str) {
        self.wait_until(stage, |events| {
            events.iter().any(|e| matches!(e, JobEvent::Progress { job: j, stage: s, .. } if j == job && s == stage))
        })
        .await;
    }

    /// `spinbot submit` of a small clip for `user` at one render an hour with a burst of 3,
    /// from a machine whose clock is off by `offset` when given.
    fn hourly_submit(&self, offset: Option<&str>, user: &str, text: &str) -> Command {
        let mut cmd = match offset {
            Some(offset) => {
                let mut cmd = Command::new("faketime");
                cmd.args(["-f", offset, env!("CARGO_BIN_EXE_spinbot")]);
                cmd
            }
            None => common::spinbot(),
        };
        cmd.env("REDIS_URL", self.redis.url())
            .env("SPINBOT_STORE", self.store.path())
            .env("SPINBOT_RENDERS_PER_HOUR", "1")
            .env("SPINBOT_RENDER_BURST", "3")
            .env("SPINBOT_MAX_QUEUED_PER_USER", "100")
            .args(["submit", "--user", user, "--photo"])
            .arg(common::face_photo())
            .args(["--say", text, "--crop", "face", "--size", "64", "--json"]);
        cmd
    }

    /// A worker `rescuer` finishes `job` (as its `attempt`-th attempt), once, resuming after
    /// the stored stages: speech and face ran once, the render twice; its video plays.
    async fn rescue(&mut self, job: &JobId, attempt: u32) {
        self.start_worker("rescuer");
        self.wait_until("the job", |events| finished(events, job))
            .await;
        let events = self.events().await;
        let dones = events
            .iter()
            .filter(|e| e.job() == job && matches!(e, JobEvent::Done { .. }))
            .count();
        assert_eq!(dones, 1, "{events:?}");
        let rescuer_started = events.iter().any(|e| matches!(e, JobEvent::Started { job: j, worker, attempt: a, .. } if j == job && worker.starts_with("rescuer") && *a == attempt));
        assert!(rescuer_started, "{events:?}");
        self.assert_resumed(job).await;
    }

    async fn assert_resumed(&self, job: &JobId) {
        let record = self.queue().job(job).await.expect("job");
        let runs = record.expect("a record").runs;
        assert_eq!(runs.get("speech"), Some(&1), "{runs:?}");
        assert_eq!(runs.get("face"), Some(&1), "{runs:?}");
        assert_eq!(runs.get("render"), Some(&2), "{runs:?}");
        assert!(playable(&self.result(job)));
    }

    fn result(&self, job: &JobId) -> std::path::PathBuf {
        self.store.path().join("results").join(format!("{job}.mp4"))
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn finished(events: &[JobEvent], job: &JobId) -> bool {
    events.iter().any(|e| {
        e.job() == job
            && matches!(
                e,
                JobEvent::Done { .. } | JobEvent::Failed { .. } | JobEvent::Cancelled { .. }
            )
    })
}

fn playable(path: &Path) -> bool {
    path.is_file() && common::duration(path, "v") > 0.5
}

#[tokio::test(flavor = "multi_thread")]
async fn two_worker_processes_share_one_queue() {
    let mut farm = Farm::new();
    farm.start_worker("one");
    farm.start_worker("two");
    let jobs: Vec<JobId> = (0..4)
        .map(|i| {
            farm.submit(
                &format!("cli:user{}", i % 2),
                &format!("Job number {i}."),
                "64",
            )
        })
        .collect();
    farm.wait_until("every job", |events| {
        jobs.iter().all(|j| finished(events, j))
    })
    .await;
    let events = farm.events().await;
    let mut workers = std::collections::HashSet::new();
    for e in &events {
        if let JobEvent::Started { worker, .. } = e {
            workers.insert(worker.clone());
        }
    }
    assert_eq!(workers.len(), 2, "both workers took jobs: {workers:?}");
    for job in &jobs {
        let dones = events
            .iter()
            .filter(|e| e.job() == job && matches!(e, JobEvent::Done { .. }))
            .count();
        assert_eq!(dones, 1, "{job}");
        assert!(playable(&farm.result(job)), "{job}: no playable result");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_workers_job_is_finished_by_another_without_rendering_a_stage_twice() {
    let mut farm = Farm::new();
    let first = farm.start_worker("doomed");
    let text = "This clip takes a little while to render, long enough for its worker to be killed \
        halfway through, and for another worker to pick up where the first one stopped.";
    let job = farm.submit("cli:anna", text, "256");
    farm.wait_for_render(&job).await;
    let doomed = &mut farm.workers[first];
    doomed.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    let _ = doomed.wait();
    // Its second attempt.
    farm.rescue(&job, 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_job_is_cancelled_from_the_command_line() {
    let mut farm = Farm::new();
    farm.start_worker("solo");
    // Long enough (about 40 s of speech) that the render is still going when the two cancel
    // commands (each a process start) reach it on a busy machine.
    let text = "A long message that nobody will hear to the end, because its sender changes their \
        mind and cancels it while it is still being rendered, which is their right. "
        .repeat(4);
    let job = farm.submit("cli:anna", text.trim(), "256");
    farm.wait_until("the render stage", |events| {
        events.iter().any(|e| matches!(e, JobEvent::Progress { job: j, stage, .. } if *j == job && stage == "render"))
    }).await;
    // Someone else cannot cancel it.
    let other = farm.cli(&["cancel", job.as_str(), "--user", "cli:mallory", "--json"]);
    assert_eq!(other.status.code(), Some(3));
    let asked = Instant::now();
    let out = farm.cli(&["cancel", job.as_str(), "--user", "cli:anna", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["state"], "stopping");
    farm.wait_until("the cancel", |events| finished(events, &job))
        .await;
    println!(
        "the render stopped {:.2} s after the cancel",
        asked.elapsed().as_secs_f64()
    );
    assert_eq!(farm.state(&job).await, JobState::Cancelled);
    assert!(!farm.result(&job).exists(), "a cancelled job left a result");
    // The user's slot is free again: a new job runs to the end.
    let next = farm.submit("cli:anna", "After the cancel.", "64");
    farm.wait_until("the next job", |events| finished(events, &next))
        .await;
    assert!(playable(&farm.result(&next)));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_exit_3_with_json() {
    let farm = Farm::new();
    let photo = common::face_photo();
    let submit_as = |farm: &Farm, user: &str| {
        farm.command()
            .env("SPINBOT_RENDERS_PER_HOUR", "60")
            .env("SPINBOT_RENDER_BURST", "2")
            .args([
                "submit",
                "--user",
                user,
                "--photo",
                photo.to_str().expect("utf-8"),
                "--say",
                "hi",
                "--json",
            ])
            .output()
            .expect("submit")
    };
    let submit = |farm: &Farm| submit_as(farm, "cli:quick");
    assert!(submit(&farm).status.success());
    assert!(submit(&farm).status.success());
    let refused = submit(&farm);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        common::stderr(&refused)
    );
    let v: Value = serde_json::from_slice(&refused.stdout).expect("json");
    assert_eq!(v["error"], "rate_limited");
    let wait = v["retry_after_s"].as_f64().expect("retry_after_s");
    assert!(wait > 0.0 && wait <= 60.0, "{wait}");
    assert!(
        common::stderr(&refused).contains("try again in"),
        "{}",
        common::stderr(&refused)
    );
    // Status of someone else's job: not found, exit 3.
    let out = farm.cli(&["status", &"0".repeat(32), "--user", "cli:quick"]);
    assert_eq!(out.status.code(), Some(3));
    // A blocked user is refused whatever their rate; unblocked, they are not.
    let blocked_submit = |farm: &Farm| submit_as(farm, "cli:rude");
    let out = farm.cli(&["admin", "block", "cli:rude", "--reason", "spam"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let listed = farm.cli(&["admin", "blocked", "--json"]);
    let list: Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(
        list,
        serde_json::json!([{"user": "cli:rude", "reason": "spam"}])
    );
    let refused = blocked_submit(&farm);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        common::stderr(&refused)
    );
    let v: Value = serde_json::from_slice(&refused.stdout).expect("json");
    assert_eq!(v["error"], "blocked");
    assert!(farm.cli(&["admin", "unblock", "cli:rude"]).status.success());
    assert!(blocked_submit(&farm).status.success());
    // Unblocking someone who is not blocked says so.
    assert!(!farm.cli(&["admin", "unblock", "cli:rude"]).status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn history_shows_a_users_jobs_with_outcome_and_result() {
    let mut farm = Farm::new();
    farm.postgres = Some(PostgresServer::start());
    farm.s3 = Some(SeaweedServer::start());
    let migrated = farm.cli(&["migrate"]);
    assert!(migrated.status.success(), "{}", common::stderr(&migrated));
    farm.start_worker("recording");
    let anna: Vec<JobId> = (0..2)
        .map(|i| farm.submit("cli:anna", &format!("Anna's clip {i}."), "64"))
        .collect();
    let bob = farm.submit("cli:bob", "Bob's clip.", "64");
    farm.wait_until("the jobs", |events| {
        anna.iter().chain([&bob]).all(|j| finished(events, j))
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let out = farm.cli(&["history", "--user", "cli:anna", "--json"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
        if rows.iter().filter(|r| r["state"] == "done").count() == 2 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row["state"], "done", "{row}");
        let job = row["job_id"].as_str().expect("job_id");
        assert!(
            anna.iter().any(|j| j.as_str() == job),
            "{job} is not Anna's"
        );
        assert_eq!(
            row["result"].as_str(),
            Some(format!("results/{job}.mp4").as_str())
        );
        // The result lives in S3 and its presigned link downloads a playable video.
        let link = row["link"].as_str().expect("a result link");
        let file = farm.store.path().join(format!("{job}.mp4"));
        let status = Command::new("curl")
            .args(["-s", "-f", "-o"])
            .arg(&file)
            .arg(link)
            .status()
            .expect("curl");
        assert!(status.success(), "curl {link}");
        assert!(playable(&file), "{job}");
    }

    // Retention deletes exactly the results, and the record says which.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let out = farm.cli(&[
        "admin",
        "retention",
        "--older-than-s",
        "0",
        "--prefix",
        "results/",
        "--json",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let deleted: Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut deleted: Vec<String> = deleted["deleted"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    deleted.sort();
    let mut expected: Vec<String> = anna
        .iter()
        .chain([&bob])
        .map(|j| format!("results/{j}.mp4"))
        .collect();
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(
        farm.psql("SELECT count(*) FROM artifacts WHERE deleted_at IS NOT NULL"),
        "3"
    );
}

/// The value of one sample line (`name{labels}`) on a metrics page.
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().split(' ').next()?.parse().ok())
        })
        .unwrap_or_else(|| panic!("{series} not on the page:\n{page}"))
}

fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("metrics endpoint");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
        "{response}"
    );
    response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_exactly_what_happened() {
    let mut farm = Farm::new();
    let port = spinbot_testkit::free_port();
    let addr = format!("127.0.0.1:{port}");
    let worker = farm
        .command()
        .env("SPINBOT_METRICS_ADDR", &addr)
        .args(["worker", "--device", "cpu", "--name", "counted"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    farm.workers.push(worker);

    // The script: three good jobs, one photo without a face, one queued job cancelled, one
    // refusal.
    let good: Vec<JobId> = (0..3)
        .map(|i| farm.submit(&format!("cli:good{i}"), &format!("Hello {i}."), "64"))
        .collect();
    let fruits = common::photo("fruits.jpg");
    let noface = farm.submit_with(&[
        "--user",
        "cli:noface",
        "--photo",
        fruits.to_str().expect("utf-8"),
        "--say",
        "Hi.",
        "--crop",
        "face",
        "--size",
        "64",
    ]);
    let photo = common::face_photo();
    let gpu = farm.submit_with(&[
        "--user",
        "cli:gpu",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--say",
        "Hi.",
        "--gpu-only",
    ]);
    assert!(farm
        .cli(&["cancel", gpu.as_str(), "--user", "cli:gpu"])
        .status
        .success());
    let eager = |farm: &Farm| {
        farm.command()
            .env("SPINBOT_RENDER_BURST", "1")
            .args([
                "submit",
                "--user",
                "cli:eager",
                "--photo",
                photo.to_str().expect("utf-8"),
                "--say",
                "Now!",
                "--crop",
                "face",
                "--size",
                "64",
            ])
            .output()
            .expect("submit")
    };
    assert!(eager(&farm).status.success());
    assert_eq!(eager(&farm).status.code(), Some(3));
    let all: Vec<JobId> = good.iter().cloned().chain([noface.clone()]).collect();
    farm.wait_until("the jobs", |events| all.iter().all(|j| finished(events, j)))
        .await;
    // The eager user's accepted job runs too.
    farm.wait_until("the eager job", |events| {
        events
            .iter()
            .filter(|e| matches!(e, JobEvent::Done { .. }))
            .count()
            == 4
    })
    .await;

    let page = scrape(&addr);
    assert_eq!(sample(&page, "spinbot_jobs_total{outcome=\"done\"}"), 4.0);
    assert_eq!(sample(&page, "spinbot_jobs_total{outcome=\"failed\"}"), 1.0);
    assert_eq!(
        sample(&page, "spinbot_jobs_total{outcome=\"cancelled\"}"),
        1.0
    );
    assert_eq!(
        sample(&page, "spinbot_jobs_total{outcome=\"dead_lettered\"}"),
        0.0
    );
    assert_eq!(
        sample(&page, "spinbot_refusals_total{reason=\"rate_limited\"}"),
        1.0
    );
    assert_eq!(sample(&page, "spinbot_queue_jobs{state=\"queued\"}"), 0.0);
    assert_eq!(sample(&page, "spinbot_queue_jobs{state=\"running\"}"), 0.0);
    assert_eq!(sample(&page, "spinbot_workers_live"), 1.0);
    assert_eq!(sample(&page, "spinbot_renders_in_flight"), 0.0);
    // Stages that ran in this worker: speech 5 times, face 5 (one found no face), render 4.
    assert_eq!(
        sample(&page, "spinbot_stage_seconds_count{stage=\"speech\"}"),
        5.0
    );
    assert_eq!(
        sample(&page, "spinbot_stage_seconds_count{stage=\"render\"}"),
        4.0
    );
    assert_eq!(sample(&page, "spinbot_job_wait_seconds_count"), 5.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn renders_go_on_while_postgres_is_down_and_the_record_catches_up_once() {
    let mut farm = Farm::new();
    farm.postgres = Some(PostgresServer::start());
    farm.start_worker("steady");
    let before = farm.submit("cli:anna", "Before the outage.", "64");
    farm.wait_until("the first job", |events| finished(events, &before))
        .await;

    farm.postgres.as_mut().expect("postgres").pause();
    let down = Instant::now();
    let during: Vec<JobId> = (0..2)
        .map(|i| {
            farm.submit(
                &format!("cli:u{i}"),
                &format!("During the outage {i}."),
                "64",
            )
        })
        .collect();
    farm.wait_until("the renders during the outage", |events| {
        during.iter().all(|j| finished(events, j))
    })
    .await;
    for job in &during {
        assert!(
            playable(&farm.result(job)),
            "{job} did not render while Postgres was down"
        );
    }
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(down.elapsed())).await;
    farm.postgres.as_mut().expect("postgres").resume();

    // Every event of the stream arrives, each once.
    let expected = farm.events().await.len().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while farm.psql("SELECT count(*) FROM job_events") != expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(farm.psql("SELECT count(*) FROM job_events"), expected);
    assert_eq!(
        farm.psql("SELECT count(DISTINCT stream_id) FROM job_events"),
        expected
    );
    assert_eq!(
        farm.psql("SELECT count(*) FROM jobs WHERE state = 'done'"),
        "3"
    );
}

/// A process's resident memory: now (`VmRSS`) and its peak (`VmHWM`), in MiB.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .expect("a memory figure")
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_render_slots_share_the_models() {
    let mut peaks = Vec::new();
    for concurrency in [1, 2] {
        let mut farm = Farm::new();
        let worker = farm
            .command()
            .args(["worker", "--device", "cpu", "--name", "slots"])
            .args(["--concurrency", &concurrency.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker");
        let pid = worker.id();
        farm.workers.push(worker);
        // Two users' jobs at once: with two slots, both render together.
        let jobs = [
            farm.submit(
                "cli:one",
                "The first of two clips, rendered at the same time.",
                "256",
            ),
            farm.submit(
                "cli:two",
                "The second of two clips, rendered at the same time.",
                "256",
            ),
        ];
        farm.wait_until("both jobs", |events| {
            jobs.iter().all(|j| finished(events, j))
        })
        .await;
        let events = farm.events().await;
        let slots: std::collections::HashSet<String> = events
            .iter()
            .filter_map(|e| match e {
                JobEvent::Started { worker, .. } => Some(worker.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(slots.len(), concurrency, "{slots:?}");
        for job in &jobs {
            assert!(playable(&farm.result(job)), "{job}");
        }
        let (now, peak) = memory_mb(pid);
        println!("concurrency {concurrency}: {now:.0} MiB now, {peak:.0} MiB at the peak");
        peaks.push(peak);
    }
    let ratio = peaks[1] / peaks[0];
    println!("peak memory, two slots over one: {ratio:.2}");
    assert!(
        ratio <= 1.3,
        "two slots take {ratio:.2}x the memory of one: {peaks:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_worker_hands_its_job_back_at_once() {
    let mut farm = Farm::new();
    // A lease far longer than the test: only a handed-back job moves on.
    let worker = farm
        .command()
        .env("SPINBOT_LEASE_MS", "600000")
        .args(["worker", "--device", "cpu", "--name", "stopping"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    farm.workers.push(worker);
    let text = "This clip takes a while to render, long enough for its worker to be told to \
        stop halfway through, and for another worker to finish it from where it was left.";
    let job = farm.submit("cli:anna", text, "256");
    farm.wait_for_render(&job).await;
    let stopping = &mut farm.workers[0];
    let killed = Command::new("kill")
        .args(["-TERM", &stopping.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exited = stopping.wait().expect("the worker exits");
    assert!(exited.success(), "{exited:?}");
    // Handed back: queued again (untried), not held until the lease runs out.
    assert_eq!(farm.state(&job).await, JobState::Queued);
    // Handed back untried: the rescuer's is still its first attempt.
    farm.rescue(&job, 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_whose_lease_was_taken_writes_no_result() {
    let mut farm = Farm::new();
    // A long lease: the worker's next heartbeat is far away, so only the check before
    // writing the result can notice the lease is gone.
    let worker = farm
        .command()
        .env("SPINBOT_LEASE_MS", "120000")
        .args(["worker", "--device", "cpu", "--name", "robbed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    farm.workers.push(worker);
    let job = farm.submit("cli:anna", "A clip whose lease another worker takes.", "64");
    farm.wait_for_stage(&job, "render").await;
    let lease = farm
        .queue()
        .job(&job)
        .await
        .expect("job")
        .expect("a record")
        .lease
        .expect("a lease");
    // Another worker takes the job over (as after a lease that ran out).
    let mut con = redis::Client::open(farm.redis.url())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let taken: Vec<String> = redis::cmd("XCLAIM")
        .arg(farm.queue().keys().work())
        .arg("workers")
        .arg("thief")
        .arg(0)
        .arg(&lease)
        .arg("JUSTID")
        .query(&mut con)
        .expect("xclaim");
    assert_eq!(taken, [lease]);
    // The worker is done with it once it takes the next job.
    let next = farm.submit("cli:bob", "The next clip.", "64");
    farm.wait_until("the next job", |events| finished(events, &next))
        .await;
    assert!(playable(&farm.result(&next)));
    assert!(
        !farm.result(&job).exists(),
        "a worker that lost its lease wrote the result"
    );
    let events = farm.events().await;
    assert!(
        !events
            .iter()
            .any(|e| e.job() == &job && matches!(e, JobEvent::Done { .. })),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_submitters_at_once_get_exactly_the_burst_whatever_their_clocks() {
    let farm = Farm::new();
    // One machine's clock is ten minutes fast.
    let submitters: Vec<_> = (0..8)
        .map(|i| {
            farm.hourly_submit(
                (i == 0).then_some("+10m"),
                "cli:eager",
                &format!("Clip {i}."),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("submitter")
        })
        .collect();
    let outcomes: Vec<Output> = submitters
        .into_iter()
        .map(|s| s.wait_with_output().expect("a submitter"))
        .collect();
    let accepted = outcomes.iter().filter(|o| o.status.success()).count();
    let refused = outcomes
        .iter()
        .filter(|o| o.status.code() == Some(3))
        .count();
    assert_eq!(
        (accepted, refused),
        (3, 5),
        "{:?}",
        outcomes.iter().map(common::stderr).collect::<Vec<_>>()
    );
    // The fast clock did not buy a fourth render: an hour must pass for that.
    let later = farm
        .hourly_submit(Some("+10m"), "cli:eager", "Once more.")
        .output()
        .expect("submit");
    assert_eq!(later.status.code(), Some(3), "{}", common::stderr(&later));
}
