//! A fake of the Telegram Bot API for tests, in the shape teloxide 0.17 speaks it: methods
//! at `POST /bot<token>/<Method>` (matched case-insensitively, JSON or multipart bodies),
//! `{"ok": true, "result": ...}` answers, long-polled `getUpdates` honouring `offset` and
//! `timeout`, `getFile` with the 20 MB download limit, downloads at
//! `GET /file/bot<token>/<path>`, and uploads as multipart with `attach://<part>`. It is
//! strict: an unknown method, a wrong token, a malformed upload, an edit that changes
//! nothing, or a call the real API would refuse is answered as Telegram answers it (4xx)
//! and noted as a violation the test asserts is absent. It keeps everything the bot sent,
//! uploaded bytes included.

use crate::served::Served;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What bots may download through `getFile` (20 MB) and upload (50 MB).
pub const DOWNLOAD_LIMIT: usize = 20 * 1_000_000;
pub const UPLOAD_LIMIT: usize = 50 * 1_000_000;
/// Longest text message.
pub const MAX_TEXT: usize = 4096;
const BOT_ID: i64 = 7_000_000_001;
/// The account Telegram shows as the sender of every anonymous group admin's message.
pub const GROUP_ANONYMOUS_BOT: i64 = 1_087_968_824;

/// A chat a fake user writes in.
#[derive(Debug, Clone)]
pub struct Chat {
    pub id: i64,
    pub user_id: i64,
    pub first_name: String,
    /// `None` for a private chat, else the group's title.
    pub group: Option<String>,
    /// The writer is an anonymous admin of the group: Telegram sends their messages from
    /// its shared `GroupAnonymousBot` account, with the group as `sender_chat`.
    pub anonymous: bool,
}

impl Chat {
    pub fn private(user_id: i64, first_name: &str) -> Self {
        Self {
            id: user_id,
            user_id,
            first_name: first_name.to_owned(),
            group: None,
            anonymous: false,
        }
    }

    pub fn group(id: i64, title: &str, user_id: i64, first_name: &str) -> Self {
        Self {
            id,
            user_id,
            first_name: first_name.to_owned(),
            group: Some(title.to_owned()),
            anonymous: false,
        }
    }

    /// The group `id` as its anonymous admin writes in it.
    pub fn anonymous_admin(id: i64, title: &str) -> Self {
        Self {
            id,
            user_id: GROUP_ANONYMOUS_BOT,
            first_name: "Group".to_owned(),
            group: Some(title.to_owned()),
            anonymous: true,
        }
    }

    fn json(&self) -> Value {
        match &self.group {
            None => json!({"id": self.id, "type": "private", "first_name": self.first_name}),
            Some(title) => json!({"id": self.id, "type": "supergroup", "title": title}),
        }
    }

    fn from(&self) -> Value {
        if self.anonymous {
            return json!({"id": GROUP_ANONYMOUS_BOT, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"});
        }
        json!({"id": self.user_id, "is_bot": false, "first_name": self.first_name, "language_code": "en"})
    }
}

/// Something the bot sent or changed, in order.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The method, lower-case (`sendmessage`, `editmessagetext`, `sendvideo`, ...).
    pub method: String,
    pub chat_id: i64,
    pub message_id: i64,
    pub text: Option<String>,
    pub caption: Option<String>,
    /// Uploaded bytes.
    pub file: Option<Vec<u8>>,
    /// The callback data of the inline buttons the message carries after this call.
    pub buttons: Vec<String>,
    pub at: Instant,
}

struct StoredFile {
    path: String,
    bytes: Vec<u8>,
}

struct Api {
    token: String,
    updates: Vec<Value>,
    next_update: i64,
    next_message: HashMap<i64, i64>,
    /// The current text of each message the bot sent: (chat, message) -> text.
    texts: HashMap<(i64, i64), String>,
    sent: Vec<Sent>,
    files: HashMap<String, StoredFile>,
    calls: Vec<String>,
    violations: Vec<String>,
    /// Chats users wrote in, as the API describes them.
    chats: HashMap<i64, Value>,
    /// Chats whose uploads are taken but not answered until released, and how many uploads
    /// each such chat sent while held.
    held: std::collections::HashSet<i64>,
    held_uploads: HashMap<i64, usize>,
    /// Chats whose text messages are not taken (nor answered) until released.
    held_texts: std::collections::HashSet<i64>,
    held_text_count: HashMap<i64, usize>,
    /// Messages the user deleted.
    deleted: std::collections::HashSet<(i64, i64)>,
    /// The buttons each message of the bot's carries now.
    markups: HashMap<(i64, i64), Vec<String>>,
    /// Button presses not answered yet (answerCallbackQuery), by id.
    presses: std::collections::HashSet<String>,
    /// Uploads are read at most this many bytes a second (`None`: as fast as they come).
    upload_rate: Option<u64>,
    /// Upload requests whose body is being read now.
    uploading: usize,
    /// The `allowed_updates` of the last `getUpdates` that named them.
    allowed_updates: Option<Value>,
}

type Shared = (Arc<Mutex<Api>>, Arc<tokio::sync::Notify>);

fn lock(api: &Arc<Mutex<Api>>) -> MutexGuard<'_, Api> {
    api.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Api {
    fn message_id(&mut self, chat: i64) -> i64 {
        let next = self.next_message.entry(chat).or_insert(1);
        *next += 1;
        *next - 1
    }

    fn file(&mut self, kind: &str, bytes: Vec<u8>) -> (String, Value) {
        let id = format!("{kind}-{}", self.files.len() + 1);
        let path = format!("{kind}s/file_{}", self.files.len() + 1);
        let size = bytes.len();
        self.files.insert(id.clone(), StoredFile { path, bytes });
        (
            id.clone(),
            json!({"file_id": id, "file_unique_id": format!("u{id}"), "file_size": size}),
        )
    }
}

/// A running fake Bot API; it stops when dropped.
pub struct FakeTelegram {
    served: Served,
    api: Arc<Mutex<Api>>,
    notify: Arc<tokio::sync::Notify>,
}

impl FakeTelegram {
    /// Serves the bot with `token` on a free loopback port.
    pub fn start(token: &str) -> Self {
        let api = Arc::new(Mutex::new(Api {
            token: token.to_owned(),
            updates: Vec::new(),
            next_update: 1,
            next_message: HashMap::new(),
            texts: HashMap::new(),
            sent: Vec::new(),
            files: HashMap::new(),
            calls: Vec::new(),
            violations: Vec::new(),
            chats: HashMap::new(),
            held: std::collections::HashSet::new(),
            held_uploads: HashMap::new(),
            held_texts: std::collections::HashSet::new(),
            held_text_count: HashMap::new(),
            deleted: std::collections::HashSet::new(),
            markups: HashMap::new(),
            presses: std::collections::HashSet::new(),
            upload_rate: None,
            uploading: 0,
            allowed_updates: None,
        }));
        let notify = Arc::new(tokio::sync::Notify::new());
        let app = Router::new()
            .route("/{bot}/{method}", post(method).get(method))
            .route("/file/{bot}/{*path}", get(download))
            .fallback(unexpected)
            // Room for Telegram's own 50 MB limit, which `method` answers with a 413.
            .layer(axum::extract::DefaultBodyLimit::max(
                UPLOAD_LIMIT + 10_000_000,
            ))
            .layer(axum::middleware::from_fn_with_state(
                api.clone(),
                throttle_uploads,
            ))
            .with_state((api.clone(), notify.clone()));
        Self {
            served: Served::start(app),
            api,
            notify,
        }
    }

    /// What `Bot::set_api_url` takes.
    pub fn url(&self) -> &str {
        self.served.url()
    }

    fn push(&self, chat: &Chat, content: Map<String, Value>) -> i64 {
        let mut api = lock(&self.api);
        api.chats.insert(chat.id, chat.json());
        let message_id = api.message_id(chat.id);
        let mut message = json!({"message_id": message_id, "date": now_s(), "chat": chat.json(), "from": chat.from()});
        if let Some(m) = message.as_object_mut() {
            if chat.anonymous {
                m.insert("sender_chat".into(), chat.json());
            }
            m.extend(content);
        }
        let update_id = api.next_update;
        api.next_update += 1;
        api.updates
            .push(json!({"update_id": update_id, "message": message}));
        drop(api);
        self.notify.notify_waiters();
        message_id
    }

    /// The user writes `text`; returns the message id.
    pub fn send_text(&self, chat: &Chat, text: &str) -> i64 {
        let mut content = Map::new();
        content.insert("text".into(), json!(text));
        if let Some(command) = text.strip_prefix('/') {
            let len = command.split_whitespace().next().map_or(0, str::len) + 1;
            content.insert(
                "entities".into(),
                json!([{"type": "bot_command", "offset": 0, "length": len}]),
            );
        }
        self.push(chat, content)
    }

    /// The user sends a photo; Telegram offers it in the given sizes (smallest first), each
    /// with its bytes.
    pub fn send_photo(
        &self,
        chat: &Chat,
        sizes: &[(u32, u32, Vec<u8>)],
        caption: Option<&str>,
    ) -> i64 {
        let photos: Vec<Value> = sizes
            .iter()
            .map(|(w, h, bytes)| {
                let (_, mut file) = lock(&self.api).file("photo", bytes.clone());
                file["width"] = json!(w);
                file["height"] = json!(h);
                file
            })
            .collect();
        let mut content = Map::new();
        content.insert("photo".into(), json!(photos));
        if let Some(c) = caption {
            content.insert("caption".into(), json!(c));
        }
        self.push(chat, content)
    }

    /// The user sends a voice note (OGG/Opus).
    pub fn send_voice(&self, chat: &Chat, bytes: Vec<u8>, duration_s: u32) -> i64 {
        let (_, mut file) = lock(&self.api).file("voice", bytes);
        file["duration"] = json!(duration_s);
        file["mime_type"] = json!("audio/ogg");
        let mut content = Map::new();
        content.insert("voice".into(), file);
        self.push(chat, content)
    }

    /// The user sends a file as a document.
    pub fn send_document(&self, chat: &Chat, bytes: Vec<u8>, name: &str, mime: &str) -> i64 {
        let (_, mut file) = lock(&self.api).file("document", bytes);
        file["file_name"] = json!(name);
        file["mime_type"] = json!(mime);
        let mut content = Map::new();
        content.insert("document".into(), file);
        self.push(chat, content)
    }

    /// The user presses the inline button with `data` under the bot's message `message`.
    pub fn press(&self, chat: &Chat, message: i64, data: &str) {
        let mut api = lock(&self.api);
        let offered = api
            .markups
            .get(&(chat.id, message))
            .is_some_and(|b| b.iter().any(|d| d == data));
        if !offered {
            api.violations
                .push(format!("the test pressed {data}, not on message {message}"));
        }
        let text = api
            .texts
            .get(&(chat.id, message))
            .cloned()
            .unwrap_or_default();
        let id = format!("cbq-{}", api.next_update);
        api.presses.insert(id.clone());
        let update_id = api.next_update;
        api.next_update += 1;
        let message = bot_message(&api, chat.id, message, json!({"text": text}));
        api.updates
            .push(json!({"update_id": update_id, "callback_query": {
            "id": id, "from": chat.from(), "message": message,
            "chat_instance": format!("ci{}", chat.id), "data": data}}));
        drop(api);
        self.notify.notify_waiters();
    }

    /// Everything the bot sent or edited, in order.
    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.api).sent.clone()
    }

    /// What the bot sent or edited after the first `from` things, in order (a reader that
    /// follows a long run keeps its place instead of copying everything again).
    pub fn sent_since(&self, from: usize) -> Vec<Sent> {
        lock(&self.api)
            .sent
            .get(from..)
            .map(<[Sent]>::to_vec)
            .unwrap_or_default()
    }

    /// The methods called, lower-case, in order.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.api).calls.clone()
    }

    /// Uploads to `chat` are taken (the video is in the chat, as [`FakeTelegram::sent`]
    /// shows) but not answered until [`FakeTelegram::release_uploads`]: the bot cannot know
    /// they arrived.
    pub fn hold_uploads(&self, chat: &Chat) {
        lock(&self.api).held.insert(chat.id);
    }

    pub fn release_uploads(&self, chat: &Chat) {
        lock(&self.api).held.remove(&chat.id);
        self.notify.notify_waiters();
    }

    /// Text messages to `chat` are neither taken nor answered until
    /// [`FakeTelegram::release_texts`].
    pub fn hold_texts(&self, chat: &Chat) {
        lock(&self.api).held_texts.insert(chat.id);
    }

    pub fn release_texts(&self, chat: &Chat) {
        lock(&self.api).held_texts.remove(&chat.id);
        self.notify.notify_waiters();
    }

    /// Text messages to `chat` waiting while it was held.
    pub fn held_texts(&self, chat: &Chat) -> usize {
        lock(&self.api)
            .held_text_count
            .get(&chat.id)
            .copied()
            .unwrap_or(0)
    }

    /// The user deletes message `id` of `chat`: editing it is refused from now on, as
    /// Telegram refuses it (not a violation: the bot cannot know).
    pub fn delete_message(&self, chat: &Chat, id: i64) {
        let mut api = lock(&self.api);
        api.texts.remove(&(chat.id, id));
        api.deleted.insert((chat.id, id));
    }

    /// Reads uploads at most `bytes_per_s` (a slow network), or as fast as they come.
    pub fn set_upload_rate(&self, bytes_per_s: Option<u64>) {
        lock(&self.api).upload_rate = bytes_per_s;
    }

    /// Upload requests whose body is being read now.
    pub fn uploads_in_progress(&self) -> usize {
        lock(&self.api).uploading
    }

    /// Uploads to `chat` that arrived while it was held.
    pub fn held_uploads(&self, chat: &Chat) -> usize {
        lock(&self.api)
            .held_uploads
            .get(&chat.id)
            .copied()
            .unwrap_or(0)
    }

    /// The update kinds the bot asked `getUpdates` for.
    pub fn allowed_updates(&self) -> Option<Value> {
        lock(&self.api).allowed_updates.clone()
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
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        // Wake long polls so the server can stop at once.
        self.notify.notify_waiters();
        self.served.stop();
    }
}

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn refuse(api: &Arc<Mutex<Api>>, code: u16, description: &str, violation: bool) -> Response {
    if violation {
        lock(api).violations.push(description.to_owned());
    }
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        Json(json!({"ok": false, "error_code": code, "description": description})),
    )
        .into_response()
}

async fn unexpected(State((api, _)): State<Shared>, request: Request) -> Response {
    let what = format!("unexpected {} {}", request.method(), request.uri());
    refuse(&api, 404, &what, true)
}

/// A request's parameters (JSON or multipart text fields) and its file parts.
struct Params {
    fields: Map<String, Value>,
    files: HashMap<String, Vec<u8>>,
}

async fn params(request: Request) -> Result<Params, String> {
    let multipart = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut fields = Map::new();
    let mut files = HashMap::new();
    if multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| format!("malformed upload: {e}"))?;
        while let Some(part) = form
            .next_field()
            .await
            .map_err(|e| format!("malformed upload: {e}"))?
        {
            let name = part.name().unwrap_or_default().to_owned();
            let is_file = part.file_name().is_some();
            let bytes = part
                .bytes()
                .await
                .map_err(|e| format!("malformed upload: {e}"))?;
            if is_file {
                files.insert(name, bytes.to_vec());
            } else {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| "a text field that is not UTF-8".to_owned())?;
                // Multipart carries every value as text; JSON-looking ones are JSON.
                let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                fields.insert(name, value);
            }
        }
    } else {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|e| e.to_string())?;
        if !body.is_empty() {
            match serde_json::from_slice(&body) {
                Ok(Value::Object(map)) => fields = map,
                _ => return Err("a body that is not a JSON object".into()),
            }
        }
    }
    Ok(Params { fields, files })
}

fn int(fields: &Map<String, Value>, name: &str) -> Option<i64> {
    match fields.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(fields: &Map<String, Value>, name: &str) -> Option<String> {
    fields.get(name).and_then(Value::as_str).map(str::to_owned)
}

impl Sent {
    fn new(method: String, chat_id: i64, message_id: i64) -> Self {
        Self {
            method,
            chat_id,
            message_id,
            text: None,
            caption: None,
            file: None,
            buttons: Vec::new(),
            at: Instant::now(),
        }
    }
}

/// The callback data of an inline keyboard (`reply_markup`), strictly checked: at most 64
/// bytes each, as the real API refuses longer ones.
fn buttons(fields: &Map<String, Value>) -> Result<Vec<String>, String> {
    let Some(markup) = fields.get("reply_markup") else {
        return Ok(Vec::new());
    };
    let rows = markup["inline_keyboard"]
        .as_array()
        .ok_or("Bad Request: reply_markup without inline_keyboard")?;
    let mut data = Vec::new();
    for button in rows
        .iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
    {
        let text = button["text"].as_str().unwrap_or_default();
        let Some(d) = button["callback_data"].as_str() else {
            return Err("Bad Request: a button without callback_data".into());
        };
        if text.is_empty() || d.is_empty() || d.len() > 64 {
            return Err("Bad Request: BUTTON_DATA_INVALID".into());
        }
        data.push(d.to_owned());
    }
    Ok(data)
}

/// A message of the bot's as the API returns it, with `extra` fields (text, a file, ...).
fn bot_message(api: &Api, chat: i64, id: i64, extra: Value) -> Value {
    let chat = api
        .chats
        .get(&chat)
        .cloned()
        .unwrap_or_else(|| json!({"id": chat, "type": "private", "first_name": "User"}));
    let mut message = json!({
        "message_id": id,
        "date": now_s(),
        "chat": chat,
        "from": bot_user(),
    });
    if let (Some(m), Value::Object(extra)) = (message.as_object_mut(), extra) {
        m.extend(extra);
    }
    message
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Spinbot", "username": "spinbot_test_bot"})
}

async fn method(
    State((api, notify)): State<Shared>,
    Path((bot, name)): Path<(String, String)>,
    request: Request,
) -> Response {
    let name = name.to_ascii_lowercase();
    let token_ok = bot
        .strip_prefix("bot")
        .is_some_and(|t| t == lock(&api).token);
    lock(&api).calls.push(name.clone());
    if !token_ok {
        return refuse(&api, 401, "Unauthorized", true);
    }
    let cut = request.extensions().get::<Cut>().cloned();
    let params = match params(request).await {
        Ok(p) => p,
        Err(e) => {
            let cut = cut.is_some_and(|c| c.0.load(std::sync::atomic::Ordering::Relaxed));
            return refuse(&api, 400, &format!("Bad Request: {e}"), !cut);
        }
    };
    let f = &params.fields;
    match name.as_str() {
        "getme" => {
            let mut me = bot_user();
            if let Some(m) = me.as_object_mut() {
                for (k, v) in [
                    ("can_join_groups", true),
                    ("can_read_all_group_messages", false),
                    ("supports_inline_queries", false),
                    ("can_connect_to_business", false),
                    ("has_main_web_app", false),
                ] {
                    m.insert(k.into(), json!(v));
                }
            }
            ok(me)
        }
        "getwebhookinfo" => ok(
            json!({"url": "", "has_custom_certificate": false, "pending_update_count": lock(&api).updates.len()}),
        ),
        "deletewebhook" | "setmycommands" | "sendchataction" => ok(json!(true)),
        "answercallbackquery" => match text(f, "callback_query_id") {
            Some(id) if lock(&api).presses.remove(&id) => ok(json!(true)),
            _ => refuse(
                &api,
                400,
                "Bad Request: query is too old or query ID is invalid",
                true,
            ),
        },
        "getupdates" => {
            let offset = int(f, "offset").unwrap_or(0);
            if let Some(kinds) = f.get("allowed_updates") {
                lock(&api).allowed_updates = Some(kinds.clone());
            }
            let wait = Duration::from_secs(int(f, "timeout").unwrap_or(0).clamp(0, 2) as u64);
            let until = Instant::now() + wait;
            loop {
                let waiting = notify.notified();
                let ready: Vec<Value> = {
                    let mut a = lock(&api);
                    // Asking from an offset confirms everything before it.
                    a.updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    a.updates.clone()
                };
                let left = until.saturating_duration_since(Instant::now());
                if !ready.is_empty() || left.is_zero() {
                    return ok(json!(ready));
                }
                let _ = tokio::time::timeout(left, waiting).await;
            }
        }
        "sendmessage" => {
            let (Some(chat), Some(body)) = (int(f, "chat_id"), text(f, "text")) else {
                return refuse(
                    &api,
                    400,
                    "Bad Request: chat_id and text are required",
                    true,
                );
            };
            if body.trim().is_empty() {
                return refuse(&api, 400, "Bad Request: message text is empty", true);
            }
            if body.chars().count() > MAX_TEXT {
                return refuse(&api, 400, "Bad Request: message is too long", true);
            }
            if lock(&api).held_texts.contains(&chat) {
                *lock(&api).held_text_count.entry(chat).or_insert(0) += 1;
                loop {
                    let released = notify.notified();
                    if !lock(&api).held_texts.contains(&chat) {
                        break;
                    }
                    released.await;
                }
            }
            let keys = match buttons(f) {
                Ok(keys) => keys,
                Err(e) => return refuse(&api, 400, &e, true),
            };
            let mut a = lock(&api);
            let id = a.message_id(chat);
            a.texts.insert((chat, id), body.clone());
            a.markups.insert((chat, id), keys.clone());
            a.sent.push(Sent {
                text: Some(body.clone()),
                caption: None,
                file: None,
                buttons: keys,
                ..Sent::new(name, chat, id)
            });
            ok(bot_message(&a, chat, id, json!({"text": body})))
        }
        "editmessagetext" => {
            let (Some(chat), Some(id), Some(body)) =
                (int(f, "chat_id"), int(f, "message_id"), text(f, "text"))
            else {
                return refuse(
                    &api,
                    400,
                    "Bad Request: chat_id, message_id and text are required",
                    true,
                );
            };
            let keys = match buttons(f) {
                Ok(keys) => keys,
                Err(e) => return refuse(&api, 400, &e, true),
            };
            let mut a = lock(&api);
            if a.deleted.contains(&(chat, id)) {
                drop(a);
                return refuse(&api, 400, "Bad Request: message to edit not found", false);
            }
            match a.texts.get(&(chat, id)) {
                None => {
                    drop(a);
                    return refuse(&api, 400, "Bad Request: message to edit not found", true);
                }
                Some(old) if *old == body && a.markups.get(&(chat, id)) == Some(&keys) => {
                    drop(a);
                    return refuse(&api, 400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message", true);
                }
                Some(_) => {}
            }
            a.texts.insert((chat, id), body.clone());
            a.markups.insert((chat, id), keys.clone());
            a.sent.push(Sent {
                text: Some(body.clone()),
                caption: None,
                file: None,
                buttons: keys,
                ..Sent::new(name, chat, id)
            });
            ok(bot_message(
                &a,
                chat,
                id,
                json!({"edit_date": now_s(), "text": body}),
            ))
        }
        "getfile" => {
            let id = text(f, "file_id").unwrap_or_default();
            let a = lock(&api);
            let Some(file) = a.files.get(&id) else {
                drop(a);
                return refuse(&api, 400, "Bad Request: invalid file_id", true);
            };
            if file.bytes.len() > DOWNLOAD_LIMIT {
                drop(a);
                return refuse(&api, 400, "Bad Request: file is too big", true);
            }
            ok(
                json!({"file_id": id, "file_unique_id": format!("u{id}"), "file_size": file.bytes.len(), "file_path": file.path}),
            )
        }
        "sendvideo" | "senddocument" | "sendphoto" | "sendvoice" | "sendaudio" => {
            let field = name["send".len()..].to_owned();
            let field = field.as_str();
            let Some(chat) = int(f, "chat_id") else {
                return refuse(&api, 400, "Bad Request: chat_id is required", true);
            };
            let reference = text(f, field).unwrap_or_default();
            let Some(bytes) = reference
                .strip_prefix("attach://")
                .and_then(|part| params.files.get(part))
            else {
                return refuse(
                    &api,
                    400,
                    &format!("Bad Request: no file in the {field} upload"),
                    true,
                );
            };
            if bytes.len() > UPLOAD_LIMIT {
                return refuse(&api, 413, "Request Entity Too Large", true);
            }
            let caption = text(f, "caption");
            let (id, answer) = {
                let mut a = lock(&api);
                let id = a.message_id(chat);
                let (_, file) = a.file(field, bytes.clone());
                a.sent.push(Sent {
                    text: None,
                    caption: caption.clone(),
                    file: Some(bytes.clone()),
                    ..Sent::new(name.clone(), chat, id)
                });
                let answer = bot_message(&a, chat, id, json!({field: file, "caption": caption}));
                (id, answer)
            };
            // A held chat's upload is in the chat, but its answer waits until released.
            if lock(&api).held.contains(&chat) {
                *lock(&api).held_uploads.entry(chat).or_insert(0) += 1;
                loop {
                    let released = notify.notified();
                    if !lock(&api).held.contains(&chat) {
                        break;
                    }
                    released.await;
                }
            }
            let _ = id;
            ok(answer)
        }
        _ => refuse(
            &api,
            404,
            &format!("Not Found: method {name} not found"),
            true,
        ),
    }
}

/// Reads the body of an upload no faster than the configured rate, and counts it as in
/// progress while it is read.
async fn throttle_uploads(
    State(api): State<Arc<Mutex<Api>>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    use futures::StreamExt;
    let upload = request
        .uri()
        .path()
        .to_ascii_lowercase()
        .ends_with("/sendvideo");
    let rate = lock(&api).upload_rate;
    let (Some(rate), true) = (rate, upload) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let _counted = Uploading::start(&api);
    // Set when the sender went away mid-body: a cut upload is not the bot's mistake.
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    parts.extensions.insert(Cut(cut.clone()));
    let slowed = body.into_data_stream().then(move |chunk| {
        let cut = cut.clone();
        async move {
            match &chunk {
                Ok(bytes) => {
                    let wait = bytes.len() as f64 / rate.max(1) as f64;
                    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                }
                Err(_) => cut.store(true, std::sync::atomic::Ordering::Relaxed),
            }
            chunk
        }
    });
    let request = Request::from_parts(parts, axum::body::Body::from_stream(slowed));
    next.run(request).await
}

/// Marks an upload cut off by its sender.
#[derive(Clone)]
struct Cut(Arc<std::sync::atomic::AtomicBool>);

/// Counts an upload whose body is being read, until dropped.
struct Uploading(Arc<Mutex<Api>>);

impl Uploading {
    fn start(api: &Arc<Mutex<Api>>) -> Self {
        lock(api).uploading += 1;
        Self(api.clone())
    }
}

impl Drop for Uploading {
    fn drop(&mut self) {
        lock(&self.0).uploading -= 1;
    }
}

async fn download(
    State((api, _)): State<Shared>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    let a = lock(&api);
    if bot.strip_prefix("bot") != Some(a.token.as_str()) {
        drop(a);
        return refuse(&api, 401, "Unauthorized", true);
    }
    match a.files.values().find(|f| f.path == path) {
        Some(file) => (
            [("content-type", "application/octet-stream")],
            file.bytes.clone(),
        )
            .into_response(),
        None => {
            drop(a);
            refuse(&api, 404, "Not Found", true)
        }
    }
}
