//! The job plane's errors.

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("job record: {0}")]
    Record(String),
    #[error("store: {context}: {source}")]
    Store {
        context: String,
        source: std::io::Error,
    },
}
