//! The agent's errors. An action declined is not an error: it is a sentence for the user.

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("prompts: {0}")]
    Prompts(String),
    #[error("ollama: {0}")]
    Ollama(String),
    #[error(transparent)]
    Jobs(#[from] spinbot_jobs::JobsError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}
