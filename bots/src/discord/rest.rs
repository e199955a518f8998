//! Discord's REST API as the adapter calls it: serenity's routes and requests, sent through
//! serenity's rate limiter when it is on (the real Discord: it waits out 429s itself), else
//! straight to the configured server (a local one, where serenity's limiter would call the
//! real host), with a 429's `retry_after` waited out here. Every call has a time limit;
//! errors never carry the token (nor an interaction's, which is in webhook URLs).

use crate::error::BotError;
use serde_json::Value;
use serenity::http::{Http, HttpBuilder, LightMethod, Request, Route, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// Every call but uploads.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// 429s waited out for one call before it is given up...
const MAX_RATE_LIMITED: u32 = 5;
/// ...and the longest single wait.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Discord's error codes the adapter tells apart.
const UNKNOWN_MESSAGE: i64 = 10008;
const UNKNOWN_WEBHOOK: i64 = 10015;
const UNKNOWN_INTERACTION: i64 = 10062;
const INVALID_WEBHOOK_TOKEN: i64 = 50027;

pub struct Rest {
    http: Arc<Http>,
    /// The server to call instead of discord.com (its limiter off).
    api_url: Option<String>,
    client: reqwest::Client,
}

impl Rest {
    /// A client for `token`, calling `api_url` instead of discord.com when given.
    pub fn new(token: &str, api_url: Option<&str>) -> Result<Self, BotError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| BotError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http: Arc::new(http(token, api_url)),
            api_url: api_url.map(str::to_owned),
            client,
        })
    }

    /// Sends `request`, waiting out rate limits; the answer's JSON (`Null` when empty).
    pub async fn call(&self, request: Request<'_>, timeout: Duration) -> Result<Value, BotError> {
        let mut limited = 0;
        loop {
            let response = tokio::time::timeout(timeout, self.send(request.clone()))
                .await
                .map_err(|_| platform("Discord took too long to answer"))??;
            let status = response.status();
            let headers = response.headers().clone();
            let body = tokio::time::timeout(timeout, response.bytes())
                .await
                .map_err(|_| platform("Discord took too long to answer"))?
                .map_err(|_| platform("Discord's answer was cut off"))?;
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(json);
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(&json, &headers);
                limited += 1;
                if limited > MAX_RATE_LIMITED || wait > MAX_WAIT {
                    return Err(BotError::RetryAfter(wait));
                }
                tracing::info!(?wait, "Discord asks to wait");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(refused(status, &json));
        }
    }

    async fn send(&self, request: Request<'_>) -> Result<reqwest::Response, BotError> {
        // Never the error's text: it names the URL.
        match (&self.http.ratelimiter, &self.api_url) {
            (Some(limiter), None) => limiter
                .perform(request)
                .await
                .map_err(|_| platform("can't reach Discord")),
            _ => {
                let unbuilt = |_| platform("a request could not be built");
                let built = request
                    .build(&self.client, self.http.token(), self.api_url.as_deref())
                    .map_err(unbuilt)?
                    .build()
                    .map_err(|_| platform("a request could not be built"))?;
                self.client
                    .execute(built)
                    .await
                    .map_err(|_| platform("can't reach Discord"))
            }
        }
    }
}

/// serenity's client for `token`: its rate limiter on for discord.com, off for another
/// server (it would call discord.com).
pub fn http(token: &str, api_url: Option<&str>) -> Http {
    match api_url {
        Some(url) => HttpBuilder::new(token)
            .proxy(url.trim_end_matches('/'))
            .ratelimiter_disabled(true)
            .build(),
        None => HttpBuilder::new(token).build(),
    }
}

fn platform(message: &str) -> BotError {
    BotError::Platform {
        platform: "discord",
        message: message.to_owned(),
    }
}

/// How long a 429 asks to wait: the body's `retry_after` (seconds, fractional), else the
/// `Retry-After` header, else a second.
fn retry_after(json: &Value, headers: &reqwest::header::HeaderMap) -> Duration {
    json.get("retry_after")
        .and_then(Value::as_f64)
        .or_else(|| {
            headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<f64>().ok())
        })
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(1), Duration::from_secs_f64)
}

/// A refusal as the loop understands it.
fn refused(status: StatusCode, json: &Value) -> BotError {
    let code = json.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    match code {
        UNKNOWN_MESSAGE | UNKNOWN_WEBHOOK | UNKNOWN_INTERACTION | INVALID_WEBHOOK_TOKEN => {
            BotError::MessageGone
        }
        _ if status == StatusCode::UNAUTHORIZED => BotError::Config(
            "Discord refused DISCORD_BOT_TOKEN; check it in the Developer Portal.".into(),
        ),
        _ => BotError::Platform {
            platform: "discord",
            message: format!("{} (code {code}): {message}", status.as_u16()),
        },
    }
}

/// A request of `method` to `route` with a JSON body.
pub fn json<'a>(route: Route<'a>, method: LightMethod, body: &Value) -> Request<'a> {
    Request::new(route, method).body(Some(body.to_string().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_comes_from_the_body_then_the_header() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "3".parse().expect("header"));
        let body = serde_json::json!({"message": "You are being rate limited.", "retry_after": 0.25, "global": false});
        assert_eq!(retry_after(&body, &headers), Duration::from_millis(250));
        assert_eq!(retry_after(&Value::Null, &headers), Duration::from_secs(3));
        let none = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&Value::Null, &none), Duration::from_secs(1));
    }

    #[test]
    fn unknown_messages_and_expired_interactions_are_gone() {
        let gone = serde_json::json!({"code": 10008, "message": "Unknown Message"});
        assert!(matches!(
            refused(StatusCode::NOT_FOUND, &gone),
            BotError::MessageGone
        ));
        let expired = serde_json::json!({"code": 50027, "message": "Invalid Webhook Token"});
        assert!(matches!(
            refused(StatusCode::UNAUTHORIZED, &expired),
            BotError::MessageGone
        ));
        let bad = serde_json::json!({"code": 0, "message": "401: Unauthorized"});
        assert!(matches!(
            refused(StatusCode::UNAUTHORIZED, &bad),
            BotError::Config(_)
        ));
    }
}
