//! The way back to the chat: job events read through a consumer group on the events stream
//! under this process's stable name (a restarted bot resumes from its own unacknowledged
//! events; those of a bot that is gone are taken over), handed to one task per job, which
//! edits the job's status message at the platform's pace (newest news first; stale progress
//! is skipped) and posts the finished video at least once per job and chat. Where a job's
//! news goes is recorded with the job at submission, so a job whose answer never went out
//! still reaches its chat; a status message the user deleted is replaced by a new one.
//! A slow upload or a flood wait in one chat delays no other chat.

use crate::error::BotError;
use crate::platform::{Control, Platform};
use crate::status;
use spinbot_core::limits::KEPT_ENTRIES_BEFORE_PRUNING;
use spinbot_core::{JobEvent, JobId, JobState};
use spinbot_jobs::metrics::{self, DeliveryOutcome};
use spinbot_jobs::retry::Backoff;
use spinbot_jobs::{Claim, Delivery, Member, Queue, Store};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Attempts at a final event (the video, or the last word) before the chat is told it failed.
const MAX_TRIES: u32 = 3;
/// Events read at a time.
const BATCH: usize = 50;
/// How long a stopping bot waits for deliveries it started.
const DRAIN: Duration = Duration::from_secs(30);
/// How often a bot looks for events of bots that are gone.
const TAKE_OVER_EVERY: Duration = Duration::from_secs(5);
/// How long a live process's claim on a delivery is waited for.
const BUSY_WAIT: Duration = Duration::from_secs(2);

/// Where a job's status is shown: its chat, and the status message once there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub chat: String,
    pub message: Option<String>,
}

/// An event for a job's task, where its chat is, and the stream entry to acknowledge once
/// it is handled.
struct News {
    event: JobEvent,
    watch: Watch,
    entry: Option<String>,
}

/// Status edits and deliveries for one platform.
pub struct Courier<P: Platform> {
    platform: Arc<P>,
    store: Store,
    queue: Queue,
    /// This process's name among the platform's bots.
    me: Member,
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

/// The consumer group (and role of names) of a platform's bots on the events stream.
pub fn group<P: Platform>() -> String {
    format!("bot-{}", P::NAME)
}

impl<P: Platform> Courier<P> {
    /// `me` is this process's name among the platform's bots (see [`Queue::join`]).
    pub fn new(platform: Arc<P>, store: Store, queue: Queue, me: Member) -> Arc<Self> {
        Arc::new(Self {
            platform,
            store,
            queue,
            me,
            followed: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            next_edit: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
        })
    }

    /// `message` of `chat` now shows `job`'s progress. A job that already ended (it can be
    /// faster than the answer) is finished at once.
    pub async fn watch(
        self: &Arc<Self>,
        job: &JobId,
        chat: &str,
        message: &str,
    ) -> Result<(), BotError> {
        self.queue.set_status_message(job, message).await?;
        let Some(record) = self.queue.job(job).await? else {
            return Ok(());
        };
        let (job, user) = (job.clone(), record.user.clone());
        let event = match record.state {
            JobState::Done => record
                .result
                .map(|result| JobEvent::Done { job, user, result }),
            JobState::Failed => Some(JobEvent::Failed {
                job,
                user,
                reason: record.error.unwrap_or_default(),
            }),
            JobState::Cancelled => Some(JobEvent::Cancelled { job, user }),
            JobState::Queued | JobState::Running => None,
        };
        if let Some(event) = event {
            let watch = Watch {
                chat: chat.to_owned(),
                message: Some(message.to_owned()),
            };
            self.pass_on(event, None, watch);
        }
        Ok(())
    }

    /// Where `job`'s news goes on this platform, if anywhere.
    async fn watch_of(&self, job: &JobId) -> Result<Option<Watch>, BotError> {
        let reply = self.queue.job(job).await?.and_then(|j| j.reply);
        Ok(reply.filter(|r| r.platform == P::NAME).map(|r| Watch {
            chat: r.chat,
            message: r.message,
        }))
    }

    /// Hands an event to its job's task, starting one when needed.
    fn pass_on(self: &Arc<Self>, event: JobEvent, entry: Option<String>, watch: Watch) {
        let job = event.job().clone();
        let mut followed = lock(&self.followed);
        let news = News {
            event,
            watch,
            entry,
        };
        let news = match followed.get(&job) {
            Some(tx) => match tx.send(news) {
                Ok(()) => return,
                // The task just ended (its job's last event): a new one takes this.
                Err(mpsc::error::SendError(news)) => news,
            },
            None => news,
        };
        let span = tracing::info_span!("follow", job = %job, chat = %news.watch.chat);
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(news);
        followed.insert(job.clone(), tx);
        self.tasks
            .spawn(self.clone().follow(job, rx).instrument(span));
    }

    /// One job's task: its events in order, the newest progress only, until its last one.
    async fn follow(self: Arc<Self>, job: JobId, mut rx: mpsc::UnboundedReceiver<News>) {
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
                let ended = news.entry.as_deref().and_then(entry_time);
                self.conclude(&job, &news.watch, &news.event, ended, &mut shown)
                    .await;
                self.ack(news.entry.as_deref()).await;
                break;
            }
            // A progress edit waits for the chat's turn; news that comes meanwhile
            // replaces it. Without a status message yet, there is nothing to edit.
            let text = progress_text(&news.event, &mut shown)
                .filter(|t| *t != shown.text && news.watch.message.is_some());
            loop {
                let Some(text) = &text else {
                    next = rx.recv().await;
                    break;
                };
                match self.turn_now(&news.watch.chat) {
                    Ok(()) => {
                        let cancel = [Control::Cancel(job.clone())];
                        let edited = self.edit(&job, &news.watch, text, &cancel, &mut shown);
                        if let Err(e) = edited.await {
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
            if let Err(e) = self.queue.ack_events(&group::<P>(), &[entry]).await {
                tracing::warn!(error = %e, "an event was not acknowledged; it may be handled again");
            }
            lock(&self.in_flight).remove(entry);
        }
    }

    /// The job's last event, tried a few times; then the chat is told.
    /// `ended`: when the event was written, for the delivery's latency.
    async fn conclude(
        &self,
        job: &JobId,
        watch: &Watch,
        event: &JobEvent,
        ended: Option<SystemTime>,
        shown: &mut Shown,
    ) {
        let mut backoff = Backoff::default();
        for attempt in 1..=MAX_TRIES {
            let done = match event {
                JobEvent::Done { user, result, .. } => {
                    let delivery = Delivery {
                        platform: P::NAME,
                        job,
                        user,
                        chat: &watch.chat,
                    };
                    self.deliver(&delivery, watch, result, ended, shown).await
                }
                JobEvent::Failed { reason, .. } => {
                    let reason = if reason.is_empty() {
                        "something went wrong."
                    } else {
                        reason
                    };
                    let text = format!("❌ Sorry, that didn't work: {reason}");
                    self.show(job, watch, &text, shown).await
                }
                _ => self.show(job, watch, "🚫 Cancelled.", shown).await,
            };
            match done {
                Ok(()) => return,
                Err(e) if attempt < MAX_TRIES => {
                    tracing::warn!(error = %e, attempt, "a job's last event was not handled; retrying");
                    tokio::time::sleep(backoff.next_wait()).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "giving up on a job's last event");
                    if matches!(event, JobEvent::Done { .. }) {
                        metrics::process().delivery(P::NAME, DeliveryOutcome::Failed, None);
                    }
                    let text = "❌ Sorry, I couldn't post your video here; please ask again.";
                    if let Err(e) = self.show(job, watch, text, shown).await {
                        tracing::warn!(error = %e, "the chat was not told");
                    }
                }
            }
        }
    }

    /// Shows `text` as the job's status once the chat's turn comes (never faster than the
    /// platform allows in that chat), and never the same text twice.
    async fn show(
        &self,
        job: &JobId,
        watch: &Watch,
        text: &str,
        shown: &mut Shown,
    ) -> Result<(), BotError> {
        if shown.text == text {
            return Ok(());
        }
        while let Err(turn) = self.turn_now(&watch.chat) {
            tokio::time::sleep_until(turn.into()).await;
        }
        self.edit(job, watch, text, &[], shown).await
    }

    /// Shows `text` and `controls` as the job's status now: an edit of its status message, or
    /// a new message when there is none or the user deleted it (it becomes the status
    /// message). Flood waits are waited out.
    async fn edit(
        &self,
        job: &JobId,
        watch: &Watch,
        text: &str,
        controls: &[Control],
        shown: &mut Shown,
    ) -> Result<(), BotError> {
        let message = shown.message.clone().or_else(|| watch.message.clone());
        loop {
            let result = match &message {
                Some(message) => {
                    self.platform
                        .edit_status(&watch.chat, message, text, controls)
                        .await
                }
                None => Err(BotError::MessageGone),
            };
            match result {
                Err(BotError::RetryAfter(wait)) => {
                    tracing::info!(?wait, "the platform asks to wait");
                    tokio::time::sleep(wait).await;
                }
                Err(BotError::MessageGone) => {
                    let sent = self.platform.send_text(&watch.chat, text).await?;
                    self.queue.set_status_message(job, &sent).await?;
                    shown.message = Some(sent);
                    break;
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

    /// Drops the edit turns that have come (a chat without one may be edited now).
    pub fn prune(&self) {
        let now = Instant::now();
        let mut next = lock(&self.next_edit);
        next.retain(|_, at| *at > now);
        next.shrink_to_fit();
        spinbot_jobs::metrics::kept("edit_turns", next.len());
    }

    /// Takes `chat`'s turn to be edited if it has come (the next one is a pace later), else
    /// says when it comes.
    fn turn_now(&self, chat: &str) -> Result<(), Instant> {
        let now = Instant::now();
        let mut next = lock(&self.next_edit);
        if next.len() > KEPT_ENTRIES_BEFORE_PRUNING {
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

    /// Posts the result at least once: a claim is taken before posting (or taken over from a
    /// process that died holding it), marked sent with a `delivered` event after the platform
    /// took the video, and given back when posting failed.
    async fn deliver(
        &self,
        delivery: &Delivery<'_>,
        watch: &Watch,
        result: &str,
        ended: Option<SystemTime>,
        shown: &mut Shown,
    ) -> Result<(), BotError> {
        let dir = tempfile::tempdir()?;
        let local = dir.path().join("video.mp4");
        if !self.store.get_file(result, &local).await? {
            return Err(BotError::Config(format!(
                "the result {result} is not in the store"
            )));
        }
        let size = tokio::fs::metadata(&local).await?.len();
        // Held a while longer than the post may take.
        let hold = self.platform.upload_time(size) + Duration::from_secs(30);
        let waited = Instant::now();
        loop {
            match self.queue.claim_delivery(delivery, &self.me, hold).await? {
                Claim::Claimed => break,
                Claim::Sent => return Ok(()),
                // Another live bot is posting it; its claim ends one way or the other.
                Claim::Busy if waited.elapsed() < hold => tokio::time::sleep(BUSY_WAIT).await,
                Claim::Busy => {
                    return Err(BotError::Config("another bot holds the delivery".into()))
                }
            }
        }
        let message = match self
            .post(delivery.job, watch, &local, size, result, shown)
            .await
        {
            Ok(message) => message,
            Err(e) => {
                self.queue.give_back_delivery(delivery).await?;
                return Err(e);
            }
        };
        let latency = ended
            .and_then(|at| SystemTime::now().duration_since(at).ok())
            .map(|d| d.as_secs_f64());
        metrics::process().delivery(P::NAME, DeliveryOutcome::Posted, latency);
        // The platform has the video: from here only the mark is retried, never the post.
        let mut backoff = Backoff::default();
        loop {
            match self.queue.delivered(delivery, &self.me, &message).await {
                Ok(true) => break,
                Ok(false) => {
                    tracing::warn!("the delivery's claim was taken over while posting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the delivery is not marked yet; retrying");
                    tokio::time::sleep(backoff.next_wait()).await;
                }
            }
        }
        if shown.message.is_some() || watch.message.is_some() {
            self.show(delivery.job, watch, "✅ Done!", shown).await?;
        }
        Ok(())
    }

    /// Sends the video, or a link when it is bigger than the platform takes; the message id.
    async fn post(
        &self,
        job: &JobId,
        watch: &Watch,
        local: &std::path::Path,
        size: u64,
        result: &str,
        shown: &mut Shown,
    ) -> Result<String, BotError> {
        // Said only if the chat may be edited now: the video itself waits for nothing.
        if watch.message.is_some() && self.turn_now(&watch.chat).is_ok() {
            self.edit(job, watch, "✅ Done! Sending your video…", &[], shown)
                .await?;
        }
        if size <= self.platform.upload_limit(&watch.chat) {
            let caption = "Here's your talking video! 🎉";
            let status = shown.message.as_deref().or(watch.message.as_deref());
            return self
                .platform
                .send_video(&watch.chat, status, local, caption)
                .await;
        }
        let keep = Duration::from_secs(7 * 24 * 3600);
        let text = match self.store.link(result, keep).await? {
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

    /// Reads job events until `stop`: first this bot's unacknowledged ones (and those it
    /// takes over from bots that are gone), then new ones, each handed to its job's task;
    /// events of jobs this platform does not answer are acknowledged at once. Then waits a
    /// while for the deliveries it started.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) -> Result<(), BotError> {
        let group = group::<P>();
        let mut reader = self.queue.reader(&group, self.me.name())?;
        let mut backoff = Backoff::default();
        let mut looked = Instant::now() - TAKE_OVER_EVERY;
        loop {
            if looked.elapsed() >= TAKE_OVER_EVERY {
                looked = Instant::now();
                match self.queue.take_over_events(&group, &group, &self.me).await {
                    Ok(0) => {}
                    Ok(_) => reader.reread_backlog(),
                    Err(e) => tracing::warn!(error = %e, "could not look for orphaned events"),
                }
            }
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
                let watch = match &event {
                    // Deliveries are the record's news, not the chat's.
                    JobEvent::Delivered { .. } => Ok(None),
                    _ => self.watch_of(event.job()).await,
                };
                match watch {
                    Ok(Some(watch)) => {
                        lock(&self.in_flight).insert(entry.clone());
                        self.pass_on(event, Some(entry), watch);
                    }
                    Ok(None) => self.ack(Some(&entry)).await,
                    Err(e) => {
                        // Read again from the unacknowledged ones once Redis answers.
                        tracing::warn!(error = %e, "a job could not be read");
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

/// When a stream entry was written: its id is `milliseconds-sequence`.
fn entry_time(entry: &str) -> Option<SystemTime> {
    let ms = entry.split('-').next()?.parse::<u64>().ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
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
    /// A status message sent in place of one that was missing or deleted.
    message: Option<String>,
    running_since: Option<Instant>,
}

impl Shown {
    fn running_for(&mut self) -> Duration {
        self.running_since
            .get_or_insert_with(Instant::now)
            .elapsed()
    }
}
