//! The way back to the chat: job events read through a consumer group on the events stream
//! (so each event is handled by one bot process, and a restarted bot resumes from its own
//! unacknowledged events), turned into status-message edits throttled to the platform's
//! pace, and the finished video posted exactly once per job and chat (a claim in Redis
//! taken before sending, and a row in the record's `deliveries`).

use crate::error::BotError;
use crate::platform::Platform;
use crate::status;
use redis::Commands;
use spinbot_core::{JobEvent, JobId, JobState};
use spinbot_jobs::{ObjectStore, Queue, QueueConfig, Record};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shortest time between two edits of one status message (Telegram allows about one
/// message per second per chat).
pub const EDIT_INTERVAL: Duration = Duration::from_millis(1500);
/// Attempts at one event before the chat is told it failed.
const MAX_TRIES: u32 = 3;
/// How long a watch and a delivery claim are kept.
const KEEP_S: u64 = 7 * 24 * 3600;

/// Where a job's status is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub chat: String,
    pub message: String,
}

struct Shown {
    text: String,
    at: Instant,
    running_since: Option<Instant>,
}

/// Watches, status edits and deliveries for one platform.
pub struct Courier<P: Platform> {
    platform: Arc<P>,
    store: Arc<dyn ObjectStore>,
    record: Option<Mutex<Record>>,
    redis: Mutex<redis::Connection>,
    /// For the status of newly watched jobs (the event loop reads on its own connection).
    queue: Mutex<Queue>,
    config: QueueConfig,
    consumer: String,
    shown: Mutex<HashMap<String, Shown>>,
    runtime: tokio::runtime::Handle,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<P: Platform> Courier<P> {
    /// `consumer` names this bot process in the group; a restarted process that keeps its
    /// name takes over what it had not finished.
    pub fn new(
        platform: Arc<P>,
        store: Arc<dyn ObjectStore>,
        record: Option<Record>,
        config: QueueConfig,
        consumer: &str,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, BotError> {
        let redis = redis::Client::open(config.redis_url.as_str())?.get_connection()?;
        let queue = Mutex::new(Queue::connect(config.clone())?);
        Ok(Self {
            queue,
            platform,
            store,
            record: record.map(Mutex::new),
            redis: Mutex::new(redis),
            config,
            consumer: consumer.to_owned(),
            shown: Mutex::new(HashMap::new()),
            runtime,
        })
    }

    fn group(&self) -> String {
        format!("bot-{}", P::NAME)
    }

    fn watch_key(&self, job: &str) -> String {
        format!("{}:bot:{}:watch:{job}", self.config.prefix, P::NAME)
    }

    fn claim_key(&self, job: &str, chat: &str) -> String {
        format!(
            "{}:bot:{}:delivered:{job}:{chat}",
            self.config.prefix,
            P::NAME
        )
    }

    /// Shows `job`'s progress in `message` of `chat` from now on. A job that already ended
    /// (it can be faster than this call) is finished here.
    pub fn watch(&self, job: &JobId, watch: &Watch) -> Result<(), BotError> {
        let key = self.watch_key(job.as_str());
        redis::pipe()
            .hset(&key, "chat", &watch.chat)
            .ignore()
            .hset(&key, "message", &watch.message)
            .ignore()
            .expire(&key, KEEP_S as i64)
            .ignore()
            .query::<()>(&mut *lock(&self.redis))?;
        let status = lock(&self.queue).status(job, None)?;
        if let Some(status) = status {
            let event = match status.state {
                JobState::Done => status.result.map(|result| JobEvent::Done {
                    job: job.clone(),
                    user: status.user.clone(),
                    result,
                }),
                JobState::Failed => Some(JobEvent::Failed {
                    job: job.clone(),
                    user: status.user.clone(),
                    reason: status.error.unwrap_or_default(),
                }),
                JobState::Cancelled => Some(JobEvent::Cancelled {
                    job: job.clone(),
                    user: status.user.clone(),
                }),
                _ => None,
            };
            if let Some(event) = event {
                self.handle(&event)?;
            }
        }
        Ok(())
    }

    fn watch_of(&self, job: &str) -> Result<Option<Watch>, BotError> {
        let fields: HashMap<String, String> = lock(&self.redis).hgetall(self.watch_key(job))?;
        Ok(match (fields.get("chat"), fields.get("message")) {
            (Some(chat), Some(message)) => Some(Watch {
                chat: chat.clone(),
                message: message.clone(),
            }),
            _ => None,
        })
    }

    /// Edits the status message, at most once per [`EDIT_INTERVAL`] unless `last`, and never
    /// with the same text twice.
    fn show(&self, job: &str, watch: &Watch, text: &str, last: bool) -> Result<(), BotError> {
        {
            let shown = lock(&self.shown);
            if let Some(s) = shown.get(job) {
                if s.text == text || (!last && s.at.elapsed() < EDIT_INTERVAL) {
                    return Ok(());
                }
            }
        }
        let result =
            self.runtime
                .block_on(self.platform.edit_text(&watch.chat, &watch.message, text));
        if let Err(BotError::RetryAfter(wait)) = &result {
            if last {
                std::thread::sleep(*wait);
                self.runtime.block_on(self.platform.edit_text(
                    &watch.chat,
                    &watch.message,
                    text,
                ))?;
            }
        } else {
            result?;
        }
        let mut shown = lock(&self.shown);
        let entry = shown.entry(job.to_owned()).or_insert(Shown {
            text: String::new(),
            at: Instant::now(),
            running_since: None,
        });
        entry.text = text.to_owned();
        entry.at = Instant::now();
        Ok(())
    }

    fn running_for(&self, job: &str) -> Duration {
        let mut shown = lock(&self.shown);
        let entry = shown.entry(job.to_owned()).or_insert(Shown {
            text: String::new(),
            at: Instant::now() - EDIT_INTERVAL,
            running_since: None,
        });
        entry
            .running_since
            .get_or_insert_with(Instant::now)
            .elapsed()
    }

    /// Acts on one event; events of jobs this platform does not show are ignored.
    pub fn handle(&self, event: &JobEvent) -> Result<(), BotError> {
        let job = event.job().as_str();
        let Some(watch) = self.watch_of(job)? else {
            return Ok(());
        };
        match event {
            JobEvent::Queued { position, .. } => {
                self.show(job, &watch, &status::queued(Some(*position)), false)
            }
            JobEvent::Started { .. } => {
                let elapsed = self.running_for(job);
                self.show(job, &watch, &status::working("", 0, elapsed), false)
            }
            JobEvent::Progress { stage, percent, .. } => {
                let elapsed = self.running_for(job);
                self.show(
                    job,
                    &watch,
                    &status::working(stage, *percent, elapsed),
                    false,
                )
            }
            JobEvent::Retrying { retry_in_s, .. } => self.show(
                job,
                &watch,
                &format!(
                    "⚠️ A render machine stumbled; trying again in {} s.",
                    retry_in_s.ceil()
                ),
                false,
            ),
            JobEvent::Done { result, .. } => self.deliver(job, &watch, result),
            JobEvent::Failed { reason, .. } => {
                let reason = if reason.is_empty() {
                    "something went wrong."
                } else {
                    reason
                };
                self.finish(
                    job,
                    &watch,
                    &format!("❌ Sorry, that didn't work: {reason}"),
                )
            }
            JobEvent::Cancelled { .. } => self.finish(job, &watch, "🚫 Cancelled."),
        }
    }

    fn finish(&self, job: &str, watch: &Watch, text: &str) -> Result<(), BotError> {
        self.show(job, watch, text, true)?;
        let _: u32 = lock(&self.redis).del(self.watch_key(job))?;
        lock(&self.shown).remove(job);
        Ok(())
    }

    /// Posts the result once: the claim is taken before sending, so two processes (or a
    /// replayed event) never both send; a failed send gives the claim back for a retry.
    fn deliver(&self, job: &str, watch: &Watch, result: &str) -> Result<(), BotError> {
        let claim = self.claim_key(job, &watch.chat);
        let claimed: bool = redis::cmd("SET")
            .arg(&claim)
            .arg("sending")
            .arg("NX")
            .arg("EX")
            .arg(KEEP_S)
            .query::<Option<String>>(&mut *lock(&self.redis))?
            .is_some();
        if !claimed {
            return Ok(());
        }
        let message = match self.post(job, watch, result) {
            Ok(message) => message,
            Err(e) => {
                let _: u32 = lock(&self.redis).del(&claim)?;
                return Err(e);
            }
        };
        let _: () = lock(&self.redis).set_ex(&claim, "sent", KEEP_S)?;
        if let Some(record) = &self.record {
            if let Err(e) = lock(record).record_delivery(job, P::NAME, &watch.chat, &message) {
                tracing::warn!(error = %e, job, "the delivery is not in the record");
            }
        }
        self.finish(job, watch, "✅ Done!")
    }

    /// Sends the video, or a link when it is bigger than the platform takes; the message id.
    fn post(&self, job: &str, watch: &Watch, result: &str) -> Result<String, BotError> {
        self.show(job, watch, "✅ Done! Sending your video…", true)?;
        let dir = tempfile::tempdir()?;
        let local = dir.path().join("video.mp4");
        if !self.store.get_file(result, &local)? {
            return Err(BotError::Config(format!(
                "the result {result} is not in the store"
            )));
        }
        let size = std::fs::metadata(&local)?.len();
        if size <= self.platform.upload_limit() {
            let caption = "Here's your talking video! 🎉";
            return self
                .runtime
                .block_on(self.platform.send_video(&watch.chat, &local, caption));
        }
        let text = match self.store.link(result, Duration::from_secs(KEEP_S))? {
            Some(url) => format!(
                "Your video is {} MB, too big to post here; download it (for 7 days): {url}",
                size / 1_000_000
            ),
            None => format!(
                "Your video is {} MB, too big to post here.",
                size / 1_000_000
            ),
        };
        self.runtime
            .block_on(self.platform.send_text(&watch.chat, &text))
    }

    /// Tells the chat an event could not be acted on (after [`MAX_TRIES`]).
    fn give_up(&self, event: &JobEvent) {
        let job = event.job().as_str();
        if let Ok(Some(watch)) = self.watch_of(job) {
            let text = "❌ Sorry, I couldn't post your video here; please ask again.";
            if let Err(e) = self.finish(job, &watch, text) {
                tracing::warn!(error = %e, "the chat was not told");
            }
        }
    }

    /// Reads job events until `stop`: first this consumer's unacknowledged ones, then new
    /// ones; each is acknowledged once handled.
    pub fn run(&self, stop: &AtomicBool) -> Result<(), BotError> {
        let mut queue = Queue::connect(self.config.clone())?;
        let group = self.group();
        queue.ensure_group("events", &group)?;
        let mut start = "0".to_owned();
        let mut failures: HashMap<String, u32> = HashMap::new();
        while !stop.load(Ordering::Relaxed) {
            let events = match queue.read_group(
                "events",
                &group,
                &self.consumer,
                &start,
                50,
                Duration::from_millis(500),
            ) {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, "reading job events failed; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                    let _ = queue.reconnect();
                    continue;
                }
            };
            if events.is_empty() && start != ">" {
                start = ">".to_owned();
                continue;
            }
            let mut retry = false;
            for (id, event) in &events {
                let span = tracing::info_span!("event", job = %event.job());
                let _entered = span.enter();
                if let Err(e) = self.handle(event) {
                    let tries = failures.entry(id.clone()).or_insert(0);
                    *tries += 1;
                    tracing::warn!(error = %e, tries = *tries, "a job event was not handled");
                    if *tries < MAX_TRIES {
                        // Left unacknowledged: read again below (or after a restart).
                        retry = true;
                        continue;
                    }
                    self.give_up(event);
                }
                failures.remove(id);
                if let Err(e) = queue.ack("events", &group, &[id]) {
                    tracing::warn!(error = %e, "an event was not acknowledged; it may be handled again");
                }
            }
            if retry {
                std::thread::sleep(Duration::from_secs(1));
                start = "0".to_owned();
            }
        }
        Ok(())
    }
}
