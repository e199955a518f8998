//! Round trips through Telegram: teloxide inside `spinbot bot telegram` against a fake Bot
//! API, with the real job plane (Redis; a store folder, or SeaweedFS's S3 and PostgreSQL)
//! and a real `spinbot worker`. What a person sees: the answer, the status message edited
//! with stages, and the MP4; and what survives: Redis killed under a running farm, a chat
//! whose upload hangs.

mod common;

use spinbot_testkit::fake_telegram::{Chat, Sent};
use spinbot_testkit::{FakeTelegram, PostgresServer, RedisServer, SeaweedServer};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "123456:TEST-token";
const RENDER_WAIT: Duration = Duration::from_secs(180);
/// The longest wait for a chat's many videos.
const VIDEOS_WAIT: Duration = Duration::from_secs(420);

/// How Redis keeps its data.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Durability {
    #[default]
    None,
    /// The append-only file fsynced every second (as `make services` runs it).
    EverySec,
}

/// What runs beside the bot.
struct Services {
    redis: Durability,
    /// PostgreSQL (the record) and SeaweedFS (S3) instead of a store folder.
    record_and_s3: bool,
    /// Worker processes (0: the test plays the worker).
    workers: usize,
}

impl Default for Services {
    fn default() -> Self {
        Self {
            redis: Durability::None,
            record_and_s3: false,
            workers: 1,
        }
    }
}

struct Stack {
    redis: RedisServer,
    postgres: Option<PostgresServer>,
    s3: Option<SeaweedServer>,
    store: tempfile::TempDir,
    telegram: FakeTelegram,
    env: Vec<(String, String)>,
    workers: Vec<Child>,
    bot: Option<Child>,
}

impl Stack {
    fn new(env: &[(&str, &str)]) -> Self {
        Self::with(env, Services::default())
    }

    fn with(env: &[(&str, &str)], services: Services) -> Self {
        let redis = match services.redis {
            Durability::None => RedisServer::start(false),
            Durability::EverySec => RedisServer::start_everysec(),
        };
        let mut stack = Self {
            redis,
            postgres: services.record_and_s3.then(PostgresServer::start),
            s3: services.record_and_s3.then(SeaweedServer::start),
            store: tempfile::tempdir().expect("tempdir"),
            telegram: FakeTelegram::start(TOKEN),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            workers: Vec::new(),
            bot: None,
        };
        for w in 1..=services.workers {
            let mut worker = stack.command();
            worker.args(["worker", "--device", "cpu", "--name", &format!("w{w}")]);
            let log = stack.log("worker.log");
            stack.workers.push(
                worker
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .expect("worker"),
            );
        }
        stack.start_bot();
        stack
    }

    /// A log file of the stack's (appended to by every process that writes it).
    fn log(&self, name: &str) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.store.path().join(name))
            .expect("log")
    }

    /// The stack's job plane, as a test playing the worker uses it.
    fn queue(&self) -> spinbot_jobs::Queue {
        spinbot_jobs::Queue::new(spinbot_jobs::QueueConfig {
            redis_url: self.redis.url(),
            ..spinbot_jobs::QueueConfig::default()
        })
        .expect("queue")
    }

    fn command(&self) -> Command {
        let mut cmd = common::spinbot();
        cmd.env("REDIS_URL", self.redis.url())
            .env("SPINBOT_STORE", self.store.path())
            // Chat flows, not pictures: small videos keep the suite quick.
            .env("SPINBOT_MAX_SIDE", "360")
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", self.telegram.url())
            .env("RUST_LOG", "info")
            // Asking for a voice before the first video has its own test.
            .env("SPINBOT_SKIP_VOICE_QUESTION", "1")
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
        let bot = self.bot.as_mut().expect("started");
        for child in self.workers.iter_mut().chain([bot]) {
            assert!(
                matches!(child.try_wait(), Ok(None)),
                "a process exited; bot log:\n{log}"
            );
        }
    }

    fn bot_log_text(&self) -> String {
        std::fs::read_to_string(self.store.path().join("bot.log")).unwrap_or_default()
    }

    fn start_bot(&mut self) {
        let log = self.log("bot.log");
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
        self.wait_up_to(RENDER_WAIT, chat, what, done)
    }

    /// [`Stack::wait`] with its own limit.
    fn wait_up_to(
        &self,
        limit: Duration,
        chat: &Chat,
        what: &str,
        done: impl Fn(&[&Sent]) -> bool,
    ) -> Vec<Sent> {
        let sent = self.telegram.wait_for(limit, |all| {
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
        for w in &mut self.workers {
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
    let (v, a) = common::lengths(video.file.as_deref().unwrap_or_default(), dir.path());
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
    let (v, a) = common::lengths(
        videos(&refs)[0].file.as_deref().unwrap_or_default(),
        dir.path(),
    );
    assert!((a - note_s).abs() < 0.15, "audio {a} s, note {note_s} s");
    assert!((v - a).abs() < 0.1, "video {v} s, audio {a} s");
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_new_user_is_asked_for_a_voice_once_before_the_first_video() {
    let stack = Stack::with(
        &[("SPINBOT_SKIP_VOICE_QUESTION", "0")],
        Services {
            workers: 0,
            ..Services::default()
        },
    );
    let fay = Chat::private(1012, "Fay");
    stack.send_selfie(&fay);
    stack.telegram.send_text(&fay, "say hello from the lake");
    let sent = stack.wait(&fay, "the voice question", |s| {
        texts(s).iter().any(|t| t.contains("which voice"))
    });
    let question = texts(&sent.iter().collect::<Vec<_>>()).join("\n");
    assert!(question.contains("bf_emma"), "{question}");
    assert!(!question.contains("queued"), "{question}");
    // A description answers it: the voice is kept and the video queued with it.
    stack.telegram.send_text(&fay, "a British woman");
    stack.wait(&fay, "the queued answer", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("bf_emma") && t.contains("queued"))
    });
    // The next video is not asked about.
    stack.telegram.send_text(&fay, "say see you soon");
    let sent = stack.wait(&fay, "the second queued answer", |s| {
        texts(s).iter().filter(|t| t.contains("queued")).count() >= 2
    });
    let asked = texts(&sent.iter().collect::<Vec<_>>())
        .iter()
        .filter(|t| t.contains("which voice"))
        .count();
    assert_eq!(asked, 1);
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_blocked_user_gets_one_sentence_and_nothing_is_rendered_until_unblocked() {
    let stack = Stack::with(
        &[("SPINBOT_ADMINS", "telegram:1014")],
        Services {
            workers: 0,
            ..Services::default()
        },
    );
    let troll = Chat::private(1013, "Troll");
    stack.send_selfie(&troll);
    stack.wait(&troll, "photo answer", |s| !s.is_empty());
    let admin = |args: &[&str]| {
        let out = stack
            .command()
            .arg("admin")
            .args(args)
            .output()
            .expect("admin");
        assert!(out.status.success(), "{}", common::stderr(&out));
    };
    admin(&["block", "telegram:1013", "--reason", "abuse"]);
    // A blocked user's file is never downloaded, so never stored: the sentence comes first.
    let downloads = |stack: &Stack| {
        stack
            .telegram
            .calls()
            .iter()
            .filter(|c| *c == "getfile")
            .count()
    };
    let before = downloads(&stack);
    assert!(before >= 1, "the first selfie was downloaded");
    stack.send_selfie(&troll);
    stack.wait(&troll, "the blocked answer to a selfie", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("can't make videos here"))
    });
    assert_eq!(downloads(&stack), before);
    stack.telegram.send_text(&troll, "say you can't stop me");
    let sent = stack.wait(&troll, "the blocked answer", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("can't make videos here"))
    });
    let all = texts(&sent.iter().collect::<Vec<_>>());
    assert!(!all.iter().any(|t| t.contains("queued")), "{all:?}");
    assert!(!all.iter().any(|t| t.contains("abuse")), "{all:?}");
    let user = spinbot_core::UserId::parse("telegram:1013").expect("user");
    let mut con = redis::Client::open(stack.redis.url())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let key = common::block_on(async { stack.queue().keys().user_jobs(&user) });
    let jobs: Vec<String> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .expect("the user's jobs");
    assert!(jobs.is_empty(), "{jobs:?}");
    // Unblocked, the same request works.
    admin(&["unblock", "telegram:1013"]);
    stack.telegram.send_text(&troll, "say hello again");
    stack.wait(&troll, "the queued answer", |s| {
        texts(s).iter().any(|t| t.contains("queued"))
    });
    // An admin (SPINBOT_ADMINS) does the same from chat; nobody else can.
    let (boss, nosy) = (Chat::private(1014, "Boss"), Chat::private(1015, "Nosy"));
    stack.telegram.send_text(&nosy, "/block 1013");
    stack.wait(&nosy, "the refusal", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("Only this bot's admins"))
    });
    stack.telegram.send_text(&boss, "/block 1013 spam");
    stack.wait(&boss, "the block", |s| {
        texts(s).iter().any(|t| t.contains("Blocked telegram:1013"))
    });
    stack.telegram.send_text(&troll, "say I am back");
    stack.wait(&troll, "the blocked answer again", |s| {
        texts(s)
            .iter()
            .filter(|t| t.contains("can't make videos here"))
            .count()
            == 3
    });
    stack.telegram.send_text(&boss, "/blocked");
    stack.wait(&boss, "the list", |s| {
        texts(s).iter().any(|t| t.contains("telegram:1013: spam"))
    });
    stack.telegram.send_text(&boss, "/unblock 1013");
    stack.wait(&boss, "the unblock", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("Unblocked telegram:1013"))
    });
    stack.telegram.send_text(&troll, "say hello once more");
    stack.wait(&troll, "the second queued answer", |s| {
        texts(s).iter().filter(|t| t.contains("queued")).count() >= 2
    });
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
    let stack = Stack::new(&[]);
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
    // Ada's video is done and its upload is held.
    until("held upload", || stack.telegram.held_uploads(&ada) == 1);
    let held_at = Instant::now();
    // Only now does Bo ask: his answer, his progress and his video all come while Ada's
    // upload hangs (no race between two renders on a busy machine decides this).
    stack
        .telegram
        .send_text(&bo, "say Hello Ada, how was the cake on Sunday?");
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
        texts(&bo_after).iter().any(|t| t.contains("queued")),
        "Bo got no answer while Ada's upload was held: {timeline:#?}"
    );
    assert!(
        bo_after
            .iter()
            .any(|s| s.method == "editmessagetext"
                && s.text.as_deref().is_some_and(|t| t.contains('%'))),
        "Bo saw no progress while Ada's upload was held: {timeline:#?}\n{}",
        stack.bot_log()
    );
    assert_eq!(videos(&bo_after).len(), 1);
    // Ada's upload is still unanswered: her bot is still waiting on it.
    assert_eq!(stack.telegram.held_uploads(&ada), 1);
    let ada_sent = stack.sent_to(&ada);
    let ada_texts = texts(&ada_sent.iter().collect::<Vec<_>>());
    assert!(!ada_texts.iter().any(|t| t == "✅ Done!"), "{ada_texts:#?}");
    // Answered, her status ends done, with her one video.
    stack.telegram.release_uploads(&ada);
    let ada_sent = stack.wait(&ada, "final edit", |s| {
        texts(s).last().is_some_and(|t| t == "✅ Done!")
    });
    assert_eq!(videos(&ada_sent.iter().collect::<Vec<_>>()).len(), 1);
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

/// Waits until `sent` to `chat` holds `n` answers saying the video is queued.
fn wait_queued(stack: &Stack, chat: &Chat, n: usize) {
    stack.wait(chat, "queued answers", |s| {
        texts(s).iter().filter(|t| t.contains("queued")).count() >= n
    });
}

/// Waits for `n` videos in `chat` (renders queued behind many others, on a busy machine),
/// then a moment for more (that would be duplicates).
fn wait_videos(stack: &Stack, chat: &Chat, n: usize) -> usize {
    stack.wait_up_to(VIDEOS_WAIT, chat, "videos", |s| videos(s).len() >= n);
    std::thread::sleep(Duration::from_secs(3));
    videos(&stack.sent_to(chat).iter().collect::<Vec<_>>()).len()
}

#[test]
fn redis_killed_and_restarted_under_a_running_farm_loses_nothing() {
    let mut stack = Stack::with(
        &[
            ("SPINBOT_LEASE_MS", "10000"),
            ("SPINBOT_RENDER_BURST", "100"),
            ("SPINBOT_RENDERS_PER_HOUR", "10000"),
            ("SPINBOT_MAX_QUEUED_PER_USER", "100"),
            ("SPINBOT_FLOOD_PER_SECOND", "100"),
        ],
        Services {
            redis: Durability::EverySec,
            record_and_s3: true,
            workers: 2,
        },
    );
    let chats: Vec<Chat> = (0..5)
        .map(|i| Chat::private(1031 + i, &format!("User{i}")))
        .collect();
    for chat in &chats {
        stack.send_selfie(chat);
        stack.wait(chat, "photo answer", |s| !s.is_empty());
    }
    // 50 jobs from 5 users, each acknowledged (answered "queued") over a second before
    // the kill; some render while Redis dies. (A chat may send 10 messages back to back:
    // the selfie's turn comes back first.)
    std::thread::sleep(Duration::from_millis(2_100));
    for n in 0..10 {
        for chat in &chats {
            stack.telegram.send_text(chat, &format!("say Clip {n}."));
        }
    }
    for chat in &chats {
        wait_queued(&stack, chat, 10);
    }
    std::thread::sleep(Duration::from_millis(1_200));
    stack.redis.kill();
    std::thread::sleep(Duration::from_secs(2));
    stack.redis.start_again();
    // A while later Postgres goes away: what is delivered meanwhile is recorded after.
    std::thread::sleep(Duration::from_secs(3));
    stack.postgres.as_mut().expect("postgres").pause();
    let down_from = stack.telegram.sent().len();
    stack.telegram.wait_for(RENDER_WAIT, |s| {
        s[down_from.min(s.len())..]
            .iter()
            .any(|x| x.method == "sendvideo")
    });
    std::thread::sleep(Duration::from_secs(5));
    stack.postgres.as_mut().expect("postgres").resume();
    for chat in &chats {
        // Every job posted (twice only for a delivery Redis forgot it marked).
        let posted = wait_videos(&stack, chat, 10);
        assert!((10..=11).contains(&posted), "{}: {posted} videos", chat.id);
    }
    // Each job once in the record: one done event, one delivery.
    let deadline = Instant::now() + Duration::from_secs(90);
    while stack.psql("SELECT count(*) FROM deliveries") != "50" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(
        stack.psql("SELECT count(*) FROM deliveries"),
        "50",
        "{}",
        stack.bot_log()
    );
    assert_eq!(stack.psql("SELECT count(*) FROM jobs"), "50");
    assert_eq!(
        stack.psql("SELECT count(*) FROM job_events WHERE kind = 'done'"),
        "50"
    );
    assert_eq!(
        stack.psql(
            "SELECT count(*) FROM jobs j WHERE 1 <> (SELECT count(*) FROM job_events e \
             WHERE e.job_id = j.id AND e.kind = 'done')"
        ),
        "0"
    );
    stack.assert_running();
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

/// A stack with S3 and Postgres whose bot is to be killed: a selfie sent in `chat`.
fn bot_to_kill(chat: &Chat) -> Stack {
    let stack = Stack::with(
        &[],
        Services {
            record_and_s3: true,
            ..Services::default()
        },
    );
    stack.send_selfie(chat);
    stack.wait(chat, "photo answer", |s| !s.is_empty());
    stack
}

/// Waits until `ready` holds (a request reached the fake), or fails with `what`.
fn until(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + RENDER_WAIT;
    while !ready() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ready(), "no {what}");
}

#[test]
fn a_bot_killed_after_submitting_before_answering_still_posts_the_video() {
    let cy = Chat::private(1041, "Cy");
    let mut stack = bot_to_kill(&cy);
    // The answer never leaves: the bot dies after the job was submitted.
    stack.telegram.hold_texts(&cy);
    stack
        .telegram
        .send_text(&cy, "say Killed before my answer went out.");
    until("answer", || stack.telegram.held_texts(&cy) == 1);
    stack.kill_bot();
    stack.telegram.release_texts(&cy);
    stack.start_bot();
    assert_eq!(wait_videos(&stack, &cy, 1), 1, "{}", stack.bot_log());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_bot_killed_during_an_upload_posts_the_video_once_after_a_restart() {
    let di = Chat::private(1042, "Di");
    let mut stack = bot_to_kill(&di);
    // A slow network: the upload takes a minute.
    stack.telegram.set_upload_rate(Some(50_000));
    stack
        .telegram
        .send_text(&di, "say Killed while uploading my video.");
    until("upload", || stack.telegram.uploads_in_progress() == 1);
    stack.kill_bot();
    stack.telegram.set_upload_rate(None);
    stack.start_bot();
    assert_eq!(wait_videos(&stack, &di, 1), 1, "{}", stack.bot_log());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_bot_killed_after_the_upload_before_marking_it_posts_at_most_twice() {
    let ed = Chat::private(1043, "Ed");
    let mut stack = bot_to_kill(&ed);
    // The platform takes the video but its answer never reaches the bot.
    stack.telegram.hold_uploads(&ed);
    stack
        .telegram
        .send_text(&ed, "say Killed before my video was marked sent.");
    until("upload", || stack.telegram.held_uploads(&ed) == 1);
    stack.kill_bot();
    stack.telegram.release_uploads(&ed);
    stack.start_bot();
    // The one window where a duplicate is allowed: the restarted bot cannot know.
    assert_eq!(wait_videos(&stack, &ed, 2), 2, "{}", stack.bot_log());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_status_message_the_user_deleted_is_replaced_and_the_video_still_comes() {
    let fi = Chat::private(1044, "Fi");
    let stack = bot_to_kill(&fi);
    stack.telegram.send_text(
        &fi,
        "say My status message goes away while this clip is being made, and it still comes.",
    );
    let answer = stack.wait(&fi, "queued answer", |s| {
        texts(s).iter().any(|t| t.contains("queued"))
    });
    let status = answer
        .iter()
        .find(|s| s.text.as_deref().is_some_and(|t| t.contains("queued")))
        .map(|s| s.message_id)
        .expect("the status message");
    stack.telegram.delete_message(&fi, status);
    let sent = stack.wait(&fi, "video", |s| !videos(s).is_empty());
    let refs: Vec<&Sent> = sent.iter().collect();
    assert_eq!(videos(&refs).len(), 1);
    // A new status message took the deleted one's place.
    assert!(
        sent.iter().any(|s| s.method == "sendmessage"
            && s.message_id > status
            && s.text.as_deref().is_some_and(|t| t.contains("video"))),
        "{:#?}",
        summary(&sent)
    );
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_50_mb_video_over_a_slow_link_is_posted_once() {
    let stack = Stack::with(
        &[],
        Services {
            record_and_s3: true,
            workers: 0,
            ..Services::default()
        },
    );
    let gil = Chat::private(1045, "Gil");
    // 10 Mbit/s: the upload takes 40 s, far past the HTTP client's default 17 s.
    stack.telegram.set_upload_rate(Some(1_250_000));
    let video = vec![7u8; 49_000_000];
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("big.mp4");
    std::fs::write(&file, &video).expect("write");
    // The test plays the worker: a job for Gil's chat, done with a 49 MB video.
    let s3 = common::s3_store(stack.s3.as_ref().expect("s3"));
    common::block_on(async {
        use spinbot_core::job::ReplyTo;
        use spinbot_core::{JobClass, JobId, Plan, SpeechText, UserId};
        let queue = stack.queue();
        let user = UserId::parse("telegram:1045").expect("user");
        let plan = Plan::say(SpeechText::parse("big").expect("text"), "photo");
        let chat = ReplyTo {
            platform: "telegram".into(),
            chat: gil.id.to_string(),
            message: None,
        };
        let job = JobId::new();
        let admitted = queue
            .submit_as(job.clone(), &user, &plan, JobClass::Any, Some(&chat), None)
            .await
            .expect("submit");
        assert!(matches!(admitted, spinbot_jobs::Admission::Accepted { .. }));
        let lease = queue
            .dispatch("test-worker", false)
            .await
            .expect("dispatch")
            .expect("the job");
        let result = spinbot_jobs::keys::result(&job);
        s3.put_file(&result, &file).await.expect("the result");
        let done = spinbot_jobs::Outcome::Done { result };
        queue
            .finish("test-worker", &lease, &done)
            .await
            .expect("finish");
    });
    let sent = stack.wait(&gil, "the video", |s| !videos(s).is_empty());
    std::thread::sleep(Duration::from_secs(3));
    let all = stack.sent_to(&gil);
    let posted = videos(&all.iter().collect::<Vec<_>>());
    assert_eq!(posted.len(), 1, "{}", stack.bot_log());
    assert_eq!(posted[0].file.as_ref().map(Vec::len), Some(video.len()));
    assert!(!sent.is_empty());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn forgetting_a_user_with_a_running_job_leaves_nothing_of_them() {
    let mut stack = Stack::with(
        &[],
        Services {
            record_and_s3: true,
            ..Services::default()
        },
    );
    let hal = Chat::private(1046, "Hal");
    let ivy = Chat::private(1047, "Ivy");
    // Ivy's things stay.
    round_trip(&stack, &ivy);
    stack.send_selfie(&hal);
    stack.wait(&hal, "photo answer", |s| !s.is_empty());
    stack
        .telegram
        .send_text(&hal, "say A first clip that is finished before I leave.");
    stack.wait(&hal, "video", |s| !videos(s).is_empty());
    stack.telegram.send_text(
        &hal,
        "say A long clip that is still being made when I ask to be forgotten, which takes \
         a while, since it goes on for quite some time, sentence after sentence.",
    );
    // Both of Hal's jobs are queued once his list names two of them.
    let deadline = Instant::now() + RENDER_WAIT;
    let jobs: Vec<String> = loop {
        let keys = common::block_on(async { stack.queue().all_keys().await }).expect("keys");
        if let Some(k) = keys.iter().find(|k| k.contains("user_jobs:telegram:1046")) {
            let mut con = redis::Client::open(stack.redis.url())
                .and_then(|c| c.get_connection())
                .expect("redis");
            let jobs: Vec<String> = redis::cmd("ZRANGE")
                .arg(k)
                .arg(0)
                .arg(-1)
                .query(&mut con)
                .expect("jobs");
            if jobs.len() == 2 {
                break jobs;
            }
        }
        assert!(Instant::now() < deadline, "Hal's second job never queued");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Rendering now; then Hal asks to be forgotten.
    stack.wait(&hal, "progress", |s| {
        texts(s).iter().any(|t| t.contains("animating"))
    });
    stack.telegram.send_text(&hal, "/forget");
    stack.wait(&hal, "forget question", |s| {
        texts(s).iter().any(|t| t.contains("Reply \"yes\""))
    });
    stack.telegram.send_text(&hal, "yes");
    stack.wait(&hal, "forget answer", |s| {
        texts(s).iter().any(|t| t.contains("I deleted"))
    });
    // Once the running job ends, nothing anywhere names Hal or his jobs.
    // Hal's id as a whole word: a stream entry id such as `1796211046053-0` holds the digits
    // 1046 too, and is not his (CI once failed on Ivy's events for that).
    let mentions = |text: &str| {
        text.match_indices("1046").any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + 4..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        }) || jobs.iter().any(|j| text.contains(j.as_str()))
    };
    assert!(mentions("users/telegram/1046/photo.jpg") && mentions(r#"{"chat": "1046"}"#));
    assert!(!mentions("1796211046053-0"));
    let deadline = Instant::now() + RENDER_WAIT;
    let left = loop {
        let keys = common::block_on(async { stack.queue().all_keys().await }).expect("keys");
        let left: Vec<String> = keys.into_iter().filter(|k| mentions(k)).collect();
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(left, Vec::<String>::new(), "{}", stack.bot_log());
    let events =
        common::block_on(async { stack.queue().events("0", 1_000_000).await }).expect("events");
    assert!(!events
        .iter()
        .any(|(_, e)| e.user().as_str() == "telegram:1046"));
    std::thread::sleep(Duration::from_secs(3));
    let objects = common::s3_list(stack.s3.as_ref().expect("s3"), "");
    assert!(!objects.is_empty(), "Ivy's files stay");
    let theirs: Vec<&String> = objects.iter().filter(|k| mentions(k)).collect();
    assert!(theirs.is_empty(), "{theirs:?}");
    for table in [
        "users",
        "avatars",
        "voices",
        "jobs",
        "job_events",
        "artifacts",
        "deliveries",
    ] {
        let rows = stack.psql(&format!("SELECT t::text FROM {table} t"));
        assert!(!rows.lines().any(mentions), "{table}: {rows}");
    }
    assert!(stack.psql("SELECT count(*) FROM users") != "0", "Ivy stays");
    stack.assert_running();
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn buttons_cancel_a_running_video_and_confirm_forgetting() {
    let stack = Stack::new(&[]);
    let ivy = Chat::private(1047, "Ivy");
    stack.send_selfie(&ivy);
    stack.wait(&ivy, "photo answer", |s| {
        texts(s).iter().any(|t| t.contains("Got your photo"))
    });
    stack.telegram.send_text(
        &ivy,
        "say this is a rather long sentence so that there is plenty of time to press the cancel button",
    );
    // The status message carries a Cancel button while the video is being made.
    let sent = stack.wait(&ivy, "progress with a button", |s| {
        s.iter().any(|s| {
            s.method == "editmessagetext"
                && s.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Making your video"))
                && s.buttons.iter().any(|b| b.starts_with("cancel:"))
        })
    });
    let status = sent
        .iter()
        .find(|s| s.buttons.iter().any(|b| b.starts_with("cancel:")))
        .expect("the status message");
    let (message, data) = (status.message_id, status.buttons[0].clone());
    stack.telegram.press(&ivy, message, &data);
    stack.wait(&ivy, "cancel answer", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("Cancelled your video") || t.contains("Stopping your video"))
    });
    // The status message ends without its button, and no video comes.
    let sent = stack.wait(&ivy, "status without a button", |s| {
        s.iter()
            .rev()
            .find(|s| s.message_id == message && s.method == "editmessagetext")
            .is_some_and(|s| s.buttons.is_empty())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(videos(&stack.sent_to(&ivy).iter().collect::<Vec<_>>()).is_empty());
    assert!(!sent.is_empty());
    // /forget asks with a yes button; pressing it deletes.
    stack.telegram.send_text(&ivy, "/forget");
    let sent = stack.wait(&ivy, "forget question", |s| {
        s.iter().any(|s| s.buttons == ["confirm"])
    });
    let question = sent
        .iter()
        .find(|s| s.buttons == ["confirm"])
        .expect("the question");
    assert!(question
        .text
        .as_deref()
        .is_some_and(|t| t.contains("photos, voice notes, videos")));
    stack.telegram.press(&ivy, question.message_id, "confirm");
    stack.wait(&ivy, "forgotten", |s| {
        texts(s).iter().any(|t| t.contains("I deleted"))
    });
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

/// A `127.0.0.1:port` free now.
fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// Every query of the Grafana dashboard: (panel title, expression), panels in rows too.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/grafana/dashboards/spinbot.json"
    );
    let text = std::fs::read_to_string(path).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut panels: Vec<serde_json::Value> =
        dashboard["panels"].as_array().cloned().unwrap_or_default();
    let nested: Vec<serde_json::Value> = panels
        .iter()
        .flat_map(|p| p["panels"].as_array().cloned().unwrap_or_default())
        .collect();
    panels.extend(nested);
    panels
        .iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or_default().to_owned();
            panel["targets"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(move |t| t["expr"].as_str().map(|e| (title.clone(), e.to_owned())))
        })
        .collect()
}

/// The admin's view: the bot and a worker, scraped by a real Prometheus (with the
/// deployment's alert rules), while a chat gets a video, a failed render and a refusal;
/// then every panel of the Grafana dashboard is evaluated through Prometheus's API, and
/// the counts are what the chat did.
#[test]
fn the_dashboard_shows_what_the_chat_did() {
    let (bot_addr, worker_addr) = (free_addr(), free_addr());
    let mut stack = Stack::with(
        &[
            ("SPINBOT_METRICS_ADDR", &bot_addr),
            ("SPINBOT_RENDER_BURST", "2"),
            ("SPINBOT_RENDERS_PER_HOUR", "2"),
        ],
        Services {
            record_and_s3: true,
            workers: 0,
            ..Services::default()
        },
    );
    let log = stack.log("worker.log");
    let worker = stack
        .command()
        .env("SPINBOT_METRICS_ADDR", &worker_addr)
        .args(["worker", "--device", "cpu", "--name", "w1"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("worker");
    stack.workers.push(worker);
    let alerts = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus/alerts.yml");
    let prometheus = spinbot_testkit::PrometheusServer::start(
        &[
            spinbot_testkit::ScrapeJob {
                name: "spinbot-bots",
                targets: vec![bot_addr.clone()],
            },
            spinbot_testkit::ScrapeJob {
                name: "spinbot-workers",
                targets: vec![worker_addr.clone()],
            },
        ],
        &[std::path::Path::new(alerts)],
    );

    // Both targets scraped once before the chat starts, so every rate sees its first step.
    let deadline = Instant::now() + Duration::from_secs(60);
    while prometheus.value("sum(up)") != Some(2.0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        prometheus.value("sum(up)"),
        Some(2.0),
        "{}",
        prometheus.targets()
    );

    // Four messages: a selfie, a video, a photo with no face (a failed render), and one
    // render over the hour's limit (a refusal).
    let gus = Chat::private(1020, "Gus");
    stack.send_selfie(&gus);
    stack.wait(&gus, "photo answer", |s| {
        texts(s).iter().any(|t| t.contains("Got your photo"))
    });
    stack.telegram.send_text(&gus, "say hello there");
    stack.wait(&gus, "video", |s| !videos(s).is_empty());
    let fruits = std::fs::read(common::photo("fruits.jpg")).expect("photo");
    stack
        .telegram
        .send_photo(&gus, &[(512, 512, fruits)], Some("say hi"));
    stack.wait(&gus, "no-face answer", |s| {
        texts(s).iter().any(|t| t.contains("couldn't find a face"))
    });
    stack.telegram.send_text(&gus, "say one more");
    stack.wait(&gus, "rate limit answer", |s| {
        texts(s).iter().any(|t| t.contains("try again in"))
    });
    stack.assert_running();

    // What the chat did, as Prometheus has it once both targets were scraped after it.
    let expected = [
        ("max(spinbot_jobs_total{outcome=\"done\"})", 1.0),
        ("max(spinbot_jobs_total{outcome=\"failed\"})", 1.0),
        ("max(spinbot_refusals_total{reason=\"rate_limited\"})", 1.0),
        (
            "sum(spinbot_chat_messages_total{platform=\"telegram\"})",
            4.0,
        ),
        (
            "sum(spinbot_agent_decisions_total{decider=\"parser\"})",
            3.0,
        ),
        ("sum(spinbot_agent_decision_seconds_count)", 3.0),
        (
            "sum(spinbot_deliveries_total{platform=\"telegram\",outcome=\"posted\"})",
            1.0,
        ),
        ("sum(spinbot_deliveries_total{outcome=\"failed\"})", 0.0),
        (
            "sum(spinbot_delivery_seconds_count{platform=\"telegram\"})",
            1.0,
        ),
        ("sum(spinbot_job_wait_seconds_count)", 2.0),
        ("max(spinbot_queue_jobs{state=\"queued\"})", 0.0),
        ("max(spinbot_workers_live)", 1.0),
        ("sum(up)", 2.0),
    ];
    let seen = || -> Vec<(&str, Option<f64>)> {
        expected
            .iter()
            .map(|(expr, _)| (*expr, prometheus.value(expr)))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = seen();
    while got
        .iter()
        .zip(&expected)
        .any(|((_, v), (_, want))| *v != Some(*want))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(500));
        got = seen();
    }
    let want: Vec<(&str, Option<f64>)> = expected.iter().map(|(e, v)| (*e, Some(*v))).collect();
    assert_eq!(
        got,
        want,
        "targets: {}\n{}",
        prometheus.targets(),
        stack.bot_log()
    );
    // A render happened on this worker: its stages were timed.
    assert!(prometheus.value("sum(spinbot_stage_seconds_count{stage=\"render\"})") >= Some(1.0));

    // Every panel's query answers (the GPU panels have nothing: no GPU here).
    let queries = dashboard_queries();
    let titles: std::collections::BTreeSet<&str> =
        queries.iter().map(|(t, _)| t.as_str()).collect();
    assert!(titles.len() >= 10, "{titles:?}");
    for (title, expr) in &queries {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$__interval", "1m")
            .replace("$__range", "5m");
        let result = prometheus.query(&expr);
        if title.contains("GPU") {
            assert!(
                result.is_empty(),
                "{title}: {expr} gave {result:?} without a GPU"
            );
        } else {
            assert!(!result.is_empty(), "{title}: {expr} gave no data");
        }
    }
    // The per-minute panels show the chat's outcomes.
    let labels = |title: &str, label: &str| -> Vec<String> {
        queries
            .iter()
            .filter(|(t, _)| t == title)
            .flat_map(|(_, e)| prometheus.query(&e.replace("$__rate_interval", "5m")))
            .filter(|s| s["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()) > Some(0.0))
            .filter_map(|s| s["metric"][label].as_str().map(str::to_owned))
            .collect()
    };
    let outcomes = labels("Renders per minute by outcome", "outcome");
    assert!(
        outcomes.contains(&"done".to_owned()) && outcomes.contains(&"failed".to_owned()),
        "{outcomes:?}"
    );
    assert!(labels("Refusals by reason", "reason").contains(&"rate_limited".to_owned()));
    assert!(
        labels("Chat messages per minute by platform", "platform").contains(&"telegram".to_owned())
    );
    // The deployment's alert rules loaded, and none of the chat's events set one off.
    let rules = prometheus.alert_rules();
    assert!(rules.len() >= 6, "{rules:?}\n{}", prometheus.log());
    assert!(prometheus.query("ALERTS{alertstate=\"firing\"}").is_empty());
    // No per-user label anywhere.
    let users = prometheus.query("count by (__name__) ({__name__=~\"spinbot_.+\", user!=\"\"})");
    assert!(users.is_empty(), "{users:?}");
}

/// The jobs `user` has in Redis.
fn jobs_of(stack: &Stack, user: &str) -> Vec<String> {
    let user = spinbot_core::UserId::parse(user).expect("user");
    let mut con = redis::Client::open(stack.redis.url())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let key = common::block_on(async { stack.queue().keys().user_jobs(&user) });
    redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .expect("the user's jobs")
}

#[test]
fn an_anonymous_admin_in_two_groups_is_two_users() {
    let stack = Stack::with(
        &[],
        Services {
            workers: 0,
            ..Services::default()
        },
    );
    // Both arrive from Telegram's one GroupAnonymousBot account; each is their group.
    let alpha = Chat::anonymous_admin(-100_601, "Alpha");
    let beta = Chat::anonymous_admin(-100_602, "Beta");
    let bytes = std::fs::read(common::face_photo()).expect("photo");
    stack.telegram.send_photo(
        &alpha,
        &[(512, 512, bytes)],
        Some("@spinbot_test_bot here is my selfie"),
    );
    stack.wait(&alpha, "the photo answer", |s| !s.is_empty());
    stack.telegram.send_text(
        &beta,
        "@spinbot_test_bot make my avatar say hello from beta",
    );
    stack.wait(&beta, "the answer in beta", |s| {
        texts(s)
            .iter()
            .any(|t| t.contains("Send me a selfie first"))
    });
    stack.telegram.send_text(
        &alpha,
        "@spinbot_test_bot make my avatar say hello from alpha",
    );
    stack.wait(&alpha, "the queued answer in alpha", |s| {
        texts(s).iter().any(|t| t.contains("queued"))
    });
    assert_eq!(jobs_of(&stack, "telegram:-100601").len(), 1);
    assert!(jobs_of(&stack, "telegram:-100602").is_empty());
    let shared = format!(
        "telegram:{}",
        spinbot_testkit::fake_telegram::GROUP_ANONYMOUS_BOT
    );
    assert!(jobs_of(&stack, &shared).is_empty());
    assert_eq!(stack.telegram.violations(), Vec::<String>::new());
}

#[test]
fn a_playlist_sent_as_a_voice_note_is_refused_and_its_file_never_read() {
    let stack = Stack::with(
        &[],
        Services {
            workers: 0,
            ..Services::default()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = common::playlist_notes(dir.path());
    assert!(!notes.is_empty());
    let chat = Chat::private(1031, "Mallory");
    stack.send_selfie(&chat);
    stack.wait(&chat, "the photo answer", |s| !s.is_empty());
    for (n, bytes) in notes.into_iter().enumerate() {
        stack.telegram.send_voice(&chat, bytes, 3);
        stack.wait(&chat, "the refusal", |s| {
            texts(s)
                .iter()
                .filter(|t| t.contains("damaged or truncated") || t.contains("silent or empty"))
                .count()
                > n
        });
    }
    assert!(jobs_of(&stack, "telegram:1031").is_empty());
    let all = stack.telegram.sent();
    let said = texts(&all.iter().collect::<Vec<_>>());
    assert!(!said.iter().any(|t| t.contains("queued")), "{said:?}");
}
