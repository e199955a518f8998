//! The job plane's errors.

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    JobRecord(#[from] spinbot_core::job::JobRecordError),
    #[error("job record: {0}")]
    Record(String),
    #[error("store: {context}: {source}")]
    Store {
        context: String,
        source: std::io::Error,
    },
}

impl JobsError {
    pub fn store(context: impl Into<String>, source: impl std::fmt::Display) -> Self {
        Self::Store {
            context: context.into(),
            source: std::io::Error::other(source.to_string()),
        }
    }
}
