//! Round trips through Telegram: teloxide inside `spinbot bot telegram` against a fake Bot
//! API, with the real job plane (Redis, a store folder) and a real `spinbot worker`. What a
//! person sees: the answer, the status message edited with stages, and the MP4.

mod common;

use spinbot_testkit::fake_telegram::{Chat, Sent};
use spinbot_testkit::{FakeTelegram, RedisServer};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "123456:TEST-token";
const RENDER_WAIT: Duration = Duration::from_secs(180);

struct Stack {
    redis: RedisServer,
    store: tempfile::TempDir,
    telegram: FakeTelegram,
    env: Vec<(String, String)>,
    worker: Option<Child>,
    bot: Option<Child>,
}

impl Stack {
    fn new(env: &[(&str, &str)]) -> Self {
        let mut stack = Self {
            redis: RedisServer::start(false),
            store: tempfile::tempdir().expect("tempdir"),
            telegram: FakeTelegram::start(TOKEN),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            worker: None,
            bot: None,
        };
        stack.worker = Some(
            stack
                .command()
                .args(["worker", "--device", "cpu", "--name", "w1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
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
            .env_remove("DATABASE_URL");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
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
        std::fs::read_to_string(self.store.path().join("bot.log")).unwrap_or_default()
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

#[test]
fn a_selfie_then_words_come_back_as_a_video() {
    let stack = Stack::new(&[]);
    let anna = Chat::private(1001, "Anna");
    stack.send_selfie(&anna);
    stack.wait(&anna, "photo answer", |s| {
        texts(s).iter().any(|t| t.contains("Got your photo"))
    });
    stack
        .telegram
        .send_text(&anna, "make my avatar say hello there");
    let sent = stack.wait(&anna, "video", |s| !videos(s).is_empty());
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
    let done = stack.wait(&anna, "final edit", |s| {
        texts(s).last().is_some_and(|t| t.contains("Done!"))
    });
    assert_eq!(videos(&done.iter().collect::<Vec<_>>()).len(), 1);
    assert_eq!(
        stack.telegram.violations(),
        Vec::<String>::new(),
        "{}",
        stack.bot_log()
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
    let all: Vec<Sent> = stack
        .telegram
        .sent()
        .into_iter()
        .filter(|s| s.chat_id == dan.id)
        .collect();
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
    let all: Vec<Sent> = stack
        .telegram
        .sent()
        .into_iter()
        .filter(|s| s.chat_id == gus.id)
        .collect();
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
    let all: Vec<Sent> = stack
        .telegram
        .sent()
        .into_iter()
        .filter(|s| s.chat_id == group.id)
        .collect();
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
