//! The built-in understanding: what a person writes turned into actions without any language
//! model, so a user always gets an answer (no model configured, or one absent, slow or talking
//! nonsense). The words and phrases are data (`agent/understanding.toml`, read by
//! [`lexicon`]); this module is the engine that applies them, in the order of [`RULES`]: the
//! first rule that recognises the message decides it. It reads no state.

mod asked;
mod guards;
mod intents;
pub mod lexicon;
mod speech;
mod words;

use crate::action::Action;
use lexicon::lexicon as lx;
use words::{find_word, is_voice_name, Words};

/// The namespaces of user ids; a message that names one asks about someone else.
const NAMESPACES: &[&str] = &["telegram:", "discord:", "web:", "cli:"];

/// A message read once, for the rules.
pub struct Read<'a> {
    /// As written, trimmed.
    raw: &'a str,
    /// Lower-cased with every byte offset kept, so positions found in it cut `raw`.
    lower: String,
    words: Words<'a>,
    /// The request without the words it asks to speak (lower-case): quotes left out, and
    /// what follows a say word cut off.
    request: String,
    /// A job id written in the message.
    job: Option<String>,
}

impl<'a> Read<'a> {
    fn new(raw: &'a str) -> Self {
        let words = Words::new(raw);
        Self {
            raw,
            lower: words::lower(raw),
            job: words.job_id(),
            words,
            request: speech::request_part(raw),
        }
    }

    fn request_words(&self) -> Words<'_> {
        Words::new(&self.request)
    }
}

type Rule = fn(&Read) -> Option<Vec<Action>>;

/// The rules, in the order they are tried: what must never act on a misreading first
/// (negated deletions and cancels, questions about how, photo edits, one video to delete),
/// then the requests that carry their own words (a script, a deletion of everything, a voice
/// note, words to speak, a photo), then the short ones (cancel, status, voices, go, help).
pub const RULES: [(&str, Rule); 10] = [
    ("guards", guards::guarded),
    ("script", intents::script),
    ("forget", intents::forget),
    ("voice note", intents::voice_note),
    ("speech", speech_and_photo),
    ("cancel", cancel),
    ("status", status),
    ("voices", intents::voices),
    ("go", go),
    ("help", help),
];

/// What to do with `message`.
pub fn parse(message: &str) -> Vec<Action> {
    let raw = message.trim();
    if raw.is_empty() {
        return vec![Action::Help];
    }
    if let Some(command) = raw.strip_prefix('/') {
        return vec![slash_command(command)];
    }
    let read = Read::new(raw);
    let about_others = read.words.lower.iter().any(|w| {
        NAMESPACES
            .iter()
            .any(|ns| w.starts_with(ns) && w.len() > ns.len())
    });
    if about_others {
        return vec![Action::Unsupported];
    }
    RULES
        .iter()
        .find_map(|(_, rule)| rule(&read))
        .unwrap_or_else(|| vec![Action::Unsupported])
}

/// Words to speak (with the photo just sent, when the message says so), or the photo alone.
fn speech_and_photo(read: &Read) -> Option<Vec<Action>> {
    let use_photo = intents::asks_to_use_photo(&read.request_words());
    let feedback = guards::is_feedback(&read.lower);
    let render = speech::speech_request(read.raw, &read.lower)
        .filter(|_| !feedback || guards::asks(&read.lower));
    match render {
        Some(render) if intents::asks_language(&render) => Some(vec![Action::Help]),
        Some(render) if use_photo => Some(vec![Action::UsePhoto, render]),
        Some(render) => Some(vec![render]),
        None => use_photo.then(|| vec![Action::UsePhoto]),
    }
}

/// "cancel", "kill <id>", "never mind": the video in the making (a report on a video made
/// is not a stop).
fn cancel(read: &Read) -> Option<Vec<Action>> {
    let cancel = &lx().cancel;
    let words = read.request_words();
    let with_id = read.job.is_some() && words.has_any(&cancel.verbs_with_id);
    let stops = words.stops_a_video() && !guards::is_feedback(&read.lower);
    let asked =
        cancel.request_phrases.hit(&read.request) && find_word(&read.request, "yet").is_none();
    (with_id || stops || asked).then(|| {
        vec![Action::Cancel {
            job: read.job.clone(),
        }]
    })
}

/// "is it done?", "it's been 20 minutes", a job id alone.
fn status(read: &Read) -> Option<Vec<Action>> {
    let asks = lx().status.asks.hit(&read.lower) || guards::is_worried(&read.lower);
    (asks || read.job.is_some()).then(|| {
        vec![Action::Status {
            job: read.job.clone(),
        }]
    })
}

/// "go", "looks good, render it": the pending script.
fn go(read: &Read) -> Option<Vec<Action>> {
    read.words.is_go().then(|| {
        vec![Action::Render {
            text: None,
            voice: None,
        }]
    })
}

/// A greeting, or a question about what the bot does.
fn help(read: &Read) -> Option<Vec<Action>> {
    (read.words.is_greeting() || lx().help.phrases.hit(read.raw)).then(|| vec![Action::Help])
}

/// `/status`, `/cancel <id>`, `/say <words>` (the words as written), `/voice <name>`.
fn slash_command(command: &str) -> Action {
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .unwrap_or((command, ""));
    // `/status@spinbot_bot` in groups.
    let name = name
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let rest = rest.trim();
    let job = Words::new(rest).job_id();
    match name.as_str() {
        "start" | "help" => Action::Help,
        "status" => Action::Status { job },
        "cancel" => Action::Cancel { job },
        "voices" => Action::ListVoices,
        "voice" if is_voice_name(rest) => Action::ChooseVoice {
            voice: rest.to_owned(),
        },
        "voice" => Action::ListVoices,
        "forget" | "delete" => Action::ForgetMe { confirmed: false },
        "say" if !rest.is_empty() => Action::render(rest),
        "render" | "go" => Action::Render {
            text: None,
            voice: None,
        },
        "say" => Action::Help,
        _ => Action::Unsupported,
    }
}

/// An explicit yes to a question the bot asked: "yes", "yep", "yes please", "yes, delete
/// everything", "confirm", 👍; never a message with a no in it.
pub fn is_yes(message: &str) -> bool {
    let lower = message.trim().to_lowercase();
    if lower == "👍" || lower == "✅" {
        return true;
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let yes = &lx().yes;
    words.first().is_some_and(|w| yes.words.has(w))
        && words.len() <= 6
        && !words.iter().any(|w| yes.no_words.has(w))
}

#[cfg(test)]
mod tests;
