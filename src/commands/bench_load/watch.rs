//! What `spinbot bench load` watches while people chat: the processes it started (their
//! resident memory, a SIGKILL and a restart), Redis's memory, and the job plane's events (what
//! was accepted, started, finished and posted, and whether starts were fair).

use spinbot_core::JobEvent;
use spinbot_jobs::Queue;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A process of this binary the benchmark runs: its name, arguments and environment (so it
/// can be started again after a kill), and its memory over time.
pub struct Process {
    pub name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    logs: bool,
    child: Option<Child>,
    pid: u32,
    /// Resident memory samples (seconds since the run began, MiB), per life of the process.
    pub lives: Vec<Vec<(f64, f64)>>,
}

impl Process {
    pub fn start(
        name: &str,
        args: &[&str],
        env: Vec<(String, String)>,
        logs: bool,
    ) -> anyhow::Result<Self> {
        let mut process = Self {
            name: name.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env,
            logs,
            child: None,
            pid: 0,
            lives: Vec::new(),
        };
        process.spawn()?;
        Ok(process)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .args(&self.args)
            // The built-in understanding answers (no model), and no process serves metrics
            // on a port another would want (a bot gets one of its own).
            .env_remove("OLLAMA_API_BASE_URL")
            .env_remove("OLLAMA_MODEL")
            .env_remove("SPINBOT_METRICS_ADDR")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(if self.logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()?;
        self.pid = child.id().unwrap_or(0);
        self.child = Some(child);
        self.lives.push(Vec::new());
        Ok(())
    }

    /// SIGKILL, then the same process again.
    pub async fn kill_and_restart(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        self.spawn()
    }

    /// Notes the resident memory now.
    pub fn sample(&mut self, t: f64) {
        if let (Some(mb), Some(life)) = (rss_mb(self.pid), self.lives.last_mut()) {
            life.push((t, mb));
        }
    }

    /// Still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM (it finishes what it started), then SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = libc::pid_t::try_from(self.pid) {
            // SAFETY: a plain signal to our own child, whose pid we hold (not yet reaped).
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// A process's resident memory now, in MiB (Linux).
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/status"))).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// What a bot keeps in memory per person or chat, by map, from its metrics at `addr`.
pub async fn kept_entries(addr: &str) -> anyhow::Result<serde_json::Value> {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await?
        .text()
        .await?;
    let kept: serde_json::Map<String, serde_json::Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("spinbot_kept_entries{map=\""))
        .filter_map(|l| {
            let (map, rest) = l.split_once('"')?;
            let value: f64 = rest.rsplit(' ').next()?.parse().ok()?;
            Some((map.to_owned(), serde_json::json!(value)))
        })
        .collect();
    Ok(serde_json::Value::Object(kept))
}

/// Bytes of the run's Redis keys (`MEMORY USAGE`), by family: `people` for what is kept per
/// person by design for weeks (what the agent remembers of them, web transcripts, a
/// network's count of new web visitors for the hour), else the key's first part.
pub async fn key_bytes(queue: &Queue) -> anyhow::Result<BTreeMap<String, (usize, u64)>> {
    let keys = queue.all_keys().await?;
    let mut sizes: Vec<Option<u64>> = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("MEMORY").arg("USAGE").arg(key);
        }
        let got: Vec<Option<u64>> = pipe.query_async(&mut queue.connection()).await?;
        sizes.extend(got);
    }
    let mut families: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for (key, size) in keys.iter().zip(sizes) {
        let name = key
            .strip_prefix(queue.keys().prefix())
            .unwrap_or(key)
            .trim_start_matches(':');
        let first = name.split(':').next().unwrap_or_default();
        let family = if first == "conv"
            || first == "transcript"
            || name.starts_with("bot:web:new-identities")
        {
            "people"
        } else {
            first
        };
        let entry = families.entry(family.to_owned()).or_default();
        entry.0 += 1;
        entry.1 += size.unwrap_or(0);
    }
    Ok(families)
}

/// Redis's `used_memory`, in MiB.
pub async fn redis_memory_mb(queue: &Queue) -> anyhow::Result<f64> {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut queue.connection())
        .await?;
    let bytes: f64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("Redis's INFO has no used_memory"))?;
    Ok(bytes / (1024.0 * 1024.0))
}

/// The job plane's events as the benchmark read them.
#[derive(Default)]
pub struct Ledger {
    /// Jobs accepted, by user.
    pub accepted: HashMap<String, Vec<String>>,
    pub done: HashSet<String>,
    pub failed: HashSet<String>,
    pub cancelled: HashSet<String>,
    /// Videos posted, by job (twice is a double post).
    pub delivered: HashMap<String, usize>,
    /// Attempts started after the first (a killed worker's jobs, resumed).
    pub restarts: usize,
    /// Starts of a user's second (or later) job while another user's first, queued
    /// earlier, was waiting.
    pub unfair_starts: usize,
    pub first_starts: usize,
    /// For the fairness check: the order jobs were queued in, each user's starts and
    /// waiting jobs, and the waiting jobs of users none of whose jobs started yet.
    queued: u64,
    order: HashMap<String, u64>,
    started_per_user: HashMap<String, usize>,
    waiting: HashMap<String, HashSet<String>>,
    firsts_waiting: BTreeSet<(u64, String)>,
}

impl Ledger {
    pub fn take(&mut self, event: &JobEvent) {
        match event {
            JobEvent::Queued { job, user, .. } => {
                let (job, user) = (job.to_string(), user.to_string());
                self.accepted
                    .entry(user.clone())
                    .or_default()
                    .push(job.clone());
                self.queued += 1;
                self.order.insert(job.clone(), self.queued);
                if self.starts(&user) == 0 {
                    self.firsts_waiting.insert((self.queued, job.clone()));
                }
                self.waiting.entry(user).or_default().insert(job);
            }
            JobEvent::Started {
                job, user, attempt, ..
            } => {
                if *attempt > 1 {
                    self.restarts += 1;
                    return;
                }
                let (job, user) = (job.to_string(), user.to_string());
                let mine = self.starts(&user);
                let queued = self.order.get(&job).copied().unwrap_or(0);
                self.first_starts += 1;
                // A later job of this user while someone's first, queued before it, waits.
                let earlier_first = self
                    .firsts_waiting
                    .first()
                    .is_some_and(|(order, _)| *order < queued);
                if mine >= 1 && earlier_first {
                    self.unfair_starts += 1;
                }
                self.unwait(&user, &job);
                self.started_per_user.insert(user.clone(), mine + 1);
                if mine == 0 {
                    // Their other waiting jobs are no longer firsts.
                    for other in self.waiting.get(&user).into_iter().flatten() {
                        if let Some(order) = self.order.get(other) {
                            self.firsts_waiting.remove(&(*order, other.clone()));
                        }
                    }
                }
            }
            JobEvent::Done { job, .. } => {
                self.done.insert(job.to_string());
            }
            JobEvent::Failed { job, .. } => {
                self.failed.insert(job.to_string());
            }
            JobEvent::Cancelled { job, user } => {
                let (job, user) = (job.to_string(), user.to_string());
                self.unwait(&user, &job);
                self.cancelled.insert(job);
            }
            JobEvent::Delivered { job, .. } => {
                *self.delivered.entry(job.to_string()).or_default() += 1;
            }
            JobEvent::Progress { .. } | JobEvent::Retrying { .. } => {}
        }
    }

    fn starts(&self, user: &str) -> usize {
        self.started_per_user.get(user).copied().unwrap_or(0)
    }

    /// `job` of `user` waits no longer.
    fn unwait(&mut self, user: &str, job: &str) {
        if let Some(order) = self.order.get(job) {
            self.firsts_waiting.remove(&(*order, job.to_owned()));
        }
        if let Some(waiting) = self.waiting.get_mut(user) {
            waiting.remove(job);
            if waiting.is_empty() {
                self.waiting.remove(user);
            }
        }
    }

    /// Accepted jobs neither done nor cancelled.
    pub fn lost(&self) -> usize {
        self.accepted
            .values()
            .flatten()
            .filter(|j| !self.done.contains(*j) && !self.cancelled.contains(*j))
            .count()
    }

    pub fn accepted_count(&self) -> usize {
        self.accepted.values().map(Vec::len).sum()
    }

    /// Done jobs whose video was posted more than once, and done jobs never posted.
    pub fn posts(&self) -> (usize, usize) {
        let twice = self.delivered.values().filter(|n| **n > 1).count();
        let never = self
            .done
            .iter()
            .filter(|j| !self.delivered.contains_key(*j))
            .count();
        (twice, never)
    }
}

/// Seconds since `began`.
pub fn since(began: Instant) -> f64 {
    began.elapsed().as_secs_f64()
}
