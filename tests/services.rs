//! `make services` (scripts/services.sh) keeps Redis durable: an append-only file synced
//! every second, its pid in `.dev/redis/redis.pid`, and a Redis that was killed is started
//! again, from its file, by running it again.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a copy of the script in `root` (so its `.dev` folder is the test's).
fn services(root: &Path, port: u16, args: &[&str]) {
    let out = Command::new("bash")
        .arg(root.join("scripts/services.sh"))
        .args(args)
        .env("SPINBOT_SERVICES", "redis")
        .env("SPINBOT_REDIS_PORT", port.to_string())
        .output()
        .expect("services.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pid(root: &Path) -> String {
    std::fs::read_to_string(root.join(".dev/redis/redis.pid"))
        .expect("redis.pid")
        .trim()
        .to_owned()
}

#[test]
fn make_services_keeps_redis_durable_and_starts_it_again_after_a_kill() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("scripts")).expect("mkdir");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/services.sh"),
        root.path().join("scripts/services.sh"),
    )
    .expect("copy");
    let port = spinbot_testkit::free_port();
    services(root.path(), port, &[]);
    let url = format!("redis://127.0.0.1:{port}/");
    let connect = || {
        redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .expect("redis")
    };
    let mut con = connect();
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("append*")
        .query(&mut con)
        .expect("config");
    let setting = |name: &str| {
        config
            .chunks(2)
            .find(|kv| kv[0] == name)
            .map(|kv| kv[1].clone())
    };
    assert_eq!(setting("appendonly").as_deref(), Some("yes"));
    assert_eq!(setting("appendfsync").as_deref(), Some("everysec"));
    let _: () = redis::cmd("SET")
        .arg("spinbot:kept")
        .arg("yes")
        .query(&mut con)
        .expect("set");
    // Synced within the second.
    std::thread::sleep(Duration::from_millis(1_500));
    let first = pid(root.path());
    let killed = Command::new("kill")
        .args(["-9", &first])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    services(root.path(), port, &[]);
    let second = pid(root.path());
    assert_ne!(first, second, "a new Redis");
    let kept: Option<String> = redis::cmd("GET")
        .arg("spinbot:kept")
        .query(&mut connect())
        .expect("get");
    assert_eq!(kept.as_deref(), Some("yes"));
    services(root.path(), port, &["stop"]);
}
