//! Round trips through Telegram: teloxide inside `spinbot bot telegram` against a fake Bot
//! API, with the real job plane (Redis; a store folder, or SeaweedFS's S3 and PostgreSQL)
//! and a real `spinbot worker`. What a person sees: the answer, the status message edited
//! with stages, and the MP4; and what survives: Redis killed under a running farm, a chat
//! whose upload hangs.

mod common;

use spinbot_testkit::fake_telegram::{Chat, Sent};
use spinbot_testkit::{FakeTelegram, PostgresServer, RedisServer, SeaweedServer};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "123456:TEST-token";
const RENDER_WAIT: Duration = Duration::from_secs(180);

/// What runs beside the bot and the worker.
#[derive(Default)]
struct Services {
    /// Redis with every write in its append-only file (so it can be killed).
    durable_redis: bool,
    /// PostgreSQL (the record) and SeaweedFS (S3) instead of a store folder.
    record_and_s3: bool,
    /// Render slots of the worker.
    concurrency: Option<usize>,
}

struct Stack {
    redis: RedisServer,
    postgres: Option<PostgresServer>,
    s3: Option<SeaweedServer>,
    store: tempfile::TempDir,
    telegram: FakeTelegram,
    env: Vec<(String, String)>,
    worker: Option<Child>,
    bot: Option<Child>,
}

impl Stack {
    fn new(env: &[(&str, &str)]) -> Self {
        Self::with(env, Services::default())
    }

    fn with(env: &[(&str, &str)], services: Services) -> Self {
        let mut stack = Self {
            redis: RedisServer::start(services.durable_redis),
            postgres: services.record_and_s3.then(PostgresServer::start),
            s3: services.record_and_s3.then(SeaweedServer::start),
            store: tempfile::tempdir().expect("tempdir"),
            telegram: FakeTelegram::start(TOKEN),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            worker: None,
            bot: None,
        };
        let log = std::fs::File::create(stack.store.path().join("worker.log")).expect("log");
        let mut worker = stack.command();
        worker.args(["worker", "--device", "cpu", "--name", "w1"]);
        if let Some(n) = services.concurrency {
            worker.args(["--concurrency", &n.to_string()]);
        }
        stack.worker = Some(
            worker
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("worker"),
        );
        stack.start_bot();
        stack
    }

    fn command(&self) -> Command {
        let mut cmd = common::spinbot();
        cmd.env("REDIS_URL", self.redis.url())
            .env("SPINBOT_STORE", self.store.path())
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", self.telegram.url())
            .env("RUST_LOG", "info")
            .env_remove("OLLAMA_API_BASE_URL")
            .env_remove("OLLAMA_MODEL")
            .env_remove("DATABASE_URL")
            .env_remove("S3_ENDPOINT");
        if let Some(pg) = &self.postgres {
            cmd.env("DATABASE_URL", pg.url());
        }
        if let Some(s3) = &self.s3 {
            cmd.envs(s3.env());
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// One value from the stack's Postgres (`psql -tA`).
    fn psql(&self, sql: &str) -> String {
        let pg = self.postgres.as_ref().expect("a stack with Postgres");
        common::psql(pg.port, sql)
    }

    /// The processes are still the ones started (none exited).
    fn assert_running(&mut self) {
        let log = self.bot_log();
        for (name, child) in [("worker", &mut self.worker), ("bot", &mut self.bot)] {
            let child = child.as_mut().expect("started");
            assert!(
                matches!(child.try_wait(), Ok(None)),
                "the {name} exited; bot log:\n{log}"
            );
        }
    }

    fn bot_log_text(&self) -> String {
        std::fs::read_to_string(self.store.path().join("bot.log")).unwrap_or_default()
    }

    fn start_bot(&mut self) {
        let log = std::fs::File::create(self.store.path().join("bot.log")).expect("log");
        self.bot = Some(
            self.command()
                .args(["bot", "telegram"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("bot"),
        );
    }

    fn kill_bot(&mut self) {
        if let Some(mut bot) = self.bot.take() {
            let _ = bot.kill();
            let _ = bot.wait();
        }
    }

    fn bot_log(&self) -> String {
        format!(
            "{}\nworker log:\n{}",
            self.bot_log_text(),
            std::fs::read_to_string(self.store.path().join("worker.log")).unwrap_or_default()
        )
    }

    /// Waits for what was sent to `chat` to satisfy `done`; fails with the whole exchange.
    fn wait(&self, chat: &Chat, what: &str, done: impl Fn(&[&Sent]) -> bool) -> Vec<Sent> {
        let sent = self.telegram.wait_for(RENDER_WAIT, |all| {
            let mine: Vec<&Sent> = all.iter().filter(|s| s.chat_id == chat.id).collect();
            done(&mine)
        });
        let mine: Vec<Sent> = sent.into_iter().filter(|s| s.chat_id == chat.id).collect();
        let refs: Vec<&Sent> = mine.iter().collect();
        assert!(
            done(&refs),
            "no {what}; sent: {:#?}\nbot log:\n{}",
            summary(&mine),
            self.bot_log()
        );
        mine
    }

    /// Everything sent to `chat` so far.
    fn sent_to(&self, chat: &Chat) -> Vec<Sent> {
        self.telegram
            .sent()
            .into_iter()
            .filter(|s| s.chat_id == chat.id)
            .collect()
    }

    fn send_selfie(&self, chat: &Chat) {
        let bytes = std::fs::read(common::face_photo()).expect("photo");
        self.telegram
            .send_photo(chat, &[(90, 90, bytes.clone()), (512, 512, bytes)], None);
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.kill_bot();
        if let Some(mut w) = self.worker.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn summary(sent: &[Sent]) -> Vec<String> {
    sent.iter()
        .map(|s| {
            format!(
                "{} #{} {:?} {:?} {}",
                s.method,
                s.message_id,
                s.text,
                s.caption,
                s.file.as_ref().map_or(0, Vec::len)
            )
        })
        .collect()
}

fn texts(sent: &[&Sent]) -> Vec<String> {
    sent.iter().filter_map(|s| s.text.clone()).collect()
}

fn videos<'a>(sent: &[&'a Sent]) -> Vec<&'a Sent> {
    sent.iter()
        .copied()
        .filter(|s| s.method == "sendvideo")
        .collect()
}

/// The video's stream lengths, read by ffprobe.
fn lengths(video: &[u8], dir: &Path) -> (f64, f64) {
    let path = dir.join("received.mp4");
    std::fs::write(&path, video).expect("write");
    (common::duration(&path, "v"), common::duration(&path, "a"))
}

/// A selfie, then "make my avatar say hello there": the answer, the status message edited
/// with the stage and percent, one video with both streams, and "Done!" at the end.
fn round_trip(stack: &Stack, anna: &Chat) -> Vec<Sent> {
    stack.send_selfie(anna);
    stack.wait(anna, "photo answer", |s| {
        texts(s).iter().any(|t| t.contains("Got your photo"))
    });
    stack
        .telegram
        .send_text(anna, "make my avatar say hello there");
    let sent = stack.wait(anna, "video", |s| !videos(s).is_empty());
    let refs: Vec<&Sent> = sent.iter().collect();
    let all = texts(&refs);
    assert!(all.iter().any(|t| t.contains("in line")), "{all:#?}");
    let edits: Vec<&Sent> = refs
        .iter()
        .copied()
        .filter(|s| s.method == "editmessagetext")
        .collect();
    assert!(
        edits.iter().any(|e| e
            .text
            .as_deref()
            .is_some_and(|t| t.contains("Making your video") && t.contains('%'))),
        "{:#?}",
        summary(&sent)
    );
    let video = videos(&refs)[0];
    assert!(video.caption.as_deref().is_some_and(|c| !c.is_empty()));
    let dir = tempfile::tempdir().expect("tempdir");
    let (v, a) = lengths(video.file.as_deref().unwrap_or_default(), dir.path());
    assert!(v > 0.5 && (v - a).abs() < 0.1, "video {v} s, audio {a} s");
    // The status message ends as done, after the video is posted.
    let done = stack.wait(anna, "final edit", |s| {
        texts(s).last().is_some_and(|t| t.contains("Done!"))
    });
    assert_eq!(videos(&done.iter().collect::<Vec<_>>()).len(), 1);
    assert_eq!(
        stack.telegram.violations(),
        Vec::<String>::new(),
        "{}",
        stack.bot_log()
    );
    done
}

#[test]
fn a_selfie_then_words_come_back_as_a_video() {
    let stack = Stack::new(&[]);
    round_trip(&stack, &Chat::private(1001, "Anna"));
    // The bot asked for messages and button presses.
    let kinds = stack.telegram.allowed_updates().expect("allowed_updates");
    for kind in ["message", "callback_query"] {
        assert!(
            kinds
                .as_array()
                .is_some_and(|k| k.iter().any(|v| v == kind)),
            "{kinds}"
        );
    }
}

#[test]
fn the_round_trip_with_s3_and_postgres_keeps_its_files_and_record() {
    let stack = Stack::with(
        &[],
        Services {
            record_and_s3: true,
            ..Services::default()
        },
    );
    let anna = Chat::private(1011, "Anna");
    let sent = round_trip(&stack, &anna);
    let video = videos(&sent.iter().collect::<Vec<_>>())[0].clone();
    // The job's result and the selfie are objects in the bucket, not in the folder.
    let job = stack.psql("SELECT id FROM jobs WHERE user_id = 'telegram:1011'");
    assert_eq!(job.len(), 32, "one job in the record: {job:?}");
    let s3 = stack.s3.as_ref().expect("s3");
    let result = common::s3_get(s3, &format!("results/{job}.mp4"));
    assert_eq!(
        result.as_deref(),
        video.file.as_deref(),
        "the posted video is the result"
    );
    let uploads = common::s3_list(s3, "users/telegram/1011/");
    assert!(uploads.iter().any(|k| k.contains("photo-")), "{uploads:?}");
    assert!(
        std::fs::read_dir(stack.store.path())
            .map(|d| d
                .filter_map(Result::ok)
                .all(|e| e.path().extension().is_some_and(|x| x == "log")))
            .unwrap_or(true),
        "nothing but logs in the store folder"
    );
    // The record: the job done, its events, and the delivery.
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.psql("SELECT count(*) FROM deliveries") != "1" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(stack.psql("SELECT count(*) FROM deliveries"), "1");
    assert_eq!(
        stack.psql(&format!("SELECT state FROM jobs WHERE id = '{job}'")),
        "done"
    );
    assert_eq!(
        stack.psql(&format!(
            "SELECT count(*) FROM job_events WHERE job_id = '{job}' AND kind = 'done'"
        )),
        "1"
    );
}

#[test]
fn a_selfie_and_a_voice_note_speak_the_note() {
    let stack = Stack::new(&[]);
    let ben = Chat::private(1002, "Ben");
    let dir = tempfile::tempdir().expect("tempdir");
    let note = common::voice_note(
        dir.path(),
        "This is my own voice, speaking in a note.",
        "ogg",
    );
    let note_s = common::duration(&note, "a");
    stack.send_selfie(&ben);
    stack.wait(&ben, "photo answer", |s| !s.is_empty());
    stack.telegram.send_voice(
        &ben,
        std::fs::read(&note).expect("note"),
        note_s.ceil() as u32,
    );
    let sent = stack.wait(&ben, "video", |s| !videos(s).is_empty());
    let refs: Vec<&Sent> = sent.iter().collect();
    let (v, a) = lengths(
        videos(&refs)[0].file.as_deref().unwrap_or_default(),
        dir.path(),
    );
    assert!((a - note_s).abs() < 0.15, "audio {a} s, note {note_s} s");
    assert!((v - a).abs() < 0.1, "video {v} s, audio {a} s");
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn commands_refusals_and_a_photo_without_a_face_get_their_answers() {
    let stack = Stack::new(&[
        ("SPINBOT_RENDER_BURST", "2"),
        ("SPINBOT_RENDERS_PER_HOUR", "2"),
    ]);
    let cleo = Chat::private(1003, "Cleo");
    let count = |n: usize| move |s: &[&Sent]| texts(s).len() >= n;
    stack.telegram.send_text(&cleo, "/status");
    let sent = stack.wait(&cleo, "status answer", count(1));
    assert!(
        sent[0]
            .text
            .as_deref()
            .is_some_and(|t| t.contains("no videos yet")),
        "{:#?}",
        summary(&sent)
    );
    // A photo with no face: the render fails and the status message says why.
    let fruits = std::fs::read(common::photo("fruits.jpg")).expect("photo");
    stack
        .telegram
        .send_photo(&cleo, &[(512, 512, fruits)], Some("say hi"));
    stack.wait(&cleo, "no-face answer", |s| {
        texts(s).iter().any(|t| t.contains("couldn't find a face"))
    });
    // A real render, cancelled at once.
    stack.send_selfie(&cleo);
    stack.telegram.send_text(
        &cleo,
        "say this is a rather long sentence so that there is time to cancel it",
    );
    stack.wait(&cleo, "queued answer", |s| {
        texts(s).iter().filter(|t| t.contains("queued")).count() >= 2
    });
    stack.telegram.send_text(&cleo, "/cancel");
    stack.wait(&cleo, "cancel answer", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("Cancelled your video") || t.contains("Stopping your video"))
    });
    // The third render this hour is over the limit.
    stack.telegram.send_text(&cleo, "say one more");
    let sent = stack.wait(&cleo, "rate limit answer", |s| {
        texts(s).iter().any(|t| t.contains("try again in"))
    });
    assert!(videos(&sent.iter().collect::<Vec<_>>()).is_empty());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_bot_restarted_mid_render_delivers_exactly_once() {
    let mut stack = Stack::new(&[]);
    let dan = Chat::private(1004, "Dan");
    stack.send_selfie(&dan);
    stack.wait(&dan, "photo answer", |s| !s.is_empty());
    stack.telegram.send_text(
        &dan,
        "say Good morning everyone, this is a longer message so the render takes a few seconds.",
    );
    stack.wait(&dan, "queued answer", |s| {
        texts(s).iter().any(|t| t.contains("queued"))
    });
    stack.kill_bot();
    stack.start_bot();
    let sent = stack.wait(&dan, "video", |s| !videos(s).is_empty());
    // Give a duplicate every chance to appear.
    std::thread::sleep(Duration::from_secs(3));
    let all: Vec<Sent> = stack.sent_to(&dan);
    assert_eq!(
        videos(&all.iter().collect::<Vec<_>>()).len(),
        1,
        "{:#?}",
        summary(&all)
    );
    assert!(!sent.is_empty());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn two_users_at_once_each_see_only_their_own_jobs() {
    let stack = Stack::new(&[]);
    let (eve, fay) = (Chat::private(1005, "Eve"), Chat::private(1006, "Fay"));
    for chat in [&eve, &fay] {
        stack.send_selfie(chat);
    }
    stack.telegram.send_text(&eve, "say I am Eve");
    stack.telegram.send_text(&fay, "say I am Fay");
    let eve_sent = stack.wait(&eve, "Eve's video", |s| !videos(s).is_empty());
    let fay_sent = stack.wait(&fay, "Fay's video", |s| !videos(s).is_empty());
    assert_eq!(videos(&eve_sent.iter().collect::<Vec<_>>()).len(), 1);
    assert_eq!(videos(&fay_sent.iter().collect::<Vec<_>>()).len(), 1);
    // Fay asks about her latest job; the answer names hers, never Eve's.
    stack.telegram.send_text(&fay, "/status");
    let fay_all = stack.wait(&fay, "status", |s| {
        texts(s).iter().any(|t| t.contains("is ready"))
    });
    let eve_ids: Vec<String> = texts(&eve_sent.iter().collect::<Vec<_>>())
        .iter()
        .filter_map(|t| {
            t.split_whitespace()
                .find(|w| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit()))
                .map(str::to_owned)
        })
        .collect();
    for t in texts(&fay_all.iter().collect::<Vec<_>>()) {
        assert!(!eve_ids.iter().any(|id| t.contains(id)), "{t}");
    }
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_flooding_chat_is_asked_once_to_slow_down() {
    let stack = Stack::new(&[]);
    let gus = Chat::private(1007, "Gus");
    for _ in 0..14 {
        stack.telegram.send_text(&gus, "/voices");
    }
    let sent = stack.wait(&gus, "answers", |s| {
        texts(s).iter().any(|t| t.contains("very fast"))
    });
    std::thread::sleep(Duration::from_secs(1));
    let all: Vec<Sent> = stack.sent_to(&gus);
    let refs: Vec<&Sent> = all.iter().collect();
    let answers = texts(&refs);
    assert_eq!(
        answers.iter().filter(|t| t.contains("very fast")).count(),
        1,
        "{answers:#?}"
    );
    assert!(
        answers.iter().filter(|t| t.contains("Voices")).count() <= 11,
        "{answers:#?}"
    );
    assert!(
        answers.len() < 14,
        "some messages were dropped: {answers:#?}"
    );
    assert!(!sent.is_empty());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn groups_need_a_mention_and_big_or_odd_files_get_a_sentence() {
    let stack = Stack::new(&[]);
    let group = Chat::group(-100_555, "Friends", 1008, "Hal");
    stack.telegram.send_text(&group, "/voices");
    stack
        .telegram
        .send_text(&group, "@spinbot_test_bot which voices do you have?");
    let sent = stack.wait(&group, "an answer to the mention", |s| !s.is_empty());
    std::thread::sleep(Duration::from_secs(1));
    let all: Vec<Sent> = stack.sent_to(&group);
    assert_eq!(
        all.len(),
        1,
        "only the mention is answered: {:#?}",
        summary(&all)
    );
    assert!(sent[0]
        .text
        .as_deref()
        .is_some_and(|t| t.contains("Voices")));
    let ivy = Chat::private(1009, "Ivy");
    stack
        .telegram
        .send_document(&ivy, vec![0u8; 21_000_000], "huge.jpg", "image/jpeg");
    stack.wait(&ivy, "too-big answer", |s| {
        texts(s).iter().any(|t| t.contains("too big"))
    });
    stack
        .telegram
        .send_document(&ivy, b"%PDF-1.4".to_vec(), "cv.pdf", "application/pdf");
    stack.wait(&ivy, "odd-file answer", |s| {
        texts(s).iter().any(|t| t.contains("photos"))
    });
    stack
        .telegram
        .send_document(&ivy, b"GIF89a not a photo".to_vec(), "a.jpg", "image/jpeg");
    stack.wait(&ivy, "wrong-type answer", |s| {
        texts(s).iter().any(|t| t.contains("isn't a JPEG"))
    });
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

/// Messages sent to `chat` at or after `since`.
fn since<'a>(sent: &'a [Sent], chat: &Chat, since: Instant) -> Vec<&'a Sent> {
    sent.iter()
        .filter(|s| s.chat_id == chat.id && s.at >= since)
        .collect()
}

#[test]
fn a_held_upload_in_one_chat_delays_no_other_chat() {
    let stack = Stack::with(
        &[],
        Services {
            concurrency: Some(2),
            ..Services::default()
        },
    );
    let (ada, bo) = (Chat::private(1021, "Ada"), Chat::private(1022, "Bo"));
    for chat in [&ada, &bo] {
        stack.send_selfie(chat);
        stack.wait(chat, "photo answer", |s| !s.is_empty());
    }
    // Ada's upload will hang (a slow network, or a chat that Telegram throttles).
    stack.telegram.hold_uploads(&ada);
    stack.telegram.send_text(&ada, "say Hi, Bo!");
    stack.wait(&ada, "queued answer", |s| {
        texts(s).iter().any(|t| t.contains("queued"))
    });
    // Bo's clip is long (about 20 s): still rendering when Ada's is posted.
    stack.telegram.send_text(
        &bo,
        "say Hello Ada! This is a much longer message, so that mine is still being made when \
         yours is already done and on its way to you. The weather was lovely this morning, \
         the cake on Sunday was even better, and the roses in the garden are finally out. \
         That should be enough for now, so goodbye, and see you soon!",
    );
    stack.wait(&bo, "queued answer", |s| {
        texts(s).iter().any(|t| t.contains("queued"))
    });
    // Ada's video is done and its upload is held.
    let deadline = Instant::now() + RENDER_WAIT;
    while stack.telegram.held_uploads(&ada) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(stack.telegram.held_uploads(&ada), 1, "{}", stack.bot_log());
    let held_at = Instant::now();
    // Bo's progress and video still come.
    stack.wait(&bo, "video", |s| !videos(s).is_empty());
    let all = stack.telegram.sent();
    let bo_after = since(&all, &bo, held_at);
    let timeline: Vec<String> = all
        .iter()
        .map(|s| {
            let at = if s.at >= held_at {
                format!("+{:.2}", (s.at - held_at).as_secs_f64())
            } else {
                format!("-{:.2}", (held_at - s.at).as_secs_f64())
            };
            format!("{at} {} {}", s.chat_id, summary(std::slice::from_ref(s))[0])
        })
        .collect();
    assert!(
        bo_after
            .iter()
            .any(|s| s.method == "editmessagetext"
                && s.text.as_deref().is_some_and(|t| t.contains('%'))),
        "Bo saw no progress while Ada's upload was held: {timeline:#?}\n{}",
        stack.bot_log()
    );
    assert_eq!(videos(&bo_after).len(), 1);
    // Ada's upload is still held, and nothing of hers was posted meanwhile.
    assert_eq!(stack.telegram.held_uploads(&ada), 1);
    assert!(videos(&since(&all, &ada, held_at)).is_empty());
    // Released, it arrives once.
    stack.telegram.release_uploads(&ada);
    let ada_sent = stack.wait(&ada, "video", |s| !videos(s).is_empty());
    assert_eq!(videos(&ada_sent.iter().collect::<Vec<_>>()).len(), 1);
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn redis_killed_and_restarted_under_a_running_farm_loses_nothing() {
    let mut stack = Stack::with(
        &[("SPINBOT_LEASE_MS", "10000")],
        Services {
            durable_redis: true,
            record_and_s3: true,
            ..Services::default()
        },
    );
    let chats = [
        Chat::private(1031, "Cy"),
        Chat::private(1032, "Di"),
        Chat::private(1033, "Ed"),
    ];
    for chat in &chats {
        stack.send_selfie(chat);
        stack.wait(chat, "photo answer", |s| !s.is_empty());
    }
    // Two jobs accepted before the kill: one rendering, one waiting.
    for (chat, words) in chats[..2]
        .iter()
        .zip(["say First of all.", "say Second in line."])
    {
        stack.telegram.send_text(chat, words);
        stack.wait(chat, "queued answer", |s| {
            texts(s).iter().any(|t| t.contains("queued"))
        });
    }
    stack.redis.kill();
    std::thread::sleep(Duration::from_secs(2));
    stack.redis.start_again();
    // A job accepted after the restart, by the same processes.
    stack
        .telegram
        .send_text(&chats[2], "say After the restart.");
    stack.wait(&chats[2], "queued answer", |s| {
        texts(s).iter().any(|t| t.contains("queued"))
    });
    for chat in &chats {
        let sent = stack.wait(chat, "video", |s| !videos(s).is_empty());
        assert!(!sent.is_empty());
    }
    // Each job recorded once, done once, and delivered once.
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.psql("SELECT count(*) FROM deliveries") != "3" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    for chat in &chats {
        let mine: Vec<Sent> = stack.sent_to(chat);
        assert_eq!(
            videos(&mine.iter().collect::<Vec<_>>()).len(),
            1,
            "{}",
            chat.id
        );
        let user = format!("telegram:{}", chat.id);
        let job = stack.psql(&format!("SELECT id FROM jobs WHERE user_id = '{user}'"));
        assert_eq!(job.len(), 32, "{user}: one job recorded: {job:?}");
        assert_eq!(
            stack.psql(&format!(
                "SELECT count(*) FROM job_events WHERE job_id = '{job}' AND kind = 'done'"
            )),
            "1",
            "{user}"
        );
        assert_eq!(
            stack.psql(&format!(
                "SELECT count(*) FROM deliveries WHERE job_id = '{job}'"
            )),
            "1",
            "{user}"
        );
    }
    stack.assert_running();
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}
