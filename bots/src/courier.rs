//! The way back to the chat: job events read through a consumer group on the events stream
//! (so each event is handled by one bot process, and a restarted bot resumes from its own
//! unacknowledged events), handed to one task per watched job, which edits the job's status
//! message at the platform's pace (newest news first; stale progress is skipped) and posts
//! the finished video once per job and chat (a claim in Redis taken before sending, and a
//! row in the record's `deliveries`). A slow upload or a flood wait in one chat delays no
//! other chat.

use crate::error::BotError;
use crate::platform::Platform;
use crate::status;
use redis::AsyncCommands;
use spinbot_core::{JobEvent, JobId, JobState};
use spinbot_jobs::retry::Backoff;
use spinbot_jobs::{Queue, Record, Store};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Attempts at a final event (the video, or the last word) before the chat is told it failed.
const MAX_TRIES: u32 = 3;
/// How long a watch and a delivery claim are kept.
const KEEP_S: u64 = 7 * 24 * 3600;
/// Events read at a time.
const BATCH: usize = 50;
/// How long a stopping bot waits for deliveries it started.
const DRAIN: Duration = Duration::from_secs(30);

/// Where a job's status is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub chat: String,
    pub message: String,
}

/// An event for a job's task, with the stream entry to acknowledge once it is handled.
struct News {
    event: JobEvent,
    entry: Option<String>,
}

/// Watches, status edits and deliveries for one platform.
pub struct Courier<P: Platform> {
    platform: Arc<P>,
    store: Store,
    record: Option<Record>,
    queue: Queue,
    consumer: String,
    /// The task of each job being followed.
    followed: Mutex<HashMap<JobId, mpsc::UnboundedSender<News>>>,
    /// Entries handed to a task and not yet acknowledged (not to be handed over twice
    /// when the unacknowledged ones are read again).
    in_flight: Mutex<HashSet<String>>,
    /// When each chat may be edited next.
    next_edit: Mutex<HashMap<String, Instant>>,
    tasks: TaskTracker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<P: Platform> Courier<P> {
    /// `consumer` names this bot process in the group; a restarted process that keeps its
    /// name takes over what it had not finished.
    pub fn new(
        platform: Arc<P>,
        store: Store,
        record: Option<Record>,
        queue: Queue,
        consumer: &str,
    ) -> Arc<Self> {
        Arc::new(Self {
            platform,
            store,
            record,
            queue,
            consumer: consumer.to_owned(),
            followed: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            next_edit: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
        })
    }

    fn group(&self) -> String {
        format!("bot-{}", P::NAME)
    }

    /// Shows `job`'s progress in `message` of `chat` from now on. A job that already ended
    /// (it can be faster than this call) is finished at once.
    pub async fn watch(self: &Arc<Self>, job: &JobId, watch: &Watch) -> Result<(), BotError> {
        let key = self.queue.keys().watch(P::NAME, job);
        redis::pipe()
            .hset(&key, "chat", &watch.chat)
            .ignore()
            .hset(&key, "message", &watch.message)
            .ignore()
            .expire(&key, KEEP_S as i64)
            .ignore()
            .exec_async(&mut self.queue.connection())
            .await?;
        let Some(status) = self.queue.status(job, None).await? else {
            return Ok(());
        };
        let (job, user) = (job.clone(), status.user.clone());
        let event = match status.state {
            JobState::Done => status
                .result
                .map(|result| JobEvent::Done { job, user, result }),
            JobState::Failed => Some(JobEvent::Failed {
                job,
                user,
                reason: status.error.unwrap_or_default(),
            }),
            JobState::Cancelled => Some(JobEvent::Cancelled { job, user }),
            JobState::Queued | JobState::Running => None,
        };
        if let Some(event) = event {
            self.pass_on(event, None, watch.clone());
        }
        Ok(())
    }

    async fn watch_of(&self, job: &JobId) -> Result<Option<Watch>, BotError> {
        let fields: HashMap<String, String> = self
            .queue
            .connection()
            .hgetall(self.queue.keys().watch(P::NAME, job))
            .await?;
        Ok(match (fields.get("chat"), fields.get("message")) {
            (Some(chat), Some(message)) => Some(Watch {
                chat: chat.clone(),
                message: message.clone(),
            }),
            _ => None,
        })
    }

    /// Hands an event to its job's task, starting one when needed.
    fn pass_on(self: &Arc<Self>, event: JobEvent, entry: Option<String>, watch: Watch) {
        let job = event.job().clone();
        let mut followed = lock(&self.followed);
        let news = News { event, entry };
        let news = match followed.get(&job) {
            Some(tx) => match tx.send(news) {
                Ok(()) => return,
                // The task just ended (its job's last event): a new one takes this.
                Err(mpsc::error::SendError(news)) => news,
            },
            None => news,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(news);
        followed.insert(job.clone(), tx);
        let span = tracing::info_span!("follow", job = %job, chat = %watch.chat);
        self.tasks
            .spawn(self.clone().follow(job, watch, rx).instrument(span));
    }

    /// One job's task: its events in order, the newest progress only, until its last one.
    async fn follow(
        self: Arc<Self>,
        job: JobId,
        watch: Watch,
        mut rx: mpsc::UnboundedReceiver<News>,
    ) {
        let mut shown = Shown::default();
        let mut next = rx.recv().await;
        while let Some(mut news) = next.take() {
            // Progress that newer news already replaced is not worth an edit.
            while !news.event.is_final() {
                match rx.try_recv() {
                    Ok(newer) => {
                        self.ack(news.entry.as_deref()).await;
                        news = newer;
                    }
                    Err(_) => break,
                }
            }
            if news.event.is_final() {
                self.conclude(&job, &watch, &news.event, &mut shown).await;
                self.ack(news.entry.as_deref()).await;
                break;
            }
            // A progress edit waits for the chat's turn; news that comes meanwhile
            // replaces it.
            let text = progress_text(&news.event, &mut shown);
            loop {
                if text.as_deref().is_none_or(|t| t == shown.text) {
                    next = rx.recv().await;
                    break;
                }
                match self.turn_now(&watch.chat) {
                    Ok(()) => {
                        let text = text.as_deref().unwrap_or_default();
                        if let Err(e) = self.edit(&watch, text, &mut shown).await {
                            tracing::warn!(error = %e, "a status edit failed");
                        }
                        next = rx.recv().await;
                        break;
                    }
                    Err(turn) => tokio::select! {
                        _ = tokio::time::sleep_until(turn.into()) => {}
                        newer = rx.recv() => {
                            next = newer;
                            break;
                        }
                    },
                }
            }
            self.ack(news.entry.as_deref()).await;
        }
        lock(&self.followed).remove(&job);
    }

    async fn ack(&self, entry: Option<&str>) {
        if let Some(entry) = entry {
            if let Err(e) = self.queue.ack_events(&self.group(), &[entry]).await {
                tracing::warn!(error = %e, "an event was not acknowledged; it may be handled again");
            }
            lock(&self.in_flight).remove(entry);
        }
    }

    /// The job's last event, tried a few times; then the chat is told, and the watch ends.
    async fn conclude(&self, job: &JobId, watch: &Watch, event: &JobEvent, shown: &mut Shown) {
        let mut backoff = Backoff::default();
        for attempt in 1..=MAX_TRIES {
            let done = match event {
                JobEvent::Done { result, .. } => self.deliver(job, watch, result, shown).await,
                JobEvent::Failed { reason, .. } => {
                    let reason = if reason.is_empty() {
                        "something went wrong."
                    } else {
                        reason
                    };
                    self.show(
                        watch,
                        &format!("❌ Sorry, that didn't work: {reason}"),
                        shown,
                    )
                    .await
                }
                _ => self.show(watch, "🚫 Cancelled.", shown).await,
            };
            match done {
                Ok(()) => break,
                Err(e) if attempt < MAX_TRIES => {
                    tracing::warn!(error = %e, attempt, "a job's last event was not handled; retrying");
                    tokio::time::sleep(backoff.next_wait()).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "giving up on a job's last event");
                    let text = "❌ Sorry, I couldn't post your video here; please ask again.";
                    if let Err(e) = self.show(watch, text, shown).await {
                        tracing::warn!(error = %e, "the chat was not told");
                    }
                }
            }
        }
        let watch_key = self.queue.keys().watch(P::NAME, job);
        if let Err(e) = self.queue.connection().del::<_, u32>(watch_key).await {
            tracing::warn!(error = %e, "the watch was not removed");
        }
    }

    /// Edits the status message: never the same text twice, and never faster than the
    /// platform allows in that chat (waiting for the chat's next turn).
    async fn show(&self, watch: &Watch, text: &str, shown: &mut Shown) -> Result<(), BotError> {
        if shown.text == text {
            return Ok(());
        }
        while let Err(turn) = self.turn_now(&watch.chat) {
            tokio::time::sleep_until(turn.into()).await;
        }
        self.edit(watch, text, shown).await
    }

    /// Edits the status message now, waiting out the platform's flood waits.
    async fn edit(&self, watch: &Watch, text: &str, shown: &mut Shown) -> Result<(), BotError> {
        loop {
            match self
                .platform
                .edit_text(&watch.chat, &watch.message, text)
                .await
            {
                Err(BotError::RetryAfter(wait)) => {
                    tracing::info!(?wait, "the platform asks to wait");
                    tokio::time::sleep(wait).await;
                }
                other => {
                    other?;
                    break;
                }
            }
        }
        shown.text = text.to_owned();
        Ok(())
    }

    /// Takes `chat`'s turn to be edited if it has come (the next one is a pace later), else
    /// says when it comes.
    fn turn_now(&self, chat: &str) -> Result<(), Instant> {
        let now = Instant::now();
        let mut next = lock(&self.next_edit);
        if next.len() > 10_000 {
            next.retain(|_, at| *at > now);
        }
        match next.get(chat) {
            Some(at) if *at > now => Err(*at),
            _ => {
                next.insert(chat.to_owned(), now + self.platform.edit_pace(chat));
                Ok(())
            }
        }
    }

    /// Posts the result once: the claim is taken before sending, so two processes (or a
    /// replayed event) never both send; a failed send gives the claim back for a retry.
    async fn deliver(
        &self,
        job: &JobId,
        watch: &Watch,
        result: &str,
        shown: &mut Shown,
    ) -> Result<(), BotError> {
        let claim = self.queue.keys().delivery(P::NAME, job, &watch.chat);
        let mut con = self.queue.connection();
        let claimed: Option<String> = redis::cmd("SET")
            .arg(&claim)
            .arg("sending")
            .arg("NX")
            .arg("EX")
            .arg(KEEP_S)
            .query_async(&mut con)
            .await?;
        if claimed.is_none() {
            return Ok(());
        }
        let message = match self.post(watch, result, shown).await {
            Ok(message) => message,
            Err(e) => {
                let _: u32 = con.del(&claim).await?;
                return Err(e);
            }
        };
        let _: () = con.set_ex(&claim, "sent", KEEP_S).await?;
        if let Some(record) = &self.record {
            if let Err(e) = record
                .record_delivery(job.as_str(), P::NAME, &watch.chat, &message)
                .await
            {
                tracing::warn!(error = %e, "the delivery is not in the record");
            }
        }
        self.show(watch, "✅ Done!", shown).await
    }

    /// Sends the video, or a link when it is bigger than the platform takes; the message id.
    async fn post(
        &self,
        watch: &Watch,
        result: &str,
        shown: &mut Shown,
    ) -> Result<String, BotError> {
        // Said only if the chat may be edited now: the video itself waits for nothing.
        if self.turn_now(&watch.chat).is_ok() {
            self.edit(watch, "✅ Done! Sending your video…", shown)
                .await?;
        }
        let dir = tempfile::tempdir()?;
        let local = dir.path().join("video.mp4");
        if !self.store.get_file(result, &local).await? {
            return Err(BotError::Config(format!(
                "the result {result} is not in the store"
            )));
        }
        let size = tokio::fs::metadata(&local).await?.len();
        if size <= self.platform.upload_limit() {
            let caption = "Here's your talking video! 🎉";
            return self.platform.send_video(&watch.chat, &local, caption).await;
        }
        let text = match self.store.link(result, Duration::from_secs(KEEP_S)).await? {
            Some(url) => format!(
                "Your video is {} MB, too big to post here; download it (for 7 days): {url}",
                size / 1_000_000
            ),
            None => format!(
                "Your video is {} MB, too big to post here.",
                size / 1_000_000
            ),
        };
        self.platform.send_text(&watch.chat, &text).await
    }

    /// Reads job events until `stop`: first this consumer's unacknowledged ones, then new
    /// ones, each handed to its job's task; events of jobs this platform does not show are
    /// acknowledged at once. Then waits a while for the deliveries it started.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) -> Result<(), BotError> {
        let group = self.group();
        let mut reader = self.queue.reader(&group, &self.consumer)?;
        let mut backoff = Backoff::default();
        loop {
            let events = tokio::select! {
                events = reader.next(BATCH) => events,
                _ = stop.cancelled() => break,
            };
            let events = match events {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, "reading job events failed; retrying");
                    if !backoff.wait(&stop).await {
                        break;
                    }
                    continue;
                }
            };
            backoff.reset();
            for (entry, event) in events {
                if lock(&self.in_flight).contains(&entry) {
                    continue;
                }
                match self.watch_of(event.job()).await {
                    Ok(Some(watch)) => {
                        lock(&self.in_flight).insert(entry.clone());
                        self.pass_on(event, Some(entry), watch);
                    }
                    Ok(None) => self.ack(Some(&entry)).await,
                    Err(e) => {
                        // Read again from the unacknowledged ones once Redis answers.
                        tracing::warn!(error = %e, "a watch could not be read");
                        reader.reread_backlog();
                        break;
                    }
                }
            }
        }
        lock(&self.followed).clear();
        self.tasks.close();
        if tokio::time::timeout(DRAIN, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("stopping with deliveries unfinished; a restarted bot resumes them");
        }
        Ok(())
    }
}

/// A queued, started, progress or retrying event as the status message's text.
fn progress_text(event: &JobEvent, shown: &mut Shown) -> Option<String> {
    Some(match event {
        JobEvent::Queued { position, .. } => status::queued(Some(*position)),
        JobEvent::Started { .. } => status::working("", 0, shown.running_for()),
        JobEvent::Progress { stage, percent, .. } => {
            status::working(stage, *percent, shown.running_for())
        }
        JobEvent::Retrying { retry_in_s, .. } => format!(
            "⚠️ A render machine stumbled; trying again in {} s.",
            retry_in_s.ceil()
        ),
        _ => return None,
    })
}

/// What a job's status message shows now.
#[derive(Default)]
struct Shown {
    text: String,
    running_since: Option<Instant>,
}

impl Shown {
    fn running_for(&mut self) -> Duration {
        self.running_since
            .get_or_insert_with(Instant::now)
            .elapsed()
    }
}
