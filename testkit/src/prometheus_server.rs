//! A Prometheus server of the test's own (Debian's `prometheus`, which `make setup`
//! installs) scraping the given targets every second, with the given rule files; queried
//! through its HTTP API; stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct PrometheusServer {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// A scrape job: its name and its `host:port` targets.
pub struct ScrapeJob<'a> {
    pub name: &'a str,
    pub targets: Vec<String>,
}

impl PrometheusServer {
    pub fn start(jobs: &[ScrapeJob<'_>], rule_files: &[&Path]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = serde_json::json!({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rule_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "scrape_configs": jobs.iter().map(|job| serde_json::json!({
                "job_name": job.name,
                "static_configs": [{"targets": job.targets}],
            })).collect::<Vec<_>>(),
        });
        // JSON is YAML.
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config.to_string()).expect("prometheus.yml");
        let port = crate::free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus is missing: run `make setup`");
        let server = Self { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if server.get("/-/ready", &[]).status.success() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Prometheus did not start:\n{}", server.log());
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Output {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-f", "--get"]);
        for (name, value) in query {
            curl.arg("--data-urlencode").arg(format!("{name}={value}"));
        }
        curl.arg(format!("http://127.0.0.1:{}{path}", self.port))
            .output()
            .expect("curl")
    }

    /// The result of an instant query (`data.result`); panics when Prometheus refuses it.
    pub fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let out = self.get("/api/v1/query", &[("query", expr)]);
        let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(
            body["status"],
            "success",
            "query {expr}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The single value of an instant query, when it has exactly one series.
    pub fn value(&self, expr: &str) -> Option<f64> {
        match self.query(expr).as_slice() {
            [one] => one["value"][1].as_str().and_then(|v| v.parse().ok()),
            _ => None,
        }
    }

    /// The scrape targets' health (`up`) by job and instance.
    pub fn targets(&self) -> serde_json::Value {
        let out = self.get("/api/v1/targets", &[]);
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }

    /// The alerting rules Prometheus loaded (`/api/v1/rules?type=alert`).
    pub fn alert_rules(&self) -> Vec<String> {
        let out = self.get("/api/v1/rules", &[("type", "alert")]);
        let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        body["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["name"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
