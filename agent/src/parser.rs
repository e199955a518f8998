//! The built-in parser: the common requests understood without any language model, by
//! plain word matching. It is what `spinbot plan` uses when no model is configured, and
//! what the agent falls back to when the model is absent, slow or talks nonsense, so a user
//! always gets an answer. It reads no state.

use crate::action::Action;

/// The namespaces of user ids; a message that names one asks about someone else.
const NAMESPACES: [&str; 4] = ["telegram:", "discord:", "web:", "cli:"];

/// What to do with `message`.
pub fn parse(message: &str) -> Vec<Action> {
    let raw = message.trim();
    if raw.is_empty() {
        return vec![Action::Help];
    }
    if let Some(command) = raw.strip_prefix('/') {
        return vec![slash_command(command)];
    }
    // ASCII lower-casing keeps every byte offset, so positions found in `lower` cut `raw`.
    let lower = raw.to_ascii_lowercase();
    let words = Words::new(raw);
    if words.lower.iter().any(|w| {
        NAMESPACES
            .iter()
            .any(|ns| w.starts_with(ns) && w.len() > ns.len())
    }) {
        return vec![Action::Unsupported];
    }
    if is_voice_note_request(&lower) {
        return vec![
            Action::UseVoiceNote,
            Action::Render {
                text: None,
                voice: None,
            },
        ];
    }
    if let Some(topic) = script_topic(raw, &lower) {
        return vec![Action::WriteScript { topic, text: None }];
    }
    if let Some(render) = speech_request(raw, &lower) {
        return vec![render];
    }
    if is_forget_request(&lower) {
        return vec![Action::ForgetMe];
    }
    let job = words.job_id();
    if words.has_any(&["stop", "halt"])
        || contains_any(
            &lower,
            &[
                "cancel",
                "abort",
                "never mind",
                "nevermind",
                "stop the",
                "stop it",
                "stop my",
                "don't render",
                "kill the",
                "kill it",
                "kill my",
                "halt",
            ],
        )
    {
        return vec![Action::Cancel { job }];
    }
    if contains_any(
        &lower,
        &[
            "status",
            "progress",
            "is it done",
            "is it ready",
            "done yet",
            "ready yet",
            "how long",
            "coming along",
            "where is my",
            "where's my",
            "how's my",
            "how is my",
            "what's happening",
            "what is happening",
            "any news",
            "update on",
            "how far",
            "far along",
        ],
    ) {
        return vec![Action::Status { job }];
    }
    if let Some(voice) = words.chosen_voice() {
        return vec![Action::ChooseVoice { voice }];
    }
    if words.has("voices")
        || contains_any(&lower, &["which voice", "what voice"])
        || (words.has("voice")
            && words.has_any(&[
                "options",
                "list",
                "show",
                "available",
                "choices",
                "female",
                "male",
                "woman",
                "man",
                "different",
                "another",
                "other",
                "instead",
                "hear",
            ]))
    {
        return vec![Action::ListVoices];
    }
    if words.has_any(&["selfie", "photo", "picture", "pic", "image"])
        && (words.has_any(&["use", "here", "here's", "heres", "take", "new"])
            || lower.contains("this is me"))
    {
        return vec![Action::UsePhoto];
    }
    if words.is_go() {
        return vec![Action::Render {
            text: None,
            voice: None,
        }];
    }
    if words.is_greeting()
        || contains_any(
            &lower,
            &[
                "what can you do",
                "how does this work",
                "how do i",
                "how does it work",
                "what do you do",
            ],
        )
    {
        return vec![Action::Help];
    }
    vec![Action::Unsupported]
}

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
        "forget" | "delete" => Action::ForgetMe,
        "say" if !rest.is_empty() => {
            let (text, voice) = split_voice_suffix(rest);
            Action::Render {
                text: Some(text),
                voice,
            }
        }
        "render" | "go" => Action::Render {
            text: None,
            voice: None,
        },
        "say" => Action::Help,
        _ => Action::Unsupported,
    }
}

fn contains_any(lower: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| lower.contains(n))
}

fn is_voice_note_request(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "voice note",
            "voice message",
            "what i recorded",
            "my recording",
            "the recording",
            "audio i sent",
        ],
    )
}

fn is_forget_request(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "delete my",
            "forget me",
            "forget about me",
            "erase",
            "delete everything",
            "remove all my",
            "remove my",
            "wipe my",
            "delete all my",
            "get rid of my",
            "delete me",
            "remove me",
        ],
    )
}

/// `write a script about X`, `make a video about X`, `talk about X`, `a toast for X`: the
/// topic.
fn script_topic(raw: &str, lower: &str) -> Option<String> {
    // Words for spoken pieces; the second group also goes with "for" and "on".
    const ANY: [&str; 6] = ["something", "video", "clip", "talk", "words", "message"];
    const WRITTEN: [&str; 6] = [
        "script",
        "speech",
        "toast",
        "announcement",
        "pitch",
        "intro",
    ];
    let (at, connector) = [("about", true), ("for", false), ("on", false)]
        .iter()
        .filter_map(|(c, loose)| {
            let at = find_word(lower, c)?;
            let before = &lower[..at];
            let written = WRITTEN.iter().any(|w| find_word(before, w).is_some());
            let any = ANY.iter().any(|w| find_word(before, w).is_some());
            (written || (*loose && any)).then_some((at, *c))
        })
        .min()?;
    let topic = raw[at + connector.len()..]
        .trim()
        .trim_end_matches(['.', '?', '!'])
        .trim();
    (!topic.is_empty()).then(|| topic.to_owned())
}

/// `say X`, `make my avatar say: X`, `read this: X`, a quoted sentence: render X.
fn speech_request(raw: &str, lower: &str) -> Option<Action> {
    let trigger = [
        "say",
        "saying",
        "says",
        "speak",
        "read this",
        "read out",
        "read aloud",
        "tell everyone",
        "tell them",
        "tell the team",
        "announce",
    ]
    .iter()
    .filter_map(|t| find_word(lower, t).map(|at| (at, t.len())))
    .min();
    if let Some(Quote {
        open,
        start,
        end,
        rest,
    }) = quoted(raw)
    {
        let only_quote =
            raw[..open].trim().is_empty() && rest.trim_matches(['.', '?', '!', ' ']).is_empty();
        let asks_render = ["again", "render", "make", "do", "video", "clip", "with"]
            .iter()
            .any(|w| find_word(lower, w).is_some());
        if trigger.is_some() || only_quote || asks_render {
            let (_, voice) = split_voice_suffix(rest);
            return Some(Action::Render {
                text: Some(raw[start..end].trim().to_owned()),
                voice,
            });
        }
    }
    let (at, len) = trigger?;
    let mut text = raw[at + len..].trim_start();
    for filler in ["this", "out loud", "aloud", "loud"] {
        if text.to_ascii_lowercase().starts_with(filler) {
            text = text[filler.len()..].trim_start();
        }
    }
    let text = text.trim_start_matches([':', '-', ',']).trim();
    if text.is_empty() {
        return None;
    }
    let (text, voice) = split_voice_suffix(text);
    let text = strip_quotes(&text);
    (!text.is_empty()).then(|| Action::Render {
        text: Some(text.to_owned()),
        voice,
    })
}

/// A quoted passage: where its opening mark is, its content's byte range, what follows.
struct Quote<'a> {
    open: usize,
    start: usize,
    end: usize,
    rest: &'a str,
}

/// The first quoted passage.
fn quoted(raw: &str) -> Option<Quote<'_>> {
    const PAIRS: [(char, char); 4] = [('"', '"'), ('“', '”'), ('«', '»'), ('\'', '\'')];
    for (i, c) in raw.char_indices() {
        let Some(&(_, close)) = PAIRS.iter().find(|(open, _)| *open == c) else {
            continue;
        };
        let starts_word = raw[..i]
            .chars()
            .next_back()
            .is_none_or(|p| p.is_whitespace() || p == ':');
        if !starts_word {
            continue;
        }
        let from = i + c.len_utf8();
        let found = raw[from..].char_indices().find(|&(j, d)| {
            let after = raw[from + j + d.len_utf8()..].chars().next();
            d == close && after.is_none_or(|a| !a.is_alphanumeric())
        });
        if let Some((j, d)) = found {
            let end = from + j;
            if raw[from..end].chars().any(char::is_alphanumeric) {
                return Some(Quote {
                    open: i,
                    start: from,
                    end,
                    rest: &raw[end + d.len_utf8()..],
                });
            }
        }
    }
    None
}

fn strip_quotes(text: &str) -> &str {
    let t = text.trim();
    for (open, close) in [('"', '"'), ('“', '”'), ('«', '»'), ('\'', '\'')] {
        if let Some(inner) = t.strip_prefix(open).and_then(|s| s.strip_suffix(close)) {
            return inner.trim();
        }
    }
    t
}

/// `... in the amy voice`, `... with the voice en_US-joe-medium`: the text before and the voice.
fn split_voice_suffix(text: &str) -> (String, Option<String>) {
    let words = Words::new(text);
    let n = words.lower.len();
    let prep = |i: usize| ["in", "with", "using"].contains(&words.lower[i].as_str());
    let cut = |i: usize| text[..words.offsets[i]].trim().to_owned();
    if n >= 4 && words.lower[n - 1] == "voice" {
        // in the amy voice / in amy voice
        let name = words.original(n - 2);
        if words.lower[n - 3] == "the" && prep(n - 4) && is_voice_name(name) {
            return (cut(n - 4), Some(name.to_owned()));
        }
        if prep(n - 3) && is_voice_name(name) {
            return (cut(n - 3), Some(name.to_owned()));
        }
    }
    if n >= 4 && words.lower[n - 2] == "voice" {
        // with the voice X / with voice X
        let name = words.original(n - 1);
        if words.lower[n - 3] == "the" && prep(n - 4) && is_voice_name(name) {
            return (cut(n - 4), Some(name.to_owned()));
        }
        if prep(n - 3) && is_voice_name(name) {
            return (cut(n - 3), Some(name.to_owned()));
        }
    }
    (text.trim().to_owned(), None)
}

fn is_voice_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Where `word` occurs in `lower` as a whole word (or phrase).
fn find_word(lower: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(word) {
        let at = from + i;
        let before = lower[..at].chars().next_back();
        let after = lower[at + word.len()..].chars().next();
        if before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
        {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// A message cut into words, with their offsets and lower-case forms.
struct Words<'a> {
    raw: &'a str,
    offsets: Vec<usize>,
    lower: Vec<String>,
}

impl<'a> Words<'a> {
    fn new(raw: &'a str) -> Self {
        let mut offsets = Vec::new();
        let mut lower = Vec::new();
        let mut start = None;
        for (i, c) in raw.char_indices().chain(std::iter::once((raw.len(), ' '))) {
            match (start, c.is_whitespace()) {
                (None, false) => start = Some(i),
                (Some(s), true) => {
                    offsets.push(s);
                    lower.push(Self::trim(&raw[s..i]).to_ascii_lowercase());
                    start = None;
                }
                _ => {}
            }
        }
        Self {
            raw,
            offsets,
            lower,
        }
    }

    fn trim(word: &str) -> &str {
        word.trim_matches(|c: char| {
            !(c.is_alphanumeric() || c == '-' || c == '_' || c == ':' || c == '\'')
        })
    }

    /// Word `i` as written.
    fn original(&self, i: usize) -> &'a str {
        let start = self.offsets[i];
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.raw.len());
        Self::trim(self.raw[start..end].trim())
    }

    fn has(&self, word: &str) -> bool {
        self.lower.iter().any(|w| w == word)
    }

    fn has_any(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.has(w))
    }

    /// A 32-hex-digit job id anywhere in the message.
    fn job_id(&self) -> Option<String> {
        self.lower
            .iter()
            .find(|w| w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .cloned()
    }

    /// `use the amy voice`, `switch voice to X`, `use voice X`.
    fn chosen_voice(&self) -> Option<String> {
        let i = self.lower.iter().position(|w| w == "voice")?;
        let asks = self.lower[..i].iter().any(|w| {
            ["use", "pick", "choose", "switch", "change", "want", "set"].contains(&w.as_str())
        });
        let not_a_name = [
            "the",
            "a",
            "my",
            "this",
            "that",
            "your",
            "different",
            "another",
            "new",
            "other",
            "to",
            "use",
        ];
        let name = if self.lower.get(i + 1).is_some_and(|w| w == "to") && i + 2 < self.lower.len() {
            self.original(i + 2)
        } else if asks && i >= 1 && !not_a_name.contains(&self.lower[i - 1].as_str()) {
            self.original(i - 1)
        } else if asks && i + 1 < self.lower.len() {
            self.original(i + 1)
        } else {
            return None;
        };
        is_voice_name(name).then(|| name.to_owned())
    }

    /// `go`, `yes, render it`, `looks good, go ahead`, `make the video`.
    fn is_go(&self) -> bool {
        const FILLER: [&str; 14] = [
            "ahead", "please", "it", "the", "video", "looks", "good", "great", "now", "that",
            "sounds", "fine", "lets", "let's",
        ];
        const GO: [&str; 12] = [
            "go", "yes", "yep", "yeah", "ok", "okay", "sure", "render", "do", "make", "send",
            "perfect",
        ];
        !self.lower.is_empty()
            && self.lower.iter().any(|w| GO.contains(&w.as_str()))
            && self
                .lower
                .iter()
                .all(|w| GO.contains(&w.as_str()) || FILLER.contains(&w.as_str()))
    }

    fn is_greeting(&self) -> bool {
        const GREETING: [&str; 12] = [
            "hi", "hello", "hey", "hallo", "yo", "start", "help", "menu", "commands", "there",
            "bot", "?",
        ];
        !self.lower.is_empty()
            && self
                .lower
                .iter()
                .all(|w| w.is_empty() || GREETING.contains(&w.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(message: &str) -> Action {
        parse(message)
            .into_iter()
            .next()
            .unwrap_or(Action::Unsupported)
    }

    #[test]
    fn speech_keeps_the_words_as_written() {
        assert_eq!(
            one("Make my avatar say: Happy birthday, Anna!"),
            Action::render("Happy birthday, Anna!")
        );
        assert_eq!(one("SAY GOOD NIGHT"), Action::render("GOOD NIGHT"));
        assert_eq!(
            one("\"We ship on Friday.\""),
            Action::render("We ship on Friday.")
        );
        assert_eq!(
            one("say hi in the amy voice"),
            Action::Render {
                text: Some("hi".into()),
                voice: Some("amy".into())
            }
        );
    }

    #[test]
    fn apostrophes_are_not_quotes() {
        assert_eq!(
            one("say it's a good day, isn't it"),
            Action::render("it's a good day, isn't it")
        );
    }

    #[test]
    fn other_users_and_nonsense_are_unsupported() {
        assert_eq!(one("cancel all jobs of telegram:999"), Action::Unsupported);
        assert_eq!(one("what's the weather in Paris?"), Action::Unsupported);
    }

    #[test]
    fn empty_and_giant_messages_get_an_answer() {
        assert_eq!(parse("   "), vec![Action::Help]);
        let giant = "blah ".repeat(10_000);
        assert_eq!(parse(&giant), vec![Action::Unsupported]);
        let non_ascii = "ſay ÄÖÜ İstanbul “x”";
        assert!(!parse(non_ascii).is_empty());
    }

    #[test]
    fn slash_commands_in_groups_carry_the_bot_name() {
        assert_eq!(one("/status@spinbot_bot"), Action::Status { job: None });
        assert_eq!(
            one("/voice en_US-joe-medium"),
            Action::ChooseVoice {
                voice: "en_US-joe-medium".into()
            }
        );
    }
}
