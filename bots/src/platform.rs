//! What the conversation loop needs from a chat platform, and what a platform hands it.

use crate::error::BotError;
use spinbot_agent::{Action, Pressed};
use spinbot_core::{JobId, UserId};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A chat platform's calls, as the loop uses them. Chats and messages are the platform's
/// own ids, as text. Limits are the adapter's: each platform (and chat) has its own.
pub trait Platform: Send + Sync + 'static {
    /// `telegram`, `discord`, `web`: the namespace of user ids and of stored state.
    const NAME: &'static str;
    /// The largest video `chat` takes from the bot, in bytes.
    fn upload_limit(&self, chat: &str) -> u64;
    /// The shortest time between two edits in `chat` (the platform's pace for bots).
    fn edit_pace(&self, chat: &str) -> Duration;
    /// How long an upload of `bytes` may take before it is given up.
    fn upload_time(&self, bytes: u64) -> Duration;
    /// Sends a text (split into several messages when it is longer than the platform takes);
    /// returns the id of the last one.
    fn send_text(
        &self,
        chat: &str,
        text: &str,
    ) -> impl Future<Output = Result<String, BotError>> + Send;
    /// Answers `incoming` with `text` and `controls`: where the platform answers a request in
    /// place (a Discord interaction) there, else as a new message in its chat. Returns the id
    /// of the message that holds the controls; it may become a job's status message.
    fn answer(
        &self,
        incoming: &Incoming,
        text: &str,
        controls: &[Control],
    ) -> impl Future<Output = Result<String, BotError>> + Send;
    /// Replaces a status message's text and controls (none once its job is over). A text
    /// that did not change is not an error; a message that is gone is [`BotError::MessageGone`].
    fn edit_status(
        &self,
        chat: &str,
        message: &str,
        text: &str,
        controls: &[Control],
    ) -> impl Future<Output = Result<(), BotError>> + Send;
    /// Sends a video file with a caption, after the job's status message when there is one;
    /// returns the new message's id.
    fn send_video(
        &self,
        chat: &str,
        status: Option<&str>,
        path: &Path,
        caption: &str,
    ) -> impl Future<Output = Result<String, BotError>> + Send;
}

/// Something a person can press on a bot's message, where the platform has buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Stops the job (only for the person whose job it is).
    Cancel(JobId),
    /// Picks one of the voices.
    PickVoice,
    /// Answers yes to the question the message asks (forgetting the person).
    Confirm,
}

/// A Cancel button's id is this and the job's id.
const CANCEL: &str = "cancel:";
/// The voice menu's id.
const PICK_VOICE: &str = "voice";
/// The yes button's id.
const CONFIRM: &str = "confirm";

impl Control {
    /// The id a press of it comes back with (at most 64 bytes, as Telegram allows).
    pub fn id(&self) -> String {
        match self {
            Control::Cancel(job) => format!("{CANCEL}{job}"),
            Control::PickVoice => PICK_VOICE.to_owned(),
            Control::Confirm => CONFIRM.to_owned(),
        }
    }

    /// What its button says.
    pub fn label(&self) -> &'static str {
        match self {
            Control::Cancel(_) => "Cancel",
            Control::PickVoice => "Pick a voice",
            Control::Confirm => "Yes, delete everything",
        }
    }
}

/// A press of the control `id` (with the values picked in a menu) as what it means, typed;
/// `None` for an id the bot never made.
pub fn pressed(id: &str, values: &[String]) -> Option<Pressed> {
    if let Some(job) = id.strip_prefix(CANCEL) {
        let job = Some(job.to_owned());
        return Some(Pressed::Act(Action::Cancel { job }));
    }
    match id {
        PICK_VOICE => values.first().map(|voice| {
            Pressed::Act(Action::ChooseVoice {
                voice: voice.clone(),
            })
        }),
        CONFIRM => Some(Pressed::Yes),
        _ => None,
    }
}

/// The slowest an upload may go before it is given up (2 Mbit/s), after a grace period.
const UPLOAD_RATE: u64 = 250_000;
const UPLOAD_GRACE: Duration = Duration::from_secs(30);

/// How long an upload of `bytes` may take: a 50 MB video gets 230 s.
pub fn upload_time(bytes: u64) -> Duration {
    UPLOAD_GRACE + Duration::from_secs(bytes / UPLOAD_RATE)
}

/// Splits `text` into pieces of at most `limit` characters, at a line break or a space when
/// there is one in the second half of a piece.
pub fn split_text(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > limit {
        let window = &rest[..limit];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| c.is_whitespace()))
            .filter(|at| *at >= limit / 2)
            .map_or(limit, |at| at + 1);
        let piece: String = rest.drain(..cut).collect();
        pieces.push(piece.trim_end().to_owned());
    }
    let last: String = rest.into_iter().collect();
    if !last.trim().is_empty() || pieces.is_empty() {
        pieces.push(last);
    }
    pieces
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
    /// The adapter's handle of a request that is answered in place (a Discord interaction),
    /// or of the message answered (to reply to it).
    pub answering: Option<String>,
    /// The sender sees an answer pending (a Discord interaction): it is always answered,
    /// even when flood control would drop it.
    pub awaited: bool,
    /// For an anonymous sender (the web chat's), the network they came from.
    pub network: Option<String>,
    /// A button, a menu choice or a slash command: what it means, typed (the text is then
    /// only for the transcript).
    pub pressed: Option<Pressed>,
}

#[cfg(test)]
mod tests {
    use super::{pressed, split_text, Control};
    use spinbot_agent::{Action, Pressed};

    #[test]
    fn presses_become_the_actions_they_mean() {
        let job = spinbot_core::JobId::new();
        let cancel = Control::Cancel(job.clone());
        assert!(cancel.id().len() <= 64);
        assert_eq!(
            pressed(&cancel.id(), &[]),
            Some(Pressed::Act(Action::Cancel {
                job: Some(job.to_string())
            }))
        );
        assert_eq!(pressed(&Control::Confirm.id(), &[]), Some(Pressed::Yes));
        assert_eq!(
            pressed(&Control::PickVoice.id(), &["joe".into()]),
            Some(Pressed::Act(Action::ChooseVoice {
                voice: "joe".into()
            }))
        );
        assert_eq!(pressed(&Control::PickVoice.id(), &[]), None);
        assert_eq!(pressed("other", &[]), None);
    }

    #[test]
    fn long_texts_split_at_lines_then_spaces_and_keep_every_character() {
        assert_eq!(split_text("short", 10), vec!["short"]);
        assert_eq!(split_text("", 10), vec![""]);
        let text = "first line\nsecond line that is long";
        let pieces = split_text(text, 16);
        assert_eq!(pieces[0], "first line");
        assert!(pieces.iter().all(|p| p.chars().count() <= 16), "{pieces:?}");
        let words = "word ".repeat(1000);
        let pieces = split_text(&words, 2000);
        assert_eq!(pieces.len(), 3);
        assert!(pieces.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(pieces.concat().replace(' ', ""), words.replace(' ', ""));
        // No space at all: cut at the limit, characters (not bytes) counted.
        let pieces = split_text(&"é".repeat(45), 20);
        assert_eq!(
            pieces.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            vec![20, 20, 5]
        );
    }
}
