//! The configuration through the binary: every variable the configuration type reads (the
//! list comes from the type itself) given each kind of malformed value makes every command
//! exit 2 with one sentence naming it; `spinbot config` shows no secret; the README lists
//! every variable.

mod common;

use spinbot_core::Config;

/// `spinbot ARGS` with `name=value` on top of a clean environment.
fn run_with(args: &[&str], name: &str, value: &str) -> std::process::Output {
    common::spinbot()
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("S3_ENDPOINT")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env(name, value)
        .output()
        .expect("spinbot")
}

#[test]
fn every_malformed_variable_exits_2_naming_it() {
    let variables = Config::variables();
    assert!(variables.len() >= 30, "{} variables", variables.len());
    let mut checked = 0;
    for var in &variables {
        let bad = var.rule.malformed();
        assert!(!bad.is_empty(), "{} has no malformed value", var.name);
        for value in bad {
            let out = run_with(&["config"], var.name, &value);
            let stderr = common::stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{}={value:?}: {stderr}",
                var.name
            );
            assert!(
                stderr.starts_with(var.name),
                "{}={value:?}: {stderr}",
                var.name
            );
            assert_eq!(
                stderr.trim_end().lines().count(),
                1,
                "one sentence: {stderr}"
            );
            assert!(stderr.contains("must be"), "{stderr}");
            assert!(out.stdout.is_empty());
            checked += 1;
        }
    }
    assert!(checked > variables.len());
}

#[test]
fn every_command_checks_the_configuration_first() {
    for args in [
        &["voices"][..],
        &["render", "--photo", "x.jpg", "--say", "hi", "-o", "x.mp4"],
        &["worker"],
        &["status", "0", "--user", "cli:a"],
        &["plan", "--user", "cli:a", "hi"],
        &["bot", "telegram"],
        &["up"],
    ] {
        let out = run_with(args, "SPINBOT_RENDERS_PER_HOUR", "abc");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            common::stderr(&out)
        );
        assert!(
            common::stderr(&out).starts_with("SPINBOT_RENDERS_PER_HOUR must be"),
            "{args:?}: {}",
            common::stderr(&out)
        );
        let out = run_with(args, "SPINBOT_LEASE_MS", "5");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            common::stderr(&out)
        );
    }
}

#[test]
fn spinbot_config_shows_every_variable_and_no_secret() {
    let secrets = [
        (
            "TELEGRAM_BOT_TOKEN",
            "123456:SECRET-bot-token",
            "SECRET-bot-token",
        ),
        ("AWS_SECRET_ACCESS_KEY", "s3cr3tS3key", "s3cr3tS3key"),
        (
            "DATABASE_URL",
            "postgres://spinbot:dbpassw0rd@127.0.0.1:5432/spinbot",
            "dbpassw0rd",
        ),
        (
            "REDIS_URL",
            "redis://:redispassw0rd@127.0.0.1:6379/",
            "redispassw0rd",
        ),
    ];
    for json in [false, true] {
        let mut cmd = common::spinbot();
        cmd.arg("config")
            .env("S3_ENDPOINT", "http://127.0.0.1:9000")
            .env("S3_BUCKET", "videos");
        if json {
            cmd.arg("--json");
        }
        for (name, value, _) in secrets {
            cmd.env(name, value);
        }
        let out = cmd.output().expect("spinbot config");
        assert!(out.status.success(), "{}", common::stderr(&out));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            common::stderr(&out)
        );
        for (name, _, secret) in secrets {
            assert!(!all.contains(secret), "{name}'s secret shows:\n{all}");
        }
        for var in Config::variables() {
            assert!(all.contains(var.name), "{} is missing:\n{all}", var.name);
        }
        assert!(
            all.contains("postgres://spinbot:***@127.0.0.1:5432/spinbot"),
            "{all}"
        );
        assert!(all.contains("http://127.0.0.1:9000"), "{all}");
    }
}

#[test]
fn the_readme_lists_every_variable() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for var in Config::variables() {
        assert!(
            readme.contains(&format!("`{}`", var.name)),
            "the README's configuration table lacks {}",
            var.name
        );
    }
}
