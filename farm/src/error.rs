//! The farm's errors: bad input (the user's to fix), missing assets, and failures.

use spinbot_core::InputError;

#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    /// The user's input was refused; the message is a sentence for them.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A required file of the assets folder is missing or broken.
    #[error("assets: {0}")]
    Assets(String),
    /// The job was cancelled (or taken over) while it ran.
    #[error("cancelled")]
    Cancelled,
    /// The job plane (queue or object store) failed.
    #[error(transparent)]
    Jobs(#[from] spinbot_jobs::JobsError),
    /// The asked-for compute device cannot be used.
    #[error("device: {0}")]
    Device(String),
    /// A model failed to load or run.
    #[error("model: {0}")]
    Model(String),
    /// A tool the farm runs (espeak-ng, ffmpeg) failed.
    #[error("{tool}: {message}")]
    Tool { tool: &'static str, message: String },
    /// A tensor operation failed (libtorch's first line; its C++ backtrace is dropped).
    #[error("libtorch: {0}")]
    Torch(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl From<tch::TchError> for FarmError {
    fn from(e: tch::TchError) -> Self {
        let text = e.to_string();
        Self::Torch(text.lines().next().unwrap_or_default().to_owned())
    }
}

impl FarmError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub fn tool(tool: &'static str, message: impl Into<String>) -> Self {
        Self::Tool {
            tool,
            message: message.into(),
        }
    }

    /// The user-facing input error, if that is what this is.
    pub fn as_input(&self) -> Option<&InputError> {
        match self {
            Self::Input(e) => Some(e),
            _ => None,
        }
    }
}
