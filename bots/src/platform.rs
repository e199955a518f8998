//! What the conversation loop needs from a chat platform, and what a platform hands it.

use crate::error::BotError;
use spinbot_core::UserId;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A chat platform's calls, as the loop uses them. Chats and messages are the platform's
/// own ids, as text.
pub trait Platform: Send + Sync + 'static {
    /// `telegram`, `discord`, `web`: the namespace of user ids and of stored state.
    const NAME: &'static str;
    /// The largest video the platform takes from a bot, in bytes.
    fn upload_limit(&self) -> u64;
    /// The shortest time between two edits in `chat` (the platform's pace for bots).
    fn edit_pace(&self, chat: &str) -> Duration;
    /// How long an upload of `bytes` may take before it is given up.
    fn upload_time(&self, bytes: u64) -> Duration;
    /// Sends a text; returns the new message's id.
    fn send_text(
        &self,
        chat: &str,
        text: &str,
    ) -> impl Future<Output = Result<String, BotError>> + Send;
    /// Replaces a message's text (a text that did not change is not an error).
    fn edit_text(
        &self,
        chat: &str,
        message: &str,
        text: &str,
    ) -> impl Future<Output = Result<(), BotError>> + Send;
    /// Sends a video file with a caption; returns the new message's id.
    fn send_video(
        &self,
        chat: &str,
        path: &Path,
        caption: &str,
    ) -> impl Future<Output = Result<String, BotError>> + Send;
}

/// What a file that came with a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Photo,
    VoiceNote,
}

/// A file downloaded from the platform, waiting to be stored.
#[derive(Debug, Clone)]
pub struct IncomingFile {
    pub kind: FileKind,
    pub path: PathBuf,
}

/// A message for the bot: who (from the platform), where, what they wrote and sent.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub user: UserId,
    pub chat: String,
    pub text: String,
    pub files: Vec<IncomingFile>,
    /// A sentence to answer instead (a file the adapter could not take).
    pub refusal: Option<String>,
}
