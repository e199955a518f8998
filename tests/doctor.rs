//! `spinbot doctor` against real services: all up, every line `ok`; each service stopped in
//! turn, a `FAIL` line and exit 1 naming it; no secret printed.

mod common;

use spinbot_testkit::{PostgresServer, RedisServer, SeaweedServer};
use std::process::Output;

fn doctor(redis: &RedisServer, postgres: &PostgresServer, s3: Option<&SeaweedServer>) -> Output {
    let mut cmd = common::spinbot();
    cmd.arg("doctor")
        .env("REDIS_URL", redis.url())
        .env("DATABASE_URL", postgres.url())
        .env_remove("S3_ENDPOINT");
    if let Some(s3) = s3 {
        cmd.envs(s3.env());
    }
    cmd.output().expect("spinbot doctor")
}

fn failed(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn doctor_names_each_stopped_service() {
    let mut redis = RedisServer::start(false);
    let mut postgres = PostgresServer::start();
    let s3 = SeaweedServer::start();
    let migrated = common::spinbot()
        .arg("migrate")
        .env("DATABASE_URL", postgres.url())
        .output()
        .expect("migrate");
    assert!(migrated.status.success(), "{}", common::stderr(&migrated));

    let out = doctor(&redis, &postgres, Some(&s3));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", common::stderr(&out));
    for name in ["redis", "postgres", "s3", "onnxruntime", "voices", "ffmpeg"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("ok") && l.contains(name)),
            "{name}: {text}"
        );
    }
    let secret = s3
        .env()
        .iter()
        .find(|(k, _)| *k == "AWS_SECRET_ACCESS_KEY")
        .map(|(_, v)| v.clone())
        .expect("a secret");
    assert!(!text.contains(&secret), "{text}");

    redis.kill();
    let out = doctor(&redis, &postgres, Some(&s3));
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert_eq!(failed(&out), ["redis"]);
    assert!(common::stderr(&out).contains("redis"));
    redis.start_again();

    postgres.pause();
    let out = doctor(&redis, &postgres, Some(&s3));
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert_eq!(failed(&out), ["postgres"]);
    postgres.resume();

    // The S3 server stopped, its address still configured.
    let s3_env = s3.env();
    drop(s3);
    let out = common::spinbot()
        .arg("doctor")
        .env("REDIS_URL", redis.url())
        .env("DATABASE_URL", postgres.url())
        .envs(s3_env)
        .output()
        .expect("spinbot doctor");
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert_eq!(failed(&out), ["s3"]);
}
