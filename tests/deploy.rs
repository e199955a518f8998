//! The deployment files, checked by the tools their ecosystems ship (no container engine runs
//! here): Prometheus's configuration, alert rules and their unit tests with `promtool`; the
//! Grafana dashboard with PyPI's `grafana-foundation-sdk`; `docker-compose.yml` with Debian
//! 12's `docker-compose` 1.29.2; and every compose service's image, volumes, variables and
//! health check against the README and the configuration the binary reads.

mod common;

use serde_yaml_ng::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program` in `dir` and insists it worked; its standard output.
fn ok(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = output(dir, program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn output(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is missing ({e}): run `make setup`"))
}

#[test]
fn promtool_accepts_the_configuration_the_rules_and_their_tests() {
    let deploy = repo().join("deploy");
    let config = ok(&deploy, "promtool", &["check", "config", "prometheus.yml"]);
    assert!(config.contains("1 rule files found"), "{config}");
    let rules = ok(
        &deploy,
        "promtool",
        &["check", "rules", "prometheus/alerts.yml"],
    );
    assert!(rules.contains("SUCCESS: 6 rules found"), "{rules}");
    ok(
        &deploy.join("prometheus"),
        "promtool",
        &["test", "rules", "alerts_test.yml"],
    );
    // Every alert has a unit test.
    let alerts = std::fs::read_to_string(deploy.join("prometheus/alerts.yml")).expect("alerts");
    let tests = std::fs::read_to_string(deploy.join("prometheus/alerts_test.yml")).expect("tests");
    let names: Vec<&str> = alerts
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(str::trim)
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    for name in names {
        assert!(
            tests.contains(&format!("alertname: {name}")),
            "{name} has no test"
        );
    }
}

#[test]
fn the_dashboard_survives_the_grafana_sdk_round_trip() {
    let python = common::assets_root().join("venv-grafana/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run `make setup`",
        python.display()
    );
    let said = ok(
        &repo(),
        &python.display().to_string(),
        &[
            "scripts/check-dashboard.py",
            "deploy/grafana/dashboards/spinbot.json",
        ],
    );
    assert!(said.starts_with("ok: "), "{said}");
    // And a key Grafana does not know is caught.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(repo().join("deploy/grafana/dashboards/spinbot.json"))
        .expect("dashboard");
    let broken = text.replacen("\"title\"", "\"titel\": \"x\", \"title\"", 1);
    let path = dir.path().join("broken.json");
    std::fs::write(&path, broken).expect("write");
    let out = output(
        &repo(),
        &python.display().to_string(),
        &["scripts/check-dashboard.py", &path.display().to_string()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("titel"));
}

#[test]
fn docker_compose_accepts_the_file_with_the_example_settings_only() {
    let env_file = repo().join(".env.example");
    let args = |env: &Path| -> Vec<String> {
        vec![
            "--project-directory".into(),
            repo().display().to_string(),
            "-f".into(),
            repo().join("docker-compose.yml").display().to_string(),
            "--env-file".into(),
            env.display().to_string(),
            "config".into(),
            "-q".into(),
        ]
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |env: &Path| {
        let args = args(env);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        output(dir.path(), "docker-compose", &args)
    };
    let accepted = run(&env_file);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    // Without the secrets it refuses, naming one.
    let empty = dir.path().join("empty.env");
    std::fs::write(&empty, "").expect("write");
    let refused = run(&empty);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("PASSWORD"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The compose file as docker-compose resolves it with the example settings.
fn compose() -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = ok(
        dir.path(),
        "docker-compose",
        &[
            "--project-directory",
            &repo().display().to_string(),
            "-f",
            &repo().join("docker-compose.yml").display().to_string(),
            "--env-file",
            &repo().join(".env.example").display().to_string(),
            "--profile",
            "cpu",
            "--profile",
            "discord",
            "config",
        ],
    );
    serde_yaml_ng::from_str(&text).expect("compose YAML")
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The names of a service's environment (a map, or `NAME=value` entries).
fn variables(service: &Value) -> Vec<String> {
    match &service["environment"] {
        Value::Mapping(m) => m
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        Value::Sequence(s) => s
            .iter()
            .filter_map(|v| v.as_str())
            .map(|v| v.split('=').next().unwrap_or(v).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Every variable the binary reads (`spinbot config --json`).
fn known_variables() -> BTreeSet<String> {
    let out = common::spinbot()
        .args(["config", "--json"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("spinbot config");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    rows.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn every_compose_service_matches_the_readme_and_the_configuration() {
    let compose = compose();
    let services = compose["services"].as_mapping().expect("services");
    let declared: BTreeSet<String> = compose["volumes"]
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let known = known_variables();
    assert!(known.contains("REDIS_URL") && known.len() > 20, "{known:?}");
    let stateful = ["redis", "postgres", "s3", "ollama", "prometheus", "grafana"];
    let mut checked = Vec::new();
    for (name, service) in services {
        let name = name.as_str().expect("a service name");
        let image = service["image"].as_str().unwrap_or_default();
        // A pinned image: an exact tag, never latest (ours is built from the Dockerfile).
        let (_, tag) = image.rsplit_once(':').unwrap_or((image, ""));
        assert!(
            !tag.is_empty() && tag != "latest",
            "{name}: image {image:?}"
        );
        if image == "spinbot:local" {
            assert!(
                !service["build"].is_null(),
                "{name} is built from the Dockerfile"
            );
            for variable in variables(service) {
                assert!(
                    known.contains(&variable),
                    "{name}: spinbot does not read {variable}"
                );
            }
        }
        // The README's table row names the service, its image and its volume.
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("the README's table has no row for {name}"));
        assert!(row.contains(&format!("`{image}`")), "{row}");
        let volumes: Vec<String> = service["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.split(':').next().unwrap_or(s).to_owned()),
                m => m["source"].as_str().map(str::to_owned),
            })
            .filter(|source| !source.starts_with('/') && !source.starts_with('.'))
            .collect();
        for volume in &volumes {
            assert!(
                declared.contains(volume),
                "{name}: volume {volume} not declared"
            );
            assert!(row.contains(&format!("`{volume}`")), "{row}");
        }
        if stateful.contains(&name) {
            assert_eq!(volumes.len(), 1, "{name} keeps its data in a named volume");
        }
        // Long-running services have a health check; one-shots say they are.
        let one_shot = service["restart"].as_str() == Some("no");
        let health = strings(&service["healthcheck"]["test"]);
        if one_shot {
            assert!(row.ends_with("| none |"), "{row}");
        } else {
            assert!(!health.is_empty(), "{name} has no health check");
            assert!(!row.ends_with("| none |"), "{row}");
        }
        // Nothing published beyond localhost.
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let local = match port {
                Value::String(s) => s.starts_with("127.0.0.1:"),
                m => m["host_ip"].as_str() == Some("127.0.0.1"),
            };
            assert!(local, "{name}: {port:?}");
        }
        checked.push(name.to_owned());
    }
    for must in [
        "redis",
        "postgres",
        "s3",
        "ollama",
        "ollama-pull",
        "bots",
        "worker",
        "worker-cpu",
        "prometheus",
        "grafana",
    ] {
        assert!(
            checked.iter().any(|c| c == must),
            "no {must} service: {checked:?}"
        );
    }
    // The GPU worker reserves NVIDIA GPUs and has a replica count.
    let worker = &services[&Value::from("worker")];
    let device = &worker["deploy"]["resources"]["reservations"]["devices"][0];
    assert_eq!(device["driver"].as_str(), Some("nvidia"));
    assert!(strings(&device["capabilities"]).contains(&"gpu".to_owned()));
    assert!(worker["deploy"]["replicas"].as_u64().is_some());

    // Every setting compose substitutes is in .env.example, with a comment above it.
    let example = std::fs::read_to_string(repo().join(".env.example")).expect(".env.example");
    let file = std::fs::read_to_string(repo().join("docker-compose.yml")).expect("compose");
    let lines: Vec<&str> = example.lines().collect();
    let mut defined = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some((name, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "{name} has no comment"
            );
            defined.insert(name.to_owned());
        }
    }
    let substituted: BTreeSet<String> = file
        .split("${")
        .skip(1)
        .filter_map(|s| {
            let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            Some(s[..end].to_owned())
        })
        .collect();
    assert!(!substituted.is_empty());
    assert_eq!(defined, substituted);
}
