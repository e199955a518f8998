//! `spinbot bench` prints one JSON object per line with the measured figures.

mod common;

#[test]
fn bench_tts_prints_its_real_time_factor() {
    let out = common::run(&["bench", "tts", "--rounds", "1"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
    assert_eq!(v["bench"], "tts");
    let audio = v["audio_s"].as_f64().expect("audio_s");
    let wall = v["wall_s"].as_f64().expect("wall_s");
    let rtf = v["rtf"].as_f64().expect("rtf");
    assert!(audio > 5.0, "the benchmark text speaks for {audio} s");
    assert!(
        (rtf - wall / audio).abs() < 1e-9,
        "rtf {rtf} is not wall/audio"
    );
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{}", common::stderr(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn assert_stage_line(v: &serde_json::Value, stage: &str) {
    assert_eq!(v["stage"], stage, "{v}");
    assert_eq!(v["device"], "cpu", "{v}");
    let frames = v["frames"].as_f64().expect("frames");
    let seconds = v["seconds"].as_f64().expect("seconds");
    let audio = v["audio_s"].as_f64().expect("audio_s");
    assert!(
        (v["fps"].as_f64().expect("fps") - frames / seconds).abs() < 1e-6 * frames,
        "{v}"
    );
    assert!(
        (v["rtf"].as_f64().expect("rtf") - seconds / audio).abs() < 1e-9,
        "{v}"
    );
    assert!(
        v["peak_rss_mb"].as_f64().expect("peak_rss_mb") > 10.0,
        "{v}"
    );
}

#[test]
fn bench_render_prints_every_stage_and_the_total() {
    let out = common::run(&[
        "bench",
        "render",
        "--seconds",
        "2",
        "--crop",
        "face",
        "--size",
        "128",
        "--device",
        "cpu",
    ]);
    let lines = json_lines(&out);
    let stages: Vec<&str> = lines.iter().filter_map(|v| v["stage"].as_str()).collect();
    assert_eq!(stages, ["tts", "face", "render", "encode", "total"]);
    for v in &lines {
        assert_stage_line(v, v["stage"].as_str().unwrap_or_default());
        assert!(v["frames"].as_u64().expect("frames") >= 40, "{v}");
        // The default voice is named on every line.
        assert_eq!(v["voice"], "en_US-joe-medium", "{v}");
    }
}

#[test]
fn bench_render_times_the_render_stage_from_stored_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("job");
    let photo = common::face_photo();
    let rendered = common::run(&[
        "render",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--say",
        "Stored inputs for the bench.",
        "--crop",
        "face",
        "--size",
        "128",
        "--work-dir",
        work.to_str().expect("utf-8"),
        "-o",
        dir.path().join("out.mp4").to_str().expect("utf-8"),
    ]);
    assert!(rendered.status.success(), "{}", common::stderr(&rendered));
    let out = common::run(&[
        "bench",
        "render",
        "--stage",
        "render",
        "--crop",
        "face",
        "--size",
        "128",
        "--device",
        "cpu",
        "--audio",
        work.join("speech.wav").to_str().expect("utf-8"),
        "--photo",
        photo.to_str().expect("utf-8"),
        "--face",
        work.join("face.json").to_str().expect("utf-8"),
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_stage_line(&lines[0], "render");
}

#[test]
fn bench_queue_measures_one_and_four_workers_and_leaves_no_keys() {
    let redis = spinbot_testkit::RedisServer::start(false);
    let out = common::spinbot()
        .env("REDIS_URL", redis.url())
        .args(["bench", "queue", "--jobs", "200", "--users", "5"])
        .output()
        .expect("bench");
    let lines = json_lines(&out);
    let workers: Vec<u64> = lines.iter().filter_map(|v| v["workers"].as_u64()).collect();
    assert_eq!(workers, [1, 4]);
    for v in &lines {
        assert_eq!(v["bench"], "queue");
        assert!(v["jobs_per_s"].as_f64().expect("jobs_per_s") > 0.0, "{v}");
        let (p50, p99) = (
            v["p50_submit_to_start_ms"].as_f64().expect("p50"),
            v["p99_submit_to_start_ms"].as_f64().expect("p99"),
        );
        assert!(p50 > 0.0 && p50 <= p99, "{v}");
        assert_eq!(v["latency_samples"], 50);
    }
    let mut con = redis::Client::open(redis.url().as_str())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let left: i64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
    assert_eq!(left, 0, "the bench left keys behind");
}

#[test]
fn bench_e2e_times_a_chat_round_trip_with_s3_and_postgres() {
    use spinbot_testkit::seaweed_server::{self, SeaweedServer};
    let redis = spinbot_testkit::RedisServer::start(false);
    let postgres = spinbot_testkit::PostgresServer::start();
    let s3 = SeaweedServer::start();
    let out = common::spinbot()
        .args(["bench", "e2e", "--rounds", "1"])
        .env("REDIS_URL", redis.url())
        .env("DATABASE_URL", postgres.url())
        .envs(s3.env())
        .output()
        .expect("spinbot");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let v = &lines[0];
    assert_eq!(v["bench"], "e2e");
    assert_eq!(v["store"], format!("s3://{}", seaweed_server::BUCKET));
    let clip = v["clip_s"].as_f64().expect("clip_s");
    let first = v["first_reply_s"].as_f64().expect("first_reply_s");
    let video = v["video_s"].as_f64().expect("video_s");
    assert!(clip > 3.0, "{v}");
    assert!(first > 0.0 && first < video, "{v}");
    // Its files stay in the bucket (a warm-up round and a measured one), its jobs in the
    // record; its Redis keys are gone.
    let results = common::s3_list(&s3, "results/");
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(!common::s3_list(&s3, "users/telegram/4242/").is_empty());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while common::psql(
        postgres.port,
        "SELECT count(*) FROM jobs WHERE state = 'done'",
    ) != "2"
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        common::psql(
            postgres.port,
            "SELECT count(*) FROM jobs WHERE state = 'done'"
        ),
        "2"
    );
    let mut con = redis::Client::open(redis.url().as_str())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let left: i64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
    assert_eq!(left, 0, "the bench left keys behind");
}

#[test]
fn bench_e2e_through_discord_prints_the_same_keys() {
    let redis = spinbot_testkit::RedisServer::start(false);
    let store = tempfile::tempdir().expect("tempdir");
    let out = common::spinbot()
        .args(["bench", "e2e", "--platform", "discord", "--rounds", "1"])
        .env("REDIS_URL", redis.url())
        .env("SPINBOT_STORE", store.path())
        .env_remove("DATABASE_URL")
        .env_remove("S3_ENDPOINT")
        .output()
        .expect("spinbot");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}\n{}", common::stderr(&out));
    let v = &lines[0];
    let mut keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "bench",
            "clip_s",
            "first_reply_s",
            "platform",
            "round",
            "store",
            "video_s"
        ]
    );
    assert!(
        v["platform"]
            .as_str()
            .is_some_and(|p| p.contains("discord")),
        "{v}"
    );
    let clip = v["clip_s"].as_f64().expect("clip_s");
    let first = v["first_reply_s"].as_f64().expect("first_reply_s");
    let video = v["video_s"].as_f64().expect("video_s");
    assert!(clip > 3.0, "{v}");
    assert!(first > 0.0 && first < video, "{v}");
    // The selfie and the results stay in the store, under the Discord user.
    assert!(store.path().join("users/discord/4244").is_dir());
}

#[test]
fn bench_load_loses_nothing_keeps_limits_and_fair_share_through_a_kill() {
    use spinbot_testkit::seaweed_server::SeaweedServer;
    let redis = spinbot_testkit::RedisServer::start(false);
    let postgres = spinbot_testkit::PostgresServer::start();
    let s3 = SeaweedServer::start();
    let out = common::spinbot()
        .args([
            "bench",
            "load",
            "--users",
            "100",
            "--seconds",
            "30",
            "--platform",
            "all",
            "--kill",
            "--retention-s",
            "5",
        ])
        .env("REDIS_URL", redis.url())
        .env("DATABASE_URL", postgres.url())
        .envs(s3.env())
        // A short rate window, so that the per-user rate state is gone within the test.
        .env("SPINBOT_RENDERS_PER_HOUR", "1200")
        .output()
        .expect("spinbot");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}\n{}", common::stderr(&out));
    let v = &lines[0];
    let jobs = &v["jobs"];
    let count = |j: &serde_json::Value| j.as_u64().unwrap_or(u64::MAX);
    // Nothing accepted is lost or posted twice, through a SIGKILLed bot and worker.
    assert_eq!(
        v["killed"],
        serde_json::json!(["worker-1", "bot-telegram"]),
        "{v}"
    );
    assert!(count(&jobs["accepted"]) >= 100, "{v}");
    assert_eq!(count(&jobs["lost"]), 0, "{v}");
    assert_eq!(count(&jobs["failed"]), 0, "{v}");
    assert_eq!(count(&jobs["posted_twice"]), 0, "{v}");
    assert_eq!(count(&jobs["never_posted"]), 0, "{v}");
    // Every person got every video (the warm-up person's is not among them).
    assert_eq!(
        count(&jobs["videos_received"]) + 1,
        count(&jobs["done"]),
        "{v}"
    );
    assert_eq!(count(&v["unanswered"]), 0, "{v}");
    // The limits hold: everyone who asked for too much was refused with the sentence.
    assert!(count(&v["over_limit_users"]) >= 10, "{v}");
    assert_eq!(v["over_limit_users_refused"], v["over_limit_users"], "{v}");
    assert!(count(&v["refusals"]["rate_limited"]) >= 10, "{v}");
    // Fair share: no second job started while someone's earlier first one waited.
    assert!(count(&v["fair_share"]["first_starts"]) >= 100, "{v}");
    assert_eq!(
        count(&v["fair_share"]["later_job_before_someones_first"]),
        0,
        "{v}"
    );
    // What the bots keep per person and chat is pruned once people are quiet.
    let kept = v["kept_entries_at_end"].as_object().expect("kept entries");
    assert_eq!(kept.len(), 3, "{v}");
    for (bot, maps) in kept {
        let maps = maps.as_object().expect("maps");
        assert!(maps.len() >= 4, "{bot}: {maps:?}");
        assert!(
            maps.values().all(|n| n.as_f64() == Some(0.0)),
            "{bot}: {maps:?}"
        );
    }
    // Redis is back to its idle size once the retention passed; the record has one row a job.
    assert_eq!(v["redis"]["after_retention"]["back_to_idle"], true, "{v}");
    assert_eq!(
        v["postgres_rows_per_job"]["jobs"].as_f64(),
        Some(1.0),
        "{v}"
    );
    for (name, lives) in v["processes"].as_object().expect("processes") {
        let lives = lives.as_array().expect("lives");
        let expected = if name == "worker-1" || name == "bot-telegram" {
            2
        } else {
            1
        };
        assert_eq!(lives.len(), expected, "{name}: {lives:?}");
    }
}
