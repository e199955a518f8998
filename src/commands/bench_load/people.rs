//! The people `spinbot bench load` simulates, and the door each comes through (the Telegram
//! and Discord fakes, the web chat over HTTP). A person arrives, sends a selfie, asks for a
//! video the way people write to a bot, asks how it is going; some cancel, ask for a second
//! video while the first runs, go over their limit, or send a voice note. Like a person, each
//! waits for the bot's answer before writing again, and keeps every video that arrives.

use serde::Deserialize;
use spinbot_core::Refusal;
use spinbot_testkit::fake_discord::{File, Person as DiscordPerson, Place};
use spinbot_testkit::fake_telegram::Chat;
use spinbot_testkit::{FakeDiscord, FakeTelegram};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a person waits for an answer before giving up on it.
const PATIENCE: Duration = Duration::from_secs(30);

/// Requests, as people write them.
const REQUESTS: &[&str] = &[
    "make my avatar say happy birthday Anna!! 🎂",
    "can u make me say good morning team, coffee is on me today",
    "Say: welcome to the channel everyone",
    "pls make a video of me saying I'll be late for dinner, sorry mom",
    "make me say congrats on the new job!",
    "make me say thank you for watching, don't forget to subscribe",
    "video of me saying happy new year from all of us",
    "say hello grandma, we miss you",
];
/// Asking how it is going.
const STATUS: &[&str] = &[
    "is my video ready?",
    "how long will it take",
    "status?",
    "where's my video",
    "any news on my video?",
];
const CANCEL: &[&str] = &["cancel that", "nvm cancel it", "stop, don't make it"];
const SECOND: &[&str] = &[
    "make me say see you on Friday!",
    "also make me say good night everyone",
];

/// A chat platform of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Platform {
    Telegram,
    Discord,
    Web,
    All,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Discord => "discord",
            Self::Web => "web",
            Self::All => "all",
        }
    }

    /// The platforms `self` stands for.
    pub fn each(self) -> Vec<Platform> {
        match self {
            Self::All => vec![Self::Telegram, Self::Discord, Self::Web],
            one => vec![one],
        }
    }
}

/// What people send besides words.
pub struct Media {
    pub selfie: Vec<u8>,
    /// An OGG/Opus voice note, and its length.
    pub note: Vec<u8>,
    pub note_s: f64,
}

/// What a person hears from the bot.
#[derive(Debug)]
pub enum Heard {
    Reply { text: String, at: Instant },
    Video { at: Instant },
}

/// The kinds of things people say, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Said {
    Selfie,
    Request,
    Status,
    Cancel,
    Second,
    OverLimit,
    VoiceNote,
}

/// One message and its first answer.
pub struct Exchange {
    pub said: Said,
    /// Seconds to the first answer (none: no answer within the person's patience).
    pub reply_s: Option<f64>,
    /// The refusal the answer was, by its code (or `flood`).
    pub refusal: Option<&'static str>,
}

/// What happened to one person.
pub struct Story {
    pub platform: Platform,
    pub exchanges: Vec<Exchange>,
    /// Seconds from each accepted request to its video, in the order the videos came.
    pub videos_s: Vec<f64>,
    pub videos: usize,
    /// This person asked for more than their limit allows.
    pub over_limit: bool,
}

/// What a person does besides the selfie, the request and the status question.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Plain,
    Cancels,
    AsksTwice,
    OverLimit,
    SendsVoiceNote,
}

fn role_of(index: usize) -> Role {
    match index % 10 {
        0 => Role::Cancels,
        1 | 2 => Role::AsksTwice,
        3 => Role::OverLimit,
        4 | 5 => Role::SendsVoiceNote,
        _ => Role::Plain,
    }
}

/// A fixed pseudo-random number from `seed` (SplitMix64): runs are repeatable.
pub fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], seed: u64) -> &'a str {
    list[(mix(seed) % list.len() as u64) as usize]
}

/// How a person reaches the bot.
pub enum Door {
    Telegram(Arc<FakeTelegram>, Chat),
    Discord(Arc<FakeDiscord>, Place, DiscordPerson),
    Web(WebVisitor),
}

/// A browser on the web chat: its address (as the trusted proxy forwards it) and cookie.
pub struct WebVisitor {
    pub client: reqwest::Client,
    pub base: String,
    pub address: String,
    pub cookie: Option<String>,
}

/// A thing to send.
enum Message<'a> {
    Photo,
    Text(&'a str),
    VoiceNote,
}

/// The web chat's answer to a message.
#[derive(Deserialize)]
struct WebAnswer {
    #[serde(default)]
    answers: Vec<String>,
    #[serde(default)]
    error: Option<String>,
}

/// A transcript entry, as the web chat's event stream sends it.
#[derive(Deserialize)]
struct WebEntry {
    kind: String,
    from: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    video: Option<String>,
}

impl WebVisitor {
    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let builder = builder.header("x-forwarded-for", &self.address);
        match &self.cookie {
            Some(cookie) => builder.header("cookie", cookie),
            None => builder,
        }
    }

    /// Opens the page: the visitor gets their cookie.
    async fn open(&mut self) -> anyhow::Result<()> {
        let response = self
            .request(self.client.get(format!("{}/", self.base)))
            .send()
            .await?;
        self.cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("spinbot_id="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        anyhow::ensure!(
            self.cookie.is_some(),
            "the web chat gave no cookie ({})",
            response.status()
        );
        Ok(())
    }

    /// Follows the transcript's event stream, passing the bot's messages on until `stop`.
    async fn follow(
        client: reqwest::Client,
        base: String,
        address: String,
        cookie: String,
        heard: mpsc::UnboundedSender<Heard>,
        stop: CancellationToken,
    ) {
        let mut last: Option<String> = None;
        while !stop.is_cancelled() {
            let mut request = client
                .get(format!("{base}/api/events"))
                .header("x-forwarded-for", &address)
                .header("cookie", &cookie);
            if let Some(id) = &last {
                request = request.header("last-event-id", id);
            }
            let Ok(mut response) = request.send().await else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            let mut buffer = String::new();
            loop {
                let chunk = tokio::select! {
                    chunk = response.chunk() => chunk,
                    _ = stop.cancelled() => return,
                };
                let Ok(Some(chunk)) = chunk else { break };
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    for line in block.lines() {
                        if let Some(id) = line.strip_prefix("id:") {
                            last = Some(id.trim().to_owned());
                        }
                        let Some(data) = line.strip_prefix("data:") else {
                            continue;
                        };
                        let Ok(entry) = serde_json::from_str::<WebEntry>(data.trim()) else {
                            continue;
                        };
                        if entry.from != "bot" || entry.kind != "message" {
                            continue;
                        }
                        let at = Instant::now();
                        let news = match entry.video {
                            Some(path) => {
                                // The browser plays it: the video is fetched.
                                let fetched = client
                                    .get(format!("{base}{path}"))
                                    .header("x-forwarded-for", &address)
                                    .header("cookie", &cookie)
                                    .send()
                                    .await;
                                match fetched {
                                    Ok(r) if r.status().is_success() => {
                                        let _ = r.bytes().await;
                                        Heard::Video { at }
                                    }
                                    _ => continue,
                                }
                            }
                            None => Heard::Reply {
                                text: entry.text,
                                at,
                            },
                        };
                        let _ = heard.send(news);
                    }
                }
            }
        }
    }
}

impl Door {
    /// Sends a message; the web chat answers in its response (the time and first answer).
    async fn send(
        &self,
        message: Message<'_>,
        media: &Media,
    ) -> anyhow::Result<Option<(Instant, String)>> {
        match self {
            Door::Telegram(fake, chat) => {
                match message {
                    Message::Photo => {
                        fake.send_photo(chat, &[(512, 512, media.selfie.clone())], None);
                    }
                    Message::Text(text) => {
                        fake.send_text(chat, text);
                    }
                    Message::VoiceNote => {
                        fake.send_voice(chat, media.note.clone(), media.note_s.ceil() as u32);
                    }
                }
                Ok(None)
            }
            Door::Discord(fake, place, person) => {
                match message {
                    Message::Photo => {
                        let file = File::new("selfie.jpg", "image/jpeg", media.selfie.clone());
                        fake.send_message(*place, person, "here's my selfie", &[file], false);
                    }
                    Message::Text(text) => {
                        fake.send_message(*place, person, text, &[], false);
                    }
                    Message::VoiceNote => {
                        fake.send_voice_message(*place, person, media.note.clone(), media.note_s);
                    }
                }
                Ok(None)
            }
            Door::Web(visitor) => {
                let mut form = reqwest::multipart::Form::new();
                form = match message {
                    Message::Photo => form.text("text", "").part(
                        "file",
                        reqwest::multipart::Part::bytes(media.selfie.clone())
                            .file_name("selfie.jpg")
                            .mime_str("image/jpeg")?,
                    ),
                    Message::Text(text) => form.text("text", text.to_owned()),
                    Message::VoiceNote => form.text("text", "").part(
                        "file",
                        reqwest::multipart::Part::bytes(media.note.clone())
                            .file_name("note.ogg")
                            .mime_str("audio/ogg")?,
                    ),
                };
                let response = visitor
                    .request(
                        visitor
                            .client
                            .post(format!("{}/api/messages", visitor.base)),
                    )
                    .multipart(form)
                    .send()
                    .await?;
                let answer: WebAnswer = response.json().await?;
                let at = Instant::now();
                Ok(answer
                    .error
                    .or_else(|| answer.answers.into_iter().next())
                    .map(|text| (at, text)))
            }
        }
    }
}

/// Where the bot's messages to each chat go: the readers of the fakes hand them on.
pub type Inboxes<K> = Arc<Mutex<HashMap<K, mpsc::UnboundedSender<Heard>>>>;

/// Hands what the Telegram bot sends to the person of each chat, until `stop`.
pub async fn read_telegram(
    fake: Arc<FakeTelegram>,
    inboxes: Inboxes<i64>,
    stop: CancellationToken,
) {
    let mut seen = 0;
    while !stop.is_cancelled() {
        let fresh = fake.sent_since(seen);
        seen += fresh.len();
        {
            let inboxes = inboxes.lock().unwrap_or_else(|p| p.into_inner());
            for sent in fresh {
                let heard = match sent.method.as_str() {
                    "sendmessage" => Heard::Reply {
                        text: sent.text.unwrap_or_default(),
                        at: sent.at,
                    },
                    "sendvideo" => Heard::Video { at: sent.at },
                    _ => continue,
                };
                if let Some(inbox) = inboxes.get(&sent.chat_id) {
                    let _ = inbox.send(heard);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Hands what the Discord bot sends to the person of each channel, until `stop`.
pub async fn read_discord(fake: Arc<FakeDiscord>, inboxes: Inboxes<u64>, stop: CancellationToken) {
    let mut seen = 0;
    while !stop.is_cancelled() {
        let fresh = fake.sent_since(seen);
        seen += fresh.len();
        {
            let inboxes = inboxes.lock().unwrap_or_else(|p| p.into_inner());
            for sent in fresh {
                if sent.kind != "message" {
                    continue;
                }
                let heard = match sent.file {
                    Some(_) => Heard::Video { at: sent.at },
                    None => Heard::Reply {
                        text: sent.content.unwrap_or_default(),
                        at: sent.at,
                    },
                };
                if let Some(inbox) = inboxes.get(&sent.channel) {
                    let _ = inbox.send(heard);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The refusal an answer is, by its code: the sentences every front end shows.
fn refusal_in(text: &str) -> Option<&'static str> {
    let opening = |r: Refusal| {
        let sentence = r.to_string();
        sentence
            .split(';')
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_owned()
    };
    let refusals = [
        Refusal::RateLimited { retry_after_s: 1.0 },
        Refusal::TooManyQueued,
        Refusal::Busy { retry_after_s: 1.0 },
        Refusal::Blocked,
    ];
    if text.starts_with(spinbot_bots::conversation::SLOW_DOWN.trim_end_matches('.')) {
        return Some("flood");
    }
    refusals
        .into_iter()
        .find(|r| text.contains(&opening(r.clone())))
        .map(|r| r.code())
}

/// One person's visit.
pub struct Visit {
    pub platform: Platform,
    pub index: usize,
    pub user: String,
    pub door: Door,
    pub heard: mpsc::UnboundedReceiver<Heard>,
}

impl Visit {
    /// Plays the person's part; after their last message they wait up to `linger` for the
    /// videos still owed them.
    pub async fn run(mut self, media: Arc<Media>, linger: Instant) -> Story {
        let role = role_of(self.index);
        let seed = self.index as u64 * 7919;
        let mut story = Story {
            platform: self.platform,
            exchanges: Vec::new(),
            videos_s: Vec::new(),
            videos: 0,
            over_limit: role == Role::OverLimit,
        };
        let mut asked: Vec<Instant> = Vec::new();
        let think = |n: u64| Duration::from_millis(1000 + mix(seed + n) % 2000);
        let mut script: Vec<(Said, Message)> = vec![
            (Said::Selfie, Message::Photo),
            (Said::Request, Message::Text(pick(REQUESTS, seed))),
            (Said::Status, Message::Text(pick(STATUS, seed + 1))),
        ];
        match role {
            Role::Cancels => script.insert(2, (Said::Cancel, Message::Text(pick(CANCEL, seed)))),
            Role::AsksTwice => script.push((Said::Second, Message::Text(pick(SECOND, seed)))),
            Role::OverLimit => {
                for n in 0..5 {
                    script.push((Said::OverLimit, Message::Text(pick(REQUESTS, seed + n))));
                }
            }
            Role::SendsVoiceNote => script.push((Said::VoiceNote, Message::VoiceNote)),
            Role::Plain => {}
        }
        for (n, (said, message)) in script.into_iter().enumerate() {
            if n > 0 {
                let pause = if said == Said::OverLimit {
                    Duration::from_millis(300)
                } else {
                    think(n as u64)
                };
                self.listen_for(pause, &mut story, &asked).await;
            }
            let sent = Instant::now();
            let answered = match self.door.send(message, &media).await {
                Ok(Some(answer)) => Some(answer),
                Ok(None) => self.first_reply(&mut story, &asked).await,
                Err(e) => {
                    tracing::warn!(user = %self.user, error = %e, "a message did not go out");
                    None
                }
            };
            let refusal = answered.as_ref().and_then(|(_, text)| refusal_in(text));
            if refusal.is_none()
                && matches!(
                    said,
                    Said::Request | Said::Second | Said::OverLimit | Said::VoiceNote
                )
            {
                asked.push(sent);
            }
            story.exchanges.push(Exchange {
                said,
                reply_s: answered.map(|(at, _)| at.saturating_duration_since(sent).as_secs_f64()),
                refusal,
            });
        }
        // Waiting for the videos still owed (a cancelled one never comes).
        let owed = |story: &Story| {
            let cancelled = story.exchanges.iter().any(|e| e.said == Said::Cancel);
            story.videos + usize::from(cancelled) < asked.len()
        };
        while owed(&story) && Instant::now() < linger {
            let wait = linger.saturating_duration_since(Instant::now());
            self.listen_for(wait.min(Duration::from_secs(1)), &mut story, &asked)
                .await;
        }
        story
    }

    /// Takes in what arrives for `wait`: videos are counted, replies were already timed.
    async fn listen_for(&mut self, wait: Duration, story: &mut Story, asked: &[Instant]) {
        let until = tokio::time::Instant::now() + wait;
        while let Ok(Some(heard)) = tokio::time::timeout_at(until, self.heard.recv()).await {
            if let Heard::Video { at } = heard {
                note_video(story, asked, at);
            }
        }
    }

    /// The first reply to what was just sent (videos arriving meanwhile are counted).
    async fn first_reply(
        &mut self,
        story: &mut Story,
        asked: &[Instant],
    ) -> Option<(Instant, String)> {
        let until = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(until, self.heard.recv()).await {
                Ok(Some(Heard::Reply { text, at })) => return Some((at, text)),
                Ok(Some(Heard::Video { at })) => note_video(story, asked, at),
                _ => return None,
            }
        }
    }
}

/// Counts a video, timed from the request it answers (the oldest one not answered yet).
fn note_video(story: &mut Story, asked: &[Instant], at: Instant) {
    if let Some(since) = asked.get(story.videos) {
        story
            .videos_s
            .push(at.saturating_duration_since(*since).as_secs_f64());
    }
    story.videos += 1;
}

/// Starts following a web visitor's transcript (after their page is open).
pub async fn open_web(
    visitor: &mut WebVisitor,
    heard: mpsc::UnboundedSender<Heard>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    visitor.open().await?;
    let cookie = visitor.cookie.clone().unwrap_or_default();
    tokio::spawn(WebVisitor::follow(
        visitor.client.clone(),
        visitor.base.clone(),
        visitor.address.clone(),
        cookie,
        heard,
        stop,
    ));
    Ok(())
}
