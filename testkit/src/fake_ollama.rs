//! A fake Ollama daemon for tests: Ollama's native `/api/chat` exactly as documented (one
//! JSON document with `"stream": false`, NDJSON otherwise; tool calls with `call_` ids and
//! object arguments; `done_reason` "stop" even with tool calls), answering from a script of
//! turns given by the test. It keeps every request body, and notes every call it did not
//! expect (another path, another model, a request past the script, a malformed body) as a
//! violation the test asserts is absent.

use crate::served::Served;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One answer of the scripted model.
#[derive(Debug, Clone)]
pub enum Turn {
    /// Tool calls: name and arguments (a JSON string stands for malformed arguments).
    Calls(Vec<(String, Value)>),
    /// A final text answer.
    Text(String),
    /// An HTTP error with Ollama's `{"error": ...}` body.
    Error(u16, String),
    /// The turn, after a pause.
    Slow(Duration, Box<Turn>),
}

impl Turn {
    /// One tool call.
    pub fn call(name: &str, arguments: Value) -> Self {
        Turn::Calls(vec![(name.to_owned(), arguments)])
    }
}

struct Script {
    model: String,
    turns: VecDeque<Turn>,
    requests: Vec<Value>,
    violations: Vec<String>,
}

type Shared = Arc<Mutex<Script>>;

fn lock(s: &Shared) -> MutexGuard<'_, Script> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake; it stops when dropped.
pub struct FakeOllama {
    served: Served,
    script: Shared,
}

impl FakeOllama {
    /// Serves `model` on a free loopback port, answering `turns` in order.
    pub fn start(model: &str, turns: Vec<Turn>) -> Self {
        let script: Shared = Arc::new(Mutex::new(Script {
            model: model.to_owned(),
            turns: turns.into(),
            requests: Vec::new(),
            violations: Vec::new(),
        }));
        let app = Router::new()
            .route("/api/chat", post(chat))
            .route(
                "/api/version",
                get(|| async { axum::Json(json!({"version": "0.12.6"})) }),
            )
            .fallback(unexpected)
            .with_state(script.clone());
        Self {
            served: Served::start(app),
            script,
        }
    }

    /// The base URL (what `OLLAMA_API_BASE_URL` would be).
    pub fn url(&self) -> &str {
        self.served.url()
    }

    /// The JSON bodies posted to `/api/chat`, in order.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.script).requests.clone()
    }

    /// Calls the real API would not have answered this way, or the script did not expect.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.script).violations.clone()
    }

    /// Turns not yet answered.
    pub fn remaining(&self) -> usize {
        lock(&self.script).turns.len()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn unexpected(State(script): State<Shared>, uri: Uri) -> Response {
    lock(&script)
        .violations
        .push(format!("unexpected call to {uri}"));
    error(StatusCode::NOT_FOUND, "404 page not found")
}

/// What a well-formed request must hold; the first thing wrong, if any.
fn check_request(body: &Value, model: &str) -> Option<String> {
    if body.get("model").and_then(Value::as_str) != Some(model) {
        return Some(format!(
            "model {:?} instead of {model:?}",
            body.get("model")
        ));
    }
    let messages = body.get("messages").and_then(Value::as_array)?;
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if !["system", "user", "assistant", "tool"].contains(&role) {
            return Some(format!("a message with role {role:?}"));
        }
        if m.get("content").and_then(Value::as_str).is_none() {
            return Some(format!("a {role} message without string content"));
        }
    }
    for tool in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = tool.get("function");
        if tool.get("type").and_then(Value::as_str) != Some("function")
            || f.and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .is_none()
            || f.and_then(|f| f.get("parameters"))
                .and_then(Value::as_object)
                .is_none()
        {
            return Some(format!("a malformed tool {tool}"));
        }
    }
    None
}

async fn chat(State(script): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        lock(&script)
            .violations
            .push("a body that is not JSON".into());
        return error(StatusCode::BAD_REQUEST, "invalid character in request body");
    };
    let turn = {
        let mut s = lock(&script);
        s.requests.push(body.clone());
        if !json_type {
            s.violations
                .push("a chat request without a JSON content type".into());
        }
        if body.get("messages").and_then(Value::as_array).is_none() {
            s.violations.push("a chat request without messages".into());
        }
        if let Some(problem) = check_request(&body, &s.model) {
            s.violations.push(problem);
        }
        match s.turns.pop_front() {
            Some(turn) => turn,
            None => {
                s.violations
                    .push("a model call past the end of the script".into());
                return error(StatusCode::BAD_REQUEST, "unexpected request");
            }
        }
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // Ollama streams unless told not to.
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    answer(turn, &model, stream).await
}

async fn answer(mut turn: Turn, model: &str, stream: bool) -> Response {
    while let Turn::Slow(pause, inner) = turn {
        tokio::time::sleep(pause).await;
        turn = *inner;
    }
    let created_at = "2026-11-27T06:00:00.000000Z";
    let stats = json!({
        "total_duration": 885095291u64, "load_duration": 3753500, "prompt_eval_count": 122,
        "prompt_eval_duration": 328493000, "eval_count": 33, "eval_duration": 552222000u64
    });
    let message = match turn {
        Turn::Error(status, text) => {
            return error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                &text,
            )
        }
        Turn::Text(text) => json!({"role": "assistant", "content": text}),
        Turn::Calls(calls) => {
            let calls: Vec<Value> = calls
                .into_iter()
                .enumerate()
                .map(|(index, (name, arguments))| {
                    let id = uuid::Uuid::new_v4().simple().to_string();
                    json!({"id": format!("call_{}", &id[..8]), "function": {"index": index, "name": name, "arguments": arguments}})
                })
                .collect();
            json!({"role": "assistant", "content": "", "tool_calls": calls})
        }
        Turn::Slow(..) => json!({"role": "assistant", "content": ""}),
    };
    let mut last =
        json!({"model": model, "created_at": created_at, "done_reason": "stop", "done": true});
    merge(&mut last, &stats);
    if !stream {
        last["message"] = message;
        return (
            [("content-type", "application/json; charset=utf-8")],
            last.to_string(),
        )
            .into_response();
    }
    // NDJSON: tool calls arrive whole in a chunk that is not the last; text in pieces.
    let mut lines = Vec::new();
    if message.get("tool_calls").is_some() {
        lines.push(
            json!({"model": model, "created_at": created_at, "message": message, "done": false}),
        );
    } else {
        let text = message["content"].as_str().unwrap_or_default();
        let cut = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        for piece in [&text[..cut], &text[cut..]] {
            lines.push(json!({"model": model, "created_at": created_at,
                "message": {"role": "assistant", "content": piece}, "done": false}));
        }
    }
    last["message"] = json!({"role": "assistant", "content": ""});
    lines.push(last);
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    ([("content-type", "application/x-ndjson")], body).into_response()
}

fn merge(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            into.insert(k.clone(), v.clone());
        }
    }
}
