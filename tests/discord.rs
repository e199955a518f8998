//! Round trips through Discord: serenity inside `spinbot bot discord` against a fake
//! Discord (gateway and REST), with the real job plane (Redis; a store folder, or
//! SeaweedFS's S3) and a real `spinbot worker`. What a person sees: a slash command deferred
//! at once, its answer edited with progress, the MP4 as a follow-up; mentions and DMs with a
//! selfie or a voice message; the Cancel button, the voice menu, `/forget`'s confirm; and
//! what survives: a 429, a dropped gateway socket.

mod common;

use spinbot_testkit::fake_discord::{
    File, Person, Place, Sent, DIRECT_MESSAGES, GUILD_MESSAGES, MESSAGE_CONTENT,
};
use spinbot_testkit::{FakeDiscord, FakeTelegram, RedisServer, SeaweedServer};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "MTA4NzY1NDMyMQ.GhIjKl.discord-test-token";
const GUILD: u64 = 800_000_000_000_000_001;
const WAIT: Duration = Duration::from_secs(180);

struct Stack {
    redis: RedisServer,
    s3: Option<SeaweedServer>,
    store: tempfile::TempDir,
    discord: FakeDiscord,
    env: Vec<(String, String)>,
    children: Vec<Child>,
}

impl Stack {
    /// Redis, a worker, and `spinbot bot discord` (commands in the test guild), ready.
    fn new(env: &[(&str, &str)]) -> Self {
        Self::with(env, false, &["bot", "discord"])
    }

    fn with(env: &[(&str, &str)], s3: bool, bot: &[&str]) -> Self {
        let mut stack = Self {
            redis: RedisServer::start(false),
            s3: s3.then(SeaweedServer::start),
            store: tempfile::tempdir().expect("tempdir"),
            discord: FakeDiscord::start(TOKEN),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            children: Vec::new(),
        };
        if env.contains(&("DISCORD_MESSAGE_CONTENT", "1")) {
            stack.discord.grant_message_content();
        }
        if bot != ["up"] {
            stack.spawn(&["worker", "--device", "cpu", "--name", "w1"], "worker.log");
        }
        stack.spawn(bot, "bot.log");
        assert!(
            stack.discord.wait_ready(Duration::from_secs(60)),
            "the bot never got ready:\n{}",
            stack.log()
        );
        stack
    }

    fn spawn(&mut self, args: &[&str], log: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.store.path().join(log))
            .expect("log");
        let mut cmd = common::spinbot();
        cmd.args(args)
            .env("REDIS_URL", self.redis.url())
            .env("SPINBOT_STORE", self.store.path())
            // Chat flows, not pictures: small videos keep the suite quick.
            .env("SPINBOT_MAX_SIDE", "360")
            .env("DISCORD_BOT_TOKEN", TOKEN)
            .env("DISCORD_API_URL", self.discord.url())
            .env("DISCORD_GUILD_ID", GUILD.to_string())
            // `spinbot up` serves the web chat too: on a free port, never the default.
            .env("SPINBOT_WEB_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            // Asking for a voice before the first video has its own test.
            .env("SPINBOT_SKIP_VOICE_QUESTION", "1")
            .env_remove("TELEGRAM_BOT_TOKEN")
            .env_remove("OLLAMA_API_BASE_URL")
            .env_remove("OLLAMA_MODEL")
            .env_remove("DATABASE_URL")
            .env_remove("S3_ENDPOINT");
        if let Some(s3) = &self.s3 {
            cmd.envs(s3.env());
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.children.push(
            cmd.stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spinbot"),
        );
    }

    fn log(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.store.path().join(name)).unwrap_or_default();
        format!(
            "bot log:\n{}\nworker log:\n{}",
            read("bot.log"),
            read("worker.log")
        )
    }

    /// Waits for what was sent to `channel` to satisfy `done`; fails with the whole
    /// exchange.
    fn wait(&self, channel: u64, what: &str, done: impl Fn(&[&Sent]) -> bool) -> Vec<Sent> {
        let sent = self.discord.wait_for(WAIT, |all| {
            let mine: Vec<&Sent> = all.iter().filter(|s| s.channel == channel).collect();
            done(&mine)
        });
        let mine: Vec<Sent> = sent.into_iter().filter(|s| s.channel == channel).collect();
        let refs: Vec<&Sent> = mine.iter().collect();
        assert!(
            done(&refs),
            "no {what}; sent: {:#?}\n{}",
            summary(&mine),
            self.log()
        );
        mine
    }

    /// Waits for the answers to interaction `id` to satisfy `done`.
    fn answers(&self, id: &str, what: &str, done: impl Fn(&[&Sent]) -> bool) -> Vec<Sent> {
        let of = |all: &[Sent]| -> Vec<Sent> {
            all.iter()
                .filter(|s| s.interaction.as_deref() == Some(id))
                .cloned()
                .collect()
        };
        let sent = self.discord.wait_for(WAIT, |all| {
            let mine = of(all);
            done(&mine.iter().collect::<Vec<_>>())
        });
        let mine = of(&sent);
        assert!(
            done(&mine.iter().collect::<Vec<_>>()),
            "no {what}; sent: {:#?}\n{}",
            summary(&sent),
            self.log()
        );
        mine
    }

    fn assert_no_violation(&self) {
        assert_eq!(
            self.discord.violations(),
            Vec::<String>::new(),
            "{}",
            self.log()
        );
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn summary(sent: &[Sent]) -> Vec<String> {
    sent.iter()
        .map(|s| {
            format!(
                "{} ch{} m{:?} i{:?} {:?} {} file {}",
                s.kind,
                s.channel,
                s.message,
                s.interaction,
                s.content,
                s.components,
                s.file.as_ref().map_or(0, Vec::len)
            )
        })
        .collect()
}

fn contents(sent: &[&Sent]) -> Vec<String> {
    sent.iter().filter_map(|s| s.content.clone()).collect()
}

fn videos<'a>(sent: &[&'a Sent]) -> Vec<&'a Sent> {
    sent.iter().copied().filter(|s| s.file.is_some()).collect()
}

fn selfie() -> File {
    File::new(
        "selfie.jpg",
        "image/jpeg",
        std::fs::read(common::face_photo()).expect("photo"),
    )
}

/// The job id on a message's Cancel button.
fn cancel_button(sent: &Sent) -> Option<String> {
    sent.components
        .as_array()?
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .find_map(|c| {
            c["custom_id"]
                .as_str()
                .and_then(|id| id.strip_prefix("cancel:"))
                .map(str::to_owned)
        })
}

#[test]
fn slash_say_with_a_photo_is_deferred_edited_with_progress_and_followed_by_the_video() {
    let stack = Stack::new(&[]);
    // Commands were registered in the guild, with their options.
    let calls = stack.discord.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.contains(&format!("/guilds/{GUILD}/commands"))),
        "{calls:#?}"
    );
    let commands = stack.discord.commands().expect("commands");
    let names: Vec<&str> = commands
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["say", "status", "cancel", "voices", "voice", "forget", "help"]
    );
    // Without MESSAGE_CONTENT: the gateway was asked for messages only.
    let (identified, _, _) = stack.discord.gateway_counts();
    assert_eq!(identified, vec![GUILD_MESSAGES | DIRECT_MESSAGES]);
    // The first progress edit is answered 429: the bot waits it out.
    stack
        .discord
        .rate_limit("edit", 1, Duration::from_millis(700));
    let place = Place::guild(GUILD, 501);
    let anna = Person::new(700_000_000_000_000_001, "anna");
    let asked = Instant::now();
    let id = stack.discord.slash(
        place,
        &anna,
        "say",
        &[("text", "Hello from Discord, this is my avatar talking.")],
        Some(&selfie()),
    );
    let sent = stack.answers(&id, "video follow-up", |s| !videos(s).is_empty());
    // The callback came first (a deferral, visible to the channel), within the 3 s.
    assert_eq!(sent[0].kind, "callback", "{:#?}", summary(&sent));
    assert!(!sent[0].ephemeral);
    assert!(sent[0].at.duration_since(asked) < Duration::from_secs(3));
    // The original response: queued, then progress, with a Cancel button while it runs.
    let originals: Vec<&Sent> = sent.iter().filter(|s| s.kind == "original").collect();
    assert!(
        originals
            .iter()
            .any(|s| s.content.as_deref().is_some_and(|t| t.contains("queued"))),
        "{:#?}",
        summary(&sent)
    );
    let progress: Vec<&&Sent> = originals
        .iter()
        .filter(|s| {
            s.content
                .as_deref()
                .is_some_and(|t| t.contains("Making your video") && t.contains('%'))
        })
        .collect();
    assert!(!progress.is_empty(), "{:#?}", summary(&sent));
    assert!(progress.iter().all(|s| cancel_button(s).is_some()));
    assert_eq!(stack.discord.rate_limited(), 1);
    // The follow-up holds a playable MP4 with both streams.
    let refs: Vec<&Sent> = sent.iter().collect();
    let video = videos(&refs)[0];
    assert_eq!(video.kind, "followup");
    let dir = tempfile::tempdir().expect("tempdir");
    let (v, a) = common::lengths(video.file.as_deref().unwrap_or_default(), dir.path());
    assert!(v > 0.5 && (v - a).abs() < 0.1, "video {v} s, audio {a} s");
    // The status ends as done, its button gone.
    let done = stack.answers(&id, "final edit", |s| {
        s.iter()
            .rev()
            .find(|s| s.kind == "original")
            .is_some_and(|s| s.content.as_deref().is_some_and(|t| t.contains("Done!")))
    });
    let last = done
        .iter()
        .rev()
        .find(|s| s.kind == "original")
        .expect("an edit");
    assert_eq!(cancel_button(last), None);
    stack.assert_no_violation();
}

#[test]
fn a_mention_with_a_selfie_and_a_dm_voice_message_come_back_as_videos() {
    let stack = Stack::new(&[]);
    let channel = 502;
    let place = Place::guild(GUILD, channel);
    let ben = Person::new(700_000_000_000_000_002, "ben");
    // A guild message that does not mention the bot is not for it.
    stack
        .discord
        .send_message(place, &ben, "say nothing", &[], false);
    // A mention with a selfie and words: a reply, progress, and the video in the channel.
    let asked = stack.discord.send_message(
        place,
        &ben,
        "make my avatar say hello from the guild",
        &[selfie()],
        true,
    );
    let sent = stack.wait(channel, "the video", |s| !videos(s).is_empty());
    let refs: Vec<&Sent> = sent.iter().collect();
    let first = &sent[0];
    assert_eq!(first.kind, "message");
    assert_eq!(first.reply_to.as_deref(), Some(asked.as_str()));
    assert!(
        first
            .content
            .as_deref()
            .is_some_and(|t| t.contains("queued")),
        "{:#?}",
        summary(&sent)
    );
    assert!(
        refs.iter().any(|s| s.kind == "edit"
            && s.content
                .as_deref()
                .is_some_and(|t| t.contains("Making your video"))),
        "{:#?}",
        summary(&sent)
    );
    let video = videos(&refs)[0];
    assert_eq!(video.reply_to, first.message);
    let calls = stack.discord.calls();
    assert!(calls
        .iter()
        .any(|c| c == &format!("POST /channels/{channel}/typing")));
    // Only the one answer (the plain message got none).
    assert_eq!(
        refs.iter()
            .filter(|s| s.kind == "message" && s.file.is_none())
            .count(),
        1
    );
    // A file that is neither a photo nor audio gets one sentence, before any download.
    stack.discord.send_message(
        place,
        &ben,
        "here",
        &[File::new("notes.txt", "text/plain", b"hello".to_vec())],
        true,
    );
    stack.wait(channel, "refusal", |s| {
        contents(s).iter().any(|t| t.contains("not that file"))
    });
    assert!(!stack
        .discord
        .calls()
        .iter()
        .any(|c| c.contains("notes.txt")));
    // A DM voice message: the video's audio is the note (the selfie is Ben's, from the guild).
    let dm = Place::dm(503);
    let dir = tempfile::tempdir().expect("tempdir");
    let note = common::voice_note(
        dir.path(),
        "This is my own voice, in a voice message.",
        "ogg",
    );
    let note_s = common::duration(&note, "a");
    stack
        .discord
        .send_voice_message(dm, &ben, std::fs::read(&note).expect("note"), note_s);
    let sent = stack.wait(dm.channel, "the DM video", |s| !videos(s).is_empty());
    let refs: Vec<&Sent> = sent.iter().collect();
    let (v, a) = common::lengths(
        videos(&refs)[0].file.as_deref().unwrap_or_default(),
        dir.path(),
    );
    assert!((a - note_s).abs() < 0.15, "audio {a} s, note {note_s} s");
    assert!((v - a).abs() < 0.1, "video {v} s, audio {a} s");
    stack.assert_no_violation();
}

#[test]
fn buttons_cancel_only_their_owners_job_and_commands_answer_the_asker() {
    let stack = Stack::new(&[]);
    let place = Place::guild(GUILD, 504);
    let cleo = Person::new(700_000_000_000_000_003, "cleo");
    let dan = Person::new(700_000_000_000_000_004, "dan");
    // Dan has no video: /status tells him so, only him.
    let id = stack.discord.slash(place, &dan, "status", &[], None);
    let sent = stack.answers(&id, "status", |s| s.iter().any(|s| s.kind == "original"));
    assert!(sent[0].ephemeral);
    assert!(contents(&sent.iter().collect::<Vec<_>>())
        .iter()
        .any(|t| t.contains("no videos yet")));
    // Cleo's render, long enough to press Cancel while it runs.
    let say = stack.discord.slash(
        place,
        &cleo,
        "say",
        &[(
            "text",
            "This is a rather long sentence, so that there is plenty of time to press the cancel button while it renders.",
        )],
        Some(&selfie()),
    );
    let sent = stack.answers(&say, "progress", |s| {
        s.iter().any(|s| {
            s.content
                .as_deref()
                .is_some_and(|t| t.contains("Making your video"))
        })
    });
    let status = sent
        .iter()
        .rev()
        .find(|s| s.kind == "original")
        .expect("the status message");
    let job = cancel_button(status).expect("a Cancel button");
    let message = status.message.clone().expect("its id");
    // Dan presses Cleo's button: he is told it is not his, her job goes on.
    let press = stack
        .discord
        .press(place, &dan, &message, &format!("cancel:{job}"), &[]);
    let sent = stack.answers(&press, "Dan's answer", |s| {
        s.iter().any(|s| s.kind == "original")
    });
    assert!(sent[0].ephemeral);
    assert!(
        contents(&sent.iter().collect::<Vec<_>>())
            .iter()
            .any(|t| t.contains("can't find that video")),
        "{:#?}",
        summary(&sent)
    );
    // Dan's /status still knows nothing of Cleo's job.
    let id = stack.discord.slash(place, &dan, "status", &[], None);
    let sent = stack.answers(&id, "status", |s| s.iter().any(|s| s.kind == "original"));
    assert!(!contents(&sent.iter().collect::<Vec<_>>())
        .iter()
        .any(|t| t.contains(&job[..8])));
    // Cleo presses it: the job stops, and no video comes.
    let press = stack
        .discord
        .press(place, &cleo, &message, &format!("cancel:{job}"), &[]);
    stack.answers(&press, "Cleo's answer", |s| {
        contents(s)
            .iter()
            .any(|t| t.contains("Cancelled your video") || t.contains("Stopping your video"))
    });
    let sent = stack.answers(&say, "the status cancelled", |s| {
        s.iter()
            .rev()
            .find(|s| s.kind == "original")
            .is_some_and(|s| {
                s.content
                    .as_deref()
                    .is_some_and(|t| t.to_lowercase().contains("cancel"))
            })
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(videos(&stack.discord.sent().iter().collect::<Vec<_>>()).is_empty());
    assert!(!sent.is_empty());
    // /voices lists them with a menu; picking one sets it.
    let id = stack.discord.slash(place, &cleo, "voices", &[], None);
    let sent = stack.answers(&id, "voices", |s| s.iter().any(|s| s.kind == "original"));
    let menu = sent.iter().find(|s| s.kind == "original").expect("answer");
    let option = menu.components[0]["components"][0]["options"][0]["value"]
        .as_str()
        .expect("a voice in the menu")
        .to_owned();
    let message = menu.message.clone().expect("id");
    let pick = stack
        .discord
        .press(place, &cleo, &message, "voice", &[option.as_str()]);
    stack.answers(&pick, "voice chosen", |s| {
        contents(s)
            .iter()
            .any(|t| t.contains(&format!("will use the voice {option}")))
    });
    // /forget asks first (naming what goes); the button says yes.
    let id = stack.discord.slash(place, &cleo, "forget", &[], None);
    let sent = stack.answers(&id, "question", |s| s.iter().any(|s| s.kind == "original"));
    let question = sent.iter().find(|s| s.kind == "original").expect("answer");
    assert!(question.ephemeral);
    assert!(
        question
            .content
            .as_deref()
            .is_some_and(|t| t.contains("photos, voice notes, videos")),
        "{:?}",
        question.content
    );
    assert_eq!(
        question.components[0]["components"][0]["custom_id"],
        "confirm"
    );
    let message = question.message.clone().expect("id");
    let confirm = stack.discord.press(place, &cleo, &message, "confirm", &[]);
    stack.answers(&confirm, "forgotten", |s| {
        contents(s).iter().any(|t| t.contains("I deleted your"))
    });
    let id = stack.discord.slash(place, &cleo, "status", &[], None);
    stack.answers(&id, "nothing left", |s| {
        contents(s).iter().any(|t| t.contains("no videos yet"))
    });
    stack.assert_no_violation();
}

#[test]
fn a_result_over_the_channels_limit_comes_as_a_link() {
    let stack = Stack::with(&[], true, &["bot", "discord"]);
    let channel = 505;
    let place = Place::guild(GUILD, channel);
    let eve = Person::new(700_000_000_000_000_005, "eve");
    let say = stack.discord.slash(
        place,
        &eve,
        "say",
        &[(
            "text",
            "A clip for a channel that takes less than it used to.",
        )],
        Some(&selfie()),
    );
    stack.answers(&say, "queued", |s| s.iter().any(|s| s.kind == "original"));
    // The guild lost its boosts: the next interaction there says it takes 20 kB now.
    stack.discord.set_upload_limit(channel, 20_000);
    let id = stack.discord.slash(place, &eve, "help", &[], None);
    stack.answers(&id, "help", |s| s.iter().any(|s| s.kind == "original"));
    let sent = stack.wait(channel, "a link", |s| {
        contents(s).iter().any(|t| t.contains("download it"))
    });
    let link = contents(&sent.iter().collect::<Vec<_>>())
        .into_iter()
        .find(|t| t.contains("download it"))
        .expect("the link");
    let url = link
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a URL");
    // The link serves the video.
    let out = Command::new("curl")
        .args(["-sf", "-o", "/dev/null", "-w", "%{size_download}", url])
        .output()
        .expect("curl");
    let size: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(size > 20_000, "{size} bytes from {url}");
    assert!(videos(&stack.discord.sent().iter().collect::<Vec<_>>()).is_empty());
    stack.assert_no_violation();
}

#[test]
fn a_dropped_gateway_socket_resumes_and_nothing_is_answered_twice() {
    let stack = Stack::new(&[]);
    let channel = 506;
    let place = Place::guild(GUILD, channel);
    let fay = Person::new(700_000_000_000_000_006, "fay");
    let first = stack
        .discord
        .send_message(place, &fay, "what can you do?", &[], true);
    stack.wait(channel, "first answer", |s| !s.is_empty());
    stack.discord.drop_gateway();
    // Said while the socket is down: Discord keeps it for the resumed session.
    let second = stack
        .discord
        .send_message(place, &fay, "/status", &[], true);
    let sent = stack.wait(channel, "second answer", |s| {
        s.iter()
            .any(|s| s.reply_to.as_deref() == Some(second.as_str()))
    });
    let (identified, resumed, connections) = stack.discord.gateway_counts();
    assert_eq!(identified.len(), 1, "a fresh session instead of a resume");
    assert!(resumed >= 1 && connections >= 2);
    // An interaction after the resume is answered too.
    let id = stack.discord.slash(place, &fay, "help", &[], None);
    stack.answers(&id, "help", |s| s.iter().any(|s| s.kind == "original"));
    std::thread::sleep(Duration::from_secs(2));
    let all: Vec<Sent> = stack.discord.sent();
    for asked in [&first, &second] {
        let answers = all
            .iter()
            .filter(|s| s.reply_to.as_deref() == Some(asked.as_str()))
            .count();
        assert_eq!(answers, 1, "{:#?}", summary(&all));
    }
    assert!(!sent.is_empty());
    assert!(stack.discord.heartbeats() > 0);
    stack.assert_no_violation();
}

#[test]
fn message_content_is_asked_for_only_when_granted() {
    // Asked for but not granted: the bot stops with a sentence naming the setting.
    let discord = FakeDiscord::start(TOKEN);
    let redis = RedisServer::start(false);
    let store = tempfile::tempdir().expect("tempdir");
    let out = common::spinbot()
        .args(["bot", "discord"])
        .env("REDIS_URL", redis.url())
        .env("SPINBOT_STORE", store.path())
        // Chat flows, not pictures: small videos keep the suite quick.
        .env("SPINBOT_MAX_SIDE", "360")
        .env("DISCORD_BOT_TOKEN", TOKEN)
        .env("DISCORD_API_URL", discord.url())
        .env("DISCORD_MESSAGE_CONTENT", "1")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .output()
        .expect("spinbot");
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("DISCORD_MESSAGE_CONTENT"),
        "{}",
        common::stderr(&out)
    );
    // Granted: a reply to the bot without a mention is read.
    let stack = Stack::new(&[("DISCORD_MESSAGE_CONTENT", "1")]);
    let (identified, _, _) = stack.discord.gateway_counts();
    assert_eq!(
        identified,
        vec![GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT]
    );
    let channel = 508;
    let place = Place::guild(GUILD, channel);
    let hal = Person::new(700_000_000_000_000_008, "hal");
    stack.discord.send_message(place, &hal, "hi", &[], true);
    let sent = stack.wait(channel, "first answer", |s| !s.is_empty());
    let answer = sent[0].message.clone().expect("id");
    let reply = stack.discord.send_reply(place, &hal, "/status", &answer);
    stack.wait(channel, "the reply's answer", |s| {
        s.iter().any(|s| {
            s.reply_to.as_deref() == Some(reply.as_str())
                && s.content
                    .as_deref()
                    .is_some_and(|t| t.contains("no videos yet"))
        })
    });
    stack.assert_no_violation();
}

#[test]
fn the_same_person_on_telegram_and_discord_are_two_users() {
    // `spinbot up` runs every bot whose token is set.
    let telegram = FakeTelegram::start("123456:up-token");
    let stack = Stack::with(
        &[
            ("TELEGRAM_BOT_TOKEN", "123456:up-token"),
            ("TELEGRAM_API_URL", telegram.url()),
        ],
        false,
        &["up"],
    );
    let id = 4242;
    let chat = spinbot_testkit::fake_telegram::Chat::private(id as i64, "Gil");
    let bytes = std::fs::read(common::face_photo()).expect("photo");
    telegram.send_photo(&chat, &[(512, 512, bytes)], None);
    let got_photo = |s: &[spinbot_testkit::fake_telegram::Sent]| {
        s.iter().any(|s| {
            s.text
                .as_deref()
                .is_some_and(|t| t.contains("Got your photo"))
        })
    };
    assert!(got_photo(&telegram.wait_for(WAIT, got_photo)));
    // On Discord the same number is someone else, with no photo yet.
    let gil = Person::new(id, "gil");
    let place = Place::dm(507);
    stack
        .discord
        .send_message(place, &gil, "make my avatar say hi", &[], false);
    stack.wait(place.channel, "no photo", |s| {
        contents(s).iter().any(|t| t.contains("selfie first"))
    });
    assert_eq!(telegram.violations(), Vec::<String>::new());
    stack.assert_no_violation();
}
