//! A fake of Discord for tests, in the shape serenity 0.12 speaks it: the REST API v10 under
//! `/api/v10` (the token checked, JSON or multipart bodies with `payload_json` and
//! `files[N]`), a CDN for attachments (signed URLs whose query string must be kept), and the
//! gateway over a WebSocket (HELLO, IDENTIFY with its intents checked, READY, heartbeat ACK,
//! RESUME after a dropped socket with the missed events replayed, dispatch of MESSAGE_CREATE
//! and INTERACTION_CREATE). It is strict: an unknown route, an interaction answered late, not
//! answered first or twice, a message over 2,000 characters, an upload over the channel's
//! limit, a message sent without `allowed_mentions` switched off, or a call made during a
//! 429's `retry_after` is answered as Discord answers it and noted as a violation the test
//! asserts is absent. It keeps everything the bot sent, uploaded bytes included.

use crate::served::Served;
use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, patch, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest message.
pub const MAX_TEXT: usize = 2000;
/// What a bot may upload in a guild without boosts.
pub const DEFAULT_UPLOAD_LIMIT: usize = 10 * 1024 * 1024;
/// The bot's user and application.
pub const BOT_ID: u64 = 900_000_000_000_000_001;
pub const APPLICATION_ID: u64 = 900_000_000_000_000_002;
/// Intents: GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT (privileged).
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const DIRECT_MESSAGES: u64 = 1 << 12;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
/// An interaction must be answered within this.
const CALLBACK_WINDOW: Duration = Duration::from_secs(3);
/// The flag of a voice message.
const IS_VOICE_MESSAGE: u64 = 1 << 13;
const HEARTBEAT_MS: u64 = 1000;

/// Someone who writes to the bot.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: u64,
    pub name: String,
}

impl Person {
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
        }
    }

    fn json(&self) -> Value {
        json!({"id": self.id.to_string(), "username": self.name, "discriminator": "0",
               "global_name": self.name, "avatar": null, "bot": false})
    }
}

/// Where they write: a guild's text channel, or a DM with the bot.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub channel: u64,
    pub guild: Option<u64>,
}

impl Place {
    pub fn guild(guild: u64, channel: u64) -> Self {
        Self {
            channel,
            guild: Some(guild),
        }
    }

    pub fn dm(channel: u64) -> Self {
        Self {
            channel,
            guild: None,
        }
    }
}

/// A file a person attaches.
#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl File {
    pub fn new(name: &str, content_type: &str, bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            bytes,
        }
    }
}

/// What the bot sent or changed, in order.
#[derive(Debug, Clone)]
pub struct Sent {
    /// `message` (a channel message), `edit` (of a channel message), `callback` (an
    /// interaction's first answer), `original` (its original response edited), `followup`,
    /// `followup-edit`.
    pub kind: String,
    pub channel: u64,
    /// The message's id (none for a callback).
    pub message: Option<String>,
    /// The interaction it answers, for `callback`, `original`, `followup`, `followup-edit`.
    pub interaction: Option<String>,
    pub content: Option<String>,
    /// The message's components (`[]` when they were removed).
    pub components: Value,
    /// The message it replies to.
    pub reply_to: Option<String>,
    pub ephemeral: bool,
    /// The uploaded file's bytes.
    pub file: Option<Vec<u8>>,
    pub at: Instant,
}

/// The bot's message as it is now.
#[derive(Debug, Clone)]
struct Kept {
    channel: u64,
    content: String,
    components: Value,
    flags: u64,
}

struct Interaction {
    id: String,
    channel: u64,
    created: Instant,
    answered: bool,
    ephemeral: bool,
    /// The original response's message, once it exists.
    original: Option<String>,
}

/// A 429 the fake will answer to the next calls of a kind.
struct Limit {
    kind: &'static str,
    left: usize,
    retry_after: Duration,
}

struct Api {
    token: String,
    next_id: u64,
    granted_message_content: bool,
    upload_limits: HashMap<u64, usize>,
    commands: Option<Value>,
    kept: HashMap<String, Kept>,
    interactions: HashMap<String, Interaction>,
    sent: Vec<Sent>,
    calls: Vec<String>,
    violations: Vec<String>,
    cdn: HashMap<String, (String, Vec<u8>)>,
    limits: Vec<Limit>,
    /// After a 429: no call of that kind before this.
    blocked_until: HashMap<&'static str, Instant>,
    rate_limited: usize,
    // The gateway.
    session: String,
    events: Vec<(u64, Value)>,
    identified: Vec<u64>,
    resumed: usize,
    connections: usize,
    heartbeats: usize,
    ready: bool,
    /// How many network cuts so far: a connection opened before a cut ends at its next turn,
    /// even if the cut came while it was busy sending.
    cuts: u64,
}

type Shared = (
    Arc<Mutex<Api>>,
    Arc<tokio::sync::Notify>,
    Arc<tokio::sync::Notify>,
);

fn lock(api: &Arc<Mutex<Api>>) -> MutexGuard<'_, Api> {
    api.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Api {
    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    fn upload_limit(&self, channel: u64) -> usize {
        self.upload_limits
            .get(&channel)
            .copied()
            .unwrap_or(DEFAULT_UPLOAD_LIMIT)
    }
}

/// A running fake Discord; it stops when dropped.
pub struct FakeDiscord {
    served: Served,
    api: Arc<Mutex<Api>>,
    /// New gateway events.
    events: Arc<tokio::sync::Notify>,
    /// Drops the gateway's sockets.
    cut: Arc<tokio::sync::Notify>,
}

impl FakeDiscord {
    /// Serves the bot with `token` on a free loopback port.
    pub fn start(token: &str) -> Self {
        let api = Arc::new(Mutex::new(Api {
            token: token.to_owned(),
            next_id: 1_000_000_000_000_000_000,
            granted_message_content: false,
            upload_limits: HashMap::new(),
            commands: None,
            kept: HashMap::new(),
            interactions: HashMap::new(),
            sent: Vec::new(),
            calls: Vec::new(),
            violations: Vec::new(),
            cdn: HashMap::new(),
            limits: Vec::new(),
            blocked_until: HashMap::new(),
            rate_limited: 0,
            session: String::new(),
            events: Vec::new(),
            identified: Vec::new(),
            resumed: 0,
            connections: 0,
            heartbeats: 0,
            cuts: 0,
            ready: false,
        }));
        let events = Arc::new(tokio::sync::Notify::new());
        let cut = Arc::new(tokio::sync::Notify::new());
        let app = Router::new()
            .route("/api/v10/gateway", get(gateway_url))
            .route("/api/v10/gateway/bot", get(gateway_url))
            .route("/api/v10/users/@me", get(users_me))
            .route("/api/v10/oauth2/applications/@me", get(application))
            .route("/api/v10/applications/{app}/commands", put(commands))
            .route(
                "/api/v10/applications/{app}/guilds/{guild}/commands",
                put(commands),
            )
            .route(
                "/api/v10/interactions/{id}/{token}/callback",
                post(callback),
            )
            .route("/api/v10/webhooks/{app}/{token}", post(followup))
            .route(
                "/api/v10/webhooks/{app}/{token}/messages/{message}",
                patch(edit_webhook_message),
            )
            .route("/api/v10/channels/{channel}/typing", post(typing))
            .route("/api/v10/channels/{channel}/messages", post(create_message))
            .route(
                "/api/v10/channels/{channel}/messages/{message}",
                patch(edit_message),
            )
            .route("/attachments/{channel}/{id}/{name}", get(cdn))
            .route("/gateway", any(gateway))
            .fallback(unexpected)
            .layer(axum::extract::DefaultBodyLimit::max(100 * 1024 * 1024))
            .with_state((api.clone(), events.clone(), cut.clone()));
        Self {
            served: Served::start(app),
            api,
            events,
            cut,
        }
    }

    /// What `DISCORD_API_URL` takes.
    pub fn url(&self) -> &str {
        self.served.url()
    }

    /// The application grants the privileged MESSAGE_CONTENT intent (else asking for it
    /// closes the gateway with 4014, as Discord does).
    pub fn grant_message_content(&self) {
        lock(&self.api).granted_message_content = true;
    }

    /// The largest upload `channel` takes (its guild's boosts), as interactions tell.
    pub fn set_upload_limit(&self, channel: u64, bytes: usize) {
        lock(&self.api).upload_limits.insert(channel, bytes);
    }

    /// The next `count` calls of `kind` (`edit`: any message edit) are answered 429 with
    /// `retry_after`.
    pub fn rate_limit(&self, kind: &'static str, count: usize, retry_after: Duration) {
        lock(&self.api).limits.push(Limit {
            kind,
            left: count,
            retry_after,
        });
    }

    /// 429s answered so far.
    pub fn rate_limited(&self) -> usize {
        lock(&self.api).rate_limited
    }

    /// The bot is connected and was told it is ready.
    pub fn ready(&self) -> bool {
        lock(&self.api).ready
    }

    /// The slash commands registered (the last overwrite).
    pub fn commands(&self) -> Option<Value> {
        lock(&self.api).commands.clone()
    }

    /// The intents of every IDENTIFY, how many RESUMEs, and how many connections.
    pub fn gateway_counts(&self) -> (Vec<u64>, usize, usize) {
        let api = lock(&self.api);
        (api.identified.clone(), api.resumed, api.connections)
    }

    /// Heartbeats acknowledged.
    pub fn heartbeats(&self) -> usize {
        lock(&self.api).heartbeats
    }

    /// Drops every gateway socket without a close frame (a network cut).
    pub fn drop_gateway(&self) {
        let mut api = lock(&self.api);
        api.ready = false;
        api.cuts += 1;
        drop(api);
        self.cut.notify_waiters();
    }

    fn dispatch(&self, t: &str, d: Value) {
        let mut api = lock(&self.api);
        let seq = api.events.len() as u64 + 2; // READY is 1.
        api.events
            .push((seq, json!({"op": 0, "s": seq, "t": t, "d": d})));
        drop(api);
        self.events.notify_waiters();
    }

    /// An attachment object whose bytes the CDN serves (at a signed URL).
    fn attachment(&self, channel: u64, file: &File) -> Value {
        let mut api = lock(&self.api);
        let id = api.id();
        let path = format!("{channel}/{id}/{}", file.name);
        api.cdn.insert(
            path.clone(),
            (file.content_type.clone(), file.bytes.clone()),
        );
        drop(api);
        let url = format!(
            "{}/attachments/{path}?ex=6790a1b2&is=678f5032&hm=5e1f0c",
            self.url()
        );
        json!({"id": id, "filename": file.name, "size": file.bytes.len(), "url": url,
               "proxy_url": url, "content_type": file.content_type})
    }

    fn message_json(&self, place: Place, author: Value, content: &str, extra: Value) -> Value {
        let id = lock(&self.api).id();
        let mut message = json!({"id": id, "channel_id": place.channel.to_string(),
            "author": author, "content": content,
            "timestamp": "2026-12-01T12:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0, "flags": 0});
        if let Some(guild) = place.guild {
            message["guild_id"] = json!(guild.to_string());
        }
        if let (Some(m), Value::Object(extra)) = (message.as_object_mut(), extra) {
            m.extend(extra);
        }
        message
    }

    /// `person` writes `content` in `place` with `files`; in a guild, `mention` adds the
    /// bot's mention (`<@id>` at the start, as Discord's client writes it). Without the
    /// MESSAGE_CONTENT intent, Discord blanks the content of guild messages that do not
    /// mention the bot. Returns the message's id.
    pub fn send_message(
        &self,
        place: Place,
        person: &Person,
        content: &str,
        files: &[File],
        mention: bool,
    ) -> String {
        let attachments: Vec<Value> = files
            .iter()
            .map(|f| self.attachment(place.channel, f))
            .collect();
        let mut text = content.to_owned();
        let mut mentions = json!([]);
        if mention {
            text = format!("<@{BOT_ID}> {content}");
            mentions = json!([bot_user()]);
        }
        let readable = mention || place.guild.is_none() || lock(&self.api).granted_message_content;
        if !readable {
            text.clear();
        }
        let message = self.message_json(
            place,
            person.json(),
            &text,
            json!({"attachments": attachments, "mentions": mentions}),
        );
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        self.dispatch("MESSAGE_CREATE", message);
        id
    }

    /// `person` replies to the bot's message `to` without pinging it: only a bot granted
    /// MESSAGE_CONTENT reads the words. Returns the message's id.
    pub fn send_reply(&self, place: Place, person: &Person, content: &str, to: &str) -> String {
        let kept = lock(&self.api).kept.get(to).cloned();
        let Some(kept) = kept else {
            lock(&self.api).violation(format!("the test replied to unknown message {to}"));
            return String::new();
        };
        let mut referenced = self.message_json(place, bot_user(), &kept.content, json!({}));
        referenced["id"] = json!(to);
        let text = if lock(&self.api).granted_message_content {
            content
        } else {
            ""
        };
        let message = self.message_json(
            place,
            person.json(),
            text,
            json!({"type": 19, "referenced_message": referenced,
                   "message_reference": {"message_id": to, "channel_id": place.channel.to_string()}}),
        );
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        self.dispatch("MESSAGE_CREATE", message);
        id
    }

    /// `person` sends a voice message (an OGG/Opus recording with the voice-message flag).
    pub fn send_voice_message(
        &self,
        place: Place,
        person: &Person,
        ogg: Vec<u8>,
        seconds: f64,
    ) -> String {
        let mut attachment = self.attachment(
            place.channel,
            &File::new("voice-message.ogg", "audio/ogg", ogg),
        );
        attachment["duration_secs"] = json!(seconds);
        attachment["waveform"] = json!("AAAAAAAAAAAA");
        let message = self.message_json(
            place,
            person.json(),
            "",
            json!({"attachments": [attachment], "flags": IS_VOICE_MESSAGE}),
        );
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        self.dispatch("MESSAGE_CREATE", message);
        id
    }

    fn interaction(
        &self,
        place: Place,
        person: &Person,
        kind: u8,
        data: Value,
        message: Option<Value>,
    ) -> String {
        let (id, token, limit) = {
            let mut api = lock(&self.api);
            let id = api.id();
            let token = format!("aW50ZXJhY3Rpb246{id}:secret-{}", api.next_id);
            let limit = api.upload_limit(place.channel);
            api.interactions.insert(
                token.clone(),
                Interaction {
                    id: id.clone(),
                    channel: place.channel,
                    created: Instant::now(),
                    answered: false,
                    ephemeral: false,
                    original: None,
                },
            );
            (id, token, limit)
        };
        let mut interaction = json!({"id": id, "application_id": APPLICATION_ID.to_string(),
            "type": kind, "data": data, "channel_id": place.channel.to_string(),
            "channel": {"id": place.channel.to_string(), "type": if place.guild.is_some() { 0 } else { 1 }},
            "token": token, "version": 1, "app_permissions": "2248473465835073",
            "locale": "en-US", "entitlements": [], "attachment_size_limit": limit,
            "context": if place.guild.is_some() { 0 } else { 1 }});
        match place.guild {
            Some(guild) => {
                interaction["guild_id"] = json!(guild.to_string());
                interaction["guild_locale"] = json!("en-US");
                interaction["member"] = json!({"user": person.json(), "nick": null, "avatar": null,
                    "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
                    "premium_since": null, "deaf": false, "mute": false, "flags": 0,
                    "pending": false, "permissions": "2248473465835073"});
                interaction["authorizing_integration_owners"] = json!({"0": guild.to_string()});
            }
            None => {
                interaction["user"] = person.json();
                interaction["authorizing_integration_owners"] = json!({"1": person.id.to_string()});
            }
        }
        if let Some(message) = message {
            interaction["message"] = message;
        }
        self.dispatch("INTERACTION_CREATE", interaction);
        id
    }

    /// `person` uses slash command `name` with string `options` and an optional `photo`
    /// attachment. Returns the interaction's id.
    pub fn slash(
        &self,
        place: Place,
        person: &Person,
        name: &str,
        options: &[(&str, &str)],
        photo: Option<&File>,
    ) -> String {
        let mut list: Vec<Value> = options
            .iter()
            .map(|(k, v)| json!({"name": k, "type": 3, "value": v}))
            .collect();
        let mut resolved = json!({});
        if let Some(photo) = photo {
            let attachment = self.attachment(place.channel, photo);
            let id = attachment["id"].clone();
            list.push(json!({"name": "photo", "type": 11, "value": id}));
            resolved = json!({"attachments": {id.as_str().unwrap_or_default(): attachment}});
        }
        let command_id = lock(&self.api).id();
        let mut data = json!({"id": command_id, "name": name, "type": 1, "options": list,
                              "resolved": resolved});
        if let Some(guild) = place.guild {
            data["guild_id"] = json!(guild.to_string());
        }
        self.interaction(place, person, 2, data, None)
    }

    /// `person` presses the button (or picks `values` in the menu) `custom_id` on the bot's
    /// message `message`. Returns the interaction's id.
    pub fn press(
        &self,
        place: Place,
        person: &Person,
        message: &str,
        custom_id: &str,
        values: &[&str],
    ) -> String {
        let kept = lock(&self.api).kept.get(message).cloned();
        let Some(kept) = kept else {
            lock(&self.api).violation(format!(
                "the test pressed {custom_id} on unknown message {message}"
            ));
            return String::new();
        };
        let mut object = self.message_json(
            place,
            bot_user(),
            &kept.content,
            json!({"components": kept.components, "flags": kept.flags}),
        );
        object["id"] = json!(message);
        let data = if values.is_empty() {
            json!({"custom_id": custom_id, "component_type": 2})
        } else {
            json!({"custom_id": custom_id, "component_type": 3, "values": values})
        };
        self.interaction(place, person, 3, data, Some(object))
    }

    /// Everything the bot sent or changed, in order.
    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.api).sent.clone()
    }

    /// What the bot sent or changed after the first `from` things, in order (a reader that
    /// follows a long run keeps its place instead of copying everything again).
    pub fn sent_since(&self, from: usize) -> Vec<Sent> {
        lock(&self.api)
            .sent
            .get(from..)
            .map(<[Sent]>::to_vec)
            .unwrap_or_default()
    }

    /// Every REST call: method and path, tokens left out.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.api).calls.clone()
    }

    /// Calls the real API would have refused, or this fake did not expect.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.api).violations.clone()
    }

    /// Waits until `done` holds for what was sent, or `within` passes; returns what was sent.
    pub fn wait_for(&self, within: Duration, done: impl Fn(&[Sent]) -> bool) -> Vec<Sent> {
        let until = Instant::now() + within;
        loop {
            let sent = self.sent();
            if done(&sent) || Instant::now() > until {
                return sent;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the bot is connected and ready (and its commands registered), or
    /// `within` passes.
    pub fn wait_ready(&self, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.ready() && self.commands().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.cut.notify_waiters();
        self.served.stop();
    }
}

fn bot_user() -> Value {
    json!({"id": BOT_ID.to_string(), "username": "spinbot", "discriminator": "0",
           "global_name": "Spinbot", "avatar": null, "bot": true})
}

/// Discord's error answer.
fn refuse(
    api: &Arc<Mutex<Api>>,
    status: u16,
    code: u64,
    message: &str,
    violation: bool,
) -> Response {
    if violation {
        lock(api).violation(format!("{status} {code}: {message}"));
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(json!({"message": message, "code": code}))).into_response()
}

/// Records the call (tokens hidden); checks the bot's token where Discord needs it, and a
/// 429 the fake owes this kind of call. `None`: go on.
fn enter(
    api: &Arc<Mutex<Api>>,
    what: &str,
    headers: &HeaderMap,
    kind: &'static str,
    auth: bool,
) -> Option<Response> {
    let mut a = lock(api);
    a.calls.push(what.to_owned());
    if auth {
        let expected = format!("Bot {}", a.token);
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if given != expected {
            drop(a);
            return Some(refuse(api, 401, 0, "401: Unauthorized", true));
        }
    }
    if let Some(until) = a.blocked_until.get(kind) {
        if Instant::now() < *until {
            a.violation(format!("{what} during a 429's retry_after"));
        }
    }
    if let Some(limit) = a.limits.iter_mut().find(|l| l.kind == kind && l.left > 0) {
        limit.left -= 1;
        let wait = limit.retry_after;
        a.blocked_until.insert(kind, Instant::now() + wait);
        a.rate_limited += 1;
        let seconds = wait.as_secs_f64();
        return Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("retry-after", format!("{}", seconds.ceil() as u64)),
                    ("x-ratelimit-scope", "user".to_owned()),
                ],
                Json(json!({"message": "You are being rate limited.", "retry_after": seconds, "global": false})),
            )
                .into_response(),
        );
    }
    None
}

/// A message body: JSON, or multipart with `payload_json` and `files[N]` parts.
async fn body(request: Request) -> Result<(Value, Vec<(String, Vec<u8>)>), String> {
    let multipart = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let bytes = Bytes::from_request(request, &())
            .await
            .map_err(|e| e.to_string())?;
        if bytes.is_empty() {
            return Ok((Value::Null, Vec::new()));
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|_| "a body that is not JSON".to_owned())?;
        return Ok((value, Vec::new()));
    }
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| format!("malformed upload: {e}"))?;
    let mut payload = Value::Null;
    let mut files = Vec::new();
    while let Some(part) = form
        .next_field()
        .await
        .map_err(|e| format!("malformed upload: {e}"))?
    {
        let name = part.name().unwrap_or_default().to_owned();
        let file_name = part.file_name().map(str::to_owned);
        let bytes = part
            .bytes()
            .await
            .map_err(|e| format!("malformed upload: {e}"))?;
        if name == "payload_json" {
            payload = serde_json::from_slice(&bytes)
                .map_err(|_| "payload_json is not JSON".to_owned())?;
        } else if name.starts_with("files[") {
            files.push((file_name.unwrap_or_default(), bytes.to_vec()));
        } else {
            return Err(format!("an unknown multipart field {name}"));
        }
    }
    Ok((payload, files))
}

/// Checks a message the bot sends: content length, mentions switched off, something to show.
fn check_message(
    api: &Arc<Mutex<Api>>,
    body: &Value,
    files: usize,
    edit: bool,
) -> Option<Response> {
    let content = body["content"].as_str().unwrap_or_default();
    if content.chars().count() > MAX_TEXT {
        return Some(refuse(
            api,
            400,
            50035,
            "Invalid Form Body: content: Must be 2000 or fewer in length.",
            true,
        ));
    }
    if !edit
        && content.is_empty()
        && files == 0
        && body["components"].as_array().is_none_or(Vec::is_empty)
    {
        return Some(refuse(
            api,
            400,
            50006,
            "Cannot send an empty message",
            true,
        ));
    }
    if body.get("content").is_some() && body["allowed_mentions"] != json!({"parse": []}) {
        lock(api).violation(format!(
            "a message without allowed_mentions switched off: {body}"
        ));
    }
    None
}

/// Checks a new message: [`check_message`], and its files within the channel's limit.
fn check_new_message(
    api: &Arc<Mutex<Api>>,
    channel: u64,
    payload: &Value,
    files: &[(String, Vec<u8>)],
) -> Option<Response> {
    if let Some(refused) = check_message(api, payload, files.len(), false) {
        return Some(refused);
    }
    let size: usize = files.iter().map(|(_, b)| b.len()).sum();
    (size > lock(api).upload_limit(channel))
        .then(|| refuse(api, 413, 40005, "Request entity too large", true))
}

/// The bot's message as Discord returns it.
fn bot_message(
    id: &str,
    channel: u64,
    content: &str,
    components: &Value,
    files: &[(String, Vec<u8>)],
    base: &str,
) -> Value {
    let attachments: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            let url = format!("{base}/attachments/{channel}/{id}{i}/{name}");
            json!({"id": format!("{id}{i}"), "filename": name, "size": bytes.len(), "url": url, "proxy_url": url})
        })
        .collect();
    json!({"id": id, "channel_id": channel.to_string(), "author": bot_user(),
           "content": content, "timestamp": "2026-12-01T12:00:00.000000+00:00",
           "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
           "mention_roles": [], "attachments": attachments, "embeds": [], "pinned": false,
           "type": 0, "components": components})
}

impl Sent {
    fn new(kind: &str, channel: u64) -> Self {
        Self {
            kind: kind.to_owned(),
            channel,
            message: None,
            interaction: None,
            content: None,
            components: json!([]),
            reply_to: None,
            ephemeral: false,
            file: None,
            at: Instant::now(),
        }
    }
}

/// Keeps message `id` as `payload` leaves it (what it leaves out stays as it was), records
/// `what` the bot did, and answers with the message.
fn keep(
    api: &Arc<Mutex<Api>>,
    id: &str,
    what: Sent,
    payload: &Value,
    files: &[(String, Vec<u8>)],
    headers: &HeaderMap,
) -> Response {
    let mut a = lock(api);
    let old = a.kept.get(id).cloned();
    let content = payload["content"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| old.as_ref().map(|k| k.content.clone()))
        .unwrap_or_default();
    let components = payload
        .get("components")
        .cloned()
        .or_else(|| old.map(|k| k.components))
        .unwrap_or(json!([]));
    let channel = what.channel;
    a.kept.insert(
        id.to_owned(),
        Kept {
            channel,
            content: content.clone(),
            components: components.clone(),
            flags: if what.ephemeral { 64 } else { 0 },
        },
    );
    a.sent.push(Sent {
        message: Some(id.to_owned()),
        content: Some(content.clone()),
        components: components.clone(),
        file: files.first().map(|(_, b)| b.clone()),
        ..what
    });
    drop(a);
    let base = base(headers);
    Json(bot_message(
        id,
        channel,
        &content,
        &components,
        files,
        &base,
    ))
    .into_response()
}

fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

async fn gateway_url(State((api, _, _)): State<Shared>, headers: HeaderMap, uri: Uri) -> Response {
    lock(&api).calls.push(format!("GET {}", uri.path()));
    let ws = base(&headers).replace("http://", "ws://") + "/gateway";
    Json(json!({"url": ws, "shards": 1, "session_start_limit":
        {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}))
    .into_response()
}

async fn users_me(State((api, _, _)): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = enter(&api, "GET /users/@me", &headers, "read", true) {
        return refused;
    }
    Json(bot_user()).into_response()
}

async fn application(State((api, _, _)): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = enter(&api, "GET /oauth2/applications/@me", &headers, "read", true) {
        return refused;
    }
    Json(
        json!({"id": APPLICATION_ID.to_string(), "name": "spinbot", "icon": null,
        "description": "", "bot_public": true, "bot_require_code_grant": false,
        "verify_key": "00", "owner": {"id": "1", "username": "owner", "discriminator": "0",
        "avatar": null}, "flags": 0}),
    )
    .into_response()
}

async fn commands(
    State((api, _, _)): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    request: Request,
) -> Response {
    let what = format!("PUT {}", uri.path().trim_start_matches("/api/v10"));
    if let Some(refused) = enter(&api, &what, &headers, "commands", true) {
        return refused;
    }
    if !uri.path().contains(&APPLICATION_ID.to_string()) {
        return refuse(&api, 403, 50001, "Missing Access", true);
    }
    let Ok((Value::Array(list), _)) = body(request).await else {
        return refuse(
            &api,
            400,
            50035,
            "Invalid Form Body: a list of commands",
            true,
        );
    };
    let mut names = HashSet::new();
    for command in &list {
        let name = command["name"].as_str().unwrap_or_default();
        let description = command["description"].as_str().unwrap_or_default();
        let valid_name = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid_name
            || description.is_empty()
            || description.chars().count() > 100
            || !names.insert(name.to_owned())
        {
            return refuse(
                &api,
                400,
                50035,
                &format!("Invalid Form Body: command {name}"),
                true,
            );
        }
        for option in command["options"].as_array().into_iter().flatten() {
            let choices = option["choices"].as_array().map_or(0, Vec::len);
            let described = option["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty() && d.chars().count() <= 100);
            if choices > 25 || !described || option["name"].as_str().is_none() {
                return refuse(
                    &api,
                    400,
                    50035,
                    &format!("Invalid Form Body: an option of {name}"),
                    true,
                );
            }
        }
    }
    let mut a = lock(&api);
    let mut registered = Vec::new();
    for mut command in list {
        command["id"] = json!(a.id());
        command["application_id"] = json!(APPLICATION_ID.to_string());
        command["version"] = json!("1");
        registered.push(command);
    }
    a.commands = Some(Value::Array(registered.clone()));
    Json(Value::Array(registered)).into_response()
}

async fn callback(
    State((api, _, _)): State<Shared>,
    Path((id, token)): Path<(String, String)>,
    request: Request,
) -> Response {
    lock(&api)
        .calls
        .push(format!("POST /interactions/{id}/-/callback"));
    let Ok((payload, _)) = body(request).await else {
        return refuse(&api, 400, 50035, "Invalid Form Body", true);
    };
    let mut a = lock(&api);
    let Some(interaction) = a.interactions.get_mut(&token).filter(|i| i.id == id) else {
        drop(a);
        return refuse(&api, 404, 10062, "Unknown interaction", true);
    };
    if interaction.answered {
        drop(a);
        return refuse(
            &api,
            400,
            40060,
            "Interaction has already been acknowledged.",
            true,
        );
    }
    if interaction.created.elapsed() > CALLBACK_WINDOW {
        drop(a);
        return refuse(&api, 404, 10062, "Unknown interaction", true);
    }
    let kind = payload["type"].as_u64().unwrap_or(0);
    if ![4, 5, 6, 7].contains(&kind) {
        drop(a);
        return refuse(&api, 400, 50035, "Invalid Form Body: type", true);
    }
    interaction.answered = true;
    interaction.ephemeral = payload["data"]["flags"].as_u64().unwrap_or(0) & 64 != 0;
    let (channel, ephemeral) = (interaction.channel, interaction.ephemeral);
    a.sent.push(Sent {
        interaction: Some(id),
        content: payload["data"]["content"].as_str().map(str::to_owned),
        ephemeral,
        ..Sent::new("callback", channel)
    });
    StatusCode::NO_CONTENT.into_response()
}

/// The interaction a webhook token belongs to, checked as answered first: its id, channel,
/// and whether its answers are ephemeral.
fn by_token(
    api: &Arc<Mutex<Api>>,
    app: &str,
    token: &str,
) -> Result<(String, u64, bool), Box<Response>> {
    let a = lock(api);
    if app != APPLICATION_ID.to_string() {
        drop(a);
        return Err(Box::new(refuse(
            api,
            401,
            50027,
            "Invalid Webhook Token",
            true,
        )));
    }
    match a.interactions.get(token) {
        None => {
            drop(a);
            Err(Box::new(refuse(
                api,
                401,
                50027,
                "Invalid Webhook Token",
                true,
            )))
        }
        Some(i) if !i.answered => {
            let id = i.id.clone();
            drop(a);
            Err(Box::new(refuse(
                api,
                404,
                10015,
                &format!("Unknown Webhook: interaction {id} used before its callback"),
                true,
            )))
        }
        Some(i) => Ok((i.id.clone(), i.channel, i.ephemeral)),
    }
}

async fn followup(
    State((api, _, _)): State<Shared>,
    Path((app, token)): Path<(String, String)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    if let Some(refused) = enter(&api, "POST /webhooks/{app}/-", &headers, "message", false) {
        return refused;
    }
    let (interaction, channel, _) = match by_token(&api, &app, &token) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let (payload, files) = match body(request).await {
        Ok(b) => b,
        Err(e) => return refuse(&api, 400, 50035, &e, true),
    };
    if let Some(refused) = check_new_message(&api, channel, &payload, &files) {
        return refused;
    }
    let id = lock(&api).id();
    let ephemeral = payload["flags"].as_u64().unwrap_or(0) & 64 != 0;
    let what = Sent {
        interaction: Some(interaction),
        ephemeral,
        ..Sent::new("followup", channel)
    };
    keep(&api, &id, what, &payload, &files, &headers)
}

async fn edit_webhook_message(
    State((api, _, _)): State<Shared>,
    Path((app, token, message)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    if let Some(refused) = enter(
        &api,
        &format!("PATCH /webhooks/{app}/-/messages/{message}"),
        &headers,
        "edit",
        false,
    ) {
        return refused;
    }
    let (interaction, channel, ephemeral) = match by_token(&api, &app, &token) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let (payload, files) = match body(request).await {
        Ok(b) => b,
        Err(e) => return refuse(&api, 400, 50035, &e, true),
    };
    if let Some(refused) = check_message(&api, &payload, files.len(), true) {
        return refused;
    }
    let mut a = lock(&api);
    let (id, kind) = if message == "@original" {
        let existing = a.interactions.get(&token).and_then(|i| i.original.clone());
        let id = match existing {
            Some(id) => id,
            None => {
                let id = a.id();
                if let Some(i) = a.interactions.get_mut(&token) {
                    i.original = Some(id.clone());
                }
                id
            }
        };
        (id, "original")
    } else {
        let ours = a.sent.iter().any(|s| {
            s.kind == "followup"
                && s.message.as_deref() == Some(message.as_str())
                && s.interaction.as_deref() == Some(interaction.as_str())
        });
        if !ours {
            drop(a);
            return refuse(&api, 404, 10008, "Unknown Message", true);
        }
        (message.clone(), "followup-edit")
    };
    drop(a);
    let what = Sent {
        interaction: Some(interaction),
        ephemeral,
        ..Sent::new(kind, channel)
    };
    keep(&api, &id, what, &payload, &files, &headers)
}

async fn typing(
    State((api, _, _)): State<Shared>,
    Path(channel): Path<u64>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = enter(
        &api,
        &format!("POST /channels/{channel}/typing"),
        &headers,
        "typing",
        true,
    ) {
        return refused;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn create_message(
    State((api, _, _)): State<Shared>,
    Path(channel): Path<u64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    if let Some(refused) = enter(
        &api,
        &format!("POST /channels/{channel}/messages"),
        &headers,
        "message",
        true,
    ) {
        return refused;
    }
    let (payload, files) = match body(request).await {
        Ok(b) => b,
        Err(e) => return refuse(&api, 400, 50035, &e, true),
    };
    if let Some(refused) = check_new_message(&api, channel, &payload, &files) {
        return refused;
    }
    let id = lock(&api).id();
    let what = Sent {
        reply_to: payload["message_reference"]["message_id"]
            .as_str()
            .map(str::to_owned),
        ..Sent::new("message", channel)
    };
    keep(&api, &id, what, &payload, &files, &headers)
}

async fn edit_message(
    State((api, _, _)): State<Shared>,
    Path((channel, message)): Path<(u64, String)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    if let Some(refused) = enter(
        &api,
        &format!("PATCH /channels/{channel}/messages/{message}"),
        &headers,
        "edit",
        true,
    ) {
        return refused;
    }
    let (payload, files) = match body(request).await {
        Ok(b) => b,
        Err(e) => return refuse(&api, 400, 50035, &e, true),
    };
    if let Some(refused) = check_message(&api, &payload, files.len(), true) {
        return refused;
    }
    let a = lock(&api);
    let ours = a
        .kept
        .get(&message)
        .is_some_and(|k| k.channel == channel && k.flags & 64 == 0);
    drop(a);
    if !ours {
        return refuse(&api, 404, 10008, "Unknown Message", true);
    }
    keep(
        &api,
        &message,
        Sent::new("edit", channel),
        &payload,
        &files,
        &headers,
    )
}

async fn cdn(
    State((api, _, _)): State<Shared>,
    Path((channel, id, name)): Path<(String, String, String)>,
    uri: Uri,
) -> Response {
    let path = format!("{channel}/{id}/{name}");
    let mut a = lock(&api);
    a.calls.push(format!("GET /attachments/{path}"));
    let signed = uri
        .query()
        .is_some_and(|q| q.contains("ex=") && q.contains("hm="));
    if !signed {
        a.violation(format!(
            "an attachment fetched without its signature: {uri}"
        ));
        return (
            StatusCode::NOT_FOUND,
            "This content is no longer available.",
        )
            .into_response();
    }
    match a.cdn.get(&path) {
        Some((content_type, bytes)) => {
            ([("content-type", content_type.clone())], bytes.clone()).into_response()
        }
        None => {
            a.violation(format!("an unknown attachment {path}"));
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

async fn unexpected(State((api, _, _)): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    // Webhook tokens are secrets: never in a record.
    let shown = if path.contains("/webhooks/") || path.contains("/interactions/") {
        "a webhook route".to_owned()
    } else {
        path
    };
    let what = format!("unexpected {} {shown}", request.method());
    lock(&api).calls.push(what.clone());
    refuse(&api, 404, 0, &what, true)
}

async fn gateway(State(shared): State<Shared>, upgrade: WebSocketUpgrade) -> Response {
    lock(&shared.0).connections += 1;
    upgrade.on_upgrade(move |socket| session(shared, socket))
}

fn frame(value: &Value) -> WsMessage {
    WsMessage::Text(value.to_string().into())
}

/// One gateway connection: HELLO, then IDENTIFY or RESUME, heartbeats, and the events.
async fn session((api, events, cut): Shared, mut socket: WebSocket) {
    let born = lock(&api).cuts;
    if socket
        .send(frame(
            &json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}),
        ))
        .await
        .is_err()
    {
        return;
    }
    // The last event sent on this connection (None before IDENTIFY or RESUME).
    let mut sent: Option<u64> = None;
    loop {
        let news = events.notified();
        let dropped = cut.notified();
        // Checked under the same lock as the events are read: nothing said after a cut
        // goes out on a connection opened before it.
        let due: Vec<(u64, Value)> = {
            let a = lock(&api);
            if a.cuts != born {
                return;
            }
            match sent {
                Some(last) => a
                    .events
                    .iter()
                    .filter(|(s, _)| *s > last)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            }
        };
        for (seq, event) in due {
            if socket.send(frame(&event)).await.is_err() {
                return;
            }
            sent = Some(seq);
        }
        tokio::select! {
            () = dropped => return,
            () = news => {}
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { return };
                let text = match message {
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Close(_) => return,
                    _ => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                    lock(&api).violation("a gateway frame that is not JSON".into());
                    let _ = socket.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame { code: 4002, reason: "Error while decoding payload.".into() }))).await;
                    return;
                };
                match payload["op"].as_u64() {
                    Some(1) => {
                        lock(&api).heartbeats += 1;
                        if socket.send(frame(&json!({"op": 11}))).await.is_err() {
                            return;
                        }
                    }
                    Some(2) => {
                        let d = &payload["d"];
                        let intents = d["intents"].as_u64().unwrap_or(0);
                        let (token_ok, granted) = {
                            let a = lock(&api);
                            (d["token"].as_str().is_some_and(|t| t == a.token || t == format!("Bot {}", a.token)), a.granted_message_content)
                        };
                        if !token_ok {
                            lock(&api).violation("IDENTIFY with a wrong token".into());
                            let _ = socket.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame { code: 4004, reason: "Authentication failed.".into() }))).await;
                            return;
                        }
                        if intents & MESSAGE_CONTENT != 0 && !granted {
                            let _ = socket.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame { code: 4014, reason: "Disallowed intent(s).".into() }))).await;
                            return;
                        }
                        if intents & (GUILD_MESSAGES | DIRECT_MESSAGES) != GUILD_MESSAGES | DIRECT_MESSAGES {
                            lock(&api).violation(format!("IDENTIFY without the message intents: {intents}"));
                        }
                        let ready = {
                            let mut a = lock(&api);
                            a.identified.push(intents);
                            a.events.clear();
                            a.session = format!("session-{}", a.identified.len());
                            a.ready = true;
                            json!({"op": 0, "s": 1, "t": "READY", "d": {"v": 10, "user": bot_user(),
                                "guilds": [], "session_id": a.session,
                                "resume_gateway_url": "ws://resume.invalid/gateway",
                                "shard": [0, 1], "application": {"id": APPLICATION_ID.to_string(), "flags": 0}}})
                        };
                        if socket.send(frame(&ready)).await.is_err() {
                            return;
                        }
                        sent = Some(1);
                    }
                    Some(6) => {
                        let d = &payload["d"];
                        let (known, token_ok) = {
                            let a = lock(&api);
                            (d["session_id"].as_str() == Some(a.session.as_str()) && !a.session.is_empty(),
                             d["token"].as_str().is_some_and(|t| t == a.token || t == format!("Bot {}", a.token)))
                        };
                        if !token_ok || !known {
                            // Invalid session, not resumable: the bot identifies afresh.
                            if socket.send(frame(&json!({"op": 9, "d": false}))).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        let from = d["seq"].as_u64().unwrap_or(0);
                        {
                            let mut a = lock(&api);
                            a.resumed += 1;
                            a.ready = true;
                        }
                        // The missed events follow at the loop's top, then RESUMED.
                        let missed: Vec<(u64, Value)> = lock(&api).events.iter().filter(|(s, _)| *s > from).cloned().collect();
                        let mut last = from;
                        for (seq, event) in missed {
                            if socket.send(frame(&event)).await.is_err() {
                                return;
                            }
                            last = seq;
                        }
                        if socket.send(frame(&json!({"op": 0, "s": last, "t": "RESUMED", "d": {}}))).await.is_err() {
                            return;
                        }
                        sent = Some(last);
                    }
                    other => {
                        lock(&api).violation(format!("an unexpected gateway op {other:?}"));
                    }
                }
            }
        }
    }
}
