//! The bots' errors.

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The platform refused or failed a call.
    #[error("{platform}: {message}")]
    Platform {
        platform: &'static str,
        message: String,
    },
    /// The platform asks to wait before the next call.
    #[error("rate limited for {0:?}")]
    RetryAfter(std::time::Duration),
    /// The message to edit is gone (the user deleted it) or can no longer be edited.
    #[error("the message is gone")]
    MessageGone,
    #[error(transparent)]
    Jobs(#[from] spinbot_jobs::JobsError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}
