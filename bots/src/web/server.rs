//! The web chat's HTTP side (axum): the page, and the API it uses (which scripts can use too):
//! `POST /api/messages` (text and one file, as multipart), `GET /api/history`, `GET
//! /api/events` (Server-Sent Events), `GET /api/videos/{name}`, `GET /api/jobs/{job}`, `GET
//! /api/voices`. Every endpoint answers for the browser's own user only, named by a signed,
//! HttpOnly, SameSite=Lax cookie (so a link from another site arrives with it; `Secure` behind
//! an https public address); a missing or forged one gets a new user, as long as the
//! visitor's network has not made too many in the hour. The visitor's address is the
//! socket's, or a trusted proxy's `X-Forwarded-For`. Cross-site writes are refused; the cheap
//! checks (flood, block list) come before a body is read, and files are checked for size,
//! type and a clean decode before anything is stored. Open event streams are bounded per
//! identity and per network.

use super::page;
use super::transcript::{valid_id, Entry, Numbered};
use super::Web;
use crate::conversation::{Conversation, Gate, SLOW_DOWN};
use crate::error::BotError;
use crate::media::CheckError;
use crate::platform::{FileKind, Incoming, IncomingFile};
use axum::body::Body;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRef, Multipart, Path, Query, Request, State,
};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use redis::AsyncCommands;
use spinbot_core::limits::{
    EVENT_STREAMS_PER_IDENTITY, EVENT_STREAMS_PER_NETWORK, MAX_MESSAGE_CHARS, MAX_PHOTO_BYTES,
    MAX_VOICE_NOTE_BYTES, NEW_WEB_IDENTITIES_PER_HOUR,
};
use spinbot_core::{sniff_audio, sniff_photo, UserId};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The cookie that names the browser's user.
const COOKIE: &str = "spinbot_id";
/// The largest request: one file at its limit, and the text.
const MAX_BODY: usize = (MAX_PHOTO_BYTES as usize) + 1_000_000;
/// Entries the page gets back after a reload.
const HISTORY: usize = 500;
/// How long an open page waits for news before reading again anyway (news is announced on
/// Redis; this only bounds what a lost announcement costs).
const FOLLOW_PATIENCE: Duration = Duration::from_secs(60);
/// The most bytes of the text field read (every character at its longest).
const MAX_TEXT_BYTES: usize = MAX_MESSAGE_CHARS * 4;

#[derive(Clone)]
struct App {
    web: Arc<Web>,
    conversation: Arc<Conversation<Web>>,
    key: Key,
    stop: CancellationToken,
    streams: Arc<OpenStreams>,
    /// The cookie is `Secure` (the public address is https).
    secure: bool,
}

/// The event streams open in this process, by identity and by network.
#[derive(Default)]
struct OpenStreams {
    counts: Mutex<HashMap<String, usize>>,
}

/// An open stream's place in the counts, given back when it ends.
struct StreamSlot {
    streams: Arc<OpenStreams>,
    keys: [String; 2],
}

impl OpenStreams {
    /// A slot for a stream of `user` from `network`, or `None` when either has its fill.
    fn open(self: &Arc<Self>, user: &UserId, network: &str) -> Option<StreamSlot> {
        let keys = [format!("u {user}"), format!("n {network}")];
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mine = counts.get(&keys[0]).copied().unwrap_or(0);
        let theirs = counts.get(&keys[1]).copied().unwrap_or(0);
        if mine >= EVENT_STREAMS_PER_IDENTITY || theirs >= EVENT_STREAMS_PER_NETWORK {
            return None;
        }
        for key in &keys {
            *counts.entry(key.clone()).or_default() += 1;
        }
        Some(StreamSlot {
            streams: self.clone(),
            keys,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut counts = self
            .streams
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for key in &self.keys {
            if let Some(n) = counts.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(key);
                }
            }
        }
    }
}

/// The visitor's address: the socket's, or, when that is a trusted proxy, the last address
/// its `X-Forwarded-For` names that is not itself one.
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

/// The network an address counts for: the address itself (IPv4), its /64 (IPv6, where one
/// household or phone holds a whole /64).
fn network_of(address: IpAddr) -> String {
    match address {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The network a request comes from.
fn network(app: &App, peer: SocketAddr, headers: &HeaderMap) -> String {
    network_of(client_address(peer.ip(), headers, &app.web.trusted_proxies))
}

impl FromRef<App> for Key {
    fn from_ref(app: &App) -> Key {
        app.key.clone()
    }
}

/// Serves the web chat on the listener the platform was made with until `stop`; open event
/// streams end with it.
pub async fn listen(
    web: Arc<Web>,
    conversation: Arc<Conversation<Web>>,
    stop: CancellationToken,
) -> Result<(), BotError> {
    let listener = web
        .listener
        .lock()
        .map_err(|_| BotError::Config("the web listener is poisoned".into()))?
        .take()
        .ok_or_else(|| BotError::Config("the web chat is already served".into()))?;
    let key = cookie_key(&web).await?;
    let secure = web
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let app = App {
        web: web.clone(),
        conversation,
        key,
        stop: stop.clone(),
        streams: Arc::default(),
        secure,
    };
    let news = {
        let (web, stop) = (web.clone(), stop.clone());
        tokio::spawn(async move { web.transcripts.listen(&web.redis_url, stop).await })
    };
    let router = Router::new()
        .route("/", get(index))
        .route("/app.js", get(script))
        .route("/style.css", get(style))
        .route("/api/messages", post(send))
        .route("/api/history", get(history))
        .route("/api/events", get(events))
        .route("/api/videos/{name}", get(video))
        .route("/api/jobs/{job}", get(job))
        .route("/api/voices", get(voices))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "There is nothing here.") })
        .layer(middleware::from_fn_with_state(app.clone(), same_origin))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app);
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stop = stop.clone();
        async move { stop.cancelled().await }
    })
    .await;
    stop.cancel();
    if let Ok(Err(e)) = news.await {
        tracing::warn!(error = %e, "the transcripts' channel");
    }
    served?;
    Ok(())
}

/// The key that signs cookies: one for every web process of the deployment, made once and
/// kept in Redis (so cookies outlive restarts).
async fn cookie_key(web: &Web) -> Result<Key, BotError> {
    let name = web.queue.keys().web_cookie_key();
    let mut con = web.queue.connection();
    let fresh: String = (0..4)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    let _: bool = con.set_nx(&name, &fresh).await?;
    let secret: String = con.get(&name).await?;
    Key::try_from(secret.as_bytes())
        .map_err(|_| BotError::Config("the web cookie key is too short".into()))
}

/// A chat id as this server makes them.
fn valid_chat(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The user of a web chat.
fn user_of(chat: &str) -> UserId {
    UserId::parse(&format!("web:{chat}")).unwrap_or_else(|_| unreachable!())
}

/// The browser's chat and user from its signed cookie, when it has one this server signed.
fn known(jar: &SignedCookieJar) -> Option<(String, UserId)> {
    jar.get(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|id| valid_chat(id))
        .map(|chat| {
            let user = user_of(&chat);
            (chat, user)
        })
}

/// The browser's user from its signed cookie; a new one (with its cookie) when it has none
/// or one this server did not sign, while `network` may still make new ones this hour.
async fn identity(
    app: &App,
    jar: SignedCookieJar,
    network: &str,
) -> Result<(SignedCookieJar, String, UserId), Response> {
    if let Some((chat, user)) = known(&jar) {
        return Ok((jar, chat, user));
    }
    let counter = app.web.queue.keys().web_new_identities(network);
    let (made,): (u32,) = redis::pipe()
        .incr(&counter, 1)
        .expire(&counter, 3600)
        .arg("NX")
        .ignore()
        .query_async(&mut app.web.queue.connection())
        .await
        .map_err(|e| failed(e.into()))?;
    if made > NEW_WEB_IDENTITIES_PER_HOUR {
        tracing::info!(network, "too many new identities");
        return Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many new visitors from your network this hour; please keep this site's cookie, or try again later.",
        ));
    }
    let chat = uuid::Uuid::new_v4().simple().to_string();
    let cookie = Cookie::build((COOKIE, chat.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.secure)
        .path("/")
        .permanent()
        .build();
    let user = user_of(&chat);
    Ok((jar.add(cookie), chat, user))
}

/// One clear sentence, as JSON.
fn refuse(status: StatusCode, sentence: &str) -> Response {
    (status, Json(serde_json::json!({ "error": sentence }))).into_response()
}

fn failed(e: BotError) -> Response {
    tracing::error!(error = %e, "a web request failed");
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong on my side; please try again in a minute.",
    )
}

/// Writes from another site are refused: a browser says where a request comes from. With a
/// public address set, only its origin counts (a proxy may rewrite Host).
async fn same_origin(State(app): State<App>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    let site = headers.get("sec-fetch-site").and_then(|h| h.to_str().ok());
    let from_elsewhere = match (origin, app.web.public_url.as_deref(), host) {
        (Some(origin), Some(public), _) => origin != public,
        (Some(origin), None, Some(host)) => {
            origin != format!("http://{host}") && origin != format!("https://{host}")
        }
        (Some(_), None, None) => true,
        (None, _, _) => site.is_some_and(|s| s != "same-origin" && s != "none"),
    };
    if from_elsewhere {
        tracing::info!("a cross-site request refused");
        return refuse(
            StatusCode::FORBIDDEN,
            "Requests from other sites are refused.",
        );
    }
    next.run(request).await
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: SignedCookieJar,
) -> Response {
    let jar = match identity(&app, jar, &network(&app, peer, &headers)).await {
        Ok((jar, _, _)) => jar,
        Err(refused) => return refused,
    };
    let mut response = (jar, file("text/html; charset=utf-8", page::INDEX)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn script() -> Response {
    file("text/javascript; charset=utf-8", page::SCRIPT)
}

async fn style() -> Response {
    file("text/css; charset=utf-8", page::STYLE)
}

/// The answer to a file over the limit.
fn too_big() -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "That file is too big: send one up to {} MB.",
            MAX_PHOTO_BYTES / 1_000_000
        ),
    )
}

/// What a message's request carried.
struct Sent {
    text: String,
    file: Option<IncomingFile>,
    /// A button pressed or a menu choice: the control's id and the value picked.
    control: Option<String>,
    value: Option<String>,
    _dir: tempfile::TempDir,
}

/// The longest control id or menu value read.
const MAX_CONTROL_BYTES: usize = 256;

/// A short text field (a control id, a menu value).
async fn short_field(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, Response> {
    let bad = || {
        refuse(
            StatusCode::BAD_REQUEST,
            "That button press could not be read.",
        )
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| bad())? {
        if bytes.len() + chunk.len() > MAX_CONTROL_BYTES {
            return Err(bad());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

/// Reads the text and the file of a message, checking the file's size and type before
/// anything is kept. A refusal is the sentence to answer with.
async fn read_message(mut multipart: Multipart) -> Result<Sent, Response> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            refuse(StatusCode::BAD_REQUEST, "That message could not be read.")
        }
    };
    let dir = tempfile::tempdir().map_err(|e| failed(e.into()))?;
    let mut text = String::new();
    let mut file = None;
    let (mut control, mut value) = (None, None);
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("control") => control = Some(short_field(&mut field).await?),
            Some("value") => value = Some(short_field(&mut field).await?),
            Some("text") => {
                let too_long = || {
                    refuse(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("That message is too long; please keep it under {MAX_MESSAGE_CHARS} characters."),
                    )
                };
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_TEXT_BYTES {
                        return Err(too_long());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                text = String::from_utf8(bytes).map_err(|_| {
                    refuse(StatusCode::BAD_REQUEST, "That message is not UTF-8 text.")
                })?;
                if text.chars().count() > MAX_MESSAGE_CHARS {
                    return Err(too_long());
                }
            }
            Some("file") if file.is_none() => {
                let path = dir.path().join("upload");
                let mut out = tokio::fs::File::create(&path)
                    .await
                    .map_err(|e| failed(e.into()))?;
                let mut size = 0u64;
                let mut head = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    size += chunk.len() as u64;
                    if size > MAX_PHOTO_BYTES.max(MAX_VOICE_NOTE_BYTES) {
                        return Err(too_big());
                    }
                    if head.len() < 16 {
                        head.extend(chunk.iter().take(16 - head.len()));
                    }
                    out.write_all(&chunk).await.map_err(|e| failed(e.into()))?;
                }
                out.flush().await.map_err(|e| failed(e.into()))?;
                if size == 0 {
                    continue;
                }
                let kind = if sniff_photo(&head).is_ok() {
                    FileKind::Photo
                } else if sniff_audio(&head).is_ok() {
                    FileKind::VoiceNote
                } else {
                    return Err(refuse(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "That file is neither a photo (JPEG, PNG or WebP) nor a voice note (OGG, WebM, MP3, M4A or WAV).",
                    ));
                };
                file = Some(IncomingFile { kind, path });
            }
            _ => {}
        }
    }
    if text.trim().is_empty() && file.is_none() && control.is_none() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Write a message, or attach a selfie or a voice note.",
        ));
    }
    Ok(Sent {
        text,
        file,
        control,
        value,
        _dir: dir,
    })
}

/// A message in: the cheap checks before its body is read, its file checked (a bad one is
/// answered here, and nothing is kept), then it goes into the transcript and the loop
/// answers it; the answers come back (and to every open page, by the events).
async fn send(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: SignedCookieJar,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let network = network(&app, peer, &headers);
    let (jar, chat, user) = match identity(&app, jar, &network).await {
        Ok(who) => who,
        Err(refused) => return refused,
    };
    let span = tracing::info_span!("web", user = %user);
    let answered = async {
        // A body announced too big is refused before any of it is read (a client that
        // asked to continue then sends nothing, and gets the answer rather than a reset).
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if announced.is_some_and(|n| n > MAX_BODY) {
            return Err(too_big());
        }
        match app.conversation.gate(&user, &chat, true).await {
            Gate::Open => {}
            Gate::Refused(sentence) if sentence == SLOW_DOWN => {
                return Err(refuse(StatusCode::TOO_MANY_REQUESTS, &sentence))
            }
            Gate::Refused(sentence) => return Err(refuse(StatusCode::FORBIDDEN, &sentence)),
            Gate::Dropped => return Err(refuse(StatusCode::TOO_MANY_REQUESTS, SLOW_DOWN)),
        }
        let multipart = multipart.map_err(|_| {
            refuse(
                StatusCode::BAD_REQUEST,
                "Send the message as multipart/form-data with a text field and an optional file.",
            )
        })?;
        let sent = read_message(multipart).await?;
        let attachment = sent.file.as_ref().map(|f| match f.kind {
            FileKind::Photo => "photo",
            FileKind::VoiceNote => "voice note",
        });
        // A press is typed: the control's own meaning, never its label read as text.
        let pressed = match &sent.control {
            Some(id) => {
                let values: Vec<String> = sent.value.iter().cloned().collect();
                Some(crate::platform::pressed(id, &values).ok_or_else(|| {
                    refuse(StatusCode::BAD_REQUEST, "That button is not one of mine.")
                })?)
            }
            None => None,
        };
        let incoming = Incoming {
            user: user.clone(),
            chat,
            text: sent.text.clone(),
            files: sent.file.iter().cloned().collect(),
            refusal: None,
            answering: None,
            awaited: true,
            network: Some(network.clone()),
            pressed,
        };
        let uploads = match app.conversation.take_uploads(&incoming).await {
            Ok(uploads) => uploads,
            Err(CheckError::Input(e)) => {
                return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()))
            }
            Err(CheckError::Bot(e)) => return Err(failed(e)),
        };
        let mine = app
            .web
            .transcripts
            .append(&user, &Entry::user(&sent.text, attachment))
            .await
            .map_err(failed)?;
        app.conversation.respond_with(&incoming, uploads).await;
        let after = app
            .web
            .transcripts
            .after(&user, Some(&mine), 50)
            .await
            .map_err(failed)?;
        let answers: Vec<String> = after
            .iter()
            .filter(|n| n.entry.kind == "message" && n.entry.from == "bot")
            .map(|n| n.entry.text.clone())
            .collect();
        Ok::<_, Response>(
            Json(serde_json::json!({ "message": mine, "answers": answers })).into_response(),
        )
    };
    let response = tracing::Instrument::instrument(answered, span)
        .await
        .unwrap_or_else(|refused| refused);
    (jar, response).into_response()
}

/// The transcript so far (its last entries).
async fn history(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: SignedCookieJar,
) -> Response {
    let (jar, _, user) = match identity(&app, jar, &network(&app, peer, &headers)).await {
        Ok(who) => who,
        Err(refused) => return refused,
    };
    match app.web.transcripts.last(&user, HISTORY).await {
        Ok(events) => (jar, Json(serde_json::json!({ "events": events }))).into_response(),
        Err(e) => (jar, failed(e)).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct After {
    after: Option<String>,
}

/// The transcript as it grows, by Server-Sent Events (`chat` events whose id is the entry's);
/// a reconnecting browser goes on after the last it got. Only for a browser that has its
/// cookie (the page made it), and no more streams at once than the bounds allow.
async fn events(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: SignedCookieJar,
    headers: HeaderMap,
    Query(query): Query<After>,
) -> Response {
    let Some((_, user)) = known(&jar) else {
        return refuse(StatusCode::UNAUTHORIZED, "Open the chat page first.");
    };
    let Some(slot) = app.streams.open(&user, &network(&app, peer, &headers)) else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many open chat pages; close some and reload.",
        );
    };
    let last = headers
        .get("last-event-id")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or(query.after)
        .filter(|id| valid_id(id));
    let start = match last {
        Some(id) => id,
        // From now: the page read the history first.
        None => match app.web.transcripts.last(&user, 1).await {
            Ok(entries) => entries
                .last()
                .map_or_else(|| "0-0".to_owned(), |e| e.id.clone()),
            Err(e) => return (jar, failed(e)).into_response(),
        },
    };
    let follower = app.web.transcripts.follow(&user);
    let state = (
        app,
        user,
        start,
        VecDeque::<Numbered>::new(),
        follower,
        slot,
    );
    let stream = futures::stream::unfold(
        state,
        |(app, user, mut last, mut ready, follower, slot)| async move {
            loop {
                if let Some(next) = ready.pop_front() {
                    last = next.id.clone();
                    let event = Event::default()
                        .event("chat")
                        .id(next.id.clone())
                        .json_data(&next)
                        .unwrap_or_default();
                    let state = (app, user, last, ready, follower, slot);
                    return Some((Ok::<_, Infallible>(event), state));
                }
                if app.stop.is_cancelled() {
                    return None;
                }
                // Listening before reading: an append in between still wakes the wait.
                let news = follower.news();
                tokio::pin!(news);
                news.as_mut().enable();
                match app.web.transcripts.after(&user, Some(&last), 100).await {
                    Ok(found) => ready.extend(found),
                    Err(e) => tracing::warn!(error = %e, "reading a transcript failed; retrying"),
                }
                if ready.is_empty() {
                    tokio::select! {
                        _ = tokio::time::timeout(FOLLOW_PATIENCE, news) => {}
                        _ = app.stop.cancelled() => return None,
                    }
                }
            }
        },
    );
    (jar, Sse::new(stream).keep_alive(KeepAlive::default())).into_response()
}

/// A video of the browser's user (ranges too, for seeking); any other is not found.
async fn video(
    State(app): State<App>,
    jar: SignedCookieJar,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let Some((_, user)) = known(&jar) else {
        return refuse(StatusCode::NOT_FOUND, "There is no such video.");
    };
    let not_found = || refuse(StatusCode::NOT_FOUND, "There is no such video.");
    if !valid_chat(&name) {
        return (jar, not_found()).into_response();
    }
    let served = async {
        let dir = tempfile::tempdir()?;
        let local = dir.path().join("video.mp4");
        if !app
            .web
            .store
            .get_file(&Web::video_key(&user, &name), &local)
            .await?
        {
            return Ok::<_, BotError>(not_found());
        }
        let file = tower_http::services::ServeFile::new(&local);
        // The file is open once served: the folder may go.
        let response = match file.oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        };
        Ok(response)
    };
    match served.await {
        Ok(response) => (jar, response).into_response(),
        Err(e) => (jar, failed(e)).into_response(),
    }
}

/// How one of the browser's user's jobs is doing; any other job is not found.
async fn job(State(app): State<App>, jar: SignedCookieJar, Path(job): Path<String>) -> Response {
    let Some((_, user)) = known(&jar) else {
        return refuse(StatusCode::NOT_FOUND, "There is no such job.");
    };
    let not_found = || refuse(StatusCode::NOT_FOUND, "There is no such job.");
    let Ok(job) = spinbot_core::JobId::parse(&job) else {
        return (jar, not_found()).into_response();
    };
    match app.web.queue.status(&job, Some(&user)).await {
        Ok(Some(status)) => (jar, Json(status)).into_response(),
        Ok(None) => (jar, not_found()).into_response(),
        Err(e) => (jar, failed(e.into())).into_response(),
    }
}

/// The voices the menu offers: the name to send, and how it sounds.
async fn voices(State(app): State<App>) -> Response {
    let voices: Vec<serde_json::Value> = app
        .web
        .voices
        .iter()
        .map(|v| serde_json::json!({ "name": v.name, "label": format!("{} ({})", v.describe(), v.name) }))
        .collect();
    Json(voices).into_response()
}
